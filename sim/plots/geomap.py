"""Static map of the theatre in longitude/latitude: Voronoi cells coloured by control or by a
value (solid colours that are the colour bar's own), the M4/M5, Turkish posts, town labels placed
so that they do not collide, a lat/lon grid, a scale bar and a legend of every line and symbol.
An optional web basemap (contextily) is drawn only when asked for and reachable."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.patheffects as pe
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Annotation
from matplotlib.ticker import FuncFormatter
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar
from numpy.typing import NDArray

from sim.plots.style import DIVERGING_CMAP, KEY_TOWNS, axes_or_new
from sim.theatre.theatre import GOVERNMENT, Theatre

#: Cells without a value (NaN).
NO_VALUE_COLOUR = "#d9d9d9"
#: Control colours: the diverging map's own tints, so control maps and P(held) maps agree.
_CMAP = matplotlib.colormaps[DIVERGING_CMAP]
GOV_FILL = matplotlib.colors.to_hex(_CMAP(0.8))
OPP_FILL = matplotlib.colors.to_hex(_CMAP(0.2))
ROAD_STYLE: dict[str, dict[str, Any]] = {"M5": {"color": "k", "lw": 2.2, "ls": "-"},
              "M4": {"color": "k", "lw": 2.0, "ls": (0, (4, 1.5))},
              "local": {"color": "#6f6f6f", "lw": 0.4, "ls": "-"}}
POST_STYLE: dict[str, Any] = {"marker": "^", "color": "#fdd835", "mec": "k", "ms": 8, "mew": 0.8}
SCALE_KM = 20.0
_MARGIN_PX = 3.0
#: Offsets (points) tried in turn for a town label: right, left, above, below, diagonals.
_OFFSETS = ((4, 3, "left", "bottom"), (-4, 3, "right", "bottom"), (4, -3, "left", "top"),
            (-4, -3, "right", "top"), (0, 6, "center", "bottom"), (0, -6, "center", "top"),
            (8, 0, "left", "center"), (-8, 0, "right", "center"))


def _lonlat(theatre: Theatre, xy_km: NDArray[np.floating]) -> NDArray[np.float64]:
    lat, lon = theatre.projection.to_degrees(xy_km)
    return np.column_stack([lon, lat])


def _light(name: str) -> matplotlib.colors.Colormap:
    """The colour map without its darkest 12 % at each dark end, so that roads, towns and labels
    stay legible on every cell (the colour bar shows the same, trimmed, map)."""
    base = matplotlib.colormaps[name]
    if name not in (DIVERGING_CMAP, "RdBu", "Reds", "Blues"):
        return base
    lo = 0.12 if name in (DIVERGING_CMAP, "RdBu") else 0.0
    return matplotlib.colors.ListedColormap(base(np.linspace(lo, 0.88, 256)), name=f"{name}_light")


def town_lonlat(theatre: Theatre) -> NDArray[np.float64]:
    """``(n, 2)`` longitude and latitude of every node, in the map's coordinates."""
    return _lonlat(theatre, theatre.xy_km)


def cells_lonlat(theatre: Theatre) -> list[tuple[int, NDArray[np.float64]]]:
    """Every cell's outline(s) in longitude and latitude as ``(node, ring)`` pairs, projected
    in one call (a projection per cell costs a transformer each)."""
    rings = [(i, np.column_stack(p.exterior.xy)) for i, cell in enumerate(theatre.cells)
             for p in getattr(cell, "geoms", [cell])]
    ll = _lonlat(theatre, np.concatenate([r for _, r in rings]))
    cuts = np.cumsum([len(r) for _, r in rings])[:-1]
    return [(i, part) for (i, _), part in zip(rings, np.split(ll, cuts), strict=True)]


def cell_lonlat(theatre: Theatre, i: int) -> list[NDArray[np.float64]]:
    """The outline(s) of cell ``i`` in longitude and latitude (one array per polygon)."""
    cell = theatre.cells[i]
    return [_lonlat(theatre, np.column_stack(p.exterior.xy)) for p in getattr(cell, "geoms",
                                                                                [cell])]


