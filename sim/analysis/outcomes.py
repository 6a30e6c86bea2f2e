"""Per-replica outcomes of a run, as the scores read them.

Day convention (the engines'): day ``k`` = the event happened during day ``k`` of the run; day 0 =
the run's first day (19 Dec 2019 for the historical campaign); ``-1`` = never. A run of
``horizon`` days ends at 00:00 of its end date (6 Mar 2020: the ceasefire's first hour).

The engines write three day arrays per replica and town: the government's first capture, the
opposition's first recapture, and the government's last capture. The government's *retaking*
is its last capture when that came on or after the first recapture (and after the first capture,
or the town was government-held at the start); otherwise there is none.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

GOVERNMENT = 1


def retake_days(first: NDArray[np.integer], recapture: NDArray[np.integer],
                last: NDArray[np.integer], gov0: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Day of the government's retaking after the first recapture, ``-1`` if none.

    Parameters
    ----------
    first, recapture, last : array of int, shape (n, m)
        First capture, first recapture and last capture days (``-1`` = never).
    gov0 : array of bool, shape (m,)
        Towns the government held at the start (a retaking needs no earlier capture).
    """
    f, r, la = (np.asarray(a, dtype=np.int64) for a in (first, recapture, last))
    ok = (r >= 0) & (la >= r) & ((la > f) | np.asarray(gov0, bool)[None, :])
    return np.where(ok, la, -1)


@dataclass(frozen=True)
class Outcomes:
    """What the scores need from a run (rows = replicas, columns = towns)."""

    first_capture: NDArray[np.int16]
    first_recapture: NDArray[np.int16]
    last_capture: NDArray[np.int16]
    p_held_end: NDArray[np.float64]
    """``(m,)`` probability that the government holds each town at the end of the run (exact,
    from the engines' final control, whatever the number of changes of hands)."""
    initial_control: NDArray[np.int8]
    area_km2: NDArray[np.float64]
    horizon: int

    def __post_init__(self) -> None:
        shapes = {a.shape for a in (self.first_capture, self.first_recapture, self.last_capture)}
        m = len(self.area_km2)
        if len(shapes) != 1 or next(iter(shapes))[1:] != (m,):
            raise ValueError(f"day arrays must share one shape (n, {m}), got {sorted(shapes)}")
        if self.p_held_end.shape != (m,) or self.initial_control.shape != (m,):
            raise ValueError("p_held_end and initial_control must have one entry per town")

    @property
    def n(self) -> int:
        return int(self.first_capture.shape[0])

    @cached_property
    def gov0(self) -> NDArray[np.bool_]:
        return np.asarray(self.initial_control == GOVERNMENT)

    @cached_property
    def retake(self) -> NDArray[np.int64]:
        """``(n, m)`` retaking day (:func:`retake_days`)."""
        return retake_days(self.first_capture, self.first_recapture, self.last_capture,
                           self.gov0)

    def answer(self, kind: str) -> NDArray[np.int64]:
        """The day array that answers a dated target kind: ``first_capture``,
        ``first_recapture`` or ``retake``."""
        arrays = {"first_capture": self.first_capture, "first_recapture": self.first_recapture,
                  "retake": self.retake}
        return np.asarray(arrays[kind], dtype=np.int64)

    def held_at(self, day: int) -> NDArray[np.bool_]:
        """``(n, m)`` government control at the end of ``day``, rebuilt from the day arrays:
        exact for towns that change hands at most three times (capture, recapture, retaking);
        a second recapture is not seen (use :attr:`p_held_end` for the end state)."""
        f, r, t = self.first_capture, self.first_recapture, self.retake
        held = self.gov0[None, :] | ((f >= 0) & (f <= day))
        lost = (r >= 0) & (r <= day) & ~((t >= 0) & (t <= day))
        return np.asarray(held & ~lost)

    def gained_area(self, day: int) -> NDArray[np.float64]:
        """``(n,)`` km² held by the government at the end of ``day`` beyond its start."""
        start = float(self.area_km2[self.gov0].sum())
        return np.asarray(self.held_at(day) @ self.area_km2 - start, dtype=np.float64)

    def share(self, day: int, mask: NDArray[np.bool_]) -> NDArray[np.float64]:
        """``(n,)`` percentage of the cells in ``mask`` the government holds at the end of
        ``day``."""
        a = np.where(mask, self.area_km2, 0.0)
        return np.asarray(100.0 * (self.held_at(day) @ a) / a.sum(), dtype=np.float64)
