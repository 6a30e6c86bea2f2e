"""Properties of the town graph, the Voronoi cells and name resolution of the built theatre."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from shapely.geometry import Point

from sim.errors import UnknownTownError
from sim.theatre import Theatre
from sim.theatre.geometry import delaunay_edges, geodesic_km
from sim.theatre.graph import MAX_EDGE_KM


def test_graph_is_connected_with_enough_nodes(theatre: Theatre) -> None:
    g = theatre.graph
    assert g.number_of_nodes() >= 120
    assert g.number_of_nodes() == theatre.n_towns
    assert sorted(g.nodes) == list(range(theatre.n_towns))
    assert nx.is_connected(g)


def test_node_names_match_the_town_table(theatre: Theatre) -> None:
    assert [theatre.graph.nodes[i]["name"] for i in range(theatre.n_towns)] == theatre.names


def test_edges_have_positive_length_and_a_known_road_class(theatre: Theatre) -> None:
    for i, j, data in theatre.graph.edges(data=True):
        assert i != j
        assert data["distance_km"] > 0, (i, j)
        assert data["road"] in ("M4", "M5", "local"), (i, j, data["road"])


def test_edge_lengths_are_geodesic_distances(theatre: Theatre) -> None:
    lat = theatre.towns["lat"].to_numpy(float)
    lon = theatre.towns["lon"].to_numpy(float)
    edges = np.array(list(theatre.graph.edges()))
    d = geodesic_km(lat[edges[:, 0]], lon[edges[:, 0]], lat[edges[:, 1]], lon[edges[:, 1]])
    got = np.array([theatre.graph.edges[i, j]["distance_km"] for i, j in edges])
    np.testing.assert_allclose(got, d, rtol=1e-9)


def _delaunay_mst(theatre: Theatre) -> set[frozenset[int]]:
    """Minimum spanning tree of the Delaunay graph weighted by geodesic length (recomputed)."""
    lat = theatre.towns["lat"].to_numpy(float)
    lon = theatre.towns["lon"].to_numpy(float)
    tri = delaunay_edges(theatre.xy_km)
    w = geodesic_km(lat[tri[:, 0]], lon[tri[:, 0]], lat[tri[:, 1]], lon[tri[:, 1]])
    full = nx.Graph()
    full.add_weighted_edges_from(
        (int(i), int(j), float(x)) for (i, j), x in zip(tri, w, strict=True)
    )
    assert nx.is_connected(full)
    return {frozenset(e) for e in nx.minimum_spanning_tree(full).edges()}


def test_long_local_edges_are_delaunay_mst_edges(theatre: Theatre) -> None:
    mst = _delaunay_mst(theatre)
    long_local = [
        (i, j, d["distance_km"])
        for i, j, d in theatre.graph.edges(data=True)
        if d["road"] == "local" and d["distance_km"] > MAX_EDGE_KM
    ]
    not_mst = [(theatre.names[i], theatre.names[j], round(d, 2)) for i, j, d in long_local
               if frozenset((i, j)) not in mst]
    assert not_mst == []


def test_local_edges_are_delaunay_edges(theatre: Theatre) -> None:
    tri = {frozenset(map(int, e)) for e in delaunay_edges(theatre.xy_km)}
    extra = [(i, j) for i, j, d in theatre.graph.edges(data=True)
             if d["road"] == "local" and frozenset((i, j)) not in tri]
    assert extra == []


def test_every_short_delaunay_edge_is_in_the_graph(theatre: Theatre) -> None:
    lat = theatre.towns["lat"].to_numpy(float)
    lon = theatre.towns["lon"].to_numpy(float)
    tri = delaunay_edges(theatre.xy_km)
    w = geodesic_km(lat[tri[:, 0]], lon[tri[:, 0]], lat[tri[:, 1]], lon[tri[:, 1]])
    missing = [(int(i), int(j)) for (i, j), x in zip(tri, w, strict=True)
               if x <= MAX_EDGE_KM and not theatre.graph.has_edge(int(i), int(j))]
    assert missing == []


@pytest.mark.parametrize("road", ["M4", "M5"])
def test_consecutive_road_towns_are_adjacent(theatre: Theatre, road: str) -> None:
    rows = sorted((r for r in theatre.tables.roads if r.road == road), key=lambda r: r.order)
    towns = [theatre.resolve(r.town) for r in rows]
    assert len(towns) >= 2
    assert theatre.roads[road] == towns
    for a, b in itertools.pairwise(towns):
        assert theatre.graph.has_edge(a, b), (theatre.names[a], theatre.names[b])
        assert theatre.graph.edges[a, b]["road"] in ("M4", "M5")


def test_cell_areas_are_positive_and_sum_to_the_boundary_area(theatre: Theatre) -> None:
    areas = np.array([c.area for c in theatre.cells])
    assert len(areas) == theatre.n_towns
    assert (areas > 0).all()
    np.testing.assert_allclose(theatre.area_km2, areas)
    assert areas.sum() == pytest.approx(theatre.boundary.area, rel=1e-6)
    assert theatre.theatre_area_km2 == pytest.approx(theatre.boundary.area)


def test_each_town_lies_in_its_own_cell(theatre: Theatre) -> None:
    for i, (cell, p) in enumerate(zip(theatre.cells, theatre.xy_km, strict=True)):
        pt = Point(p)
        assert cell.contains(pt) or cell.touches(pt), theatre.names[i]


def test_cells_do_not_overlap(theatre: Theatre) -> None:
    cells = theatre.cells
    for i in range(len(cells)):
        for j in range(i + 1, len(cells)):
            if cells[i].intersects(cells[j]):
                assert cells[i].intersection(cells[j]).area < 1e-6, (i, j)


def test_neighbour_table_lists_exactly_the_graph_neighbours(theatre: Theatre) -> None:
    table = theatre.neighbours
    g = theatre.graph
    assert table.shape[0] == theatre.n_towns
    assert table.shape[1] == max(d for _, d in g.degree())
    for i, row in enumerate(table):
        real = row[row >= 0]
        assert sorted(real.tolist()) == sorted(g.neighbors(i)), i
        # padding is -1 and only at the end of the row
        assert (row[len(real):] == -1).all(), i


def test_distance_matrix_is_a_metric(theatre: Theatre) -> None:
    d = theatre.distance_km
    n = theatre.n_towns
    assert d.shape == (n, n)
    assert np.isfinite(d).all()
    assert (np.diag(d) == 0).all()
    np.testing.assert_allclose(d, d.T, rtol=1e-12, atol=1e-9)
    off = d[~np.eye(n, dtype=bool)]
    assert (off > 0).all()
    rng = np.random.default_rng(20200306)
    i, j, k = rng.integers(0, n, size=(3, 5000))
    assert (d[i, k] <= d[i, j] + d[j, k] + 1e-9).all()
    # a shortest path is never longer than the direct edge
    for a, b, data in theatre.graph.edges(data=True):
        assert d[a, b] <= data["distance_km"] + 1e-9


def test_distance_matrix_is_at_least_the_straight_line(theatre: Theatre) -> None:
    lat = theatre.towns["lat"].to_numpy(float)
    lon = theatre.towns["lon"].to_numpy(float)
    rng = np.random.default_rng(7)
    i, j = rng.integers(0, theatre.n_towns, size=(2, 2000))
    crow = geodesic_km(lat[i], lon[i], lat[j], lon[j])
    assert (theatre.distance_km[i, j] >= crow - 1e-6).all()


def test_resolve_is_case_insensitive_for_names(theatre: Theatre) -> None:
    for i, name in enumerate(theatre.names):
        assert theatre.resolve(name) == i
        assert theatre.resolve(name.upper()) == i
        assert theatre.resolve(name.lower()) == i
        assert theatre.resolve(f"  {name.swapcase()} ") == i


def test_resolve_is_case_insensitive_for_aliases(theatre: Theatre) -> None:
    n_aliases = 0
    for i, t in enumerate(theatre.tables.towns):
        for alias in t.alias_list:
            n_aliases += 1
            assert theatre.resolve(alias) == i, alias
            assert theatre.resolve(alias.upper()) == i, alias
            assert theatre.resolve(alias.lower()) == i, alias
    assert n_aliases > 0


def test_resolve_is_case_insensitive_for_cluster_members(theatre: Theatre) -> None:
    node = {name: i for i, name in enumerate(theatre.names)}
    assert theatre.tables.clusters
    for c in theatre.tables.clusters:
        assert theatre.resolve(c.member) == node[c.node], c.member
        assert theatre.resolve(c.member.upper()) == node[c.node], c.member
        assert theatre.resolve(c.member.lower()) == node[c.node], c.member


def test_resolve_suggests_a_close_spelling(theatre: Theatre) -> None:
    with pytest.raises(UnknownTownError) as info:
        theatre.resolve("Saraquib")
    assert "did you mean 'Saraqib'" in str(info.value)
    assert theatre.try_resolve("Saraquib") is None


def test_resolve_rejects_a_name_with_no_close_match(theatre: Theatre) -> None:
    with pytest.raises(UnknownTownError) as info:
        theatre.resolve("Atlantis")
    assert "Atlantis" in str(info.value)
    assert "did you mean" not in str(info.value)
