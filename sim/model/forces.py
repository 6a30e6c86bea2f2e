"""Forces and orders as data: government formations, opposition sectors, dated orders.

Tables (schemas in seeds/README.md): ``formations.csv``, ``orders.csv``, ``sectors.csv`` and
``reinforcements.csv``. Strengths are in thousands of fighters; every figure is cited or marked
as an assumption in its ``basis`` column. :func:`load_forces` resolves every town name against the
theatre and turns the tables into arrays indexed by formation, sector and day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from sim.errors import UnknownTownError, did_you_mean
from sim.theatre.tables import Table, _Row, read_table, seeds_dir
from sim.theatre.theatre import GOVERNMENT, OPPOSITION, Theatre, day_index


class FormationRow(_Row):
    formation: str = Field(min_length=1)
    strength_k: float = Field(gt=0, le=50)
    start_town: str = Field(min_length=1)
    strength_basis: str = Field(min_length=1)
    source: str = Field(min_length=1)


class OrderRow(_Row):
    formation: str = Field(min_length=1)
    start: dt.date
    objectives: str = Field(min_length=1)
    phase: str = Field(min_length=1)
    source: str = Field(min_length=1)


class SectorRow(_Row):
    sector: str = Field(min_length=1)
    anchors: str = Field(min_length=1)
    groups: str = Field(min_length=1)
    strength_k: float = Field(gt=0, le=100)
    strength_basis: str = Field(min_length=1)
    source: str = Field(min_length=1)


class ReinforcementRow(_Row):
    date: dt.date
    side: Literal["government", "opposition"]
    target: str = Field(min_length=1)
    strength_k: float = Field(gt=0, le=50)
    source: str = Field(min_length=1)


@dataclass(frozen=True)
class Order:
    """From ``start_day`` on, the formation works through ``objectives`` (node indices) in turn."""

    start_day: int
    objectives: tuple[int, ...]
    phase: str


@dataclass(frozen=True)
class Forces:
    """Forces indexed by formation ``k`` and sector ``s``."""

    formations: tuple[str, ...]
    nominal_k: NDArray[np.float64]
    start_node: NDArray[np.int32]
    orders: tuple[tuple[Order, ...], ...]
    sectors: tuple[str, ...]
    sector_nominal_k: NDArray[np.float64]
    town_sector: NDArray[np.int32]
    sector_towns0: NDArray[np.int32]
    reinforcements: tuple[tuple[int, str, int, float], ...]
    """``(day, side, index, strength_k)``: formation index for government, sector for opposition."""

    @property
    def n_formations(self) -> int:
        return len(self.formations)

    def order_on(self, k: int, day: int) -> Order | None:
        """The order formation ``k`` follows on ``day`` (``None`` before its first order)."""
        current = None
        for o in self.orders[k]:
            if o.start_day <= day:
                current = o
        return current

    def objectives_by_day(self, n_days: int) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
        """``(order_id[k, d], objective table[order_id, j])`` for vectorised lookup.

        ``order_id = -1`` before a formation's first order; objective rows are padded with -1.
        """
        flat = [o for orders in self.orders for o in orders]
        width = max((len(o.objectives) for o in flat), default=1)
        table = np.full((max(len(flat), 1), width), -1, dtype=np.int32)
        ids = np.full((self.n_formations, n_days), -1, dtype=np.int32)
        j = 0
        for k, orders in enumerate(self.orders):
            for o in orders:
                table[j, : len(o.objectives)] = o.objectives
                ids[k, max(o.start_day, 0):] = j
                j += 1
        return ids, table


def _node(theatre: Theatre, table: Table[Any], k: int, fieldname: str, name: str) -> int:
    try:
        return theatre.resolve(name)
    except UnknownTownError as exc:
        raise table.error(k, fieldname, name, str(exc)) from None


def load_forces(theatre: Theatre, root: str | Path | None = None) -> Forces:
    """Load the force tables from ``seeds/`` (or ``root``) and check them against ``theatre``."""
    base = Path(root) if root is not None else seeds_dir()
    fpath, opath = base / "formations.csv", base / "orders.csv"
    spath, rpath = base / "sectors.csv", base / "reinforcements.csv"
    frows = read_table(fpath, FormationRow)
    orows = read_table(opath, OrderRow)
    srows = read_table(spath, SectorRow)
    rrows = read_table(rpath, ReinforcementRow)
    names = tuple(r.formation for r in frows)
    start = []
    for i, r in enumerate(frows):
        node = _node(theatre, frows, i, "start_town", r.start_town)
        if theatre.initial_control[node] != GOVERNMENT:
            raise frows.error(i, "start_town", r.start_town, "not government-held on 18 Dec")
        start.append(node)
    orders: list[list[Order]] = [[] for _ in names]
    for i, orow in enumerate(orows):
        if orow.formation not in names:
            raise orows.error(i, "formation", orow.formation,
                              "unknown formation" + did_you_mean(orow.formation, names))
        objs = tuple(_node(theatre, orows, i, "objectives", o.strip())
                     for o in orow.objectives.split("|") if o.strip())
        orders[names.index(orow.formation)].append(
            Order(day_index(orow.start), objs, orow.phase))
    for k in range(len(names)):
        orders[k].sort(key=lambda o: o.start_day)

    anchors: list[list[int]] = []
    for i, s in enumerate(srows):
        anchors.append([_node(theatre, srows, i, "anchors", a.strip())
                        for a in s.anchors.split("|") if a.strip()])
    dist = theatre.distance_km
    # Each town belongs to the sector of its nearest anchor along the graph (documented rule).
    best = np.stack([dist[:, a].min(axis=1) for a in anchors], axis=1)
    town_sector = best.argmin(axis=1).astype(np.int32)
    opp0 = theatre.initial_control == OPPOSITION
    counts = np.bincount(town_sector[opp0], minlength=len(srows)).astype(np.int32)
    sector_names = tuple(s.sector for s in srows)

    reinf = []
    for i, rein in enumerate(rrows):
        pool = names if rein.side == "government" else sector_names
        if rein.target not in pool:
            raise rrows.error(i, "target", rein.target,
                              f"unknown {rein.side} force" + did_you_mean(rein.target, pool))
        reinf.append((day_index(rein.date), rein.side, pool.index(rein.target), rein.strength_k))
    return Forces(
        formations=names,
        nominal_k=np.array([r.strength_k for r in frows]),
        start_node=np.array(start, dtype=np.int32),
        orders=tuple(tuple(o) for o in orders),
        sectors=sector_names,
        sector_nominal_k=np.array([s.strength_k for s in srows]),
        town_sector=town_sector,
        sector_towns0=np.maximum(counts, 1),
        reinforcements=tuple(reinf),
    )
