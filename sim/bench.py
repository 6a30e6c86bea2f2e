"""Speed and memory benchmark: both engines of the front model on the baseline, in one process.

``idlib-sim bench --json`` prints one JSON object (:func:`bench`); ``idlib-sim bench --profile``
prints where the batch core's time goes (:func:`profile_batch`). Benchmarks are on demand
(``make bench``), never timed tests.

The batch core's kernel is compiled by numba on first use and cached on disk (``__pycache__``
beside the modules). The speeds are steady-state figures (every process has loaded the kernel
before the clock starts); the compile time is reported apart: ``kernel_first_call_s`` is this
process's first chunk (loading the cache, or compiling if there is none), ``kernel_compile_s``
the CPU time of a compile from scratch in a fresh interpreter (:func:`compile_seconds`).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sim.engines.batch import run_chunk
from sim.engines.des import run_front_replica
from sim.model.campaign import FrontCampaign
from sim.parallel import batch_job, default_workers, map_blocks, open_pool, tasks
from sim.run import build_campaign
from sim.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MiB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _timed_job(shared: tuple[Any, ...], start: int, n: int) -> tuple[Any, float]:
    """:func:`~sim.parallel.batch_job` and the peak RSS of the worker that ran it (the pool's
    processes are the fork server's children, not ours: they report it themselves)."""
    return batch_job(shared, start, n), peak_rss_mb()


#: Below this many batch replicas a run is a smoke test: the compile from scratch is not timed.
COMPILE_MIN_REPLICAS = 4096

_COMPILE = """
import time
import numba, numpy, pandas, scipy.special  # imports are not compilation
from sim.bench import BASELINE
t0 = time.process_time()
from sim.model import rates  # compiles the rate functions' broadcasting forms
from sim.engines.batch import run_chunk
from sim.run import build_campaign
from sim.scenario import load_scenario
c = build_campaign(load_scenario(BASELINE))
run_chunk(c, 1, 0, 1)  # compiles the kernel
print(time.process_time() - t0)
"""


def compile_seconds() -> float:
    """CPU seconds of a compile from scratch: a fresh interpreter with an empty numba cache
    imports the rate functions and runs one replica (CPU time, not wall time, so that other
    work on the machine does not count; imports of numba, numpy, pandas and scipy excluded)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, "-c", _COMPILE], env=env, check=True,
                             capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def _noop(shared: Any, start: int, n: int) -> float:
    return peak_rss_mb()


def _batch_rate(c: FrontCampaign, seed: int, n: int, workers: int | None,
                scheduler: Any) -> tuple[float, float, float, int]:
    """Replicas per second of the batch core through :func:`~sim.parallel.map_blocks` (chunks
    shipped back and dropped: the cost of a run without its aggregation) on a pool already
    started and warm, the seconds it took to start it (open it, one empty task per worker), the
    largest peak RSS of a worker (MiB), and the number of workers."""
    shared = (c, seed, (), (), None)
    t0 = time.perf_counter()
    pool = open_pool(shared, workers, scheduler)
    try:
        w = pool.workers
        for _ in map_blocks(_noop, shared, w * 512, blocks_per_task=1, pool=pool):
            pass
        start_s = time.perf_counter() - t0
        rss = 0.0
        t0 = time.perf_counter()
        for _, r in map_blocks(_timed_job, shared, n, pool=pool):
            rss = max(rss, r)
        return n / (time.perf_counter() - t0), start_s, rss, w
    finally:
        pool.close()


def bench(batch_replicas: int = 32_768, des_replicas: int = 100, seed: int = 1,
          scenario: str | Path = BASELINE, workers: int | None = None,
          scheduler: Any = None) -> dict[str, Any]:
    """Time the batch core on ``batch_replicas`` on all ``workers`` (``None``: every core) or a
    Dask ``scheduler``, then on half as many in this process (one core), then the SimPy engine
    on ``des_replicas`` (fixed parameters: the scenario's ``params``, not its posterior). With
    at least :data:`COMPILE_MIN_REPLICAS` batch replicas it also times a compile of the kernel
    from scratch (:func:`compile_seconds`, ~16 s of CPU here) before the speeds are timed.

    The all-workers figure is timed on a started pool (``pool_start_s``: open it, one empty task
    per worker) and includes shipping every chunk back to this process;
    ``overhead_per_task_s`` is what a task costs beyond its share of the one-core time:
    ``(workers x wall - one-core time) / tasks``. ``peak_rss_mb`` is this
    process's, ``peak_rss_mb_worker`` the largest worker's."""
    c = build_campaign(load_scenario(scenario))
    t0 = time.perf_counter()
    run_chunk(c, seed, 0, 1)  # warm-up: the kernel loaded from its cache (or compiled)
    first_call = time.perf_counter() - t0
    run_chunk(c, seed, 0, 512)  # warm-up: caches, first allocation
    compile_s = compile_seconds() if batch_replicas >= COMPILE_MIN_REPLICAS else None
    load = os.getloadavg()[0]  # other work on the machine skews the all-workers figure
    b_all, start_s, rss_worker, w = _batch_rate(c, seed, batch_replicas, workers, scheduler)
    n_one = max(512, batch_replicas // 2)
    b_one, _, _, _ = _batch_rate(c, seed, n_one, 1, None)
    run_front_replica(c, seed, 0)
    t0 = time.perf_counter()
    for r in range(des_replicas):
        run_front_replica(c, seed, r)
    d = des_replicas / (time.perf_counter() - t0)
    n_tasks = len(tasks(batch_replicas))
    # what the workers spent beyond the one-core compute, per task
    overhead = (w * batch_replicas / b_all - batch_replicas / b_one) / n_tasks
    return {
        "batch_replicas_per_s": round(b_all, 1),
        "batch_replicas_per_s_one_core": round(b_one, 1),
        "des_replicas_per_s": round(d, 2),
        "ratio_per_core": round(b_one / d, 1),
        "workers": w,
        "scheduler": None if scheduler is None else str(scheduler),
        "speedup": round(b_all / b_one, 2),
        "pool_start_s": round(start_s, 3),
        "tasks": n_tasks,
        "replicas_per_task": -(-batch_replicas // n_tasks),
        "overhead_per_task_s": round(overhead, 3),
        "n_towns": c.n_towns,
        "n_formations": c.forces.n_formations,
        "days": c.n_days,
        "cost_per_replica_day_us": round(1e6 / (b_one * c.n_days), 2),
        "batch_replicas": batch_replicas,
        "batch_replicas_one_core": n_one,
        "des_replicas": des_replicas,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "peak_rss_mb_worker": round(rss_worker, 1),
        "load_avg_1min_before": round(load, 2),
        "load_avg_1min_after": round(os.getloadavg()[0], 2),
        "kernel_first_call_s": round(first_call, 3),
        "kernel_compile_s": None if compile_s is None else round(compile_s, 1),
        "cores": default_workers(),
    }


def profile_batch(n: int = 8192, seed: int = 1, scenario: str | Path = BASELINE,
                  top: int = 25) -> str:
    """cProfile of one chunk of ``n`` replicas of the batch core: the ``top`` functions by their
    own time. The compiled kernel is one line (``day_step``, one call a day); the rest is the
    numpy set-up and random draws around it (``{method ...}`` / ``{built-in ...}`` lines)."""
    import io

    c = build_campaign(load_scenario(scenario))
    run_chunk(c, seed, 0, 512)
    prof = cProfile.Profile()
    prof.enable()
    run_chunk(c, seed, 0, n)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()
