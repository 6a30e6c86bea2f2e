"""The theatre: towns, graph, areas, initial control, posture, posts, roads, calendar, history.

:func:`load_theatre` is the one boundary where the seed tables are cross-checked (every name in
every table resolves to a node) and turned into arrays indexed by node. Inside the model, time is
a day index from :data:`CAMPAIGN_START`; dates appear only here and in outputs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from shapely.geometry import Polygon

from sim.errors import DataError, UnknownTownError, did_you_mean
from sim.theatre.geometry import Projection, cell_areas_km2, theatre_boundary, voronoi_cells
from sim.theatre.graph import MAX_EDGE_KM, build_graph, hop_distances, neighbour_table
from sim.theatre.tables import SeedTables, Table, load_seed_tables

#: Day 0 of the model: the offensive began on 19 Dec 2019 (seed article).
CAMPAIGN_START = dt.date(2019, 12, 19)
#: The Moscow ceasefire took effect at 00:00 on 6 Mar 2020 (seed article); the historical run ends
#: at the end of 5 Mar, i.e. at day index 78.
CAMPAIGN_END = dt.date(2020, 3, 6)

GOVERNMENT = 1
OPPOSITION = 0

#: Defensive posture of a town on 18 Dec 2019 (seeds/posture.csv), weakest first: the value stored
#: in :attr:`Theatre.posture` is the index into this tuple.
POSTURES = ("hasty", "prepared", "fortified")
HASTY, PREPARED, FORTIFIED = range(len(POSTURES))


def day_index(date: dt.date) -> int:
    """Day index of ``date`` (0 = 19 Dec 2019). A dated order takes effect at the start of it."""
    return (date - CAMPAIGN_START).days


def date_of(day: int | float) -> dt.date:
    """Calendar date containing day index ``day`` (fractions are within-day times)."""
    return CAMPAIGN_START + dt.timedelta(days=int(np.floor(day)))


def _norm(name: str) -> str:
    return " ".join(name.replace("’", "'").replace("`", "'").lower().split())


@dataclass(frozen=True)
class Theatre:
    """Everything geographic and historical the model needs, indexed by node ``0..n-1``."""

    tables: SeedTables
    towns: pd.DataFrame
    xy_km: NDArray[np.float64]
    graph: nx.Graph
    boundary: Polygon
    cells: list[Polygon]
    area_km2: NDArray[np.float64]
    initial_control: NDArray[np.int8]
    posture: NDArray[np.int8]
    """Posture on 18 Dec 2019 per node: an index into :data:`POSTURES` (see seeds/README.md)."""
    post_town: NDArray[np.int32]
    post_established_day: NDArray[np.int32]
    roads: dict[str, list[int]]
    projection: Projection = field(default_factory=Projection)

    @property
    def n_towns(self) -> int:
        return len(self.towns)

    @property
    def names(self) -> list[str]:
        return list(self.towns["town"])

    @cached_property
    def _lookup(self) -> dict[str, int]:
        table: dict[str, int] = {}
        for i, (town, aliases) in enumerate(zip(self.towns["town"], self.towns["alias_list"],
                                                strict=True)):
            for alias in [town, *aliases]:
                table.setdefault(_norm(alias), i)
        for c in self.tables.clusters:
            table.setdefault(_norm(c.member), table[_norm(c.node)])
        return table

    def resolve(self, name: str) -> int:
        """Node index of a town name, alias or cluster member (case-insensitive).

        Raises
        ------
        UnknownTownError
            with "did you mean ..." for close spellings.
        """
        try:
            return self._lookup[_norm(name)]
        except KeyError:
            raise UnknownTownError(name, self.names) from None

    def try_resolve(self, name: str) -> int | None:
        return self._lookup.get(_norm(name))

    @cached_property
    def neighbours(self) -> NDArray[np.int32]:
        """Padded neighbour table (``-1`` = no neighbour)."""
        return neighbour_table(self.graph)

    @cached_property
    def distance_km(self) -> NDArray[np.float64]:
        """Shortest-path distance along the graph between every pair of nodes (km)."""
        return hop_distances(self.graph)

    @property
    def theatre_area_km2(self) -> float:
        return float(self.boundary.area)

    def area_held(self, control: NDArray[np.integer], side: int = GOVERNMENT) -> float:
        """Area (km²) of the cells whose town is held by ``side``."""
        return float(self.area_km2[np.asarray(control) == side].sum())

    @cached_property
    def unplaced_event_places(self) -> list[str]:
        """Places with a territorial event that resolve to no node (see unplaced.csv)."""
        return sorted({u.place for u in self.tables.unplaced})


TERRITORIAL_EVENTS = {
    "captured",
    "recaptured_by_opposition",
    "entered",
    "encircled",
    "besieged",
    "withdrew",
    "attacked_repelled",
    "observation_post",
}


def load_theatre(root: str | Path | None = None, max_edge_km: float = MAX_EDGE_KM) -> Theatre:
    """Load ``seeds/`` (or ``root``), cross-check it and build the theatre."""
    t = load_seed_tables(root)
    towns = pd.DataFrame([r.model_dump() for r in t.towns])
    towns["alias_list"] = [r.alias_list for r in t.towns]
    seen: dict[str, tuple[int, str]] = {}
    for i, r in enumerate(t.towns):
        if _norm(r.town) in seen and seen[_norm(r.town)][1] == r.town:
            raise t.towns.error(i, "town", r.town, "duplicate town")
        for a in [r.town, *r.alias_list]:
            prev = seen.setdefault(_norm(a), (i, r.town))
            if prev[0] != i:
                raise t.towns.error(i, "aliases" if a != r.town else "town", a,
                                    f"also names town {prev[1]!r}")
    proj = Projection()
    lat, lon = towns["lat"].to_numpy(float), towns["lon"].to_numpy(float)
    xy = proj.to_km(lat, lon)
    names = list(towns["town"])
    index = {_norm(n): i for i, n in enumerate(names)}

    def node_of(table: Table[Any], k: int, fieldname: str, name: str) -> int:
        if _norm(name) not in index:
            raise table.error(k, fieldname, name, str(UnknownTownError(name, names)))
        return index[_norm(name)]

    for k, c in enumerate(t.clusters):
        node_of(t.clusters, k, "node", c.node)
    roads: dict[str, list[int]] = {}
    for k in sorted(range(len(t.roads)), key=lambda j: (t.roads[j].road, t.roads[j].order)):
        roads.setdefault(t.roads[k].road, []).append(node_of(t.roads, k, "town", t.roads[k].town))
    def per_node(table: Table[Any], value: Any, what: str) -> NDArray[np.int8]:
        """One value per node from a table with exactly one row per town."""
        out = np.full(len(names), -1, dtype=np.int8)
        for k, row in enumerate(table):
            i = node_of(table, k, "town", row.town)
            if out[i] != -1:
                raise table.error(k, "town", row.town, "listed twice")
            out[i] = value(row)
        if (out < 0).any():
            missing = names[int(np.flatnonzero(out < 0)[0])]
            raise DataError(table.path, None, "town", missing, f"no {what}")
        return out

    control = per_node(t.initial_control, lambda r: 1 if r.control == "government" else 0,
                       "initial control")
    posture = per_node(t.posture, lambda r: POSTURES.index(r.posture), "posture")
    post_town = np.array(
        [node_of(t.posts, k, "town", p.town) for k, p in enumerate(t.posts)], dtype=np.int32
    )
    post_day = np.array(
        [day_index(p.established) if p.established else -10_000 for p in t.posts], dtype=np.int32
    )
    graph = build_graph(
        names, lat, lon, xy, {k: [names[i] for i in v] for k, v in roads.items()}, max_edge_km
    )
    boundary = theatre_boundary(xy)
    cells = voronoi_cells(xy, boundary)
    theatre = Theatre(
        tables=t,
        towns=towns,
        xy_km=xy,
        graph=graph,
        boundary=boundary,
        cells=cells,
        area_km2=cell_areas_km2(cells),
        initial_control=control,
        posture=posture,
        post_town=post_town,
        post_established_day=post_day,
        roads=roads,
        projection=proj,
    )
    unplaced = {_norm(u.place) for u in t.unplaced}
    for k, e in enumerate(t.events):
        if e.event in TERRITORIAL_EVENTS and theatre.try_resolve(e.place) is None:
            if _norm(e.place) not in unplaced:
                raise t.events.error(
                    k, "place", e.place,
                    "resolves to no town, cluster member or unplaced.csv entry"
                    + did_you_mean(e.place, names),
                )
    return theatre
