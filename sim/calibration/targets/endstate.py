"""The end state: who holds each node at 00:00 on 6 Mar 2020 (the end of the run, the hour the
ceasefire began), where the article says so.

Rules (calibration/README.md, "End state"):

1. A node the record dates: each of its localities (the node and its cluster members) is held by
   the side of its last dated event in the window (a capture or retaking: the government; a
   recapture: the opposition; ``contested`` rows date nothing; the corrections apply). If all its
   localities agree, that is the node's holder, with the certainty of the node's own last event
   (else the latest member's); if they disagree the cell is mixed and left out. A recapture
   dated before the last phase (17 Feb) says nothing of 6 Mar: the government's offensive moved
   past those villages (Farwan, al-Barsah, 24 Dec) and the article is silent about them after.
2. ``calibration/end_state.csv`` adds what the article says of places without such events
   (Idlib city, the M4 towns west of Saraqib) and overrides rule 1 where both speak.
3. Every other node: the article is silent and the node is left out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from sim.calibration.targets.common import (
    CERTAINTY_WEIGHT,
    PHASES,
    CorrectionRow,
    EndStateRow,
    cite,
)
from sim.calibration.targets.dates import _DATING
from sim.theatre.theatre import CAMPAIGN_END, CAMPAIGN_START, Theatre

COLUMNS = ["node", "town", "holder", "observed", "certainty", "weight", "events", "rule"]


def build_end_state(theatre: Theatre, corrections: list[CorrectionRow],
                    explicit: list[tuple[EndStateRow, int]]) -> pd.DataFrame:
    """One row per node whose holder on 6 Mar the article gives; ``observed`` 1 = government."""
    last: dict[int, dict[str, tuple[str, str, str, dt.date]]] = {}
    ev = theatre.tables.events
    items: list[tuple[dt.date, bool, str, str, str, str]] = [
        (e.date, e.event != "recaptured_by_opposition", e.place, str(e.event), str(e.certainty),
         cite(line, e.date, e.place, e.event))
             for e, line in zip(ev, ev.lines, strict=True)
             if e.event in ("captured", "recaptured_by_opposition")
             and CAMPAIGN_START <= e.date <= CAMPAIGN_END and e.certainty in _DATING]
    items += [(c.date, True, c.place, "captured", c.certainty, c.events)
              for c in corrections if c.action == "add" and c.date is not None]
    for date, _, place, event, cert, ref in sorted(items, key=lambda x: x[:3]):
        node = theatre.try_resolve(place)
        if node is not None:
            last.setdefault(node, {})[place.lower()] = (event, cert, ref, date)
    rows: dict[int, dict[str, Any]] = {}
    last_phase = PHASES[-1][1]
    for node, locs in last.items():
        sides = {v[0] for v in locs.values()}
        if len(sides) != 1:
            continue
        own = locs.get(theatre.names[node].lower())
        event, cert, ref, date = own or max(locs.values(), key=lambda v: v[3])
        if event != "captured" and max(v[3] for v in locs.values()) < last_phase:
            continue
        gov = event == "captured"
        rows[node] = {"node": node, "town": theatre.names[node],
                      "holder": "government" if gov else "opposition", "observed": int(gov),
                      "certainty": cert, "weight": CERTAINTY_WEIGHT[cert], "events": ref,
                      "rule": f"last dated event of its {len(locs)} locality(ies): {event} "
                              f"on {date}"}
    for r, node in explicit:
        gov = r.holder == "government"
        rows[node] = {"node": node, "town": theatre.names[node],
                                   "holder": r.holder, "observed": int(gov),
                                   "certainty": r.certainty,
                                   "weight": CERTAINTY_WEIGHT[r.certainty], "events": r.events,
                                   "rule": f"end_state.csv: {r.rule}"}
    ordered = [rows[i] for i in sorted(rows, key=lambda i: theatre.names[i])]
    return pd.DataFrame(ordered, columns=COLUMNS)
