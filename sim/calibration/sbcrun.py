"""The simulation-based calibration step of ``idlib-sim calibrate`` on the front model
(method and caveats: :mod:`sim.calibration.sbc`); cached in the run folder."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.calibration import space
from sim.calibration.cache import RunFolder
from sim.calibration.config import CalibrationConfig
from sim.calibration.model import CampaignFactory, draw_seeds, simulate
from sim.calibration.objective import Simulated, objective, term_scores
from sim.calibration.sbc import run_sbc, synthetic_targets
from sim.calibration.steps import csv_text
from sim.calibration.targets import Targets
from sim.outputs import atomic_write_text

if TYPE_CHECKING:
    from sim.calibration.workers import Workers

FILES = ["sbc_ranks.csv", "sbc_uniformity.csv", "sbc_coverage.csv", "sbc_reference.csv"]


def sbc_step(factory: CampaignFactory, targets: Targets, names: list[str],
             fixed: dict[str, float], eps: float, cfg: CalibrationConfig, folder: RunFolder,
             inputs: dict[str, Any], log: Callable[[str], None],
             on_call: Callable[[], None] | None = None, wk: Workers | None = None
             ) -> dict[str, Any]:
    """Run (or reuse) the SBC; returns its summary for scores.json. ``wk``: run the reference
    table's simulations on these workers (the same seeds: the same result)."""
    out = folder.path
    if folder.reuse("sbc", inputs, FILES):
        tables = [pd.read_csv(out / f) for f in FILES]
        return summary(tables[0], tables[1], tables[2], tables[3])
    ds = space.dims(names)
    rng = np.random.default_rng([cfg.seed, 11])
    n_ref, n_truth, reps = cfg.sbc.reference, cfg.sbc.truths, cfg.posterior.replicas
    theta = space.sample_prior(ds, n_ref + n_truth, rng)
    seeds = draw_seeds(cfg.seed + 11, n_ref + n_truth)

    def run(i: int, n: int) -> Simulated:
        vals = {**fixed, **dict(zip(names, map(float, theta[i]), strict=True))}
        sim = simulate(factory, vals, n, int(seeds[i]))
        if on_call is not None:
            on_call()
        return sim

    if wk is None:
        reference = [run(i, reps) for i in range(n_ref)]
    else:
        reference = wk.simulate_many(
            [({**fixed, **dict(zip(names, map(float, theta[i]), strict=True))}, int(seeds[i]),
              reps) for i in range(n_ref)])
        for _ in reference:
            if on_call is not None:
                on_call()
    log(f"sbc: reference table of {n_ref} prior simulations done")
    rng0 = np.random.default_rng(0)

    def distance(sim: Simulated, rec: Targets) -> float:
        return objective(term_scores(sim, rec, rng0))

    # the share of the prior within the fit's final tolerance of the real record
    d_real = np.array([distance(s, targets) for s in reference])
    share = float((d_real <= eps).mean())
    n_accept = max(cfg.sbc.min_accepted, round(share * n_ref))
    records = [synthetic_targets(targets, run(n_ref + i, 1), 0) for i in range(n_truth)]
    table, unif, cov = run_sbc(
        reference, theta[:n_ref], theta[n_ref:], records, distance, n_accept, names,
        np.random.default_rng([cfg.seed, 12]),
        progress=lambda i: log(f"sbc: record {i + 1}/{n_truth} fitted") if (i + 1) % 10 == 0
        else None)
    ref = pd.DataFrame({"distance_to_record": d_real, "eps_fit": eps, "share_within": share,
                        "n_accept": n_accept})
    for f, df in zip(FILES, (table, unif, cov, ref), strict=True):
        atomic_write_text(out / f, csv_text(df))
    if cfg.plots:
        from sim.calibration.figures import draw_sbc

        draw_sbc(out, table, names, n_accept)
    folder.record("sbc", inputs)
    return summary(table, unif, cov, ref)


def summary(table: pd.DataFrame, unif: pd.DataFrame, cov: pd.DataFrame,
            ref: pd.DataFrame) -> dict[str, Any]:
    """The SBC figures for scores.json."""
    return {
        "truths": len(table), "reference": len(ref),
        "accepted_per_record": int(ref["n_accept"].iloc[0]),
        "share_of_prior_within_fit_tolerance": float(ref["share_within"].iloc[0]),
        "fit_tolerance_days": float(ref["eps_fit"].iloc[0]),
        "uniformity": unif.drop(columns=["counts"], errors="ignore").to_dict(orient="records"),
        "coverage": cov.to_dict(orient="records"),
        "params_ks_p_below_0.05": [str(p) for p in unif.loc[unif["ks_p"] < 0.05, "param"]],
        "mean_coverage_50": float(cov["cover_50"].mean()),
        "mean_coverage_80": float(cov["cover_80"].mean()),
    }
