"""Paired counterfactual comparison of two scenarios with common random numbers.

Both scenarios run on the front model's batch core with the same seed and the same blocks of
replicas, so replica ``i`` of A and replica ``i`` of B share every random draw that the lever
between them does not touch, and, when they name a posterior, the same posterior row (both must
name the same samples, or neither: else the pairing breaks). The per-replica differences B - A
are therefore nearly free of noise, and their means get confidence intervals from the paired
sample (normal approximation, 95 %).

If the two periods differ, both run to the later end (they must start on the same day): the
shorter scenario keeps its own modifiers past its end (e.g. the baseline's Moscow ceasefire, a
pause, freezes the front after 6 Mar).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim.displacement.tables import PairedDisplacement, displacement_summary
from sim.errors import ScenarioError
from sim.model.campaign import FrontCampaign, make_front_campaign
from sim.model.posterior import Posterior
from sim.outputs import atomic_dir, write_manifest
from sim.results import state_days
from sim.run import build_campaign
from sim.scenario import Scenario
from sim.theatre.theatre import Theatre

Z95 = 1.959963984540054


def key_date_sets(theatre: Theatre) -> dict[str, list[int]]:
    """The key dates a comparison reports: Saraqib, Idlib city, and the whole M5 held.

    "M5 fully held" means every M5 town is government-held except towns protected by a Turkish
    post standing in them (Maar Hattat): the record calls the M5 held on 11 Feb while that post
    was encircled, not taken."""
    protected = {int(t) for t, p in zip(theatre.post_town, theatre.tables.posts, strict=True)
                 if p.at_node}
    m5 = [t for t in theatre.roads.get("M5", []) if t not in protected]
    return {
        "Saraqib": [theatre.resolve("Saraqib")],
        "Idlib city": [theatre.resolve("Idlib")],
        "M5 fully held": m5,
    }


def _extend(c: FrontCampaign, end: Any) -> FrontCampaign:
    return c if c.end == end else make_front_campaign(c.theatre, c.forces, c.params,
                                                      c.modifiers, c.start, end, c.orders)


def shared_posterior(a: Scenario, b: Scenario) -> Posterior | None:
    """The posterior both scenarios name (the same samples), or ``None`` if neither names one.

    Raises
    ------
    ScenarioError
        if only one names a posterior, or they name different samples."""
    pa, pb = a.posterior_samples(), b.posterior_samples()
    if pa is None and pb is None:
        return None
    if pa is None or pb is None or pa.digest() != pb.digest():
        def says(s: Scenario, p: Posterior | None) -> str:
            return "no posterior" if p is None else f"posterior {s.posterior!r}"

        raise ScenarioError(
            f"{b.source_file}: field 'posterior': {a.source_file} has {says(a, pa)}, "
            f"{b.source_file} has {says(b, pb)}: a paired comparison needs both to name the "
            "same posterior samples, or neither (set 'posterior' in both, or 'posterior: null')")
    return pa


@dataclass
class _Paired:
    """Streaming sums of paired differences."""

    n: int = 0
    s1: NDArray[np.float64] | None = None
    s2: NDArray[np.float64] | None = None

    def add(self, diff: NDArray[np.floating]) -> None:
        d = diff.astype(np.float64)
        if self.s1 is None or self.s2 is None:
            self.s1, self.s2 = d.sum(axis=0), (d * d).sum(axis=0)
        else:
            self.s1 += d.sum(axis=0)
            self.s2 += (d * d).sum(axis=0)
        self.n += len(d)

    def mean_ci(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        assert self.s1 is not None and self.s2 is not None
        mean = self.s1 / self.n
        var = np.maximum(self.s2 / self.n - mean**2, 0.0) * self.n / max(self.n - 1, 1)
        half = Z95 * np.sqrt(var / self.n)
        return mean, mean - half, mean + half


@dataclass
class Comparison:
    """Results of :func:`compare` (tables are plain data; see :func:`write_comparison`)."""

    a: str
    b: str
    n: int
    seed: int
    towns: pd.DataFrame
    """``town, p_A, p_B, diff, ci_low, ci_high``: P(government holds the town at the end)."""
    territory: pd.DataFrame
    """Per date: mean and CI of the paired difference in government-held area (km², B - A), and
    quantiles of the per-replica difference."""
    key_dates: dict[str, dict[str, Any]]
    wall_s: float
    posterior_sha256: str | None = None
    """Digest of the posterior samples both scenarios drew from (``None``: fixed parameters)."""
    levers: tuple[tuple[str, dt.date], ...] = ()
    """Modifiers that differ between A and B, with the first day they can differ (plots)."""
    displacement: pd.DataFrame | None = None
    """Per date: paired difference of the people displaced (B - A; :mod:`sim.displacement`)."""

    def summary(self) -> dict[str, Any]:
        top = self.towns.reindex(self.towns["diff"].abs().sort_values(ascending=False).index)
        last = self.territory.iloc[-1]
        return {
            "a": self.a, "b": self.b, "replicas": self.n, "seed": self.seed,
            "end": str(last["date"]),
            "territory_diff_km2_at_end": {"mean": float(last["mean_km2"]),
                                          "ci95": [float(last["ci_low_km2"]),
                                                   float(last["ci_high_km2"])]},
            "largest_town_changes": top.head(10).to_dict(orient="records"),
            "key_dates": self.key_dates,
            "displaced_diff_at_end": displacement_summary(self.displacement),
            "posterior_sha256": self.posterior_sha256,
            "wall_time_s": round(self.wall_s, 3),
        }


def compare(a: Scenario, b: Scenario, replicas: int | None = None, seed: int | None = None,
            progress: bool = False, workers: int | None = 1, scheduler: Any = None
            ) -> Comparison:
    """Run ``a`` and ``b`` paired (same seed, same replicas) and summarise B - A.

    ``workers`` processes (``None``: all cores) or a Dask ``scheduler`` run the blocks of pairs
    (:mod:`sim.parallel`); chunks are aggregated in block order, so the results do not depend on
    either."""
    post = shared_posterior(a, b)
    ca, cb = build_campaign(a), build_campaign(b)
    if ca.start != cb.start:
        raise ScenarioError(f"{b.source_file}: field 'period.start': value {str(cb.start)!r}: "
                            f"a paired comparison needs the same start as {a.source_file} "
                            f"({ca.start})")
    end = max(ca.end, cb.end)
    ca, cb = _extend(ca, end), _extend(cb, end)
    n = replicas if replicas is not None else max(a.replicas, b.replicas)
    seed = seed if seed is not None else a.seed
    th = ca.theatre
    keys = key_date_sets(th)
    watch = list(keys.values())
    t0 = time.perf_counter()
    held_a = held_b = None
    terr, towns = _Paired(), _Paired()
    diffs_area: list[NDArray[np.float32]] = []
    kd: dict[str, list[NDArray[np.int16]]] = {"a": [], "b": []}
    from sim.parallel import Progress, map_blocks, pair_job, tasks

    disp = PairedDisplacement(ca)
    bar = Progress(n, len(tasks(n)), unit="pair", desc="compare", show=progress)
    for xa, xb in map_blocks(pair_job, (ca, cb, seed, watch, post), n, workers=workers,
                             scheduler=scheduler, progress=bar):
        d_area = xb.gov_area_km2 - xa.gov_area_km2
        terr.add(d_area)
        diffs_area.append(d_area)
        towns.add((xb.final_control == 1).astype(np.int8) - (xa.final_control == 1))
        held_a = xa.held_count[-1] if held_a is None else held_a + xa.held_count[-1]
        held_b = xb.held_count[-1] if held_b is None else held_b + xb.held_count[-1]
        kd["a"].append(xa.watch_day)
        kd["b"].append(xb.watch_day)
        disp.add(xa.first_capture_day, xb.first_capture_day)
    bar.close()
    assert held_a is not None and held_b is not None
    mean, lo, hi = towns.mean_ci()
    town_df = pd.DataFrame({"town": th.names, "p_A": held_a / n, "p_B": held_b / n,
                            "diff": mean, "ci_low": lo, "ci_high": hi})
    m, m_lo, m_hi = terr.mean_ci()
    allds = np.concatenate(diffs_area)
    qs = np.quantile(allds, [0.05, 0.5, 0.95], axis=0)
    # row i: the state at the end of day i - 1 (row 0: the start), as in every table
    terr_df = state_days(ca.start, ca.n_days).assign(
        mean_km2=m, ci_low_km2=m_lo, ci_high_km2=m_hi, q05_km2=qs[0], q50_km2=qs[1],
        q95_km2=qs[2])
    wa, wb = np.concatenate(kd["a"]), np.concatenate(kd["b"])
    key = {name: _key_date(wa[:, j], wb[:, j], ca) for j, name in enumerate(keys)}
    return Comparison(a.name, b.name, n, seed, town_df, terr_df, key, time.perf_counter() - t0,
                      None if post is None else post.digest(), _levers(ca, cb),
                      disp.table())


def _levers(ca: FrontCampaign, cb: FrontCampaign) -> tuple[tuple[str, dt.date], ...]:
    """Modifiers that differ between the campaigns (added, removed, switched, moved or
    re-parametrised), each with the earlier start of its enabled versions."""
    a, b = ({m.name: m for m in c.modifiers} for c in (ca, cb))
    out = []
    for name in sorted(a.keys() | b.keys()):
        ms = [m for m in (a.get(name), b.get(name)) if m is not None]
        if len(ms) == 2 and ms[0] == ms[1]:
            continue
        starts = [m.start for m in ms if m.enabled]
        if starts:
            out.append((name.replace("_", " "), min(starts)))
    return tuple(sorted(out, key=lambda x: x[1]))


def _key_date(da: NDArray[np.int16], db: NDArray[np.int16], c: FrontCampaign) -> dict[str, Any]:
    """Reached-by-the-end probabilities, median dates, and the paired difference in days where
    both scenarios reached it (replicas that never reach it are censored, not averaged)."""
    def date(x: float) -> str | None:
        return None if np.isnan(x) else (c.start + dt.timedelta(days=int(x))).isoformat()

    ra, rb = da >= 0, db >= 0
    both = ra & rb
    out: dict[str, Any] = {
        "p_reached_A": float(ra.mean()), "p_reached_B": float(rb.mean()),
        "median_date_A": date(float(np.median(da[ra]))) if ra.any() else None,
        "median_date_B": date(float(np.median(db[rb]))) if rb.any() else None,
        "n_both": int(both.sum()),
    }
    if both.sum() >= 2:
        dd = (db[both] - da[both]).astype(np.float64)
        half = Z95 * dd.std(ddof=1) / np.sqrt(len(dd))
        out["mean_days_B_minus_A"] = float(dd.mean())
        out["ci95_days"] = [float(dd.mean() - half), float(dd.mean() + half)]
    p = ra.mean() - rb.mean()
    dr = rb.astype(np.int8) - ra
    half = Z95 * dr.std(ddof=1) / np.sqrt(len(dr)) if len(dr) > 1 else 0.0
    out["diff_p_reached"] = float(-p)
    out["diff_p_reached_ci95"] = [float(-p - half), float(-p + half)]
    return out


def write_comparison(cmp: Comparison, out: str | Path, theatre: Theatre, plots: bool = True
                     ) -> Path:
    """``summary.json``, ``towns_diff.csv``, ``territory_diff.csv`` and plots, atomically."""
    with atomic_dir(out, kind="comparison") as tmp:
        (tmp / "summary.json").write_text(json.dumps(cmp.summary(), indent=2, default=str) + "\n")
        cmp.towns.to_csv(tmp / "towns_diff.csv", index=False, float_format="%.5f")
        cmp.territory.to_csv(tmp / "territory_diff.csv", index=False, float_format="%.2f")
        if cmp.displacement is not None:
            cmp.displacement.to_csv(tmp / "displacement_diff.csv", index=False,
                                    float_format="%.0f")
        if plots:
            from sim import plots as P

            ax = P.plot_difference_fan(cmp.territory, label=f"{cmp.b} - {cmp.a}",
                                       levers=cmp.levers,
                                       title=f"{cmp.b} - {cmp.a}: paired difference in "
                                             f"government-held area ({cmp.n:,} pairs)")
            P.save(ax, tmp / "territory_diff.png")
            ax = P.plot_theatre(theatre, values=cmp.towns["diff"].to_numpy(), symmetric=True,
                                cbar_label="change in P(government holds the town)",
                                title=f"Change in P(government holds the town) at the end: "
                                      f"{cmp.b} - {cmp.a}")
            P.save(ax, tmp / "towns_diff_map.png")
        write_manifest(tmp, a=cmp.a, b=cmp.b, replicas=cmp.n, seed=cmp.seed,
                       engine="batch", model="front", posterior_sha256=cmp.posterior_sha256,
                       wall_time_s=round(cmp.wall_s, 3))
    return Path(out)
