"""``idlib-sim score RUN_DIR``: score the outputs of any ``idlib-sim run`` against the targets.

Reads the run folder through :func:`sim.io.rundir.load_run` (``manifest.json``, the validated
first-capture days), then the other per-replica day files ``recapture_days.parquet`` and
``last_capture_days.parquet``, and ``held_probability.csv`` (the end state). Every target kind
is scored as in calibration (:mod:`sim.calibration.evaluate`), overall and by phase, with skill
against the naive constant-speed model; the result is strict JSON (no NaN or Infinity) with ISO
dates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis import Outcomes
from sim.calibration.evaluate import fit_naive, score_targets
from sim.calibration.objective import objective
from sim.calibration.scorecard import strict, summarise_terms
from sim.calibration.targets import build_targets
from sim.errors import IdlibSimError
from sim.io.rundir import load_run
from sim.theatre.theatre import CAMPAIGN_START
from sim.world import default_world

DAY_FILES = ("capture_days.parquet", "recapture_days.parquet", "last_capture_days.parquet")


def _shift(d: np.ndarray, offset: int) -> np.ndarray:
    """Day indices of the run -> day indices of the campaign calendar (day 0 = 19 Dec 2019)."""
    return np.where(d >= 0, d + offset, -1).astype(np.int16)


def _read_days(run: Path, name: str, towns: list[str], horizon: int) -> np.ndarray:
    try:
        df = pd.read_parquet(run / name)
    except Exception as exc:  # pyarrow raises many types on a damaged file; all mean the same
        raise IdlibSimError(f"{run / name}: not a readable Parquet file ({type(exc).__name__})"
                            ) from None
    missing = [t for t in towns if t not in df.columns]
    if missing:
        raise IdlibSimError(f"{run / name}: field {missing[0]!r}: no column for this town")
    d = df[towns].to_numpy()
    if not np.issubdtype(d.dtype, np.integer) or ((d < -1) | (d >= horizon)).any():
        raise IdlibSimError(f"{run / name}: days must be integers, -1 (never) or 0 .. "
                            f"{horizon - 1}")
    return d.astype(np.int16)


def load_outcomes(run_dir: str | Path) -> tuple[Outcomes, dict[str, Any]]:
    """The outcomes of a run directory on the campaign calendar, and its manifest."""
    run = Path(run_dir)
    theatre, _ = default_world()
    data = load_run(run, towns=theatre.names)
    for name in (*DAY_FILES[1:], "held_probability.csv"):
        if not (run / name).is_file():
            hint = (" (written by idlib-sim run since the recapture scores; re-run the scenario)"
                    if name in DAY_FILES[1:] else "")
            raise IdlibSimError(f"{run}: not a complete run directory ({name} missing){hint}")
    offset = (data.start - CAMPAIGN_START).days
    first = data.capture_days.to_numpy().astype(np.int16)
    rec, last = (_read_days(run, f, theatre.names, data.horizon) for f in DAY_FILES[1:])
    try:
        held = pd.read_csv(run / "held_probability.csv", index_col=0)
        p_end = held[theatre.names].iloc[-1].to_numpy(float)
    except (KeyError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise IdlibSimError(f"{run / 'held_probability.csv'}: not a table of P(held) by town "
                            f"({type(exc).__name__})") from None
    if not (np.isfinite(p_end).all() and ((p_end >= 0) & (p_end <= 1)).all()):
        raise IdlibSimError(f"{run / 'held_probability.csv'}: last row: probabilities must lie "
                            "in [0, 1]")
    out = Outcomes(_shift(first, offset), _shift(rec, offset), _shift(last, offset), p_end,
                   theatre.initial_control, theatre.area_km2, (data.end - CAMPAIGN_START).days)
    return out, data.manifest


def score_run(run_dir: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """Scores of a run directory (strict-JSON-ready dict; see calibration/README.md) and the
    per-target score table they summarise."""
    out, manifest = load_outcomes(run_dir)
    theatre, _ = default_world()
    targets = build_targets(theatre)
    naive = fit_naive(theatre, targets, out.horizon)
    terms = score_targets(out, targets, theatre, np.random.default_rng(0), naive)
    result: dict[str, Any] = {
        "run": str(run_dir), "scenario": manifest.get("scenario"),
        "replicas": out.n, "start": manifest.get("start"), "end": manifest.get("end"),
        "n_targets": targets.n_targets(),
        "objective_days": objective(terms),
        "naive_speed_km_per_day": naive.speed,
        **summarise_terms(terms),
        "left_out": targets.left_out.to_dict(orient="records"),
    }
    return dict(strict(result)), terms


def score_run_dir(run_dir: str | Path) -> dict[str, Any]:
    """Scores of a run directory (strict-JSON-ready dict)."""
    return score_run(run_dir)[0]


def save_score_plots(terms: pd.DataFrame, horizon: int, out_dir: str | Path) -> list[Path]:
    """The four plots of the scores against the record, written into ``out_dir`` (created)."""
    from sim import plots

    theatre, _ = default_world()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [plots.save(plots.plot_capture_dates(terms, start=CAMPAIGN_START, horizon=horizon),
                       out / "capture_dates.png"),
            plots.save(plots.plot_error_map(theatre, terms), out / "error_map.png"),
            plots.save(plots.plot_bursts(terms), out / "bursts.png"),
            plots.save(plots.plot_end_state(theatre, terms), out / "end_state.png")]
