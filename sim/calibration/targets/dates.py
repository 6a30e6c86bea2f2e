"""Dated targets: every dated government capture, opposition recapture and government retaking
of every placed locality (nodes and cluster members), from ``seeds/events.csv`` and
``calibration/corrections.csv``. Rules: calibration/README.md, "Dated targets".

A cluster member is a real village inside its node's cell; the model's node state answers for
it: the node's first capture day answers a member's capture, its first recapture day a member's
recapture, its retaking day a member's retaking. A later model with progress into cells can
answer the member targets from the share of the cell taken instead; the targets do not change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.calibration.targets.common import (
    CERTAINTY_WEIGHT,
    NEIGHBOUR_FACTOR,
    CorrectionRow,
    cite,
    phase_of,
)
from sim.theatre.history import _is_name_of
from sim.theatre.theatre import CAMPAIGN_END, CAMPAIGN_START, GOVERNMENT, Theatre, day_index

#: Which per-replica day array of the engines answers each kind of dated target.
ANSWERED_BY = {"capture": "first_capture", "recapture": "first_recapture", "retake": "retake"}
#: Columns of every dated-target table.
COLUMNS = ["target", "locality", "node", "town", "role", "date", "day", "kind", "certainty",
           "weight", "phase", "answered_by", "events", "rule"]
_DATING = ("stated", "approx", "claimed", "range")


@dataclass
class _Row:
    date: dt.date
    place: str
    event: str
    certainty: str
    ref: str
    bound: str = "on"
    rule: str = ""
    extra: list[str] = field(default_factory=list)


def _locality(theatre: Theatre, place: str, node: int) -> tuple[str, str]:
    """``(locality name, role)``: the node's own name for the node or an alias, else the member."""
    if _is_name_of(theatre, place, node):
        return theatre.names[node], "node"
    return place, "member"


def build_dated(theatre: Theatre, corrections: list[CorrectionRow]
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(captures, recaptures, retakes, left_out)``; see the module docstring.

    ``kind`` is ``"date"`` (the event happened on that day) or ``"by"`` (on or before it).
    ``left_out`` lists every dated capture or recapture row of the window that is not a target,
    with the reason.
    """
    ev = theatre.tables.events
    neighbour = {c.member.lower() for c in theatre.tables.clusters if c.rule == "described_near"}
    corr = {(r.place.lower(), r.target): r for r in corrections}
    left: list[dict[str, Any]] = []
    by_node: dict[int, list[_Row]] = {}
    for e, line in zip(ev, ev.lines, strict=True):
        if e.event not in ("captured", "recaptured_by_opposition"):
            continue
        if not CAMPAIGN_START <= e.date <= CAMPAIGN_END:
            continue
        ref = cite(line, e.date, e.place, e.event)
        node = theatre.try_resolve(e.place)
        if node is None:
            left.append({"events": ref, "reason": "place not in the theatre (seeds/unplaced.csv)"})
            continue
        if e.certainty not in _DATING:
            left.append({"events": ref, "reason": f"certainty {e.certainty}: dates nothing"})
            continue
        c = corr.get((e.place.lower(), "capture"))
        if (e.event == "captured" and c is not None and c.action == "drop"
                and c.date == e.date):
            left.append({"events": ref, "reason": f"correction: {c.rule}"})
            continue
        by_node.setdefault(node, []).append(_Row(e.date, e.place, e.event, e.certainty, ref))
    for c in corrections:
        if c.action == "redate" and c.date is not None:  # the corrected capture, before the row
            by_node.setdefault(theatre.resolve(c.place), []).append(
                _Row(c.date, c.place, "captured", c.certainty, c.events, c.bound,
                     f"correction: {c.rule}"))
    out: dict[str, list[dict[str, Any]]] = {"capture": [], "recapture": [], "retake": []}

    def emit(target: str, r: _Row, node: int, rule: str) -> None:
        locality, role = _locality(theatre, r.place, node)
        w = CERTAINTY_WEIGHT[r.certainty]
        if role == "member" and r.place.lower() in neighbour:
            w *= NEIGHBOUR_FACTOR
            rule += "; member described near its node (neighbour weight)"
        out[target].append({
            "target": target, "locality": locality, "node": node, "town": theatre.names[node],
            "role": role, "date": r.date, "day": day_index(r.date),
            "kind": "by" if r.bound == "by" else "date", "certainty": r.certainty, "weight": w,
            "phase": phase_of(r.date), "answered_by": ANSWERED_BY[target], "events": r.ref,
            "rule": rule})

    for node, rows in by_node.items():
        # same day: a recapture before a capture (Nayrab, 20 Feb: seized, then retaken)
        rows.sort(key=lambda r: (r.date, r.event != "recaptured_by_opposition", r.place))
        gov0 = theatre.initial_control[node] == GOVERNMENT
        captured: set[str] = set()   # localities with a capture target
        retaken: set[str] = set()    # localities with a retake target since the last recapture
        recaptured: set[str] = set()
        last_rec: dt.date | None = None
        first_cap: dt.date | None = None  # the node's earliest capture target so far
        for r in rows:
            loc = _locality(theatre, r.place, node)[0].lower()
            if r.certainty == "range":
                r.bound = "by"
            if r.event == "captured":
                if last_rec is not None and last_rec <= r.date:
                    if loc in retaken:
                        left.append({"events": r.ref, "reason": "repeat report of a retaking"})
                        continue
                    retaken.add(loc)
                    emit("retake", r, node, r.rule or f"captured after the recorded recapture "
                         f"of {last_rec} ({r.certainty})")
                elif gov0:
                    left.append({"events": r.ref,
                                 "reason": "node held by the government on 18 Dec"})
                elif loc in captured:
                    left.append({"events": r.ref, "reason": "repeat report, no loss recorded"})
                else:
                    captured.add(loc)
                    first_cap = first_cap or r.date
                    emit("capture", r, node, r.rule or (
                        "date is the last day of a range" if r.certainty == "range"
                        else f"{r.certainty} date"))
            else:
                before = r.date - dt.timedelta(days=1)
                if loc not in captured and not gov0 and (first_cap is None or first_cap >= before):
                    captured.add(loc)
                    first_cap = first_cap or before
                    emit("capture", _Row(r.date - dt.timedelta(days=1), r.place, "captured",
                                         r.certainty, r.ref, "by"), node,
                         f"recaptured on {r.date} before any recorded capture: captured by the "
                         "day before")
                if loc in recaptured:
                    left.append({"events": r.ref, "reason": "second recapture of the locality "
                                 "(the engines record the first; the end state keeps it)"})
                    continue
                recaptured.add(loc)
                last_rec = r.date
                retaken.clear()
                emit("recapture", r, node, f"{r.certainty} date")
    for c in corrections:
        if c.action == "add" and c.date is not None:
            emit(c.target, _Row(c.date, c.place, "captured", c.certainty, c.events, c.bound),
                 theatre.resolve(c.place), f"correction: {c.rule}")
    cap, rec, ret = (pd.DataFrame(out[k], columns=COLUMNS).sort_values(["date", "locality"])
                     .reset_index(drop=True) for k in ("capture", "recapture", "retake"))
    return cap, rec, ret, pd.DataFrame(left, columns=["events", "reason"])
