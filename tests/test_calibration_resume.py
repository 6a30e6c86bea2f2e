"""Calibration resume (issue 9 §5): abandoned trials, evaluations across processes, caches keyed
on the configuration's content. Tiny configs (16 replicas, a handful of trials, no plots)."""

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
AIR = "params.air_effect"


def _config(path: Path, seed: int = 3, trials: int = 3, fit_replicas: int = 16,
            screening: bool = False) -> Path:
    body = (f"name: tiny\nscenario: {BASELINE}\nseed: {seed}\n"
            + ("screening: {trajectories: 2, levels: 4, keep: 0, replicas: 16, always: "
               f"[{AIR}]}}\n" if screening else f"dims: [{AIR}]\n")
            + f"fit: {{trials: {trials}, replicas: {fit_replicas}}}\n"
            "posterior: {particles: 10, generations: 1, replicas: 16}\n"
            "holdout: {trials: 2}\nscore_replicas: 16\nplots: false\n")
    path.write_text(body)
    return path


def _study_states(journal: Path) -> dict[str, list[str]]:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(journal)))
    return {s.study_name: [t.state.name for t in optuna.load_study(
        study_name=s.study_name, storage=storage).trials]
        for s in optuna.get_all_study_summaries(storage)}


def _scores(out: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((out / "scores.json").read_text())


def test_abandoned_running_trial_is_marked_failed_and_the_defaults_rerun(tmp_path: Path) -> None:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    from sim.calibration import space
    from sim.calibration.steps import Evaluator, fit
    from sim.calibration.targets import build_targets
    from sim.scenario import load_scenario
    from sim.world import default_world

    base = load_scenario(BASELINE)
    ev = Evaluator(base, build_targets(default_world()[0]), seed=1, replicas=16)
    logs: list[str] = []
    folder = RunFolder(tmp_path / "run", logs.append)
    with folder.locked():
        # what a kill during the first trial leaves: the enqueued defaults' trial RUNNING
        storage = JournalStorage(JournalFileBackend(str(folder.path / "optuna_journal.log")))
        study = optuna.create_study(study_name="fit-x", storage=storage)
        study.enqueue_trial(space.current_values(base, [AIR]))
        study.ask()
        assert _study_states(folder.path / "optuna_journal.log")["fit-x"] == ["RUNNING"]
        _, hist = fit(ev, [AIR], 2, 1, folder, "fit-x", logs.append)
    states = _study_states(folder.path / "optuna_journal.log")["fit-x"]
    assert states == ["FAIL", "COMPLETE", "COMPLETE"]
    assert any("1 trial(s) left running by an interrupted run marked failed" in m for m in logs)
    assert len(hist) == 2 and ev.calls == 2
    # the defaults were evaluated after all (enqueued again: their trial had not completed)
    assert hist[f"params_{AIR}"].iloc[0] == space.current_values(base, [AIR])[AIR]


@pytest.mark.slow
def test_kill_and_resume(tmp_path: Path) -> None:
    """SIGKILL a real `idlib-sim calibrate` during the fit, then resume it in another process."""
    cfg = _config(tmp_path / "tiny.yaml", trials=8)
    res = tmp_path / "res"
    out = res / "tiny"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "calibrate", str(cfg),
                             "--out-root", str(res), "--quiet"], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ledger = out / "evaluations.log"
    journal = out / "optuna_journal.log"
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if journal.is_file() and any(
                    n.startswith("fit") and s.count("COMPLETE") >= 2
                    for n, s in _study_states(journal).items()):
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"finished before the kill: {proc.stderr.read()!r}"  # type: ignore[union-attr]
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    before = _study_states(out / "optuna_journal.log")
    (fit_study,) = [n for n in before if n.startswith("fit")]
    assert 2 <= before[fit_study].count("COMPLETE") < 8
    assert not (out / "scores.json").exists()

    calibrate(cfg, out_root=res, progress=False)  # resume: here, a second process
    after = _study_states(out / "optuna_journal.log")
    assert "RUNNING" not in after[fit_study]
    assert after[fit_study].count("FAIL") == before[fit_study].count("RUNNING")
    assert after[fit_study].count("COMPLETE") == 8
    assert len(pd.read_csv(out / "fit_trials.csv")) == 8
    s = _scores(out)
    # evaluations count both processes: the first one's fit evaluations are not lost
    assert s["evaluations"] >= 8 + 2 + 10  # fit, hold-out and posterior evaluations at least
    assert s["evaluations_by_step"]["fit"] == ledger.read_text().count("fit ") >= 8
    assert s["evaluations"] == sum(s["evaluations_by_step"].values())
    assert s["evaluations"] - s["evaluations_this_process"] >= 2  # the first process's
    # nothing half-written or temporary is left behind
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name]
    json.loads((out / "cache.json").read_text())


