"""Constant-memory statistics of a paired comparison, fed block by block (:mod:`sim.compare`).

Nothing here grows with the number of replicas: sums for means, counts of paired outcomes for
proportions, sparse integer histograms for quantiles (:mod:`sim.analysis.inthist`). The
per-replica paired values themselves go to ``paired.parquet`` as they arrive
(:class:`PairedWriter`), for users to re-analyse.

Resolution: territory differences are quantiled on the per-replica differences rounded to
:data:`AREA_RES_KM2` (0.1 km²); the quantiles are then exact (those of numpy on the rounded
values). Days are integers: their quantiles are exact.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from sim.analysis.intervals import Z95, newcombe_paired, wilson
from sim.analysis.inthist import IntHistogram

AREA_RES_KM2 = 0.1


@dataclass
class MeanCI:
    """Streaming sums of per-replica values (columns), for the mean and its normal 95 % CI."""

    n: int = 0
    s1: NDArray[np.float64] | None = None
    s2: NDArray[np.float64] | None = None

    def add(self, x: NDArray[np.floating] | NDArray[np.integer]) -> None:
        d = np.asarray(x, np.float64)
        s1, s2 = d.sum(axis=0), (d * d).sum(axis=0)
        self.s1 = s1 if self.s1 is None else self.s1 + s1
        self.s2 = s2 if self.s2 is None else self.s2 + s2
        self.n += len(d)

    def mean_ci(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        if self.s1 is None or self.s2 is None or self.n == 0:
            raise ValueError("no values")
        mean = self.s1 / self.n
        var = np.maximum(self.s2 / self.n - mean**2, 0.0) * self.n / max(self.n - 1, 1)
        half = Z95 * np.sqrt(var / self.n)
        return mean, mean - half, mean + half


@dataclass
class PairedBinary:
    """Counts of a yes/no outcome in paired replicas, per column: both, A only, B only."""

    n: int = 0
    both: NDArray[np.int64] | None = None
    a_only: NDArray[np.int64] | None = None
    b_only: NDArray[np.int64] | None = None

    def add(self, a: NDArray[np.bool_], b: NDArray[np.bool_]) -> None:
        parts = ((a & b).sum(axis=0), (a & ~b).sum(axis=0), (~a & b).sum(axis=0))
        if self.both is None or self.a_only is None or self.b_only is None:
            self.both, self.a_only, self.b_only = (p.astype(np.int64) for p in parts)
        else:
            self.both += parts[0]
            self.a_only += parts[1]
            self.b_only += parts[2]
        self.n += len(a)

    def table(self) -> dict[str, NDArray[np.float64]]:
        """``p_A, p_B`` with Wilson 95 % intervals, ``diff = p_B - p_A`` with Newcombe's
        paired (method 10) 95 % interval."""
        assert self.both is not None and self.a_only is not None and self.b_only is not None
        xa, xb = self.both + self.a_only, self.both + self.b_only
        neither = self.n - self.both - self.a_only - self.b_only
        a_lo, a_hi = wilson(xa, self.n)
        b_lo, b_hi = wilson(xb, self.n)
        d, lo, hi = newcombe_paired(self.both, self.b_only, self.a_only, neither)
        return {"p_A": xa / self.n, "p_A_low": a_lo, "p_A_high": a_hi, "p_B": xb / self.n,
                "p_B_low": b_lo, "p_B_high": b_hi, "diff": d, "ci_low": lo, "ci_high": hi}


@dataclass
class KeyDates:
    """Key dates reached (day, ``-1`` = never) in A and B: reach, median dates, day shifts."""

    names: list[str]
    reached: PairedBinary = field(default_factory=PairedBinary)
    hist_a: IntHistogram = field(init=False)
    hist_b: IntHistogram = field(init=False)
    shift: list[MeanCI] = field(init=False)

    def __post_init__(self) -> None:
        k = len(self.names)
        self.hist_a, self.hist_b = IntHistogram(k), IntHistogram(k)
        self.shift = [MeanCI() for _ in range(k)]

    def add(self, da: NDArray[np.int16], db: NDArray[np.int16]) -> None:
        self.reached.add(da >= 0, db >= 0)
        self.hist_a.add(da)
        self.hist_b.add(db)
        for j, s in enumerate(self.shift):
            both = (da[:, j] >= 0) & (db[:, j] >= 0)
            s.add((db[both, j] - da[both, j])[:, None])

    def summary(self, start: dt.date) -> dict[str, dict[str, Any]]:
        """Per key date: reach probabilities (Wilson), their paired difference (Newcombe),
        median dates among replicas that reach it, and the paired shift in days where both
        reach it (replicas that never reach it are censored, not averaged)."""
        t = self.reached.table()
        out = {}
        for j, name in enumerate(self.names):
            k: dict[str, Any] = {
                "p_reached_A": float(t["p_A"][j]),
                "p_reached_A_ci95": [float(t["p_A_low"][j]), float(t["p_A_high"][j])],
                "p_reached_B": float(t["p_B"][j]),
                "p_reached_B_ci95": [float(t["p_B_low"][j]), float(t["p_B_high"][j])],
                "median_date_A": _median_date(self.hist_a, j, start),
                "median_date_B": _median_date(self.hist_b, j, start),
                "n_both": self.shift[j].n,
            }
            if self.shift[j].n >= 2:
                m, lo, hi = self.shift[j].mean_ci()
                k["mean_days_B_minus_A"] = float(m[0])
                k["ci95_days"] = [float(lo[0]), float(hi[0])]
            k["diff_p_reached"] = float(t["diff"][j])
            k["diff_p_reached_ci95"] = [float(t["ci_low"][j]), float(t["ci_high"][j])]
            k["interval_method"] = ("Wilson (each p); Newcombe 1998 paired method 10 "
                                    "(difference)")
            out[name] = k
        return out


def _median_date(h: IntHistogram, j: int, start: dt.date) -> str | None:
    """The median day among replicas that reached it (``np.median`` of those days)."""
    vals, cnt = h.column(j)
    keep = vals >= 0
    vals, cnt = vals[keep], cnt[keep]
    m = int(cnt.sum())
    if m == 0:
        return None
    last = np.cumsum(cnt) - 1
    lo = vals[np.searchsorted(last, (m - 1) // 2)]
    hi = vals[np.searchsorted(last, m // 2)]
    return (start + dt.timedelta(days=int((lo + hi) / 2))).isoformat()


class PairedWriter:
    """``paired.parquet``: one row per replica, written block by block.

    Columns: ``replica``; ``area_end_A_km2``, ``area_end_B_km2``, ``area_end_diff_km2``
    (government-held area at 00:00 after the last day, B - A); per key date ``K`` (snake case)
    ``K_day_A``, ``K_day_B`` (day index from the start, ``-1`` = not reached); per town
    ``held_end_A:TOWN``, ``held_end_B:TOWN`` (government holds it at the end)."""

    def __init__(self, path: Path, keys: list[str], towns: list[str]) -> None:
        self.path, self.keys, self.towns = path, keys, towns
        self.writer: pq.ParquetWriter | None = None

    def add(self, start: int, xa: Any, xb: Any) -> None:
        m = len(xa.gov_area_km2)
        cols: dict[str, Any] = {"replica": np.arange(start, start + m, dtype=np.int64),
                                "area_end_A_km2": xa.gov_area_km2[:, -1],
                                "area_end_B_km2": xb.gov_area_km2[:, -1],
                                "area_end_diff_km2": xb.gov_area_km2[:, -1]
                                - xa.gov_area_km2[:, -1]}
        for j, k in enumerate(self.keys):
            s = k.lower().replace(" ", "_")
            cols[f"{s}_day_A"] = xa.watch_day[:, j]
            cols[f"{s}_day_B"] = xb.watch_day[:, j]
        ha, hb = xa.final_control == 1, xb.final_control == 1
        for i, t in enumerate(self.towns):
            cols[f"held_end_A:{t}"] = ha[:, i]
        for i, t in enumerate(self.towns):
            cols[f"held_end_B:{t}"] = hb[:, i]
        table = pa.table(cols)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
