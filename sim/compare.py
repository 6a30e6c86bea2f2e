"""Paired counterfactual comparison of two scenarios with common random numbers.

Both scenarios run on the front model's batch core with the same seed and the same blocks of
replicas, so replica ``i`` of A and replica ``i`` of B share every random draw that the lever
between them does not touch, and, when they name a posterior, the same posterior row (both must
name the same samples, or neither: else the pairing breaks). The per-replica differences B - A
are therefore nearly free of noise. Means (areas, days) get normal 95 % intervals from the
paired sample; proportions get Wilson intervals and their paired differences Newcombe's (1998)
method 10 (:mod:`sim.analysis.intervals`), which keep a width at p = 0 or 1.

Memory does not grow with the number of replicas (:mod:`sim.comparestats`): blocks are reduced
as they arrive and the per-replica paired values are streamed to ``paired.parquet``.

If the two periods differ, both run to the later end (they must start on the same day): the
shorter scenario keeps its own modifiers past its end (e.g. the baseline's Moscow ceasefire, a
pause, freezes the front after 6 Mar).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.inthist import IntHistogram
from sim.comparestats import AREA_RES_KM2, KeyDates, MeanCI, PairedBinary, PairedWriter
from sim.displacement.tables import PairedDisplacement, displacement_summary
from sim.errors import ScenarioError
from sim.model.campaign import FrontCampaign, make_front_campaign
from sim.model.posterior import Posterior
from sim.outputs import atomic_dir, write_manifest
from sim.results import state_days
from sim.run import build_campaign
from sim.scenario import Scenario
from sim.theatre.theatre import Theatre

PAIRED = "paired.parquet"


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
class Comparison:
    """Results of :func:`compare` (tables are plain data; see :func:`write_comparison`)."""

    a: str
    b: str
    n: int
    seed: int
    towns: pd.DataFrame
    """``town, p_A, p_A_low, p_A_high, p_B, p_B_low, p_B_high, diff, ci_low, ci_high``:
    P(government holds the town at the end), Wilson intervals of each, and the paired
    difference B - A with Newcombe's method-10 interval (95 %)."""
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
    towns_a: pd.DataFrame | None = None
    """Scenario A's own town table (as a run's ``towns.csv``); ``towns_b`` B's."""
    towns_b: pd.DataFrame | None = None
    territory_a: pd.DataFrame | None = None
    """Scenario A's own territory table (as a run's ``territory.csv``); ``territory_b`` B's."""
    territory_b: pd.DataFrame | None = None
    paired_file: Path | None = None
    """``paired.parquet`` streamed during the run (``compare(paired_to=...)``), if any."""

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
            "intervals": "territory and days: normal 95 % CI of the paired mean; territory "
                         f"quantiles: exact, of differences rounded to {AREA_RES_KM2} km2; "
                         "proportions: Wilson; their differences: Newcombe (1998) paired, "
                         "method 10",
            "displaced_diff_at_end": displacement_summary(self.displacement),
            "posterior_sha256": self.posterior_sha256,
            "wall_time_s": round(self.wall_s, 3),
        }


