"""Error messages of the seed loader and the ``idlib-sim theatre`` command.

Each test copies ``seeds/`` to a temporary folder, corrupts exactly one thing and checks that
:func:`sim.theatre.load_theatre` raises a :class:`~sim.errors.DataError` whose message names the
file, the line, the field and the bad value. Expected line numbers are found by searching the
written file for the bad value, not by asking the loader.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.errors import DataError
from sim.theatre import HASTY, POSTURES, load_theatre

SEEDS = Path(__file__).resolve().parents[1] / "seeds"

Rows = list[list[str]]


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    root = tmp_path / "seeds"
    shutil.copytree(SEEDS, root)
    return root


def _edit(root: Path, filename: str, change: Callable[[Rows], None]) -> Path:
    """Rewrite ``root/filename`` after ``change`` has edited its rows (header = row 0)."""
    path = root / filename
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    change(rows)
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _line_of(path: Path, marker: str) -> int:
    """1-based physical line of the only occurrence of ``marker`` in the file."""
    text = path.read_text(encoding="utf-8")
    assert text.count(marker) == 1, marker
    return text[: text.index(marker)].count("\n") + 1


def _row_index(rows: Rows, column: str, value: str) -> int:
    col = rows[0].index(column)
    hits = [k for k, r in enumerate(rows) if k > 0 and r[col] == value]
    assert len(hits) == 1, (column, value)
    return hits[0]


def _set(column: str, key_column: str, key: str, value: str) -> Callable[[Rows], None]:
    def change(rows: Rows) -> None:
        rows[_row_index(rows, key_column, key)][rows[0].index(column)] = value

    return change


def _load_error(root: Path) -> str:
    with pytest.raises(DataError) as info:
        load_theatre(root=root)
    return str(info.value)


def _assert_names(msg: str, filename: str, line: int | None, field: str, value: str | None) -> None:
    assert filename in msg, msg
    if line is not None:
        assert f"{filename}:{line}:" in msg, msg
    assert repr(field) in msg, msg
    if value is not None:
        assert repr(value) in msg, msg


# ---------------------------------------------------------------------------------- baseline


def test_unmodified_copy_loads(seeds: Path) -> None:
    # Also proves that the csv round trip used by _edit does not itself change anything.
    for name in ("towns.csv", "events.csv", "roads.csv", "clusters.csv", "initial_control.csv",
                 "posture.csv"):
        _edit(seeds, name, lambda rows: None)
    th = load_theatre(root=seeds)
    assert th.tables.root == seeds
    assert th.n_towns == len(load_theatre().names)


# ------------------------------------------------------------------------------------- towns


@pytest.mark.parametrize(
    ("column", "bad"),
    [
        ("lat", "thirty-five"),  # not a number
        ("lat", "37.9"),  # outside LAT_RANGE
        ("lon", "35.1"),  # outside LON_RANGE
        ("kind", "castle"),  # not one of the kinds
        ("coord_quality", "guessed"),
    ],
)
def test_bad_town_value_names_file_line_field_value(
    seeds: Path, column: str, bad: str
) -> None:
    path = _edit(seeds, "towns.csv", _set(column, "town", "Saraqib", bad))
    line = _line_of(path, f",{bad},")
    assert line > 2
    _assert_names(_load_error(seeds), "towns.csv", line, column, bad)


def test_missing_column(seeds: Path) -> None:
    def drop(rows: Rows) -> None:
        i = rows[0].index("terrain")
        for r in rows:
            del r[i]

    _edit(seeds, "towns.csv", drop)
    _assert_names(_load_error(seeds), "towns.csv", 1, "terrain", None)


def test_extra_column(seeds: Path) -> None:
    def add(rows: Rows) -> None:
        rows[0].append("elevation_m")
        for r in rows[1:]:
            r.append("300")

    _edit(seeds, "towns.csv", add)
    _assert_names(_load_error(seeds), "towns.csv", 1, "elevation_m", None)


def test_row_with_more_values_than_columns(seeds: Path) -> None:
    def add(rows: Rows) -> None:
        rows[_row_index(rows, "town", "Saraqib")].append("surplus-value")

    path = _edit(seeds, "towns.csv", add)
    msg = _load_error(seeds)
    assert f"towns.csv:{_line_of(path, 'surplus-value')}:" in msg
    assert "surplus-value" in msg


def test_town_alias_naming_another_town(seeds: Path) -> None:
    _edit(seeds, "towns.csv", _set("aliases", "town", "Sarmin", "Saraqib"))
    msg = _load_error(seeds)
    assert "towns.csv" in msg and "'aliases'" in msg and "'Saraqib'" in msg


# ------------------------------------------------------------------------------------- roads


def test_misspelt_road_town_suggests_the_right_one(seeds: Path) -> None:
    def misspell(rows: Rows) -> None:
        k = [i for i, r in enumerate(rows) if r[0] == "M5" and r[2] == "Saraqib"]
        assert len(k) == 1
        rows[k[0]][2] = "Saraqeb"

    path = _edit(seeds, "roads.csv", misspell)
    msg = _load_error(seeds)
    # the file's own line, although the loader sorts roads.csv rows by road and order
    _assert_names(msg, "roads.csv", _line_of(path, "Saraqeb"), "town", "Saraqeb")
    assert "did you mean" in msg and "'Saraqib'" in msg


def test_line_numbers_count_physical_lines_after_a_multiline_field(seeds: Path) -> None:
    def edit(rows: Rows) -> None:
        rows[1][5] = "a quote that\nruns over two lines"
        k = [i for i, r in enumerate(rows) if r[2] == "captured"][-1]
        rows[k][1] = "Atlantis"

    path = _edit(seeds, "events.csv", edit)
    msg = _load_error(seeds)
    _assert_names(msg, "events.csv", _line_of(path, "Atlantis"), "place", "Atlantis")


def test_missing_optional_column_is_reported(seeds: Path) -> None:
    def drop_note(rows: Rows) -> None:
        j = rows[0].index("note")
        for r in rows:
            del r[j]

    _edit(seeds, "towns.csv", drop_note)
    msg = _load_error(seeds)
    assert "towns.csv:1:" in msg and "'note'" in msg and "missing column" in msg


# --------------------------------------------------------------------------- initial_control


def test_duplicate_town_in_initial_control(seeds: Path) -> None:
    def duplicate(rows: Rows) -> None:
        row = list(rows[_row_index(rows, "town", "Saraqib")])
        row[1] = "government" if row[1] == "opposition" else "opposition"
        rows.append(row)

    path = _edit(seeds, "initial_control.csv", duplicate)
    n_lines = path.read_text(encoding="utf-8").count("\n")
    _assert_names(_load_error(seeds), "initial_control.csv", n_lines, "town", "Saraqib")


def test_town_without_initial_control(seeds: Path) -> None:
    def remove(rows: Rows) -> None:
        del rows[_row_index(rows, "town", "Saraqib")]

    _edit(seeds, "initial_control.csv", remove)
    _assert_names(_load_error(seeds), "initial_control.csv", None, "town", "Saraqib")


# ----------------------------------------------------------------------------------- posture


def test_posture_is_loaded_as_indices_into_postures(seeds: Path) -> None:
    def change(rows: Rows) -> None:
        rows[_row_index(rows, "town", "Saraqib")][1] = "fortified"
        rows[_row_index(rows, "town", "Aleppo")][1] = "hasty"

    _edit(seeds, "posture.csv", change)
    th = load_theatre(root=seeds)
    assert th.posture.dtype == np.int8
    assert POSTURES[th.posture[th.resolve("Saraqib")]] == "fortified"
    assert th.posture[th.resolve("Aleppo")] == HASTY
    assert set(np.unique(th.posture)) <= set(range(len(POSTURES)))


def test_unknown_posture_value(seeds: Path) -> None:
    path = _edit(seeds, "posture.csv", _set("posture", "town", "Saraqib", "entrenched"))
    _assert_names(_load_error(seeds), "posture.csv", _line_of(path, "entrenched"), "posture",
                  "entrenched")


def test_bad_posture_basis_kind(seeds: Path) -> None:
    path = _edit(seeds, "posture.csv", _set("basis_kind", "town", "Saraqib", "guessed"))
    _assert_names(_load_error(seeds), "posture.csv", _line_of(path, "Saraqib,hasty,guessed"),
                  "basis_kind", "guessed")


def test_misspelt_posture_town_suggests_the_right_one(seeds: Path) -> None:
    path = _edit(seeds, "posture.csv", _set("town", "town", "Saraqib", "Saraqeb"))
    msg = _load_error(seeds)
    _assert_names(msg, "posture.csv", _line_of(path, "Saraqeb"), "town", "Saraqeb")
    assert "did you mean" in msg and "'Saraqib'" in msg


def test_duplicate_town_in_posture(seeds: Path) -> None:
    def duplicate(rows: Rows) -> None:
        rows.append(list(rows[_row_index(rows, "town", "Saraqib")]))

    path = _edit(seeds, "posture.csv", duplicate)
    n_lines = path.read_text(encoding="utf-8").count("\n")
    _assert_names(_load_error(seeds), "posture.csv", n_lines, "town", "Saraqib")


def test_town_without_posture(seeds: Path) -> None:
    def remove(rows: Rows) -> None:
        del rows[_row_index(rows, "town", "Hass")]

    _edit(seeds, "posture.csv", remove)
    msg = _load_error(seeds)
    _assert_names(msg, "posture.csv", None, "town", "Hass")
    assert "no posture" in msg


def test_missing_posture_file(seeds: Path) -> None:
    (seeds / "posture.csv").unlink()
    msg = _load_error(seeds)
    assert "posture.csv" in msg and "file not found" in msg


# ------------------------------------------------------------------------------------ events


def _first_row(rows: Rows, event: str, after: int) -> int:
    col = rows[0].index("event")
    return next(k for k, r in enumerate(rows) if k > after and r[col] == event)


def test_bad_event_date(seeds: Path) -> None:
    def change(rows: Rows) -> None:
        rows[_first_row(rows, "captured", after=100)][0] = "2020-02-30"

    path = _edit(seeds, "events.csv", change)
    line = _line_of(path, "2020-02-30")
    assert line > 100
    _assert_names(_load_error(seeds), "events.csv", line, "date", "2020-02-30")


def test_event_place_that_resolves_nowhere(seeds: Path) -> None:
    def change(rows: Rows) -> None:
        rows[_first_row(rows, "captured", after=100)][1] = "Atlantis"

    path = _edit(seeds, "events.csv", change)
    line = _line_of(path, "Atlantis")
    _assert_names(_load_error(seeds), "events.csv", line, "place", "Atlantis")


def test_unknown_event_kind(seeds: Path) -> None:
    def change(rows: Rows) -> None:
        rows[_first_row(rows, "captured", after=100)][2] = "liberated"

    path = _edit(seeds, "events.csv", change)
    _assert_names(_load_error(seeds), "events.csv", _line_of(path, "liberated"), "event",
                  "liberated")


def test_non_territorial_event_place_need_not_resolve(seeds: Path) -> None:
    def change(rows: Rows) -> None:
        rows[_first_row(rows, "other", after=100)][1] = "Atlantis"

    _edit(seeds, "events.csv", change)
    assert load_theatre(root=seeds).try_resolve("Atlantis") is None


# ---------------------------------------------------------------------------------- clusters


def test_cluster_node_that_is_not_a_town(seeds: Path) -> None:
    def change(rows: Rows) -> None:
        # a cluster member is not a town, so it cannot be another member's node
        assert rows[1][0] != "Hatamiyeh"
        rows[_row_index(rows, "member", "Qomhane")][1] = "Hatamiyeh"

    path = _edit(seeds, "clusters.csv", change)
    line = _line_of(path, "Qomhane,Hatamiyeh")
    _assert_names(_load_error(seeds), "clusters.csv", line, "node", "Hatamiyeh")


def test_cluster_node_unknown_place(seeds: Path) -> None:
    path = _edit(seeds, "clusters.csv", _set("node", "member", "Hatamiyeh", "Atlantis"))
    _assert_names(_load_error(seeds), "clusters.csv", _line_of(path, "Atlantis"), "node",
                  "Atlantis")


# ------------------------------------------------------------------------------------- cli


SUMMARY_KEYS = {
    "n_towns",
    "n_edges",
    "connected",
    "theatre_area_km2",
    "initial_government_area_km2",
    "unplaced_event_places",
}


def test_cli_theatre_json_prints_one_object(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IDLIB_SIM_SEEDS", raising=False)
    assert main(["theatre", "--json"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 1
    summary = json.loads(captured.out)
    assert isinstance(summary, dict)
    assert SUMMARY_KEYS <= set(summary)
    assert summary["connected"] is True
    assert summary["n_towns"] >= 120
    assert summary["n_edges"] >= summary["n_towns"] - 1
    assert 0 < summary["initial_government_area_km2"] < summary["theatre_area_km2"]
    places = summary["unplaced_event_places"]
    assert isinstance(places, list) and all(isinstance(p, str) for p in places)
    with (SEEDS / "unplaced.csv").open(newline="", encoding="utf-8") as fh:
        assert set(places) == {r["place"] for r in csv.DictReader(fh)}


def test_cli_reports_bad_seeds_in_one_line(
    seeds: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _edit(seeds, "towns.csv", _set("lat", "town", "Saraqib", "thirty-five"))
    monkeypatch.setenv("IDLIB_SIM_SEEDS", str(seeds))
    assert main(["theatre"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("idlib-sim: error:")
    assert "towns.csv" in lines[0] and "thirty-five" in lines[0]
    assert "Traceback" not in captured.err
    assert captured.out == ""
