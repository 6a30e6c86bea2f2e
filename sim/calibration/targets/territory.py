"""Territory figures of the record, which of them are scored, and why.

The cells are Voronoi cells of 136 nodes (median opposition cell 59 km²), so area moves in steps
of whole cells. The figures disagree with the dated captures in this geometry: the cells of the
towns recorded as taken by 11 Feb add up to ~1,130 km² against "600 km² by 11 Feb". Scored:

* **2,345 km² captured by 6 Mar** (infobox, ``range``): the campaign's headline figure; at that
  size the whole-cell error (~330 km² RMSE in a synthetic test with 87 opposition nodes) is a
  sixth of the figure, and the dated captures put the record's replay near it.

Reported but not scored (their rows carry ``scored = False``; the report prints them):

* **~600 km² by 11 Feb** (Reuters, ``approx``): contradicts the dated captures, which already
  carry that period's timing; scoring both would pull the model away from the dates.
* **110 km² on 3 Feb** (an increment): about two median cells, below whole-cell resolution.
* **43 % of Idlib governorate held on 29 Jan** (SOHR): our Idlib cells start at 22 %
  government and the figure would need ~1,300 km² taken in Idlib by 29 Jan, twice the replay;
  SOHR's governorate boundary and measure differ from the cells'.

``replay`` is the figure a model reproducing every node's earliest dated capture target would
give, so the reader can tell the geometry's share of an error from the model's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.calibration.targets.common import CERTAINTY_WEIGHT
from sim.theatre.theatre import GOVERNMENT, Theatre, day_index

#: quantity in seeds/aggregates.csv -> (our name, scored)
QUANTITIES = {
    "captured_area_km2": "captured_area_km2",
    "captured_area_increment_km2": "captured_area_increment_km2",
    "share_idlib_governorate_government_pct": "share_idlib_pct",
}
#: The figures that enter the scores and the objective, by (quantity, ISO date).
SCORED = {("captured_area_km2", "2020-03-06")}


def idlib_mask(theatre: Theatre) -> np.ndarray:
    """Cells of Idlib governorate (for the governorate share)."""
    return (theatre.towns["governorate"] == "Idlib").to_numpy()


def build_territory(theatre: Theatre, captures: pd.DataFrame) -> pd.DataFrame:
    """``date, day, quantity, value, certainty, weight, scored, replay, source``."""
    first = captures.groupby("node")["day"].min() if len(captures) else pd.Series(dtype=int)
    area = theatre.area_km2
    idl = idlib_mask(theatre)
    gov0 = theatre.initial_control == GOVERNMENT
    rows = []
    for a in theatre.tables.aggregates:
        if a.value is None or a.quantity not in QUANTITIES:
            continue
        q = QUANTITIES[a.quantity]
        d = day_index(a.date)
        taken = np.zeros(theatre.n_towns, bool)
        if q == "captured_area_increment_km2":
            taken[first[first == d].index.to_numpy(int)] = True
        else:
            taken[first[first <= d].index.to_numpy(int)] = True
        if q == "share_idlib_pct":
            replay = 100.0 * area[idl & (gov0 | taken)].sum() / area[idl].sum()
        else:
            replay = float(area[taken].sum())
        rows.append({"date": a.date, "day": d, "quantity": q, "value": float(a.value),
                     "certainty": a.certainty, "weight": CERTAINTY_WEIGHT.get(a.certainty, 0.5),
                     "scored": (q, a.date.isoformat()) in SCORED, "replay": round(replay, 1),
                     "source": f"aggregates.csv {a.date.isoformat()}: {a.quote}"})
    return pd.DataFrame(rows)
