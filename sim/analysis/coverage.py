"""Quantiles, error of the median, central-interval coverage and the randomised PIT of
first-capture days.

Conventions: :mod:`sim.analysis.ecdf`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sim.analysis.ecdf import (
    as_days,
    as_y,
    censored_cdf,
    check_horizon,
    check_probabilities,
    pit_from_cdf,
    quantiles_from_cdf,
    shape_out,
)


def quantiles_censored(days: ArrayLike, qs: ArrayLike, horizon: int) -> NDArray[np.float64]:
    """Quantiles of the first-capture day by the inverse ECDF, censoring at the horizon.

    The ``q`` quantile is the smallest day ``x`` with ``F(x) >= q``. Replicas never captured count
    as later than every day, so where ``F(horizon - 1) < q`` (capture within the window less
    likely than ``q``) the quantile is ``inf``.

    Parameters
    ----------
    days : array_like of int, shape (n,) or (n, m)
        First-capture days; -1 = never.
    qs : float or array_like of float in (0, 1]
        Probabilities.
    horizon : int
        Number of days in the scored window.

    Returns
    -------
    ndarray of float64, shape ``np.shape(qs) + (m,)`` (or ``np.shape(qs)`` for one target)
        Quantile days (whole numbers) or ``inf``.
    """
    h = check_horizon(horizon)
    d, single = as_days(days, h)
    q = check_probabilities(qs)
    out = quantiles_from_cdf(censored_cdf(d, h), q.ravel()).reshape((*q.shape, d.shape[1]))
    return shape_out(out, single)


def abs_error_of_median(days: ArrayLike, y: ArrayLike, horizon: int) -> NDArray[np.float64]:
    """Absolute error, in days, of the ensemble median of the first-capture day.

    The median is :func:`quantiles_censored` at 0.5. Where it is "never" (``inf``) it is replaced
    by ``horizon``, and a recorded "not captured" ``y`` by ``horizon`` as well. The error is then a
    lower bound of the true one, since both quantities are only known to be ``>= horizon``.

    Parameters
    ----------
    days : array_like of int, shape (n,) or (n, m)
        First-capture days; -1 = never.
    y : int or array_like of int, shape (m,)
        Recorded days; -1 = not captured within the window.
    horizon : int
        Number of days in the scored window.

    Returns
    -------
    ndarray of float64, shape () or (m,)
    """
    h = check_horizon(horizon)
    d, single = as_days(days, h)
    yy = as_y(y, d.shape[1], single, h)
    med = quantiles_from_cdf(censored_cdf(d, h), np.array([0.5]))[0]
    return shape_out(np.abs(np.minimum(med, h) - yy), single)


def interval_coverage(days: ArrayLike, y: ArrayLike, level: float,
                      horizon: int) -> NDArray[np.bool_]:
    """Whether the recorded day lies in the ensemble's central interval.

    The interval is ``[q_{(1 - level)/2}, q_{(1 + level)/2}]`` from :func:`quantiles_censored`.
    An upper end of ``inf`` covers every later day, including a recorded "not captured"; a lower
    end of ``inf`` covers only "not captured". For integer days the interval's coverage under the
    forecast itself is at least ``level`` (the end points carry point masses), so well-calibrated
    discrete forecasts over-cover by up to the mass at the two end points.

    Parameters
    ----------
    days : array_like of int, shape (n,) or (n, m)
        First-capture days; -1 = never.
    y : int or array_like of int, shape (m,)
        Recorded days; -1 = not captured within the window.
    level : float in (0, 1)
        Nominal coverage of the central interval.
    horizon : int
        Number of days in the scored window.

    Returns
    -------
    ndarray of bool, shape () or (m,)
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    h = check_horizon(horizon)
    d, single = as_days(days, h)
    yy = as_y(y, d.shape[1], single, h)
    lo, hi = quantiles_from_cdf(censored_cdf(d, h),
                                np.array([(1.0 - level) / 2, (1.0 + level) / 2]))
    obs = np.where(yy >= h, np.inf, yy.astype(np.float64))
    return shape_out((lo <= obs) & (obs <= hi), single)


def pit(days: ArrayLike, y: ArrayLike, horizon: int,
        rng: np.random.Generator) -> NDArray[np.float64]:
    """Randomised probability integral transform of the recorded day under the ensemble.

    ``PIT = F(y - 1) + U (F(y) - F(y - 1))`` with ``F(-1) = 0`` and ``U ~ Uniform(0, 1)``, one per
    target, drawn as a single ``rng.random`` call of the targets' shape. For a recorded "not
    captured" the forecast's censored variable is at ``horizon``: ``F(y - 1) = F(horizon - 1)``
    and ``F(y) = 1``. If the recorded day is a draw from the forecast distribution, the
    randomised PIT is exactly Uniform(0, 1) despite the discreteness (Czado, Gneiting & Held
    2009, Biometrics 65:1254); an ensemble of ``n`` replicas is within O(1/n) of that.

    Parameters
    ----------
    days : array_like of int, shape (n,) or (n, m)
        First-capture days; -1 = never.
    y : int or array_like of int, shape (m,)
        Recorded days; -1 = not captured within the window.
    horizon : int
        Number of days in the scored window.
    rng : numpy.random.Generator
        Source of the randomisation.

    Returns
    -------
    ndarray of float64, shape () or (m,), values in [0, 1]
    """
    h = check_horizon(horizon)
    d, single = as_days(days, h)
    yy = as_y(y, d.shape[1], single, h)
    u = rng.random((d.shape[1],))
    return shape_out(pit_from_cdf(censored_cdf(d, h), yy, u), single)

