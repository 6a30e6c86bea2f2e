"""The displacement layer: populations, approach and fall days, the fit to the article's
figures, and what run and compare write."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.displacement import DisplacementParams, Layer, fit_displacement, load_populations
from sim.displacement.record import Record, load_record
from sim.errors import DataError
from sim.theatre import Theatre
from sim.theatre.tables import seeds_dir
from sim.theatre.theatre import GOVERNMENT, OPPOSITION


def test_populations_cover_every_node_and_keep_the_census(theatre: Theatre) -> None:
    pop = load_populations(theatre)
    assert pop.shape == (theatre.n_towns,) and (pop >= 0).all()
    towns = pd.read_csv(seeds_dir() / "towns.csv")
    rows = pd.read_csv(seeds_dir() / "populations.csv")
    census = towns.dropna(subset=["population_2004"]).set_index("town")["population_2004"]
    ours = rows[rows["basis"] == "census_2004"].set_index("town")["population"]
    # every 2004 census figure of the gazetteer is used as is, and only those are called census
    assert sorted(census.index) == sorted(ours.index)
    assert (ours.reindex(census.index) == census.astype(int)).all()
    kinds = towns.set_index("town")["kind"]
    assert (rows.set_index("town")["population"][kinds.isin(["base", "airbase"])] == 0).all()


def test_population_errors_name_file_line_and_value(theatre: Theatre, tmp_path: Path) -> None:
    text = (seeds_dir() / "populations.csv").read_text().splitlines()
    bad = tmp_path / "populations.csv"
    bad.write_text("\n".join([text[0], text[1].replace(text[1].split(",")[0], "Saraqeb", 1),
                              *text[2:]]) + "\n")
    with pytest.raises(DataError, match=r"populations.csv:2: field 'town' value 'Saraqeb'.*"
                                        r"did you mean 'Saraqib'"):
        load_populations(theatre, bad)
    bad.write_text("\n".join(text[:-1]) + "\n")
    with pytest.raises(DataError, match="no population row"):
        load_populations(theatre, bad)


def _naive(first: np.ndarray, theatre: Theatre, pop: np.ndarray, p: DisplacementParams,
           n_days: int) -> np.ndarray:
    """Replica by replica, town by town: the layer's definition written out plainly."""
    xy = theatre.xy_km
    dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    out = np.zeros((len(first), n_days))
    for r in range(len(first)):
        for i in range(theatre.n_towns):
            if theatre.initial_control[i] != OPPOSITION:
                continue
            near = [int(first[r, j]) for j in np.flatnonzero(dist[i] <= p.approach_km)
                    if first[r, j] >= 0]
            a = min(near, default=-1)
            if a >= 0:
                out[r, a:] += p.scale * p.approach_share * pop[i]
            if first[r, i] >= 0:
                out[r, first[r, i]:] += p.scale * (1 - p.approach_share) * pop[i]
    return out


def test_layer_matches_its_definition(theatre: Theatre) -> None:
    rng = np.random.default_rng(3)
    n_days = 20
    first = rng.integers(-1, n_days, size=(4, theatre.n_towns)).astype(np.int16)
    first[:, theatre.initial_control == GOVERNMENT] = -1
    pop = load_populations(theatre)
    for p in (DisplacementParams(scale=1.7, approach_share=0.4, approach_km=8.0),
              DisplacementParams(scale=1.0, approach_share=0.0)):
        layer = Layer.of(theatre, p)
        got = layer.cumulative(first, n_days)
        np.testing.assert_allclose(got, _naive(first, theatre, pop, p, n_days), rtol=1e-12)
        a = layer.approach_days(first)
        fell = first >= 0
        assert (a[fell] <= first[fell]).all() and (a[fell] >= 0).all()


def test_nobody_flees_without_captures(theatre: Theatre) -> None:
    first = np.full((3, theatre.n_towns), -1, dtype=np.int16)
    assert not Layer.of(theatre).cumulative(first, 10).any()


def _record(values: list[tuple[str, float, bool]], rel: float = 0.2) -> Record:
    return Record(pd.DataFrame({"date": [dt.date.fromisoformat(d) for d, _, _ in values],
                                "displaced": [v for _, v, _ in values], "source_org": "test",
                                "fitted": [f for _, _, f in values], "rel_error": rel}))


