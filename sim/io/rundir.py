"""Reading an ``idlib-sim run`` output folder for scoring, validated at the edge.

A run folder holds ``manifest.json`` (start and end of the run), ``capture_days.parquet``
(per-replica first-capture day of every town, ``-1`` = not captured) and ``territory.csv`` (area
quantiles by date). Anything else in the folder is ignored. Every problem is reported as an
:class:`~sim.errors.IdlibSimError` naming the file, the field and the value, never a traceback:
``score`` may be pointed at any folder, including a damaged or a foreign one.

Days and dates follow :mod:`sim.results`: a state at day ``d`` is the state at the end of the
date ``start + d``. Run folders written before that convention dated ``territory.csv``'s rows by
the next morning (``date = start + day + 1``); :func:`load_run` recognises them by their ``day``
column and returns their dates in the current convention.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim.errors import IdlibSimError, did_you_mean
from sim.theatre.theatre import CAMPAIGN_START

#: Longest run (days) a run folder may claim. The scores allocate arrays of ``targets x days``;
#: a campaign of 78 days has no meaningful continuation beyond a few years, so a longer period
#: means a damaged or foreign manifest, not a run of this project.
MAX_RUN_DAYS = 3 * 366
#: Largest file read (bytes): a manifest is a few hundred bytes, and the tables grow with the
#: replicas (``capture_days.parquet``: ~2 bytes per replica and town, compressed).
MAX_MANIFEST_BYTES = 1 << 20

MANIFEST = "manifest.json"
CAPTURE_DAYS = "capture_days.parquet"
TERRITORY = "territory.csv"
TERRITORY_COLUMNS = ("date", "q50_km2")


@dataclass(frozen=True)
class RunData:
    """What scoring reads from a run folder, validated.

    Attributes
    ----------
    path : the run folder
    manifest : the parsed ``manifest.json`` (a JSON object)
    start : first simulated day (00:00)
    end : first day not simulated
    capture_days : ``(replicas, towns)`` first-capture day of each town, ``-1`` = not captured;
        integer columns named by town
    territory : ``territory.csv``, with ``date`` as ISO strings (the end of that date) and
        ``q50_km2`` finite floats
    """

    path: Path
    manifest: dict[str, Any]
    start: dt.date
    end: dt.date
    capture_days: pd.DataFrame
    territory: pd.DataFrame

    @property
    def horizon(self) -> int:
        """Simulated days, ``end - start``."""
        return (self.end - self.start).days


def _fail(path: Path, field: str | None, value: object, reason: str) -> IdlibSimError:
    what = "" if field is None else f" field {field!r}:"
    shown = "" if value is None else f" value {_short(value)}:"
    return IdlibSimError(f"{path}:{what}{shown} {reason}")


def _short(value: object, limit: int = 80) -> str:
    """``repr`` of a value, truncated: a damaged file must not flood the terminal."""
    if isinstance(value, np.generic):  # show 'nan', not 'np.float64(nan)'
        value = value.item()
    r = repr(value)
    return r if len(r) <= limit else r[: limit - 3] + "..."


def _file(run: Path, name: str) -> Path:
    p = run / name
    if not p.exists():
        raise IdlibSimError(f"{run}: not a run directory ({name} missing)")
    if not p.is_file():
        raise _fail(p, None, None, "not a file")
    return p


def _read_manifest(path: Path) -> dict[str, Any]:
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise _fail(path, None, None, f"larger than {MAX_MANIFEST_BYTES} bytes: not a manifest "
                                      "of this project")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(path, None, None, f"not UTF-8 text ({exc.reason})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(path, None, None, f"invalid JSON: {exc.msg} (line {exc.lineno}, column "
                                      f"{exc.colno})") from None
    except RecursionError:
        raise _fail(path, None, None, "invalid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise _fail(path, None, None, f"a manifest must be a JSON object, got "
                                      f"{type(data).__name__}")
    return data


def _date(path: Path, manifest: dict[str, Any], field: str) -> dt.date:
    if field not in manifest:
        raise _fail(path, field, None, "missing" + did_you_mean(field, manifest))
    value = manifest[field]
    if not isinstance(value, str):
        raise _fail(path, field, value, "not an ISO date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise _fail(path, field, value, f"not a date ({exc})") from None


def _period(path: Path, manifest: dict[str, Any]) -> tuple[dt.date, dt.date]:
    start, end = _date(path, manifest, "start"), _date(path, manifest, "end")
    if start < CAMPAIGN_START:
        raise _fail(path, "start", manifest["start"],
                    f"before the offensive ({CAMPAIGN_START}): the targets cannot be placed")
    if end <= start:
        raise _fail(path, "end", manifest["end"], f"not after start {start}")
    if (end - start).days > MAX_RUN_DAYS:
        raise _fail(path, "end", manifest["end"],
                    f"more than {MAX_RUN_DAYS} days after start {start}")
    return start, end


def _read_capture_days(path: Path, horizon: int, towns: Sequence[str] | None) -> pd.DataFrame:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types on a damaged file; all mean the same
        raise _fail(path, None, None, f"not a readable Parquet file ({_first_line(exc)})"
                    ) from None
    if towns is not None:
        missing = [t for t in towns if t not in df.columns]
        if missing:
            raise _fail(path, str(missing[0]), None,
                        f"no column for this town ({len(missing)} of {len(towns)} missing)")
        df = df[list(towns)]
    if len(df) == 0:
        raise _fail(path, None, None, "no replicas (0 rows)")
    for col in df.columns:
        s = df[col]
        if not pd.api.types.is_integer_dtype(s.dtype):
            raise _fail(path, str(col), str(s.dtype), "capture days must be integers")
        v: NDArray[np.int64] = s.to_numpy(np.int64)
        bad = (v < -1) | (v >= horizon)
        if bad.any():
            raise _fail(path, str(col), int(v[bad][0]),
                        f"not a day of the run (-1 = not captured, else 0 .. {horizon - 1})")
    return df


def _read_territory(path: Path, start: dt.date) -> pd.DataFrame:
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise _fail(path, None, None, "empty file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise _fail(path, None, None, f"not a readable CSV table ({_first_line(exc)})") from None
    for col in TERRITORY_COLUMNS:
        if col not in df.columns:
            raise _fail(path, col, None, "column missing" + did_you_mean(col, map(str,
                                                                                    df.columns)))
    if len(df) == 0:
        raise _fail(path, None, None, "no rows")
    for i, d in enumerate(df["date"]):
        try:
            dt.date.fromisoformat(str(d))
        except ValueError:
            raise _fail(path, "date", d, f"row {i + 2}: not an ISO date (YYYY-MM-DD)") from None
    q = pd.to_numeric(df["q50_km2"], errors="coerce")
    bad = ~np.isfinite(q.to_numpy(float))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail(path, "q50_km2", df["q50_km2"].iloc[i], f"row {i + 2}: not a finite number")
    return df.assign(date=_current_dates(df, start), q50_km2=q.astype(float))


def _current_dates(df: pd.DataFrame, start: dt.date) -> list[str]:
    """``territory.csv``'s dates in the current convention (``date = start + day``); an older
    folder's (``date = start + day + 1``, the next morning) are moved back a day."""
    dates = [str(d) for d in df["date"]]
    day = pd.to_numeric(df["day"], errors="coerce") if "day" in df.columns else None
    if day is None or day.isna().any():
        return dates
    offsets = {(dt.date.fromisoformat(d) - start).days - int(k)
               for d, k in zip(dates, day, strict=True)}
    if offsets != {1}:
        return dates
    return [(start + dt.timedelta(days=int(k))).isoformat() for k in day]


