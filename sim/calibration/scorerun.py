"""``idlib-sim score RUN_DIR``: score the outputs of any ``idlib-sim run`` against the targets.

Uses ``capture_days.parquet`` (per-replica first-capture days), ``territory.csv`` (area
quantiles) and ``manifest.json`` (start and end of the run). Point-date targets are scored as in
calibration (CRPS, error of the median, PIT, interval coverage, skill against the naive speed
model); territory figures by the error of the simulated median.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import analysis
from sim.calibration.calibrate import naive_distances
from sim.calibration.targets import build_targets
from sim.errors import IdlibSimError
from sim.world import default_world


def score_run_dir(run_dir: str | Path) -> dict[str, Any]:
    run = Path(run_dir)
    try:
        manifest = json.loads((run / "manifest.json").read_text())
        days_df = pd.read_parquet(run / "capture_days.parquet")
        territory = pd.read_csv(run / "territory.csv")
    except FileNotFoundError as exc:
        raise IdlibSimError(f"{run}: not a run directory ({exc.filename} missing)") from None
    theatre, _ = default_world()
    start = dt.date.fromisoformat(str(manifest["start"]))
    end = dt.date.fromisoformat(str(manifest["end"]))
    horizon = (end - start).days
    offset = (start - dt.date(2019, 12, 19)).days
    missing = [n for n in theatre.names if n not in days_df.columns]
    if missing:
        raise IdlibSimError(f"{run}/capture_days.parquet: no column for town {missing[0]!r}")
    days = days_df[theatre.names].to_numpy()
    targets = build_targets(theatre)
    cap = targets.captures
    date_t = cap[(cap["kind"] == "date") & (cap["day"] - offset < horizon)]
    y = date_t["day"].to_numpy(int) - offset
    nodes = date_t["node"].to_numpy(int)
    table = analysis.score_table(days[:, nodes], y, horizon, np.random.default_rng(0),
                                names=list(date_t["town"]), phase=list(date_t["phase"]),
                                weight=date_t["weight"].to_numpy())
    dist = naive_distances(theatre)
    speed = analysis.fit_naive_speed(dist[nodes], y, horizon)
    out: dict[str, Any] = analysis.summarise(table, naive_crps=analysis.naive_crps(dist[nodes], y,
                                                                                   speed, horizon))
    out["naive_speed_km_per_day"] = speed
    out["captured_by"] = [
        {"town": r["town"], "by": str(r["date"]),
         "score_days": analysis.crps_captured_by(days[:, int(r["node"])], int(r["day"]) - offset,
                                                horizon)}
        for _, r in cap[cap["kind"] == "by"].iterrows()]
    out["worst_towns"] = (table.sort_values("crps_days", ascending=False)
                          [["town", "y", "median_day", "crps_days", "pit"]].head(10)
                          .to_dict(orient="records"))
    terr = []
    base = float(territory["q50_km2"].iloc[0])
    for _, t in targets.territory[targets.territory["quantity"] == "captured_area_km2"].iterrows():
        # "by date D" = the state at the end of D, i.e. 00:00 of D + 1 (at most the run's end)
        when = min(t["date"] + dt.timedelta(days=1), end)
        row = territory[territory["date"] == when.isoformat()]
        if len(row):
            med = float(row["q50_km2"].iloc[0]) - base
            terr.append({"date": str(t["date"]), "recorded_km2": float(t["value"]),
                         "median_km2": med, "abs_error_km2": abs(med - float(t["value"]))})
    out["territory"] = terr
    out["run"] = str(run)
    return out
