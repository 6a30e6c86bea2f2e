"""The front line as lines: the 50 % contour of P(government holds it), and the record's line.

A town's P(held) is known at its point; between towns it is interpolated linearly on the Delaunay
triangles of the towns (the same triangulation that gives the model's graph), on a grid of
:data:`GRID_KM`, and the front is the contour at :data:`LEVEL` of that surface (``contourpy``,
the contouring library under matplotlib). So the line crosses the segment between a town the
government probably holds and one it probably does not at the interpolated 50 % point; outside
the towns' convex hull there is no line.

The *recorded* line is the same contour of the record's control on each date (0 or 1 per town:
``seeds/initial_control.csv``, then the recorded captures and recaptures of ``seeds/events.csv``
from the end of their date). The record names fewer places than the model has towns,
so it is a lower bound of the government's advance, not a second estimate of the same line.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import contourpy
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.spatial import Delaunay

from sim.geo.features import lonlat
from sim.theatre.history import DATING_CERTAINTIES, recorded_captures, resolved_events
from sim.theatre.theatre import GOVERNMENT, OPPOSITION, Theatre

#: Contour level: the front is where P(held) crosses one half.
LEVEL = 0.5
#: Grid spacing (km) of the interpolated surface; towns are ~5 km apart.
GRID_KM = 1.0
#: Spacing (days) of the dated front lines in ``front.geojson``; the last date is always added.
STEP_DAYS = 7


class FrontContours:
    """Contours of per-town values on one theatre: the grid and each grid point's Delaunay
    triangle and barycentric weights are computed once, so a contour costs one weighted sum and
    one call of ``contourpy`` (dozens of dates per run)."""

    def __init__(self, theatre: Theatre, grid_km: float = GRID_KM) -> None:
        self.theatre = theatre
        xy = theatre.xy_km
        x0, y0, x1, y1 = theatre.boundary.bounds
        gx = np.arange(x0, x1 + grid_km, grid_km)
        gy = np.arange(y0, y1 + grid_km, grid_km)
        self.X, self.Y = np.meshgrid(gx, gy)
        tri = Delaunay(xy)
        pts = np.column_stack([self.X.ravel(), self.Y.ravel()])
        simplex = tri.find_simplex(pts)
        self.inside = simplex >= 0
        s = simplex[self.inside]
        # barycentric coordinates (scipy's documented recipe with Delaunay.transform)
        T = tri.transform[s]
        b = np.einsum("nij,nj->ni", T[:, :2], pts[self.inside] - T[:, 2])
        self.weights = np.column_stack([b, 1 - b.sum(axis=1)])
        self.vertices = tri.simplices[s]

    def surface(self, values: NDArray[np.floating]) -> NDArray[np.float64]:
        """The linear interpolation of per-town ``values`` on the grid (NaN outside the hull)."""
        z = np.asarray(values, float)
        if z.shape != (len(self.theatre.xy_km),):
            raise ValueError(f"values: shape {z.shape}, expected ({len(self.theatre.xy_km)},)")
        Z = np.full(self.X.size, np.nan)
        Z[self.inside] = (self.weights * z[self.vertices]).sum(axis=1)
        return Z.reshape(self.X.shape)

    def lines(self, values: NDArray[np.floating], level: float = LEVEL
              ) -> list[NDArray[np.float64]]:
        """Lines where the surface of ``values`` crosses ``level``, each an ``(n, 2)`` array of
        ``(lon, lat)`` degrees."""
        Z = self.surface(values)
        z = np.asarray(values, float)
        if not ((z >= level).any() and (z < level).any()):
            return []
        gen = contourpy.contour_generator(self.X, self.Y, np.ma.masked_invalid(Z),
                                          line_type="Separate")
        return [lonlat(self.theatre, np.asarray(line, float)) for line in gen.lines(level)
                if len(line) >= 2]


def recorded_control(theatre: Theatre, start: dt.date, n_dates: int,
                     first: pd.DataFrame | None = None) -> NDArray[np.int8]:
    """``(n_dates, towns)`` control in the record (1 = government), row ``i`` at the end of the
    date ``start + i - 1`` (the project's state rows, :func:`sim.results.state_days`: row 0 is
    the initial control).

    Initial control, then the first capture of each node (:func:`recorded_captures`' rule) and
    every later dated capture or recapture of a place the node stands for, each from the end of
    its date. ``first``: :func:`recorded_captures` from ``start`` to the last date, if
    already at hand."""
    control = np.repeat(theatre.initial_control.astype(np.int8)[None, :], n_dates, axis=0)
    end = start + dt.timedelta(days=n_dates - 2)  # the date of the last state row
    if first is None:
        first = recorded_captures(theatre, start, end)
    ev = resolved_events(theatre)
    ev = ev[(ev["node"] >= 0) & ev["certainty"].isin(DATING_CERTAINTIES)
            & ev["event"].isin(["captured", "recaptured_by_opposition"])
            & (ev["date"] >= start) & (ev["date"] <= end)]
    changes: list[tuple[dt.date, int, int]] = []
    for node, date in zip(first.get("node", []), first.get("date", []), strict=True):
        changes.append((date, int(node), GOVERNMENT))
        later = ev[(ev["node"] == node) & (ev["date"] > date)]
        changes += [(d, int(node), GOVERNMENT if e == "captured" else OPPOSITION)
                    for d, e in zip(later["date"], later["event"], strict=True)]
    for date, node, side in sorted(changes):
        control[(date - start).days + 1:, node] = side
    return control


def front_dates(n_dates: int, step_days: int = STEP_DAYS) -> list[int]:
    """Indices of the dated lines: every ``step_days`` from the start, and the last."""
    idx = list(range(0, n_dates, step_days))
    return idx if idx[-1] == n_dates - 1 else [*idx, n_dates - 1]


def front_geojson(theatre: Theatre, p_held: NDArray[np.floating], start: dt.date,
                  step_days: int = STEP_DAYS, recorded: NDArray[np.integer] | None = None,
                  contours: FrontContours | None = None) -> dict[str, Any]:
    """``front.geojson``: per dated line, a MultiLineString feature with properties ``date``
    (ISO, the state at the end of that date; the first is the day before ``start``: the initial
    control), ``day`` (its day index), ``kind`` (``"simulated"``: 50 % contour of P(held);
    ``"recorded"``: contour of the record's control), ``level``, ``length_km``.

    ``p_held`` is ``(n_dates, towns)``: row ``i`` at the end of ``start + i - 1``; ``recorded``
    (:func:`recorded_control`) and ``contours`` are computed when not given."""
    p = np.asarray(p_held, float)
    rec = recorded_control(theatre, start, len(p)) if recorded is None else recorded
    contours = contours or FrontContours(theatre)
    features = []
    for i in front_dates(len(p), step_days):
        date = (start + dt.timedelta(days=i - 1)).isoformat()
        for kind, values in (("simulated", p[i]), ("recorded", rec[i].astype(float))):
            lines = contours.lines(values)
            if not lines:
                continue
            geom = shapely.MultiLineString([ln.tolist() for ln in lines])
            features.append({"type": "Feature",
                             "geometry": {"type": "MultiLineString",
                                          "coordinates": [ln.tolist() for ln in lines]},
                             "properties": {"date": date, "day": i - 1, "kind": kind,
                                            "level": LEVEL,
                                            "length_km": _length_km(geom)}})
    return {"type": "FeatureCollection", "features": features}


def _length_km(geom: shapely.MultiLineString) -> float:
    from pyproj import Geod

    return round(float(Geod(ellps="WGS84").geometry_length(geom)) / 1000.0, 1)
