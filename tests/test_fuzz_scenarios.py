"""Fuzzing the scenario loader with mutated and hostile scenario files.

A seeded generator mutates the shipped ``scenarios/*.yaml`` (deleted, duplicated and misspelt
keys, wrong types, huge numbers, NaN, deep nesting, aliases, bad dates, bad ``extends`` targets,
corrupted and truncated text) and feeds each file to ``idlib-sim validate``, in process. Every
file must give exit 0 or 2, no traceback, a message under a few KB, in bounded time and memory;
a sample of the accepted ones must also run. The suite runs a small budget; the ``fuzz`` marker
runs a larger one and prints its figures (``pytest -m fuzz -s tests/test_fuzz_scenarios.py``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from sim import cli

SCENARIOS = Path(__file__).parents[1] / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.yaml"))

MAX_SECONDS = 5.0
"""CPU seconds per file: the slowest legitimate input (a full 256 KiB file) reads in about a
second, and tracemalloc roughly doubles that."""
MAX_MESSAGE_BYTES = 4096
MAX_PEAK_BYTES = 200 * 2**20

HOSTILE: list[Any] = [
    True, False, None, 0, -1, -5, 1e308, 1e-308, float("nan"), float("inf"), -float("inf"),
    10**30, 2**64, "", " ", "yes", "x" * 3000, [], {}, [1, 2], {"a": 1}, [[[[1]]]], "2020-02-30",
    "9999-12-31", "0001-01-01", "2020-13-01", 0.5, 3.0, "1e-3", "../../x", "/abs/path", ".",
    "~", "\u202e\u0000", 17, "NaN",
]
BAD_DATES = ["2020-02-30", "2020-13-01", "0", "1970-01-01", "9999-12-31", "2200-01-01",
             "yesterday", "2020-1-1", "2020-01-01T10:00:00", "20200101", "2019-12-18"]


@dataclass
class Mutant:
    path: Path
    ops: list[str] = field(default_factory=list)


def _paths(d: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = []
    if isinstance(d, dict):
        for k, v in d.items():
            out.append((*prefix, k))
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out.append((*prefix, i))
            out.extend(_paths(v, (*prefix, i)))
    return out


def _get(d: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        d = d[k]
    return d


def _typo(rng: np.random.Generator, word: str) -> str:
    if not word:
        return "x"
    i = int(rng.integers(len(word)))
    op = int(rng.integers(3))
    if op == 0:
        return word[:i] + word[i + 1:] or "y"
    if op == 1:
        return word[:i] + word[i] * 2 + word[i + 1:]
    return word[:i] + "z" + word[i + 1:]


class Generator:
    """Mutants of the shipped scenarios, each in its own folder with a copy of its parents."""

    def __init__(self, seed: int, root: Path) -> None:
        self.rng = np.random.default_rng(np.random.SeedSequence(seed))
        self.root = root
        self.texts = {p.name: p.read_text() for p in SHIPPED}
        # the shipped posterior, where the copied scenarios' relative `posterior:` path looks
        post = SHIPPED[0].parent.parent / "calibration" / "record" / "posterior_samples.csv"
        (root / "calibration" / "record").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(post, root / "calibration" / "record" / post.name)
        self.data_ops: list[Callable[[dict[str, Any], list[str]], None]] = [
            self.delete_key, self.set_value, self.add_key, self.misspell_key]
        self.text_ops: list[Callable[[str, Path, list[str]], str]] = [
            self.duplicate_line, self.delete_line, self.truncate, self.corrupt, self.nest,
            self.alias, self.bad_extends, self.bad_date, self.huge]

    def make(self, i: int) -> Mutant:
        rng = self.rng
        folder = self.root / f"m{i:05d}"
        folder.mkdir()
        for name, text in self.texts.items():  # parents resolve next to the child
            (folder / name).write_text(text)
        name = str(rng.choice(sorted(self.texts)))
        ops: list[str] = [name]
        data = yaml.safe_load(self.texts[name])
        if rng.random() < 0.3:  # a benign change: the file must still validate, and run
            self.benign(data, ops)
            target = folder / "fuzz.yaml"
            target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
            return Mutant(target, ops)
        for _ in range(int(rng.integers(0, 3))):
            self.data_ops[int(rng.integers(len(self.data_ops)))](data, ops)
        try:
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        except yaml.YAMLError:
            text = self.texts[name]
        for _ in range(int(rng.integers(0 if len(ops) > 1 else 1, 3))):
            text = self.text_ops[int(rng.integers(len(self.text_ops)))](text, folder, ops)
        target = folder / ("fuzz.yaml" if rng.random() < 0.8 else "baseline.yaml")
        if target.name == "baseline.yaml":  # mutate a parent: children must blame it
            ops.append("as parent")
            target.write_text(text)
            target = folder / "no_russian_air.yaml"
        else:
            target.write_text(text)
        return Mutant(target, ops)

    # --- data-level mutations ---------------------------------------------------------------
    def benign(self, data: dict[str, Any], ops: list[str]) -> None:
        rng = self.rng
        data["seed"] = int(rng.integers(2**63))
        data["replicas"] = int(rng.integers(1, 50))
        data["outputs"] = {"plots": False}
        mods = data.get("modifiers") or {}
        if mods and rng.random() < 0.5:
            k = str(rng.choice(sorted(mods)))
            mods[k] = {**mods[k], "enabled": bool(rng.random() < 0.5)}
        if rng.random() < 0.3:
            data["params"] = {"terrain_factor": {"hills": round(float(rng.uniform(0.1, 2)), 3)},
                              "speed_scale": round(float(rng.uniform(0.1, 2)), 3)}
        if rng.random() < 0.3:
            data["period"] = {"end": str(rng.choice(["2020-02-01", "2020-06-30", "2021-01-01"]))}
        ops.append("benign")

    def _pick(self, data: dict[str, Any]) -> tuple[Any, ...] | None:
        paths = _paths(data)
        return paths[int(self.rng.integers(len(paths)))] if paths else None

    def delete_key(self, data: dict[str, Any], ops: list[str]) -> None:
        p = self._pick(data)
        if p is not None:
            del _get(data, p[:-1])[p[-1]]
            ops.append(f"delete {'.'.join(map(str, p))}")

    def set_value(self, data: dict[str, Any], ops: list[str]) -> None:
        p = self._pick(data)
        if p is not None:
            v = HOSTILE[int(self.rng.integers(len(HOSTILE)))]
            _get(data, p[:-1])[p[-1]] = v
            ops.append(f"set {'.'.join(map(str, p))} = {str(v)[:20]!r}")

    def add_key(self, data: dict[str, Any], ops: list[str]) -> None:
        p = self._pick(data)
        parent = _get(data, p[:-1]) if p else data
        if isinstance(parent, dict):
            key = _typo(self.rng, str(p[-1])) if p else "extra"
            parent[key] = HOSTILE[int(self.rng.integers(len(HOSTILE)))]
            ops.append(f"add {key}")

    def misspell_key(self, data: dict[str, Any], ops: list[str]) -> None:
        p = self._pick(data)
        if p is not None and isinstance(p[-1], str):
            parent = _get(data, p[:-1])
            parent[_typo(self.rng, p[-1])] = parent.pop(p[-1])
            ops.append(f"misspell {p[-1]}")

    # --- text-level mutations ---------------------------------------------------------------
    def _line(self, lines: list[str]) -> int:
        return int(self.rng.integers(len(lines))) if lines else 0

    def duplicate_line(self, text: str, folder: Path, ops: list[str]) -> str:
        lines = text.splitlines()
        i = self._line(lines)
        ops.append("duplicate line")
        return "\n".join(lines[: i + 1] + lines[i:i + 1] + lines[i + 1:]) + "\n"

    def delete_line(self, text: str, folder: Path, ops: list[str]) -> str:
        lines = text.splitlines()
        i = self._line(lines)
        ops.append("delete line")
        return "\n".join(lines[:i] + lines[i + 1:]) + "\n"

    def truncate(self, text: str, folder: Path, ops: list[str]) -> str:
        ops.append("truncate")
        return text[: int(self.rng.integers(len(text) + 1))]

    def corrupt(self, text: str, folder: Path, ops: list[str]) -> str:
        chars = list(":-[]{}&*!|>'\"#%@`\t\0\x85\ufeff é\n?,")
        out = list(text)
        for _ in range(int(self.rng.integers(1, 6))):
            out.insert(int(self.rng.integers(len(out) + 1)), str(self.rng.choice(chars)))
        ops.append("corrupt")
        return "".join(out)

    def nest(self, text: str, folder: Path, ops: list[str]) -> str:
        k = int(self.rng.choice([5, 40, 1000, 5000]))
        ops.append(f"nest {k}")
        opener, closer = ("[", "]") if self.rng.random() < 0.5 else ("{a: ", "}")
        return text + f"params: {opener * k}1{closer * k}\n"

    def alias(self, text: str, folder: Path, ops: list[str]) -> str:
        kind = int(self.rng.integers(4))
        ops.append(f"alias {kind}")
        if kind == 0:  # billion laughs
            lines = ['x0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
            lines += [f"x{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
            return text + "\n".join(lines) + "\n"
        if kind == 1:
            return text + "seed: *nowhere\n"
        if kind == 2:
            return text + "loop: &l [*l]\n"
        return text + "p: &p {air_effect: 0.5}\nparams: *p\n"

    def bad_extends(self, text: str, folder: Path, ops: list[str]) -> str:
        kind = int(self.rng.integers(11))
        ops.append(f"extends {kind}")
        if kind == 0:
            target = "missing.yaml"
        elif kind == 1:
            target = "''"
        elif kind == 2:
            target = str(folder)
        elif kind == 3:
            fifo = folder / "fifo.yaml"
            if hasattr(os, "mkfifo") and not fifo.exists():
                os.mkfifo(fifo)
            target = "fifo.yaml"
        elif kind == 4:
            target = "fuzz.yaml"  # itself
        elif kind == 5:
            (folder / "a.yaml").write_text("name: a\ndescription: a?\nextends: b.yaml\n")
            (folder / "b.yaml").write_text("name: b\ndescription: b?\nextends: a.yaml\n")
            target = "a.yaml"
        elif kind == 6:
            target = "x" * 5000
        elif kind == 7:
            (folder / "bin.yaml").write_bytes(bytes(self.rng.integers(0, 256, 2000,
                                                                      dtype=np.uint8)))
            target = "bin.yaml"
        elif kind == 8:
            (folder / "shadow").write_text("root:$6$SECRET$x:19000:0:99999:7:::\n" * 3)
            target = "shadow"
        elif kind == 9:
            target = "[1, 2]"
        else:
            target = "/dev/zero"
        lines = [ln for ln in text.splitlines() if not ln.startswith("extends:")]
        return "\n".join([*lines, f"extends: {target}"]) + "\n"

    def bad_date(self, text: str, folder: Path, ops: list[str]) -> str:
        import re

        dates = list(re.finditer(r"\d{4}-\d{2}-\d{2}", text))
        bad = str(self.rng.choice(BAD_DATES))
        ops.append(f"date {bad}")
        if not dates:
            return text + f"period: {{end: {bad}}}\n"
        m = dates[int(self.rng.integers(len(dates)))]
        return text[: m.start()] + bad + text[m.end():]

    def huge(self, text: str, folder: Path, ops: list[str]) -> str:
        n = int(self.rng.choice([10_000, 300_000]))
        ops.append(f"huge {n}")
        return text.replace("description:", "description: '" + "y" * n + "'\nx_description:", 1)


@dataclass
class Outcome:
    ops: list[str]
    rc: int
    seconds: float
    peak_bytes: int
    message: str


def validate(m: Mutant) -> Outcome:
    err, out = io.StringIO(), io.StringIO()
    tracemalloc.start()
    t0 = time.process_time()  # CPU time: the bound holds on a busy machine too
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc = cli.main(["validate", str(m.path)])
    except BaseException as exc:  # a crash is the finding: report which file
        tracemalloc.stop()
        raise AssertionError(f"{m.ops}: {type(exc).__name__}: {str(exc)[:500]}") from exc
    seconds = time.process_time() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Outcome(m.ops, rc, seconds, peak, err.getvalue())


def fuzz(root: Path, seed: int, n: int, n_runs: int) -> dict[str, Any]:
    gen = Generator(seed, root)
    outcomes, ran = [], 0
    for i in range(n):
        m = gen.make(i)
        o = validate(m)
        assert o.rc in (0, 2), (o.ops, o.rc, o.message)
        assert "Traceback" not in o.message, (o.ops, o.message)
        assert len(o.message.encode()) <= MAX_MESSAGE_BYTES, (o.ops, len(o.message))
        assert o.seconds <= MAX_SECONDS, (o.ops, o.seconds)
        assert o.peak_bytes <= MAX_PEAK_BYTES, (o.ops, o.peak_bytes)
        assert (o.rc == 2) == bool(o.message), (o.ops, o.message)
        if o.rc == 2:
            assert o.message.startswith("idlib-sim: error: "), (o.ops, o.message)
            assert "SECRET" not in o.message, (o.ops, o.message)
        elif ran < n_runs:
            out = root / f"run{i}"
            with contextlib.redirect_stdout(io.StringIO()):
                rc = cli.main(["run", str(m.path), "--replicas", "8", "--seed", "1", "--quiet",
                               "--out", str(out)])
            assert rc == 0, o.ops
            assert (out / "manifest.json").is_file()
            ran += 1
        outcomes.append(o)
        shutil.rmtree(m.path.parent)
    slowest = max(outcomes, key=lambda o: o.seconds)
    largest = max(outcomes, key=lambda o: len(o.message))
    kinds = Counter(_kind(line) for o in outcomes for line in o.message.splitlines())
    return {
        "files": n, "exit_codes": dict(Counter(o.rc for o in outcomes)), "runs": ran,
        "slowest_s": round(slowest.seconds, 3), "slowest_ops": slowest.ops,
        "largest_message_bytes": len(largest.message.encode()), "largest_ops": largest.ops,
        "peak_mib": round(max(o.peak_bytes for o in outcomes) / 2**20, 1),
        "error_kinds": dict(kinds.most_common(25)),
    }


def _kind(line: str) -> str:
    """A message's class: what follows the location and the value, without the specifics."""
    import re

    text = re.sub(r"^idlib-sim: error: \S*?(:\d+)?: ", "", line)
    text = re.sub(r"^field '[^']*':( value .*?:)? ", "", text)
    text = re.sub(r"'[^']*'|\d[\d,.]*", "#", text)
    return text[:60]


def test_mutated_and_hostile_scenarios_exit_cleanly(tmp_path: Path) -> None:
    summary = fuzz(tmp_path, seed=9, n=150, n_runs=2)
    assert summary["exit_codes"].get(2, 0) > 0 and summary["exit_codes"].get(0, 0) > 0, summary
    assert summary["runs"] == 2, summary


@pytest.mark.fuzz
def test_mutated_and_hostile_scenarios_exit_cleanly_large_budget(tmp_path: Path) -> None:
    summary = fuzz(tmp_path, seed=2020, n=3000, n_runs=20)
    print("\nfuzz summary: " + json.dumps(summary, indent=1))
    assert summary["runs"] == 20