def _first_line(exc: BaseException) -> str:
    s = str(exc).strip().splitlines()
    return _short(s[0], 160).strip("'\"") if s else type(exc).__name__


def load_run(run_dir: str | Path, towns: Sequence[str] | None = None) -> RunData:
    """Read and validate a run folder.

    Parameters
    ----------
    run_dir : the folder ``idlib-sim run`` wrote
    towns : if given, ``capture_days.parquet`` must have a column for each, and
        ``RunData.capture_days`` holds exactly these columns in this order

    Raises
    ------
    IdlibSimError
        naming the file, the field and the value: a missing folder or file, a file where a folder
        is expected, invalid JSON, a manifest that is not an object or lacks a valid ``start`` /
        ``end``, a damaged Parquet file, capture days outside the run, an empty or incomplete
        ``territory.csv``.
    """
    run = Path(run_dir)
    if not run.exists():
        raise IdlibSimError(f"{run}: no such folder")
    if not run.is_dir():
        raise IdlibSimError(f"{run}: not a folder (give the folder `idlib-sim run` wrote)")
    mpath = _file(run, MANIFEST)
    cpath = _file(run, CAPTURE_DAYS)
    tpath = _file(run, TERRITORY)
    try:
        manifest = _read_manifest(mpath)
        start, end = _period(mpath, manifest)
        days = _read_capture_days(cpath, (end - start).days, towns)
        territory = _read_territory(tpath, start)
    except OSError as exc:  # unreadable (permissions, a vanished file)
        raise IdlibSimError(f"{exc.filename or run}: cannot read ({exc.strerror})") from None
    return RunData(run, manifest, start, end, days, territory)
