"""Integrity of the curated seed data in ``seeds/`` (see seeds/README.md).

The raw CSVs are read here with the ``csv`` module where the point is to check the files
themselves, independently of the validating loader in :mod:`sim.theatre.tables`.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import re
import subprocess
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from sim.theatre import (
    CAMPAIGN_END,
    CAMPAIGN_START,
    FORTIFIED,
    GOVERNMENT,
    HASTY,
    OPPOSITION,
    POSTURES,
    Theatre,
    recorded_captures,
)
from sim.theatre.geometry import geodesic_km
from sim.theatre.tables import LAT_RANGE, LON_RANGE

TERRITORIAL = (
    "captured",
    "recaptured_by_opposition",
    "entered",
    "encircled",
    "besieged",
    "withdrew",
    "attacked_repelled",
    "observation_post",
)

#: Window of the campaign (inclusive): offensive start .. Moscow ceasefire.
WINDOW = (dt.date(2019, 12, 19), dt.date(2020, 3, 6))
#: The Syrian uprising began in March 2011: no event of this conflict can be older.
EARLIEST_POSSIBLE = dt.date(2011, 3, 15)
#: Post-ceasefire context rows are allowed, but nothing after the end of 2020.
LATEST_ALLOWED = dt.date(2020, 12, 31)
#: Certainties that may date a first capture (documented in sim/theatre/history.py; "contested"
#: rows do not).
DATING = ("stated", "approx", "range", "claimed")

#: Town pairs closer than 1.0 km (or just above it) that towns.csv keeps as two nodes on purpose;
#: both towns' notes explain why (and seeds/README.md lists them under "Pairs closer than 1.5 km"):
#: - Kafr Rumah / Sheikh Dames (0.8 km): two villages with different event histories; the
#:   Sheikh Dames point is a +-3 km computation.
#: - al-Abzimo / Regiment 46 base (1.0 km): a village and a military base, placed from two
#:   different sourced distances east of Atarib.
ALLOWED_CLOSE_PAIRS = {
    frozenset({"Kafr Rumah", "Sheikh Dames"}),
    frozenset({"al-Abzimo", "Regiment 46 base"}),
}
MIN_SEPARATION_KM = 1.0


def _norm(name: str) -> str:
    return " ".join(name.casefold().split())


def _raw(theatre: Theatre, filename: str) -> list[dict[str, str]]:
    path = Path(theatre.tables.root) / filename
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _in_window(d: dt.date) -> bool:
    return WINDOW[0] <= d <= WINDOW[1]


# --------------------------------------------------------------------------------------- dates


def test_window_constants_match_the_documented_campaign() -> None:
    assert (CAMPAIGN_START, CAMPAIGN_END) == WINDOW


def test_event_dates_are_in_window_or_explicitly_earlier_or_post_ceasefire(
    theatre: Theatre,
) -> None:
    rows = _raw(theatre, "events.csv")
    assert rows
    categories: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for line, row in enumerate(rows, start=2):
        d = dt.date.fromisoformat(row["date"])
        if _in_window(d):
            categories["in_window"].append((line, row["date"]))
        elif d < WINDOW[0]:
            assert d >= EARLIEST_POSSIBLE, f"events.csv:{line}: {d} predates the war"
            categories["before_offensive"].append((line, row["date"]))
        elif d > WINDOW[1]:
            assert d <= LATEST_ALLOWED, f"events.csv:{line}: {d} is beyond {LATEST_ALLOWED}"
            categories["post_ceasefire"].append((line, row["date"]))
    assert set(categories) <= {"in_window", "before_offensive", "post_ceasefire"}
    # The record is about the campaign: most rows must be inside the window.
    assert len(categories["in_window"]) > 0.8 * len(rows)


def test_aggregate_dates_are_plausible(theatre: Theatre) -> None:
    for line, row in enumerate(_raw(theatre, "aggregates.csv"), start=2):
        d = dt.date.fromisoformat(row["date"])
        assert EARLIEST_POSSIBLE <= d <= LATEST_ALLOWED, f"aggregates.csv:{line}: {d}"


def test_outside_window_unplaced_places_have_only_outside_window_events(
    theatre: Theatre,
) -> None:
    events = _raw(theatre, "events.csv")
    rows = [u for u in theatre.tables.unplaced if u.reason == "outside_window"]
    assert rows
    for u in rows:
        dates = [
            dt.date.fromisoformat(e["date"])
            for e in events
            if _norm(e["place"]) == _norm(u.place) and e["event"] in TERRITORIAL
        ]
        assert dates, u.place
        assert not any(_in_window(d) for d in dates), (u.place, dates)


def test_calendar_phases_lie_inside_the_window(theatre: Theatre) -> None:
    for line, row in enumerate(_raw(theatre, "calendar.csv"), start=2):
        start = dt.date.fromisoformat(row["start"])
        assert _in_window(start), f"calendar.csv:{line}: {row['phase']} starts {start}"
        if row["end"]:
            end = dt.date.fromisoformat(row["end"])
            assert start <= end and _in_window(end), f"calendar.csv:{line}: {row['phase']}"


def test_spring_shield_starts_on_27_february(theatre: Theatre) -> None:
    phases = [r for r in _raw(theatre, "calendar.csv") if r["phase"] == "spring_shield"]
    assert len(phases) == 1
    assert dt.date.fromisoformat(phases[0]["start"]) == dt.date(2020, 2, 27)


# ---------------------------------------------------------------------------------- event places


def test_every_territorial_event_place_resolves_or_is_unplaced(theatre: Theatre) -> None:
    unplaced = {_norm(u.place) for u in theatre.tables.unplaced}
    missing = [
        (line, row["place"], row["event"])
        for line, row in enumerate(_raw(theatre, "events.csv"), start=2)
        if row["event"] in TERRITORIAL
        and theatre.try_resolve(row["place"]) is None
        and _norm(row["place"]) not in unplaced
    ]
    assert missing == []


def test_unplaced_rows_are_not_stale(theatre: Theatre) -> None:
    territorial_places = {
        _norm(r["place"]) for r in _raw(theatre, "events.csv") if r["event"] in TERRITORIAL
    }
    rows = _raw(theatre, "unplaced.csv")
    assert rows
    for line, row in enumerate(rows, start=2):
        where = f"unplaced.csv:{line} {row['place']!r}"
        assert _norm(row["place"]) in territorial_places, f"{where}: no territorial event"
        assert row["clue"].strip(), f"{where}: empty clue"
        # An entry for a place that resolves to a node would be stale as well.
        assert theatre.try_resolve(row["place"]) is None, f"{where}: resolves to a node"
    names = [_norm(r["place"]) for r in rows]
    assert len(names) == len(set(names)), "duplicate unplaced.csv entries"


# ------------------------------------------------------------------------------------ towns


def test_no_two_towns_closer_than_one_km_unless_explained(theatre: Theatre) -> None:
    rows = _raw(theatre, "towns.csv")
    close = []
    for a, b in itertools.combinations(rows, 2):
        d = float(
            geodesic_km(float(a["lat"]), float(a["lon"]), float(b["lat"]), float(b["lon"]))[0]
        )
        if d < MIN_SEPARATION_KM and frozenset({a["town"], b["town"]}) not in ALLOWED_CLOSE_PAIRS:
            close.append((a["town"], b["town"], round(d, 3)))
    assert close == []


@pytest.mark.parametrize("pair", sorted(sorted(p) for p in ALLOWED_CLOSE_PAIRS))
def test_allowed_close_pairs_are_close_and_explained_in_both_notes(
    theatre: Theatre, pair: list[str]
) -> None:
    by_name = {r["town"]: r for r in _raw(theatre, "towns.csv")}
    a, b = (by_name[n] for n in pair)
    d = float(geodesic_km(float(a["lat"]), float(a["lon"]), float(b["lat"]), float(b["lon"]))[0])
    assert d < 1.5, "stale allowance: the pair is no longer close"
    assert b["town"].casefold() in a["note"].casefold()
    assert a["town"].casefold() in b["note"].casefold()
    assert "distinct" in a["note"] and "distinct" in b["note"]


def test_town_coordinates_lie_inside_the_theatre_box(theatre: Theatre) -> None:
    for line, row in enumerate(_raw(theatre, "towns.csv"), start=2):
        lat, lon = float(row["lat"]), float(row["lon"])
        assert LAT_RANGE[0] <= lat <= LAT_RANGE[1], f"towns.csv:{line} {row['town']} lat {lat}"
        assert LON_RANGE[0] <= lon <= LON_RANGE[1], f"towns.csv:{line} {row['town']} lon {lon}"


def test_relative_and_clue_coordinates_carry_at_least_one_km_uncertainty(
    theatre: Theatre,
) -> None:
    rows = [
        r for r in _raw(theatre, "towns.csv") if r["coord_quality"] in ("relative", "approx_clue")
    ]
    assert rows
    bad = [(r["town"], r["coord_uncertainty_km"]) for r in rows
           if float(r["coord_uncertainty_km"]) < 1.0]
    assert bad == []


def test_cluster_members_are_not_town_names_or_aliases(theatre: Theatre) -> None:
    town_names = set()
    for t in theatre.tables.towns:
        town_names.update(_norm(a) for a in [t.town, *t.alias_list])
    rows = _raw(theatre, "clusters.csv")
    assert rows
    bad = [r["member"] for r in rows if _norm(r["member"]) in town_names]
    assert bad == []
    members = [_norm(r["member"]) for r in rows]
    assert len(members) == len(set(members)), "a cluster member is attached to two rows"


# ------------------------------------------------------------------------- control & captures


def test_captured_during_offensive_rows_are_opposition_with_a_capture_in_window(
    theatre: Theatre,
) -> None:
    events = _raw(theatre, "events.csv")
    rows = [r for r in _raw(theatre, "initial_control.csv")
            if r["basis_kind"] == "captured_during_offensive"]
    assert rows
    for r in rows:
        assert r["control"] == "opposition", r["town"]
        node = theatre.resolve(r["town"])
        captures = [
            e for e in events
            if e["event"] == "captured"
            and _in_window(dt.date.fromisoformat(e["date"]))
            and theatre.try_resolve(e["place"]) == node
        ]
        assert captures, f"{r['town']}: no 'captured' event in the window"


def test_every_recorded_capture_was_opposition_held_initially(theatre: Theatre) -> None:
    control_csv = {r["town"]: r["control"] for r in _raw(theatre, "initial_control.csv")}
    rec = recorded_captures(theatre)
    assert len(rec) > 0
    for row in rec.itertuples():
        assert theatre.initial_control[row.node] == OPPOSITION, row.town
        assert control_csv[row.town] == "opposition", row.town
        assert _in_window(row.date), (row.town, row.date)


def test_recorded_captures_agree_with_the_raw_event_record(theatre: Theatre) -> None:
    """Independent recomputation of the documented rule (sim/theatre/history.py docstring): the
    node's own earliest dated capture, else the earliest among its cluster members."""
    own_names: dict[str, int] = {}
    for i, t in enumerate(theatre.tables.towns):
        for a in [t.town, *t.alias_list]:
            own_names[_norm(a)] = i
    own: dict[int, dt.date] = {}
    member: dict[int, dt.date] = {}
    for e in _raw(theatre, "events.csv"):
        d = dt.date.fromisoformat(e["date"])
        node = theatre.try_resolve(e["place"])
        if (
            e["event"] == "captured"
            and e["certainty"] in DATING
            and _in_window(d)
            and node is not None
            and theatre.initial_control[node] == OPPOSITION
        ):
            pool = own if own_names.get(_norm(e["place"])) == node else member
            pool[node] = min(d, pool.get(node, d))
    first = {**member, **own}
    rec = recorded_captures(theatre)
    assert dict(zip(rec["node"], rec["date"], strict=True)) == first


