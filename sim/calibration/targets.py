"""Calibration targets built from the recorded events in ``seeds/`` (see calibration/README.md).

Three tables:

``captures``
    one row per node with a recorded government capture. ``kind = "date"``: the recorded first
    capture day is a point target (certainty ``stated``, ``approx`` or ``claimed``).
    ``kind = "by"``: the record only says the town fell on or before that day (certainty
    ``range``: "the date is the last day of a range"; or a recapture by the opposition is recorded
    before the first recorded capture, so the first capture came earlier than recorded: the
    target becomes "captured by the day before that recapture").
``recaptures``
    one row per capture target: was the town retaken by the opposition at least once during the
    campaign (``observed`` 1 if the record says so, else 0; absence of a record is weaker evidence,
    hence a smaller weight).
``territory``
    recorded aggregates: captured area by 11 Feb and in all (km²), share of Idlib governorate held
    by the government on 29 Jan (%).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from sim.theatre.history import recorded_captures, resolved_events
from sim.theatre.theatre import CAMPAIGN_END, CAMPAIGN_START, Theatre, day_index

#: Weight of a target by the certainty of its date (assumption, documented in calibration/).
CERTAINTY_WEIGHT = {"stated": 1.0, "approx": 0.8, "claimed": 0.6, "range": 0.5}
#: Weight of "no recapture recorded" relative to a recorded recapture (absence of evidence).
NEGATIVE_RECAPTURE_WEIGHT = 0.5
#: The three phases of the calendar used to split scores (shared MODELLING_NOTES).
PHASES = (
    ("dec_jan", dt.date(2019, 12, 19), dt.date(2020, 1, 11)),
    ("jan_feb", dt.date(2020, 1, 12), dt.date(2020, 2, 16)),
    ("late_feb", dt.date(2020, 2, 17), dt.date(2020, 3, 6)),
)
#: Idlib governorate area, km² (context.md: 6,097 km², range 5,933-6,097 by source).
IDLIB_GOVERNORATE_KM2 = 6097.0


def phase_of(date: dt.date) -> str:
    for name, a, b in PHASES:
        if a <= date <= b:
            return name
    return "outside"


@dataclass(frozen=True)
class Targets:
    captures: pd.DataFrame
    recaptures: pd.DataFrame
    territory: pd.DataFrame

    def until(self, last: dt.date) -> Targets:
        """Only the targets dated up to ``last`` (for a time-ordered hold-out)."""
        return Targets(
            self.captures[self.captures["date"] <= last].reset_index(drop=True),
            self.recaptures[self.recaptures["date"] <= last].reset_index(drop=True),
            self.territory[self.territory["date"] <= last].reset_index(drop=True),
        )

    def after(self, last: dt.date) -> Targets:
        return Targets(
            self.captures[self.captures["date"] > last].reset_index(drop=True),
            self.recaptures[self.recaptures["date"] > last].reset_index(drop=True),
            self.territory[self.territory["date"] > last].reset_index(drop=True),
        )


def build_targets(theatre: Theatre) -> Targets:
    """All calibration targets for the historical campaign."""
    rc = recorded_captures(theatre)
    ev = resolved_events(theatre)
    recs = ev[(ev["event"] == "recaptured_by_opposition") & (ev["node"] >= 0)
              & (ev["date"] >= CAMPAIGN_START) & (ev["date"] <= CAMPAIGN_END)]
    rows, rec_rows = [], []
    for r in rc.itertuples():
        prior = sorted(d for d in recs.loc[recs["node"] == r.node, "date"] if d < r.date)
        if prior:
            date, kind = prior[0] - dt.timedelta(days=1), "by"
            rule = f"recaptured {prior[0]} before the recorded capture of {r.date}"
        elif r.certainty == "range":
            date, kind, rule = r.date, "by", "date is the last day of a range"
        else:
            date, kind, rule = r.date, "date", f"{r.certainty} date ({r.basis})"
        rows.append({"node": r.node, "town": r.town, "date": date, "day": day_index(date),
                     "kind": kind, "certainty": r.certainty,
                     "weight": CERTAINTY_WEIGHT[str(r.certainty)], "phase": phase_of(date),
                     "rule": rule})
        later = sorted(d for d in recs.loc[recs["node"] == r.node, "date"])
        rec_rows.append({"node": r.node, "town": r.town, "date": CAMPAIGN_END,
                         "observed": int(bool(later)),
                         "weight": 1.0 if later else NEGATIVE_RECAPTURE_WEIGHT,
                         "rule": f"recorded recaptures: {', '.join(map(str, later))}" if later
                         else "no recapture recorded"})
    terr = []
    for a in theatre.tables.aggregates:
        if a.value is None:
            continue
        if a.quantity == "captured_area_km2":
            terr.append({"date": a.date, "day": day_index(a.date), "quantity": "captured_area_km2",
                         "value": a.value, "weight": CERTAINTY_WEIGHT.get(a.certainty, 0.5),
                         "source": a.quote})
        elif a.quantity == "share_idlib_governorate_government_pct":
            terr.append({"date": a.date, "day": day_index(a.date),
                         "quantity": "share_idlib_pct", "value": a.value,
                         "weight": CERTAINTY_WEIGHT.get(a.certainty, 0.5), "source": a.quote})
    return Targets(pd.DataFrame(rows), pd.DataFrame(rec_rows), pd.DataFrame(terr))
