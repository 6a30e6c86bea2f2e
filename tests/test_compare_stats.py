"""Intervals and constant-memory statistics of a comparison: Wilson and Newcombe intervals have
their nominal coverage (exact enumeration, no simulation) and keep a width at p = 0 or 1; the
sparse histogram's quantiles are numpy's, whatever the blocks; a comparison streams
``paired.parquet`` whose rows reproduce its summaries, and writes each scenario's own tables,
equal to those of a run of that scenario alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats

from sim import cli
from sim.analysis.intervals import newcombe_paired, newcombe_unpaired, wilson
from sim.analysis.inthist import IntHistogram
from sim.engines.chunk import BLOCK

ROOT = Path(__file__).parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
LEVER = ROOT / "scenarios" / "no_russian_air.yaml"
SHORT = "period:\n  start: 2019-12-19\n  end: 2020-01-26\n"
SAMPLES = "speed_scale,footprint_km\n0.30,18\n0.15,10\n0.60,30\n"
N = 2 * BLOCK + 37


def test_wilson_has_its_nominal_coverage_and_width_at_0_and_1() -> None:
    """Exact coverage (binomial enumeration) averaged over p in (0, 1): Wilson's mean coverage
    is close to 95 % (Newcombe 1998a, table II: 0.952 at n <= 50); the Wald interval's is not."""
    n = 40
    x = np.arange(n + 1)
    lo, hi = wilson(x, n)
    assert lo[0] == 0 and hi[0] > 0.05 and hi[-1] == 1 and lo[-1] < 0.95
    ps = np.linspace(0.005, 0.995, 199)
    cover = np.array([stats.binom.pmf(x, n, p)[(lo <= p) & (p <= hi)].sum() for p in ps])
    assert 0.94 < cover.mean() < 0.96
    assert cover.min() > 0.80  # Wilson's known dips, never the collapse of Wald's near 0 or 1
    ph = x / n
    wald = 1.96 * np.sqrt(ph * (1 - ph) / n)
    wald_cover = np.array([stats.binom.pmf(x, n, p)[np.abs(ph - p) <= wald].sum() for p in ps])
    assert wald_cover.mean() < 0.93


def _paired_coverage(n: int, probs: tuple[float, float, float, float]) -> float:
    """Exact coverage of Newcombe's paired interval: every table of n pairs, multinomial."""
    tables = [(a, b, c, n - a - b - c) for a in range(n + 1) for b in range(n + 1 - a)
              for c in range(n + 1 - a - b)]
    t = np.array(tables)
    pmf = stats.multinomial.pmf(t, n, probs)
    _, lo, hi = newcombe_paired(t[:, 0], t[:, 1], t[:, 2], t[:, 3])
    truth = probs[1] - probs[2]
    return float(pmf[(lo <= truth + 1e-12) & (truth - 1e-12 <= hi)].sum())


@pytest.mark.parametrize("probs", [(0.3, 0.2, 0.1, 0.4), (0.8, 0.05, 0.1, 0.05),
                                   (0.02, 0.03, 0.0, 0.95), (0.5, 0.0, 0.0, 0.5)])
def test_newcombe_paired_covers_at_about_95_percent(probs: tuple[float, ...]) -> None:
    """Newcombe (1998b) reports method 10's coverage near nominal (mean 0.9 5x, minimum above
    0.9 over his parameter space): checked exactly at n = 30 on four points, including
    perfect pairing (no discordant pairs) and one marginal near 0."""
    assert 0.925 <= _paired_coverage(30, probs) <= 1.0


def test_newcombe_keeps_a_width_at_0_and_1_and_contains_zero_when_nothing_differs() -> None:
    n = 1000
    for both, neither in ((n, 0), (0, n), (400, 600)):
        d, lo, hi = newcombe_paired(both, 0, 0, neither)
        assert d == 0 and lo < 0 < hi and hi - lo < 0.01
    d, lo, hi = newcombe_paired(0, 0, 0, n)
    assert hi > 0  # the 'rule of three' scale, about 3.8/n: not zero width
    d, lo, hi = newcombe_paired(0, 30, 0, 70)  # B only: p_B - p_A = 0.3
    assert d == pytest.approx(0.3) and 0.2 < lo < 0.3 < hi < 0.4
    d, lo, hi = newcombe_unpaired(0, 50, 0, 50)
    assert d == 0 and lo < 0 < hi
    d, lo, hi = newcombe_unpaired(10, 20, 5, 20)
    assert d == pytest.approx(0.25) and lo < 0.25 < hi


