"""The article's dated displacement figures and the fit of the layer's two parameters to them.

``seeds/displacement.csv`` holds each figure with the sentence it comes from, whether it is
fitted (the six figures of issue 14) or only shown beside the model (three more the article
gives in February), and its relative error: an **assumption** (20 % for the UN's and others'
counts, 30 % for SOHR's one-week figure), since the article states none.

The fit: the mean displaced by the end of day ``t`` is ``scale * (s A(t) + (1 - s) C(t))``, where
``A`` and ``C`` are the mean listed residents the front has reached and taken
(:meth:`~sim.displacement.layer.Layer.components`). ``(log scale, s)`` minimise the sum of squared
log errors over the fitted figures, each divided by its relative error (a log-normal error
model); their standard errors come from the Jacobian at the optimum.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pydantic import Field
from scipy.optimize import least_squares

from sim.errors import DataError
from sim.theatre.tables import _Row, read_table, seeds_dir


class RecordRow(_Row):
    date: dt.date
    displaced: int = Field(gt=0)
    source_org: str = Field(min_length=1)
    fitted: bool
    rel_error: float = Field(gt=0.0, le=2.0)
    quote: str = Field(min_length=1)


@dataclass(frozen=True)
class Record:
    """The dated figures: ``date``, ``displaced``, ``source_org``, ``fitted``, ``rel_error``."""

    table: pd.DataFrame

    def days(self, start: dt.date) -> NDArray[np.int64]:
        """Day index of each figure (counted to the end of that day)."""
        return np.array([(d - start).days for d in self.table["date"]], dtype=np.int64)


def load_record(path: str | Path | None = None) -> Record:
    """Read ``seeds/displacement.csv`` (a :class:`DataError` naming file, line, field, value)."""
    p = Path(path) if path is not None else seeds_dir() / "displacement.csv"
    rows = read_table(p, RecordRow)
    if not any(r.fitted for r in rows):
        raise DataError(p, None, "fitted", None, "no row is marked fitted")
    df = pd.DataFrame([r.model_dump(exclude={"quote"}) for r in rows])
    return Record(df.sort_values("date", kind="stable").reset_index(drop=True))


@dataclass(frozen=True)
class Fit:
    scale: float
    scale_se: float
    """Standard error of ``scale`` (delta method from ``log scale``)."""
    approach_share: float
    approach_share_se: float
    chi2: float
    """Sum of squared standardised log errors over the fitted figures."""
    approach_share_95: tuple[float, float]
    """95 % profile interval of ``approach_share`` (chi2 within 3.84 of its minimum, ``scale``
    refitted at each value): unlike the standard error it stays valid at a bound."""
    n_fitted: int
    table: pd.DataFrame
    """Per figure: ``date, recorded, modelled, ratio, fitted``."""


def fit_displacement(a: NDArray[np.float64], c: NDArray[np.float64], record: Record,
                     start: dt.date) -> Fit:
    """Fit ``scale`` and ``approach_share`` to the fitted figures of ``record``.

    ``a``, ``c``: mean listed residents reached and taken by the end of each day (day 0 =
    ``start``). A figure dated after the last day is compared with the last day."""
    day = np.minimum(record.days(start), len(a) - 1)
    if (day < 0).any():
        raise ValueError(f"a displacement figure is dated before the start {start}")
    t = record.table
    fit = t["fitted"].to_numpy(bool)
    y = np.log(t["displaced"].to_numpy(float))
    sd = t["rel_error"].to_numpy(float)
    aa, cc = a[day], c[day]

    def model(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.exp(x[0]) * (x[1] * aa + (1 - x[1]) * cc)

    def resid(x: NDArray[np.float64]) -> NDArray[np.float64]:
        m = np.maximum(model(x), 1e-9)  # a zero mean is an infinitely bad fit, not a crash
        return ((y - np.log(m)) / sd)[fit]

    x0 = np.array([float(np.median(y[fit] - np.log(np.maximum(cc[fit], 1.0)))), 0.5])
    res = least_squares(resid, x0, bounds=([-10.0, 0.0], [10.0, 1.0]))
    chi2 = float((res.fun**2).sum())
    grid = np.linspace(0.0, 1.0, 101)
    prof = np.array([float((least_squares(lambda z, s=s: resid(np.array([z[0], s])),
                                          res.x[:1]).fun ** 2).sum()) for s in grid])
    inside = grid[prof <= chi2 + 3.84]
    jac = res.jac
    cov = np.linalg.pinv(jac.T @ jac)
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    scale = float(np.exp(res.x[0]))
    m = model(res.x)
    table = pd.DataFrame({"date": t["date"], "source": t["source_org"],
                          "recorded": t["displaced"], "modelled": m,
                          "ratio": m / t["displaced"].to_numpy(float), "fitted": fit,
                          "rel_error_assumed": sd})
    return Fit(scale, scale * float(se[0]), float(res.x[1]), float(se[1]), chi2,
               (float(inside.min()), float(inside.max())), int(fit.sum()), table)
