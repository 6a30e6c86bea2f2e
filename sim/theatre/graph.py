"""The town graph: nodes are towns, edges are the routes the model lets control move along.

Edge rule (documented in the README): the Delaunay triangulation of the projected towns, keeping
edges no longer than ``max_edge_km`` (geodesic), plus the Delaunay minimum spanning tree (so the
graph stays connected across sparse country), plus consecutive towns of the M4 and M5.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from sim.theatre.geometry import delaunay_edges, geodesic_km

#: Longest ordinary edge (km). Assumption: two towns farther apart than this have other towns
#: between them on any route; the typical village spacing in Idlib is 3-6 km.
MAX_EDGE_KM = 12.0

ROAD_CLASSES = ("M4", "M5", "local")


def build_graph(
    names: Sequence[str],
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    xy_km: NDArray[np.float64],
    roads: dict[str, list[str]],
    max_edge_km: float = MAX_EDGE_KM,
) -> nx.Graph:
    """Build the town graph.

    Parameters
    ----------
    names : town names, node ``i`` is ``names[i]``
    lat, lon : degrees
    xy_km : projected coordinates (used for the triangulation)
    roads : road name -> ordered list of town names along it
    max_edge_km : pruning length for Delaunay edges

    Returns
    -------
    networkx.Graph with integer nodes ``0..n-1`` (attribute ``name``) and edge attributes
    ``distance_km`` (geodesic) and ``road`` (``"M4"``, ``"M5"`` or ``"local"``).
    """
    index = {n: i for i, n in enumerate(names)}
    g = nx.Graph()
    for i, n in enumerate(names):
        g.add_node(i, name=n)
    tri = delaunay_edges(xy_km)
    if len(tri):
        d = geodesic_km(lat[tri[:, 0]], lon[tri[:, 0]], lat[tri[:, 1]], lon[tri[:, 1]])
        full = nx.Graph()
        full.add_weighted_edges_from(
            (int(i), int(j), float(w)) for (i, j), w in zip(tri, d, strict=True)
        )
        mst = {tuple(sorted(e)) for e in nx.minimum_spanning_edges(full, data=False)}
        for (i, j), w in zip(tri, d, strict=True):
            if w <= max_edge_km or (int(i), int(j)) in mst:
                g.add_edge(int(i), int(j), distance_km=float(w), road="local")
    for road, towns in roads.items():
        for a, b in itertools.pairwise(towns):
            i, j = index[a], index[b]
            w = float(geodesic_km(lat[i], lon[i], lat[j], lon[j])[0])
            g.add_edge(i, j, distance_km=w, road=road)
    return g


def neighbour_table(g: nx.Graph) -> NDArray[np.int32]:
    """Padded adjacency: row ``i`` lists the neighbours of node ``i``, padded with ``-1``."""
    n = g.number_of_nodes()
    width = max((d for _, d in g.degree()), default=0)
    table = np.full((n, max(width, 1)), -1, dtype=np.int32)
    for i in range(n):
        nb = sorted(g.neighbors(i))
        table[i, : len(nb)] = nb
    return table


def hop_distances(g: nx.Graph, weight: str = "distance_km") -> NDArray[np.float64]:
    """All-pairs shortest-path length (km along edges); ``inf`` where unreachable."""
    n = g.number_of_nodes()
    out = np.full((n, n), np.inf)
    for src, lengths in nx.all_pairs_dijkstra_path_length(g, weight=weight):
        for dst, length in lengths.items():
            out[src, dst] = length
    return out
