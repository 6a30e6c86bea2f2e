"""Domain exceptions. Each message names where the bad input is: file, line, field and value."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class IdlibSimError(Exception):
    """Base class of every error the command line reports without a traceback."""


def did_you_mean(value: str, choices: Iterable[str], n: int = 3) -> str:
    """Return ``" (did you mean 'A' or 'B'?)"`` for close matches of ``value``, else ``""``."""
    pool = list(choices)
    lowered = {c.lower(): c for c in pool}
    hits = difflib.get_close_matches(value.lower(), list(lowered), n=n, cutoff=0.6)
    if not hits:
        return ""
    quoted = " or ".join(repr(lowered[h]) for h in hits)
    return f" (did you mean {quoted}?)"


def quote(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to about ``limit`` characters: messages never carry a whole file."""
    if isinstance(value, str | bytes) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    if isinstance(value, list | tuple | dict | set) and len(value) > 20:
        return f"<{type(value).__name__} of {len(value):,} items>"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def show_path(path: str | Path, limit: int = 160) -> str:
    """A path as messages show it: an over-long one keeps its start and its end."""
    text = str(path)
    return text if len(text) <= limit else f"{text[: limit // 2]}...{text[-limit // 2:]}"


class DataError(IdlibSimError):
    """A seed-data file is malformed.

    Parameters
    ----------
    path : file the problem is in
    line : 1-based line number in that file (``None`` for whole-file problems)
    field : column or key name
    value : the offending value as read
    reason : what is wrong with it
    """

    def __init__(
        self,
        path: str | Path,
        line: int | None,
        field: str | None,
        value: object,
        reason: str,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.value = value
        self.reason = reason
        where = self.path if line is None else f"{self.path}:{line}"
        what = "" if field is None else f" field {field!r}"
        val = "" if value is None else f" value {quote(value)}"
        super().__init__(f"{where}:{what}{val}: {reason}")


class ScenarioError(IdlibSimError):
    """A scenario file is invalid; the message quotes file, line, field path and value."""


class UnknownTownError(IdlibSimError, KeyError):
    """A town name that does not resolve to a node of the graph."""

    def __init__(self, name: str, choices: Iterable[str]) -> None:
        self.name = name
        super().__init__(f"unknown town {name!r}{did_you_mean(name, choices)}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class PosteriorError(DataError):
    """A posterior file (samples of parameters, one row per sample) is malformed or does not fit
    the campaign; the message names the file, line, column and value."""


class ParallelError(IdlibSimError):
    """Bad ``--workers`` or an unreachable or empty ``--scheduler`` (:mod:`sim.parallel`)."""
