"""Figures of a run or a comparison against the date: the territory fan chart, the paired
difference, one replica's timeline and the ensemble's capture-date distributions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from numpy.typing import NDArray

from sim.plots.style import (
    GOV_COLOUR,
    KEY_TOWNS,
    OPP_COLOUR,
    Period,
    axes_or_new,
    date_axis,
    shade_periods,
)

#: Lever markers of a comparison: (label, date the two scenarios start to differ).
Lever = tuple[str, dt.date]


def _num(day: dt.date) -> float:
    """Matplotlib's number of a date (what a date axis plots)."""
    return float(mdates.date2num(pd.Timestamp(day)))


def plot_territory_fan(territory: pd.DataFrame, *, recorded: pd.DataFrame | None = None,
                       periods: Sequence[Period] = (), baseline_km2: float = 0.0,
                       label: str = "", colour: str = GOV_COLOUR, title: str = "",
                       ax: Axes | None = None) -> Axes:
    """Fan chart of government-held area gained since the start (km²) against the date, with
    ``periods`` (weather pause, ceasefires, Spring Shield...) shaded and labelled.

    ``territory`` is :meth:`sim.results.Ensemble.territory_table`; ``recorded`` has columns
    ``date, value`` (the article's captured area, km²; optional ``certainty``), drawn as points
    labelled with their value and date."""
    ax = axes_or_new(ax, (10, 5.5))
    dates = pd.to_datetime(territory["date"])
    base = baseline_km2 or float(territory["q50_km2"].iloc[0])
    shade_periods(ax, periods)
    ax.fill_between(dates, territory["q05_km2"] - base, territory["q95_km2"] - base,
                    color=colour, alpha=0.15, lw=0, label=f"{label} 5–95 %".strip())
    ax.fill_between(dates, territory["q25_km2"] - base, territory["q75_km2"] - base,
                    color=colour, alpha=0.35, lw=0, label=f"{label} 25–75 %".strip())
    ax.plot(dates, territory["q50_km2"] - base, color=colour, lw=2,
            label=f"{label} median".strip())
    if recorded is not None and len(recorded):
        rdates = pd.to_datetime(recorded["date"])
        ax.scatter(rdates, recorded["value"], color="k", marker="D", s=30, zorder=5,
                   label="recorded (seed article)")
        cert = recorded["certainty"] if "certainty" in recorded else [""] * len(recorded)
        for d, v, c in zip(rdates, recorded["value"], cert, strict=True):
            note = f"{v:,.0f} km², {d.day} {d:%b}" + (f" ({c})" if c else "")
            ax.annotate(note, (d, v), xytext=(-6, 6), textcoords="offset points", ha="right",
                        fontsize=8)
    ax.set_ylabel(f"area taken by the government since {dates.iloc[0]:%d %b %Y} (km²)")
    date_axis(ax)
    # below the Axes: inside, it hides part of the fan of one run or another
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=4,
              frameon=False)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    return ax


def plot_difference_fan(diff: pd.DataFrame, *, label: str = "B - A", levers: Sequence[Lever] = (),
                        title: str = "", ax: Axes | None = None) -> Axes:
    """Paired difference in government-held area over time (km²): the 5-95 % range of
    per-replica differences, the mean and its 95 % CI (a contrasting band with edges, its
    half-width at the end in the legend), and a dashed line at each lever's start.
    ``diff`` is ``Comparison.territory``."""
    ax = axes_or_new(ax, (10, 5.5))
    dates = pd.to_datetime(diff["date"])
    ax.fill_between(dates, diff["q05_km2"], diff["q95_km2"], color="#bdbdbd", alpha=0.45, lw=0,
                    label="per-replica difference, 5–95 %")
    half = float(diff["ci_high_km2"].iloc[-1] - diff["ci_low_km2"].iloc[-1]) / 2
    ax.fill_between(dates, diff["ci_low_km2"], diff["ci_high_km2"], color="#E69F00", alpha=0.8,
                    lw=0, zorder=3, label=f"mean, 95 % CI (±{half:,.0f} km² at the end)")
    for col in ("ci_low_km2", "ci_high_km2"):
        ax.plot(dates, diff[col], color="#8a5a00", lw=0.6, zorder=4)
    ax.plot(dates, diff["mean_km2"], color="k", lw=1.0, zorder=5, label=f"mean ({label})")
    ax.axhline(0, color="k", lw=0.8)
    for name, day in levers:
        ax.axvline(_num(day), color="#CC79A7", lw=1.5, ls="--", zorder=6)
        ax.annotate(f"{name}: {day.day} {day:%b}", (pd.Timestamp(day), 1.0),
                    xycoords=("data", "axes fraction"), xytext=(3, -4),
                    textcoords="offset points", rotation=90, va="top", fontsize=8,
                    color="#8e3b6e")
    ax.set_ylabel("difference in government-held area (km²)")
    date_axis(ax)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    ax.set_title(title or f"Paired difference in government-held area: {label}")
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


