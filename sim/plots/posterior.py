"""Figures of the calibration's posterior and its checks: the pair plot over the prior ranges,
the ABC-SMC generations, the simulation-based-calibration ranks and the PIT histogram."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from numpy.typing import NDArray

from sim.plots.style import axes_or_new

_ABBREV = {"spring_shield": "SS", "turkish_artillery": "TA"}
FIT_COLOUR = "#D55E00"
PRIOR_COLOUR = "#E69F00"
POST_COLOUR = "#0072B2"


def _short(name: str) -> str:
    """``modifiers.spring_shield.counterattack_mult`` -> ``SS counterattack_mult``."""
    if not name.startswith("modifiers."):
        return name
    _, mod, par = name.split(".")
    return f"{_ABBREV.get(mod, mod)} {par}"


def _wrapped(name: str, width: int = 18) -> str:
    """:func:`_short` broken into lines of about ``width`` characters after spaces or ``_``."""
    lines, cur = [], ""
    for part in re.findall(r"[^ _]+[ _]?", _short(name)):
        if cur and len(cur) + len(part.rstrip()) > width:
            lines.append(cur.rstrip())
            cur = ""
        cur += part
    return "\n".join([*lines, cur.rstrip()])


def weighted_median(x: NDArray[np.floating], w: NDArray[np.floating]) -> float:
    """The smallest ``x`` at which the cumulative weight reaches half the total."""
    order = np.argsort(x)
    cum = np.cumsum(np.asarray(w, float)[order])
    return float(np.asarray(x, float)[order][np.searchsorted(cum, 0.5 * cum[-1])])


def plot_posterior_marginals(post: pd.DataFrame, dims: Sequence[Any], *,
                             weight: str = "weight", colour: str = "distance",
                             fitted: Mapping[str, float] | None = None) -> Axes:
    """Pair plot of a weighted posterior over the calibrated dimensions, each axis spanning the
    prior's range (written above each column): weighted marginal histograms over the prior
    density on the diagonal; below it the particles, sized by weight and coloured by column
    ``colour`` (the ABC distance to the record; the weight if the column is missing) with a
    colour bar; the fitted point (``fitted``; default the weighted posterior median) as a line
    and a cross. ``dims``: :class:`sim.calibration.space.Dim`. Returns the top-left Axes."""
    k = len(dims)
    size = 1.75 * k + 1.5
    fig, axes = plt.subplots(k, k, figsize=(size, size), squeeze=False)
    w = post[weight].to_numpy(float)
    w = w / w.sum()
    fit = {d.name: (fitted[d.name] if fitted is not None else
                    weighted_median(post[d.name].to_numpy(float), w)) for d in dims}
    order = np.argsort(w)  # heaviest particles drawn last, on top
    if colour in post:
        c = post[colour].to_numpy(float)
        c_label = "ABC distance of the particle to the record (days; lower = closer)"
    else:
        c, c_label = w, "particle weight (share of the population)"
    sizes = 4 + 60 * w / w.max()
    sc = None
    for i, di in enumerate(dims):
        for j, dj in enumerate(dims):
            ax = axes[i, j]
            if i < j:
                ax.axis("off")
                continue
            if i == j:
                edges = np.linspace(dj.low, dj.high, 21)
                ax.hist(post[dj.name], bins=edges, weights=w, density=True, color=POST_COLOUR,
                        alpha=0.7)
                xs = np.linspace(dj.low, dj.high, 200)
                d = dj.prior.dist()
                mass = float(d.cdf(dj.high) - d.cdf(dj.low))
                ax.plot(xs, d.pdf(xs) / mass, color=PRIOR_COLOUR, lw=1.5)
                ax.axvline(fit[dj.name], color=FIT_COLOUR, lw=2)
                ax.set_yticks([])
                ax.set_title(f"{_short(dj.name)}\nmedian {fit[dj.name]:.3g}, prior "
                             f"[{dj.low:g}, {dj.high:g}]", fontsize=10)
            else:
                sc = ax.scatter(post[dj.name].to_numpy()[order], post[di.name].to_numpy()[order],
                                s=sizes[order], c=c[order], cmap="viridis", lw=0)
                ax.plot(fit[dj.name], fit[di.name], "X", color=FIT_COLOUR, mec="k", mew=0.8,
                        ms=10)
                ax.set_ylim(di.low, di.high)
                ax.yaxis.set_major_locator(MaxNLocator(3))
            ax.set_xlim(dj.low, dj.high)
            ax.xaxis.set_major_locator(MaxNLocator(3))
            if i == k - 1:
                ax.set_xlabel(_wrapped(dj.name), fontsize=10)
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(_wrapped(di.name), fontsize=10)
            elif i != j:
                ax.set_yticklabels([])
            ax.tick_params(labelsize=9)
    fig.suptitle("Posterior of the moving-front model (ABC-SMC): each axis spans the prior's "
                 "range\n(SS: Spring Shield, TA: Turkish artillery)", fontsize=18)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.legend([Patch(color=POST_COLOUR, alpha=0.7), Line2D([0], [0], color=PRIOR_COLOUR, lw=1.5),
                Line2D([0], [0], color=FIT_COLOUR, lw=2, marker="X", mec="k", ms=10),
                Line2D([0], [0], ls="", marker="o", color="#777777", ms=8)],
               ["posterior (weighted ABC population)", "prior (truncated to its range)",
                "fitted point: weighted posterior median (the baseline's params)",
                "particle (area proportional to its weight)"],
               loc="upper right", bbox_to_anchor=(0.98, 0.9), fontsize=14)
    if sc is not None:
        cax = fig.add_axes((0.6, 0.7, 0.35, 0.015), label="<colorbar>")
        fig.colorbar(sc, cax=cax, orientation="horizontal", label=c_label)
        cax.xaxis.label.set_fontsize(13)
        cax.tick_params(labelsize=11)
    return axes[0, 0]


def plot_abc_generations(gens: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Tolerance and acceptance rate of each ABC-SMC generation."""
    ax = axes_or_new(ax, (7, 4))
    g = gens[np.isfinite(gens["epsilon"])]
    ax.plot(gens["generation"], gens["distance_median"], "o-", color="#2c3e50",
            label="median distance of the population (days)")
    ax.plot(g["generation"], g["epsilon"], "s--", color="#c0392b", label="tolerance (days)")
    ax.set_xlabel("generation")
    ax.set_ylabel("whole-record objective (days)")
    ax2 = ax.twinx()
    ax2.bar(gens["generation"], gens["acceptance_rate"], alpha=0.2, color="#27ae60")
    ax2.set_ylabel("acceptance rate (bars)")
    ax2.set_ylim(0, 1.05)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("ABC-SMC: tolerance, population distance and acceptance by generation")
    ax.grid(alpha=0.3)
    return ax


