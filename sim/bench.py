"""Speed and memory benchmark: both engines of the front model on the baseline, in one process.

``idlib-sim bench --json`` prints one JSON object (:func:`bench`); ``idlib-sim bench --profile``
prints where the batch core's time goes (:func:`profile_batch`). Benchmarks are on demand
(``make bench``), never timed tests.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import resource
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
    on ``des_replicas`` (fixed parameters: the scenario's ``params``, not its posterior).

    The all-workers figure is timed on a started pool (``pool_start_s``: open it, one empty task
    per worker) and includes shipping every chunk back to this process;
    ``overhead_per_task_s`` is what a task costs beyond its share of the one-core time:
    ``(workers x wall - one-core time) / tasks``. ``peak_rss_mb`` is this
    process's, ``peak_rss_mb_worker`` the largest worker's."""
    c = build_campaign(load_scenario(scenario))
    run_chunk(c, seed, 0, 512)  # warm-up: imports, caches, first allocation
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
        "cores": default_workers(),
    }


def profile_batch(n: int = 8192, seed: int = 1, scenario: str | Path = BASELINE,
                  top: int = 25) -> str:
    """cProfile of one chunk of ``n`` replicas of the batch core: the ``top`` functions by their
    own time (numpy's calls appear as ``{method ...}`` / ``{built-in ...}`` lines)."""
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
