"""Replica blocks on every core of this machine, or on a Dask cluster, results in block order.

The unit of work is a *task*: a run of whole blocks of :data:`~sim.engines.chunk.BLOCK`
replicas (the unit the batch core seeds its random streams by), so a task computes exactly the
replicas it would compute in a single process. Task sizes depend on the number of replicas only
(:func:`task_blocks`), never on the number of workers, and results are handed back **in block
order**: whatever order workers finish in, the caller aggregates the same chunks in the same
order, so floating-point sums, parquet row order and every figure are bit-identical for 1, 2 or
100 workers, local or remote. At most ``2 x workers`` tasks are in flight, so memory stays
constant however many replicas are run.

Three ways to run (:func:`open_pool`):

- ``workers=1`` and no scheduler: in this process (no pool, nothing to start).
- ``workers=N``: a :class:`concurrent.futures.ProcessPoolExecutor` of N processes. A local Dask
  cluster would do the same job with one more layer (a scheduler, nannies, a dashboard, ~2 s to
  start); the tasks are coarse (seconds each) and need no work stealing, so the standard library
  pool is the simpler of the two and as fast.
- ``scheduler="tcp://HOST:8786"``: a running Dask distributed scheduler, via
  :class:`distributed.Client` (``dask scheduler`` / ``dask worker``; see the README).

What every task needs (the campaign or campaigns, the posterior, the watched town sets) is
shipped once per worker, not once per task: the process pool's initializer installs it, and on
Dask it is scattered to every worker with ``broadcast=True``.
"""

from __future__ import annotations

import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sim.engines.chunk import BLOCK
from sim.errors import ParallelError

#: Blocks in a task of a large run (8192 replicas: the batch core's default chunk).
MAX_TASK_BLOCKS = 16
#: A run of fewer blocks than ``MAX_TASK_BLOCKS**2`` is cut into about this many tasks, so that
#: small runs still keep several workers busy.
TARGET_TASKS = 16

#: How long to try to reach a Dask scheduler before giving up with an error.
CONNECT_TIMEOUT = "10s"

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
#: A task: ``job(shared, start, n)`` computes replicas ``start .. start + n - 1``.
Job = Callable[[Any, int, int], R]
#: A task of :func:`map_items`: ``job(shared, item)``.
ItemJob = Callable[[Any, Any], R]


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def task_blocks(n: int) -> int:
    """Blocks per task for a run of ``n`` replicas (a function of ``n`` only, so that the chunks,
    and hence every sum over them, are the same for any number of workers)."""
    n_blocks = max(1, math.ceil(n / BLOCK))
    return min(MAX_TASK_BLOCKS, max(1, math.ceil(n_blocks / TARGET_TASKS)))


def tasks(n: int, blocks_per_task: int | None = None) -> list[tuple[int, int]]:
    """``(start, n)`` of each task, in replica order."""
    size = (blocks_per_task or task_blocks(n)) * BLOCK
    return [(s, min(size, n - s)) for s in range(0, n, size)]


class _Future(Protocol[R_co]):
    """What both a :class:`concurrent.futures.Future` and a Dask future offer."""

    def result(self) -> R_co: ...

    def cancel(self) -> Any: ...


class _Pool(Protocol):
    workers: int

    def submit(self, job: Callable[..., R], *args: Any) -> _Future[R]: ...

    def close(self) -> None: ...


# -- in this process ----------------------------------------------------------------------------
class _Inline:
    def __init__(self, shared: Any) -> None:
        self.shared, self.workers = shared, 1

    def submit(self, job: Callable[..., R], *args: Any) -> Future[R]:
        fut: Future[R] = Future()
        fut.set_result(job(self.shared, *args))
        return fut

    def close(self) -> None:
        pass


# -- a process pool on this machine --------------------------------------------------------------
_SHARED: Any = None  # what every task of this worker process needs, installed once


def _install(shared: Any) -> None:
    global _SHARED
    _SHARED = shared
    # Ctrl-C reaches the whole process group: the driver decides (finish the task at hand and
    # keep a checkpoint, sim.checkpoint); a worker must not die with a traceback meanwhile
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        # a worker blocked on the task queue would outlive a driver killed with -9 (and the fork
        # server waits for its children): leave as soon as the driver is gone
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def _call(job: Callable[..., R], *args: Any) -> R:
    return job(_SHARED, *args)


class _Processes:
    def __init__(self, shared: Any, workers: int) -> None:
        # forkserver, not fork: the parent may hold threads (progress bar, a Dask client) that a
        # forked child would inherit half-locked; the server preloads this module once.
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["sim.parallel", "sim.engines.batch"])
        self.workers = workers
        self.ex = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_install,
                                      initargs=(shared,))

    def submit(self, job: Callable[..., R], *args: Any) -> Future[R]:
        return self.ex.submit(_call, job, *args)

    def close(self) -> None:
        self.ex.shutdown(wait=True, cancel_futures=True)


# -- a Dask distributed cluster ---------------------------------------------------------------
class _Dask:
    def __init__(self, shared: Any, scheduler: Any) -> None:
        from distributed import Client

        if isinstance(scheduler, Client):
            self.client, self.own = scheduler, False
        else:
            try:
                self.client, self.own = Client(scheduler, timeout=CONNECT_TIMEOUT), True
            except (OSError, TimeoutError, ValueError) as exc:
                raise ParallelError(f"--scheduler: value {scheduler!r}: cannot reach a Dask "
                                    f"scheduler there ({type(exc).__name__}: {exc}); start one "
                                    "with `dask scheduler` (see the README)") from None
        n = sum(self.client.nthreads().values())
        if n == 0:
            raise ParallelError(f"--scheduler: value {scheduler!r}: the scheduler has no "
                                "workers; start some with `dask worker ADDRESS`")
        self.workers = n
        self.shared = self.client.scatter(shared, broadcast=True, hash=False)

    def submit(self, job: Callable[..., R], *args: Any) -> _Future[R]:
        fut: _Future[R] = self.client.submit(job, self.shared, *args, pure=False)
        return fut

    def close(self) -> None:
        self.client.cancel(self.shared)
        if self.own:
            self.client.close()


