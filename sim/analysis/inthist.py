"""Exact quantiles of integer-valued columns in constant memory: a sparse histogram per column.

Values arrive block by block (rows = replicas, columns = e.g. dates); the histogram keeps only
the distinct values of each column and their counts, so its size is bounded by the range of the
values, never by the number of rows. Quantiles are computed from the counts exactly as
:func:`numpy.quantile` (its default, linear interpolation between order statistics) would on all
the rows at once.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_SHIFT = np.int64(1) << np.int64(32)


class IntHistogram:
    """Counts of the integer values of each of ``n_cols`` columns (values within +-2**31)."""

    def __init__(self, n_cols: int) -> None:
        self.n_cols = n_cols
        self.keys = np.zeros(0, np.int64)  # column * 2**32 + (value + 2**31), sorted
        self.counts = np.zeros(0, np.int64)
        self.n = 0

    def add(self, values: NDArray[np.integer]) -> None:
        """Add rows: ``values`` of shape ``(m, n_cols)``."""
        v = np.asarray(values, np.int64)
        if v.ndim != 2 or v.shape[1] != self.n_cols:
            raise ValueError(f"expected (m, {self.n_cols}) values, got {v.shape}")
        if np.abs(v).max(initial=0) >= 2**31:
            raise ValueError("values must lie within +-2**31")
        cols = np.broadcast_to(np.arange(self.n_cols, dtype=np.int64), v.shape)
        k, c = np.unique((cols * _SHIFT + v + 2**31).ravel(), return_counts=True)
        allk = np.concatenate([self.keys, k])
        allc = np.concatenate([self.counts, c])
        self.keys, inv = np.unique(allk, return_inverse=True)
        # float weights: counts are exact in float64 up to 2**53 rows
        self.counts = np.bincount(inv, allc, minlength=len(self.keys)).astype(np.int64)
        self.n += v.shape[0]

    def column(self, j: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Distinct values of column ``j`` (ascending) and their counts."""
        lo, hi = np.searchsorted(self.keys, [j * _SHIFT, (j + 1) * _SHIFT])
        return self.keys[lo:hi] - j * _SHIFT - 2**31, self.counts[lo:hi]

    def quantiles(self, qs: list[float]) -> NDArray[np.float64]:
        """``(len(qs), n_cols)``: what ``np.quantile(all_rows, qs, axis=0)`` would give."""
        if self.n == 0:
            raise ValueError("no values")
        out = np.empty((len(qs), self.n_cols))
        for j in range(self.n_cols):
            vals, cnt = self.column(j)
            last = np.cumsum(cnt) - 1  # order statistic index of each value's last copy

            def order_stat(k: NDArray[np.int64], vals: NDArray[np.int64] = vals,
                           last: NDArray[np.int64] = last) -> NDArray[np.int64]:
                return vals[np.searchsorted(last, k)]

            h = (self.n - 1) * np.asarray(qs, np.float64)
            k = np.floor(h).astype(np.int64)
            lo = order_stat(k).astype(np.float64)
            hi = order_stat(np.minimum(k + 1, self.n - 1)).astype(np.float64)
            # numpy's own interpolation formula (``_lerp``), so the results match bit for bit
            t = h - k
            out[:, j] = np.where(t >= 0.5, hi - (hi - lo) * (1 - t), lo + (hi - lo) * t)
        return out
