"""Score a run's outcomes against every target: one row per target, in its own units and in days.

Per kind (rules in calibration/README.md, "Scores"):

* dated targets (captures, recaptures, retakings): the day array that answers the target
  (:meth:`sim.analysis.Outcomes.answer`; a member is answered by its node) is scored with the
  censored CRPS, the error of the median, 50 % / 80 % coverage and the randomised PIT
  (:func:`sim.analysis.score_table`) for a date, and with :func:`sim.analysis.crps_captured_by`
  for a "captured by" bound (no coverage or PIT: the record gives no distribution to check);
* counts: :func:`sim.analysis.crps_count` or :func:`~sim.analysis.crps_count_at_least`, in
  localities;
* end state: the Brier score of P(government holds the node at the end);
* territory: the ensemble CRPS of the simulated figure, in km² (or percentage points).

``naive`` is the constant-speed benchmark (:class:`NaiveForecast`): a point forecast of each
node's first capture, and "never" for every recapture and retaking (it has no counter-attacks),
so its score, and the skill against it, is defined for every kind.
``score_days`` puts every score in days for the objective (conversion factors in
:mod:`sim.calibration.objective`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim import analysis
from sim.analysis import Outcomes
from sim.calibration.targets import Targets, idlib_mask, locality_weight
from sim.theatre.theatre import GOVERNMENT, Theatre

#: Mean daily gain of the campaign: 2,345 km² (infobox) over 78 days. Converts km² to days.
KM2_PER_DAY = 2345.0 / 78.0
#: Mean daily count: 295 localities (infobox) over 78 days. Converts localities to days.
LOCALITIES_PER_DAY = 295.0 / 78.0
#: A Brier score of 1 (certain and wrong about a holder) counts as this many days of error.
BRIER_DAYS = 10.0


@dataclass(frozen=True)
class NaiveForecast:
    """The constant-speed benchmark: node ``i`` falls on day ``floor(dist_i / speed)``."""

    dist_km: NDArray[np.float64]
    speed: float

    def days(self, horizon: int) -> NDArray[np.float64]:
        return analysis.naive_days(self.dist_km, self.speed, horizon)


def naive_distances(theatre: Theatre) -> NDArray[np.float64]:
    """Graph distance (km) of every town from the nearest town held on 18 Dec."""
    gov = theatre.initial_control == GOVERNMENT
    return np.asarray(theatre.distance_km[gov].min(axis=0))


def fit_naive(theatre: Theatre, targets: Targets, horizon: int) -> NaiveForecast:
    """The benchmark's speed, fitted to the point-dated capture targets."""
    dist = naive_distances(theatre)
    cap = targets.captures[targets.captures["kind"] == "date"]
    speed = analysis.fit_naive_speed(dist[cap["node"].to_numpy(int)],
                                     np.minimum(cap["day"].to_numpy(int), horizon), horizon)
    return NaiveForecast(dist, speed)


def _reason(median: float, y: int, horizon: int, kind: str) -> str:
    if not np.isfinite(median) or median >= horizon:
        return "never (median)"
    if kind == "by":
        return "late" if median > y else "on time"
    return "late" if median > y else ("early" if median < y else "on time")


def _dated(out: Outcomes, df: pd.DataFrame, group: str, naive_day: NDArray[np.float64] | None,
           rng: np.random.Generator) -> list[dict[str, Any]]:
    h = out.horizon
    rows: list[dict[str, Any]] = []
    if not len(df):
        return rows
    for kind, sub in df.groupby("kind", sort=False):
        nodes = sub["node"].to_numpy(int)
        # "by 6 Mar" bounds: the run ends at 00:00 6 Mar (the ceasefire), so "by the last day"
        y = np.minimum(sub["day"].to_numpy(int), h - 1)
        days = np.concatenate([out.answer(a)[:, [n]] for a, n in
                               zip(sub["answered_by"], nodes, strict=True)], axis=1)
        q = analysis.quantiles_censored(days, [0.1, 0.5, 0.9], h)
        p_ev = (days >= 0).mean(axis=0)
        if kind == "date":
            table = analysis.score_table(days, y, h, rng)
            score = table["crps_days"].to_numpy()
            extra: list[dict[str, Any]] = [
                {str(k): v for k, v in r.items()} for r in
                table[["abs_err_median_days", "pit", "in50", "in80"]].to_dict("records")]
        else:
            score = np.array([analysis.crps_captured_by(days[:, j], int(y[j]), h)
                              for j in range(len(y))])
            err = np.maximum(np.minimum(q[1], h) - y, 0.0)
            extra = [{"abs_err_median_days": float(e), "pit": None, "in50": None, "in80": None}
                     for e in err]
        for j, (_, t) in enumerate(sub.iterrows()):
            nv = None
            if naive_day is not None:
                # the benchmark never recaptures (nor retakes): its forecast is "never" (= h)
                a = min(float(naive_day[nodes[j]]), h) if group == "captures" else float(h)
                nv = abs(a - int(y[j])) if kind == "date" else max(a - int(y[j]), 0.0)
            rows.append({"group": group, "name": t["locality"], "node": int(nodes[j]),
                         "town": t["town"], "role": t["role"], "date": t["date"],
                         "day": int(t["day"]), "phase": t["phase"], "kind": kind,
                         "weight": float(t["weight"]), "score": float(score[j]),
                         "score_days": float(score[j]), "naive_score": nv,
                         "median_day": float(q[1, j]), "q10": float(q[0, j]),
                         "q90": float(q[2, j]), "p_event": float(p_ev[j]),
                         "reason": _reason(float(q[1, j]), int(y[j]), h, str(kind)),
                         "events": t["events"], **extra[j]})
    return rows