def test_fit_recovers_known_parameters() -> None:
    start = dt.date(2019, 12, 19)
    t = np.arange(60)
    a = 1e5 * (1 - np.exp(-t / 10.0)) + 3e3 * t  # reached: early
    c = 8e4 * (1 - np.exp(-t / 25.0)) + 2e3 * t  # taken: later
    scale, share = 2.3, 0.35
    days = [3, 9, 17, 30, 44, 59]
    y = scale * (share * a + (1 - share) * c)
    rec = _record([((start + dt.timedelta(days=d)).isoformat(), y[d], True) for d in days])
    f = fit_displacement(a, c, rec, start)
    assert f.scale == pytest.approx(scale, rel=1e-5)
    assert f.approach_share == pytest.approx(share, abs=1e-5)
    assert f.chi2 < 1e-8 and f.approach_share_95[0] <= share <= f.approach_share_95[1]
    # log-normal errors of the stated size: the estimate lands within 4 standard errors
    noise = np.random.default_rng(1).normal(0.0, 0.2, len(days))
    rec2 = _record([((start + dt.timedelta(days=d)).isoformat(), y[d] * np.exp(e), True)
                    for d, e in zip(days, noise, strict=True)])
    f2 = fit_displacement(a, c, rec2, start)
    assert abs(f2.scale - scale) < 4 * f2.scale_se
    assert f2.approach_share_95[0] <= share <= f2.approach_share_95[1] or \
        abs(f2.approach_share - share) < 4 * f2.approach_share_se


def test_record_is_the_articles_and_bad_rows_are_named(tmp_path: Path) -> None:
    rec = load_record().table
    fitted = rec[rec["fitted"]]
    assert sorted(fitted["displaced"]) == [80000, 100000, 235000, 520000, 689000, 980000]
    article = (seeds_dir() / "article.txt").read_text()
    for q in pd.read_csv(seeds_dir() / "displacement.csv")["quote"]:
        cited = q.split("'")[1].split(" ... ")[0]  # the first quoted passage is in the article
        assert cited in article, cited
    bad = tmp_path / "displacement.csv"
    lines = (seeds_dir() / "displacement.csv").read_text().splitlines()
    bad.write_text("\n".join([lines[0], lines[1].replace(",80000,", ",-80000,"), *lines[2:]]))
    with pytest.raises(DataError, match=r"displacement.csv:2: field 'displaced' value '-80000'"):
        load_record(bad)


def test_run_and_compare_write_displacement(tmp_path: Path) -> None:
    from sim.compare import compare, write_comparison
    from sim.run import run_scenario
    from sim.scenario import load_scenario, with_overrides

    base = Path(__file__).parents[1] / "scenarios"
    sc = with_overrides(load_scenario(base / "baseline.yaml"), replicas=16,
                        sets={"outputs.plots": False})
    run_scenario(sc, tmp_path / "run")
    t = pd.read_csv(tmp_path / "run" / "displacement.csv")
    assert t["recorded"].notna().sum() == len(load_record().table)
    assert (t[["q05", "q50", "q95"]].diff(axis=1).iloc[:, 1:] >= 0).all().all()
    air = with_overrides(load_scenario(base / "no_russian_air.yaml"), replicas=16)
    cmp = compare(sc, air, replicas=16)
    write_comparison(cmp, tmp_path / "cmp", cmp_theatre(), plots=False)
    d = pd.read_csv(tmp_path / "cmp" / "displacement_diff.csv")
    assert len(d) == len(t) and d["ci_low"].le(d["mean"]).all()
    same = compare(sc, sc, replicas=16)
    assert same.displacement is not None and not same.displacement["mean"].any()


def cmp_theatre() -> Theatre:
    from sim.world import default_world

    return default_world()[0]


def test_the_run_table_is_streamed_and_exact_to_its_resolution() -> None:
    """``displacement.csv`` is built batch by batch in constant memory; its mean equals the
    in-memory mean and its quantiles are those of the displaced rounded to RESOLUTION people,
    so they differ from numpy's quantiles of the unrounded values by at most RESOLUTION / 2."""
    import pyarrow.parquet as pq

    import sim
    from sim.displacement.layer import Layer
    from sim.displacement.tables import RESOLUTION, run_table

    r = sim.run(Path(__file__).parents[1] / "scenarios" / "baseline.yaml", replicas=600, seed=1,
                progress=False)
    streamed = pd.read_csv(r.directory / "displacement.csv")
    first = pq.read_table(r.directory / "capture_days.parquet").to_pandas().to_numpy()
    cum = Layer.of(r.campaign.theatre).cumulative(first.astype(np.int16), r.campaign.n_days)
    whole = run_table(cum, r.campaign.start)
    assert np.abs(streamed["mean"] - whole["mean"]).max() <= 0.5  # both rounded to people
    for q in ("q05", "q25", "q50", "q75", "q95"):
        assert np.abs(streamed[q] - whole[q]).max() <= RESOLUTION / 2 + 0.5, q
