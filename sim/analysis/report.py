"""Per-target score tables of first-capture days and their weighted summaries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from sim.analysis.ecdf import (
    as_days,
    as_y,
    censored_cdf,
    check_horizon,
    crps_from_cdf,
    pit_from_cdf,
    quantiles_from_cdf,
)


def score_table(days: ArrayLike, y: ArrayLike, horizon: int, rng: np.random.Generator, *,
                names: Sequence[str] | None = None, phase: ArrayLike | None = None,
                weight: ArrayLike | None = None) -> pd.DataFrame:
    """Per-target scores and diagnostics of an ensemble of first-capture days.

    Parameters
    ----------
    days : array_like of int, shape (n, m) (or (n,) for one target)
        First-capture days; -1 = never.
    y : array_like of int, shape (m,)
        Recorded days; -1 = not captured within the window.
    horizon : int
        Number of days in the scored window.
    rng : numpy.random.Generator
        Randomisation of the PIT (one uniform per target).
    names : sequence of str, optional
        Target names; the column index by default.
    phase, weight : array_like, shape (m,), optional
        Carried into columns of the same name (used by :func:`summarise`).

    Returns
    -------
    pandas.DataFrame
        One row per target, columns ``town, y, crps_days, abs_err_median_days, median_day, q10,
        q90, pit, in50, in80, p_captured`` and ``phase`` / ``weight`` if given. ``median_day``,
        ``q10`` and ``q90`` are ``inf`` where the quantile is "never"; ``p_captured`` is
        ``F(horizon - 1)``.
    """
    h = check_horizon(horizon)
    d, _ = as_days(days, h)
    m = d.shape[1]
    yy = as_y(np.asarray(y).ravel(), m, False, h)
    F = censored_cdf(d, h)
    q = quantiles_from_cdf(F, np.array([0.1, 0.25, 0.5, 0.75, 0.9]))
    obs = np.where(yy >= h, np.inf, yy.astype(np.float64))
    # The 50 % and 80 % intervals computed as in interval_coverage: (1 -+ level) / 2.
    lo50, hi50, lo80, hi80 = quantiles_from_cdf(
        F, np.array([(1 - 0.5) / 2, (1 + 0.5) / 2, (1 - 0.8) / 2, (1 + 0.8) / 2]))
    cols: dict[str, Any] = {
        "town": list(names) if names is not None else list(range(m)),
        "y": np.broadcast_to(np.asarray(y), (m,)).copy(),
        "crps_days": crps_from_cdf(F, yy),
        "abs_err_median_days": np.abs(np.minimum(q[2], h) - yy),
        "median_day": q[2],
        "q10": q[0],
        "q90": q[4],
        "pit": pit_from_cdf(F, yy, rng.random((m,))),
        "in50": (lo50 <= obs) & (obs <= hi50),
        "in80": (lo80 <= obs) & (obs <= hi80),
        "p_captured": F[:, -1],
    }
    if phase is not None:
        cols["phase"] = list(np.asarray(phase).ravel())
    if weight is not None:
        cols["weight"] = np.asarray(weight, dtype=np.float64).ravel()
    for key, val in cols.items():
        if len(val) != m:
            raise ValueError(f"{key} has {len(val)} entries for {m} targets")
    return pd.DataFrame(cols)


def _weighted(values: NDArray[np.float64], w: NDArray[np.float64]) -> float:
    total = w.sum()
    return float((w * values).sum() / total) if total > 0 else float("nan")


def _summary(table: pd.DataFrame, w: NDArray[np.float64],
             naive: NDArray[np.float64] | None) -> dict[str, Any]:
    crps = _weighted(table["crps_days"].to_numpy(np.float64), w)
    out: dict[str, Any] = {
        "crps_days": crps,
        "mae_days": _weighted(table["abs_err_median_days"].to_numpy(np.float64), w),
        "coverage_50": _weighted(table["in50"].to_numpy(np.float64), w),
        "coverage_80": _weighted(table["in80"].to_numpy(np.float64), w),
        "n_targets": len(table),
    }
    if naive is not None:
        ref = _weighted(naive, w)
        out["crps_naive_days"] = ref
        # Skill is undefined against a perfect (or unweighted) benchmark.
        out["skill_vs_naive"] = 1.0 - crps / ref if ref > 0 else float("nan")
    return out


def summarise(table: pd.DataFrame, naive_crps: ArrayLike | None = None) -> dict[str, Any]:
    """Weighted means of a :func:`score_table`, overall and by phase.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`score_table`. A ``weight`` column (``>= 0``) weights the means, otherwise
        all targets count equally.
    naive_crps : array_like of float, shape (len(table),), optional
        The naive benchmark's CRPS of each row (:func:`naive_crps`), in row order.

    Returns
    -------
    dict
        ``crps_days``, ``mae_days`` (mean ``abs_err_median_days``), ``coverage_50``,
        ``coverage_80`` (means of ``in50``, ``in80``), ``n_targets``; with ``naive_crps``, also
        ``crps_naive_days`` and ``skill_vs_naive = 1 - crps_days / crps_naive_days`` (``nan`` if
        the benchmark scores 0); with a ``phase`` column, ``by_phase``: ``{str(phase): {same
        keys, computed within the phase}}`` in order of first appearance. Values are plain Python
        floats and ints (JSON-serialisable; ``nan`` where a phase's weights sum to 0).
    """
    if len(table) == 0:
        raise ValueError("empty score table")
    if "weight" in table:
        w = table["weight"].to_numpy(np.float64)
        if not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
            raise ValueError("weights must be finite, >= 0 and not all 0")
    else:
        w = np.ones(len(table))
    naive = None
    if naive_crps is not None:
        naive = np.asarray(naive_crps, dtype=np.float64).ravel()
        if naive.size != len(table):
            raise ValueError(f"naive_crps has {naive.size} entries for {len(table)} targets")
    out = _summary(table, w, naive)
    if "phase" in table:
        phases = table["phase"].to_numpy()
        by: dict[str, Any] = {}
        for p in pd.unique(table["phase"]):
            sel = phases == p
            by[str(p)] = _summary(table[sel], w[sel], None if naive is None else naive[sel])
        out["by_phase"] = by
    return out