def test_government_held_towns_are_never_themselves_reported_captured(
    theatre: Theatre,
) -> None:
    """A node the government held on 18 Dec 2019 is not, by its own name or alias, reported
    captured by the government during the campaign (that would contradict initial_control)."""
    own_names: dict[str, int] = {}
    for i, t in enumerate(theatre.tables.towns):
        for a in [t.town, *t.alias_list]:
            own_names[_norm(a)] = i
    bad = []
    for line, e in enumerate(_raw(theatre, "events.csv"), start=2):
        node = own_names.get(_norm(e["place"]))
        if (
            node is not None
            and e["event"] == "captured"
            and e["actor"] == "government"
            and _in_window(dt.date.fromisoformat(e["date"]))
            and theatre.initial_control[node] == GOVERNMENT
        ):
            bad.append((line, e["place"]))
    assert bad == []


# ---------------------------------------------------------------------------------------- roads


@pytest.mark.parametrize("road", ["M5", "M4"])
def test_road_orders_run_from_one_without_gaps(theatre: Theatre, road: str) -> None:
    rows = [r for r in _raw(theatre, "roads.csv") if r["road"] == road]
    assert len(rows) >= 2
    orders = sorted(int(r["order"]) for r in rows)
    assert orders == list(range(1, len(rows) + 1))
    towns = [r["town"] for r in rows]
    assert len(towns) == len(set(towns)), f"{road} lists a town twice"


