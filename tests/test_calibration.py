"""Calibration: targets, the objective's terms, the parameter space, and a tiny end-to-end run
that resumes. (Scores are reported by `idlib-sim calibrate`, never asserted here.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import crps_captured_by
from sim.calibration import space
from sim.calibration.calibrate import calibrate, naive_distances
from sim.calibration.objective import objective
from sim.calibration.scorerun import score_run_dir
from sim.scenario import load_scenario
from sim.world import default_world

BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"


def test_captured_by_score() -> None:
    h = 20
    assert crps_captured_by(np.full(50, 3), 5, h) == 0.0  # all fell in time: no penalty
    never = crps_captured_by(np.full(50, -1), 5, h)
    assert never == h - 5  # never captured: (1 - 0)^2 on every day from y on
    half = np.array([3] * 25 + [-1] * 25)
    assert crps_captured_by(half, 5, h) == pytest.approx(0.25 * (h - 5))


def test_objective_is_the_weighted_mean_of_terms() -> None:
    t = pd.DataFrame({"weight": [1.0, 3.0], "score_days": [2.0, 6.0]})
    assert objective(t) == pytest.approx((2 + 18) / 4)


def test_space_maps_the_unit_cube_to_each_truncated_prior() -> None:
    from scipy import stats

    rng = np.random.default_rng(1)
    for d in space.SPACE:
        assert d.from_unit(0.0) == pytest.approx(d.low) and d.from_unit(1.0) == pytest.approx(
            d.high, rel=1e-6)
        u = rng.random(7)
        assert np.allclose(d.to_unit(d.from_unit(u)), u, atol=1e-7)
    # a uniform draw on the cube is a draw from the prior: KS against the truncated prior CDF
    x = space.sample_prior(space.SPACE, 4000, np.random.default_rng(2))
    for j, d in enumerate(space.SPACE):
        dist = d.prior.dist()
        a, b = dist.cdf(d.low), dist.cdf(d.high)
        p = stats.kstest(x[:, j], lambda v, dist=dist, a=a, b=b: (dist.cdf(v) - a) / (b - a)
                         ).pvalue
        assert p > 1e-3, (d.name, p)


def test_factory_applies_values_and_overrides_round_trip(tmp_path: Path) -> None:
    from sim.calibration.model import CampaignFactory

    f = CampaignFactory(load_scenario(BASELINE))
    vals = {"speed_scale": 0.7, "modifiers.spring_shield.counterattack_mult": 4.0}
    c = f(vals)
    assert c.params.speed_scale == 0.7
    ss = {m.name: m for m in c.modifiers}["spring_shield"]
    assert ss.param("counterattack_mult") == 4.0
    assert f.base_values(list(vals))["speed_scale"] == load_scenario(BASELINE).params.speed_scale
    with pytest.raises(ValueError, match="no modifier named 'nowhere'"):
        f({"modifiers.nowhere.x": 1.0})
    out = tmp_path / "fitted.yaml"
    text = space.overrides_yaml(vals, BASELINE, out, "Test fit.")
    assert "speed_scale: 0.7" in text and "counterattack_mult: 4.0" in text


def test_naive_distances_are_zero_on_the_government_side() -> None:
    th, _ = default_world()
    dist = naive_distances(th)
    assert (dist[th.initial_control == 1] == 0).all()
    assert (dist[th.initial_control == 0] > 0).all()


TINY = ("name: tiny\nscenario: {base}\nseed: 3\n"
        "posterior: {{particles: 10, generations: {gens}, replicas: 16, samples: 40}}\n"
        "predictive: {{draws: 4, replicas_per_draw: 16}}\n"
        "sbc: {{reference: 20, truths: 5, min_accepted: 4}}\nplots: {plots}\n")


@pytest.mark.slow
def test_tiny_calibration_runs_end_to_end_and_resumes(tmp_path: Path) -> None:
    from sim.calibration.config import load_config
    from sim.model.params import PRIORS

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY.format(base=BASELINE, gens=2, plots="true"))
    out = calibrate(cfg, out_root=tmp_path / "res", progress=False)
    scores = json.loads((out / "scores.json").read_text())
    for key in ("dated", "captures", "recaptures", "retakes", "counts", "end_state", "territory",
                "objective_days", "holdout", "goals", "posterior", "sbc", "abc",
                "posterior_median_point", "prior_predictive", "defaults"):
        assert key in scores, key
    assert "by_phase" in scores["captures"] and "skill_vs_naive" in scores["dated"]["overall"]
    assert {"in_sample", "forecast"} <= set(scores["holdout"])
    assert scores["replicas"] == 4 * 16
    for f in ("fitted_overrides.yaml", "posterior_samples.csv", "capture_dates.png",
              "error_map.png", "bursts.png", "end_state.png", "pit_histogram.png",
              "territory.png", "posterior_pairs.png", "abc_generations.png", "sbc_ranks.png",
              "holdout_capture_dates.png", "abc_generations.csv", "sbc_uniformity.csv"):
        assert (out / f).is_file(), f
    # the samples file: provenance comments, then one column per calibrated dimension
    lines = (out / "posterior_samples.csv").read_text().splitlines()
    assert lines[0].startswith("# ")
    samples = pd.read_csv(out / "posterior_samples.csv", comment="#")
    assert list(samples.columns) == list(space.NAMES) and len(samples) == 40
    assert set(PRIORS) < set(samples.columns)
    for d in space.SPACE:
        assert samples[d.name].between(d.low, d.high).all(), d.name
    # every sample is one of the final population's particles
    pop = pd.read_csv(out / "posterior_population.csv")
    assert samples.merge(pop.round(8), on=list(space.NAMES)).shape[0] >= len(samples) * 0.9
    # resume: more generations recompute the posterior; the same settings reuse every step
    before = {f: (out / f).read_text() for f in ("posterior_population.csv",
                                                 "holdout_population.csv", "sbc_ranks.csv")}
    calibrate(cfg, out_root=tmp_path / "res", progress=False)
    for f, text in before.items():
        assert (out / f).read_text() == text, f
    ledger = (out / "evaluations.log").read_text().splitlines()
    cfg.write_text(TINY.format(base=BASELINE, gens=3, plots="false"))
    calibrate(cfg, out_root=tmp_path / "res", progress=False)
    assert len(pd.read_csv(out / "posterior_generations.csv")) == 3
    assert len((out / "evaluations.log").read_text().splitlines()) > len(ledger)
    assert load_config(cfg)[0].posterior.generations == 3


def test_score_a_run_directory(tmp_path: Path) -> None:
    from sim import cli

    assert cli.main(["run", str(BASELINE), "--replicas", "300", "--out", str(tmp_path / "r"),
                     "--quiet"]) == 0
    out = score_run_dir(tmp_path / "r")
    assert out["n_targets"]["dated"] >= 80 and np.isfinite(out["dated"]["overall"]["crps_days"])
    assert len(out["worst_targets"]) > 0 and sum(t["scored"] for t in out["territory"]) == 1


@pytest.mark.parametrize(("body", "expected"), [
    ("dims: [air_efect]\n",
     r"field 'dims': value 'air_efect'.*did you mean 'air_effect'"),
    ("posterior: {particles: many}\n", r"field 'posterior.particles': value 'many'"),
    ("sbc: {enabled: 1}\n", r"field 'sbc.enabled': value 1"),
    ("scenario: nowhere.yaml\n", r"field 'scenario': value 'nowhere.yaml': no such file"),
])
def test_bad_calibration_configs_give_located_errors(tmp_path: Path, body: str,
                                                     expected: str) -> None:
    from sim.calibration.calibrate import load_config
    from sim.errors import ScenarioError

    f = tmp_path / "cfg.yaml"
    f.write_text(f"name: x\nscenario: {BASELINE}\n" + body if "scenario" not in body
                 else "name: x\n" + body)
    with pytest.raises(ScenarioError, match=expected):
        load_config(f)


def test_posterior_predictive_runs_each_draw_with_its_own_seed() -> None:
    from sim.calibration.model import CampaignFactory, draw_seeds, simulate, simulate_predictive

    f = CampaignFactory(load_scenario(BASELINE))
    draws = [{"speed_scale": 0.5}, {"speed_scale": 2.0}]
    pooled = simulate_predictive(f, draws, 16, seed=9)
    seeds = draw_seeds(9, 2)
    assert len(set(seeds.tolist())) == 2
    for k, v in enumerate(draws):
        alone = simulate(f, v, 16, int(seeds[k]))
        np.testing.assert_array_equal(pooled.first_days[16 * k:16 * (k + 1)], alone.first_days)
        assert pooled.final_control is not None and alone.final_control is not None
        np.testing.assert_array_equal(pooled.final_control[16 * k:16 * (k + 1)],
                                      alone.final_control)
    again = simulate_predictive(f, draws, 16, seed=9)
    np.testing.assert_array_equal(again.gov_area, pooled.gov_area)
