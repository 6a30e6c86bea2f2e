"""Speed and memory benchmark: both engines of the front model on the baseline, in one process.

``idlib-sim bench --json`` prints one JSON object. Benchmarks are on demand (``make bench``),
never timed tests.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Any

from sim.engines.batch import run_front_batch
from sim.engines.des import run_front_replica
from sim.run import build_campaign
from sim.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MiB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench(batch_replicas: int = 50_000, des_replicas: int = 200, seed: int = 1,
          scenario: str | Path = BASELINE) -> dict[str, Any]:
    """Time the batch core on ``batch_replicas`` and the SimPy engine on ``des_replicas`` (fixed
    parameters: the scenario's ``params``, not its posterior)."""
    c = build_campaign(load_scenario(scenario))
    for _ in run_front_batch(c, seed, 512):  # warm-up: imports, caches, first allocation
        pass
    t0 = time.perf_counter()
    for _ in run_front_batch(c, seed, batch_replicas):
        pass
    t_batch = time.perf_counter() - t0
    run_front_replica(c, seed, 0)
    t0 = time.perf_counter()
    for r in range(des_replicas):
        run_front_replica(c, seed, r)
    t_des = time.perf_counter() - t0
    b, d = batch_replicas / t_batch, des_replicas / t_des
    return {
        "batch_replicas_per_s": round(b, 1),
        "des_replicas_per_s": round(d, 2),
        "ratio": round(b / d, 1),
        "batch_replicas": batch_replicas,
        "des_replicas": des_replicas,
        "batch_wall_s": round(t_batch, 3),
        "des_wall_s": round(t_des, 3),
        "n_towns": c.n_towns,
        "n_formations": c.forces.n_formations,
        "days": c.n_days,
        "replica_days_per_s_batch": round(b * c.n_days, 0),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
