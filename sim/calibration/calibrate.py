"""``idlib-sim calibrate``: the moving-front model's posterior by ABC-SMC on the whole record.

Steps (each cached in the run folder under a key of its inputs, so an interrupted run resumes
where it stopped and a changed setting recomputes what it affects: :mod:`.cache`):

1. **Targets** from the record (:mod:`.targets`) and the naive benchmark (constant advance speed
   along the graph from the 18 Dec front, fitted to the point-date capture targets it is
   compared on).
2. **Posterior**: ABC-SMC (:mod:`.abc`) over the dimensions of :data:`.space.SPACE` (priors
   through the unit cube), distance = the whole-record objective (:mod:`.objective`) of
   ``posterior.replicas`` replicas at a fresh seed. ``posterior.samples`` draws resampled from
   the final weighted population are written to ``posterior_samples.csv``.
3. **Hold-out**: the same ABC-SMC on the targets dated up to ``holdout.last_in_sample`` only; its
   posterior predictive forecasts the later targets.
4. **Scores** of the posterior predictive (``predictive.draws`` posterior draws x
   ``predictive.replicas_per_draw`` replicas, each draw its own seed), in sample and hold-out,
   with the naive benchmark and the goals of issue 11 (:mod:`.predictive`); the posterior
   median as a fixed point beside them.
5. **Simulation-based calibration** (:mod:`.sbc`, :mod:`.sbcrun`), if ``sbc.enabled``.
6. Plots, ``fitted_overrides.yaml`` (posterior medians) and ``scores.json`` (last).

Why no Optuna point fit or Morris screening any more: the posterior median is the point
estimate and the ABC generations already search the space; screening chose which dimensions
to fit, and with priors on every dimension an uninformative one simply keeps its prior (the
posterior shows that), so nothing is gained by freezing it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.calibration import space
from sim.calibration.cache import RunFolder, content_key
from sim.calibration.config import CalibrationConfig, check_name, load_config
from sim.calibration.evaluate import fit_naive, naive_distances
from sim.calibration.model import CampaignFactory, simulate, simulate_predictive
from sim.calibration.objective import Simulated
from sim.calibration.predictive import goals, score, scores
from sim.calibration.scorecard import strict
from sim.calibration.steps import (
    Evaluator,
    abc_posterior,
    csv_text,
    resample,
    weighted_quantile,
)
from sim.calibration.targets import Targets, build_targets
from sim.errors import IdlibSimError
from sim.outputs import atomic_write_text
from sim.scenario import load_scenario

if TYPE_CHECKING:
    from sim.calibration.workers import Workers

__all__ = ["CalibrationConfig", "calibrate", "load_config", "naive_distances", "scores"]


def _log(msg: str, progress: bool) -> None:
    if progress:
        print(f"[calibrate {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def targets_digest(targets: Targets) -> str:
    """SHA-256 of every table of ``targets`` (as CSV), for cache keys."""
    h = hashlib.sha256()
    for f in dataclasses.fields(targets):
        value = getattr(targets, f.name)
        h.update(f.name.encode())
        h.update(csv_text(value).encode() if isinstance(value, pd.DataFrame)
                 else repr(value).encode())
    return h.hexdigest()


def _space(names: list[str]) -> list[list[Any]]:
    return [[d.name, d.low, d.high, d.prior.kind, d.prior.a, d.prior.b]
            for d in space.dims(names)]


def calibrate(config_path: str | Path, out_root: str | Path = "calibration/results",
              run: str | None = None, progress: bool = True, workers: int | None = 1,
              scheduler: Any = None) -> Path:
    """Run (or resume) a calibration; returns the results folder ``out_root/run``.

    ``workers`` processes (``None``: all cores) or a Dask ``scheduler`` evaluate the ABC
    particles, the posterior-predictive, hold-out and fixed-point runs and the SBC reference
    table (:mod:`.workers`); every output but the wall time is the same for any of them.

    Raises
    ------
    IdlibSimError
        for a bad config (file, line, field, value), a bad run name, a run folder that is not
        this project's, or one another calibration is working in.
    """
    t0 = time.perf_counter()
    cfg, scenario_path = load_config(config_path)
    if run is not None:
        try:
            check_name(run)
        except ValueError as exc:
            raise IdlibSimError(f"--run: value {run[:80]!r}: {exc}") from None
    name = run or cfg.name
    folder = RunFolder(Path(out_root) / name, lambda m: _log(m, progress))
    folder.check_usable()  # before any work
    base = load_scenario(scenario_path)
    factory = CampaignFactory(base)
    targets = build_targets(factory.theatre)
    cut = cfg.holdout.last_in_sample
    early, late = targets.until(cut), targets.after(cut)
    for side, t in (("on or before", early), ("after", late)):
        if len(t.captures) == 0:
            raise IdlibSimError(f"{config_path}: field 'holdout.last_in_sample': value "
                                f"'{cut}': no capture target dated {side} it")
    with folder.locked():
        from sim.parallel import default_workers

        if scheduler is None and (default_workers() if workers is None else workers) == 1:
            return _calibrate(cfg, scenario_path, folder, base.digest(), factory, targets,
                              early, late, name, progress, t0, None)
        from sim.calibration.workers import Workers

        wk = Workers(factory, {"posterior": targets, "holdout": early},
                     cfg.posterior.replicas, workers, scheduler)
        _log(f"{wk.workers} workers", progress)
        try:
            return _calibrate(cfg, scenario_path, folder, base.digest(), factory, targets,
                              early, late, name, progress, t0, wk)
        finally:
            wk.close()


def _calibrate(cfg: CalibrationConfig, scenario_path: Path, folder: RunFolder, digest: str,
               factory: CampaignFactory, targets: Targets, early: Targets, late: Targets,
               name: str, progress: bool, t0: float, wk: Workers | None) -> Path:
    out = folder.path
    atomic_write_text(out / "config.json", cfg.model_dump_json(indent=2) + "\n")
    theatre = factory.theatre
    horizon = (factory.end - factory.start).days
    _log(f"{len(targets.captures)} capture targets, {len(targets.recaptures)} recapture "
         f"targets, {len(targets.retakes)} retakings, {len(targets.counts)} counts, "
         f"{len(targets.end_state)} end states, {len(targets.territory)} territory figures",
         progress)
    for fname, df in (("targets_captures", targets.captures),
                      ("targets_recaptures", targets.recaptures),
                      ("targets_territory", targets.territory)):
        atomic_write_text(out / f"{fname}.csv", csv_text(df))

    def log(msg: str) -> None:
        _log(msg, progress)

    names = list(cfg.dims) if cfg.dims is not None else list(space.NAMES)
    fixed = factory.base_values([n for n in space.NAMES if n not in names])
    common = {"scenario_sha256": digest, "seed": cfg.seed, "space": _space(names),
              "fixed": fixed, "posterior": cfg.posterior.model_dump()}
    keys: dict[str, str] = {}
    evs: list[Evaluator] = []

    def evaluator(step: str, t: Targets, inputs: dict[str, Any]) -> Evaluator:
        key = content_key(inputs)
        keys[step] = key
        ev = Evaluator(factory, t, cfg.posterior.replicas, lambda: folder.count(step, key))
        evs.append(ev)
        return ev

    def sim_fixed(values: dict[str, float], n: int, seed: int) -> Simulated:
        return simulate(factory, values, n, seed) if wk is None else wk.simulate(values, n,
                                                                                  seed)

    def sim_pred(draws: list[dict[str, float]], r: int, seed: int) -> Simulated:
        return (simulate_predictive(factory, draws, r, seed) if wk is None
                else wk.predictive(draws, r, seed))

    # 2. the posterior on the whole record
    post_in = {**common, "targets_sha256": targets_digest(targets)}
    pop, gens = abc_posterior(evaluator("posterior", targets, post_in), names, fixed, cfg,
                              folder, "posterior", post_in, cfg.seed + 1, log, wk)
    samples = resample(pop, names, cfg.posterior.samples, np.random.default_rng(cfg.seed + 3))
    # 3. the hold-out posterior on the early targets
    ho_pop = ho_gens = None
    if cfg.holdout.enabled:
        ho_in = {**common, "targets_sha256": targets_digest(early)}
        ho_pop, ho_gens = abc_posterior(evaluator("holdout", early, ho_in), names, fixed, cfg,
                                        folder, "holdout", ho_in, cfg.seed + 2, log, wk)

    # 4. posterior predictive scores on fresh seeds
    k, r = cfg.predictive.draws, cfg.predictive.replicas_per_draw
    score_seed = cfg.seed + 7
    draws = _draws(samples.iloc[:k], fixed)
    naive = fit_naive(theatre, targets, horizon)
    sim_in = sim_pred(draws, r, score_seed)
    terms_in, s_in = score(sim_in, targets, naive, cfg.seed)
    log(f"posterior predictive ({k} draws x {r} replicas): CRPS "
        f"{s_in['dated']['overall']['crps_days']:.2f} days, objective "
        f"{s_in['objective_days']:.2f}")
    medians = {c: weighted_quantile(pop[c], pop["weight"], 0.5) for c in names}
    sim_med = sim_fixed({**fixed, **medians}, k * r, score_seed)
    _, s_med = score(sim_med, targets, naive, cfg.seed)
    prior_draws = space.sample_prior(space.dims(names), k, np.random.default_rng(cfg.seed + 5))
    sim_prior = sim_pred([{**fixed, **dict(zip(names, map(float, row), strict=True))}
                          for row in prior_draws], r, score_seed)
    _, s_prior = score(sim_prior, targets, naive, cfg.seed)
    sim_def = sim_fixed(factory.base_values(names) | fixed, k * r, score_seed)
    _, s_def = score(sim_def, targets, naive, cfg.seed)
    atomic_write_text(out / "terms_in_sample.csv", csv_text(terms_in))
    holdout: dict[str, Any] | None = None
    terms_ho = None
    if ho_pop is not None and ho_gens is not None:
        ho_samples = resample(ho_pop, names, k, np.random.default_rng(cfg.seed + 4))
        sim_ho = sim_pred(_draws(ho_samples, fixed), r, score_seed)
        naive_early = fit_naive(theatre, early, horizon)  # the forecast may not see late dates
        terms_ho, s_ho = score(sim_ho, late, naive_early, cfg.seed)
        _, s_ho_in = score(sim_ho, early, naive_early, cfg.seed)
        atomic_write_text(out / "terms_holdout.csv", csv_text(terms_ho))
        atomic_write_text(out / "holdout_generations.csv", csv_text(ho_gens))
        holdout = {"last_in_sample": str(cfg.holdout.last_in_sample),
                   "in_sample": s_ho_in, "forecast": s_ho,
                   "posterior_median": {c: weighted_quantile(ho_pop[c], ho_pop["weight"], 0.5)
                                        for c in names},
                   "abc": _abc_summary(ho_gens)}
        log(f"hold-out forecast: CRPS {s_ho['dated']['overall']['crps_days']:.2f} days")

    # 5. simulation-based calibration
    sbc: dict[str, Any] | None = None
    if cfg.sbc.enabled:
        from sim.calibration.sbcrun import sbc_step

        eps = float(gens["epsilon"].iloc[-1]) if len(gens) > 1 else float(
            pop["distance"].max())
        sbc_in = {**common, "targets_sha256": targets_digest(targets),
                  "sbc": cfg.sbc.model_dump(), "eps": eps}
        key = content_key(sbc_in)
        keys["sbc"] = key
        sbc = sbc_step(factory, targets, names, fixed, eps, cfg, folder, sbc_in, log,
                       on_call=lambda: folder.count("sbc", key), wk=wk)

    # 6. outputs
    by_step = folder.evaluations(keys)
    result = {
        "run": name,
        "model": "moving-front (sim/model/front_*.py)",
        "fitted_dims": names,
        "fixed": fixed,
        "predictive": {"draws": k, "replicas_per_draw": r, "seed": score_seed},
        "naive_speed_km_per_day": naive.speed,
        **s_in,
        "goals": goals(s_in, None if holdout is None else holdout["forecast"]),
        "posterior": {c: {"median": medians[c],
                          "q05": weighted_quantile(pop[c], pop["weight"], 0.05),
                          "q95": weighted_quantile(pop[c], pop["weight"], 0.95),
                          "prior_low": d.low, "prior_high": d.high}
                      for c, d in zip(names, space.dims(names), strict=True)},
        "abc": _abc_summary(gens),
        "holdout": holdout,
        "posterior_median_point": s_med,
        "prior_predictive": s_prior,
        "defaults": s_def,
        "sbc": sbc,
        "evaluations": sum(by_step.values()),
        "evaluations_by_step": by_step,
        "evaluations_this_process": sum(e.calls for e in evs),
        "wall_time_s": round(time.perf_counter() - t0, 1),
    }
    note = (f"Calibrated by `idlib-sim calibrate` run {name} on {dt.date.today().isoformat()}: "
            "posterior medians (scores.json beside this file).")
    atomic_write_text(out / "fitted_overrides.yaml", space.overrides_yaml(
        medians, scenario_path, (out / "fitted_overrides.yaml").resolve(), note))
    atomic_write_text(out / "posterior_samples.csv", _samples_csv(samples, name, cfg, gens))
    atomic_write_text(out / "abc_generations.csv", csv_text(gens))
    if cfg.plots:
        from sim.calibration.figures import draw_all

        draw_all(out, theatre, factory.start, horizon, terms_in, terms_ho, pop, names,
                 sim_in, targets, gens, modifiers=factory.modifiers)
    # last: a complete scores.json means the run finished
    atomic_write_text(out / "scores.json",
                      json.dumps(strict(result), indent=2, default=_json) + "\n")
    _log(f"done in {time.perf_counter() - t0:.0f} s -> {out}", progress)
    return out


def _draws(samples: pd.DataFrame, fixed: dict[str, float]) -> list[dict[str, float]]:
    """One value mapping per row of ``samples``, with the fixed dimensions added."""
    return [{**fixed, **{str(c): float(v) for c, v in row.items()}}
            for row in samples.to_dict(orient="records")]


def _abc_summary(gens: pd.DataFrame) -> dict[str, Any]:
    return {"generations": len(gens), "final_epsilon_days": float(gens["epsilon"].iloc[-1]),
            "simulations": int(gens["simulations"].sum()),
            "final_acceptance_rate": float(gens["acceptance_rate"].iloc[-1]),
            "final_ess": float(gens["ess"].iloc[-1])}


def _samples_csv(samples: pd.DataFrame, name: str, cfg: CalibrationConfig,
                 gens: pd.DataFrame) -> str:
    """``posterior_samples.csv``: ``#`` provenance lines, then the samples (one row each)."""
    head = [
        f"# posterior samples of the moving-front model: idlib-sim calibrate run {name}",
        f"# {len(samples)} draws with replacement from the final weighted ABC-SMC population "
        f"({cfg.posterior.particles} particles, {len(gens)} generations, final tolerance "
        f"{float(gens['epsilon'].iloc[-1]):.3f} days of the whole-record objective)",
        f"# seed {cfg.seed}; columns: FrontParams fields and modifiers.<name>.<parameter>",
    ]
    return "\n".join(head) + "\n" + csv_text(samples.round(8))


def _json(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    return str(x)
