"""Censored empirical distribution of first-capture days: the kernel every score shares.

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
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray


def check_horizon(horizon: int) -> int:
    """``horizon`` as an int, checked ``>= 1``."""
    h = operator.index(horizon)
    if h < 1:
        raise ValueError(f"horizon must be >= 1, got {h}")
    return h


def as_days(days: ArrayLike, horizon: int) -> tuple[NDArray[np.int64], bool]:
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


def as_y(y: ArrayLike, m: int, single: bool, horizon: int) -> NDArray[np.int64]:
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


def censored_cdf(d: NDArray[np.int64], horizon: int) -> NDArray[np.float64]:
    """``(m, horizon)`` ECDF ``F(x)``, x = 0 .. horizon - 1, of each column of ``d`` ``(n, m)``."""
    n, m = d.shape
    # Bin ``horizon`` collects everything outside the window (-1 and days >= horizon).
    b = np.where((d < 0) | (d >= horizon), horizon, d)
    flat = (b + (horizon + 1) * np.arange(m)).ravel()
    counts = np.bincount(flat, minlength=m * (horizon + 1)).reshape(m, horizon + 1)
    return np.cumsum(counts[:, :horizon], axis=1) / n


def shape_out(a: NDArray[Any], single: bool) -> NDArray[Any]:
    """Drop the trailing target axis of a one-target result."""
    return a[..., 0] if single else a


# -- kernels on an ECDF ---------------------------------------------------------------------------
def crps_from_cdf(F: NDArray[np.float64], y: NDArray[np.int64]) -> NDArray[np.float64]:
    """``(m,)`` censored CRPS of each ECDF row against its recorded day (see ``crps_censored``)."""
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


def check_probabilities(qs: ArrayLike) -> NDArray[np.float64]:
    """Quantile probabilities as floats, checked to lie in (0, 1]."""
    q = np.asarray(qs, dtype=np.float64)
    if not ((q > 0.0) & (q <= 1.0)).all():
        raise ValueError(f"quantile probabilities must lie in (0, 1], got {q}")
    return q


def pit_from_cdf(F: NDArray[np.float64], y: NDArray[np.int64],
                  u: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(m,)`` randomised PIT of each recorded day with uniforms ``u`` (see ``pit``)."""
    m = F.shape[0]
    # Columns: F(-1) = 0, F(0) .. F(horizon - 1), and 1 at "later than the window".
    ext = np.hstack([np.zeros((m, 1)), F, np.ones((m, 1))])
    rows = np.arange(m)
    below, upto = ext[rows, y], ext[rows, y + 1]
    return np.asarray(below + u * (upto - below), dtype=np.float64)

