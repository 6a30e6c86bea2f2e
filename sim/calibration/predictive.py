"""Scores of a fit's posterior predictive against the goals of issue 11.

Every figure here is of the posterior *predictive*: the ensemble pools ``K`` posterior draws,
each run with its own seed (:func:`sim.calibration.model.simulate_predictive`), so parameter
uncertainty is in the spread. The goals (issue 11) are checked with the numbers beside them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.calibration.evaluate import NaiveForecast
from sim.calibration.objective import Simulated, objective, term_scores
from sim.calibration.scorecard import summarise_terms
from sim.calibration.targets import PHASES, Targets
from sim.theatre.theatre import GOVERNMENT

#: Area the government gained by 6 Mar (km², infobox of the seed article).
RECORDED_AREA_KM2 = 2345.0


def scores(terms: pd.DataFrame) -> dict[str, Any]:
    """Summary scores of a target score table (:mod:`sim.calibration.scorecard`)."""
    out = summarise_terms(terms)
    out["objective_days"] = objective(terms)
    return out


def score(sim: Simulated, targets: Targets, naive: NaiveForecast, seed: int
          ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Score table and summary (with the Saraqib and area figures) of an ensemble."""
    terms = term_scores(sim, targets, np.random.default_rng(seed), naive)
    out = scores(terms)
    th = sim.theatre
    sar = th.resolve("Saraqib")
    lost = sim.n_recaptures[:, sar] > 0
    out["saraqib_lost_share"] = float(lost.mean())
    if sim.final_control is not None:
        out["saraqib_lost_and_retaken_share"] = float(
            (lost & (sim.final_control[:, sar] == GOVERNMENT)).mean())
    gained = sim.gov_area[:, -1] - sim.gov_area[:, 0]
    out["captured_area_end_km2"] = {f"q{q}": float(np.quantile(gained, q / 100))
                                    for q in (10, 50, 90)}
    out["replicas"] = len(gained)
    return terms, out


def goals(ins: dict[str, Any], holdout: dict[str, Any] | None) -> dict[str, Any]:
    """Each goal of issue 11: the figure, the threshold and whether it is met."""
    d = ins["dated"]["overall"]
    area = ins["captured_area_end_km2"]["q50"]
    g: dict[str, Any] = {
        "crps_days<=4": d["crps_days"],
        "median_abs_error_days<=4": d["median_abs_error_days"],
        "coverage_80_in_0.70_0.90": d["coverage_80"],
        "coverage_50_in_0.40_0.60": d["coverage_50"],
        "saraqib_lost_and_retaken>=0.25": ins.get("saraqib_lost_and_retaken_share"),
        "end_state_brier<=0.10": ins["end_state"]["mean_score"],
        "area_6mar_within_15pct_of_2345": area,
        "skill_vs_naive_every_phase>=0.6": {
            p: ins["dated"]["by_phase"][p].get("skill_vs_naive") for p, _, _ in PHASES},
    }
    if holdout is not None:
        g["holdout_crps_days<=5"] = holdout["dated"]["overall"]["crps_days"]
    met = {
        "crps_days<=4": _le(d["crps_days"], 4),
        "median_abs_error_days<=4": _le(d["median_abs_error_days"], 4),
        "coverage_80_in_0.70_0.90": _within(d["coverage_80"], 0.7, 0.9),
        "coverage_50_in_0.40_0.60": _within(d["coverage_50"], 0.4, 0.6),
        "saraqib_lost_and_retaken>=0.25": _ge(ins.get("saraqib_lost_and_retaken_share"), 0.25),
        "end_state_brier<=0.10": _le(ins["end_state"]["mean_score"], 0.10),
        "area_6mar_within_15pct_of_2345": _within(area, 0.85 * RECORDED_AREA_KM2,
                                                  1.15 * RECORDED_AREA_KM2),
        "skill_vs_naive_every_phase>=0.6": all(
            _ge(v, 0.6) for v in g["skill_vs_naive_every_phase>=0.6"].values()),
    }
    if holdout is not None:
        met["holdout_crps_days<=5"] = _le(holdout["dated"]["overall"]["crps_days"], 5)
    return {"figures": g, "met": met}


def _le(x: float | None, t: float) -> bool:
    return x is not None and x <= t


def _ge(x: float | None, t: float) -> bool:
    return x is not None and x >= t


def _within(x: float | None, a: float, b: float) -> bool:
    return x is not None and a <= x <= b
