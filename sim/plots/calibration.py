"""Plots of the scores against the record: every dated target, the error map, the bursts and
the end state. Inputs are the target score table of
:func:`sim.calibration.evaluate.score_targets` (column ``group`` tells the kinds apart)."""

from __future__ import annotations

import datetime as dt

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.plots.geomap import cell_lonlat, plot_theatre, town_lonlat
from sim.plots.posterior import plot_abc_generations, plot_posterior_marginals, plot_sbc_ranks
from sim.plots.style import axes_or_new, date_axis
from sim.theatre.theatre import Theatre

PHASE_COLOURS = {"dec_jan": "#2980b9", "jan_feb": "#8e44ad", "late_feb": "#d35400"}
#: Marker of each dated target kind (point date / "by" bound drawn hollow).
KIND_MARKERS = {"captures": "o", "recaptures": "s", "retakes": "D"}
NEVER_COLOUR = "#2c3e50"


def _dated(terms: pd.DataFrame) -> pd.DataFrame:
    """Dated targets grouped under their node: nodes by their earliest recorded date, the
    node's own targets before its members'."""
    t = terms[terms["group"].isin(list(KIND_MARKERS))].copy()
    first = t.groupby("node")["day"].transform("min")
    order = {"captures": 0, "retakes": 1, "recaptures": 2}
    t["k"] = t["group"].map(order)
    t["own"] = (t["role"] != "node").astype(int)
    return t.assign(first=first).sort_values(["first", "node", "k", "own", "day", "name"])


def plot_capture_dates(terms: pd.DataFrame, *, start: dt.date | str = "2019-12-19",
                       horizon: int = 78, ax: Axes | None = None) -> Axes:
    """Recorded vs simulated dates of every dated target: captures (circles), recaptures
    (squares), retakings (diamonds), "captured by" bounds hollow, coloured by phase. Each row's
    bar is the simulated 80 % interval of the day array that answers it (a member shares its
    node's), with the median as a tick; targets whose median is "never" get a black cross at the
    end of the run. Members are listed under their node, indented."""
    t = _dated(terms).reset_index(drop=True)
    ax = axes_or_new(ax, (10, max(6.0, 0.16 * len(t) + 1.5)))
    t0 = float(mdates.date2num(pd.Timestamp(str(start))))
    end = t0 + horizon
    for i in range(len(t)):
        r = t.iloc[i]
        lo, hi, med = float(r["q10"]), float(r["q90"]), float(r["median_day"])
        if np.isfinite(lo):
            top = hi if np.isfinite(hi) else float(horizon)
            ax.plot([t0 + lo, t0 + top], [i, i], color="#95a5a6", lw=3.5, alpha=0.7,
                    solid_capstyle="butt")
            if not np.isfinite(hi):
                ax.plot([end], [i], ">", color="#95a5a6", ms=5)
        if np.isfinite(med):
            ax.plot([t0 + med], [i], "|", color="k", ms=9, mew=1.8)
        else:
            ax.plot([end + 1.5], [i], "x", color=NEVER_COLOUR, ms=6, mew=1.8)
        colour = PHASE_COLOURS.get(str(r["phase"]), "k")
        by = r["kind"] == "by"
        ax.plot([t0 + float(r["day"])], [i], KIND_MARKERS[str(r["group"])], ms=5.5,
                mfc="none" if by else colour, mec=colour, mew=1.4)
        if by:  # a bound: the record allows any earlier day
            ax.annotate("", xy=(t0 + float(r["day"]) - 4, i), xytext=(t0 + float(r["day"]), i),
                        arrowprops={"arrowstyle": "->", "color": colour, "lw": 0.8})
    labels = [("" if r["role"] == "node" else "   · ") + str(r["name"])
              + ("" if r["role"] == "node" or r["name"] == r["town"] else f" ({r['town']})")
              for _, r in t.iterrows()]
    ax.set_yticks(range(len(t)))
    ax.set_yticklabels(labels, fontsize=6)
    ax.set_ylim(len(t) - 0.5, -0.5)
    ax.axvline(end, color="k", lw=0.8, ls=":")
    handles: list[Line2D | Patch] = [
               Line2D([], [], color="#95a5a6", lw=4, label="simulated 80 % interval"),
               Line2D([], [], marker="|", ls="", color="k", ms=9, mew=2,
                      label="simulated median"),
               Line2D([], [], marker="x", ls="", color=NEVER_COLOUR, mew=2,
                      label="median: never (not by the end of the run)")]
    handles += [Line2D([], [], marker=m, ls="", color="#555555", label=f"recorded {g[:-1]}")
                for g, m in KIND_MARKERS.items()]
    handles.append(Line2D([], [], marker="o", ls="", mfc="none", mec="#555555",
                          label="recorded bound: on or before"))
    handles += [Patch(color=c, label=p) for p, c in PHASE_COLOURS.items()]
    ax.legend(handles=handles, fontsize=7, loc="lower left", framealpha=0.9)
    date_axis(ax)
    ax.grid(alpha=0.3, axis="x")
    ax.set_title("Every dated target: recorded (markers) and simulated (bars); members indented "
                 "under their node", fontsize=9)
    return ax


