"""The calibration objective: every target's score in days, and their weighted mean.

Each target's score (:mod:`sim.calibration.evaluate`) is put in days:

* dated targets (captures, recaptures, retakings): their CRPS is in days already (censored CRPS
  for a date, the "captured by" integral for a bound);
* counts: the count CRPS in localities divided by the campaign's mean rate, 295 localities over
  78 days (:data:`~sim.calibration.evaluate.LOCALITIES_PER_DAY`);
* end state: :data:`~sim.calibration.evaluate.BRIER_DAYS` x the Brier score (being certain and
  wrong about who holds a town costs as much as ten days of timing error);
* territory (scored figures only): CRPS in km² over the campaign's mean gain, 2,345 km² over
  78 days (:data:`~sim.calibration.evaluate.KM2_PER_DAY`).

The objective is the weighted mean of these over all targets (weights: the target's certainty,
:mod:`sim.calibration.targets`). Every kind weighs per target, so the dated targets (96 today)
dominate, as they do the record; the conversion factors are modelling choices stated in
calibration/README.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim.analysis import Outcomes
from sim.calibration.evaluate import (
    BRIER_DAYS,
    KM2_PER_DAY,
    LOCALITIES_PER_DAY,
    NaiveForecast,
    score_targets,
)
from sim.calibration.targets import Targets, idlib_mask
from sim.theatre.theatre import Theatre

__all__ = [
    "BRIER_DAYS",
    "KM2_PER_DAY",
    "LOCALITIES_PER_DAY",
    "Simulated",
    "collect",
    "idlib_mask",
    "objective",
    "term_scores",
]


@dataclass
class Simulated:
    """Per-replica outputs needed for scoring and the calibration plots."""

    outcomes: Outcomes
    theatre: Theatre
    gov_area: NDArray[np.float32]
    held_count: NDArray[np.int64]
    """``(horizon + 1, n_towns)``: replicas in which the government holds each town per day."""
    n_recaptures: NDArray[np.int16]
    final_control: NDArray[np.int8] | None = None
    """``(n, n_towns)`` holder of every town at the end, when the core reports it."""

    @property
    def first_days(self) -> NDArray[np.int16]:
        return self.outcomes.first_capture

    @property
    def horizon(self) -> int:
        return self.outcomes.horizon


def collect(chunks: Sequence[Any], theatre: Theatre, horizon: int) -> Simulated:
    """What scoring needs from the chunks of a run of the batch core (``BatchChunk``s)."""
    n = sum(len(x.first_capture_day) for x in chunks)
    held = np.asarray([x.held_count for x in chunks], dtype=np.int64).sum(axis=0)
    out = Outcomes(
        first_capture=np.concatenate([x.first_capture_day for x in chunks]),
        first_recapture=np.concatenate([x.first_recapture_day for x in chunks]),
        last_capture=np.concatenate([x.last_capture_day for x in chunks]),
        p_held_end=held[-1] / n, initial_control=theatre.initial_control,
        area_km2=theatre.area_km2, horizon=horizon)
    return Simulated(out, theatre, np.concatenate([x.gov_area_km2 for x in chunks]), held,
                     np.concatenate([x.n_recaptures for x in chunks]))


def term_scores(sim: Simulated, targets: Targets, rng: np.random.Generator,
                naive: NaiveForecast | None = None) -> pd.DataFrame:
    """One row per target (:func:`sim.calibration.evaluate.score_targets`)."""
    return score_targets(sim.outcomes, targets, sim.theatre, rng, naive)


def objective(terms: pd.DataFrame) -> float:
    """Weighted mean score in days over all targets (weight-0 rows, e.g. territory figures
    reported but not scored, do not count)."""
    w = terms["weight"].to_numpy(float)
    return float((w * terms["score_days"].to_numpy(float)).sum() / w.sum())
