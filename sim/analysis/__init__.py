"""Scores of simulated campaigns against the record (one concept per module).

* :mod:`.ecdf` — the censored empirical distribution of first-capture days and its conventions;
* :mod:`.crps` — censored CRPS, "captured by" CRPS, ensemble CRPS of real values;
* :mod:`.coverage` — quantiles, error of the median, interval coverage, randomised PIT;
* :mod:`.naive` — the constant-speed benchmark;
* :mod:`.report` — per-target tables and their weighted summaries;
* :mod:`.counts` — scores of counts in a window ("over 15 villages in 48 h");
* :mod:`.outcomes` — the per-replica outcomes of a run the scores read.

Everything public is re-exported here: ``from sim import analysis`` then ``analysis.pit(...)``.
"""

from sim.analysis.counts import crps_count, crps_count_at_least, window_counts
from sim.analysis.coverage import abs_error_of_median, interval_coverage, pit, quantiles_censored
from sim.analysis.crps import crps_captured_by, crps_censored, crps_ensemble, crps_ensemble_batch
from sim.analysis.ecdf import quantiles_from_cdf
from sim.analysis.naive import (
    NAIVE_GRID_POINTS,
    NAIVE_SPEED_BOUNDS,
    fit_naive_speed,
    naive_crps,
    naive_days,
)
from sim.analysis.outcomes import Outcomes, retake_days
from sim.analysis.report import score_table, summarise

__all__ = [
    "NAIVE_GRID_POINTS",
    "NAIVE_SPEED_BOUNDS",
    "Outcomes",
    "abs_error_of_median",
    "crps_captured_by",
    "crps_censored",
    "crps_count",
    "crps_count_at_least",
    "crps_ensemble",
    "crps_ensemble_batch",
    "fit_naive_speed",
    "interval_coverage",
    "naive_crps",
    "naive_days",
    "pit",
    "quantiles_censored",
    "quantiles_from_cdf",
    "retake_days",
    "score_table",
    "summarise",
    "window_counts",
]
