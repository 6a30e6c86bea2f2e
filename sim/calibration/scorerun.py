"""``idlib-sim score RUN_DIR``: score the outputs of any ``idlib-sim run`` against the targets.

Reads ``manifest.json`` (start and end of the run), the per-replica day files
``capture_days.parquet``, ``recapture_days.parquet`` and ``last_capture_days.parquet``, and
``held_probability.csv`` (the end state). Every target kind is scored as in calibration
(:mod:`sim.calibration.evaluate`), overall and by phase, with skill against the naive
constant-speed model; the result is strict JSON (no NaN or Infinity) with ISO dates.
"""

from __future__ import annotations

import datetime as dt
import json
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
from sim.theatre.theatre import CAMPAIGN_START
from sim.world import default_world

DAY_FILES = ("capture_days.parquet", "recapture_days.parquet", "last_capture_days.parquet")


def _read_days(run: Path, name: str, towns: list[str], offset: int) -> np.ndarray:
    df = pd.read_parquet(run / name)
    missing = [t for t in towns if t not in df.columns]
    if missing:
        raise IdlibSimError(f"{run / name}: no column for town {missing[0]!r}")
    d = df[towns].to_numpy().astype(np.int16)
    # day indices of the run -> day indices of the campaign calendar (day 0 = 19 Dec 2019)
    return np.where(d >= 0, d + offset, -1).astype(np.int16)


def load_outcomes(run_dir: str | Path) -> tuple[Outcomes, dict[str, Any]]:
    """The outcomes of a run directory on the campaign calendar, and its manifest."""
    run = Path(run_dir)
    theatre, _ = default_world()
    for name in ("manifest.json", *DAY_FILES, "held_probability.csv"):
        if not (run / name).is_file():
            hint = (" (written by idlib-sim run since the recapture scores; re-run the scenario)"
                    if name in DAY_FILES[1:] else "")
            raise IdlibSimError(f"{run}: not a complete run directory ({name} missing){hint}")
    manifest = json.loads((run / "manifest.json").read_text())
    try:
        start = dt.date.fromisoformat(str(manifest["start"]))
        end = dt.date.fromisoformat(str(manifest["end"]))
    except (KeyError, ValueError) as exc:
        raise IdlibSimError(f"{run / 'manifest.json'}: field 'start'/'end': {exc}") from None
    offset = (start - CAMPAIGN_START).days
    first, rec, last = (_read_days(run, f, theatre.names, offset) for f in DAY_FILES)
    held = pd.read_csv(run / "held_probability.csv", index_col=0)
    if offset < 0:
        raise IdlibSimError(f"{run}/manifest.json: start {start} is before the campaign's "
                            f"first day {CAMPAIGN_START}")
    p_end = held[theatre.names].iloc[-1].to_numpy(float)
    out = Outcomes(first, rec, last, p_end, theatre.initial_control, theatre.area_km2,
                   (end - CAMPAIGN_START).days)
    return out, manifest


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