def compare(a: Scenario, b: Scenario, replicas: int | None = None, seed: int | None = None,
            progress: bool = False, workers: int | None = 1, scheduler: Any = None,
            paired_to: str | Path | None = None) -> Comparison:
    """Run ``a`` and ``b`` paired (same seed, same replicas) and summarise B - A.

    ``workers`` processes (``None``: all cores) or a Dask ``scheduler`` run the blocks of pairs
    (:mod:`sim.parallel`); chunks are aggregated in block order, so the results do not depend on
    either. ``paired_to``: stream the per-replica paired values to this parquet file
    (:class:`~sim.comparestats.PairedWriter`)."""
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
    from sim.parallel import Progress, map_blocks, pair_job, tasks
    from sim.run import new_ensemble

    ens_a, ens_b = new_ensemble(ca), new_ensemble(cb)
    disp = PairedDisplacement(ca)
    terr, held, kd = MeanCI(), PairedBinary(), KeyDates(list(keys))
    qhist = IntHistogram(ca.n_days + 1)
    writer = None if paired_to is None else PairedWriter(Path(paired_to), list(keys), th.names)
    bar = Progress(n, len(tasks(n)), unit="pair", desc="compare", show=progress)
    done = 0
    try:
        for xa, xb in map_blocks(pair_job, (ca, cb, seed, watch, post), n, workers=workers,
                                 scheduler=scheduler, progress=bar):
            for ens, x in ((ens_a, xa), (ens_b, xb)):
                ens.add(x.first_capture_day, x.held_count, x.gov_area_km2, x.n_recaptures)
            d_area = xb.gov_area_km2 - xa.gov_area_km2
            terr.add(d_area)
            qhist.add(np.rint(d_area.astype(np.float64) / AREA_RES_KM2).astype(np.int64))
            held.add(xa.final_control == 1, xb.final_control == 1)
            kd.add(xa.watch_day, xb.watch_day)
            disp.add(xa.first_capture_day, xb.first_capture_day)
            if writer is not None:
                writer.add(done, xa, xb)
            done += len(d_area)
    finally:
        if writer is not None:
            writer.close()
        bar.close()
    town_df = pd.DataFrame({"town": th.names, **held.table()})
    m, m_lo, m_hi = terr.mean_ci()
    qs = qhist.quantiles([0.05, 0.5, 0.95]) * AREA_RES_KM2
    # row i: the state at the end of day i - 1 (row 0: the start), as in every table
    terr_df = state_days(ca.start, ca.n_days).assign(
        mean_km2=m, ci_low_km2=m_lo, ci_high_km2=m_hi, q05_km2=qs[0], q50_km2=qs[1],
        q95_km2=qs[2])
    return Comparison(a.name, b.name, n, seed, town_df, terr_df, kd.summary(ca.start),
                      time.perf_counter() - t0, None if post is None else post.digest(),
                      _levers(ca, cb), disp.table(), towns_a=ens_a.town_table(),
                      towns_b=ens_b.town_table(),
                      territory_a=ens_a.territory_table(), territory_b=ens_b.territory_table(),
                      paired_file=None if paired_to is None else Path(paired_to))


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


def run_comparison(a: Scenario, b: Scenario, out: str | Path, theatre: Theatre, *,
                   plots: bool = True, **kw: Any) -> Comparison:
    """:func:`compare` with its outputs written to ``out`` atomically, ``paired.parquet``
    streamed into the new folder as blocks arrive (nothing is left behind on an error)."""
    with atomic_dir(out, kind="comparison") as tmp:
        cmp = compare(a, b, paired_to=tmp / PAIRED, **kw)
        _write(cmp, tmp, theatre, plots)
    cmp.paired_file = Path(out) / PAIRED
    return cmp


def write_comparison(cmp: Comparison, out: str | Path, theatre: Theatre, plots: bool = True
                     ) -> Path:
    """``summary.json``, the tables and plots (and a copy of ``paired.parquet``, if ``cmp``
    streamed one), atomically."""
    with atomic_dir(out, kind="comparison") as tmp:
        if cmp.paired_file is not None and cmp.paired_file.is_file():
            shutil.copyfile(cmp.paired_file, tmp / PAIRED)
        _write(cmp, tmp, theatre, plots)
    return Path(out)


def _write(cmp: Comparison, tmp: Path, theatre: Theatre, plots: bool) -> None:
    """``summary.json``, ``towns_diff.csv``, ``territory_diff.csv``, both scenarios' own
    ``towns_A.csv``, ``towns_B.csv``, ``territory_A.csv``, ``territory_B.csv``, plots and the
    manifest, into ``tmp``."""
    (tmp / "summary.json").write_text(json.dumps(cmp.summary(), indent=2, default=str) + "\n")
    cmp.towns.to_csv(tmp / "towns_diff.csv", index=False, float_format="%.5f")
    cmp.territory.to_csv(tmp / "territory_diff.csv", index=False, float_format="%.2f")
    for side, towns, terr in (("A", cmp.towns_a, cmp.territory_a),
                              ("B", cmp.towns_b, cmp.territory_b)):
        if towns is not None and terr is not None:
            towns.to_csv(tmp / f"towns_{side}.csv", index=False, float_format="%.4f")
            terr.to_csv(tmp / f"territory_{side}.csv", index=False, float_format="%.1f")
    if cmp.displacement is not None:
        cmp.displacement.to_csv(tmp / "displacement_diff.csv", index=False, float_format="%.0f")
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
