"""Replica blocks on several processes and on a Dask cluster (:mod:`sim.parallel`): the same
run and the same comparison, bit for bit, for 1, 2 and 4 workers and on a local Dask cluster of
several worker processes; results come back in block order even when the blocks finish out of
order; a scenario's posterior reaches the workers; bad options are one-line errors."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sim import cli, parallel
from sim.compare import compare
from sim.engines.chunk import BLOCK
from sim.errors import ParallelError
from sim.run import run_scenario
from sim.scenario import load_scenario, with_overrides

ROOT = Path(__file__).parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
LEVER = ROOT / "scenarios" / "no_russian_air.yaml"
# 3 whole blocks and a short one: 4 tasks of one block each (task_blocks depends on n only)
N = 3 * BLOCK + 37
# a shorter campaign (38 days, with the first month's captures) keeps the tests quick
SHORT = "period:\n  start: 2019-12-19\n  end: 2020-01-26\n"
SAMPLES = "speed_scale,footprint_km\n0.30,18\n0.15,10\n0.60,30\n"
TABLES = ("towns.csv", "territory.csv", "held_probability.csv")
DAYS = ("capture_days.parquet", "recapture_days.parquet", "last_capture_days.parquet")


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Baseline and a lever (no Russian air), both drawing from the same posterior samples (so
    the workers must draw each replica's parameter row)."""
    d = tmp_path_factory.mktemp("sc")
    (d / "post.csv").write_text(SAMPLES)
    a, b = d / "a.yaml", d / "b.yaml"
    a.write_text(f"name: a\ndescription: a?\nextends: {BASELINE}\nposterior: post.csv\n{SHORT}"
                 "outputs:\n  plots: false\n")
    b.write_text(f"name: b\ndescription: b?\nextends: {LEVER}\nposterior: post.csv\n{SHORT}"
                 "outputs:\n  plots: false\n")
    return a, b


