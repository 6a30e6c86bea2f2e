"""The geographic and array outputs of a run, written in one call (:func:`write_geo_outputs`).

``results.nc``      the run as an xarray Dataset (:mod:`sim.arrays`), always
``towns.geojson``   towns (points) with P(held) at the end, capture-date quantiles, the record
``cells.geojson``   the same per town's cell (polygons)               (:mod:`sim.geo.features`)
``front.geojson``   weekly simulated and recorded front lines        (:mod:`sim.geo.front`)
``map.html``        the interactive map (:mod:`sim.geo.htmlmap`)
``front.gif``       the animation (:mod:`sim.plots.animation`), on request (``outputs.animation``)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.arrays import to_dataset, write_netcdf
from sim.geo.features import cells_geojson, town_summary, towns_geojson
from sim.geo.front import FrontContours, front_geojson, recorded_control
from sim.geo.htmlmap import write_map
from sim.model.campaign import FrontCampaign
from sim.results import Ensemble
from sim.theatre.history import recorded_captures

FILES = ("results.nc", "towns.geojson", "cells.geojson", "front.geojson")
#: Manifest fields that differ between two runs of the same scenario and seed: kept out of
#: ``results.nc`` so that identical runs write identical files, byte for byte.
VOLATILE = ("wall_time_s", "written_at")


def _write_json(path: Path, obj: Any) -> None:
    # allow_nan=False: a NaN would make the file invalid JSON (RFC 8259), unreadable by GDAL
    path.write_text(json.dumps(obj, allow_nan=False, separators=(",", ":")) + "\n")


def write_geo_outputs(directory: str | Path, campaign: FrontCampaign, ens: Ensemble, *,
                      provenance: Mapping[str, Any] | None = None, html_map: bool = True,
                      animation: bool = False, title: str = "") -> list[Path]:
    """Write the files of the module docstring into ``directory`` (a run folder being written:
    its per-replica parquet files, if there, go into ``results.nc``). Returns the paths written.

    ``provenance``: the manifest's fields, stored in ``results.nc``'s attributes (less
    :data:`VOLATILE`)."""
    out = Path(directory)
    th = campaign.theatre
    attrs = {k: v for k, v in (provenance or {}).items() if k not in VOLATILE}
    ds = to_dataset(ens, campaign, per_replica=out if (out / "capture_days.parquet").exists()
                    else None, attrs=attrs)
    written = [write_netcdf(ds, out / "results.nc")]
    rec = recorded_captures(th, campaign.start, campaign.end)
    summary = town_summary(ens, campaign, recorded=rec)
    control = recorded_control(th, ens.start, ens.n_days + 1, first=rec)
    contours = FrontContours(th)
    for name, obj in (("towns.geojson", towns_geojson(summary)),
                      ("cells.geojson", cells_geojson(th, summary)),
                      ("front.geojson", front_geojson(th, ens.held_count / ens.n, ens.start,
                                                      recorded=control, contours=contours))):
        _write_json(out / name, obj)
        written.append(out / name)
    if html_map:
        written.append(write_map(ens, campaign, out / "map.html", title=title, summary=summary,
                                 recorded=control, contours=contours))
    if animation:
        from sim.plots.animation import animate_front

        written.append(animate_front(ens, campaign, out / "front.gif", title=title))
    return written
