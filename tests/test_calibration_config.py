"""`idlib-sim calibrate` on bad configs, run names and output folders: one located error line,
exit 2, before any work. (Resume and caches: test_calibration_resume.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim import cli

BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"
HEAD = f"name: x\nscenario: {BASELINE}\n"

# (case id, config text after the name and scenario lines, regex the message must match)
CASES = [
    ("impossible holdout date", "holdout: {last_in_sample: 2020-02-30}\n",
     r"cfg\.yaml:3: field 'holdout\.last_in_sample': value '2020-02-30': .*date"),
    ("holdout date outside the campaign", "holdout:\n  last_in_sample: 2021-01-01\n",
     r"cfg\.yaml:4: field 'holdout\.last_in_sample': value '2021-01-01': must lie within the "
     r"campaign"),
    ("holdout date not a date", "holdout: {last_in_sample: soon}\n",
     r"field 'holdout\.last_in_sample': value 'soon'"),
    ("boolean seed", "seed: true\n", r"cfg\.yaml:3: field 'seed': value True: .*integer"),
    ("negative seed", "seed: -1\n", r"field 'seed': value -1: .*greater than or equal to 0"),
    ("seed beyond the sampler", "seed: 4294967296\n", r"field 'seed': value 4294967296"),
    ("path in the name", "name: ../../x\n", r"field 'name': value '\.\./\.\./x': a run name is"),
    ("dot name", "name: '..'\n", r"field 'name': value '\.\.': a run name"),
    ("huge replicas", "posterior: {replicas: 10000000000}\n",
     r"cfg\.yaml:3: field 'posterior\.replicas': value 10000000000: .*less than or equal"),
    ("boolean replicas", "predictive: {replicas_per_draw: true}\n",
     r"field 'predictive\.replicas_per_draw': value True"),
    ("boolean switch given as a number", "sbc: {enabled: 0}\n", r"field 'sbc\.enabled': value 0"),
    ("NaN quantile", "posterior: {quantile: .nan}\n", r"field 'posterior\.quantile': value nan"),
    ("no dimensions", "dims: []\n", r"field 'dims': value \[\]"),
    ("duplicate dimension", "dims: [air_effect, air_effect]\n",
     r"cfg\.yaml:3: field 'dims': value 'air_effect': listed twice"),
    ("unknown dimension", "dims:\n  - air_efect\n",
     r"cfg\.yaml:4: field 'dims': value 'air_efect': not a calibrated dimension "
     r"\(did you mean 'air_effect'"),
    ("first model's dimension", "dims: [params.capture_rate_per_day]\n",
     r"field 'dims': value 'params\.capture_rate_per_day': not a calibrated dimension"),
    ("misspelt key", "posterir: {particles: 3}\n",
     r"cfg\.yaml:3: field 'posterir': unknown key 'posterir' \(did you mean 'posterior'\?\)"),
    ("misspelt nested key", "posterior:\n  particels: 30\n",
     r"cfg\.yaml:4: field 'posterior\.particels': unknown key 'particels' \(did you mean "
     r"'particles'\?\)"),
    ("a list", None,
     r"cfg\.yaml:1: a calibration config is a YAML mapping, this file holds a list"),
    ("bad YAML", "posterior: {particles: 3\n", r"cfg\.yaml:\d+: invalid YAML"),
    ("duplicate key", "seed: 1\nseed: 2\n",
     r"cfg\.yaml:4: duplicate key 'seed' \(first on line 3\)"),
    ("over-long scenario path", "scenario: " + "x" * 300 + ".yaml\n",
     r"field 'scenario': value 'x+\.\.\.: (not a usable path|no such file)"),
    ("scenario path beyond the limit", "scenario: " + "x" * 5000 + ".yaml\n",
     r"field 'scenario': value 'x+\.\.\.: String should have at most 1000 characters"),
]


@pytest.mark.parametrize(("body", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_config_gives_one_located_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            body: str | None, expected: str) -> None:
    cfg = tmp_path / "cfg.yaml"
    if body is None:
        cfg.write_text("- a\n- b\n")
    elif body.startswith(("name:", "scenario:")):
        key = body.split(":")[0]
        cfg.write_text("".join(x + "\n" for x in HEAD.splitlines() if not x.startswith(key))
                       + body)
        expected = expected.replace(r"cfg\.yaml:3", r"cfg\.yaml:2")
    else:
        cfg.write_text(HEAD + body)
    out = tmp_path / "res"
    assert cli.main(["calibrate", str(cfg), "--out-root", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("idlib-sim: error: "), err
    assert len(err) < 600, err
    assert re.search(expected, err), err
    assert not out.exists()  # refused before any work


def _good(tmp_path: Path) -> Path:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(HEAD + "posterior: {particles: 10, generations: 1, replicas: 16}\n")
    return cfg


@pytest.mark.parametrize("run", ["../x", "a/b", ".", "", "x" * 101])
def test_bad_run_name(tmp_path: Path, capsys: pytest.CaptureFixture[str], run: str) -> None:
    assert cli.main(["calibrate", str(_good(tmp_path)), "--out-root", str(tmp_path / "res"),
                     "--run", run, "--quiet"]) == 2
    assert "--run: value" in capsys.readouterr().err
    assert not (tmp_path / "res").exists()


def test_a_foreign_folder_is_never_written_into(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "res" / "x"
    (mine / "sub").mkdir(parents=True)
    (mine / "thesis.txt").write_text("years of work\n")
    (mine / "scores.json").write_text("{\"mine\": true}\n")
    before = sorted(p.relative_to(mine) for p in mine.rglob("*"))
    assert cli.main(["calibrate", str(_good(tmp_path)), "--out-root", str(tmp_path / "res"),
                     "--quiet"]) == 2
    assert "not a calibration run folder" in capsys.readouterr().err
    assert sorted(p.relative_to(mine) for p in mine.rglob("*")) == before
    assert (mine / "scores.json").read_text() == "{\"mine\": true}\n"


def test_out_root_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "res"
    f.write_text("a file\n")
    assert cli.main(["calibrate", str(_good(tmp_path)), "--out-root", str(f), "--quiet"]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert f.read_text() == "a file\n"


def test_missing_config_and_folder_as_config(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["calibrate", str(tmp_path / "none.yaml"), "--quiet"]) == 2
    assert "file not found" in capsys.readouterr().err
    assert cli.main(["calibrate", str(tmp_path), "--quiet"]) == 2
    assert "a folder, not a calibration config file" in capsys.readouterr().err


def test_holdout_date_with_nothing_to_fit_before_it(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(HEAD + "holdout: {last_in_sample: 2019-12-20}\n")
    assert cli.main(["calibrate", str(cfg), "--out-root", str(tmp_path / "res"), "--quiet"]) == 2
    assert ("field 'holdout.last_in_sample': value '2019-12-20': no capture target dated on or "
            "before it") in capsys.readouterr().err
    assert not (tmp_path / "res").exists()
