"""What every figure shares: the palette, new Axes, date axes, shaded periods and saving (PNG,
and SVG or PDF beside it on request)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# Okabe & Ito (2008) colour-blind-safe palette: vermillion and blue stay distinct under the
# common colour-vision deficiencies (the old red/green pair did not).
GOV_COLOUR = "#D55E00"
OPP_COLOUR = "#0072B2"
#: Diverging colour map for P(government holds) and differences: ColorBrewer RdBu, marked
#: colour-blind safe by ColorBrewer; reversed so that red = government, blue = opposition.
DIVERGING_CMAP = "RdBu_r"
KEY_TOWNS = ("Idlib", "Ma'arrat al-Nu'man", "Saraqib", "Ariha", "Jisr al-Shughur", "Aleppo",
             "Khan Shaykhun", "Atarib", "Kafr Nabl", "Abu al-Duhur", "Anadan", "Sarmada")
#: Formats :func:`save` can write beside each other.
FORMATS = ("png", "svg", "pdf")
#: Shading of the periods drawn on date axes (kind of modifier -> colour).
PERIOD_COLOURS = {"weather": "#56B4E9", "ceasefire": "#009E73", "spring_shield": "#CC79A7"}
#: Display names of the campaign's named modifiers (others: the name with spaces).
PERIOD_NAMES = {"weather_pause": "weather pause", "january_ceasefire": "January ceasefire",
                "spring_shield": "Spring Shield", "moscow_ceasefire": "Moscow ceasefire"}


@dataclass(frozen=True)
class Period:
    """A dated span to shade on a date axis: ``[start, end)``."""

    label: str
    start: dt.date
    end: dt.date
    kind: str


def periods_of(modifiers: Iterable[Any], end: dt.date,
               kinds: Sequence[str] = tuple(PERIOD_COLOURS)) -> list[Period]:
    """The enabled modifiers of ``kinds`` that begin before ``end`` as :class:`Period` s (an
    open-ended modifier runs to ``end``). ``modifiers`` are :class:`sim.model.modifiers.Modifier`
    (read by attribute: ``name, kind, start, end, enabled``), so the shaded dates are the
    scenario's own, never typed twice."""
    out = []
    for m in modifiers:
        if m.kind in kinds and getattr(m, "enabled", True) and m.start < end:
            stop = min(m.end or end, end)
            out.append(Period(PERIOD_NAMES.get(m.name, m.name.replace("_", " ")), m.start, stop,
                              m.kind))
    return sorted(out, key=lambda p: p.start)


def _num(day: dt.date) -> float:
    """Matplotlib's number of a date (what a date axis plots)."""
    return float(mdates.date2num(pd.Timestamp(day)))


def shade_periods(ax: Axes, periods: Sequence[Period]) -> None:
    """Shade each period across the Axes and write its label at the top, inside the span (the
    span's ``gid`` is ``period:<label>``)."""
    for p in periods:
        ax.axvspan(_num(p.start), _num(p.end), color=PERIOD_COLOURS.get(
            p.kind, "#999999"), alpha=0.18, lw=0, zorder=0, gid=f"period:{p.label}")
        ax.annotate(p.label, (_num(p.start), 1.0),
                    xycoords=("data", "axes fraction"), xytext=(2, -3),
                    textcoords="offset points", rotation=90, va="top", ha="left", fontsize=7,
                    color="#333333")


def save(ax: Axes, path: str | Path, dpi: int = 120,
         formats: Sequence[str] = ("png",)) -> Path:
    """Save the figure holding ``ax`` to ``path`` and close it; with ``formats`` (e.g.
    ``("png", "svg")``) also beside it under the other suffixes. Each file is written to a
    temporary sibling and renamed into place, so no half-written figure is ever left.

    Returns ``path``."""
    path = Path(path)
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValueError(f"figure format {bad[0]!r}: expected one of {', '.join(FORMATS)}")
    fig = ax.get_figure()
    assert isinstance(fig, Figure)
    targets = [path] + [path.with_suffix(f".{f}") for f in formats
                        if f".{f}" != path.suffix.lower()]
    try:
        for target in targets:
            tmp = target.with_name(f".{target.stem}.tmp-{os.getpid()}{target.suffix}")
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
            os.replace(tmp, target)
    finally:
        plt.close(fig)
    return path


def axes_or_new(ax: Axes | None, figsize: tuple[float, float] = (8, 8)) -> Axes:
    """``ax``, or the Axes of a new figure of ``figsize``."""
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=figsize)
    return new


def date_axis(ax: Axes) -> None:
    """Concise date ticks on the x axis, without the offset label ("2020-Mar") in the corner:
    the first of each month is labelled with its month and year instead."""
    loc = mdates.AutoDateLocator()
    fmt = mdates.ConciseDateFormatter(loc, show_offset=False,
                                      zero_formats=["", "%Y", "%b\n%Y", "%d %b", "%H:%M",
                                                    "%H:%M"])
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(fmt)
