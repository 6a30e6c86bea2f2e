"""Summaries of a target score table (:func:`sim.calibration.evaluate.score_targets`): overall
and by phase, per kind, with skill against the naive benchmark; strict-JSON ready."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from sim.calibration.targets import PHASES
from sim.theatre.theatre import CAMPAIGN_START

DATED_GROUPS = ("captures", "recaptures", "retakes")


def _wmean(values: Any, w: np.ndarray) -> float | None:
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v) & (w > 0)
    return float((w[ok] * v[ok]).sum() / w[ok].sum()) if ok.any() else None


def _skill(score: float | None, ref: float | None) -> float | None:
    return None if score is None or ref is None or ref <= 0 else 1.0 - score / ref


def _dated_summary(t: pd.DataFrame) -> dict[str, Any]:
    """CRPS, error of the median, coverage, PIT and skill of a set of dated targets."""
    if not len(t):
        return {"n_targets": 0}
    w = t["weight"].to_numpy(float)
    point = (t["kind"] == "date").to_numpy()
    crps = _wmean(t["score"], w)
    out: dict[str, Any] = {
        "n_targets": len(t), "n_point": int(point.sum()), "n_captured_by": int((~point).sum()),
        "crps_days": crps,
        "crps_point_days": _wmean(t.loc[point, "score"], w[point]),
        "crps_captured_by_days": _wmean(t.loc[~point, "score"], w[~point]),
        "median_abs_error_days": _wmean(t["abs_err_median_days"], w),
        "coverage_50": _wmean(t.loc[point, "in50"].astype(float), w[point]),
        "coverage_80": _wmean(t.loc[point, "in80"].astype(float), w[point]),
        "p_never_median": _wmean((t["reason"] == "never (median)").astype(float), w),
    }
    pit = t.loc[point, "pit"].astype(float).to_numpy()
    out["pit"] = {"values": [round(float(p), 4) for p in pit],
                  "histogram_5_bins": np.histogram(pit, bins=5, range=(0, 1))[0].tolist(),
                  "mean": float(pit.mean()) if len(pit) else None}
    has = t["naive_score"].notna().to_numpy()
    if has.any():
        ref = _wmean(t.loc[has, "naive_score"].astype(float), w[has])
        out["crps_naive_days"] = ref
        out["skill_vs_naive"] = _skill(_wmean(t.loc[has, "score"], w[has]), ref)
    else:
        out["crps_naive_days"] = out["skill_vs_naive"] = None
    return out


def _by_phase(t: pd.DataFrame) -> dict[str, Any]:
    return {p: _dated_summary(t[t["phase"] == p]) for p, _, _ in PHASES}


def _group_summary(t: pd.DataFrame) -> dict[str, Any]:
    w = t["weight"].to_numpy(float)
    has = t["naive_score"].notna().to_numpy()
    score = _wmean(t["score"], w)
    ref = _wmean(t.loc[has, "naive_score"].astype(float), w[has]) if has.any() else None
    return {"n_targets": len(t), "mean_score": score, "naive_mean_score": ref,
            "skill_vs_naive": _skill(_wmean(t.loc[has, "score"], w[has]) if has.any()
                                     else None, ref)}


def summarise_terms(terms: pd.DataFrame, start: dt.date = CAMPAIGN_START) -> dict[str, Any]:
    """Strict-JSON-ready summary: dated kinds overall and by phase, counts, end state,
    territory, the objective, and the worst dated targets with the reason."""
    out: dict[str, Any] = {}
    dated = terms[terms["group"].isin(DATED_GROUPS)]
    out["dated"] = {"overall": _dated_summary(dated), "by_phase": _by_phase(dated)}
    for g in DATED_GROUPS:
        t = dated[dated["group"] == g]
        out[g] = {"overall": _dated_summary(t), "by_phase": _by_phase(t)}
    c = terms[terms["group"] == "counts"]
    out["counts"] = {**_group_summary(c), "unit": "localities (count CRPS)", "windows": [
        {k: r[k] for k in ("name", "target", "kind", "recorded", "replay", "median", "q10", "q90",
                           "score", "naive_score", "weight")} for _, r in c.iterrows()]}
    e = terms[terms["group"] == "end_state"]
    out["end_state"] = {**_group_summary(e), "unit": "Brier score", "nodes": [
        {"node": r["name"], "holder": r["kind"], "p_government": r["p_event"],
         "brier": r["score"], "weight": r["weight"]} for _, r in e.iterrows()]}
    tr = terms[terms["group"] == "territory"]
    out["territory"] = [
        {"quantity": r["name"], "date": r["date"], "scored": r["kind"] == "scored",
         "recorded": r["recorded"], "replay": r["replay"], "median": r["median"],
         "q10": r["q10"], "q90": r["q90"], "abs_error": r["abs_error"], "crps": r["score"],
         "naive_abs_error": r["naive_score"]} for _, r in tr.iterrows()]
    worst = dated.assign(wd=dated["score"] * dated["weight"]).sort_values("wd", ascending=False)
    out["worst_targets"] = [
        {"target": r["name"], "kind": r["group"][:-1] + (" by" if r["kind"] == "by" else ""),
         "node": r["town"], "recorded": r["date"],
         "median": (start + dt.timedelta(days=int(r["median_day"]))
                    if math.isfinite(r["median_day"]) else None),
         "crps_days": r["score"], "weight": r["weight"], "reason": r["reason"]}
        for _, r in worst.head(10).iterrows()]
    return out


def strict(obj: Any) -> Any:
    """``obj`` with NaN and infinities as ``None``, dates as ISO strings and numpy scalars as
    Python numbers, so ``json.dumps(..., allow_nan=False)`` accepts it."""
    if isinstance(obj, dict):
        return {str(k): strict(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [strict(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [strict(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dt.date):
        return obj.isoformat()
    if obj is pd.NaT or obj is None:
        return None
    return obj
