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


def test_space_applies_values_and_round_trips_through_a_scenario(tmp_path: Path) -> None:
    base = load_scenario(BASELINE)
    vals = {"params.capture_rate_per_day": 0.3,
            "modifiers.spring_shield.counterattack_mult": 4.0}
    sc = space.apply(base, vals)
    assert space.current_values(sc, list(vals)) == vals
    assert sc.params.capture_rate_per_day == 0.3
    assert sc.modifiers["spring_shield"].param("counterattack_mult") == 4.0
    assert sc.modifiers["spring_shield"].start == base.modifiers["spring_shield"].start
    f = tmp_path / "fitted.yaml"
    f.write_text(space.overrides_yaml(vals, BASELINE, f, "Test fit."))
    back = load_scenario(f)
    assert back.params.capture_rate_per_day == 0.3
    assert back.modifiers["spring_shield"].param("counterattack_mult") == 4.0
    for d in space.SPACE:
        assert d.from_unit(d.to_unit(d.low)) == pytest.approx(d.low)
        assert d.low <= d.from_unit(0.5) <= d.high


def test_naive_distances_are_zero_on_the_government_side() -> None:
    th, _ = default_world()
    dist = naive_distances(th)
    assert (dist[th.initial_control == 1] == 0).all()
    assert (dist[th.initial_control == 0] > 0).all()


@pytest.mark.slow
def test_tiny_calibration_runs_end_to_end_and_resumes(tmp_path: Path) -> None:
    cfg = tmp_path / "tiny.yaml"
    body = (f"name: tiny\nscenario: {BASELINE}\nseed: 3\n"
            "screening: {{trajectories: 2, levels: 4, keep: 2, replicas: 32}}\n"
            "fit: {{trials: {trials}, replicas: 64}}\n"
            "posterior: {{particles: 10, generations: 2, replicas: 32}}\n"
            "holdout: {{trials: 3}}\nscore_replicas: 128\n")
    cfg.write_text(body.format(trials=3))
    out = calibrate(cfg, out_root=tmp_path / "res", progress=False)
    scores = json.loads((out / "scores.json").read_text())
    for key in ("dated", "captures", "recaptures", "retakes", "counts", "end_state", "territory",
                "objective_days", "holdout"):
        assert key in scores
    assert "by_phase" in scores["captures"] and "skill_vs_naive" in scores["dated"]["overall"]
    assert {"in_sample", "forecast"} <= set(scores["holdout"])
    for f in ("fitted_overrides.yaml", "posterior_samples.csv", "capture_dates.png",
              "error_map.png", "bursts.png", "end_state.png", "pit_histogram.png",
              "territory.png", "convergence.png", "posterior_pairs.png"):
        assert (out / f).is_file(), f
    assert len(pd.read_csv(out / "fit_trials.csv")) == 3
    # resume: more trials continue the same study; cached steps are reused
    screening_before = (out / "screening.csv").read_text()
    cfg.write_text(body.format(trials=5))
    calibrate(cfg, out_root=tmp_path / "res", progress=False)
    assert len(pd.read_csv(out / "fit_trials.csv")) == 5
    assert (out / "screening.csv").read_text() == screening_before
    # the fitted overrides are a valid scenario extending the baseline
    assert load_scenario(out / "fitted_overrides.yaml").name == "calibrated"


def test_score_a_run_directory(tmp_path: Path) -> None:
    from sim import cli

    assert cli.main(["run", str(BASELINE), "--replicas", "300", "--out", str(tmp_path / "r"),
                     "--quiet"]) == 0
    out = score_run_dir(tmp_path / "r")
    assert out["n_targets"]["dated"] >= 80 and np.isfinite(out["dated"]["overall"]["crps_days"])
    assert len(out["worst_targets"]) > 0 and sum(t["scored"] for t in out["territory"]) == 1


@pytest.mark.parametrize(("body", "expected"), [
    ("screening: {always: [params.air_efect]}\n",
     r"field 'screening.always': value 'params.air_efect'.*did you mean 'params.air_effect'"),
    ("fit: {trials: many}\n", r"field 'fit.trials': value 'many'"),
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
