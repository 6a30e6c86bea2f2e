"""``idlib-sim calibrate --workers N``: the ABC particles, the posterior-predictive, hold-out and
fixed-point runs and the SBC reference table on worker processes give the same posterior
samples and scores, byte for byte, as one process (the seeds are drawn by the driver: common
random numbers wherever a simulation runs); ABC's batched proposals equal one-at-a-time ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sim import cli
from sim.calibration.abc import abc_smc

BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"
TINY = (f"name: tiny\nscenario: {BASELINE}\nseed: 5\ndims: [air_effect]\n"
        "posterior: {particles: 10, generations: 2, replicas: 16, samples: 20}\n"
        "predictive: {draws: 2, replicas_per_draw: 16}\n"
        "sbc: {enabled: false}\nplots: false\n")
SAME = ("posterior_samples.csv", "posterior_population.csv", "posterior_generations.csv",
        "holdout_population.csv", "holdout_generations.csv", "terms_in_sample.csv",
        "terms_holdout.csv", "fitted_overrides.yaml", "abc_generations.csv")
SHORT = "period:\n  start: 2019-12-19\n  end: 2020-01-26\n"


def _dist(theta: np.ndarray, seed: int) -> float:
    return float(((theta - 0.3) ** 2).sum() + 0.02 * np.random.default_rng(seed).random())


@pytest.mark.parametrize("batch", [1, 2, 7, 64])
def test_batched_abc_equals_one_candidate_at_a_time(batch: int) -> None:
    ref = abc_smc(_dist, 2, np.random.default_rng(9), particles=12, generations=4)
    used: list[int] = []
    got = abc_smc(None, 2, np.random.default_rng(9), particles=12, generations=4,
                  distance_many=lambda ps: [_dist(t, s) for t, s in ps], batch=batch,
                  on_evaluated=used.append)
    assert len(got.generations) == len(ref.generations) == 4
    for g, r in zip(got.generations, ref.generations, strict=True):
        assert np.array_equal(g.particles, r.particles) and np.array_equal(g.weights, r.weights)
        assert g.n_simulations == r.n_simulations and g.epsilon == r.epsilon
    assert sum(used) == sum(g.n_simulations for g in ref.generations)  # surplus not counted


@pytest.mark.slow
def test_calibration_is_byte_identical_on_1_and_2_workers(tmp_path: Path) -> None:
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY)
    outs = []
    for w in (1, 2):
        # the same run folder name (it is written into the outputs), two roots
        root = tmp_path / f"w{w}"
        assert cli.main(["calibrate", str(cfg), "--out-root", str(root), "--quiet",
                         "--workers", str(w)]) == 0
        outs.append(root / "tiny")
    for f in SAME:
        a, b = ((o / f).read_text().replace(str(o), "OUT") for o in outs)
        assert a == b, f
    s1, s2 = (json.loads((o / "scores.json").read_text()) for o in outs)
    for s in (s1, s2):
        s.pop("wall_time_s")
    assert s1 == s2
    assert s1["evaluations"] > 0 and s1["holdout"] is not None


def test_worker_runs_equal_the_models_runs(tmp_path: Path) -> None:
    """The SBC reference table, the fixed-point and the predictive runs, cut into blocks on two
    workers, equal :func:`simulate` and :func:`simulate_predictive` in this process."""
    from sim.calibration.model import CampaignFactory, simulate, simulate_predictive
    from sim.calibration.targets import build_targets
    from sim.calibration.workers import Workers
    from sim.engines.chunk import BLOCK
    from sim.scenario import load_scenario

    sc = tmp_path / "short.yaml"
    sc.write_text(f"name: s\ndescription: s?\nextends: {BASELINE}\nposterior: null\n{SHORT}")
    factory = CampaignFactory(load_scenario(sc))
    targets = build_targets(factory.theatre)
    vals = [{"air_effect": x} for x in (0.2, 0.5, 0.9)]
    wk = Workers(factory, {"posterior": targets}, 16, workers=2)
    try:
        many = wk.simulate_many([(v, 7 + i, 16) for i, v in enumerate(vals)])
        one = wk.simulate(vals[0], BLOCK + 5, 3)  # two blocks
        pred = wk.predictive(vals, 16, 11)
    finally:
        wk.close()
    refs = [simulate(factory, v, 16, 7 + i) for i, v in enumerate(vals)]
    pairs = [*zip(many, refs, strict=True), (one, simulate(factory, vals[0], BLOCK + 5, 3)),
             (pred, simulate_predictive(factory, vals, 16, 11))]
    for got, ref in pairs:
        assert np.array_equal(got.first_days, ref.first_days)
        assert np.array_equal(got.gov_area, ref.gov_area)
        assert np.array_equal(got.held_count, ref.held_count)
        assert got.final_control is not None and ref.final_control is not None
        assert np.array_equal(got.final_control, ref.final_control)
