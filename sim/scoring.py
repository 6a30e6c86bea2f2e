"""Scores of simulated first-capture days (and other quantities) against the record.

Conventions
-----------
Simulated first-capture days come as an integer array ``days`` of shape ``(n_replicas,
m_targets)`` (or ``(n_replicas,)`` for one target): day ``k`` means captured during day ``k`` of the
run (day 0 = 19 Dec 2019), ``-1`` means never captured by the end of the run. The scored window is
days ``0 .. horizon - 1``; a simulated day ``>= horizon`` lies beyond it and counts like ``-1``.

A recorded day ``y`` is an integer in ``[0, horizon - 1]``. ``y = -1`` (or ``y >= horizon``) is
also accepted and means "not captured within the window": every score below is then the score of
the censored variable ``min(X, horizon)`` observed at ``horizon``, so a town that the offensive did
not take can be scored by the same rules as one it did take.

``F(x)`` is the ensemble's empirical distribution function of the first-capture day: the fraction
of replicas with ``0 <= day <= x``. Replicas never captured never count, so ``F(horizon - 1)`` is
the probability of capture within the window, which may be below 1; the missing mass sits at
"later than the window".

Scores are in days. Lower is better for CRPS and absolute errors; the PIT and interval coverage
are calibration diagnostics.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize_scalar

#: Search interval of the naive benchmark's advance speed, km/day.
NAIVE_SPEED_BOUNDS = (0.05, 50.0)
#: Points of the geometric grid evaluated alongside the bounded scalar search.
NAIVE_GRID_POINTS = 400

# Cap on the number of elements of a (candidate speeds x towns) block in the naive fit, so memory
# stays bounded however many towns are scored.
_BLOCK_ELEMENTS = 1 << 20


# -- input handling -------------------------------------------------------------------------------
def _check_horizon(horizon: int) -> int:
    h = operator.index(horizon)
    if h < 1:
        raise ValueError(f"horizon must be >= 1, got {h}")
    return h


def _as_days(days: ArrayLike, horizon: int) -> tuple[NDArray[np.int64], bool]:
    """``days`` as ``(n, m)`` int64 and whether the input was a single target ``(n,)``."""
    d = np.asarray(days)
    if not np.issubdtype(d.dtype, np.integer):
        raise TypeError(f"days must have an integer dtype, got {d.dtype}")
    if d.ndim not in (1, 2):
        raise ValueError(f"days must have shape (n,) or (n, m), got {d.shape}")
    if d.shape[0] == 0:
        raise ValueError("days has no replicas")
    if d.size and int(d.min()) < -1:
        raise ValueError(f"days must be -1 (never) or >= 0, got {int(d.min())}")
    single = d.ndim == 1
    return (d[:, None] if single else d).astype(np.int64, copy=False), single


def _as_y(y: ArrayLike, m: int, single: bool, horizon: int) -> NDArray[np.int64]:
    """Recorded days as ``(m,)`` int64 with "not within the window" coded as ``horizon``."""
    a = np.asarray(y)
    if single and a.ndim != 0:
        raise ValueError(f"days has one target, so y must be a scalar, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.integer):
        # Tables often carry recorded days as floats; accept them only if they are whole days.
        af = a.astype(np.float64)
        if not (np.isfinite(af).all() and (af == np.round(af)).all()):
            raise ValueError("y must hold whole days (integers)")
        a = af.astype(np.int64)
    try:
        a = np.broadcast_to(a, (m,))
    except ValueError:
        raise ValueError(f"y of shape {np.shape(y)} does not match {m} targets") from None
    if a.size and int(a.min()) < -1:
        raise ValueError(f"y must be -1 (not captured) or >= 0, got {int(a.min())}")
    return np.where((a < 0) | (a >= horizon), horizon, a).astype(np.int64)


def _cdf(d: NDArray[np.int64], horizon: int) -> NDArray[np.float64]:
    """``(m, horizon)`` ECDF ``F(x)``, x = 0 .. horizon - 1, of each column of ``d`` ``(n, m)``."""
    n, m = d.shape
    # Bin ``horizon`` collects everything outside the window (-1 and days >= horizon).
    b = np.where((d < 0) | (d >= horizon), horizon, d)
    flat = (b + (horizon + 1) * np.arange(m)).ravel()
    counts = np.bincount(flat, minlength=m * (horizon + 1)).reshape(m, horizon + 1)
    return np.cumsum(counts[:, :horizon], axis=1) / n


def _shape_out(a: NDArray[Any], single: bool) -> NDArray[Any]:
    """Drop the trailing target axis of a one-target result."""
    return a[..., 0] if single else a


# -- kernels on an ECDF ---------------------------------------------------------------------------
def _crps_from_cdf(F: NDArray[np.float64], y: NDArray[np.int64]) -> NDArray[np.float64]:
    x = np.arange(F.shape[1])
    step = (x[None, :] >= y[:, None]).astype(np.float64)
    return np.asarray(((F - step) ** 2).sum(axis=1), dtype=np.float64)


def quantiles_from_cdf(F: NDArray[np.float64], q: ArrayLike) -> NDArray[np.float64]:
    """``(k, m)`` inverse-ECDF quantiles (smallest day ``x`` with ``F(x) >= q``) for ``k``
    probabilities from an ``(m, horizon)`` censored ECDF; ``inf`` past the window."""
    q = np.atleast_1d(np.asarray(q, dtype=np.float64))
    # F is non-decreasing in x, so the smallest x with F(x) >= q is the count of x with F(x) < q.
    # F is compared as count / n, the way q = k / n is itself rounded, so q = k / n hits exactly.
    idx = (F[None, :, :] < q[:, None, None]).sum(axis=2)
    return np.where(idx >= F.shape[1], np.inf, idx.astype(np.float64))


def _check_probabilities(qs: ArrayLike) -> NDArray[np.float64]:
    q = np.asarray(qs, dtype=np.float64)
    if not ((q > 0.0) & (q <= 1.0)).all():
        raise ValueError(f"quantile probabilities must lie in (0, 1], got {q}")
    return q


# -- public API -----------------------------------------------------------------------------------
def crps_censored(days: ArrayLike, y: ArrayLike, horizon: int) -> NDArray[np.float64]:
    """CRPS, in days, of an ensemble of first-capture days against the recorded day.

    For the right-censored, integer-valued first-capture day,

    ``CRPS_T = sum_{x = 0}^{horizon - 1} (F(x) - 1{x >= y})^2``,

    the threshold-weighted CRPS with weight 1 on ``[0, horizon)``. Between integers both ``F`` and
    the step are constant, so the sum equals the integral over that range. It is a proper score
    for the censored variable ``min(X, horizon)``: replicas never captured and a recorded "not
    captured" (``y = -1``, for which the step is 0 throughout) both sit at ``horizon``.

    When every replica and ``y`` lie in ``[0, horizon)``, both terms vanish outside the window and
    the score equals the usual ensemble CRPS in energy form, ``E|X - y| - 0.5 E|X - X'|``, with the
    expectations over the empirical distribution of the replicas (the plain, not the "fair",
    estimator).

    Parameters
    ----------
    days : array_like of int, shape (n,) or (n, m)
        First-capture day of each replica (rows) and target (columns); -1 = never.
    y : int or array_like of int, shape (m,)
        Recorded day of each target; a scalar with ``days`` of shape ``(n,)``, and broadcast to
        ``(m,)`` otherwise. -1 (or ``>= horizon``) = not captured within the window.
    horizon : int
        Number of days in the scored window (the run's length).

    Returns
    -------
    ndarray of float64, shape () or (m,)
        The score in days; between 0 and ``horizon``.
    """
    h = _check_horizon(horizon)
    d, single = _as_days(days, h)
    yy = _as_y(y, d.shape[1], single, h)
    return _shape_out(_crps_from_cdf(_cdf(d, h), yy), single)


def crps_captured_by(days: ArrayLike, y: int, horizon: int) -> float:
    """Score of the censored observation "captured on or before day ``y``" for one target.

    ``sum_{x = y}^{horizon - 1} (1 - F(x))^2`` in days: the CRPS integral restricted to the
    thresholds where the observation is known (the record allows any earlier day, so falling
    earlier costs nothing). ``days`` is ``(n,)`` with -1 = never; ``y >= horizon`` scores 0.
    """
    h = _check_horizon(horizon)
    d = np.asarray(days, dtype=np.int64).reshape(-1, 1)
    if y >= h:
        return 0.0
    F = _cdf(d, h)[0]
    return float(((1.0 - F[max(int(y), 0):]) ** 2).sum())


def crps_ensemble_batch(samples: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
    """Ensemble CRPS over the leading (sample) axis, vectorised over the remaining axes.

    See :func:`crps_ensemble`; ``samples`` has shape ``(n, *S)`` and ``y`` broadcasts to ``S``.

    Parameters
    ----------
    samples : array_like of float, shape (n, *S)
        Ensemble members along axis 0.
    y : float or array_like of float
        Observations, broadcast to ``S``.

    Returns
    -------
    ndarray of float64, shape S
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError("samples must have a leading axis with at least one member")
    obs = np.broadcast_to(np.asarray(y, dtype=np.float64), x.shape[1:])
    if not (np.isfinite(x).all() and np.isfinite(obs).all()):
        raise ValueError("samples and y must be finite")
    n = x.shape[0]
    spread_to_obs = np.abs(x - obs[None, ...]).mean(axis=0)
    # 0.5 E|X - X'| = (1/n^2) sum_i (2i - n - 1) x_(i) over the sorted members (i = 1..n).
    w = (2.0 * np.arange(1, n + 1) - n - 1).reshape((n,) + (1,) * (x.ndim - 1))
    half_mean_diff = (w * np.sort(x, axis=0)).sum(axis=0) / float(n) ** 2
    return np.asarray(spread_to_obs - half_mean_diff, dtype=np.float64)


def crps_ensemble(samples: ArrayLike, y: float) -> float:
    """Ensemble CRPS of real-valued samples (e.g. areas in km²) against an observation.

    ``CRPS = E|X - y| - 0.5 E|X - X'|`` with ``X, X'`` independent draws from the empirical
    distribution of the samples: the plain estimator, i.e. the exact CRPS of the ensemble's step
    distribution. It is deliberately not the "fair" variant (``n (n - 1)`` in the second term's
    denominator), which estimates the CRPS of the distribution the ensemble is drawn from; the
    plain one is consistent with :func:`crps_censored`. Cost O(n log n) (one sort).

    Parameters
    ----------
    samples : array_like of float, shape (n,)
        Ensemble members, in the observation's units.
    y : float
        Observation.

    Returns
    -------
    float
        The score, in the units of the samples. See :func:`crps_ensemble_batch` for many
        observations at once.
    """
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"samples must be 1-D, got shape {x.shape}; see crps_ensemble_batch")
    if np.ndim(y) != 0:
        raise ValueError("y must be a scalar")
    return float(crps_ensemble_batch(x, y))


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
    h = _check_horizon(horizon)
    d, single = _as_days(days, h)
    q = _check_probabilities(qs)
    out = quantiles_from_cdf(_cdf(d, h), q.ravel()).reshape((*q.shape, d.shape[1]))
    return _shape_out(out, single)


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
    h = _check_horizon(horizon)
    d, single = _as_days(days, h)
    yy = _as_y(y, d.shape[1], single, h)
    med = quantiles_from_cdf(_cdf(d, h), np.array([0.5]))[0]
    return _shape_out(np.abs(np.minimum(med, h) - yy), single)


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
    h = _check_horizon(horizon)
    d, single = _as_days(days, h)
    yy = _as_y(y, d.shape[1], single, h)
    lo, hi = quantiles_from_cdf(_cdf(d, h), np.array([(1.0 - level) / 2, (1.0 + level) / 2]))
    obs = np.where(yy >= h, np.inf, yy.astype(np.float64))
    return _shape_out((lo <= obs) & (obs <= hi), single)