def plot_capture_distributions(cap_hist: NDArray[np.integer], names: Sequence[str],
                               towns: Sequence[str], *, start: dt.date,
                               recorded: dict[str, dt.date] | None = None,
                               ax: Axes | None = None) -> Axes:
    """Distribution of the first-capture date of ``towns`` across the replicas: one row per
    town, a histogram by day scaled to the row (the share of replicas per day), the recorded
    date as a black diamond and P(captured by the end) at the right.

    ``cap_hist`` is :attr:`sim.results.Ensemble.cap_hist` (towns x days + 1, last column =
    never), ``names`` its towns."""
    ax = axes_or_new(ax, (8, 0.32 * len(towns) + 1.5))
    n_days = cap_hist.shape[1] - 1
    t0 = pd.Timestamp(start)
    days = t0 + pd.to_timedelta(np.arange(n_days + 1), unit="D")
    for row, town in enumerate(towns):
        h = np.asarray(cap_hist[list(names).index(town)], float)
        total = h.sum()
        if total == 0:
            continue
        share = h[:n_days] / total
        height = 0.85 * share / max(share.max(), 1e-12)
        ax.fill_between(days, row - np.append(height, 0), row, step="post", color=GOV_COLOUR,
                        alpha=0.7, lw=0)
        ax.annotate(f"{1 - h[n_days] / total:.0%}", (1.0, row), xycoords=("axes fraction",
                    "data"), xytext=(4, 0), textcoords="offset points", va="center",
                    fontsize=7)
        if recorded and town in recorded:
            ax.plot([_num(recorded[town])], [row - 0.3], "D", color="k", ms=4)
    ax.plot([], [], "D", color="k", ms=4, label="recorded capture")
    ax.fill_between([], [], color=GOV_COLOUR, alpha=0.7, label="simulated: share of replicas "
                    "captured that day (scaled per row)")
    ax.set_yticks(range(len(towns)))
    ax.set_yticklabels(list(towns), fontsize=7)
    ax.set_ylim(len(towns) - 0.5, -1.0)
    ax.set_xlim(_num(days[0]), _num(days[-1]))
    ax.annotate("P(captured)", (1.0, 1.0), xycoords="axes fraction", xytext=(2, 2),
                textcoords="offset points", fontsize=7, va="bottom")
    date_axis(ax)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=2,
              frameon=False)
    return ax


def plot_des_overview(log: pd.DataFrame, cap_hist: NDArray[np.integer], names: Sequence[str],
                      n: int, *, start: dt.date, recorded: dict[str, dt.date],
                      towns: Sequence[str] = KEY_TOWNS) -> tuple[Axes, Axes]:
    """The SimPy engine's picture: replica 0's timeline beside the capture-date distributions
    of the key towns and the recorded captures across all ``n`` replicas."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(16, 9), width_ratios=(1.1, 1))
    plot_timeline(log, towns, start=start.isoformat(), ax=left)
    left.set_title("Replica 0: every capture and recapture", fontsize=10)
    rows = sorted(recorded, key=lambda t: recorded[t])
    rows += [t for t in towns if t in names and t not in recorded]
    plot_capture_distributions(cap_hist, names, rows, start=start, recorded=recorded, ax=right)
    right.set_title(f"All {n:,} replicas: first-capture date of the recorded captures and key "
                    "towns", fontsize=10)
    fig.suptitle("SimPy engine: one replica in full and the ensemble", fontsize=12)
    fig.tight_layout()
    return left, right