def _count_score(samples: NDArray[np.int64], value: int, relation: str) -> float:
    if relation == "at_least":
        return analysis.crps_count_at_least(samples, value)
    return analysis.crps_count(samples, value)


def _counts(out: Outcomes, df: pd.DataFrame, w: NDArray[np.int64],
            naive_day: NDArray[np.float64] | None) -> list[dict[str, Any]]:
    rows = []
    for _, t in df.iterrows():
        a, b = int(t["start_day"]), min(int(t["end_day"]), out.horizon - 1)
        days = out.first_capture if t["target"] == "captures" else out.first_recapture
        n = analysis.window_counts(days, w, a, b)
        score = _count_score(n, int(t["value"]), str(t["relation"]))
        nv, k = None, 0
        if naive_day is not None:
            hit = (naive_day >= a) & (naive_day <= b) & ~out.gov0
            k = int(w[hit].sum()) if t["target"] == "captures" else 0  # it never recaptures
            nv = _count_score(np.array([k]), int(t["value"]), str(t["relation"]))
        rows.append({"group": "counts", "name": t["name"], "date": t["end"],
                     "phase": t["phase"], "kind": t["relation"], "weight": float(t["weight"]),
                     "score": score, "score_days": score / LOCALITIES_PER_DAY,
                     "naive_score": nv, "recorded": int(t["value"]),
                     "replay": int(t["replay"]), "median": float(np.median(n)),
                     "q10": float(np.quantile(n, 0.1)), "q90": float(np.quantile(n, 0.9)),
                     "target": t["target"],
                     "distribution": np.bincount(n).tolist(),  # replicas with count 0, 1, ...
                     "naive_count": None if naive_day is None else k})
    return rows


def _end_state(out: Outcomes, df: pd.DataFrame,
               naive_day: NDArray[np.float64] | None) -> list[dict[str, Any]]:
    rows = []
    for _, t in df.iterrows():
        i = int(t["node"])
        p = float(out.p_held_end[i])
        brier = (p - int(t["observed"])) ** 2
        nv = None
        if naive_day is not None:
            held = bool(out.gov0[i]) or naive_day[i] < out.horizon
            nv = float((float(held) - int(t["observed"])) ** 2)
        rows.append({"group": "end_state", "name": t["town"], "node": i, "town": t["town"],
                     "phase": "late_feb", "kind": t["holder"], "weight": float(t["weight"]),
                     "score": brier, "score_days": BRIER_DAYS * brier, "naive_score": nv,
                     "p_event": p, "events": t["events"]})
    return rows


def _territory(out: Outcomes, df: pd.DataFrame, mask: NDArray[np.bool_],
               naive_day: NDArray[np.float64] | None) -> list[dict[str, Any]]:
    rows = []
    h = out.horizon
    for _, t in df.iterrows():
        d = min(int(t["day"]), h - 1)
        q = str(t["quantity"])
        if q == "share_idlib_pct":
            sample = out.share(d, mask)
            to_days = float(out.area_km2[mask].sum()) / 100.0 / KM2_PER_DAY
        elif q == "captured_area_increment_km2":
            sample = out.gained_area(d) - out.gained_area(d - 1)
            to_days = 1.0 / KM2_PER_DAY
        else:
            sample = out.gained_area(d)
            to_days = 1.0 / KM2_PER_DAY
        score = analysis.crps_ensemble(sample, float(t["value"]))
        nv = None
        if naive_day is not None:
            taken = naive_day <= d
            if q == "share_idlib_pct":
                a = np.where(mask, out.area_km2, 0.0)
                v = 100.0 * float(a[out.gov0 | taken].sum()) / float(a.sum())
            elif q == "captured_area_increment_km2":
                v = float(out.area_km2[naive_day == d].sum())
            else:
                v = float(out.area_km2[taken & ~out.gov0].sum())
            nv = abs(v - float(t["value"]))
        med = float(np.median(sample))
        rows.append({"group": "territory", "name": q, "date": t["date"], "phase": "all",
                     "kind": "scored" if t["scored"] else "reported",
                     "weight": float(t["weight"]) if t["scored"] else 0.0,
                     "score": score, "score_days": score * to_days, "naive_score": nv,
                     "recorded": float(t["value"]), "replay": float(t["replay"]),
                     "median": med, "abs_error": abs(med - float(t["value"])),
                     "q10": float(np.quantile(sample, 0.1)),
                     "q90": float(np.quantile(sample, 0.9))})
    return rows


def score_targets(out: Outcomes, targets: Targets, theatre: Theatre, rng: np.random.Generator,
                  naive: NaiveForecast | None = None) -> pd.DataFrame:
    """One row per target (columns: ``group, name, date, phase, kind, weight, score,
    score_days, naive_score`` and diagnostics); ``rng`` randomises the PIT."""
    naive_day = None if naive is None else naive.days(out.horizon)
    rows = []
    for group in ("captures", "recaptures", "retakes"):
        rows += _dated(out, getattr(targets, group), group, naive_day, rng)
    rows += _counts(out, targets.counts, locality_weight(theatre), naive_day)
    rows += _end_state(out, targets.end_state, naive_day)
    rows += _territory(out, targets.territory, idlib_mask(theatre), naive_day)
    return pd.DataFrame(rows)