def test_histogram_quantiles_are_numpys_whatever_the_blocks() -> None:
    rng = np.random.default_rng(3)
    for n in (1, 2, 9, 2001):
        x = rng.integers(-5000, 5000, (n, 4))
        x[:, 1] = 7
        x[:, 2] = rng.poisson(0.2, n) * 13
        qs = [0.0, 0.05, 0.25, 0.5, 0.95, 1.0]
        for size in (1, 64, n):
            h = IntHistogram(4)
            for s in range(0, n, size):
                h.add(x[s:s + size])
            assert np.array_equal(h.quantiles(qs), np.quantile(x, qs, axis=0))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    d = tmp_path_factory.mktemp("sc")
    (d / "post.csv").write_text(SAMPLES)
    a, b = d / "a.yaml", d / "b.yaml"
    for f, base in ((a, BASELINE), (b, LEVER)):
        f.write_text(f"name: {f.stem}\ndescription: {f.stem}?\nextends: {base}\n"
                     f"posterior: post.csv\n{SHORT}outputs:\n  plots: false\n")
    out = d / "cmp"
    assert cli.main(["compare", str(a), str(b), "--replicas", str(N), "--seed", "4", "--out",
                     str(out), "--quiet"]) == 0
    return a, b, out


def test_paired_parquet_reproduces_the_summaries(pair: tuple[Path, Path, Path]) -> None:
    _, _, out = pair
    p = pq.read_table(out / "paired.parquet").to_pandas()
    assert len(p) == N and (p["replica"] == np.arange(N)).all()
    towns = pd.read_csv(out / "towns_diff.csv")
    held_a = p[[f"held_end_A:{t}" for t in towns["town"]]].to_numpy()
    held_b = p[[f"held_end_B:{t}" for t in towns["town"]]].to_numpy()
    assert np.allclose(towns["p_A"], held_a.mean(axis=0), atol=1e-5)
    assert np.allclose(towns["diff"], (held_b.astype(int) - held_a).mean(axis=0), atol=1e-5)
    assert (towns["ci_low"] <= towns["diff"] + 1e-9).all()
    assert (towns["diff"] <= towns["ci_high"] + 1e-9).all()
    assert (towns["ci_high"] > towns["ci_low"]).all()  # no zero-width interval, even at 0 or 1
    terr = pd.read_csv(out / "territory_diff.csv")
    d = p["area_end_diff_km2"].to_numpy()
    assert np.allclose(p["area_end_B_km2"] - p["area_end_A_km2"], d)
    q = np.quantile(np.rint(d.astype(np.float64) / 0.1), [0.05, 0.5, 0.95]) * 0.1
    assert np.allclose(terr.iloc[-1][["q05_km2", "q50_km2", "q95_km2"]].to_numpy(float), q,
                       atol=0.005)
    summ = json.loads((out / "summary.json").read_text())
    for name, k in summ["key_dates"].items():
        s = name.lower().replace(" ", "_")
        da, db = p[f"{s}_day_A"].to_numpy(), p[f"{s}_day_B"].to_numpy()
        assert k["p_reached_A"] == pytest.approx((da >= 0).mean())
        assert k["diff_p_reached"] == pytest.approx((db >= 0).mean() - (da >= 0).mean())
        lo, hi = k["diff_p_reached_ci95"]
        assert lo <= k["diff_p_reached"] <= hi and lo < hi
        both = (da >= 0) & (db >= 0)
        assert k["n_both"] == both.sum()
        if both.sum() >= 2:
            assert k["mean_days_B_minus_A"] == pytest.approx((db[both] - da[both]).mean())


def test_each_scenarios_own_tables_are_those_of_its_run(pair: tuple[Path, Path, Path],
                                                        tmp_path: Path) -> None:
    a, b, out = pair
    for side, sc in (("A", a), ("B", b)):
        run = tmp_path / side
        assert cli.main(["run", str(sc), "--replicas", str(N), "--seed", "4", "--out", str(run),
                         "--quiet"]) == 0
        assert (out / f"towns_{side}.csv").read_bytes() == (run / "towns.csv").read_bytes()
        assert (out / f"territory_{side}.csv").read_bytes() == \
            (run / "territory.csv").read_bytes()
