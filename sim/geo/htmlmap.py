"""The interactive map of a run (``map.html``): folium's page, Leaflet inlined, a date slider.

What the page shows
    the towns' cells coloured by P(government holds it) at the end of the slider's date (weekly
    dates, as in ``front.geojson``), the simulated front (50 % contour) and the record's line on
    that date, the towns (filled where the record has the government holding them on that date;
    a pop-up gives recorded and simulated capture dates), the Turkish observation posts, the M4
    and M5, a legend and a scale bar.
Without network
    the page carries Leaflet 1.9.4's JavaScript and CSS inline (``sim/geo/static/leaflet``, BSD-2
    licence), and none of folium's other CDN links (jQuery, Bootstrap, icon fonts): markers are
    circles and ``DivIcon`` triangles, pop-ups are built in the page's own script. Only the base
    tiles need the network; without them the vector layers draw on a grey background.
Colours
    viridis (colour-blind safe; the same map as the static figures), 0 = opposition holds the
    town in every replica, 1 = the government in every replica.
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from pathlib import Path
from typing import Any

import branca.colormap
import folium
import numpy as np
import pandas as pd
from branca.element import Element, MacroElement
from jinja2 import Template

from sim.geo.features import cell_polygons, lonlat, town_summary
from sim.geo.front import FrontContours, front_dates, recorded_control
from sim.model.campaign import FrontCampaign
from sim.results import Ensemble

LEAFLET_VERSION = "1.9.4"
#: Default base tiles (a light map that lets the cell colours read); ``None`` for none.
DEFAULT_TILES = "OpenStreetMap"
#: Opacity of the cells over the base tiles (the legend is drawn with the same opacity).
FILL_OPACITY = 0.75
SIM_FRONT_COLOUR = "#e8590c"
RECORDED_FRONT_COLOUR = "#000000"
ROAD_COLOURS = {"M4": "#e7298a", "M5": "#000000"}
POST_COLOUR = "#111111"


def palette(n: int = 101) -> list[str]:
    """``n`` hex colours of viridis from 0 to 1 (the colour of P = i / (n - 1))."""
    cm = branca.colormap.linear.viridis.scale(0.0, 1.0)  # type: ignore[attr-defined]
    return [cm.rgb_hex_str(i / (n - 1)) for i in range(n)]


def _leaflet(name: str) -> str:
    text = resources.files("sim.geo").joinpath("static", "leaflet", name).read_text("utf-8")
    # the source map is not shipped: drop the reference so no browser asks for it
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith("//# sourceMappingURL"))


def _json(obj: Any) -> str:
    """JSON safe inside a ``<script>`` element."""
    return json.dumps(obj, separators=(",", ":")).replace("</", "<\\/")


def _posts(campaign: FrontCampaign) -> list[dict[str, Any]]:
    """The Turkish observation posts grouped by the town they stand at and the date they were
    set up (``since``: ISO date, ``null`` = before the campaign)."""
    th = campaign.theatre
    groups: dict[tuple[int, str | None], list[str]] = {}
    for p in th.tables.posts:
        since = p.established.isoformat() if p.established else None
        groups.setdefault((th.resolve(p.town), since), []).append(p.post)
    return [{"town": th.names[k], "lat": float(th.towns["lat"].iloc[k]),
             "lon": float(th.towns["lon"].iloc[k]), "since": since, "posts": v}
            for (k, since), v in groups.items()]


class _Layers(MacroElement):
    """The page's own script: cells, towns, posts, front lines, the slider and the legend,
    drawn into folium feature groups (so folium's layer control lists them). The groups are
    named when the page is rendered, after :func:`_stable_ids`."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this.map.get_name() }}, D = {{ this.data }};
  var PAL = D.palette, OPACITY = {{ this.opacity }};
  function colour(p) { return PAL[Math.max(0, Math.min(PAL.length - 1,
                                                        Math.round(p * (PAL.length - 1))))]; }
  function esc(s) { var d = document.createElement("div"); d.textContent = String(s);
                    return d.innerHTML; }
  var cells = L.geoJSON(D.cells, {style: function () {
      return {weight: 0.4, color: "#ffffff", opacity: 0.9, fillOpacity: OPACITY}; }});
  cells.eachLayer(function (l) {
    var t = D.towns[l.feature.properties.idx];
    l.bindTooltip(esc(t.town));
  });
  cells.addTo({{ this.cells_group.get_name() }});
  var simFront = L.geoJSON(null, {style: {color: "{{ this.sim_colour }}", weight: 3}})
      .addTo({{ this.sim_group.get_name() }});
  var recFront = L.geoJSON(null, {style: {color: "{{ this.rec_colour }}", weight: 2,
      dashArray: "6 5"}}).addTo({{ this.rec_group.get_name() }});
  var markers = D.towns.map(function (t) {
    var html = "<b>" + esc(t.town) + "</b><br>held on 18 Dec 2019 by " + esc(t.initial_control)
      + "<br>recorded first capture: " + esc(t.recorded_capture || "none in the record")
      + "<br>simulated first capture: "
      + (t.capture_q50 ? esc(t.capture_q50) + " (5-95 %: " + esc(t.capture_q05 || "-")
         + " to " + esc(t.capture_q95 || "later than the end") + ")" : "median: not captured")
      + "<br>P(captured) = " + t.p_captured.toFixed(3)
      + "<br>P(government holds it at the end) = " + t.p_held_end.toFixed(3);
    return L.circleMarker([t.lat, t.lon], {radius: 3.5, weight: 1, color: "#000000",
      fillColor: "#ffffff", fillOpacity: 1}).bindPopup(html)
      .addTo({{ this.towns_group.get_name() }});
  });
  var posts = {{ this.posts_group.get_name() }};
  var postMarkers = D.posts.map(function (p) {
    var icon = L.divIcon({className: "idlib-post", iconSize: [16, 16], iconAnchor: [8, 10],
      html: "<span style='color:{{ this.post_colour }};font-size:16px;line-height:16px;"
          + "text-shadow:0 0 2px #fff'>&#9650;</span>"});
    return L.marker([p.lat, p.lon], {icon: icon, title: "Turkish observation post"})
      .bindPopup("<b>Turkish observation post(s) at " + esc(p.town) + "</b><br>"
                 + p.posts.map(esc).join("<br>") + "<br>set up "
                 + (p.since ? "on " + esc(p.since) : "before the campaign"));
  });
  var label;
  function show(k) {
    var p = D.p_held[k];
    cells.eachLayer(function (l) {
      l.setStyle({fillColor: colour(p[l.feature.properties.idx])}); });
    markers.forEach(function (m, i) {
      m.setStyle({fillColor: D.recorded[k][i] ? "#000000" : "#ffffff"}); });
    simFront.clearLayers(); recFront.clearLayers();
    if (D.front_sim[k]) simFront.addData(D.front_sim[k]);
    if (D.front_rec[k]) recFront.addData(D.front_rec[k]);
    postMarkers.forEach(function (m, i) {  // a post shows from the date it was set up
      var since = D.posts[i].since;
      if (!since || since < D.dates[k]) { posts.addLayer(m); } else { posts.removeLayer(m); }
    });
    label.innerHTML = "end of <b>" + D.dates[k] + "</b>";
  }
  var Slider = L.Control.extend({options: {position: "topright"}, onAdd: function () {
    var div = L.DomUtil.create("div", "idlib-slider leaflet-bar");
    div.style.cssText = "background:#fff;padding:6px 8px;font:12px sans-serif;width:260px";
    div.innerHTML = "<div>" + esc(D.title) + "</div>";
    var input = L.DomUtil.create("input", "", div);
    input.type = "range"; input.min = 0; input.max = D.dates.length - 1; input.step = 1;
    input.value = D.dates.length - 1; input.style.width = "100%";
    label = L.DomUtil.create("div", "", div);
    L.DomEvent.disableClickPropagation(div); L.DomEvent.disableScrollPropagation(div);
    input.addEventListener("input", function () { show(parseInt(input.value, 10)); });
    return div; }});
  new Slider().addTo(map);
  var Legend = L.Control.extend({options: {position: "bottomright"}, onAdd: function () {
    var div = L.DomUtil.create("div", "idlib-legend");
    div.style.cssText = "background:#fff;padding:6px 8px;font:11px sans-serif;line-height:16px";
    var stops = [0, 0.25, 0.5, 0.75, 1].map(function (v) {
      return colour(v) + " " + v * 100 + "%"; });
    function line(css) { return "<span style='display:inline-block;width:22px;border-top:" + css
                                + "'></span> "; }
    div.innerHTML = "<b>P(government holds the town)</b>"
      + "<div style='height:12px;width:200px;opacity:" + OPACITY
      + ";background:linear-gradient(to right," + stops.join(",") + ")'></div>"
      + "<div style='display:flex;justify-content:space-between;width:200px'>"
      + "<span>0</span><span>0.25</span><span>0.5</span><span>0.75</span><span>1</span></div>"
      + "<div>" + line("3px solid {{ this.sim_colour }}") + "simulated front (P = 0.5)</div>"
      + "<div>" + line("2px dashed {{ this.rec_colour }}") + "recorded front (record's control)"
      + "</div><div>" + line("3px solid {{ this.m5 }}") + "M5 &nbsp;"
      + line("3px solid {{ this.m4 }}") + "M4</div>"
      + "<div>&#9679; town held by the government in the record, &#9675; not</div>"
      + "<div><span style='color:{{ this.post_colour }}'>&#9650;</span> Turkish observation post"
      + "</div>";
    return div; }});
  new Legend().addTo(map);
  // the cells came last into the overlay pane: lift the lines and towns back over them
  [{{ this.roads_group.get_name() }}, recFront, simFront,
   {{ this.towns_group.get_name() }}].forEach(function (g) { g.bringToFront(); });
  map.fitBounds(cells.getBounds());
  show(D.dates.length - 1);
})();
{% endmacro %}
""")

    def __init__(self, **names: Any) -> None:
        super().__init__()
        self._name = "IdlibLayers"
        for k, v in names.items():
            setattr(self, k, v)


def make_map(ens: Ensemble, campaign: FrontCampaign, *, title: str = "",
             tiles: str | None = DEFAULT_TILES, step_days: int = 7,
             summary: pd.DataFrame | None = None, recorded: np.ndarray | None = None,
             contours: FrontContours | None = None) -> folium.Map:
    """The interactive map of a run as a :class:`folium.Map` (see the module docstring).

    Parameters
    ----------
    ens, campaign : the run's aggregates and the campaign it ran.
    title : first line of the slider box (e.g. the scenario's name and replicas).
    tiles : folium tile name of the base map (needs the network), or ``None`` for none.
    step_days : spacing of the slider's dates; the last date is always included.
    summary, recorded, contours : :func:`~sim.geo.features.town_summary`,
        :func:`~sim.geo.front.recorded_control` and a :class:`~sim.geo.front.FrontContours`, when
        already computed (they are otherwise).
    """
    th = campaign.theatre
    summary = town_summary(ens, campaign) if summary is None else summary
    p_held = ens.held_count / ens.n
    rec = recorded_control(th, ens.start, len(p_held)) if recorded is None else recorded
    contours = contours or FrontContours(th)
    steps = front_dates(len(p_held), step_days)
    cells = [{"type": "Feature", "properties": {"idx": i},
              "geometry": json.loads(_geojson(g))} for i, g in enumerate(cell_polygons(th))]

    def lines(values: np.ndarray) -> dict[str, Any] | None:
        ls = contours.lines(values)
        return {"type": "MultiLineString", "coordinates": [x.tolist() for x in ls]} if ls else None

    towns = summary.drop(columns=["governorate", "area_km2"]).to_dict("records")
    towns = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in t.items()}
             for t in towns]
    data = {
        "title": title or f"{ens.n} replicas",
        "palette": palette(),
        "dates": [(ens.start + dt.timedelta(days=i - 1)).isoformat() for i in steps],
        "p_held": [np.round(p_held[i], 3).tolist() for i in steps],
        "recorded": [rec[i].astype(int).tolist() for i in steps],
        "front_sim": [lines(p_held[i]) for i in steps],
        "front_rec": [lines(rec[i].astype(float)) for i in steps],
        "cells": {"type": "FeatureCollection", "features": cells},
        "towns": towns,
        "posts": _posts(campaign),
    }
    m = folium.Map(location=[float(th.towns["lat"].mean()), float(th.towns["lon"].mean())],
                   zoom_start=9, tiles=None, control_scale=True)
    # folium links Leaflet, jQuery, Bootstrap and fonts on CDNs: none of them, Leaflet inline
    m.default_js, m.default_css = [], []
    root: Any = m.get_root()  # a branca Figure (typed as its base Element)
    root.header.add_child(Element(f"<style>{_leaflet('leaflet.css')}</style>"), name="leaflet_css")
    root.header.add_child(Element(f"<script>{_leaflet('leaflet.js')}</script>"), name="leaflet_js")
    if tiles:
        folium.TileLayer(tiles, name="base map (needs the network)").add_to(m)
    groups = {key: folium.FeatureGroup(name=name).add_to(m) for key, name in (
        ("cells", "P(government holds the town)"), ("sim", "simulated front (P = 0.5)"),
        ("rec", "recorded front"), ("roads", "M4 and M5"), ("towns", "towns"),
        ("posts", "Turkish observation posts"))}
    for road, nodes in th.roads.items():
        pts = lonlat(th, th.xy_km[nodes])
        folium.PolyLine([[float(lat), float(lon)] for lon, lat in pts],
                        color=ROAD_COLOURS.get(road, "#555555"), weight=3,
                        tooltip=road).add_to(groups["roads"])
    m.add_child(_Layers(
        map=m, data=_json(data), opacity=FILL_OPACITY,
        cells_group=groups["cells"], sim_group=groups["sim"], rec_group=groups["rec"],
        roads_group=groups["roads"], towns_group=groups["towns"], posts_group=groups["posts"],
        sim_colour=SIM_FRONT_COLOUR,
        rec_colour=RECORDED_FRONT_COLOUR, post_colour=POST_COLOUR,
        m4=ROAD_COLOURS["M4"], m5=ROAD_COLOURS["M5"]))
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _geojson(geom: Any) -> str:
    import shapely

    return str(shapely.to_geojson(geom))


def _stable_ids(element: Any, counter: list[int] | None = None) -> None:
    """Number the page's elements in order: folium names them with random UUIDs, and identical
    runs must write identical files."""
    counter = [0] if counter is None else counter
    counter[0] += 1
    element._id = f"{counter[0]:08x}"
    for child in list(getattr(element, "_children", {}).values()):
        _stable_ids(child, counter)


def write_map(ens: Ensemble, campaign: FrontCampaign, path: str | Path, **kw: Any) -> Path:
    """Write :func:`make_map` (same keywords) as one self-contained HTML file at ``path``."""
    m = make_map(ens, campaign, **kw)
    _stable_ids(m.get_root())
    m.save(str(path))
    return Path(path)
