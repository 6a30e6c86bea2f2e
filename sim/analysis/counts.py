"""Scores of simulated counts of localities changing hands in a window (bursts).

A count ``N`` is integer-valued, so its CRPS against a recorded count ``y`` is the sum over
integer thresholds ``x`` of ``(F(x) - 1{x >= y})^2`` with ``F(x) = P(N <= x)``: the ranked
probability score with unit-wide categories, in localities. For "at least ``c``" (the article's
"over 15", "more than 30") only the thresholds below ``c`` are known, and the score is
``sum_{x = 0}^{c - 1} F(x)^2``: mass below ``c`` is penalised, any count from ``c`` up is not.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sim.analysis.crps import crps_ensemble


def window_counts(days: ArrayLike, weights: ArrayLike, first: int, last: int) -> NDArray[np.int64]:
    """``(n,)`` weighted number of columns of ``days`` ``(n, m)`` dated in ``[first, last]``.

    ``weights`` ``(m,)``: what one column counts for (e.g. the localities a node represents).
    """
    d = np.asarray(days)
    w = np.asarray(weights, dtype=np.int64)
    if d.ndim != 2 or w.shape != (d.shape[1],):
        raise ValueError(f"days must be (n, m) and weights (m,), got {d.shape} and {w.shape}")
    return np.asarray(((d >= first) & (d <= last)) @ w, dtype=np.int64)


def crps_count(samples: ArrayLike, y: int) -> float:
    """CRPS (= unit-category RPS), in counts, of integer samples against the recorded count."""
    return crps_ensemble(np.asarray(samples, dtype=np.float64), float(y))


def crps_count_at_least(samples: ArrayLike, c: int) -> float:
    """Score of the observation "at least ``c``": ``sum_{x < c} P(N <= x)^2``, in counts."""
    s = np.asarray(samples, dtype=np.int64).ravel()
    if s.size == 0:
        raise ValueError("no samples")
    if c <= 0:
        return 0.0
    x = np.arange(c)
    F = (s[None, :] <= x[:, None]).mean(axis=1)
    return float((F ** 2).sum())