def test_no_recorded_capture_is_hidden_behind_a_government_node(theatre) -> None:  # type: ignore[no-untyped-def]
    """A place the record says the government captured during the campaign must not resolve to
    a node the government already held on 18 Dec (its capture would silently vanish)."""
    import datetime as dt

    hidden = []
    for e in theatre.tables.events:
        if e.event != "captured" or not (dt.date(2019, 12, 19) <= e.date <= dt.date(2020, 3, 6)):
            continue
        node = theatre.try_resolve(e.place)
        if node is not None and theatre.initial_control[node] == 1:
            hidden.append((e.date.isoformat(), e.place, theatre.names[node]))
    assert not hidden, hidden


# -------------------------------------------------------------------------------------- posture


def _front_neighbours(theatre: Theatre, i: int) -> list[int]:
    """Neighbours of node ``i`` held by the other side on 18 Dec 2019."""
    c = theatre.initial_control
    return [j for j in theatre.graph.neighbors(i) if c[j] != c[i]]


def test_posture_array_matches_posture_csv(theatre: Theatre) -> None:
    rows = _raw(theatre, "posture.csv")
    assert len(rows) == theatre.n_towns
    by_town = {r["town"]: r["posture"] for r in rows}
    assert [POSTURES[p] for p in theatre.posture] == [by_town[n] for n in theatre.names]


