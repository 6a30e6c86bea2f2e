"""Bursts as counts: how many localities the record says changed hands in a window.

A simulated "capture" of a node counts the localities the node represents: itself and its
cluster members (``1 + members``), since the article counts villages and the theatre gathers
several reported villages into one cell. The same weight counts recaptures. The theatre places
fewer localities than the article counts (193 against 295 "towns, villages and hilltops"), so each
window also carries ``replay``: the count a model reproducing every dated capture target exactly
would make in that window, the ceiling the gazetteer allows.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim.calibration.targets.common import CERTAINTY_WEIGHT, phase_of
from sim.theatre.theatre import CAMPAIGN_END, Theatre, day_index

#: ``(name, target, first day, last day, relation, value or None, certainty, source, rule)``;
#: ``value`` None = the count of the localities the article names in the window.
WINDOWS = (
    ("19-21 Dec", "captures", dt.date(2019, 12, 19), dt.date(2019, 12, 21), "at_least", 16,
     "stated", "aggregates.csv 2019-12-22: 'reportedly capturing over 15 towns and villages "
     "within a 48-hour period'",
     "the 48 hours are not dated beyond 'by 22 December'; the window holds every 48 h from the "
     "start to 00:00 22 Dec, so 'over 15' stays a lower bound"),
    ("24-27 Jan", "captures", dt.date(2020, 1, 24), dt.date(2020, 1, 27), "about", 22,
     "stated", "aggregates.csv 2020-01-27: 'had captured 22 areas since 24 January'",
     "from the renewed offensive of 24 Jan to the report of 27 Jan"),
    ("3 Feb", "captures", dt.date(2020, 2, 3), dt.date(2020, 2, 3), "about", 22, "approx",
     "aggregates.csv 2020-02-03: 'captured 22 villages and towns' (with 110 km²)",
     "'with this advance' after the 3 Feb list; the period is not stated, so approx"),
    ("7-9 Feb", "captures", dt.date(2020, 2, 7), dt.date(2020, 2, 9), "at_least", None,
     "stated", "events.csv: the localities named as captured on 7-9 Feb",
     "each named locality fell in the window; unnamed ones may have too, so a lower bound"),
    ("16 Feb", "captures", dt.date(2020, 2, 16), dt.date(2020, 2, 16), "at_least", 31, "stated",
     "aggregates.csv 2020-02-16: 'capturing more than 30 villages, towns and suburbs in the west "
     "Aleppo countryside in a single day'", "'more than 30': at least 31"),
    ("24-26 Feb", "captures", dt.date(2020, 2, 24), dt.date(2020, 2, 26), "about", 33, "range",
     "aggregates.csv 2020-02-26: 'captured 33 towns and villages in Idlib and Hama in the "
     "previous 60 hours'", "60 hours up to the report of 26 Feb"),
    ("27 Feb-5 Mar", "recaptures", dt.date(2020, 2, 27), CAMPAIGN_END - dt.timedelta(days=1),
     "about", 19, "approx", "aggregates.csv 2020-03-06 (infobox): 'Turkish-backed rebels "
     "recapture 19 towns and villages'",
     "the infobox sums the counter-offensive that began with Saraqib on 27 Feb; the window runs "
     "to the end of the run (00:00 6 Mar)"),
)


def locality_weight(theatre: Theatre) -> NDArray[np.int64]:
    """Localities each node represents: 1 + its cluster members."""
    w = np.ones(theatre.n_towns, dtype=np.int64)
    for c in theatre.tables.clusters:
        w[theatre.resolve(c.node)] += 1
    return w


def _named(theatre: Theatre, a: dt.date, b: dt.date) -> tuple[int, str]:
    skip = {u.place.lower() for u in theatre.tables.unplaced if u.reason in ("region", "sector")}
    names = sorted({e.place for e in theatre.tables.events
                    if e.event == "captured" and a <= e.date <= b
                    and e.certainty != "contested" and e.place.lower() not in skip})
    return len(names), ", ".join(names)


def _replay(dated: pd.DataFrame, w: NDArray[np.int64], a: int, b: int) -> int:
    """Count of a model reproducing each node's earliest dated target of ``dated``."""
    if not len(dated):
        return 0
    first = dated.groupby("node")["day"].min()
    hit = first[(first >= a) & (first <= b)].index.to_numpy(int)
    return int(w[hit].sum())


def build_counts(theatre: Theatre, captures: pd.DataFrame,
                 recaptures: pd.DataFrame) -> pd.DataFrame:
    """One row per window: ``name, target, start, end, start_day, end_day, relation, value,
    certainty, weight, phase, replay, source, rule``."""
    w = locality_weight(theatre)
    rows = []
    for name, target, a, b, rel, value, cert, source, rule in WINDOWS:
        if value is None:
            value, listed = _named(theatre, a, b)
            source = f"{source}: {listed}"
        dated = captures if target == "captures" else recaptures
        rows.append({"name": name, "target": target, "start": a, "end": b,
                     "start_day": day_index(a), "end_day": day_index(b), "relation": rel,
                     "value": int(value), "certainty": cert, "weight": CERTAINTY_WEIGHT[cert],
                     "phase": phase_of(b),
                     "replay": _replay(dated, w, day_index(a), day_index(b)),
                     "source": source, "rule": rule})
    return pd.DataFrame(rows)
