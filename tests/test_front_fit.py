"""The front model's quick fit: machinery only (it runs, stays in range, reports its fields)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.calibration.front_fit import fit_front, front_campaign, simulate_front, summary
from sim.calibration.targets import build_targets
from sim.model.front_params import PRIORS, FrontParams, bounds
from sim.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


def test_fit_tries_parameters_within_their_ranges_and_reports_the_headline_scores() -> None:
    sc = load_scenario(BASELINE)
    c = front_campaign(sc, FrontParams())
    targets = build_targets(c.theatre)
    study = fit_front(sc, targets, trials=3, replicas=16, seed=4)
    assert len(study.trials) == 3
    for t in study.trials:
        for name, value in t.params.items():
            lo, hi = bounds(name)
            assert lo <= value <= hi
    assert set(study.trials[0].params) == set(PRIORS)
    out = summary(simulate_front(c, 32, 1), targets)
    for key in ("crps_days", "mae_days", "coverage_50", "coverage_80", "skill_vs_naive",
                "saraqib_lost_and_retaken_share", "captured_area_end_km2"):
        assert key in out
    assert 0.0 <= out["saraqib_lost_and_retaken_share"] <= out["saraqib_lost_share"] <= 1.0
    assert np.isfinite(out["crps_days"])
