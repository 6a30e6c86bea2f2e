"""The front as an animation (``front.gif``): P(government holds each town) day by day.

One frame per date, from the initial control (the end of the day before the start) to the end of
the last simulated date: the towns' cells coloured by
P(held) (viridis, the map's colours, with its labelled colour bar), the towns the record has
captured by that date appearing as black dots on their dates, the M4 and M5, and in the title the
date, the record's latest calendar entry (``seeds/calendar.csv``, its ``phase`` column) and the
scenario's modifiers active on that day. Axes are degrees of longitude and latitude.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib
import matplotlib.patheffects
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D
from PIL import Image

from sim.geo.features import cell_polygons, lonlat
from sim.model.campaign import FrontCampaign
from sim.plots.common import KEY_TOWNS
from sim.results import Ensemble
from sim.theatre.history import recorded_captures

CMAP = "viridis"
ROAD_STYLE = {"M4": ("#e7298a", 2.0), "M5": ("#000000", 2.0)}
#: Colours of a GIF frame (GIF holds at most 256); the fast octree quantizer keeps the run short.
GIF_COLOURS = 128


def phase_on(campaign: FrontCampaign, date: dt.date) -> str:
    """The record's phase on ``date`` (``seeds/calendar.csv``): a dated window (an entry with
    an ``end``, inclusive) in force that day, else the latest entry started on or before it."""
    rows = [r for r in campaign.theatre.tables.calendar if r.start <= date]
    windows = [r for r in rows if r.end is not None and date <= r.end]
    pick = windows or [r for r in rows if r.end is None]
    if not pick:
        return ""
    latest = max(r.start for r in pick)
    return [r for r in pick if r.start == latest][-1].phase.replace("_", " ")


def active_modifiers(campaign: FrontCampaign, date: dt.date) -> list[str]:
    """Names of the campaign's enabled modifiers in force during ``date``."""
    return [m.name for m in campaign.modifiers if m.enabled and m.start <= date
            and (m.end is None or date < m.end)]


def _frame_title(campaign: FrontCampaign, date: dt.date, title: str) -> str:
    mods = ", ".join(active_modifiers(campaign, date)) or "none"
    head = f"{title}: " if title else ""
    phase = phase_on(campaign, date) or "before the offensive"
    return (f"{head}end of {date.isoformat()} · {phase}\n"
            f"modifiers in force: {mods}")


def animate_front(ens: Ensemble, campaign: FrontCampaign, path: str | Path, *,
                  title: str = "", fps: float = 6.0, dpi: int = 72) -> Path:
    """Write the animation of P(held) by date as a GIF at ``path`` (module docstring).

    Frame ``i`` is the state at the end of the date ``start + i - 1`` (the project's state rows,
    :func:`sim.results.state_days`), with the modifiers in force during that date. ``fps``
    frames (dates) a second."""
    th = campaign.theatre
    p_held = ens.held_count / ens.n
    n_dates = len(p_held)
    polys = cell_polygons(th)
    verts = [np.asarray(g.exterior.coords) for g in
             (max(getattr(p, "geoms", [p]), key=lambda q: q.area) for p in polys)]
    fig, ax = plt.subplots(figsize=(7.2, 6.4))
    canvas = FigureCanvasAgg(fig)
    moving: list[matplotlib.artist.Artist] = []  # redrawn on every frame
    overlay: list[matplotlib.artist.Artist] = []  # static, but above the cells: drawn once
    norm = matplotlib.colors.Normalize(0.0, 1.0)
    cells = PolyCollection(verts, cmap=CMAP, norm=norm, edgecolors="white", linewidths=0.3)
    cells.set_array(p_held[0])
    ax.add_collection(cells)
    moving.append(cells)
    for road, nodes in th.roads.items():
        pts = lonlat(th, th.xy_km[nodes])
        colour, lw = ROAD_STYLE.get(road, ("#555555", 1.0))
        moving += ax.plot(pts[:, 0], pts[:, 1], color=colour, lw=lw, zorder=3)
    rec = recorded_captures(th, campaign.start, campaign.end)
    rec_node = rec["node"].to_numpy(int) if len(rec) else np.zeros(0, int)
    rec_date = list(rec["date"]) if len(rec) else []
    lon, lat = th.towns["lon"].to_numpy(float), th.towns["lat"].to_numpy(float)
    caught = ax.scatter([], [], s=22, c="black", edgecolors="white", linewidths=0.6, zorder=5)
    moving.append(caught)
    for name in KEY_TOWNS:
        k = th.try_resolve(name)
        if k is not None:
            halo = matplotlib.patheffects.withStroke(linewidth=1.5, foreground="black")
            overlay.append(ax.annotate(th.names[k], (lon[k], lat[k]), xytext=(3, 3),
                                      textcoords="offset points", fontsize=7, color="white",
                                      weight="bold", zorder=6, path_effects=[halo]))
    x0, y0, x1, y1 = np.concatenate(verts).min(0).tolist() + np.concatenate(verts).max(0).tolist()
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    # degrees of longitude are shorter than degrees of latitude by cos(latitude)
    ax.set_aspect(1.0 / np.cos(np.radians(0.5 * (y0 + y1))))
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=CMAP), ax=ax, shrink=0.75)
    bar.set_label("P(government holds the town)")
    legend = ax.legend(handles=[
        Line2D([], [], marker="o", ls="", color="black", mec="white",
               label="captured in the record by this date"),
        Line2D([], [], color=ROAD_STYLE["M5"][0], lw=2, label="M5"),
        Line2D([], [], color=ROAD_STYLE["M4"][0], lw=2, label="M4")],
        loc="lower left", fontsize=7, framealpha=0.9)
    legend.set_zorder(10)
    overlay.append(legend)
    head = ax.set_title("", fontsize=9)
    moving.append(head)
    # Blitting: the static parts (axes, colour bar) are drawn once; so are the labels and the
    # legend, which lie above the cells: drawn alone on a transparent layer and laid over each
    # frame. Each frame draws only the cells, the roads, the dots and the title (text drawing
    # dominates a full redraw).
    fig.set_dpi(dpi)
    for a in moving + overlay:
        a.set_animated(True)
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    renderer = canvas.get_renderer()
    renderer.clear()
    for a in sorted(overlay, key=lambda a: a.get_zorder()):
        fig.draw_artist(a)
    top = np.asarray(canvas.buffer_rgba(), float)
    alpha = top[..., 3:] / 255.0
    top_rgb = top[..., :3] * alpha
    moving.sort(key=lambda a: a.get_zorder())
    frames = []
    for i in range(n_dates):
        date = ens.start + dt.timedelta(days=i - 1)
        cells.set_array(p_held[i])
        # a town captured during a date shows from the end of that date
        shown = [k for k, d in zip(rec_node, rec_date, strict=True) if d <= date]
        caught.set_offsets(np.column_stack([lon[shown], lat[shown]]) if shown
                           else np.empty((0, 2)))
        head.set_text(_frame_title(campaign, date, title))
        canvas.restore_region(background)
        for a in moving:
            fig.draw_artist(a)
        rgb = np.asarray(canvas.buffer_rgba())[..., :3] * (1.0 - alpha) + top_rgb
        frames.append(Image.fromarray(np.round(rgb).astype(np.uint8)).quantize(
            GIF_COLOURS, method=Image.Quantize.FASTOCTREE))
    plt.close(fig)
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:],
                   duration=round(1000 / fps), loop=0)
    return Path(path)
