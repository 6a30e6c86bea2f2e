"""The recorded timeline per node: first government capture and opposition recaptures.

Rule (also in the README): a node's recorded first-capture date is the earliest ``captured`` event
dated inside the campaign (19 Dec 2019 - 6 Mar 2020) of the node itself; only if the node has none,
the earliest among its cluster members. Certainties ``stated``, ``approx``, ``range`` and
``claimed`` count; ``contested`` rows do not date a first capture. A node initially held by the
government has no first-capture date. ``basis`` names the place whose event set the date and
``certainty`` its certainty; ``own`` says whether it was the node's own event.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sim.theatre.theatre import CAMPAIGN_END, CAMPAIGN_START, GOVERNMENT, Theatre, day_index

DATING_CERTAINTIES = ("stated", "approx", "range", "claimed")


def _is_name_of(theatre: Theatre, place: str, node: int) -> bool:
    """Is ``place`` the node's name or an alias (not a cluster member)?"""
    row = theatre.towns.iloc[node]
    names = {row["town"].lower(), *(a.lower() for a in row["alias_list"])}
    return place.strip().lower() in names


def resolved_events(theatre: Theatre) -> pd.DataFrame:
    """Events with the node they resolve to (``node`` = -1 where unplaced), dates as day indices."""
    rows = []
    for e in theatre.tables.events:
        node = theatre.try_resolve(e.place)
        rows.append(
            {
                "date": e.date,
                "day": day_index(e.date),
                "place": e.place,
                "node": -1 if node is None else node,
                "town": "" if node is None else theatre.names[node],
                "event": e.event,
                "certainty": e.certainty,
            }
        )
    return pd.DataFrame(rows)


def recorded_captures(
    theatre: Theatre,
    start: dt.date = CAMPAIGN_START,
    end: dt.date = CAMPAIGN_END,
) -> pd.DataFrame:
    """One row per node the record says the government captured during the campaign.

    Columns: ``node, town, date, day, certainty, basis, own, n_reports, recaptured_dates``.
    """
    ev = resolved_events(theatre)
    window = (ev["date"] >= start) & (ev["date"] <= end) & (ev["node"] >= 0)
    caps = ev[window & (ev["event"] == "captured") & ev["certainty"].isin(DATING_CERTAINTIES)]
    recs = ev[window & (ev["event"] == "recaptured_by_opposition")]
    out = []
    caps = caps.assign(own=[theatre.try_resolve(p) == n and _is_name_of(theatre, p, n)
                            for p, n in zip(caps["place"], caps["node"], strict=True)])
    for _, grp in caps.sort_values(["date", "place"]).groupby("node", sort=True):
        own = grp[grp["own"]]
        first = (own if len(own) else grp).iloc[0]
        node = int(first["node"])
        if theatre.initial_control[node] == GOVERNMENT:
            continue
        out.append(
            {
                "node": node,
                "town": theatre.names[node],
                "date": first["date"],
                "day": int(first["day"]),
                "certainty": first["certainty"],
                "basis": first["place"],
                "own": bool(first["own"]),
                "n_reports": len(grp),
                "recaptured_dates": ";".join(
                    sorted({d.isoformat() for d in recs.loc[recs["node"] == node, "date"]})
                ),
            }
        )
    return pd.DataFrame(out)
