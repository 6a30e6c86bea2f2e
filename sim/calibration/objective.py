"""The calibration objective: every target's score in days, and their weighted mean.

* point-date targets: CRPS of the simulated first-capture day, right-censored at the horizon
  (:func:`sim.analysis.crps_censored`);
* "captured by" targets: :func:`sim.analysis.crps_captured_by`, the same integral over
  thresholds from the recorded day on only: no penalty for falling earlier, which the record
  allows;
* recapture indicators: Brier score of P(retaken at least once), times :data:`BRIER_DAYS`;
* territory figures: CRPS of the simulated area, converted to days of advance at the campaign's
  mean rate (2,345 km² over 78 days, :data:`KM2_PER_DAY`).

The objective is the weighted mean over all terms (weights in :mod:`.targets`). Both conversion
factors are modelling choices, stated here and in calibration/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim import analysis
from sim.calibration.targets import Targets
from sim.engines.batch import run_batch
from sim.run import build_campaign
from sim.scenario import Scenario
from sim.theatre.theatre import Theatre

#: Mean daily gain of the campaign: 2,345 km² (infobox) over 78 days. Converts km² to days.
KM2_PER_DAY = 2345.0 / 78.0
#: A Brier score of 1 (certain and wrong about a recapture) counts as this many days of error.
BRIER_DAYS = 10.0


@dataclass
class Simulated:
    """Per-replica outputs needed for scoring."""

    first_days: NDArray[np.int16]
    n_recaptures: NDArray[np.int16]
    gov_area: NDArray[np.float32]
    held_count: NDArray[np.int64]
    """``(horizon + 1, n_towns)``: replicas in which the government holds each town per day."""
    idlib_area: NDArray[np.float32]
    horizon: int
    idlib_total_km2: float


def idlib_mask(theatre: Theatre) -> NDArray[np.bool_]:
    return (theatre.towns["governorate"] == "Idlib").to_numpy()


def simulate(scenario: Scenario, n: int, seed: int) -> Simulated:
    """Run ``n`` replicas of ``scenario`` on the batch core (seed fixed: common random numbers)."""
    c = build_campaign(scenario)
    mask = idlib_mask(c.theatre)
    chunks = list(run_batch(c, seed, n, area_groups=[mask]))
    return Simulated(
        first_days=np.concatenate([x.first_capture_day for x in chunks]),
        n_recaptures=np.concatenate([x.n_recaptures for x in chunks]),
        gov_area=np.concatenate([x.gov_area_km2 for x in chunks]),
        held_count=np.sum([x.held_count for x in chunks], axis=0, dtype=np.int64),
        idlib_area=np.concatenate([x.group_area_km2[:, 0] for x in chunks]),
        horizon=c.n_days,
        idlib_total_km2=float(c.theatre.area_km2[mask].sum()),
    )


def _column(day: int, horizon: int) -> int:
    """Column of a per-day area array holding the state at the end of ``day``."""
    return min(day + 1, horizon)


def term_scores(sim: Simulated, targets: Targets, rng: np.random.Generator) -> pd.DataFrame:
    """One row per target term: ``term, town, date, weight, score_days`` and diagnostics."""
    rows = []
    h = sim.horizon
    date_t = targets.captures[targets.captures["kind"] == "date"]
    if len(date_t):
        nodes = date_t["node"].to_numpy()
        y = np.minimum(date_t["day"].to_numpy(), h - 1)
        table = analysis.score_table(sim.first_days[:, nodes], y, h, rng,
                                    names=list(date_t["town"]), phase=list(date_t["phase"]),
                                    weight=date_t["weight"].to_numpy())
        for r, (_, t) in zip(table.itertuples(), date_t.iterrows(), strict=True):
            rows.append({"term": "capture_date", "town": t["town"], "node": t["node"],
                         "date": t["date"], "phase": t["phase"], "weight": t["weight"],
                         "score_days": r.crps_days, "abs_err_median_days": r.abs_err_median_days,
                         "median_day": r.median_day, "q10": r.q10, "q90": r.q90, "pit": r.pit,
                         "in50": r.in50, "in80": r.in80, "p_captured": r.p_captured,
                         "recorded_day": t["day"]})
    for _, t in targets.captures[targets.captures["kind"] == "by"].iterrows():
        d = sim.first_days[:, int(t["node"])]
        rows.append({"term": "captured_by", "town": t["town"], "node": t["node"],
                     "date": t["date"], "phase": t["phase"], "weight": t["weight"],
                     "score_days": analysis.crps_captured_by(d, min(int(t["day"]), h), h),
                     "p_captured": float((d >= 0).mean()), "recorded_day": t["day"]})
    for _, t in targets.recaptures.iterrows():
        p = float((sim.n_recaptures[:, int(t["node"])] > 0).mean())
        rows.append({"term": "recaptured", "town": t["town"], "node": t["node"], "date": t["date"],
                     "phase": "all", "weight": t["weight"], "p": p, "observed": t["observed"],
                     "score_days": BRIER_DAYS * (p - t["observed"]) ** 2})
    for _, t in targets.territory.iterrows():
        col = _column(int(t["day"]), h)
        if t["quantity"] == "captured_area_km2":
            sample = sim.gov_area[:, col] - sim.gov_area[:, 0]
            score = analysis.crps_ensemble(sample, float(t["value"])) / KM2_PER_DAY
        else:
            sample = 100.0 * sim.idlib_area[:, col] / sim.idlib_total_km2
            score = (analysis.crps_ensemble(sample, float(t["value"]))
                     * sim.idlib_total_km2 / 100.0 / KM2_PER_DAY)
        rows.append({"term": t["quantity"], "town": "", "date": t["date"], "phase": "all",
                     "weight": t["weight"], "score_days": float(score),
                     "recorded": float(t["value"]), "median": float(np.median(sample)),
                     "q10": float(np.quantile(sample, 0.1)),
                     "q90": float(np.quantile(sample, 0.9))})
    return pd.DataFrame(rows)


def objective(terms: pd.DataFrame) -> float:
    """Weighted mean score in days over all terms."""
    w = terms["weight"].to_numpy(float)
    return float((w * terms["score_days"].to_numpy(float)).sum() / w.sum())
