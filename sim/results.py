"""Results as data: streaming aggregation of replicas and the tidy tables the outputs hold.

:class:`Ensemble` ingests replicas chunk by chunk (from either engine) and keeps only aggregates
whose size does not grow with the number of replicas: per-town histograms of first-capture days,
per-day counts of government-held replicas per town, and per-day histograms of government-held
area on a 1 km² grid. Quantiles of capture days are therefore exact; area quantiles are exact to
within one bin.

Days and dates (one convention for every table the project writes; README, "Outputs")
------------------------------------------------------------------------------------
Day ``d`` is the calendar date ``start + d`` (day 0 = 19 Dec 2019 for the historical campaign).
An *event* on day ``d`` (a capture, a recapture) happened during that date. A *state* at day
``d`` (who holds a town, the area held) is the state at the end of that date, after its events;
day ``-1`` is the start (the front of 18 Dec 2019, before any fighting). Every table carries the
``date`` (ISO) beside the ``day``, and ``date == start + day`` always.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim.analysis import quantiles_from_cdf

QUANTILES = (0.05, 0.25, 0.50, 0.75, 0.95)
AREA_BIN_KM2 = 1.0


@dataclass(repr=False)
class Ensemble:
    """Aggregates over replicas of one campaign."""

    towns: list[str]
    start: dt.date
    n_days: int
    max_area_km2: float
    n: int = 0
    cap_hist: NDArray[np.int64] = field(init=False)
    """``(n_towns, n_days + 1)``: replicas whose first capture was day d; column n_days = never."""
    held_count: NDArray[np.int64] = field(init=False)
    """``(n_days + 1, n_towns)``: replicas in which the government holds the town (row 0: start)."""
    area_hist: NDArray[np.int64] = field(init=False)
    recaptured: NDArray[np.int64] = field(init=False)
    """Replicas in which the opposition retook the town at least once."""

    def __post_init__(self) -> None:
        t = len(self.towns)
        self.cap_hist = np.zeros((t, self.n_days + 1), np.int64)
        self.held_count = np.zeros((self.n_days + 1, t), np.int64)
        nbins = int(np.ceil(self.max_area_km2 / AREA_BIN_KM2)) + 1
        self.area_hist = np.zeros((self.n_days + 1, nbins), np.int64)
        self.recaptured = np.zeros(t, np.int64)

    def add(self, first_capture_day: NDArray[np.integer], held_count: NDArray[np.integer],
            gov_area_km2: NDArray[np.floating], n_recaptures: NDArray[np.integer]) -> None:
        """Add replicas: ``first_capture_day`` ``(m, towns)`` (-1 = never), ``held_count``
        ``(days + 1, towns)``, ``gov_area_km2`` ``(m, days + 1)``, ``n_recaptures``
        ``(m, towns)``."""
        m, t = first_capture_day.shape
        day = np.where(first_capture_day < 0, self.n_days, first_capture_day).astype(np.int64)
        flat = (np.arange(t)[None, :] * (self.n_days + 1) + day).ravel()
        self.cap_hist += np.bincount(flat, minlength=t * (self.n_days + 1)).reshape(t, -1)
        self.held_count += held_count
        bins = np.clip((gov_area_km2 / AREA_BIN_KM2).astype(np.int64), 0,
                       self.area_hist.shape[1] - 1)
        nb = self.area_hist.shape[1]
        flat = (np.arange(self.n_days + 1)[None, :] * nb + bins).ravel()
        self.area_hist += np.bincount(flat, minlength=(self.n_days + 1) * nb).reshape(-1, nb)
        self.recaptured += (n_recaptures > 0).sum(axis=0)
        self.n += m

    def __repr__(self) -> str:  # the histograms are data, not something to print
        return (f"Ensemble({self.n} replicas, {len(self.towns)} towns, {self.n_days} days from "
                f"{self.start.isoformat()})")

    # -- reductions ---------------------------------------------------------------------------
    def date(self, day: int) -> dt.date:
        """The calendar date of day ``day`` (day 0 = ``start``)."""
        return self.start + dt.timedelta(days=int(day))

    def state_days(self) -> pd.DataFrame:
        """``day, date`` of the daily state rows: ``-1 .. n_days - 1``, each at the end of its
        date (row 0: the start)."""
        return state_days(self.start, self.n_days)

    def p_captured(self) -> NDArray[np.float64]:
        return 1.0 - self.cap_hist[:, -1] / self.n

    def p_held_at_end(self) -> NDArray[np.float64]:
        return self.held_count[-1] / self.n

    def capture_day_quantiles(self, qs: tuple[float, ...] = QUANTILES) -> NDArray[np.float64]:
        """``(towns, len(qs))`` first-capture day quantiles; never-captured replicas count as
        later than the end, so a quantile beyond the captured share is ``nan``.

        Quantile definition: :func:`sim.analysis.quantiles_from_cdf` (inverse ECDF).
        """
        cdf = np.cumsum(self.cap_hist[:, :-1], axis=1) / self.n  # last column: never captured
        q = quantiles_from_cdf(cdf, np.asarray(qs)).T
        return np.where(np.isinf(q), np.nan, q)

    def town_table(self) -> pd.DataFrame:
        """One row per town: ``town, p_captured, p_held_at_end, p_recaptured, q05..q95`` (ISO)."""
        qd = self.capture_day_quantiles()
        df = pd.DataFrame({
            "town": self.towns,
            "p_captured": self.p_captured(),
            "p_held_at_end": self.p_held_at_end(),
            "p_recaptured": self.recaptured / self.n,
        })
        for j, q in enumerate(QUANTILES):
            df[f"q{round(q * 100):02d}"] = [
                "" if np.isnan(v) else self.date(int(v)).isoformat() for v in qd[:, j]
            ]
        return df

    def territory_table(self) -> pd.DataFrame:
        """Government-held area per day: mean and quantiles (km²). Row ``day`` is the state at
        the *end* of that day, on ``date`` (``day = -1``: the start)."""
        cdf = np.cumsum(self.area_hist, axis=1) / self.n
        centres = (np.arange(self.area_hist.shape[1]) + 0.5) * AREA_BIN_KM2
        rows = []
        for i in range(self.n_days + 1):
            row: dict[str, object] = {
                "day": i - 1,
                "date": self.date(i - 1).isoformat(),
                "mean_km2": float((self.area_hist[i] * centres).sum() / self.n),
            }
            for q in QUANTILES:
                row[f"q{round(q * 100):02d}_km2"] = float(centres[int((cdf[i] >= q).argmax())])
            rows.append(row)
        return pd.DataFrame(rows)

    def held_probability(self) -> pd.DataFrame:
        """Probability that the government holds each town at the end of each date (wide,
        indexed by ISO ``date``; the first row is the start, the last the end of the run)."""
        dates = self.state_days()["date"].tolist()
        return pd.DataFrame(self.held_count / self.n, index=pd.Index(dates, name="date"),
                            columns=self.towns)


def state_days(start: dt.date, n_days: int) -> pd.DataFrame:
    """``day, date`` of a run's daily state rows: days ``-1 .. n_days - 1`` (the state at the end
    of each date; day ``-1`` is the start) with ``date = start + day`` (ISO)."""
    days = np.arange(-1, n_days)
    return pd.DataFrame({"day": days,
                         "date": [(start + dt.timedelta(days=int(d))).isoformat() for d in days]})
