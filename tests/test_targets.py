"""Targets from the whole record: the documented rules, the corrections, the accounting of every
dated row, and located errors in the calibration tables."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from sim.calibration.targets import CERTAINTY_WEIGHT, NEIGHBOUR_FACTOR, build_targets
from sim.calibration.targets.common import calibration_dir
from sim.errors import DataError
from sim.theatre.tables import seeds_dir
from sim.theatre.theatre import CAMPAIGN_END, CAMPAIGN_START
from sim.world import default_world

D = dt.date
REF = re.compile(r"events\.csv:(\d+) \((\d{4}-\d\d-\d\d) ([^()]+?) (\w+)\)")


@pytest.fixture(scope="module")
def theatre():  # type: ignore[no-untyped-def]
    return default_world()[0]


@pytest.fixture(scope="module")
def targets(theatre):  # type: ignore[no-untyped-def]
    return build_targets(theatre)


def _rows(df, locality):  # type: ignore[no-untyped-def]
    return df[df["locality"] == locality].sort_values("date")


def test_enough_dated_targets_with_their_breakdown(targets) -> None:  # type: ignore[no-untyped-def]
    n = targets.n_targets()
    assert n["dated"] >= 80
    assert n["dated"] == sum(n["by_kind"].values()) == sum(n["by_phase"].values())
    assert n["by_kind"]["recaptures"] >= 10 and n["by_kind"]["retakes"] >= 1
    assert all(n["by_phase"][p] > 0 for p in ("dec_jan", "jan_feb", "late_feb"))


def test_nayrab_misreading_is_corrected(targets) -> None:  # type: ignore[no-untyped-def]
    cap = _rows(targets.captures, "Nayrab")
    assert list(zip(cap["date"], cap["kind"], strict=True)) == [(D(2020, 2, 10), "by")]
    assert "correction" in cap["rule"].iloc[0]
    assert list(_rows(targets.recaptures, "Nayrab")["date"]) == [D(2020, 2, 20)]
    assert list(_rows(targets.retakes, "Nayrab")["date"]) == [D(2020, 2, 20)]
    # the second recapture (24 Feb) is not a dated target, and says why
    assert targets.left_out["events"].str.contains("2020-02-24 Nayrab").any()


def test_recapture_before_capture_and_saraqib_cycle(targets) -> None:  # type: ignore[no-untyped-def]
    assert list(_rows(targets.captures, "Tell Mannas")[["date", "kind"]].itertuples(
        index=False, name=None)) == [(D(2019, 12, 23), "by")]
    assert list(_rows(targets.recaptures, "Tell Mannas")["date"]) == [D(2019, 12, 24)]
    ret = _rows(targets.retakes, "Tell Mannas")
    assert list(ret["date"]) == [D(2020, 1, 26)] and list(ret["kind"]) == ["by"]
    assert list(_rows(targets.captures, "Saraqib")["date"]) == [D(2020, 2, 7)]
    assert list(_rows(targets.recaptures, "Saraqib")["date"]) == [D(2020, 2, 27)]
    ret = _rows(targets.retakes, "Saraqib")
    assert list(ret["date"]) == [D(2020, 3, 2)] and ret["weight"].iloc[0] == CERTAINTY_WEIGHT[
        "claimed"]


def test_members_are_targets_answered_by_their_node(targets) -> None:  # type: ignore[no-untyped-def]
    cap = targets.captures
    eiss = cap[cap["town"] == "Al-Eiss"]
    assert len(eiss) >= 12 and set(eiss["answered_by"]) == {"first_capture"}
    assert (eiss["role"] == "member").sum() == len(eiss) - 1
    # nodes dated only from a neighbour have no target of their own
    assert not ((cap["town"] == "Ma'saran") & (cap["role"] == "node")).any()
    assert not ((cap["town"] == "Kafrsajna") & (cap["role"] == "node")).any()
    dibs = cap[cap["locality"] == "Tell Dibs"].iloc[0]
    assert dibs["weight"] == CERTAINTY_WEIGHT["stated"] * NEIGHBOUR_FACTOR
    claimed = cap[cap["certainty"] == "claimed"]
    assert (claimed["weight"] <= CERTAINTY_WEIGHT["claimed"]).all()


def test_every_target_cites_real_event_rows(targets) -> None:  # type: ignore[no-untyped-def]
    lines = {}
    with (seeds_dir() / "events.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            lines[reader.line_num] = (row["date"], row["place"], row["event"])
    for df in (targets.dated(), targets.end_state, targets.left_out):
        for refs in df["events"]:
            found = REF.findall(refs)
            assert found, refs
            for line, date, place, event in found:
                assert lines[int(line)] == (date, place, event), refs


def test_every_dated_row_is_a_target_or_left_out_with_a_reason(theatre, targets) -> None:  # type: ignore[no-untyped-def]
    cited = {int(m) for refs in targets.dated()["events"] for m, *_ in REF.findall(refs)}
    cited |= {int(m) for refs in targets.left_out["events"] for m, *_ in REF.findall(refs)}
    ev = theatre.tables.events
    rows = [line for e, line in zip(ev, ev.lines, strict=True)
            if e.event in ("captured", "recaptured_by_opposition")
            and CAMPAIGN_START <= e.date <= CAMPAIGN_END]
    assert set(rows) <= cited
    assert targets.left_out["reason"].str.len().gt(0).all()


def test_counts_end_state_and_territory(theatre, targets) -> None:  # type: ignore[no-untyped-def]
    c = targets.counts.set_index("name")
    named = {e.place for e in theatre.tables.events if e.event == "captured"
             and D(2020, 2, 7) <= e.date <= D(2020, 2, 9) and e.place != "M5 highway"}
    assert c.loc["7-9 Feb", "value"] == len(named) and c.loc["7-9 Feb", "relation"] == "at_least"
    assert c.loc["16 Feb", "value"] == 31
    assert (c["replay"] >= 0).all()
    e = targets.end_state.set_index("town")
    assert e.loc["Saraqib", "holder"] == "government"
    assert e.loc["Nayrab", "holder"] == "opposition"
    assert e.loc["Idlib", "holder"] == e.loc["Ariha", "holder"] == "opposition"
    assert "Abu Dafna" not in e.index  # December recaptures say nothing of 6 Mar
    assert "Aleppo" not in e.index  # silent
    t = targets.territory
    assert t.loc[t["scored"], "value"].tolist() == [2345.0]


def test_hold_out_split_is_time_ordered(targets) -> None:  # type: ignore[no-untyped-def]
    cut = D(2020, 2, 10)
    early, late = targets.until(cut), targets.after(cut)
    for k in ("captures", "recaptures", "retakes"):
        a, b = getattr(early, k), getattr(late, k)
        assert (a["date"] <= cut).all() and (b["date"] > cut).all()
        assert len(a) + len(b) == len(getattr(targets, k))
    assert len(early.end_state) == 0 and len(late.end_state) == len(targets.end_state)


def _copy_calibration(tmp_path: Path) -> Path:
    root = tmp_path / "cal"
    root.mkdir()
    for f in ("corrections.csv", "end_state.csv"):
        shutil.copy(calibration_dir() / f, root / f)
    return root


@pytest.mark.parametrize(("file", "old", "new", "expected"), [
    ("corrections.csv", "2020-02-11|Nayrab|other", "2020-02-12|Nayrab|other",
     r"corrections.csv:2: field 'events' value '2020-02-12\|Nayrab\|other': no such row"),
    ("corrections.csv", "Nayrab,capture", "Nayrabb,capture",
     r"corrections.csv:2: field 'place' value 'Nayrabb'.*did you mean 'Nayrab'"),
    ("end_state.csv", "Ariha,opposition", "Arihaa,opposition",
     r"end_state.csv:3: field 'node' value 'Arihaa': unknown node.*did you mean 'Ariha'"),
    ("end_state.csv", "Ariha,opposition,approx", "Ariha,rebels,approx",
     r"end_state.csv:3: field 'holder' value 'rebels'"),
])
def test_bad_calibration_tables_give_located_errors(theatre, tmp_path: Path, file: str,  # type: ignore[no-untyped-def]
                                                    old: str, new: str, expected: str) -> None:
    root = _copy_calibration(tmp_path)
    text = (root / file).read_text(encoding="utf-8")
    assert old in text
    (root / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DataError, match=expected):
        build_targets(theatre, root)