def legend_handles(control: bool) -> list[Any]:
    """Legend entries of every line and symbol :func:`plot_theatre` draws."""
    h: list[Any] = []
    if control:
        h += [Patch(facecolor=GOV_FILL, ec="white", label="government"),
              Patch(facecolor=OPP_FILL, ec="white", label="opposition")]
    h += [Line2D([], [], label=f"{r} highway", **ROAD_STYLE[r]) for r in ("M5", "M4")]
    h += [Line2D([], [], label="road link between towns", **ROAD_STYLE["local"]),
          Line2D([], [], marker="o", ls="", color="k", ms=2.5, label="town / village"),
          Line2D([], [], ls="", label="Turkish observation post", **POST_STYLE)]
    return h


def place_labels(ax: Axes, xy: NDArray[np.floating], texts: Sequence[str],
                 fontsize: float = 8) -> list[Annotation]:
    """Greedy label placement: each label (in the given order, most important first) takes the
    first of a few offsets around its point whose box overlaps no label already placed, no
    labelled point and stays inside the Axes; a label with no free place is left out.

    Boxes are measured by the renderer, so call this after the Axes' limits, aspect and
    neighbours (colour bar, legend) are final."""
    fig = ax.get_figure()
    assert fig is not None
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    frame = ax.get_window_extent(renderer)
    pts = ax.transData.transform(np.asarray(xy, float))
    dots = [matplotlib.transforms.Bbox.from_bounds(x - 2.5, y - 2.5, 5, 5) for x, y in pts]
    placed: list[Annotation] = []
    boxes: list[Any] = []
    for k, text in enumerate(texts):
        for dx, dy, ha, va in _OFFSETS:
            ann = ax.annotate(text, tuple(xy[k]), xytext=(dx, dy), textcoords="offset points",
                              ha=ha, va=va, fontsize=fontsize, weight="bold", zorder=7,
                              path_effects=[pe.withStroke(linewidth=2.5, foreground="white")])
            tight = ann.get_window_extent(renderer)
            box = matplotlib.transforms.Bbox.from_extents(  # a margin, so labels never touch
                tight.x0 - _MARGIN_PX, tight.y0 - _MARGIN_PX, tight.x1 + _MARGIN_PX,
                tight.y1 + _MARGIN_PX)
            clear = (frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
                     and not any(box.overlaps(b) for b in boxes)
                     and not any(box.overlaps(d) for i, d in enumerate(dots) if i != k))
            if clear:
                placed.append(ann)
                boxes.append(box)
                break
            ann.remove()
    return placed