def open_pool(shared: Any, workers: int | None = 1, scheduler: Any = None) -> _Pool:
    """Where tasks run: a Dask cluster if ``scheduler`` (an address or a
    :class:`distributed.Client`) is given, else ``workers`` processes here (``None``: all cores;
    ``1``: this process)."""
    if scheduler is not None:
        return _Dask(shared, scheduler)
    w = default_workers() if workers is None else workers
    if w < 1:
        raise ParallelError(f"--workers: value {w}: must be at least 1")
    return _Inline(shared) if w == 1 else _Processes(shared, w)


@dataclass
class Progress:
    """Blocks done, replicas per second and time left, on a tqdm bar (if shown)."""

    n: int
    n_tasks: int
    unit: str = "replica"
    desc: str = "batch"
    show: bool = False

    def __post_init__(self) -> None:
        from sim.progress import tqdm

        self.bar = tqdm(total=self.n, unit=self.unit, desc=self.desc, leave=False,
                        disable=not self.show, unit_scale=True)
        self.done_tasks, self.done, self.t0 = 0, 0, time.perf_counter()

    def skip(self, tasks: int, replicas: int) -> None:
        """Count ``tasks`` already done in an earlier session (a resumed run)."""
        self.done_tasks += tasks
        self.done += replicas
        self.bar.update(replicas)
        self.t0 = time.perf_counter()

    def update(self, m: int) -> None:
        self.done_tasks += 1
        self.done += m
        self.bar.set_postfix_str(f"tasks {self.done_tasks}/{self.n_tasks}, "
                                 f"blocks {math.ceil(self.done / BLOCK)}/"
                                 f"{math.ceil(self.n / BLOCK)}", refresh=False)
        self.bar.update(m)  # tqdm shows replicas/s and the time left

    def close(self) -> None:
        self.bar.close()


def map_blocks(job: Job[R], shared: Any, n: int, *, workers: int | None = 1,
               scheduler: Any = None, blocks_per_task: int | None = None,
               progress: Progress | None = None, pool: _Pool | None = None,
               first_task: int = 0) -> Iterator[R]:
    """Yield ``job(shared, start, m)`` for every task of an ``n``-replica run, in block order.

    ``job`` must be a module-level function (it is pickled to the workers). At most
    ``2 x workers`` tasks are in flight; results that finish early wait for their turn, so the
    caller aggregates in block order whatever the workers' timing. ``pool``: an open pool
    (:func:`open_pool`, with this ``shared``) to use and leave open, instead of opening one.
    ``first_task``: skip the tasks before it (a resumed run: :func:`tasks` depends on ``n``
    only, so task ``k`` is the same replicas in every run of ``n``)."""
    todo = tasks(n, blocks_per_task)[first_task:]
    own = pool is None
    if pool is None:
        if scheduler is None:
            w = default_workers() if workers is None else workers
            # no idle processes to start for a small run (a bad value is left for open_pool)
            workers = max(1, min(w, len(todo))) if w >= 1 else w
        pool = open_pool(shared, workers, scheduler)
    window = 2 * pool.workers
    inflight: deque[tuple[int, _Future[R]]] = deque()
    it = iter(todo)
    try:
        while True:
            while len(inflight) < window and (t := next(it, None)) is not None:
                inflight.append((t[1], pool.submit(job, *t)))
            if not inflight:
                return
            m, fut = inflight.popleft()
            res = fut.result()
            if progress is not None:
                progress.update(m)
            yield res
    finally:
        for _, fut in inflight:
            fut.cancel()
        if own:
            pool.close()


def map_items(job: ItemJob[R], items: Iterable[Any], pool: _Pool) -> Iterator[R]:
    """Yield ``job(shared, item)`` for every item, in the order of ``items``, on an open
    ``pool`` (the calibration's unit of work: one parameter point, one posterior draw).

    Like :func:`map_blocks`: ``job`` is a module-level function, at most ``2 x workers`` items
    are in flight, and results come back in order whatever the workers' timing. A generator
    closed early cancels what is still in flight."""
    inflight: deque[_Future[R]] = deque()
    it = iter(items)
    window = 2 * pool.workers
    try:
        while True:
            while len(inflight) < window and (x := next(it, _END)) is not _END:
                inflight.append(pool.submit(job, x))
            if not inflight:
                return
            yield inflight.popleft().result()
    finally:
        for fut in inflight:
            fut.cancel()


_END = object()


# -- the batch core's tasks ---------------------------------------------------------------------
def batch_job(shared: tuple[Any, ...], start: int, n: int) -> Any:
    """Replicas ``start .. start + n - 1`` of one campaign: ``shared = (campaign, seed, watch,
    area_groups, posterior)``."""
    from sim.engines.batch import run_chunk

    c, seed, watch, groups, post = shared
    return run_chunk(c, seed, start, n, watch, groups, posterior=post)


def pair_job(shared: tuple[Any, ...], start: int, n: int) -> tuple[Any, Any]:
    """The same replicas of two campaigns (a paired comparison): ``shared = (campaign_a,
    campaign_b, seed, watch, posterior)``."""
    from sim.engines.batch import run_chunk

    ca, cb, seed, watch, post = shared
    return (run_chunk(ca, seed, start, n, watch, posterior=post),
            run_chunk(cb, seed, start, n, watch, posterior=post))
