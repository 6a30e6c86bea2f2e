"""`idlib-sim score` on damaged or foreign run folders: one located error line, exit 2.

Each case starts from a real run folder (written once by `idlib-sim run`), damages one thing,
and checks that the command names the file, the field and the value, without a traceback.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import cli
from sim.errors import IdlibSimError
from sim.io.rundir import MAX_RUN_DAYS, load_run

BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("score") / "good"
    assert cli.main(["run", str(BASELINE), "--replicas", "64", "--seed", "5", "--out", str(out),
                     "--quiet"]) == 0
    return out


def _manifest(run: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((run / "manifest.json").read_text())


def _set_manifest(**changes: object) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        m = _manifest(run)
        for k, v in changes.items():
            if v is _DROP:
                del m[k]
            else:
                m[k] = v
        (run / "manifest.json").write_text(json.dumps(m))
    return damage


_DROP = object()


def _write(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda run: (run / name).write_bytes(content)


def _rm(name: str) -> Callable[[Path], None]:
    return lambda run: (run / name).unlink()


def _parquet(fn: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        p = run / "capture_days.parquet"
        fn(pd.read_parquet(p)).to_parquet(p)
    return damage


def _territory(fn: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        p = run / "territory.csv"
        fn(pd.read_csv(p)).to_csv(p, index=False)
    return damage


def _dir_instead_of_file(run: Path) -> None:
    (run / "territory.csv").unlink()
    (run / "territory.csv").mkdir()


# (case id, damage, regex the one-line message must match). Every message names the file; where a
# field or a value is at fault it names those too.
CASES: list[tuple[str, Callable[[Path], None], str]] = [
    # the 11 cases of issue 9 section 3 (7 of them were tracebacks)
    ("bad JSON", _write("manifest.json", b'{"start": "2019-12-19",'),
     r"manifest\.json: invalid JSON: .*line 1"),
    ("manifest without start", _set_manifest(start=_DROP),
     r"manifest\.json: field 'start': missing"),
    ("impossible date", _set_manifest(start="2019-02-30"),
     r"manifest\.json: field 'start': value '2019-02-30': not a date"),
    ("list as manifest", _write("manifest.json", b"[1, 2]"),
     r"manifest\.json: a manifest must be a JSON object, got list"),
    ("corrupt Parquet", _write("capture_days.parquet", b"PAR1 this is not parquet PAR1"),
     r"capture_days\.parquet: not a readable Parquet file"),
    ("empty territory.csv", _write("territory.csv", b""), r"territory\.csv: empty file"),
    ("missing manifest", _rm("manifest.json"), r"not a run directory \(manifest\.json missing\)"),
    ("missing capture days", _rm("capture_days.parquet"),
     r"not a run directory \(capture_days\.parquet missing\)"),
    ("missing territory", _rm("territory.csv"), r"not a run directory \(territory\.csv missing\)"),
    ("manifest without end", _set_manifest(end=_DROP), r"manifest\.json: field 'end': missing"),
    ("start not a string", _set_manifest(start=20191219),
     r"manifest\.json: field 'start': value 20191219: not an ISO date"),
    # more of the same kind
    ("manifest not UTF-8", _write("manifest.json", b'{"start": "\xff"}'),
     r"manifest\.json: not UTF-8 text"),
    ("end before start", _set_manifest(end="2019-12-01"),
     r"manifest\.json: field 'end': value '2019-12-01': not after start 2019-12-19"),
    ("start before the offensive", _set_manifest(start="2019-01-01"),
     r"manifest\.json: field 'start': value '2019-01-01': before the offensive"),
    ("absurd end", _set_manifest(end="9999-12-31"),
     rf"manifest\.json: field 'end': value '9999-12-31': more than {MAX_RUN_DAYS} days"),
    ("deeply nested JSON", _write("manifest.json", b"[" * 100_000 + b"]" * 100_000),
     r"manifest\.json: (invalid JSON|a manifest must be a JSON object)"),
    ("town column missing", _parquet(lambda d: d.drop(columns=["Saraqib"])),
     r"capture_days\.parquet: field 'Saraqib': no column for this town"),
    ("no replicas", _parquet(lambda d: d.iloc[:0]), r"capture_days\.parquet: no replicas"),
    ("float capture days", _parquet(lambda d: d.astype(float)),
     r"capture_days\.parquet: field '.+': value 'float64': capture days must be integers"),
    ("day beyond the run", _parquet(lambda d: d.assign(Saraqib=9999)),
     r"capture_days\.parquet: field 'Saraqib': value 9999: not a day of the run"),
    ("territory header only", _write("territory.csv", b"date,q50_km2\n"),
     r"territory\.csv: no rows"),
    ("territory column missing", _territory(lambda d: d.drop(columns=["q50_km2"])),
     r"territory\.csv: field 'q50_km2': column missing"),
    ("territory bad number", _territory(lambda d: d.assign(q50_km2=["x"] * len(d))),
     r"territory\.csv: field 'q50_km2': value 'x': row 2: not a finite number"),
    ("territory NaN", _territory(lambda d: d.assign(q50_km2=np.nan)),
     r"territory\.csv: field 'q50_km2': value nan: row 2: not a finite number"),
    ("territory bad date", _territory(lambda d: d.assign(date="2020-02-30")),
     r"territory\.csv: field 'date': value '2020-02-30': row 2: not an ISO date"),
    ("folder instead of file", _dir_instead_of_file, r"territory\.csv: not a file"),
]


@pytest.mark.parametrize(("damage", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_damaged_run_folder_gives_one_located_error(good_run: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    damage: Callable[[Path], None],
                                                    expected: str) -> None:
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    damage(run)
    capsys.readouterr()
    assert cli.main(["score", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("idlib-sim: error: "), err
    assert str(run) in err
    assert len(err) < 600


    assert re.search(expected, err), err


def test_a_file_instead_of_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("not a run\n")
    assert cli.main(["score", str(f)]) == 2
    assert f"{f}: not a folder" in capsys.readouterr().err
    assert cli.main(["score", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_a_good_run_folder_reads_and_scores(good_run: Path) -> None:
    from sim.world import default_world

    names = default_world()[0].names
    data = load_run(good_run, towns=names)
    assert list(data.capture_days.columns) == list(names)
    assert len(data.capture_days) == 64
    assert data.horizon == (data.end - data.start).days > 0
    assert cli.main(["score", str(good_run), "--json"]) == 0


def test_load_run_raises_the_domain_error(tmp_path: Path) -> None:
    with pytest.raises(IdlibSimError, match="no such folder"):
        load_run(tmp_path / "missing")