def _pit_from_cdf(F: NDArray[np.float64], y: NDArray[np.int64],
                  u: NDArray[np.float64]) -> NDArray[np.float64]:
    m = F.shape[0]
    # Columns: F(-1) = 0, F(0) .. F(horizon - 1), and 1 at "later than the window".
    ext = np.hstack([np.zeros((m, 1)), F, np.ones((m, 1))])
    rows = np.arange(m)
    below, upto = ext[rows, y], ext[rows, y + 1]
    return np.asarray(below + u * (upto - below), dtype=np.float64)


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
    h = _check_horizon(horizon)
    d, single = _as_days(days, h)
    yy = _as_y(y, d.shape[1], single, h)
    u = rng.random((d.shape[1],))
    return _shape_out(_pit_from_cdf(_cdf(d, h), yy, u), single)


# -- naive benchmark ------------------------------------------------------------------------------
def _as_dist(dist_km: ArrayLike) -> NDArray[np.float64]:
    dist = np.asarray(dist_km, dtype=np.float64)
    if not (np.isfinite(dist).all() and (dist >= 0).all()):
        raise ValueError("dist_km must be finite and >= 0")
    return dist


def naive_days(dist_km: ArrayLike, speed_km_per_day: float, horizon: int) -> NDArray[np.float64]:
    """Capture days forecast by a constant advance speed along the graph from the 18 Dec front.

    A town at graph distance ``d`` km from the nearest town the government held at the start is
    forecast to fall on day ``floor(d / speed)``; if that is ``>= horizon`` it is forecast as never
    captured within the window (``inf``).

    Parameters
    ----------
    dist_km : array_like of float
        Graph distances, km, ``>= 0``.
    speed_km_per_day : float
        Advance speed, km/day, ``> 0``.
    horizon : int
        Number of days in the scored window.

    Returns
    -------
    ndarray of float64, shape of ``dist_km``
        Forecast days (whole numbers) or ``inf``.
    """
    h = _check_horizon(horizon)
    if not (np.isfinite(speed_km_per_day) and speed_km_per_day > 0):
        raise ValueError(f"speed must be finite and > 0, got {speed_km_per_day}")
    a = np.floor(_as_dist(dist_km) / speed_km_per_day)
    return np.where(a >= h, np.inf, a)


