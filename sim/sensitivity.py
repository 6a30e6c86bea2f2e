"""``idlib-sim sensitivity``: Sobol indices of four outcomes to the calibrated parameters.

What varies: each calibrated dimension the scenario's posterior has (or those the config
lists), **independently and uniformly** between two quantiles of its posterior samples (2.5 % and
97.5 % by default). The posterior's correlations are ignored (Sobol indices assume independent
inputs): the indices say how much each parameter's *plausible range* moves an outcome, not how
much of the posterior predictive's spread it explains.

Design (Saltelli 2010 via SALib): ``N x (D + 2)`` points of a scrambled Sobol' sequence; at each
point ``replicas`` replicas of the batch core with **the same seed** (common random numbers), so
the outcome is a deterministic function of the parameters and the indices are not inflated by
Monte Carlo noise. The points run in tasks on :func:`sim.parallel.map_blocks` (a task's "block"
index is its index in the list of point groups, see :func:`_points_job`). First-order and total
indices (Jansen / Saltelli estimators) with 95 % bootstrap intervals (SALib, seeded).

Outcomes, each the mean over the ``replicas`` replicas of a point:

``area_km2``
    area taken by the government by the end of 5 Mar (with partial progress).
``p_saraqib_lost_retaken``
    share of replicas in which the opposition retook Saraqib and the government took it back.
``m5_held_day``
    day index (0 = 19 Dec) at whose end the government first holds every M5 town; a replica that
    never does counts as the day after the last (censored; the share censored is reported).
``displaced``
    people displaced by the end of 5 Mar (:mod:`sim.displacement`).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import sobol as sobol_sample

from sim.analyses_config import SensitivityConfig, config_dict, load
from sim.engines.chunk import BLOCK

OUTCOMES = ("area_km2", "p_saraqib_lost_retaken", "m5_held_day", "displaced")
#: Parameter points per task on the workers.
POINTS_PER_TASK = 8

F64 = NDArray[np.float64]


def saltelli_points(lows: F64, highs: F64, n: int, seed: int) -> F64:
    """``(n * (D + 2), D)`` points of the Saltelli design (no second-order terms)."""
    problem = _problem(lows, highs)
    return np.asarray(sobol_sample.sample(problem, n, calc_second_order=False, seed=seed))


def _problem(lows: F64, highs: F64) -> dict[str, Any]:
    d = len(lows)
    return {"num_vars": d, "names": [f"x{i}" for i in range(d)],
            "bounds": [[float(a), float(b)] for a, b in zip(lows, highs, strict=True)]}


def sobol_indices(names: Sequence[str], lows: F64, highs: F64, y: F64, outcomes: Sequence[str],
                  bootstrap: int, seed: int) -> pd.DataFrame:
    """One row per outcome and parameter: ``S1, S1_lo, S1_hi, ST, ST_lo, ST_hi`` (95 % bootstrap
    intervals, SALib's normal interval on the resampled indices). ``y``: ``(points, outcomes)``
    in the order of :func:`saltelli_points`. An outcome that does not vary gets NaN indices."""
    problem = _problem(lows, highs)
    rows = []
    for j, o in enumerate(outcomes):
        col = np.asarray(y[:, j], dtype=np.float64)
        if not np.isfinite(col).all() or np.ptp(col) == 0:
            res = {k: np.full(len(names), np.nan) for k in ("S1", "S1_conf", "ST", "ST_conf")}
        else:
            res = sobol_analyze.analyze(problem, col, calc_second_order=False,
                                        num_resamples=bootstrap, conf_level=0.95, seed=seed)
        for i, name in enumerate(names):
            s1, c1, st, ct = (float(res[k][i]) for k in ("S1", "S1_conf", "ST", "ST_conf"))
            rows.append({"outcome": o, "param": name, "S1": s1, "S1_lo": s1 - c1,
                         "S1_hi": s1 + c1, "ST": st, "ST_lo": st - ct, "ST_hi": st + ct})
    return pd.DataFrame(rows)


# -- the model's outcomes at many parameter points --------------------------------------------
@dataclass(frozen=True)
class _Shared:
    factory: Any
    names: tuple[str, ...]
    points: F64
    seed: int
    replicas: int
    watch: tuple[tuple[int, ...], ...]
    saraqib: int
    layer: Any


def outcomes_of(chunk: Any, n_days: int, saraqib: int, layer: Any) -> F64:
    """The four outcomes (:data:`OUTCOMES`) of one point's chunk of replicas."""
    area = chunk.gov_area_km2[:, -1].astype(np.float64) - chunk.gov_area_km2[:, 0]
    rec = chunk.first_recapture_day[:, saraqib]
    back = (rec >= 0) & (chunk.last_capture_day[:, saraqib] > rec)
    m5 = np.where(chunk.watch_day[:, 0] >= 0, chunk.watch_day[:, 0], n_days).astype(np.float64)
    disp = layer.cumulative(chunk.first_capture_day, n_days)[:, -1]
    return np.array([area.mean(), back.mean(), m5.mean(), disp.mean()])


def _points_job(shared: _Shared, start: int, n: int) -> F64:
    """Points ``k * POINTS_PER_TASK ..`` of task ``k = start // BLOCK``: map_blocks hands out
    ``(start, n)`` of a run of whole blocks, used here as an ordered list of task indices."""
    from sim.engines.batch import run_chunk

    k = start // BLOCK
    pts = shared.points[k * POINTS_PER_TASK:(k + 1) * POINTS_PER_TASK]
    out = []
    for x in pts:  # one batch-core run per point (its replicas are vectorised)
        c = shared.factory(dict(zip(shared.names, map(float, x), strict=True)))
        ch = run_chunk(c, shared.seed, 0, shared.replicas, shared.watch)
        out.append(outcomes_of(ch, c.n_days, shared.saraqib, shared.layer))
    return np.array(out).reshape(len(pts), len(OUTCOMES))


def evaluate(factory: Any, names: Sequence[str], points: F64, seed: int, replicas: int,
             workers: int | None = 1, scheduler: Any = None,
             on_task: Callable[[int], None] | None = None) -> F64:
    """``(points, 4)`` outcomes, each point run with ``replicas`` replicas and seed ``seed``."""
    from sim.displacement import Layer
    from sim.parallel import map_blocks

    th = factory.theatre
    shared = _Shared(factory, tuple(names), np.asarray(points, float), seed, replicas,
                     (tuple(th.roads["M5"]),), th.resolve("Saraqib"), Layer.of(th))
    n_tasks = math.ceil(len(points) / POINTS_PER_TASK)
    parts = []
    for i, part in enumerate(map_blocks(_points_job, shared, n_tasks * BLOCK, workers=workers,
                                        scheduler=scheduler, blocks_per_task=1)):
        parts.append(part)
        if on_task is not None:
            on_task(i + 1)
    return np.concatenate(parts)


@dataclass
class SensitivityResult:
    indices: pd.DataFrame
    ranges: pd.DataFrame
    """``param, low, high``: the range each parameter varied over."""
    n_points: int
    replicas: int
    wall_s: float
    m5_never: float
    """Share of points at which no replica holds the whole M5 by the end (censored)."""


def posterior_ranges(post: Any, names: Sequence[str], q: tuple[float, float]
                     ) -> tuple[F64, F64]:
    """``q`` quantiles of each named column of the posterior samples."""
    idx = [post.names.index(n) for n in names]
    x = post.samples[:, idx]
    return np.quantile(x, q[0], axis=0), np.quantile(x, q[1], axis=0)


def run_sensitivity(config: str | Path, out: str | Path | None, workers: int | None = None,
                    scheduler: Any = None, progress: bool = False) -> SensitivityResult:
    """Run the analysis of ``config`` and write ``sobol_indices.csv``, ``ranges.csv``,
    ``points.csv`` and ``sobol_indices.png`` to ``out`` (atomically)."""
    from sim.calibration.model import CampaignFactory
    from sim.errors import ScenarioError
    from sim.scenario import load_scenario

    cfg, scen_path = load(config, SensitivityConfig)
    scenario = load_scenario(scen_path)
    post = scenario.posterior_samples()
    if post is None:
        raise ScenarioError(f"{config}: field 'scenario': value {cfg.scenario!r}: the scenario "
                            "names no posterior, so there are no posterior ranges to vary over")
    names = list(cfg.params or post.names)
    missing = [n for n in names if n not in post.names]
    if missing:
        raise ScenarioError(f"{config}: field 'params': value {missing[0]!r}: not a column of "
                            f"the scenario's posterior {post.source}")
    t0 = time.perf_counter()
    lows, highs = posterior_ranges(post, names, cfg.range_quantiles)
    fixed = highs <= lows  # a parameter the posterior pins down cannot vary
    if fixed.any():
        raise ScenarioError(f"{config}: field 'params': value {names[int(np.argmax(fixed))]!r}: "
                            "its posterior range is a single value")
    points = saltelli_points(lows, highs, cfg.base_samples, cfg.seed)
    factory = CampaignFactory(scenario)

    def tell(i: int) -> None:
        if progress:
            print(f"[sensitivity {time.strftime('%H:%M:%S')}] task {i}/"
                  f"{math.ceil(len(points) / POINTS_PER_TASK)}", flush=True)

    y = evaluate(factory, names, points, cfg.seed, cfg.replicas,
                 workers=cfg.workers if workers is None else workers, scheduler=scheduler,
                 on_task=tell)
    table = sobol_indices(names, lows, highs, y, OUTCOMES, cfg.bootstrap, cfg.seed)
    wall = time.perf_counter() - t0
    ranges = pd.DataFrame({"param": names, "low": lows, "high": highs,
                           "posterior_median": np.median(
                               post.samples[:, [post.names.index(n) for n in names]], axis=0)})
    n_days = factory({}).n_days
    res = SensitivityResult(table, ranges, len(points), cfg.replicas, wall,
                            float((y[:, 2] >= n_days).mean()))
    if out is not None:
        _write(res, points, y, names, Path(out), cfg)
    return res


def _write(res: SensitivityResult, points: F64, y: F64, names: Sequence[str], out: Path,
           cfg: SensitivityConfig) -> None:
    from sim.outputs import atomic_dir, write_manifest

    with atomic_dir(out, kind="analysis") as tmp:
        res.indices.to_csv(tmp / "sobol_indices.csv", index=False, float_format="%.4f")
        res.ranges.to_csv(tmp / "ranges.csv", index=False, float_format="%.6g")
        pts = pd.DataFrame(points, columns=list(names))
        for j, o in enumerate(OUTCOMES):
            pts[o] = y[:, j]
        pts.to_csv(tmp / "points.csv", index=False, float_format="%.6g")
        from sim import plots as P

        ax = P.plot_indices(res.indices)
        ax.figure.suptitle(f"Sobol indices over the posterior ranges ({res.n_points} points x "
                           f"{res.replicas} replicas; bars: 95 % bootstrap intervals)",
                           fontsize=10)
        P.save(ax, tmp / "sobol_indices.png")
        (tmp / "summary.json").write_text(json.dumps(summary(res), indent=2) + "\n")
        write_manifest(tmp, analysis="sensitivity", config=config_dict(cfg),
                       points=res.n_points, replicas=res.replicas,
                       wall_time_s=round(res.wall_s, 3))


def summary(res: SensitivityResult, top: int = 3) -> dict[str, Any]:
    """Per outcome, the parameters with the largest total index, with their intervals."""
    out: dict[str, Any] = {"points": res.n_points, "replicas_per_point": res.replicas,
                           "evaluations": res.n_points * res.replicas,
                           "wall_time_s": round(res.wall_s, 1),
                           "share_of_points_never_holding_m5": round(res.m5_never, 4)}
    for o, t in res.indices.groupby("outcome", sort=False):
        t = t.sort_values("ST", ascending=False).head(top)
        out[str(o)] = [{k: (round(v, 3) if isinstance(v, float) else v)
                        for k, v in r.items() if k != "outcome"}
                       for r in t.to_dict(orient="records")]
    return out