@pytest.fixture(scope="module")
def dask_address() -> Any:
    """A local Dask cluster of 3 worker processes (one thread each), as a remote one would be."""
    distributed = pytest.importorskip("distributed")  # a declared dependency: never skipped
    with distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_tasks_are_whole_blocks_in_replica_order_and_independent_of_workers() -> None:
    for n in (1, BLOCK, N, 16 * BLOCK + 1, 300 * BLOCK, 1_000_000):
        ts = parallel.tasks(n)
        assert ts[0][0] == 0 and sum(m for _, m in ts) == n
        assert all(s % BLOCK == 0 for s, _ in ts)
        assert all(s1 == s0 + m0 for (s0, m0), (s1, _) in itertools.pairwise(ts))
        assert parallel.task_blocks(n) <= parallel.MAX_TASK_BLOCKS
    assert len(parallel.tasks(N)) == 4
    assert len(parallel.tasks(1_000_000)) == -(-1_000_000 // (16 * BLOCK))


def _run(sc: Path, out: Path, **kw: Any) -> Any:
    return run_scenario(load_scenario(sc), out, replicas=N, seed=11, **kw).ensemble


def _same_run(d1: Path, d2: Path) -> None:
    for f in TABLES:
        assert (d1 / f).read_bytes() == (d2 / f).read_bytes(), f
    for f in DAYS:
        t1, t2 = pq.read_table(d1 / f), pq.read_table(d2 / f)
        assert t1.num_rows == N and t1.equals(t2), f


def test_run_is_bit_identical_for_1_2_4_workers_and_a_dask_cluster(
        scenarios: tuple[Path, Path], tmp_path: Path, dask_address: str) -> None:
    a, _ = scenarios
    ref = _run(a, tmp_path / "w1", workers=1)
    # the posterior reached the workers: parameters vary by replica, so results differ from the
    # scenario's fixed params (a run without the posterior)
    fixed = run_scenario(with_overrides(load_scenario(a), sets={"posterior": None}), None,
                         replicas=N, seed=11).ensemble
    assert not np.array_equal(ref.area_hist, fixed.area_hist)
    for name, kw in (("w2", {"workers": 2}), ("w4", {"workers": 4}),
                     ("dask", {"scheduler": dask_address})):
        ens = _run(a, tmp_path / name, **kw)
        for field in ("cap_hist", "held_count", "area_hist", "recaptured"):
            assert np.array_equal(getattr(ens, field), getattr(ref, field)), (name, field)
        _same_run(tmp_path / "w1", tmp_path / name)


def test_parquet_rows_are_replicas_in_order(scenarios: tuple[Path, Path],
                                            tmp_path: Path) -> None:
    """Rows of the 4-worker run's table are replicas 0 .. N-1: the rows of each task equal a
    single-process run of just that task's replicas (block seeding makes them independent)."""
    a, _ = scenarios
    _run(a, tmp_path / "w4", workers=4)
    rows = pq.read_table(tmp_path / "w4" / "capture_days.parquet").to_pandas()
    sc = load_scenario(a)
    from sim.engines.batch import run_chunk
    from sim.run import build_campaign

    c, post = build_campaign(sc), sc.posterior_samples()
    for s, m in parallel.tasks(N)[1:]:
        one = run_chunk(c, 11, s, m, posterior=post).first_capture_day
        np.testing.assert_array_equal(rows.iloc[s:s + m].to_numpy(), one)


def test_compare_is_bit_identical_across_workers_and_on_dask(
        scenarios: tuple[Path, Path], dask_address: str) -> None:
    a, b = (load_scenario(f) for f in scenarios)
    ref = compare(a, b, replicas=N, seed=3, workers=1)
    assert ref.posterior_sha256 is not None
    for kw in ({"workers": 2}, {"workers": 4}, {"scheduler": dask_address}):
        got = compare(a, b, replicas=N, seed=3, **kw)
        pd.testing.assert_frame_equal(got.towns, ref.towns, check_exact=True)
        pd.testing.assert_frame_equal(got.territory, ref.territory, check_exact=True)
        assert got.key_dates == ref.key_dates, kw


def slow_first(shared: float, start: int, n: int) -> tuple[int, float]:
    """A job whose first task is the slowest, so later tasks finish before it."""
    if start == 0:
        time.sleep(shared)
    return start, time.monotonic()


def test_results_come_in_block_order_when_tasks_finish_out_of_order() -> None:
    # the first task sleeps 3 s: a margin against the second worker starting late on a loaded
    # machine (a 1 s sleep failed once at load average 10)
    got = list(parallel.map_blocks(slow_first, 3.0, 4 * BLOCK, workers=2, blocks_per_task=1))
    assert [s for s, _ in got] == [0, BLOCK, 2 * BLOCK, 3 * BLOCK]
    # the second task finished well before the first, yet was handed over after it
    assert got[1][1] < got[0][1] - 0.5


def test_at_most_two_tasks_per_worker_are_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    submitted: list[int] = []

    class Counting(parallel._Inline):
        def submit(self, job: Any, start: int, n: int) -> Any:
            submitted.append(start)
            return super().submit(job, start, n)

    pool = Counting(0.0)
    monkeypatch.setattr(parallel, "open_pool", lambda *a, **k: pool)
    it = parallel.map_blocks(slow_first, 0.0, 10 * BLOCK, blocks_per_task=1)
    next(it)
    assert len(submitted) == 2  # window = 2 x 1 worker: the rest wait for the caller
    assert len(list(it)) == 9 and len(submitted) == 10


def test_bad_workers_is_a_one_line_error(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ParallelError, match="--workers: value 0"):
        list(parallel.map_blocks(slow_first, 0.0, 10, workers=0))
    code = cli.main(["run", str(BASELINE), "--replicas", "10", "--workers", "0",
                     "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--workers: value 0" in err
    assert not (tmp_path / "r").exists()


def test_unreachable_scheduler_is_a_one_line_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT", "1s")
    code = cli.main(["compare", str(BASELINE), str(LEVER), "--replicas", "10", "--quiet",
                     "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "--scheduler: value 'tcp://127.0.0.1:9'" in err and "dask scheduler" in err
    assert not (tmp_path / "c").exists()


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_leave_when_the_driver_is_killed(tmp_path: Path) -> None:
    """``kill -9`` of ``idlib-sim run --workers 2`` leaves no worker process running."""
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(BASELINE), "--replicas",
                             "8000", "--workers", "2", "--quiet", "--out", str(tmp_path / "r")],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        workers = [w for k in _children(proc.pid) for w in _children(k)]  # via the fork server
    assert len(workers) == 2, "the run ended or never started its two workers"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.2)
    left = [w for w in workers if Path(f"/proc/{w}").exists()]
    assert not left, f"worker processes {left} outlived the killed driver"
