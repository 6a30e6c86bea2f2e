"""Parameter values of the replicas of one batch-core chunk.

Without a posterior every value is the campaign's scalar, read as before (the fixed-parameter
path costs nothing extra). With one, the values the posterior varies are per-replica arrays
(:func:`sim.model.posterior.replica_values`), gathered at the entries ``(r, t)`` the core works
on, or as ``(n, 1)`` columns against ``(n, x)`` state; the rate functions broadcast them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.model.campaign import FrontCampaign
from sim.model.posterior import Posterior, replica_values

Rows = NDArray[np.intp]


class Knobs:
    """The parameters of replicas ``start .. start + n - 1`` of a chunk."""

    def __init__(self, c: FrontCampaign, posterior: Posterior | None, seed: int, start: int,
                 n: int) -> None:
        self.c, self.p = c, c.params
        if posterior is None:
            self.free: dict[str, NDArray[np.float64]] = {}
            self.cal: dict[str, NDArray[np.float64]] = {}
        else:
            v = replica_values(c, posterior, posterior.rows(seed, start, n))
            self.free, self.cal = v.free, v.calendar

    def of(self, name: str, r: Rows | None = None) -> Any:
        """Free field ``name``: the scalar, or per-replica values at rows ``r`` (``None``: an
        ``(n, 1)`` column)."""
        v = self.free.get(name)
        if v is None:
            return getattr(self.p, name)
        return v[:, None] if r is None else v[r]

    def day(self, name: str, d: int, r: Rows | None = None) -> Any:
        """Calendar array ``name`` on day ``d``, as :meth:`of`."""
        a = self.cal.get(name)
        if a is None:
            return getattr(self.c, name)[d]
        return a[:, d][:, None] if r is None else a[r, d]

    def in_fp(self, d: int, r: Rows, t: Rows) -> NDArray[np.bool_]:
        """Does town ``t`` of replica ``r`` lie in the Turkish footprint on day ``d``?"""
        fp = self.free.get("footprint_km")
        if fp is None:
            return self.c.in_fp[d][t]
        return self.c.post_dist_km[d][t] <= fp[r]
