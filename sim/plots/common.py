"""Plots of runs, comparisons and the calibration's fit: functions of data that take ``ax=None``
and return the Axes (the plots of scores against the record are in :mod:`sim.plots.calibration`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from numpy.typing import NDArray

from sim.theatre.theatre import GOVERNMENT, Theatre

GOV_COLOUR = "#c0392b"
OPP_COLOUR = "#27ae60"
KEY_TOWNS = ("Idlib", "Ma'arrat al-Nu'man", "Saraqib", "Ariha", "Jisr al-Shughur", "Aleppo",
             "Khan Shaykhun", "Atarib", "Kafr Nabl", "Abu al-Duhur", "Anadan", "Sarmada")


def save(ax: Axes, path: str | Path, dpi: int = 120) -> Path:
    """Save the figure holding ``ax`` to ``path`` and close it."""
    fig = ax.get_figure()
    assert isinstance(fig, Figure)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def axes_or_new(ax: Axes | None, figsize: tuple[float, float] = (8, 8)) -> Axes:
    """``ax``, or the Axes of a new figure of ``figsize``."""
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=figsize)
    return new


def date_axis(ax: Axes) -> None:
    """Concise date ticks on the x axis."""
    loc = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


def plot_theatre(theatre: Theatre, control: NDArray[np.integer] | None = None, *,
                 values: NDArray[np.floating] | None = None, cmap: str = "RdYlGn_r",
                 symmetric: bool = False, vmax: float | None = None,
                 title: str = "", label_towns: Sequence[str] = KEY_TOWNS,
                 ax: Axes | None = None) -> Axes:
    """Map of the theatre: Voronoi cells coloured by control (or by ``values``), edges, M4/M5,
    Turkish posts and labels of the main towns. Axes are projected km from the theatre centre.

    With ``values``, cells are coloured by value instead; ``symmetric`` centres the colour scale
    on zero (for differences)."""
    ax = axes_or_new(ax)
    ctrl = theatre.initial_control if control is None else np.asarray(control)
    norm = None
    if values is not None:
        finite = np.asarray(values)[np.isfinite(values)]
        top = vmax if vmax is not None else (float(np.abs(finite).max()) if len(finite) else 1.0)
        top = top or 1.0
        norm = (matplotlib.colors.Normalize(-top, top) if symmetric
                else matplotlib.colors.Normalize(min(0.0, float(finite.min(initial=0.0))), top))
        cm = matplotlib.colormaps[cmap]
    for i, cell in enumerate(theatre.cells):
        if values is not None and norm is not None:
            v = values[i]
            colour = "#dddddd" if not np.isfinite(v) else cm(norm(v))
        else:
            colour = GOV_COLOUR if ctrl[i] == GOVERNMENT else OPP_COLOUR
        for poly in getattr(cell, "geoms", [cell]):
            x, y = poly.exterior.xy
            ax.fill(x, y, color=colour, alpha=0.45, lw=0.3, ec="white")
    xy = theatre.xy_km
    for i, j, data in theatre.graph.edges(data=True):
        road = data["road"]
        style = {"M4": ("#1f4e79", 2.2), "M5": ("#000000", 2.2)}.get(road, ("#777777", 0.4))
        ax.plot(xy[[i, j], 0], xy[[i, j], 1], color=style[0], lw=style[1],
                zorder=3 if road != "local" else 2)
    ax.scatter(xy[:, 0], xy[:, 1], s=6, c="k", zorder=4)
    posts = np.unique(theatre.post_town)
    ax.scatter(xy[posts, 0], xy[posts, 1], marker="^", s=60, c="#2c3e50", ec="white", zorder=5,
               label="Turkish observation post")
    for name in label_towns:
        hit = theatre.try_resolve(name)
        if hit is not None:
            ax.annotate(theatre.names[hit], xy[hit], xytext=(3, 3), textcoords="offset points",
                        fontsize=8, weight="bold", zorder=6)
    if values is not None and norm is not None:
        sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cm)
        ax.figure.colorbar(sm, ax=ax, shrink=0.6)
    else:
        handles = [Patch(color=GOV_COLOUR, alpha=0.5, label="government"),
                   Patch(color=OPP_COLOUR, alpha=0.5, label="opposition"),
                   matplotlib.lines.Line2D([], [], color="k", lw=2, label="M5"),
                   matplotlib.lines.Line2D([], [], color="#1f4e79", lw=2, label="M4"),
                   matplotlib.lines.Line2D([], [], marker="^", ls="", color="#2c3e50",
                                           label="Turkish post")]
        ax.legend(handles=handles, loc="lower left", fontsize=8)
    ax.set_aspect("equal")
    ax.set_xlabel("km east of 36.7°E")
    ax.set_ylabel("km north of 35.8°N")
    ax.set_title(title)
    return ax


def plot_territory_fan(territory: pd.DataFrame, *, recorded: pd.DataFrame | None = None,
                       baseline_km2: float = 0.0, label: str = "", colour: str = GOV_COLOUR,
                       ax: Axes | None = None) -> Axes:
    """Fan chart of government-held area gained since the start (km²) against the date.

    ``territory`` is :meth:`sim.results.Ensemble.territory_table`; ``recorded`` has columns
    ``date, value`` (recorded captured area, km²)."""
    ax = axes_or_new(ax, (9, 5))
    dates = pd.to_datetime(territory["date"])
    base = baseline_km2 or float(territory["q50_km2"].iloc[0])
    ax.fill_between(dates, territory["q05_km2"] - base, territory["q95_km2"] - base,
                    color=colour, alpha=0.15, label=f"{label} 5–95 %".strip())
    ax.fill_between(dates, territory["q25_km2"] - base, territory["q75_km2"] - base,
                    color=colour, alpha=0.3, label=f"{label} 25–75 %".strip())
    ax.plot(dates, territory["q50_km2"] - base, color=colour, lw=2, label=f"{label} median".strip())
    if recorded is not None and len(recorded):
        ax.scatter(pd.to_datetime(recorded["date"]), recorded["value"], color="k", zorder=5,
                   label="recorded")
    ax.set_ylabel("area taken by the government since 19 Dec (km²)")
    date_axis(ax)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_timeline(log: pd.DataFrame, towns: Sequence[str] = KEY_TOWNS, *,
                  start: str = "2019-12-19", ax: Axes | None = None) -> Axes:
    """One replica's timeline: captures (▲) and recaptures (▼) by day, one row per town that
    changed hands, key towns labelled in bold."""
    ax = axes_or_new(ax, (10, 8))
    ev = log[log["event"].isin(["captured", "recaptured_by_opposition"])]
    order = ev.groupby("town")["time"].min().sort_values()
    rows = {t: i for i, t in enumerate(order.index)}
    t0 = pd.Timestamp(start)
    for kind, marker, colour in (("captured", "^", GOV_COLOUR),
                                 ("recaptured_by_opposition", "v", OPP_COLOUR)):
        sub = ev[ev["event"] == kind]
        ax.scatter(t0 + pd.to_timedelta(sub["time"], unit="D"), sub["town"].map(rows),
                   marker=marker, c=colour, s=18, label=kind.replace("_", " "))
    ax.set_yticks(range(len(rows)))
    labels = ax.set_yticklabels(list(rows), fontsize=6)
    for lab in labels:
        if lab.get_text() in towns:
            lab.set_fontweight("bold")
    ax.invert_yaxis()
    date_axis(ax)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def plot_difference_fan(diff: pd.DataFrame, *, label: str = "B - A",
                        ax: Axes | None = None) -> Axes:
    """Paired difference in government-held area over time (km²): mean with its 95 % CI, and the
    5-95 % range of per-replica differences. ``diff`` is ``Comparison.territory``."""
    ax = axes_or_new(ax, (9, 5))
    dates = pd.to_datetime(diff["date"])
    ax.fill_between(dates, diff["q05_km2"], diff["q95_km2"], color="#7f8c8d", alpha=0.2,
                    label="replicas, 5–95 %")
    ax.fill_between(dates, diff["ci_low_km2"], diff["ci_high_km2"], color="#2c3e50", alpha=0.5,
                    label="mean, 95 % CI")
    ax.plot(dates, diff["mean_km2"], color="#2c3e50", lw=2, label=f"mean ({label})")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_ylabel("difference in government-held area (km²)")
    date_axis(ax)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_pit_histogram(pit: NDArray[np.floating], *, bins: int = 10,
                       ax: Axes | None = None) -> Axes:
    """Histogram of the (randomised) PIT of the recorded dates; flat if the forecast is
    calibrated, U-shaped if too confident, hump-shaped if too vague, sloped if biased. The band
    is the 90 % range of a bin count under uniformity (binomial)."""
    ax = axes_or_new(ax, (6, 4))
    pit = np.asarray(pit, float)
    pit = pit[np.isfinite(pit)]
    n = len(pit)
    ax.hist(pit, bins=list(np.linspace(0, 1, bins + 1)), color="#34495e", alpha=0.8,
            ec="white")
    if n:
        from scipy import stats

        lo, hi = stats.binom.ppf([0.05, 0.95], n, 1 / bins)
        ax.axhspan(lo, hi, color="#e67e22", alpha=0.2, label="90 % band under uniformity")
        ax.axhline(n / bins, color="#e67e22", lw=1)
        ax.legend(fontsize=8)
    ax.set_xlabel("PIT of the recorded capture date")
    ax.set_ylabel("towns")
    return ax


def plot_convergence(trials: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Objective of each fitting trial and the best so far (``trials`` has ``number, value``)."""
    ax = axes_or_new(ax, (8, 4))
    ax.plot(trials["number"], trials["value"], ".", color="#95a5a6", label="trial")
    ax.plot(trials["number"], trials["value"].cummin(), color="#c0392b", lw=2,
            label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("weighted mean score (days)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_posterior_pairs(post: pd.DataFrame, names: Sequence[str], *,
                         weight: str = "weight") -> Axes:
    """Pair plot of weighted posterior samples: marginals on the diagonal, scatter below.
    Returns the top-left Axes (its figure holds the grid)."""
    k = len(names)
    fig, axes = plt.subplots(k, k, figsize=(2.2 * k + 1, 2.2 * k + 1), squeeze=False)
    w = post[weight].to_numpy(float) if weight in post else None
    short = [n.split(".")[-1] if n.startswith("params.") else ".".join(n.split(".")[1:])
             for n in names]
    for i, yi in enumerate(names):
        for j, xj in enumerate(names):
            ax = axes[i, j]
            if i == j:
                ax.hist(post[xj], bins=20, weights=w, color="#2c3e50", alpha=0.8)
            elif i > j:
                ax.scatter(post[xj], post[yi], s=6, alpha=0.5,
                           c=w if w is not None else None, cmap="viridis")
            else:
                ax.axis("off")
                continue
            if i == k - 1:
                ax.set_xlabel(short[j], fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(short[i], fontsize=7)
            ax.tick_params(labelsize=6)
    fig.suptitle("Posterior (ABC-SMC)")
    return axes[0, 0]
