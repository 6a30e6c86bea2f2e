"""``kill -9`` at random moments while ``idlib-sim run`` writes its output.

After every kill the output folder is the old complete output or the new complete one, file for
file; when the kill landed between the two renames of the swap, that holds once the recovery
rules of :mod:`sim.outputs` have run (what the next run does first, via
:func:`sim.outputs.check_target`). Leftovers are cleaned by the following runs; after one more
run nothing is left beside the output.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sim.outputs import check_target, refusal

ROOT = Path(__file__).parents[1]
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")
REPLICAS = 100
N_KILLS = 5
VOLATILE = {"written_at", "wall_time_s"}  # manifest fields that differ between identical runs


def start(out: Path, seed: int, stderr: int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "sim.cli", "run", BASELINE, "--replicas",
                             str(REPLICAS), "--seed", str(seed), "--out", str(out), "--quiet"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)


def finish(out: Path, seed: int) -> float:
    """Run to the end; return the wall time in seconds."""
    t0 = time.perf_counter()
    proc = start(out, seed, stderr=subprocess.PIPE)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    return time.perf_counter() - t0


def contents(folder: Path) -> dict[str, object]:
    """Every file's bytes, the manifest without the fields that vary between identical runs."""
    out: dict[str, object] = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if rel == "manifest.json":
            out[rel] = {k: v for k, v in json.loads(p.read_text()).items() if k not in VOLATILE}
        else:
            out[rel] = p.read_bytes() if p.is_file() else None
    return out


@pytest.mark.slow
def test_kill_9_at_random_moments_leaves_old_or_new_output_and_no_litter(tmp_path: Path) -> None:
    refs = {seed: tmp_path / "ref" / str(seed) for seed in (1, 2)}
    wall = max(finish(path, seed) for seed, path in refs.items())
    expected = {seed: contents(path) for seed, path in refs.items()}
    assert expected[1] != expected[2]
    work = tmp_path / "work"
    out = work / "out"
    work.mkdir()
    shutil.copytree(refs[1], out)
    current = 1
    rng = np.random.default_rng(20200306)  # the delays are reproducible
    outcomes = []
    for u in rng.uniform(0.0, 1.1, N_KILLS):
        new = 3 - current
        before = set(work.glob(".out.tmp-*"))
        t0 = time.perf_counter()
        proc = start(out, new)
        # aim the kills at the writing phase: from the moment a new temporary folder appears to
        # (a little past) the end of a full run
        while not set(work.glob(".out.tmp-*")) - before and proc.poll() is None:
            time.sleep(0.01)
        writing = time.perf_counter() - t0
        delay = writing + u * max(wall - writing, 0.5)
        time.sleep(delay - writing)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)  # reaped, so its PID reads as dead
        missing = not out.exists()  # killed between the two renames of the swap
        if missing:
            check_target(out)  # what the next run does first; other litter is left to it
        assert refusal(out) is None
        got = contents(out)
        assert got in (expected[current], expected[new]), f"kill after {delay:.2f} s"
        outcomes.append((round(float(delay), 2), "missing" if missing else
                         ("new" if got == expected[new] else "old")))
        current = new if got == expected[new] else current
    finish(out, 1)
    assert contents(out) == expected[1]
    assert sorted(p.name for p in work.iterdir()) == ["out"], outcomes  # no .out.tmp-*/.old-*
    print("kills (delay s, outcome):", outcomes, f"full run {wall:.1f} s")
