"""Geography of a run's results: GeoJSON of towns, cells and front lines, the interactive map.

* :mod:`.features` — towns (points) and cells (polygons) with their results, WGS84;
* :mod:`.front` — the front line as the 50 % contour of P(government holds it), and the record's;
* :mod:`.htmlmap` — ``map.html`` (folium, Leaflet inlined: it draws without network);
* :mod:`.outputs` — everything a run writes of it, in one call.

The arrays (NetCDF) are in :mod:`sim.arrays`; the animation in :mod:`sim.plots.animation`.
"""

from sim.geo.features import cell_polygons, cells_geojson, town_summary, towns_geojson
from sim.geo.front import FrontContours, front_geojson, recorded_control
from sim.geo.htmlmap import make_map, write_map
from sim.geo.outputs import write_geo_outputs

__all__ = ["FrontContours", "cell_polygons", "cells_geojson", "front_geojson", "make_map",
           "recorded_control", "town_summary", "towns_geojson", "write_geo_outputs", "write_map"]
