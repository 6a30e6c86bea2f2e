"""Calibration resume (issue 9 §5): a killed run resumed, evaluations across processes, caches
keyed on the configuration's content. Tiny configs (16 replicas, ten particles, no plots)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.calibration.cache import RunFolder
from sim.calibration.calibrate import calibrate
from sim.errors import IdlibSimError

BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"
ROOT = Path(__file__).parents[1]
AIR = "air_effect"


def _config(path: Path, seed: int = 3, gens: int = 2, cut: str = "2020-02-10",
            sbc: bool = False) -> Path:
    body = (f"name: tiny\nscenario: {BASELINE}\nseed: {seed}\ndims: [{AIR}]\n"
            f"posterior: {{particles: 10, generations: {gens}, replicas: 16, samples: 20}}\n"
            f"holdout: {{last_in_sample: {cut}}}\n"
            "predictive: {draws: 2, replicas_per_draw: 16}\n"
            f"sbc: {{enabled: {str(sbc).lower()}, reference: 20, truths: 5, min_accepted: 4}}\n"
            "plots: false\n")
    path.write_text(body)
    return path


def _scores(out: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((out / "scores.json").read_text())


@pytest.mark.slow
def test_kill_and_resume(tmp_path: Path) -> None:
    """SIGKILL a real `idlib-sim calibrate` during the hold-out fit, then resume it in another
    process: the posterior is reused, the hold-out redone, and both processes' work counted."""
    cfg = _config(tmp_path / "tiny.yaml", gens=3)
    res = tmp_path / "res"
    out = res / "tiny"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "calibrate", str(cfg),
                             "--out-root", str(res), "--quiet"], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ledger = out / "evaluations.log"
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if ledger.is_file() and ledger.read_text().count("holdout ") >= 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"finished before the kill: {proc.stderr.read()!r}"  # type: ignore[union-attr]
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert (out / "posterior_population.csv").is_file()
    assert not (out / "scores.json").exists() and not (out / "holdout_population.csv").exists()
    population = (out / "posterior_population.csv").read_text()
    killed_holdout = ledger.read_text().count("holdout ")

    calibrate(cfg, out_root=res, progress=False)  # resume: here, a second process
    assert (out / "posterior_population.csv").read_text() == population
    s = _scores(out)
    by = s["evaluations_by_step"]
    assert by["posterior"] == ledger.read_text().count("posterior ") >= 10
    assert by["holdout"] >= 10 + killed_holdout  # the killed hold-out's work is counted too
    assert s["evaluations"] == sum(by.values())
    assert s["evaluations"] - s["evaluations_this_process"] == by["posterior"] + killed_holdout
    # nothing half-written or temporary is left behind
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name]
    json.loads((out / "cache.json").read_text())


def test_a_rerun_reuses_every_step_and_a_changed_holdout_only_the_holdout(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path / "tiny.yaml")
    out = calibrate(cfg, out_root=tmp_path / "res", progress=False)
    first = _scores(out)
    assert first["evaluations"] == first["evaluations_this_process"] > 0
    population = (out / "posterior_population.csv").read_text()

    calibrate(cfg, out_root=tmp_path / "res", progress=True)
    second = _scores(out)
    log = capsys.readouterr().out
    assert second["evaluations_this_process"] == 0
    assert second["evaluations"] == first["evaluations"]
    assert "posterior: reusing posterior_population.csv" in log
    assert "holdout: reusing holdout_population.csv" in log
    assert second["dated"] == first["dated"]  # the predictive scores are reproduced exactly

    # a setting only the hold-out reads (its targets) discards the hold-out, not the posterior
    _config(tmp_path / "tiny.yaml", cut="2020-02-20")
    calibrate(cfg, out_root=tmp_path / "res", progress=True)
    log = capsys.readouterr().out
    assert "holdout: discarding holdout_population.csv" in log
    assert "posterior: reusing posterior_population.csv" in log
    assert (out / "posterior_population.csv").read_text() == population
    third = _scores(out)
    assert third["evaluations_by_step"]["posterior"] == first["evaluations_by_step"]["posterior"]
    assert third["holdout"]["last_in_sample"] == "2020-02-20"


@pytest.mark.slow
def test_changed_seed_discards_the_caches_and_matches_a_fresh_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "tiny.yaml"
    _config(cfg, seed=3, sbc=True)
    reused = calibrate(cfg, out_root=tmp_path / "a", progress=False)
    _config(cfg, seed=4, sbc=True)
    calibrate(cfg, out_root=tmp_path / "a", progress=True)
    log = capsys.readouterr().out
    fresh = calibrate(cfg, out_root=tmp_path / "b", progress=False)
    for f in ("posterior_population.csv", "holdout_population.csv", "posterior_samples.csv",
              "sbc_ranks.csv", "terms_in_sample.csv", "terms_holdout.csv", "config.json"):
        assert (reused / f).read_text() == (fresh / f).read_text(), f
    a, b = _scores(reused), _scores(fresh)
    for k in ("wall_time_s", "evaluations_this_process"):
        a.pop(k), b.pop(k)
    assert a == b  # evaluations too: only the work behind the current result counts
    assert "posterior: discarding posterior_population.csv" in log and "seed 3 -> 4" in log
    assert "holdout: discarding holdout_population.csv" in log
    assert "sbc: discarding sbc_ranks.csv" in log


def test_a_second_calibration_in_the_same_folder_is_refused(tmp_path: Path) -> None:
    cfg = _config(tmp_path / "tiny.yaml")
    with RunFolder(tmp_path / "res" / "tiny", print).locked(), \
            pytest.raises(IdlibSimError, match="another `idlib-sim calibrate` is working"):
        calibrate(cfg, out_root=tmp_path / "res", progress=False)


def test_cache_written_by_an_older_version_is_discarded(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    cfg = _config(tmp_path / "tiny.yaml", gens=1)
    out = tmp_path / "res" / "tiny"
    out.mkdir(parents=True)
    (out / "config.json").write_text("{}\n")
    for f in ("posterior_population.csv", "posterior_generations.csv", "posterior_stopped.txt"):
        (out / f).write_text(f"{AIR},weight,distance\n9,1,0\n")
    calibrate(cfg, out_root=tmp_path / "res", progress=True)
    assert ("posterior: discarding posterior_population.csv, posterior_generations.csv, "
            "posterior_stopped.txt (no record of the settings it was made with)"
            in capsys.readouterr().out)
    assert pd.read_csv(out / "posterior_population.csv")[AIR].max() <= 3.0  # its range


def test_temporary_files_of_a_killed_run_are_removed_under_the_lock(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}\n")
    (out / ".screening.csv.tmp-abc123").write_text("half a tab")
    (out / "notes.tmp-keep.txt").write_text("not our pattern\n")
    logs: list[str] = []
    with RunFolder(out, logs.append).locked():
        pass
    assert not (out / ".screening.csv.tmp-abc123").exists()
    assert (out / "notes.tmp-keep.txt").exists() and (out / "config.json").exists()
    assert logs == ["removing .screening.csv.tmp-abc123, left by an interrupted run"]
