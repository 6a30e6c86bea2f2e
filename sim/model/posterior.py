"""Posterior samples of the front model's parameters, drawn one row per replica.

A posterior file is a CSV: optional ``#`` provenance lines, a header naming the columns, then one
row per sample. A column is a free field of :class:`~sim.model.params.FrontParams` (a key of
:data:`~sim.model.params.PRIORS`) or ``modifiers.<modifier name>.<parameter>``. Replica ``i``
of a run takes row :meth:`Posterior.rows` ``[i]``, drawn from its own stream
(``"posterior/row"``), so the row depends only on the seed, ``i`` and the number of samples: the
same for both engines, any chunking, and two scenarios that share the seed and the file (paired
comparisons stay paired). Every other draw of the replica is unchanged.

Two views of the rows for the engines: :func:`campaign_for_row` (one replica's campaign with the
row's values fixed, for the SimPy engine) and :func:`replica_values` (per-replica arrays of the
values the posterior varies, for the batch core).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from sim.engines.chunk import BLOCK
from sim.engines.streams import stream
from sim.errors import PosteriorError, did_you_mean, show_path
from sim.model.campaign import CALENDAR, FrontCampaign, compile_calendar
from sim.model.modifiers import KIND_PARAM_RANGES, Modifier
from sim.model.params import PRIORS, bounds

#: Most sample rows a posterior file may hold (a million rows of ten columns is ~80 MB).
MAX_ROWS = 1_000_000
#: Largest posterior file read, in bytes (~40 characters a cell for MAX_ROWS rows of 25 columns).
MAX_BYTES = 1_000_000_000
#: Prefix of a modifier parameter's column.
MOD_PREFIX = "modifiers."
#: The stream the row draws come from (a name none of the model's sites uses).
ROW_SITE = "posterior/row"
#: Modifier parameters the front model does not read (a ceasefire is a pause; leaks are breach
#: orders, docs/MODEL.md), refused so that a posterior column never silently does nothing.
UNUSED = {("ceasefire", "intensity")}
#: As :class:`~sim.model.modifiers.Modifier` does: a non-zero value this small means nothing.
_TINY = 1e-12

F64 = NDArray[np.float64]


def _param_range(param: str) -> tuple[float, float] | None:
    """Widest range of modifier parameter ``param`` over the kinds that have it."""
    spans = [t[param][1:] for t in KIND_PARAM_RANGES.values() if param in t]
    return (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None


def _column_range(path: str, line: int, name: str) -> tuple[float, float]:
    """The valid range of column ``name``, or the error naming it (with "did you mean")."""
    if name in PRIORS:
        return bounds(name)
    if name.startswith(MOD_PREFIX):
        parts = name[len(MOD_PREFIX):].split(".")
        params = sorted({k for t in KIND_PARAM_RANGES.values() for k in t})
        if len(parts) != 2 or not parts[0]:
            raise PosteriorError(path, line, name, None,
                                 "a modifier column is modifiers.<modifier name>.<parameter>")
        span = _param_range(parts[1])
        if span is None:
            raise PosteriorError(path, line, name, None, "no modifier kind has parameter "
                                 f"{parts[1]!r}" + did_you_mean(parts[1], params))
        return span
    if name.lower() in {"weight", "weights", "distance"}:
        raise PosteriorError(path, line, name, None,
                             "rows are drawn with equal probability: write equally weighted "
                             "samples (resample weighted ones) without weight or distance columns")
    choices = [*PRIORS, MOD_PREFIX]
    raise PosteriorError(path, line, name, None,
                         "not a free parameter of the front model nor modifiers.<name>.<param>"
                         + did_you_mean(name, choices) + f"; free parameters: {sorted(PRIORS)}")


@dataclass(frozen=True)
class Posterior:
    """Samples of some free parameters and modifier parameters, one row per sample."""

    names: tuple[str, ...]
    """Column names."""
    samples: NDArray[np.float64]
    """``(n_samples, len(names))``."""
    source: str
    """The path as given, for messages and manifests."""

    def __post_init__(self) -> None:
        x = np.array(self.samples, dtype=np.float64)  # a copy: the samples cannot change later
        if x.ndim != 2 or x.shape[1] != len(self.names) or not len(x):
            raise ValueError(f"samples of shape {x.shape} do not fit {len(self.names)} names")
        x.flags.writeable = False
        object.__setattr__(self, "samples", x)

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[0])

    @classmethod
    def read_csv(cls, path: str | Path) -> Posterior:
        """Read and validate a posterior file; any problem is a one-line :class:`PosteriorError`
        naming the file, line, column and value."""
        src = str(path)
        shown = show_path(src)
        try:
            p = Path(path)
            size = p.stat().st_size
            if size > MAX_BYTES:
                raise PosteriorError(shown, None, None, None,
                                     f"file is {size:,} bytes; at most {MAX_BYTES:,} are read")
            text = p.read_bytes().decode("utf-8-sig")
        except PosteriorError:
            raise
        except UnicodeDecodeError as exc:
            raise PosteriorError(shown, None, None, None,
                                 f"not a UTF-8 text file (byte {exc.start})") from None
        except OSError as exc:
            raise PosteriorError(shown, None, None, None,
                                 f"cannot read the posterior file: {exc.strerror or exc}") from None
        if "\0" in text:
            raise PosteriorError(shown, None, None, None, "binary file (contains NUL bytes)")
        names, cells, lines = _parse(shown, text)
        samples = _to_floats(shown, names, cells, lines)
        return cls(names, samples, src)

    def rows(self, seed: int, start: int, n: int) -> NDArray[np.intp]:
        """Sample rows of replicas ``start .. start + n - 1``: uniform with replacement, from one
        stream per block of :data:`~sim.engines.chunk.BLOCK` replicas (chunk-independent)."""
        if n < 0 or start < 0:
            raise ValueError(f"replicas {start} .. {start} + {n}: start and n must be >= 0")
        if n == 0:
            return np.zeros(0, dtype=np.intp)
        b0, b1 = start // BLOCK, (start + n - 1) // BLOCK + 1
        drawn = np.concatenate([stream(seed, b, ROW_SITE).integers(0, self.n_samples, BLOCK)
                                for b in range(b0, b1)])
        return drawn[start - b0 * BLOCK:start - b0 * BLOCK + n].astype(np.intp)

    def digest(self) -> str:
        """sha256 of the names and samples (not of the file's comments or formatting)."""
        h = hashlib.sha256()
        h.update("\x1f".join(self.names).encode())
        h.update(np.asarray(self.samples.shape, dtype="<i8").tobytes())
        h.update(np.ascontiguousarray(self.samples, dtype="<f8").tobytes())
        return h.hexdigest()

    def free_columns(self) -> dict[str, int]:
        """Free field -> column index."""
        return {x: i for i, x in enumerate(self.names) if x in PRIORS}

    def modifier_columns(self) -> dict[tuple[str, str], int]:
        """``(modifier name, parameter)`` -> column index."""
        out = {}
        for i, x in enumerate(self.names):
            if x.startswith(MOD_PREFIX):
                name, param = x[len(MOD_PREFIX):].split(".")
                out[(name, param)] = i
        return out


def _parse(path: str, text: str) -> tuple[tuple[str, ...], list[list[str]], list[int]]:
    """Header and cells of a posterior file, with each row's line number."""
    reader = csv.reader(io.StringIO(text), strict=True)
    header: list[str] | None = None
    cells: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not row or all(not x.strip() for x in row):
                continue  # blank lines carry nothing
            if header is None:
                if row[0].lstrip().startswith("#"):
                    continue
                header = [x.strip() for x in row]
                hline = reader.line_num
                continue
            if len(row) != len(header):
                raise PosteriorError(path, reader.line_num, None, None,
                                     f"{len(row)} values where the header has {len(header)}")
            if len(cells) == MAX_ROWS:
                raise PosteriorError(path, reader.line_num, None, None,
                                     f"more than {MAX_ROWS:,} sample rows")
            cells.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise PosteriorError(path, reader.line_num, None, None, f"not a CSV file: {exc}") from None
    if header is None:
        raise PosteriorError(path, None, None, None, "empty: no header line")
    seen: set[str] = set()
    for name in header:
        if not name:
            raise PosteriorError(path, hline, None, None, "a column has an empty name")
        if name in seen:
            raise PosteriorError(path, hline, name, None, "duplicate column")
        seen.add(name)
        _column_range(path, hline, name)
    if not cells:
        raise PosteriorError(path, None, None, None, "no sample rows after the header")
    return tuple(header), cells, lines


def _to_floats(path: str, names: tuple[str, ...], cells: list[list[str]],
               lines: list[int]) -> F64:
    """The cells as floats, each finite and within its column's range."""
    try:
        x = np.array(cells, dtype=np.float64)
    except ValueError:
        x = None
    if x is None:  # find the first cell that is not a number, to name it
        for row, line in zip(cells, lines, strict=True):
            for name, cell in zip(names, row, strict=True):
                try:
                    float(cell)
                except ValueError:
                    raise PosteriorError(path, line, name, cell, "not a number") from None
        raise PosteriorError(path, None, None, None, "not a table of numbers")  # unreachable
    for j, name in enumerate(names):
        lo, hi = _column_range(path, 0, name)
        bad = ~(np.isfinite(x[:, j]) & (x[:, j] >= lo) & (x[:, j] <= hi))
        tiny = (x[:, j] != 0) & (np.abs(x[:, j]) < _TINY) & name.startswith(MOD_PREFIX)
        if bad.any() or tiny.any():
            i = int(np.flatnonzero(bad | tiny)[0])
            why = ("too small to mean anything" if not bad[i] else
                   "not finite" if not np.isfinite(x[i, j]) else f"outside [{lo}, {hi}]")
            raise PosteriorError(path, lines[i], name, cells[i][j].strip(), why)
    return x


def _modifier_of(c: FrontCampaign, post: Posterior, name: str, param: str) -> Modifier:
    """The campaign's modifier ``name``, checked to take ``param`` and the posterior's values."""
    col = f"{MOD_PREFIX}{name}.{param}"
    src = show_path(post.source)
    mods = {m.name: m for m in c.modifiers}
    if name not in mods:
        raise PosteriorError(src, None, col, None, f"the campaign has no modifier {name!r}"
                             + did_you_mean(name, mods) + f"; it has {sorted(mods) or 'none'}")
    m = mods[name]
    table = KIND_PARAM_RANGES[m.kind]
    if param not in table:
        raise PosteriorError(src, None, col, None, f"a {m.kind!r} modifier has no parameter "
                             f"{param!r}" + did_you_mean(param, table)
                             + f"; it takes {sorted(table) or 'none'}")
    if (m.kind, param) in UNUSED:
        raise PosteriorError(src, None, col, None, f"the front model does not use a {m.kind!r} "
                             f"modifier's {param!r}")
    _, lo, hi = table[param]
    v = post.samples[:, post.names.index(col)]
    bad = (v < lo) | (v > hi)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PosteriorError(src, None, col, float(v[i]),
                             f"sample {i + 1} is outside [{lo}, {hi}] for a {m.kind!r} modifier")
    return m


def check_campaign(c: FrontCampaign, post: Posterior) -> None:
    """Refuse a posterior that names a modifier ``c`` does not have, or a parameter its kind
    does not take (a :class:`PosteriorError` naming the column)."""
    for name, param in post.modifier_columns():
        _modifier_of(c, post, name, param)


def campaign_for_row(c: FrontCampaign, post: Posterior, row: int) -> FrontCampaign:
    """``c`` with sample ``row``'s values as its fixed parameters (one replica's campaign)."""
    check_campaign(c, post)
    x = post.samples[row]
    free = {k: float(x[i]) for k, i in post.free_columns().items()}
    by_mod: dict[str, dict[str, float]] = {}
    for (name, param), i in post.modifier_columns().items():
        by_mod.setdefault(name, {})[param] = float(x[i])
    mods = tuple(m if m.name not in by_mod else
                 Modifier.model_validate({**m.model_dump(), "params": {**m.params,
                                                                       **by_mod[m.name]}})
                 for m in c.modifiers)
    return dataclasses.replace(c, params=c.params.override(**free) if free else c.params,
                               modifiers=mods)


@dataclass(frozen=True)
class ReplicaValues:
    """What the batch core needs for replicas with posterior rows ``rows``."""

    rows: NDArray[np.intp]
    """``(n,)`` sample row of each replica."""
    free: dict[str, F64]
    """Free field -> ``(n,)`` values, for the fields the posterior sets."""
    calendar: dict[str, F64]
    """Calendar array name (:data:`~sim.model.campaign.CALENDAR`) -> ``(n, n_days)``, for
    the arrays the posterior's modifier columns change."""


def replica_values(c: FrontCampaign, post: Posterior, rows: NDArray[np.intp]) -> ReplicaValues:
    """Per-replica values of the parameters ``post`` varies, for replicas with rows ``rows``."""
    check_campaign(c, post)
    rows = np.asarray(rows, dtype=np.intp)
    x = post.samples[rows]
    free = {k: x[:, i].copy() for k, i in post.free_columns().items()}
    cols = post.modifier_columns()
    calendar: dict[str, F64] = {}
    if cols:
        def value(m: Modifier, key: str) -> float | F64:
            i = cols.get((m.name, key))
            return m.param(key) if i is None else x[:, i][:, None]

        arrays, _, _ = compile_calendar(c.modifiers, c.start, c.n_days, value)
        # an array the varied values enter has become (n, n_days); the others stay the campaign's
        calendar = {k: np.broadcast_to(arrays[k], (len(rows), c.n_days)) for k in CALENDAR
                    if np.ndim(arrays[k]) == 2}
    return ReplicaValues(rows, free, calendar)
