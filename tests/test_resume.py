"""Interrupt and resume a batch run (:mod:`sim.checkpoint`): a real ``idlib-sim run`` process
stopped part-way by Ctrl-C (SIGINT to its process group, workers included) or SIGTERM keeps a
checkpoint and says in one line how to resume; the resumed run's outputs are byte-identical to
an uninterrupted run's; bad resumes are one-line errors; nothing not ours is deleted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim import checkpoint, cli
from sim.engines.chunk import BLOCK
from sim.parallel import tasks

ROOT = Path(__file__).parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
# 12 blocks: 12 tasks of one block; a 38-day campaign keeps each task short
N = 12 * BLOCK
SHORT = "period:\n  start: 2019-12-19\n  end: 2020-01-26\n"
SAMPLES = "speed_scale,footprint_km\n0.30,18\n0.15,10\n0.60,30\n"
FILES = ("towns.csv", "territory.csv", "held_probability.csv", "capture_days.parquet",
         "recapture_days.parquet", "last_capture_days.parquet")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("sc")
    (d / "post.csv").write_text(SAMPLES)
    sc = d / "a.yaml"
    sc.write_text(f"name: a\ndescription: a?\nextends: {BASELINE}\nposterior: post.csv\n{SHORT}"
                  "outputs:\n  plots: false\n")
    return sc


@pytest.fixture(scope="module")
def reference(scenario: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run."""
    out = tmp_path_factory.mktemp("ref") / "run"
    assert cli.main(["run", str(scenario), "--replicas", str(N), "--seed", "5", "--out",
                     str(out), "--quiet"]) == 0
    return out


def _interrupt(scenario: Path, out: Path, sig: int,
               workers: int) -> subprocess.CompletedProcess[str]:
    """Start ``idlib-sim run`` in its own session, send ``sig`` (to the whole group, as a
    terminal's Ctrl-C does) once the first task's rows are written, and wait for it."""
    cmd = [sys.executable, "-m", "sim.cli", "run", str(scenario), "--replicas", str(N),
           "--seed", "5", "--out", str(out), "--quiet", "--workers", str(workers)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, cwd=ROOT)
    deadline = time.monotonic() + 120
    while not list(out.parent.glob(f".{out.name}.tmp-*/capture_days.parquet")):
        assert p.poll() is None, p.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.killpg(p.pid, sig)
    stdout, stderr = p.communicate(timeout=120)
    return subprocess.CompletedProcess(cmd, p.returncode, stdout, stderr)


def _same_outputs(a: Path, b: Path) -> None:
    for f in FILES:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    ma, mb = (json.loads((d / "manifest.json").read_text()) for d in (a, b))
    for m in (ma, mb):
        m.pop("wall_time_s"), m.pop("written_at")
    assert ma == mb


def test_a_killed_run_resumes_to_byte_identical_outputs(scenario: Path, reference: Path,
                                                        tmp_path: Path) -> None:
    """Ctrl-C as a terminal sends it (SIGINT to the group: driver and both workers)."""
    out = tmp_path / "run"
    res = _interrupt(scenario, out, signal.SIGINT, 2)
    assert res.returncode == 130, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert "--resume" in lines[0] and "interrupted after" in lines[0]
    assert not out.exists() and not list(tmp_path.glob(".run.tmp-*"))  # nothing half-written
    meta = json.loads((checkpoint.checkpoint_dir(out) / "checkpoint.json").read_text())
    assert 1 <= meta["tasks_done"] < len(tasks(N))  # stopped part-way, after a whole task
    assert cli.main(["run", str(scenario), "--replicas", str(N), "--seed", "5", "--out",
                     str(out), "--quiet", "--resume", "--workers", "1"]) == 0
    _same_outputs(reference, out)
    assert not checkpoint.checkpoint_dir(out).exists()  # done: the checkpoint is gone


def test_resume_without_a_checkpoint_or_with_other_settings_is_a_one_line_error(
        scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    argv = ["run", str(scenario), "--replicas", str(N), "--out", str(out), "--quiet"]
    assert cli.main([*argv, "--seed", "5", "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no checkpoint" in err[0]
    res = _interrupt(scenario, out, signal.SIGTERM, 1)  # SIGTERM keeps a checkpoint too
    assert res.returncode == 130 and "--resume" in res.stderr and "Traceback" not in res.stderr
    assert cli.main([*argv, "--seed", "6", "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'seed'" in err[0] and "5" in err[0] and "6" in err[0]
    assert checkpoint.checkpoint_dir(out).exists()  # a refused resume keeps the checkpoint
    assert cli.main([*argv, "--seed", "5", "--engine", "des", "--resume"]) == 2
    assert "batch" in capsys.readouterr().err


def test_a_foreign_file_in_the_checkpoint_folder_is_never_deleted(scenario: Path,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "run"
    d = checkpoint.checkpoint_dir(out)
    d.mkdir()
    (d / "notes.txt").write_text("mine")
    (d / "checkpoint.json").write_text('{"producer": "idlib-sim", "files": ["notes.txt"]}')
    checkpoint.discard(out)
    assert (d / "notes.txt").read_text() == "mine"
    assert not (d / "checkpoint.json").exists()


def test_a_damaged_checkpoint_is_a_one_line_error(scenario: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    d = checkpoint.checkpoint_dir(out)
    d.mkdir()
    from sim.run import build_campaign, run_fingerprint
    from sim.scenario import load_scenario, with_overrides

    sc = with_overrides(load_scenario(scenario), replicas=N, seed=5)
    fp = run_fingerprint(sc, build_campaign(sc), N, 5, sc.posterior_samples())
    (d / "checkpoint.json").write_text(json.dumps({"producer": "idlib-sim", "fingerprint": fp,
                                                   "tasks_done": 1, "files": []}))
    assert cli.main(["run", str(scenario), "--replicas", str(N), "--seed", "5", "--out",
                     str(out), "--quiet", "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unreadable" in err[0] and "ensemble.npz" in err[0]