def test_posture_follows_the_documented_rule(theatre: Theatre) -> None:
    """seeds/README.md: fortified only on the 18 Dec front; every other front node prepared;
    every node with no neighbour of the other side hasty."""
    wrong = []
    for i, name in enumerate(theatre.names):
        on_front = bool(_front_neighbours(theatre, i))
        p = int(theatre.posture[i])
        if (on_front and p == HASTY) or (not on_front and p != HASTY):
            wrong.append((name, POSTURES[p], on_front))
    assert wrong == []


def test_fortified_towns_face_a_fortified_town_of_the_other_side(theatre: Theatre) -> None:
    """A line static for years has two sides: each fortified town has a fortified neighbour held
    by the other side."""
    lonely = [
        theatre.names[i]
        for i in np.flatnonzero(theatre.posture == FORTIFIED)
        if not any(theatre.posture[j] == FORTIFIED for j in _front_neighbours(theatre, int(i)))
    ]
    assert lonely == []


def test_aleppo_static_front_is_fortified(theatre: Theatre) -> None:
    """The brief's example: Aleppo's western edge, static since 2016 (article: 'the previously
    deadlocked Aleppo front'), and the al-Hader / Al-Eiss line of 2015-16."""
    for name in ("Aleppo", "Khan al-Asal", "Kafr Hamra", "Haritan", "Al-Eiss", "al-Hader"):
        assert theatre.posture[theatre.resolve(name)] == FORTIFIED, name


def test_posture_rows_say_sourced_or_which_rule(theatre: Theatre) -> None:
    for line, r in enumerate(_raw(theatre, "posture.csv"), start=2):
        where = f"posture.csv:{line} {r['town']}"
        if r["basis_kind"] == "sourced":
            assert r["posture"] == "fortified", where
            assert "http" in r["source"] or "seed article" in r["source"], where
        elif r["posture"] == "fortified":
            assert r["basis"].startswith("inferred (static-front rule)"), where
        else:
            assert r["basis"].startswith("rule: "), where
        if theatre.initial_control[theatre.resolve(r["town"])] == GOVERNMENT:
            assert "if counterattacked" in r["basis"] or "if the opposition counterattacked" in \
                r["basis"], where


# ---------------------------------------------------------------------------- machine paths

#: Absolute paths of a particular machine (the one the data were curated on, a home folder, a
#: temporary folder). Tracked files cite shared material by its own name instead.
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:work|home|Users|root|mnt|tmp)/|\b[A-Za-z]:\\Users\\")
CHECKED_FOLDERS = ("seeds", "sim", "calibration", "scenarios", "docs")
BINARY_SUFFIXES = {".png", ".parquet", ".pyc", ".ipynb_checkpoints"}


def _tracked_files(repo: Path) -> list[Path]:
    """Files of CHECKED_FOLDERS that git tracks (every file in them outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--", *CHECKED_FOLDERS],
            cwd=repo, capture_output=True, check=True,
        ).stdout.decode()
        files = [repo / f for f in out.split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = [p for d in CHECKED_FOLDERS for p in (repo / d).rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts]
    return [f for f in files if f.suffix not in BINARY_SUFFIXES]


def test_no_tracked_file_cites_a_machine_path() -> None:
    repo = Path(__file__).resolve().parents[1]
    files = _tracked_files(repo)
    assert any(f.name == "initial_control.csv" for f in files)
    assert len(files) > 30
    hits = []
    for f in files:
        text = f.read_text(encoding="utf-8", errors="replace")
        for m in MACHINE_PATH.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            hits.append(f"{f.relative_to(repo)}:{line}: {m.group(0)!r}")
    assert not hits, "\n".join(hits)


def test_machine_path_pattern_spares_urls_and_relative_paths() -> None:
    assert MACHINE_PATH.search("copy of `/work/shared/seed/x.txt`")
    assert MACHINE_PATH.search("source,/home/me/data.csv")
    assert not MACHINE_PATH.search("https://example.org/work/page and https://x.org/home/")
    assert not MACHINE_PATH.search("the shared `data/initial_control.csv`; ../shared/docs")
