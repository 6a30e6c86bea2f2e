"""Simulation-based calibration (Talts et al. 2018, arXiv:1804.06788) of the ABC posterior.

The check: draw a "true" parameter from the prior, simulate a record from it, fit that record,
and find the rank of the truth among the posterior draws. If the fitting procedure returns the
posterior it claims to, the rank is uniform on ``0 .. L`` for every parameter; a U shape means
posteriors too narrow (overconfident), a hump too wide, a slope a bias.

Design, so that it runs in minutes (calibration/README.md, "Simulation-based calibration"):

* **Reference table.** ``N`` parameter points drawn from the prior, each simulated with the same
  number of replicas the ABC distance uses.
* **Synthetic records.** ``M`` more prior draws (the truths); one replica of each becomes a record
  with the structure of the real one (:func:`synthetic_targets`): the same target rows, with the
  replica's dates where the event happened in it (a town that never falls in the replica has no
  capture target, as the article dates only what happened; its end state still says who holds
  it), the replica's window counts, end state and territory.
* **Fit.** Rejection ABC on the reference table with the fit's own distance (the whole-record
  objective): for each record, the ``L`` reference points nearest to it. ``L / N`` is the share
  of the prior whose distance to the *real* record is within the tolerance the main ABC-SMC
  reached (at least ``min_accepted``). Rejection at tolerance ``eps`` and ABC-SMC run down to
  ``eps`` target the same epsilon-posterior ``pi(theta | d(x, y) <= eps)``; SMC only reaches it
  with fewer simulations. So the check is of the approximation the fit makes (distance,
  tolerance, replicas), not of the SMC sampler's mixing (tested in tests/statistical/test_abc.py).

Caveats: an epsilon-posterior is wider than the exact posterior, so a hump (conservative) is
expected to some degree; the truths share one reference table, so their ranks are not
independent and the p-values are approximate; with one test per parameter, a p-value below 0.05
somewhere is expected by chance once in ~1/0.05/n_dims runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from sim.calibration.objective import Simulated
from sim.calibration.targets import Targets, idlib_mask, locality_weight, phase_of
from sim.theatre.theatre import CAMPAIGN_START, GOVERNMENT, Theatre

F64 = NDArray[np.float64]


# -- generic machinery (tested on a toy model in tests/test_sbc.py) ------------------------------

def nearest(dist: F64, k: int) -> NDArray[np.intp]:
    """``(M, k)`` column indices of the ``k`` smallest entries of each row of ``dist`` ``(M, N)``
    (rejection ABC at the tolerance that accepts ``k``)."""
    return np.argsort(dist, axis=1, kind="stable")[:, :k]


def ranks(truths: F64, draws: F64) -> NDArray[np.int64]:
    """``(M, d)`` number of posterior draws below the truth; ``truths`` ``(M, d)``,
    ``draws`` ``(M, L, d)``. Uniform on ``0 .. L`` for a calibrated posterior."""
    return np.asarray((draws < truths[:, None, :]).sum(axis=1), dtype=np.int64)


def rank_pit(r: NDArray[np.int64], n_draws: int, rng: np.random.Generator) -> F64:
    """Ranks on ``0 .. L`` spread to a continuous value in (0, 1): ``(r + V) / (L + 1)`` with
    ``V ~ U(0, 1)``; exactly uniform when the ranks are."""
    return np.asarray((r + rng.random(r.shape)) / (n_draws + 1), dtype=np.float64)


def uniformity(u: F64, names: Sequence[str], bins: int = 5) -> pd.DataFrame:
    """Per parameter: Kolmogorov-Smirnov and chi-square (``bins`` equal bins) tests of
    uniformity of ``u`` ``(M, d)``, and the mean of ``u`` (0.5 if unbiased)."""
    rows = []
    m = len(u)
    for j, name in enumerate(names):
        ks = stats.kstest(u[:, j], "uniform")
        counts = np.histogram(u[:, j], bins=bins, range=(0.0, 1.0))[0]
        chi = stats.chisquare(counts, np.full(bins, m / bins))
        rows.append({"param": name, "n": m, "mean_u": float(u[:, j].mean()),
                     "ks_stat": float(ks.statistic), "ks_p": float(ks.pvalue),
                     "chi2": float(chi.statistic), "chi2_p": float(chi.pvalue),
                     "counts": counts.tolist()})
    return pd.DataFrame(rows)


def coverage(truths: F64, draws: F64, names: Sequence[str],
             levels: Sequence[float] = (0.5, 0.8)) -> pd.DataFrame:
    """Per parameter: share of truths inside the central ``level`` interval of their posterior
    draws (expected: ``level``; binomial sd ``sqrt(level (1 - level) / M)``)."""
    rows = []
    for j, name in enumerate(names):
        row: dict[str, object] = {"param": name, "n": len(truths)}
        for lev in levels:
            lo = np.quantile(draws[:, :, j], (1 - lev) / 2, axis=1)
            hi = np.quantile(draws[:, :, j], (1 + lev) / 2, axis=1)
            t = truths[:, j]
            row[f"cover_{round(lev * 100)}"] = float(((t >= lo) & (t <= hi)).mean())
        rows.append(row)
    return pd.DataFrame(rows)


# -- synthetic records ----------------------------------------------------------------------------

def _date(day: int) -> dt.date:
    return CAMPAIGN_START + dt.timedelta(days=int(day))


def synthetic_targets(template: Targets, sim: Simulated, replica: int) -> Targets:
    """The record replica ``replica`` of ``sim`` would have produced, with the rows, kinds and
    weights of ``template``: dates of the events that happened in it (others dropped), its
    window counts, end state (from its final control) and territory."""
    out = sim.outcomes
    h = out.horizon
    th: Theatre = sim.theatre

    def dated(df: pd.DataFrame) -> pd.DataFrame:
        if not len(df):
            return df.copy()
        days = np.array([out.answer(a)[replica, n] for a, n in
                         zip(df["answered_by"], df["node"], strict=True)], dtype=np.int64)
        keep = (days >= 0) & (days < h)
        d = df[keep].copy()
        d["day"] = days[keep]
        d["date"] = [_date(x) for x in d["day"]]
        d["phase"] = [phase_of(x) for x in d["date"]]
        return d.reset_index(drop=True)

    w = locality_weight(th)
    counts = template.counts.copy()
    if len(counts):
        vals = []
        for _, t in counts.iterrows():
            days = out.first_capture if t["target"] == "captures" else out.first_recapture
            a, b = int(t["start_day"]), min(int(t["end_day"]), h - 1)
            hit = (days[replica] >= a) & (days[replica] <= b)
            vals.append(int(w[hit].sum()))
        counts["value"] = np.array(vals, dtype=np.int64)
    end = template.end_state.copy()
    if len(end):
        if sim.final_control is None:
            raise ValueError("synthetic end state needs the final control of the replica")
        held = sim.final_control[replica, end["node"].to_numpy(int)] == GOVERNMENT
        end["observed"] = held.astype(np.int64)
        end["holder"] = np.where(held, "government", "opposition")
    terr = template.territory.copy()
    if len(terr):
        mask = idlib_mask(th)
        vals_f = []
        for _, t in terr.iterrows():
            d = min(int(t["day"]), h - 1)
            q = str(t["quantity"])
            if q == "share_idlib_pct":
                v = out.share(d, mask)[replica]
            elif q == "captured_area_increment_km2":
                v = out.gained_area(d)[replica] - out.gained_area(d - 1)[replica]
            else:
                v = out.gained_area(d)[replica]
            vals_f.append(float(v))
        terr["value"] = np.array(vals_f)
    return Targets(dated(template.captures), dated(template.recaptures),
                   dated(template.retakes), counts, end, terr, template.left_out.iloc[:0])


# -- the check on the front model -----------------------------------------------------------------

def run_sbc(reference: Sequence[Simulated], ref_theta: F64, truth_theta: F64,
            truth_records: Sequence[Targets], distance: Callable[[Simulated, Targets], float],
            n_accept: int, names: Sequence[str], rng: np.random.Generator,
            progress: Callable[[int], None] | None = None
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rejection ABC of each synthetic record on the reference table.

    Returns the per-truth ranks table (with the PIT-like value ``u`` of each parameter and the
    accepted distance), the uniformity tests and the coverage table.
    """
    m = len(truth_records)
    dist = np.empty((m, len(reference)))
    for i, rec in enumerate(truth_records):
        dist[i] = [distance(s, rec) for s in reference]
        if progress is not None:
            progress(i)
    idx = nearest(dist, n_accept)
    draws = ref_theta[idx]                       # (M, L, d)
    r = ranks(truth_theta, draws)
    u = rank_pit(r, n_accept, rng)
    table = pd.DataFrame(r, columns=[f"rank.{n}" for n in names])
    for j, n in enumerate(names):
        table[f"u.{n}"] = u[:, j]
        table[f"truth.{n}"] = truth_theta[:, j]
    table["eps_accepted"] = np.take_along_axis(dist, idx[:, -1:], axis=1)[:, 0]
    return table, uniformity(u, names), coverage(truth_theta, draws, names)