def plot_theatre(theatre: Theatre, control: NDArray[np.integer] | None = None, *,
                 values: NDArray[np.floating] | None = None, cmap: str = DIVERGING_CMAP,
                 symmetric: bool = False, vmin: float | None = None, vmax: float | None = None,
                 cbar_label: str = "", title: str = "", label_towns: Sequence[str] = KEY_TOWNS,
                 extra_handles: Sequence[Any] = (), basemap: bool = False,
                 ax: Axes | None = None) -> Axes:
    """Map of the theatre in degrees (WGS84): cells coloured by control, or by ``values`` with a
    labelled colour bar (``symmetric`` centres the scale on zero, for differences); NaN values
    are grey. Roads, towns, Turkish posts, a lat/lon grid, a scale bar and a legend (with
    ``extra_handles`` appended) are always drawn; the towns of ``label_towns`` are labelled
    where their label fits. ``basemap`` adds web tiles under the cells when contextily is
    installed and the network answers (a warning, not an error, otherwise)."""
    ax = axes_or_new(ax, (9, 8))
    ctrl = theatre.initial_control if control is None else np.asarray(control)
    rings = cells_lonlat(theatre)
    polys = [r for _, r in rings]
    idx = np.asarray([i for i, _ in rings])
    coll = PolyCollection(polys, edgecolors="white", linewidths=0.3, zorder=1)
    if values is not None:
        v = np.asarray(values, float)
        finite = v[np.isfinite(v)]
        top = vmax if vmax is not None else (float(np.abs(finite).max()) if len(finite) else 1.0)
        top = top or 1.0
        low = -top if symmetric else (vmin if vmin is not None
                                      else min(0.0, float(finite.min(initial=0.0))))
        cm = _light(cmap).with_extremes(bad=NO_VALUE_COLOUR)
        coll.set_cmap(cm)
        coll.set_norm(matplotlib.colors.Normalize(low, top))
        coll.set_array(np.ma.masked_invalid(v[idx]))
    else:
        coll.set_facecolor([GOV_FILL if ctrl[i] == GOVERNMENT else OPP_FILL for i in idx])
    ax.add_collection(coll)
    ll = town_lonlat(theatre)
    segments: dict[str, list[NDArray[np.float64]]] = {r: [] for r in ROAD_STYLE}
    for i, j, data in theatre.graph.edges(data=True):
        segments[data["road"] if data["road"] in ROAD_STYLE else "local"].append(ll[[i, j]])
    for road, segs in segments.items():
        st = ROAD_STYLE[road]
        ax.add_collection(LineCollection(segs, colors=st["color"], linewidths=st["lw"],
                                         linestyles=[st["ls"]], capstyle="round",
                                         zorder=3 if road != "local" else 2, label=road))
    ax.plot(ll[:, 0], ll[:, 1], "o", color="k", ms=2.5, zorder=4)
    posts = np.unique(theatre.post_town)
    ax.plot(ll[posts, 0], ll[posts, 1], ls="", zorder=5, **POST_STYLE)
    lat0 = float(np.mean(ll[:, 1]))
    ax.set_aspect(1.0 / np.cos(np.radians(lat0)))
    pad = 0.05
    ax.set_xlim(ll[:, 0].min() - 4 * pad, ll[:, 0].max() + 4 * pad)
    ax.set_ylim(ll[:, 1].min() - 3 * pad, ll[:, 1].max() + 3 * pad)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.1f}°E"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:.1f}°N"))
    ax.grid(True, color="#555555", lw=0.4, alpha=0.5, ls=":")
    ax.set_axisbelow(False)
    km_per_deg = 111.32 * np.cos(np.radians(lat0))
    ax.add_artist(AnchoredSizeBar(ax.transData, SCALE_KM / km_per_deg, f"{SCALE_KM:.0f} km",
                                  "lower right", pad=0.6, frameon=True, size_vertical=0.004,
                                  borderpad=0.5))
    if basemap:
        _basemap(ax)
    if values is not None:
        fig = ax.get_figure()
        assert fig is not None
        fig.colorbar(coll, ax=ax, shrink=0.7, label=cbar_label)
    ax.legend(handles=legend_handles(values is None) + list(extra_handles), loc="upper center",
              bbox_to_anchor=(0.5, -0.06), ncol=3, fontsize=8, frameon=False)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(title)
    names = [theatre.names[h] for h in (theatre.try_resolve(n) for n in label_towns)
             if h is not None]
    if names:
        place_labels(ax, ll[[theatre.names.index(n) for n in names]], names)
    return ax


def _basemap(ax: Axes) -> None:
    """Web tiles under the cells (contextily), or a warning when they cannot be had."""
    try:
        import contextily as cx  # optional: never a dependency of the project
    except ImportError:
        warnings.warn("basemap: contextily is not installed; map drawn without it",
                      stacklevel=3)
        return
    try:
        cx.add_basemap(ax, crs="EPSG:4326", source=cx.providers.CartoDB.PositronNoLabels,
                       zorder=0)
    except Exception as exc:  # network or tile-server failure: the map stays usable
        warnings.warn(f"basemap: tiles unavailable ({type(exc).__name__}); map drawn "
                      "without them", stacklevel=3)