def _naive_mae(speeds: NDArray[np.float64], dist: NDArray[np.float64], y: NDArray[np.int64],
               horizon: int) -> NDArray[np.float64]:
    """Mean absolute error (never = ``horizon``) of the naive forecast at each speed."""
    out = np.empty(len(speeds))
    step = max(1, _BLOCK_ELEMENTS // max(1, len(dist)))
    for i in range(0, len(speeds), step):
        v = speeds[i:i + step, None]
        a = np.minimum(np.floor(dist[None, :] / v), horizon)
        out[i:i + step] = np.abs(a - y[None, :]).mean(axis=1)
    return out


def fit_naive_speed(dist_km: ArrayLike, y: ArrayLike, horizon: int) -> float:
    """Advance speed (km/day) minimising the naive benchmark's mean absolute error.

    The naive forecast (:func:`naive_days`) is a point forecast, so its CRPS is its absolute error;
    a forecast or record of "never" counts as ``horizon`` (see :func:`naive_crps`).

    The objective is piecewise constant in the speed (``floor`` of ``d / speed``), with zero
    derivative almost everywhere, so a local search such as Brent's can stop on any plateau. The
    speed is therefore chosen as the best of three candidate sets:

    * every plateau: the objective only changes at ``v = d_i / k``, ``k = 1 .. horizon`` (beyond
      ``k = horizon`` the forecast is "never" anyway), so the geometric midpoints between
      consecutive breakpoints in ``[0.05, 50]``, and the two bounds, visit every plateau. This
      makes the result the exact minimum over the interval;
    * ``scipy.optimize.minimize_scalar(method="bounded")`` on ``[0.05, 50]``;
    * a geometric grid of 400 speeds on ``[0.05, 50]``.

    The last two cannot beat the first; they are kept as the specification asked for them and as
    a cross-check. Ties go to the slowest plateau midpoint.

    Parameters
    ----------
    dist_km : array_like of float, shape (m,)
        Graph distances of the targets from the initial front, km.
    y : array_like of int, shape (m,)
        Recorded capture days; -1 = not captured within the window.
    horizon : int
        Number of days in the scored window.

    Returns
    -------
    float
        Speed in km/day, within ``[0.05, 50]``.
    """
    h = _check_horizon(horizon)
    dist = _as_dist(dist_km).ravel()
    if dist.size == 0:
        raise ValueError("no targets")
    yy = _as_y(np.asarray(y).ravel(), dist.size, False, h)
    lo, hi = NAIVE_SPEED_BOUNDS
    brk = (dist[dist > 0, None] / np.arange(1, h + 1)[None, :]).ravel()
    edges = np.unique(np.concatenate([[lo, hi], brk[(brk > lo) & (brk < hi)]]))
    plateaus = np.concatenate([np.sqrt(edges[:-1] * edges[1:]), [lo, hi]])

    def objective(v: float) -> float:
        return float(_naive_mae(np.array([v]), dist, yy, h)[0])

    brent = minimize_scalar(objective, bounds=(lo, hi), method="bounded")
    grid = np.geomspace(lo, hi, NAIVE_GRID_POINTS)
    cand = np.concatenate([plateaus, grid, [float(brent.x)]])
    return float(cand[int(np.argmin(_naive_mae(cand, dist, yy, h)))])


def naive_crps(dist_km: ArrayLike, y: ArrayLike, speed: float,
               horizon: int) -> NDArray[np.float64]:
    """CRPS, in days, of the naive point forecast: its absolute error.

    A forecast of "never" and a recorded "not captured" both count as ``horizon``, so the error
    ``|min(a, horizon) - min(y, horizon)|`` equals :func:`crps_censored` of a one-member ensemble
    at the forecast day ``a``. Where only the forecast is "never" it is a lower bound of the error
    of a forecast made beyond the window.

    Parameters
    ----------
    dist_km : array_like of float, shape (m,)
        Graph distances from the initial front, km.
    y : array_like of int, shape (m,)
        Recorded capture days; -1 = not captured within the window.
    speed : float
        Advance speed, km/day.
    horizon : int
        Number of days in the scored window.

    Returns
    -------
    ndarray of float64, shape of ``dist_km``
    """
    h = _check_horizon(horizon)
    a = naive_days(dist_km, speed, h)
    yy = _as_y(np.asarray(y).ravel(), a.size, False, h).reshape(a.shape)
    return np.asarray(np.abs(np.minimum(a, h) - yy), dtype=np.float64)


# -- tables ---------------------------------------------------------------------------------------
def score_table(days: ArrayLike, y: ArrayLike, horizon: int, rng: np.random.Generator, *,
                names: Sequence[str] | None = None, phase: ArrayLike | None = None,
                weight: ArrayLike | None = None) -> pd.DataFrame:
    """Per-target scores and diagnostics of an ensemble of first-capture days.

    Parameters
    ----------
    days : array_like of int, shape (n, m) (or (n,) for one target)
        First-capture days; -1 = never.
    y : array_like of int, shape (m,)
        Recorded days; -1 = not captured within the window.
    horizon : int
        Number of days in the scored window.
    rng : numpy.random.Generator
        Randomisation of the PIT (one uniform per target).
    names : sequence of str, optional
        Target names; the column index by default.
    phase, weight : array_like, shape (m,), optional
        Carried into columns of the same name (used by :func:`summarise`).

    Returns
    -------
    pandas.DataFrame
        One row per target, columns ``town, y, crps_days, abs_err_median_days, median_day, q10,
        q90, pit, in50, in80, p_captured`` and ``phase`` / ``weight`` if given. ``median_day``,
        ``q10`` and ``q90`` are ``inf`` where the quantile is "never"; ``p_captured`` is
        ``F(horizon - 1)``.
    """
    h = _check_horizon(horizon)
    d, _ = _as_days(days, h)
    m = d.shape[1]
    yy = _as_y(np.asarray(y).ravel(), m, False, h)
    F = _cdf(d, h)
    q = quantiles_from_cdf(F, np.array([0.1, 0.25, 0.5, 0.75, 0.9]))
    obs = np.where(yy >= h, np.inf, yy.astype(np.float64))
    # The 50 % and 80 % intervals computed as in interval_coverage: (1 -+ level) / 2.
    lo50, hi50, lo80, hi80 = quantiles_from_cdf(
        F, np.array([(1 - 0.5) / 2, (1 + 0.5) / 2, (1 - 0.8) / 2, (1 + 0.8) / 2]))
    cols: dict[str, Any] = {
        "town": list(names) if names is not None else list(range(m)),
        "y": np.broadcast_to(np.asarray(y), (m,)).copy(),
        "crps_days": _crps_from_cdf(F, yy),
        "abs_err_median_days": np.abs(np.minimum(q[2], h) - yy),
        "median_day": q[2],
        "q10": q[0],
        "q90": q[4],
        "pit": _pit_from_cdf(F, yy, rng.random((m,))),
        "in50": (lo50 <= obs) & (obs <= hi50),
        "in80": (lo80 <= obs) & (obs <= hi80),
        "p_captured": F[:, -1],
    }
    if phase is not None:
        cols["phase"] = list(np.asarray(phase).ravel())
    if weight is not None:
        cols["weight"] = np.asarray(weight, dtype=np.float64).ravel()
    for key, val in cols.items():
        if len(val) != m:
            raise ValueError(f"{key} has {len(val)} entries for {m} targets")
    return pd.DataFrame(cols)


def _weighted(values: NDArray[np.float64], w: NDArray[np.float64]) -> float:
    total = w.sum()
    return float((w * values).sum() / total) if total > 0 else float("nan")


def _summary(table: pd.DataFrame, w: NDArray[np.float64],
             naive: NDArray[np.float64] | None) -> dict[str, Any]:
    crps = _weighted(table["crps_days"].to_numpy(np.float64), w)
    out: dict[str, Any] = {
        "crps_days": crps,
        "mae_days": _weighted(table["abs_err_median_days"].to_numpy(np.float64), w),
        "coverage_50": _weighted(table["in50"].to_numpy(np.float64), w),
        "coverage_80": _weighted(table["in80"].to_numpy(np.float64), w),
        "n_targets": len(table),
    }
    if naive is not None:
        ref = _weighted(naive, w)
        out["crps_naive_days"] = ref
        # Skill is undefined against a perfect (or unweighted) benchmark.
        out["skill_vs_naive"] = 1.0 - crps / ref if ref > 0 else float("nan")
    return out


def summarise(table: pd.DataFrame, naive_crps: ArrayLike | None = None) -> dict[str, Any]:
    """Weighted means of a :func:`score_table`, overall and by phase.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`score_table`. A ``weight`` column (``>= 0``) weights the means, otherwise
        all targets count equally.
    naive_crps : array_like of float, shape (len(table),), optional
        The naive benchmark's CRPS of each row (:func:`naive_crps`), in row order.

    Returns
    -------
    dict
        ``crps_days``, ``mae_days`` (mean ``abs_err_median_days``), ``coverage_50``,
        ``coverage_80`` (means of ``in50``, ``in80``), ``n_targets``; with ``naive_crps``, also
        ``crps_naive_days`` and ``skill_vs_naive = 1 - crps_days / crps_naive_days`` (``nan`` if
        the benchmark scores 0); with a ``phase`` column, ``by_phase``: ``{str(phase): {same
        keys, computed within the phase}}`` in order of first appearance. Values are plain Python
        floats and ints (JSON-serialisable; ``nan`` where a phase's weights sum to 0).
    """
    if len(table) == 0:
        raise ValueError("empty score table")
    if "weight" in table:
        w = table["weight"].to_numpy(np.float64)
        if not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
            raise ValueError("weights must be finite, >= 0 and not all 0")
    else:
        w = np.ones(len(table))
    naive = None
    if naive_crps is not None:
        naive = np.asarray(naive_crps, dtype=np.float64).ravel()
        if naive.size != len(table):
            raise ValueError(f"naive_crps has {naive.size} entries for {len(table)} targets")
    out = _summary(table, w, naive)
    if "phase" in table:
        phases = table["phase"].to_numpy()
        by: dict[str, Any] = {}
        for p in pd.unique(table["phase"]):
            sel = phases == p
            by[str(p)] = _summary(table[sel], w[sel], None if naive is None else naive[sel])
        out["by_phase"] = by
    return out
