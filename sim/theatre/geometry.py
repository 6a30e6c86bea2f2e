"""Geometry of the theatre: projection, geodesic distance, Delaunay edges and Voronoi areas.

Coordinates come in as WGS84 degrees. Planar work (triangulation, cells, areas) happens in a
Lambert azimuthal equal-area projection centred on the theatre, in kilometres, so that areas are
true areas; edge lengths are geodesic distances on the WGS84 ellipsoid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Geod, Transformer
from scipy.spatial import Delaunay
from shapely.geometry import MultiPoint, Point, Polygon

_GEOD = Geod(ellps="WGS84")

#: Centre of the projection (degrees): the middle of the theatre box, near Saraqib.
CENTRE_LAT = 35.8
CENTRE_LON = 36.7

#: Theatre boundary = convex hull of the nodes, buffered by this much (km). An assumption: wide
#: enough that edge nodes get a cell of the same order as inner ones (median spacing is ~5 km).
BOUNDARY_BUFFER_KM = 4.0


@dataclass(frozen=True)
class Projection:
    """Equal-area projection (km) centred on ``(lat0, lon0)``."""

    lat0: float = CENTRE_LAT
    lon0: float = CENTRE_LON

    def _transformer(self, inverse: bool = False) -> Transformer:
        laea = f"+proj=laea +lat_0={self.lat0} +lon_0={self.lon0} +ellps=WGS84 +units=km"
        src, dst = ("EPSG:4326", laea) if not inverse else (laea, "EPSG:4326")
        return Transformer.from_crs(src, dst, always_xy=True)

    def to_km(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.float64]:
        """Project degrees to an ``(n, 2)`` array of ``(x_km, y_km)``."""
        x, y = self._transformer().transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.column_stack([np.atleast_1d(x), np.atleast_1d(y)])

    def to_degrees(self, xy_km: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Inverse of :meth:`to_km`: returns ``(lat, lon)`` arrays."""
        xy = np.atleast_2d(np.asarray(xy_km, float))
        lon, lat = self._transformer(inverse=True).transform(xy[:, 0], xy[:, 1])
        return np.atleast_1d(lat), np.atleast_1d(lon)


def geodesic_km(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike
) -> NDArray[np.float64]:
    """Geodesic distance on the WGS84 ellipsoid, in km (vectorised)."""
    lo1, la1, lo2, la2 = (np.atleast_1d(np.asarray(v, float)) for v in (lon1, lat1, lon2, lat2))
    _, _, dist_m = _GEOD.inv(lo1, la1, lo2, la2)
    return np.asarray(dist_m, float) / 1000.0


def delaunay_edges(xy: ArrayLike) -> NDArray[np.int64]:
    """Undirected edges ``(i, j)`` with ``i < j`` of the Delaunay triangulation of ``xy``."""
    pts = np.asarray(xy, float)
    if len(pts) < 3:
        return np.array([[0, 1]] if len(pts) == 2 else np.empty((0, 2)), dtype=np.int64)
    tri = Delaunay(pts)
    s = tri.simplices
    pairs = np.concatenate([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
    pairs.sort(axis=1)
    return np.unique(pairs, axis=0).astype(np.int64)


def theatre_boundary(xy: ArrayLike, buffer_km: float = BOUNDARY_BUFFER_KM) -> Polygon:
    """The documented theatre boundary: convex hull of the nodes buffered by ``buffer_km``."""
    hull = MultiPoint([tuple(p) for p in np.asarray(xy, float)]).convex_hull
    poly = hull.buffer(buffer_km, quad_segs=16)
    assert isinstance(poly, Polygon)
    return poly


def voronoi_cells(xy: ArrayLike, boundary: Polygon) -> list[Polygon]:
    """Voronoi cell of each point, clipped to ``boundary``, in the order of ``xy``."""
    pts = np.asarray(xy, float)
    if len(pts) == 1:
        return [boundary]
    diagram = shapely.voronoi_polygons(
        MultiPoint([tuple(p) for p in pts]), extend_to=boundary.envelope.buffer(10.0)
    )
    raw = list(diagram.geoms)
    tree = shapely.STRtree(raw)
    cells: list[Polygon] = []
    for p in pts:
        # shapely does not keep input order; the cell of p is the one that contains it.
        idx = tree.query(Point(p), predicate="intersects")
        cell = raw[int(idx[0])].intersection(boundary)
        cells.append(cell if isinstance(cell, Polygon) else shapely.make_valid(cell))
    return cells


def cell_areas_km2(cells: list[Polygon]) -> NDArray[np.float64]:
    """Area of each cell in km²."""
    return np.array([c.area for c in cells], dtype=float)
