"""The displacement fan chart, and the bar charts of the sensitivity and selection analyses."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from sim.plots.common import OPP_COLOUR, axes_or_new, date_axis


def plot_displacement_fan(table: pd.DataFrame, *, label: str = "", colour: str = OPP_COLOUR,
                          ax: Axes | None = None) -> Axes:
    """Displaced people by date (fan of the replicas' quantiles) with the article's figures:
    filled the fitted ones, open the ones only shown; bars: their assumed relative error (1 sd).
    ``table`` is :func:`sim.displacement.tables.run_table`."""
    ax = axes_or_new(ax, (9, 5))
    dates = pd.to_datetime(table["date"])
    k = 1e-3
    ax.fill_between(dates, table["q05"] * k, table["q95"] * k, color=colour, alpha=0.15,
                    label=f"{label} 5–95 %".strip())
    ax.fill_between(dates, table["q25"] * k, table["q75"] * k, color=colour, alpha=0.3,
                    label=f"{label} 25–75 %".strip())
    ax.plot(dates, table["mean"] * k, color=colour, lw=2, label="mean")
    rec = table.dropna(subset=["recorded"])
    for fitted, face, name in ((True, "k", "recorded (fitted)"),
                               (False, "white", "recorded (shown only)")):
        r = rec[rec["fitted"].astype(bool) == fitted]
        if len(r):
            y = r["recorded"].to_numpy(float) * k
            err = y * r["recorded_rel_error_assumed"].to_numpy(float)
            ax.errorbar(pd.to_datetime(r["date"]), y, yerr=err, fmt="o", mfc=face, mec="k",
                        ecolor="k", capsize=3, zorder=5, label=name)
    ax.set_ylabel("people displaced since 19 Dec (thousands)")
    ax.set_title("Displacement: model against the article's figures")
    date_axis(ax)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return ax


def plot_indices(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Sobol first-order (S1) and total (ST) indices with their 95 % bootstrap intervals: one
    panel per outcome, parameters down the side. ``table``: :func:`sim.sensitivity.sobol_indices`.
    Returns the first panel (``ax``, if given, is used for a single outcome only)."""
    outcomes = list(dict.fromkeys(table["outcome"]))
    params = list(dict.fromkeys(table["param"]))
    if ax is not None and len(outcomes) == 1:
        axes = [ax]
    else:
        _, arr = plt.subplots(1, len(outcomes), figsize=(3.2 * len(outcomes) + 2.5,
                                                          0.35 * len(params) + 1.5),
                              sharey=True, squeeze=False)
        axes = list(arr[0])
    y0 = np.arange(len(params))
    for a, o in zip(axes, outcomes, strict=True):
        t = table[table["outcome"] == o].set_index("param").reindex(params)
        for col, dy, colour, name in (("S1", -0.18, "#1f77b4", "first order"),
                                      ("ST", 0.18, "#d62728", "total")):
            v = t[col].to_numpy(float)
            lo, hi = t[f"{col}_lo"].to_numpy(float), t[f"{col}_hi"].to_numpy(float)
            a.barh(y0 + dy, v, height=0.36, color=colour, alpha=0.8, label=name,
                   xerr=[np.maximum(v - lo, 0), np.maximum(hi - v, 0)],
                   error_kw={"lw": 0.8, "capsize": 2})
        a.axvline(0, color="k", lw=0.6)
        a.set_title(o, fontsize=10)
        a.grid(alpha=0.3, axis="x")
        a.set_xlabel("Sobol index")
    axes[0].set_yticks(y0)
    axes[0].set_yticklabels([p.replace("modifiers.", "") for p in params], fontsize=8)
    axes[0].invert_yaxis()
    axes[-1].legend(fontsize=8, loc="lower right")
    return axes[0]


def plot_model_probabilities(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Posterior model probabilities with their Monte Carlo 95 % intervals, one group of bars
    per prior setting. ``table``: :func:`sim.selection.select` (``probabilities``)."""
    ax = axes_or_new(ax, (9, 4.5))
    settings = list(dict.fromkeys(table["prior"]))
    models = list(dict.fromkeys(table["model"]))
    w = 0.8 / len(settings)
    x0 = np.arange(len(models))
    for j, s in enumerate(settings):
        t = table[table["prior"] == s].set_index("model").reindex(models)
        p = t["p"].to_numpy(float)
        ax.bar(x0 - 0.4 + w * (j + 0.5), p, width=w, label=f"prior: {s}",
               yerr=[np.maximum(p - t["p_lo"].to_numpy(float), 0),
                     np.maximum(t["p_hi"].to_numpy(float) - p, 0)], capsize=3)
    ax.axhline(1 / len(models), color="k", ls=":", lw=1, label="prior probability")
    ax.set_xticks(x0)
    ax.set_xticklabels(models, fontsize=9)
    ax.set_ylabel("posterior model probability")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return ax
