"""The million-replica check: ``idlib-sim bench --million``.

Runs 1,000,000 replicas of the baseline through :func:`sim.run.run_scenario` (every output it
writes: the three per-replica parquet files, the tables, the plots) into a temporary folder, on
``workers`` processes, and reports the wall time and the peak resident memory of the driver and
of each worker. The goal (issue 12) is 1,000,000 replicas in at most 2 GB.

The workers of a process pool are children of the fork server, not of this process, so their
peaks are read from ``/proc/PID/status`` (``VmHWM``, the kernel's high-water mark of each
process) by a sampling thread that watches every descendant of this process; a process that
lives less than one sampling interval may be missed (the pool's workers live the whole run).
"""

from __future__ import annotations

import os
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
MILLION = 1_000_000


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, from ``/proc`` (Linux)."""
    out: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        out.setdefault(ppid, []).append(int(d))
    return out


def _hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


class DescendantPeaks(threading.Thread):
    """Samples the peak RSS (``VmHWM``) of every descendant of this process until stopped."""

    def __init__(self, interval_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.interval = interval_s
        self.peaks: dict[int, float] = {}
        self.depth: dict[int, int] = {}  # 1: a child (fork server, resource tracker); 2: ...
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.sample()
            self.halt.wait(self.interval)

    def sample(self) -> None:
        kids, todo = _children(), [(os.getpid(), 0)]
        while todo:
            pid, depth = todo.pop()
            for c in kids.get(pid, []):
                todo.append((c, depth + 1))
                self.depth[c] = depth + 1
                hwm = _hwm_mb(c)
                if hwm is not None:
                    self.peaks[c] = max(self.peaks.get(c, 0.0), hwm)

    def stop(self) -> None:
        self.sample()
        self.halt.set()
        self.join()


def million(replicas: int = MILLION, workers: int | None = None, scheduler: Any = None,
            progress: bool = True) -> dict[str, Any]:
    """Run ``replicas`` replicas of the baseline to a temporary folder; wall time and peaks."""
    from sim.parallel import default_workers
    from sim.run import run_scenario
    from sim.scenario import load_scenario

    sc = load_scenario(BASELINE)
    watch = DescendantPeaks()
    watch.start()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="idlib-sim-million-") as d:
        res = run_scenario(sc, Path(d) / "run", replicas=replicas, workers=workers,
                           scheduler=scheduler, progress=progress)
        size = sum(f.stat().st_size for f in (Path(d) / "run").iterdir())
    wall = time.perf_counter() - t0
    watch.stop()
    driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    # the pool's workers are the fork server's children (depth 2); the fork server and the
    # resource tracker are ours (depth 1): counted in the total, reported apart
    worker_peaks = sorted((p for c, p in watch.peaks.items() if watch.depth[c] >= 2),
                          reverse=True)
    helper_peaks = sorted((p for c, p in watch.peaks.items() if watch.depth[c] == 1),
                          reverse=True)
    total = driver + sum(worker_peaks) + sum(helper_peaks)
    return {
        "replicas": res.ensemble.n,
        "workers": default_workers() if workers is None and scheduler is None else workers,
        "scheduler": scheduler,
        "wall_s": round(wall, 1),
        "simulation_wall_s": round(res.wall_s, 1),
        "replicas_per_s": round(res.ensemble.n / res.wall_s, 1),
        "output_mb": round(size / 2**20, 1),
        "driver_peak_rss_mb": round(driver, 1),
        "worker_peak_rss_mb": [round(p, 1) for p in worker_peaks],
        "fork_server_and_tracker_peak_rss_mb": [round(p, 1) for p in helper_peaks],
        # an upper bound of the peak total: peaks need not coincide, and forked processes
        # share pages that RSS counts in each of them
        "sum_of_peaks_mb": round(total, 1),
        "goal_2gb_met": total <= 2048,
    }
