"""Hypothesis properties of the geometry helpers in :mod:`sim.theatre.geometry`."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from scipy.spatial.distance import cdist, pdist
from shapely.geometry import MultiPoint, Point, Polygon, box

from sim.theatre.geometry import (
    Projection,
    delaunay_edges,
    geodesic_km,
    theatre_boundary,
    voronoi_cells,
)
from sim.theatre.tables import LAT_RANGE, LON_RANGE

PROPERTY = settings(derandomize=True, max_examples=50, deadline=None)

lats = st.floats(min_value=LAT_RANGE[0], max_value=LAT_RANGE[1], allow_nan=False)
lons = st.floats(min_value=LON_RANGE[0], max_value=LON_RANGE[1], allow_nan=False)
box_points = st.tuples(lats, lons)

SQUARE_KM = 100.0
MIN_SEP_KM = 0.5


@st.composite
def point_sets(draw: st.DrawFn) -> np.ndarray:
    """3..40 distinct points in a 100 km square, at least 0.5 km apart.

    Each point is in its own 1 km grid square, at 0.25..0.75 km from the square's corner in x and
    y, so two points are always >= 0.5 km apart (no filtering needed). Shrinking moves the points
    onto a lattice, which exercises collinear and cocircular (degenerate) configurations.
    """
    n = draw(st.integers(min_value=3, max_value=40))
    cell = st.integers(min_value=0, max_value=int(SQUARE_KM) - 1)
    squares = draw(st.lists(st.tuples(cell, cell), min_size=n, max_size=n, unique=True))
    off = st.floats(min_value=0.25, max_value=0.75)
    jitter = draw(st.lists(st.tuples(off, off), min_size=n, max_size=n))
    xy = np.array(squares, dtype=float) + np.array(jitter, dtype=float)
    assert pdist(xy).min() >= MIN_SEP_KM - 1e-12
    return xy


# ------------------------------------------------------------------------------- projection


@PROPERTY
@given(st.lists(box_points, min_size=1, max_size=20))
def test_projection_round_trip(points: list[tuple[float, float]]) -> None:
    proj = Projection()
    lat = np.array([p[0] for p in points])
    lon = np.array([p[1] for p in points])
    xy = proj.to_km(lat, lon)
    assert xy.shape == (len(points), 2)
    assert np.isfinite(xy).all()
    lat2, lon2 = proj.to_degrees(xy)
    np.testing.assert_allclose(lat2, lat, rtol=0, atol=1e-6)
    np.testing.assert_allclose(lon2, lon, rtol=0, atol=1e-6)


def test_projection_is_centred_and_oriented() -> None:
    proj = Projection()
    np.testing.assert_allclose(proj.to_km(proj.lat0, proj.lon0), [[0.0, 0.0]], atol=1e-9)
    east = proj.to_km(proj.lat0, proj.lon0 + 0.1)[0]
    north = proj.to_km(proj.lat0 + 0.1, proj.lon0)[0]
    assert east[0] > 0 and abs(east[1]) < 0.1
    assert north[1] > 0 and abs(north[0]) < 1e-9


def test_projection_is_equal_area() -> None:
    """A 0.1 x 0.1 degree cell near the centre: planar area == ellipsoidal area."""
    proj = Projection()
    lat = np.array([35.8, 35.8, 35.9, 35.9])
    lon = np.array([36.7, 36.8, 36.8, 36.7])
    xy = proj.to_km(lat, lon)
    planar = MultiPoint([tuple(p) for p in xy]).convex_hull.area
    geod_area, _ = Geod(ellps="WGS84").polygon_area_perimeter(lon, lat)
    assert abs(planar / (abs(geod_area) / 1e6) - 1) < 1e-4


# ---------------------------------------------------------------------------------- geodesic


@PROPERTY
@given(box_points, box_points)
def test_geodesic_is_symmetric(a: tuple[float, float], b: tuple[float, float]) -> None:
    d_ab = geodesic_km(a[0], a[1], b[0], b[1])
    d_ba = geodesic_km(b[0], b[1], a[0], a[1])
    assert d_ab.shape == (1,)
    assert d_ab[0] >= 0
    np.testing.assert_allclose(d_ab, d_ba, rtol=1e-12, atol=1e-12)


@PROPERTY
@given(box_points)
def test_geodesic_is_zero_on_identical_points(a: tuple[float, float]) -> None:
    assert geodesic_km(a[0], a[1], a[0], a[1])[0] == 0.0


# Measured over 200,000 random pairs in the box (and unit steps at its corners) before this test
# was written: the largest relative difference between the planar distance in the projection
# and the geodesic distance is ~5e-5. The reason: Lambert azimuthal equal-area has scale factors
# cos(c/2) (radial) and 1/cos(c/2) (tangential) at angular distance c from its centre; the box
# reaches ~100 km (c ~ 0.016 rad) from the centre, so the distortion is ~ c^2/8 ~ 3e-5, plus a
# comparably small ellipsoid (authalic sphere) term. 0.5 % leaves a margin of ~100x while still
# catching a wrong projection (e.g. plain equirectangular degrees would be off by ~20 %).
PLANAR_REL_TOL = 0.005


@PROPERTY
@given(box_points, box_points)
def test_geodesic_matches_planar_distance(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    g = float(geodesic_km(a[0], a[1], b[0], b[1])[0])
    assume(g > 0.01)
    xy = Projection().to_km([a[0], b[0]], [a[1], b[1]])
    planar = float(np.hypot(*(xy[0] - xy[1])))
    assert abs(planar - g) / g < PLANAR_REL_TOL


def test_geodesic_known_length() -> None:
    # One degree of latitude at ~36 N is 110.9 km on WGS84 (meridian arc).
    d = geodesic_km(35.5, 36.7, 36.5, 36.7)[0]
    assert 110.8 < d < 111.0


def test_geodesic_is_vectorised() -> None:
    lat1 = np.array([35.5, 35.6, 35.7])
    lon1 = np.array([36.5, 36.6, 36.7])
    d = geodesic_km(lat1, lon1, lat1[::-1], lon1[::-1])
    assert d.shape == (3,)
    assert d[1] == 0.0
    assert d[0] == d[2] > 0


# ---------------------------------------------------------------------------------- delaunay


@PROPERTY
@given(point_sets())
def test_delaunay_edges_are_sorted_unique_and_cover_every_point(xy: np.ndarray) -> None:
    assume(MultiPoint([tuple(p) for p in xy]).convex_hull.area > 1.0)  # not collinear
    n = len(xy)
    e = delaunay_edges(xy)
    assert e.ndim == 2 and e.shape[1] == 2
    assert np.issubdtype(e.dtype, np.integer)
    assert (e[:, 0] < e[:, 1]).all()
    assert (e >= 0).all() and (e < n).all()
    pairs = [tuple(p) for p in e.tolist()]
    assert pairs == sorted(set(pairs)), "not sorted or not unique"
    assert set(e.ravel().tolist()) == set(range(n)), "a point is on no edge"
    # Every nearest-neighbour pair is a Gabriel edge, hence in every Delaunay triangulation.
    d = cdist(xy, xy)
    np.fill_diagonal(d, np.inf)
    edges = set(pairs)
    for i in range(n):
        j = int(np.argmin(d[i]))
        assert (min(i, j), max(i, j)) in edges
    # A planar triangulation of n points has at most 3n - 6 edges (and at least n - 1).
    assert n - 1 <= len(pairs) <= 3 * n - 6


def test_delaunay_edges_small_inputs() -> None:
    assert delaunay_edges(np.empty((0, 2))).shape == (0, 2)
    assert delaunay_edges(np.array([[0.0, 0.0]])).shape == (0, 2)
    assert delaunay_edges(np.array([[0.0, 0.0], [1.0, 1.0]])).tolist() == [[0, 1]]
    tri = delaunay_edges(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    assert tri.tolist() == [[0, 1], [0, 2], [1, 2]]


# ----------------------------------------------------------------------------------- voronoi


def _check_cells(xy: np.ndarray, boundary_name: str, boundary: Polygon) -> None:
    cells = voronoi_cells(xy, boundary)
    assert len(cells) == len(xy)
    areas = np.array([c.area for c in cells])
    assert abs(areas.sum() / boundary.area - 1) < 1e-9, boundary_name
    for i, (cell, p) in enumerate(zip(cells, xy, strict=True)):
        assert cell.contains(Point(p)), (boundary_name, i)
        # The cell really is point i's: an inner point of it is nearest to site i.
        q = np.array(cell.representative_point().coords[0])
        dist = np.hypot(*(xy - q).T)
        assert dist[i] <= dist.min() + 1e-9, (boundary_name, i)
    for i in range(len(cells)):
        for j in range(i + 1, len(cells)):
            assert cells[i].intersection(cells[j]).area < 1e-9, (boundary_name, i, j)


@PROPERTY
@given(point_sets())
def test_voronoi_cells_tile_the_boundary(xy: np.ndarray) -> None:
    _check_cells(xy, "buffered hull", theatre_boundary(xy))
    # A square boundary containing every point strictly inside it.
    _check_cells(xy, "square", box(-1.0, -1.0, SQUARE_KM + 1.0, SQUARE_KM + 1.0))


def test_voronoi_single_point_is_the_boundary() -> None:
    square = box(0.0, 0.0, 10.0, 10.0)
    cells = voronoi_cells(np.array([[5.0, 5.0]]), square)
    assert len(cells) == 1 and cells[0].equals(square)


def test_voronoi_cells_of_a_known_configuration() -> None:
    # Four points on a 10 km grid in a 20 km square: four equal 100 km2 quadrants, in order.
    xy = np.array([[15.0, 15.0], [5.0, 5.0], [15.0, 5.0], [5.0, 15.0]])
    cells = voronoi_cells(xy, box(0.0, 0.0, 20.0, 20.0))
    np.testing.assert_allclose([c.area for c in cells], [100.0] * 4)
    for cell, p in zip(cells, xy, strict=True):
        np.testing.assert_allclose(cell.centroid.coords[0], p)


def test_theatre_boundary_contains_every_point_with_the_buffer() -> None:
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    b = theatre_boundary(xy, buffer_km=4.0)
    for p in xy:
        assert b.contains(Point(p))
        # the round part of the buffer is a polygon with 16 segments per quarter circle
        assert b.exterior.distance(Point(p)) >= 4.0 * np.cos(np.pi / 64) - 1e-9
