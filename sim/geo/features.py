"""Towns and cells of a run as GeoJSON features (RFC 7946: WGS84, ``[lon, lat]`` order, exterior
rings counter-clockwise), carrying the run's per-town results.

Every feature's ``properties`` (one set per town; its point in ``towns.geojson``, its Voronoi cell
in ``cells.geojson``)::

    town, governorate, initial_control ("government" | "opposition"), area_km2,
    p_held_end        P(government holds it) at the end of the run's last date
    p_captured, p_recaptured
    capture_q05 .. capture_q95   first-capture date quantiles (ISO dates; null: beyond the share
                                 of replicas in which it fell)
    recorded_capture  the record's first-capture date (ISO; null: none), sim.theatre's rule
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer
from shapely.geometry import Polygon, mapping
from shapely.geometry.polygon import orient

from sim.model.campaign import FrontCampaign
from sim.results import QUANTILES, Ensemble
from sim.theatre.geometry import Projection
from sim.theatre.history import recorded_captures
from sim.theatre.theatre import GOVERNMENT, Theatre

#: Decimal places of coordinates: 1e-5 degrees is about 1 m, far below the seeds' precision.
COORD_DECIMALS = 5


@functools.lru_cache(maxsize=4)
def _inverse(projection: Projection) -> Transformer:
    # Building a pyproj Transformer takes ~50 ms: build it once per projection, not per shape.
    return projection._transformer(inverse=True)


def lonlat(theatre: Theatre, xy_km: ArrayLike) -> NDArray[np.float64]:
    """Projected ``(n, 2)`` km of the theatre as ``(n, 2)`` WGS84 ``(lon, lat)`` degrees."""
    xy = np.atleast_2d(np.asarray(xy_km, float))
    lon, lat = _inverse(theatre.projection).transform(xy[:, 0], xy[:, 1])
    return np.round(np.column_stack([lon, lat]), COORD_DECIMALS)


def cell_polygons(theatre: Theatre) -> list[shapely.Geometry]:
    """Each town's cell in WGS84 degrees, exterior rings counter-clockwise (RFC 7946)."""
    cells = np.asarray(theatre.cells, dtype=object)
    # one transformation of every vertex at once (shapely keeps the geometries' structure)
    projected = shapely.transform(cells, lambda xy: lonlat(theatre, xy))
    out = []
    for g in projected:
        parts = [orient(p, 1.0) for p in getattr(g, "geoms", [g]) if isinstance(p, Polygon)]
        out.append(parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts))
    return out


def _iso(d: dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


def town_summary(ens: Ensemble, campaign: FrontCampaign,
                 recorded: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per town: where it is and what the run and the record say of it (the properties
    listed in the module docstring, plus ``lat``, ``lon``; dates as ISO strings or ``None``).
    ``recorded``: :func:`~sim.theatre.recorded_captures` of the campaign, if already at hand."""
    th = campaign.theatre
    qd = ens.capture_day_quantiles(QUANTILES)
    df = pd.DataFrame({
        "town": th.names,
        "lat": th.towns["lat"].to_numpy(float),
        "lon": th.towns["lon"].to_numpy(float),
        "governorate": th.towns["governorate"].astype(str).to_numpy(),
        "initial_control": np.where(th.initial_control == GOVERNMENT, "government",
                                    "opposition"),
        "area_km2": np.round(th.area_km2, 2),
        "p_held_end": np.round(ens.p_held_at_end(), 4),
        "p_captured": np.round(ens.p_captured(), 4),
        "p_recaptured": np.round(ens.recaptured / ens.n, 4),
    })
    for j, q in enumerate(QUANTILES):
        df[f"capture_q{round(q * 100):02d}"] = [
            None if np.isnan(v) else ens.date(int(v)).isoformat() for v in qd[:, j]]
    rec = recorded_captures(th, campaign.start, campaign.end) if recorded is None else recorded
    dates: list[str | None] = [None] * th.n_towns
    for node, date in zip(rec.get("node", []), rec.get("date", []), strict=True):
        dates[int(node)] = _iso(date)
    df["recorded_capture"] = dates
    return df


def _json_value(v: Any) -> Any:
    """A table value as JSON: numpy scalars as Python ones, missing (None, NaN) as null."""
    if isinstance(v, np.generic):
        v = v.item()
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else v


def _features(summary: pd.DataFrame, geometries: list[dict[str, Any]]) -> dict[str, Any]:
    props = summary.drop(columns=["lat", "lon"]).to_dict("records")
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": g,
                          "properties": {str(k): _json_value(v) for k, v in p.items()}}
                         for g, p in zip(geometries, props, strict=True)]}


def towns_geojson(summary: pd.DataFrame) -> dict[str, Any]:
    """``towns.geojson``: one Point per town with its results; ``summary`` is
    :func:`town_summary`."""
    return _features(summary, [{"type": "Point", "coordinates": [float(x), float(y)]}
                               for x, y in zip(summary["lon"], summary["lat"], strict=True)])


def cells_geojson(theatre: Theatre, summary: pd.DataFrame) -> dict[str, Any]:
    """``cells.geojson``: each town's Voronoi cell (the area the model gives it) with its
    results; ``summary`` is :func:`town_summary`."""
    return _features(summary, [_geometry(g) for g in cell_polygons(theatre)])


def _geometry(geom: shapely.Geometry) -> dict[str, Any]:
    """GeoJSON geometry with lists (not tuples) of coordinates."""
    def lists(x: Any) -> Any:
        return [lists(v) for v in x] if isinstance(x, list | tuple) else x

    g = dict(mapping(geom))
    return {"type": g["type"], "coordinates": lists(g["coordinates"])}
