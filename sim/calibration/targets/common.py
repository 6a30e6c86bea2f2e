"""What every target table shares: phases, certainty weights, event references and the two small
hand-written tables of ``calibration/`` (corrections of the record's misreadings, end states).

Day convention (as in the engines): day ``k`` = captured during day ``k``; day 0 = 19 Dec 2019;
the run ends at 00:00 on 6 Mar 2020 (day 78), the hour the ceasefire began.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from sim.errors import did_you_mean
from sim.theatre.tables import Table, read_table
from sim.theatre.tables import _Row as _SeedRow  # the validated-row base read_table expects
from sim.theatre.theatre import Theatre

#: Weight of a target by the certainty of its date (assumption, documented in calibration/).
#: ``claimed`` = one side's media only; ``range`` = the date is the end of a range.
CERTAINTY_WEIGHT = {"stated": 1.0, "approx": 0.8, "claimed": 0.6, "range": 0.5}
#: Extra factor for a cluster member placed only as "described near" its node: whether the
#: village lies in the node's cell is itself an inference (Ma'saran, Kafrsajna, Abu Dafna, ...).
NEIGHBOUR_FACTOR = 0.5
#: The three phases of the calendar used to split scores (shared MODELLING_NOTES).
PHASES = (
    ("dec_jan", dt.date(2019, 12, 19), dt.date(2020, 1, 11)),
    ("jan_feb", dt.date(2020, 1, 12), dt.date(2020, 2, 16)),
    ("late_feb", dt.date(2020, 2, 17), dt.date(2020, 3, 6)),
)


def phase_of(date: dt.date) -> str:
    """Name of the phase containing ``date`` (``"outside"`` if none)."""
    for name, a, b in PHASES:
        if a <= date <= b:
            return name
    return "outside"


def calibration_dir() -> Path:
    """The ``calibration/`` folder: ``$IDLIB_SIM_CALIBRATION`` if set, else the repository's."""
    env = os.environ.get("IDLIB_SIM_CALIBRATION")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "calibration"


class CorrectionRow(_SeedRow):
    """One row of ``calibration/corrections.csv``."""

    place: str = Field(min_length=1)
    target: Literal["capture", "recapture", "retake"]
    action: Literal["redate", "add", "drop", "note"]
    date: dt.date | None = None
    bound: Literal["on", "by", ""] = ""
    certainty: Literal["stated", "approx", "claimed", "range", ""] = ""
    events: str = Field(min_length=1)
    rule: str = Field(min_length=1)

    @field_validator("date", mode="before")
    @classmethod
    def _blank_date(cls, v: object) -> object:
        return None if v == "" else v


class EndStateRow(_SeedRow):
    """One row of ``calibration/end_state.csv``: a holder on 6 Mar the article describes."""

    node: str = Field(min_length=1)
    holder: Literal["government", "opposition"]
    certainty: Literal["stated", "approx", "claimed", "range"]
    events: str = Field(min_length=1)
    rule: str = Field(min_length=1)


def event_keys(theatre: Theatre) -> dict[tuple[str, str, str], int]:
    """``(ISO date, place lower-case, event) -> line in seeds/events.csv`` (first occurrence)."""
    ev = theatre.tables.events
    out: dict[tuple[str, str, str], int] = {}
    for e, line in zip(ev, ev.lines, strict=True):
        out.setdefault((e.date.isoformat(), e.place.lower(), e.event), line)
    return out


def cite(line: int, date: dt.date, place: str, event: str) -> str:
    """How a target names the event row it comes from: ``events.csv:193 (2020-02-20 Nayrab
    captured)``."""
    return f"events.csv:{line} ({date.isoformat()} {place} {event})"


def resolve_refs(refs: str, keys: dict[tuple[str, str, str], int], table: Table[Any],
                 index: int) -> str:
    """``date|place|event;...`` of a calibration table, checked against seeds/events.csv."""
    out = []
    for ref in refs.split(";"):
        parts = [p.strip() for p in ref.split("|")]
        if len(parts) != 3:
            raise table.error(index, "events", ref, "expected 'date|place|event'")
        key = (parts[0], parts[1].lower(), parts[2])
        if key not in keys:
            raise table.error(index, "events", ref, "no such row in seeds/events.csv")
        out.append(cite(keys[key], dt.date.fromisoformat(parts[0]), parts[1], parts[2]))
    return "; ".join(out)


def load_corrections(theatre: Theatre, root: Path | None = None) -> list[CorrectionRow]:
    """Rows of ``corrections.csv``, their ``events`` checked and cited (``events.csv:LINE``)."""
    table = read_table((root or calibration_dir()) / "corrections.csv", CorrectionRow)
    keys = event_keys(theatre)
    rows = []
    for i, r in enumerate(table):
        if theatre.try_resolve(r.place) is None:
            raise table.error(i, "place", r.place, "does not resolve to a node or member"
                              + did_you_mean(r.place, theatre.names))
        if r.action in ("redate", "add") and (r.date is None or not r.bound or not r.certainty):
            raise table.error(i, "date", r.date, f"action {r.action!r} needs date, bound and "
                              "certainty")
        rows.append(r.model_copy(update={"events": resolve_refs(r.events, keys, table, i)}))
    return rows


def load_end_state(theatre: Theatre, root: Path | None = None
                   ) -> list[tuple[EndStateRow, int]]:
    """Rows of ``end_state.csv`` with their node index, ``events`` checked and cited."""
    table = read_table((root or calibration_dir()) / "end_state.csv", EndStateRow)
    keys = event_keys(theatre)
    rows = []
    for i, r in enumerate(table):
        node = theatre.try_resolve(r.node)
        if node is None:
            raise table.error(i, "node", r.node, "unknown node" + did_you_mean(r.node,
                                                                                theatre.names))
        rows.append((r.model_copy(update={"events": resolve_refs(r.events, keys, table, i)}),
                     node))
    return rows