def plot_error_map(theatre: Theatre, terms: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Median simulated minus recorded first-capture day, per node (the median over the node's
    point-dated capture targets, members included). Nodes whose simulated median is "never"
    are drawn black and hatched, not folded into the colour scale; nodes without a point
    target are grey."""
    cap = terms[(terms["group"] == "captures") & (terms["kind"] == "date")]
    err = np.full(theatre.n_towns, np.nan)
    never = np.zeros(theatre.n_towns, bool)
    for node in np.unique(cap["node"].to_numpy(int)):
        g = cap[cap["node"] == node]
        med = g["median_day"].to_numpy(float)
        if np.isfinite(med).all():
            err[node] = float(np.median(med - g["day"].to_numpy(float)))
        else:
            never[node] = True
    handles = [Patch(facecolor=NEVER_COLOUR, hatch="xx", ec="white",
                     label="median: never captured"),
               Patch(color="#d9d9d9", label="no point-dated target")]
    ax = plot_theatre(theatre, values=err, cmap="RdBu_r", symmetric=True, ax=ax,
                      cbar_label="median simulated − recorded capture day (days; + = late)",
                      extra_handles=handles,
                      title="Median simulated minus recorded capture day, per node")
    for i in np.flatnonzero(never):
        for poly in cell_lonlat(theatre, int(i)):
            ax.fill(poly[:, 0], poly[:, 1], facecolor=NEVER_COLOUR, hatch="xx", ec="white",
                    lw=0.3, zorder=1.5)
    return ax


def plot_bursts(terms: pd.DataFrame) -> Axes:
    """One panel per count window: the simulated distribution of the number of localities taken
    (or retaken) in the window, the recorded count (solid; an arrow for "at least"), the
    record's replay (dashed) and the naive model (dotted). Returns the first panel."""
    c = terms[terms["group"] == "counts"].reset_index(drop=True)
    k = max(len(c), 1)
    cols = min(4, k)
    rows = (k + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.8 * rows), squeeze=False)
    for ax, (_, r) in zip(axes.ravel(), c.iterrows(), strict=False):
        dist = np.asarray(r["distribution"], float)
        p = dist / dist.sum()
        ax.bar(np.arange(len(p)), p, width=1.0, color="#7f8c8d", alpha=0.8)
        rec = float(r["recorded"])
        ax.axvline(rec, color="#c0392b", lw=2)
        if r["kind"] == "at_least":
            ax.annotate("", xy=(rec + 6, 0.9), xytext=(rec, 0.9), xycoords=("data", "axes "
                        "fraction"), arrowprops={"arrowstyle": "->", "color": "#c0392b"})
        ax.axvline(float(r["replay"]), color="#2980b9", lw=1.5, ls="--")
        if r.get("naive_count") is not None and np.isfinite(r["naive_count"]):
            ax.axvline(float(r["naive_count"]), color="#27ae60", lw=1.5, ls=":")
        ax.set_xlim(-0.5, max(len(p), rec + 8, float(r["replay"]) + 2))
        ax.set_title(f"{r['name']}: {r['target']}\nCRPS {r['score']:.1f} localities",
                     fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("localities", fontsize=7)
    for ax in axes.ravel()[len(c):]:
        ax.axis("off")
    axes[0, 0].set_ylabel("share of replicas", fontsize=7)
    fig.legend(handles=[Patch(color="#7f8c8d", label="simulated"),
                        Line2D([], [], color="#c0392b", lw=2, label="recorded (arrow: at least)"),
                        Line2D([], [], color="#2980b9", ls="--",
                               label="replay of the dated record"),
                        Line2D([], [], color="#27ae60", ls=":", label="naive model")],
               loc="lower center", ncol=4, fontsize=7, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle("Bursts: localities changing hands in the recorded windows", fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return axes[0, 0]


def plot_end_state(theatre: Theatre, terms: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Map of each scored node's Brier contribution on 6 Mar (``(P(government) - held)^2``),
    with the recorded holder marked (G government, O opposition); silent nodes grey."""
    e = terms[terms["group"] == "end_state"]
    vals = np.full(theatre.n_towns, np.nan)
    vals[e["node"].to_numpy(int)] = e["score"].to_numpy(float)
    total = float((e["score"] * e["weight"]).sum() / e["weight"].sum()) if len(e) else float("nan")
    handles = [Line2D([], [], ls="", marker="$G$", color="#7b241c",
                      label="recorded: government"),
               Line2D([], [], ls="", marker="$O$", color="#08306b",
                      label="recorded: opposition")]
    ax = plot_theatre(theatre, values=vals, cmap="Reds", vmin=0.0, vmax=1.0, ax=ax,
                      label_towns=(), extra_handles=handles,
                      cbar_label="Brier contribution (P(government) − held)²",
                      title=f"End state, 00:00 6 Mar: Brier contribution per node "
                            f"(weighted mean {total:.3f}; grey = the article is silent)")
    ll = town_lonlat(theatre)
    for _, r in e.iterrows():
        i = int(r["node"])
        gov = r["kind"] == "government"
        ax.annotate("G" if gov else "O", tuple(ll[i]), xytext=(4, 4), textcoords="offset points",
                    fontsize=8, weight="bold", color="#7b241c" if gov else "#08306b", zorder=7)
    return ax


__all__ = ["PHASE_COLOURS", "plot_abc_generations", "plot_bursts", "plot_capture_dates",
           "plot_end_state", "plot_error_map", "plot_posterior_marginals", "plot_sbc_ranks"]

