"""CRPS of first-capture days (censored, "captured by") and of real-valued ensembles.

Conventions: :mod:`sim.analysis.ecdf`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sim.analysis.ecdf import as_days, as_y, censored_cdf, check_horizon, crps_from_cdf, shape_out


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
    h = check_horizon(horizon)
    d, single = as_days(days, h)
    yy = as_y(y, d.shape[1], single, h)
    return shape_out(crps_from_cdf(censored_cdf(d, h), yy), single)


def crps_captured_by(days: ArrayLike, y: int, horizon: int) -> float:
    """Score of the censored observation "captured on or before day ``y``" for one target.

    ``sum_{x = y}^{horizon - 1} (1 - F(x))^2`` in days: the CRPS integral restricted to the
    thresholds where the observation is known (the record allows any earlier day, so falling
    earlier costs nothing). ``days`` is ``(n,)`` with -1 = never; ``y >= horizon`` scores 0.
    """
    h = check_horizon(horizon)
    d = np.asarray(days, dtype=np.int64).reshape(-1, 1)
    if y >= h:
        return 0.0
    F = censored_cdf(d, h)[0]
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