def plot_sbc_ranks(table: pd.DataFrame, names: Sequence[str], n_draws: int,
                   bins: int = 5) -> Axes:
    """Rank histograms of simulation-based calibration, one panel per parameter: the rank of
    each truth among its ``n_draws`` posterior draws, in ``bins`` bins, with the 99 % band of
    a uniform histogram (binomial). Flat: calibrated; U: too narrow; hump: too wide."""
    from scipy import stats

    k = len(names)
    cols = min(4, k)
    rows = int(np.ceil(k / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows + 0.6), squeeze=False)
    m = len(table)
    lo, hi = stats.binom.ppf([0.005, 0.995], m, 1 / bins)
    for idx, name in enumerate(names):
        ax = axes[idx // cols, idx % cols]
        u = table[f"u.{name}"].to_numpy(float)
        ax.axhspan(lo, hi, color="#bdc3c7", alpha=0.5)
        ax.axhline(m / bins, color="#7f8c8d", lw=0.8)
        ax.hist(u, bins=bins, range=(0, 1), color="#2c3e50", alpha=0.8)
        ax.set_title(_short(name), fontsize=8)
        ax.set_xlim(0, 1)
        ax.tick_params(labelsize=6)
    for idx in range(k, rows * cols):
        axes[idx // cols, idx % cols].axis("off")
    fig.suptitle(f"Simulation-based calibration: rank of the truth among {n_draws} posterior "
                 f"draws ({m} synthetic records; grey: 99 % band if uniform)", fontsize=9)
    fig.supxlabel("normalised rank (randomised within ties)", fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return axes[0, 0]


def plot_pit_histogram(pit: NDArray[np.floating], *, bins: int = 10, title: str = "",
                       ax: Axes | None = None) -> Axes:
    """Histogram of the (randomised) PIT of the recorded dates; flat if the forecast is
    calibrated, U-shaped if too confident, hump-shaped if too vague, sloped if biased. The band
    is the 90 % range of a bin count under uniformity (binomial), drawn over the bars with
    dashed edges so that it stays visible where a bar covers it."""
    ax = axes_or_new(ax, (7, 4.5))
    pit = np.asarray(pit, float)
    pit = pit[np.isfinite(pit)]
    n = len(pit)
    ax.hist(pit, bins=list(np.linspace(0, 1, bins + 1)), color="#34495e", alpha=0.85,
            ec="white", label="recorded dates", zorder=2)
    if n:
        from scipy import stats

        lo, hi = stats.binom.ppf([0.05, 0.95], n, 1 / bins)
        ax.axhspan(lo, hi, color=PRIOR_COLOUR, alpha=0.3, zorder=3,
                   label=f"90 % range of a bin under uniformity ({lo:.0f}–{hi:.0f})")
        for y in (lo, hi):
            ax.axhline(y, color=PRIOR_COLOUR, lw=1.2, ls="--", zorder=4)
        ax.axhline(n / bins, color=FIT_COLOUR, lw=1.2, zorder=4,
                   label=f"expected count if calibrated ({n / bins:.1f})")
        ax.legend(fontsize=8, loc="upper center")
    ax.set_xlim(0, 1)
    ax.set_xlabel("PIT of the recorded date in the simulated distribution")
    ax.set_ylabel("dated targets")
    ax.set_title(title or f"PIT of {n} recorded dates (flat if calibrated; near 1: the record "
                 "is later than the simulation)", fontsize=10)
    return ax
