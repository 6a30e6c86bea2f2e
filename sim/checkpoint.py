"""Interrupt and resume a long batch run: a checkpoint of the blocks completed so far.

A batch run is a sequence of tasks (:func:`sim.parallel.tasks`, a function of the number of
replicas only), aggregated in order. When a run to ``out/NAME`` is interrupted (Ctrl-C or
SIGTERM) the task in progress is finished, and what the completed tasks produced is kept in
``out/.NAME.resume/``:

``checkpoint.json``
    ``producer`` (``"idlib-sim"``), the run's fingerprint (scenario digest, engine, replicas,
    seed, posterior digest, period) and the number of tasks done;
``ensemble.npz``
    the streaming aggregates (:class:`~sim.results.Ensemble`) after those tasks;
``*.parquet``
    the per-replica day tables written so far (complete files, one row group per task).

``idlib-sim run ... --resume`` checks the fingerprint, copies the row groups into the new output,
restores the aggregates and runs the remaining tasks: since every task's replicas and the order
of aggregation are the same, the outputs are byte-identical to an uninterrupted run's (the
manifest's wall time aside). The checkpoint folder is deleted when the run completes; only files
this module writes are ever deleted from it (a folder holding anything else is left alone).

A ``kill -9`` leaves no checkpoint (nothing runs to write it): the run starts again.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import IdlibSimError
from sim.results import Ensemble

PRODUCER = "idlib-sim"
META = "checkpoint.json"
AGG = "ensemble.npz"
_ARRAYS = ("cap_hist", "held_count", "area_hist", "recaptured")


class RunInterrupted(IdlibSimError):
    """A run stopped by Ctrl-C or SIGTERM (the message says how to resume, if it can)."""


class CheckpointError(IdlibSimError):
    """``--resume`` without a usable checkpoint (the message names the folder and why)."""


def checkpoint_dir(out: str | Path) -> Path:
    """Where the checkpoint of a run to ``out`` lives: ``.NAME.resume`` beside it."""
    p = Path(out).expanduser()
    return p.with_name(f".{p.name}.resume")


@dataclass
class Resumed:
    """What a checkpoint holds: tasks done, the aggregates, the parquet files."""

    tasks_done: int
    ensemble: Ensemble
    files: list[Path]
    wall_s: float


def _read_meta(d: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((d / META).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("producer") == PRODUCER else None


def load(out: str | Path, fingerprint: dict[str, Any], template: Ensemble) -> Resumed:
    """The checkpoint of the interrupted run to ``out``, if it is that same run.

    Raises
    ------
    CheckpointError
        if there is none, or it is of a run that differs (the first differing field named)."""
    d = checkpoint_dir(out)
    meta = _read_meta(d)
    if meta is None:
        raise CheckpointError(f"--resume: no checkpoint of an interrupted run in {str(d)!r} "
                              "(run without --resume to start afresh)")
    old = meta.get("fingerprint", {})
    for k, v in fingerprint.items():
        if old.get(k) != v:
            raise CheckpointError(f"--resume: checkpoint {str(d)!r}: field {k!r}: value "
                                  f"{old.get(k)!r} differs from this run's {v!r} (run with the "
                                  "same settings, or without --resume to start afresh)")
    try:
        with np.load(d / AGG) as z:
            arrays = {name: z[name] for name in (*_ARRAYS, "n")}
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"--resume: checkpoint {str(d)!r}: {AGG} is unreadable ({exc}); "
                              "run without --resume to start afresh") from None
    for name in _ARRAYS:
        arr = arrays[name]
        if arr.shape != getattr(template, name).shape:
            raise CheckpointError(f"--resume: checkpoint {str(d)!r}: {name} has shape "
                                  f"{arr.shape}, this run needs "
                                  f"{getattr(template, name).shape}")
        setattr(template, name, arr.astype(np.int64))
    template.n = int(arrays["n"])
    files = [d / f for f in meta.get("files", [])]
    for f in files:
        try:
            pq.ParquetFile(f)
        except (OSError, pa.ArrowException) as exc:
            raise CheckpointError(f"--resume: checkpoint {str(d)!r}: {f.name} is unreadable "
                                  f"({exc}); run without --resume to start afresh") from None
    return Resumed(int(meta["tasks_done"]), template, files, float(meta.get("wall_s", 0.0)))


def copy_row_groups(src: Path, writer_for: Any) -> None:
    """Write every row group of parquet file ``src`` through ``writer_for(table)`` in order."""
    pf = pq.ParquetFile(src)
    for i in range(pf.num_row_groups):
        writer_for(pf.read_row_group(i))


def save(out: str | Path, fingerprint: dict[str, Any], tasks_done: int, ens: Ensemble,
         parquet: list[Path], wall_s: float) -> Path:
    """Keep the checkpoint: ``parquet`` (closed, complete files) are moved into it; an earlier
    checkpoint of this run is replaced (built aside, then renamed into place)."""
    d = checkpoint_dir(out)
    tmp = d.with_name(f"{d.name}.tmp-{os.getpid()}")
    if tmp.exists():
        _remove(tmp)
    tmp.mkdir(parents=True)
    for f in parquet:
        os.replace(f, tmp / f.name)
    np.savez(tmp / AGG, n=np.int64(ens.n), **{k: getattr(ens, k) for k in _ARRAYS})
    meta = {"producer": PRODUCER, "fingerprint": fingerprint, "tasks_done": tasks_done,
            "replicas_done": ens.n, "files": sorted(f.name for f in parquet),
            "wall_s": wall_s}
    (tmp / META).write_text(json.dumps(meta, indent=2, default=str) + "\n")
    if d.exists():
        _remove(d)
    os.replace(tmp, d)
    return d


def discard(out: str | Path) -> None:
    """Delete the checkpoint of ``out`` (after the run completed), if it is ours."""
    d = checkpoint_dir(out)
    if _read_meta(d) is not None:
        _remove(d)


def _remove(d: Path) -> None:
    """Delete a checkpoint folder: only the files this module writes; the folder itself only
    if nothing else is left in it (never a user's file)."""
    meta = _read_meta(d) or {}
    names = {AGG, *(f for f in meta.get("files", []) if isinstance(f, str) and "/" not in f)}
    for name in names:
        p = d / name
        if p.is_file() and not p.is_symlink() and (name == AGG or name.endswith(".parquet")):
            p.unlink()
    with contextlib.suppress(FileNotFoundError):
        (d / META).unlink()
    with contextlib.suppress(OSError):  # not empty: something not ours is in it
        d.rmdir()


class StopFlag:
    """Ctrl-C and SIGTERM, while a run is in progress, ask it to stop after the task at hand.

    A second Ctrl-C stops at once (``KeyboardInterrupt``, no checkpoint). Outside the main
    thread (where handlers cannot be installed) the flag is never set."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __bool__(self) -> bool:
        return self.signal is not None

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopFlag]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        old = {s: signal.signal(s, self._handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for s, h in old.items():
                signal.signal(s, h)

