"""A calibration run folder: its lock, its content-keyed caches and its evaluation ledger.

Rules (issue 9 §5):

* **Lock.** One ``idlib-sim calibrate`` at a time works in a run folder (an exclusive ``flock``
  on ``.lock``; the kernel releases it when the process dies, even by ``kill -9``).
* **Keys.** Each step's cache (``posterior_population.csv``, ``holdout_population.csv``, the
  simulation-based calibration's tables) is keyed on
  the SHA-256 of everything its result depends on: the settings of the configuration that step
  reads, the scenario's content (:meth:`sim.scenario.Scenario.digest`), the targets and the
  searched space. ``cache.json`` holds the key and those inputs. A cache is reused only when its
  key matches; otherwise it is discarded and recomputed, and the command says which settings
  changed. A step interrupted by a kill is redone whole on resume (an ABC-SMC step takes
  minutes); the steps completed before it are reused.
* **Ledger.** Every completed model evaluation appends ``step key`` to ``evaluations.log``, so
  ``scores.json`` counts the evaluations behind the current result across every process that
  worked on it, including work lost to an interruption.
* **Litter.** Every file is written through a temporary sibling renamed into place
  (:func:`sim.outputs.atomic_write_text`); siblings a kill left behind are removed on the next
  run, under the lock.
* **Foreign folders.** The run folder is used only if it is new, empty, or already holds this
  project's ``config.json`` / ``cache.json``: calibration never writes into a user's folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sim.errors import IdlibSimError
from sim.outputs import atomic_write_text

CACHE = "cache.json"
LEDGER = "evaluations.log"
LOCK = ".lock"
#: Files whose presence marks a folder as a calibration run folder of this project.
MARKERS = ("config.json", CACHE)
FORMAT = 1


def content_key(inputs: dict[str, Any]) -> str:
    """SHA-256 of ``inputs`` as canonical JSON (sorted keys)."""
    blob = json.dumps({"format": FORMAT, **inputs}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def changes(old: dict[str, Any], new: dict[str, Any], limit: int = 4) -> str:
    """``"seed 3 -> 4, fit.replicas 64 -> 128"``: what differs between two input sets."""
    a, b = _flat(old), _flat(new)
    diff = []
    for k in sorted(set(a) | set(b)):
        if a.get(k, "(none)") != b.get(k, "(none)"):
            va, vb = (_brief(x.get(k, "(none)")) for x in (a, b))
            diff.append(f"{k} {va} -> {vb}")
    more = f" and {len(diff) - limit} more" if len(diff) > limit else ""
    return ", ".join(diff[:limit]) + more if diff else "nothing recorded differs"


def _brief(v: Any) -> str:
    s = json.dumps(v, default=str)
    return s if len(s) <= 40 else s[:16] + "..." + s[-8:]


class RunFolder:
    """A calibration run folder, locked for the lifetime of the ``with`` block.

    Parameters
    ----------
    path : the folder (``OUT_ROOT/RUN``); created if missing
    log : where "reused" / "discarded" messages go
    """

    def __init__(self, path: Path, log: Callable[[str], None]) -> None:
        self.path, self.log = path, log
        self._entries: dict[str, dict[str, Any]] = {}

    # -- lifetime ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[RunFolder]:
        self.check_usable()
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IdlibSimError(f"{self.path}: another `idlib-sim calibrate` is working in "
                                    "this run folder; wait for it or choose another --run"
                                    ) from None
            self._remove_stale_temporaries()
            self._entries = self._read_cache()
            yield self
        finally:
            os.close(fd)  # releases the lock

    def _remove_stale_temporaries(self) -> None:
        """Temporary siblings (``.NAME.tmp-*``) a killed run left; holding the lock, no other
        process is writing them."""
        for f in self.path.glob(".*.tmp-*"):
            if f.is_file():
                self.log(f"removing {f.name}, left by an interrupted run")
                f.unlink()

    def check_usable(self) -> None:
        """Refuse a path that is a file, or a non-empty folder this project did not make."""
        p = self.path
        for parent in (p.parent, p):
            if parent.exists() and not parent.is_dir():
                raise IdlibSimError(f"{parent}: exists and is not a folder")
        if p.is_dir():
            entries = {e.name for e in p.iterdir()} - {LOCK}  # a lone .lock is ours
            if entries and not entries & set(MARKERS):
                raise IdlibSimError(
                    f"{p}: not empty and not a calibration run folder (no config.json): "
                    "calibration writes only into its own folders; choose another --run or "
                    "--out-root")

    def _read_cache(self) -> dict[str, dict[str, Any]]:
        f = self.path / CACHE
        if not f.is_file():
            return {}
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
            steps = data["steps"] if data.get("format") == FORMAT else {}
        except (ValueError, KeyError, TypeError, AttributeError):
            self.log(f"{CACHE} is unreadable: every cache in {self.path} is recomputed")
            return {}
        return {k: v for k, v in steps.items() if isinstance(v, dict) and "key" in v}

    # -- caches --------------------------------------------------------------------------------

    def reuse(self, step: str, inputs: dict[str, Any], files: list[str]) -> bool:
        """Whether the cached ``files`` of ``step`` were made from ``inputs``; says which."""
        key = content_key(inputs)
        present = [f for f in files if (self.path / f).is_file()]
        entry = self._entries.get(step)
        if entry is not None and entry["key"] == key and len(present) == len(files):
            self.log(f"{step}: reusing {', '.join(files)} (same settings, key {key[:12]})")
            return True
        if present:
            why = ("no record of the settings it was made with" if entry is None
                   else f"settings changed: {changes(entry.get('inputs', {}), inputs)}")
            self.log(f"{step}: discarding {', '.join(present)} ({why}); recomputing")
        return False

    def record(self, step: str, inputs: dict[str, Any]) -> str:
        """Store ``step``'s key in ``cache.json`` (after its files are written); returns it."""
        key = content_key(inputs)
        self._entries[step] = {"key": key, "inputs": inputs,
                               "written_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        atomic_write_text(self.path / CACHE, json.dumps({"format": FORMAT,
                                                         "steps": self._entries},
                                                        indent=2, default=str) + "\n")
        return key

    # -- evaluations ---------------------------------------------------------------------------

    def count(self, step: str, key: str) -> None:
        """Record one completed evaluation of ``step`` under ``key``."""
        with open(self.path / LEDGER, "a", encoding="ascii") as fh:  # O_APPEND: one write
            fh.write(f"{step} {key}\n")

    def evaluations(self, keys: dict[str, str]) -> dict[str, int]:
        """Completed evaluations per step under the given keys, across all processes."""
        n = dict.fromkeys(keys, 0)
        f = self.path / LEDGER
        if f.is_file():
            wanted = {(s, k) for s, k in keys.items()}
            for line in f.read_text(encoding="ascii", errors="replace").splitlines():
                parts = tuple(line.split())
                if len(parts) == 2 and parts in wanted:  # a line cut by a kill is ignored
                    n[parts[0]] += 1
        return n