def test_evaluations_count_every_process_and_more_trials_continue(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path / "tiny.yaml", trials=3)
    out = calibrate(cfg, out_root=tmp_path / "res", progress=False)
    first = _scores(out)
    posterior_before = (out / "posterior.csv").read_text()

    _config(tmp_path / "tiny.yaml", trials=5)
    calibrate(cfg, out_root=tmp_path / "res", progress=True)
    second = _scores(out)
    log = capsys.readouterr().out
    assert second["evaluations"] == first["evaluations"] + 2
    assert first["evaluations"] == first["evaluations_this_process"]
    assert second["evaluations_this_process"] == 2  # two more fit trials, nothing else
    assert second["evaluations_by_step"]["fit"] == 5
    assert len(pd.read_csv(out / "fit_trials.csv")) == 5
    assert "posterior: reusing posterior.csv" in log
    assert (out / "posterior.csv").read_text() == posterior_before

    # a changed setting that only the fit reads discards the fit, not the posterior
    _config(tmp_path / "tiny.yaml", trials=5, fit_replicas=32)
    calibrate(cfg, out_root=tmp_path / "res", progress=True)
    log = capsys.readouterr().out
    assert "fit: settings changed (replicas 16 -> 32): starting a new study" in log
    assert "posterior: reusing posterior.csv" in log
    third = _scores(out)
    assert third["evaluations_by_step"]["fit"] == 5  # the new study's trials only
    assert len(pd.read_csv(out / "fit_trials.csv")) == 5


@pytest.mark.slow
def test_changed_seed_discards_the_caches_and_matches_a_fresh_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "tiny.yaml"
    _config(cfg, seed=3, screening=True)
    reused = calibrate(cfg, out_root=tmp_path / "a", progress=False)
    _config(cfg, seed=4, screening=True)
    calibrate(cfg, out_root=tmp_path / "a", progress=True)
    log = capsys.readouterr().out
    fresh = calibrate(cfg, out_root=tmp_path / "b", progress=False)
    for f in ("screening.csv", "fit_trials.csv", "posterior.csv", "holdout_trials.csv",
              "terms_in_sample.csv", "config.json"):
        assert (reused / f).read_text() == (fresh / f).read_text(), f
    a, b = _scores(reused), _scores(fresh)
    for k in ("wall_time_s", "evaluations_this_process"):
        a.pop(k), b.pop(k)
    assert a == b  # evaluations too: only the work behind the current result counts
    assert "screening: discarding screening.csv (settings changed: seed 3 -> 4)" in log
    assert "fit: settings changed (seed 3 -> 4): starting a new study" in log
    assert "posterior: discarding posterior.csv" in log
    assert "holdout: settings changed (seed 3 -> 4)" in log


def test_a_second_calibration_in_the_same_folder_is_refused(tmp_path: Path) -> None:
    cfg = _config(tmp_path / "tiny.yaml")
    with RunFolder(tmp_path / "res" / "tiny", print).locked(), \
            pytest.raises(IdlibSimError, match="another `idlib-sim calibrate` is working"):
        calibrate(cfg, out_root=tmp_path / "res", progress=False)


def test_cache_written_by_an_older_version_is_discarded(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    cfg = _config(tmp_path / "tiny.yaml", trials=1)
    out = tmp_path / "res" / "tiny"
    out.mkdir(parents=True)
    (out / "config.json").write_text("{}\n")
    (out / "posterior.csv").write_text("params.air_effect,weight,distance\n9,1,0\n")
    calibrate(cfg, out_root=tmp_path / "res", progress=True)
    assert "posterior: discarding posterior.csv (no record of the settings it was made with)" \
        in capsys.readouterr().out
    assert pd.read_csv(out / "posterior.csv")[AIR].max() < 9


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
