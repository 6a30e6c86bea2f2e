"""The unit of seeding and of output of the batch core: blocks of replicas and their chunks.

Replicas come in fixed blocks of :data:`BLOCK`; block ``b`` is ``SeedSequence(seed).spawn`` child
``b`` (:mod:`sim.engines.streams`). A chunk is a run of whole blocks (the last one may be short);
:class:`BatchChunk` holds what a chunk's replicas produced, in the layout the results code reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: Replicas per random-number block (the unit of seeding; chunks are whole blocks).
BLOCK = 512


@dataclass
class BatchChunk:
    """Outputs for replicas ``start .. start + n - 1``."""

    start: int
    first_capture_day: NDArray[np.int16]
    """``(n, n_towns)`` day of first government capture, ``-1`` if never."""
    last_capture_day: NDArray[np.int16]
    """``(n, n_towns)`` day of the government's last capture (its retaking after a recapture, if
    any); ``-1`` if never."""
    n_recaptures: NDArray[np.int16]
    final_control: NDArray[np.int8]
    gov_area_km2: NDArray[np.float32]
    """``(n, n_days + 1)``: government-held area at the start (column 0) and end of each day
    (the front model counts the partial progress into a town as held area)."""
    held_count: NDArray[np.int32]
    """``(n_days + 1, n_towns)``: number of replicas in which the government holds the town."""
    watch_day: NDArray[np.int16]
    """``(n, n_watch)``: first day at whose end the government holds every town of watched set
    ``j`` (``-1`` if never)."""
    group_area_km2: NDArray[np.float32]
    """``(n, n_groups, n_days + 1)``: government-held area within each town group (e.g. the
    towns of Idlib governorate)."""
    first_recapture_day: NDArray[np.int16]
    """``(n, n_towns)`` day of the opposition's first recapture, ``-1`` if never."""
