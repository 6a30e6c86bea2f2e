"""``idlib-sim calibrate``: screen, fit, sample the posterior, hold out, score, plot.

Steps (each cached in the run folder under a key of its inputs, so an interrupted run resumes
where it stopped and a changed setting recomputes what it affects: :mod:`.cache`):

1. **Targets** from the record (:mod:`.targets`) and the naive benchmark (constant advance speed
   along the graph from the 18 Dec front, fitted to the same point-date targets).
2. **Screening** (SALib Morris elementary effects) over every dimension of :data:`.space.SPACE`;
   the ``always`` dimensions (air support, Turkish intervention) and the ``keep`` others with the
   largest mu* are fitted; the rest stay at their defaults.
3. **Point estimate**: Optuna TPE on the weighted-mean score, with common random numbers (the
   same seed and replicas for every trial, so trials differ by their parameters, not their luck)
   and the defaults enqueued as the first trial. Journal-file storage: resumable.
4. **Posterior**: ABC-SMC (:mod:`.abc`) with the same score as distance, fresh seeds per
   simulation, uniform priors on the bounds.
5. **Hold-out**: the same fit on targets dated up to ``holdout.last_in_sample`` only, then a
   forecast of the later targets.
6. **Scores** of the fitted model on a fresh seed and many replicas, in-sample and hold-out, next
   to the naive benchmark; plots.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import analysis
from sim.calibration import space
from sim.calibration.cache import RunFolder, content_key
from sim.calibration.config import CalibrationConfig, check_name, load_config
from sim.calibration.evaluate import NaiveForecast
from sim.calibration.objective import objective, simulate, term_scores
from sim.calibration.scorecard import strict, summarise_terms
from sim.calibration.steps import Evaluator, csv_text, fit, posterior, screen
from sim.calibration.targets import Targets, build_targets
from sim.errors import IdlibSimError
from sim.outputs import atomic_write_text
from sim.scenario import Scenario, load_scenario
from sim.theatre.theatre import GOVERNMENT, Theatre
from sim.world import default_world

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
    return [[d.name, d.low, d.high, d.log] for d in space.dims(names)]


def naive_distances(theatre: Theatre) -> np.ndarray:
    """Graph distance (km) of every town from the nearest town held on 18 Dec."""
    gov = theatre.initial_control == GOVERNMENT
    return np.asarray(theatre.distance_km[gov].min(axis=0))


def scores(terms: pd.DataFrame) -> dict[str, Any]:
    """Summary scores of a target score table (:mod:`sim.calibration.scorecard`)."""
    out = summarise_terms(terms)
    out["objective_days"] = objective(terms)
    return out


def calibrate(config_path: str | Path, out_root: str | Path = "calibration/results",
              run: str | None = None, progress: bool = True) -> Path:
    """Run (or resume) a calibration; returns the results folder ``out_root/run``.

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
    theatre, _ = default_world()
    targets = build_targets(theatre)
    cut = cfg.holdout.last_in_sample
    early, late = targets.until(cut), targets.after(cut)
    for side, t in (("on or before", early), ("after", late)):
        if len(t.captures) == 0:
            raise IdlibSimError(f"{config_path}: field 'holdout.last_in_sample': value "
                                f"'{cut}': no capture target dated {side} it")
    with folder.locked():
        return _calibrate(cfg, scenario_path, folder, base, theatre, targets, early, late, name,
                          progress, t0)


def _calibrate(cfg: CalibrationConfig, scenario_path: Path, folder: RunFolder, base: Scenario,
               theatre: Theatre, targets: Targets, early: Targets, late: Targets, name: str,
               progress: bool, t0: float) -> Path:
    out = folder.path
    atomic_write_text(out / "config.json", cfg.model_dump_json(indent=2) + "\n")
    horizon = base.period.end.toordinal() - base.period.start.toordinal()
    _log(f"{len(targets.captures)} capture targets, {len(targets.recaptures)} recapture "
         f"targets, {len(targets.territory)} territory targets", progress)
    for fname, df in (("targets_captures", targets.captures),
                      ("targets_recaptures", targets.recaptures),
                      ("targets_territory", targets.territory)):
        atomic_write_text(out / f"{fname}.csv", csv_text(df))

    # naive benchmark: fitted on the same point-date targets
    dist = naive_distances(theatre)
    date_t = targets.captures[targets.captures["kind"] == "date"]
    speed = analysis.fit_naive_speed(dist[date_t["node"].to_numpy(int)],
                                     date_t["day"].to_numpy(int), horizon)

    # cache keys: what each step's result depends on
    common = {"scenario_sha256": base.digest(), "seed": cfg.seed}
    keys: dict[str, str] = {}
    ev = Evaluator(base, targets, cfg.seed, cfg.fit.replicas)

    def log(msg: str) -> None:
        _log(msg, progress)

    def counting(step: str, key: str) -> None:
        keys[step] = key
        ev.on_call = lambda: folder.count(step, key)

    if cfg.dims is None:
        inputs = {**common, "targets_sha256": targets_digest(targets),
                  "screening": cfg.screening.model_dump(exclude={"always", "keep"}),
                  "space": _space([d.name for d in space.SPACE])}
        counting("screening", content_key(inputs))
        scr = screen(ev, cfg, folder, inputs, log)
        always = list(cfg.screening.always)
        rest = [d for d in scr["dim"] if d not in always]
        names = always + rest[: cfg.screening.keep]
    else:
        names = list(cfg.dims)
    fit_inputs = {**common, "targets_sha256": targets_digest(targets),
                  "replicas": cfg.fit.replicas, "space": _space(names)}
    study, key = folder.study("fit", fit_inputs)
    counting("fit", key)
    best, hist = fit(ev, names, cfg.fit.trials, cfg.seed, folder, study, log)
    atomic_write_text(out / "fit_trials.csv", csv_text(hist))
    _log(f"fit: best score {hist['value'].min():.2f} days (defaults: "
         f"{hist['value'].iloc[0]:.2f}) after {len(hist)} trials", progress)
    fixed = {k: v for k, v in best.items() if k not in names}
    post_inputs = {**common, "targets_sha256": targets_digest(targets),
                   "posterior": cfg.posterior.model_dump(), "space": _space(names),
                   "fixed": fixed}
    counting("posterior", content_key(post_inputs))
    post = posterior(ev, names, fixed, cfg, folder, post_inputs, log)

    # hold-out: fit on the early targets only, forecast the later ones
    ev_early = Evaluator(base, early, cfg.seed, cfg.fit.replicas)
    ho_inputs = {**common, "targets_sha256": targets_digest(early),
                 "replicas": cfg.fit.replicas, "space": _space(names)}
    study, key = folder.study("holdout", ho_inputs)
    keys["holdout"] = key
    ev_early.on_call = lambda: folder.count("holdout", key)
    best_early, hist_early = fit(ev_early, names, cfg.holdout.trials, cfg.seed, folder, study,
                                 log)
    atomic_write_text(out / "holdout_trials.csv", csv_text(hist_early))

    # scores on a fresh seed with many replicas
    score_seed = cfg.seed + 7
    fitted = space.apply(base, best)
    sim_fit = simulate(fitted, cfg.score_replicas, score_seed)
    naive = NaiveForecast(dist, speed)
    terms_in = term_scores(sim_fit, targets, np.random.default_rng(cfg.seed), naive)
    sim_ho = simulate(space.apply(base, best_early), cfg.score_replicas, score_seed)
    terms_ho = term_scores(sim_ho, late, np.random.default_rng(cfg.seed), naive)
    terms_in_early = term_scores(sim_ho, early, np.random.default_rng(cfg.seed), naive)
    sim_def = simulate(base, cfg.score_replicas, score_seed)
    terms_def = term_scores(sim_def, targets, np.random.default_rng(cfg.seed), naive)
    atomic_write_text(out / "terms_in_sample.csv", csv_text(terms_in))
    atomic_write_text(out / "terms_holdout.csv", csv_text(terms_ho))
    by_step = folder.evaluations(keys)
    result = {
        "run": name,
        "fitted_dims": names,
        "fitted": best,
        "naive_speed_km_per_day": speed,
        **scores(terms_in),
        "holdout": {
            "last_in_sample": str(cfg.holdout.last_in_sample),
            "fitted": best_early,
            "in_sample": scores(terms_in_early),
            "forecast": scores(terms_ho),
        },
        "defaults": scores(terms_def),
        "posterior": {c: {"mean": float(np.average(post[c], weights=post["weight"])),
                          "q05": float(_wq(post[c], post["weight"], 0.05)),
                          "q95": float(_wq(post[c], post["weight"], 0.95))}
                      for c in names},
        "evaluations": sum(by_step.values()),
        "evaluations_by_step": by_step,
        "evaluations_this_process": ev.calls + ev_early.calls,
        "wall_time_s": round(time.perf_counter() - t0, 1),
    }
    atomic_write_text(out / "fitted_overrides.yaml", space.overrides_yaml(
        best, scenario_path, (out / "fitted_overrides.yaml").resolve(),
        f"Calibrated by `idlib-sim calibrate` run {name} on "
        f"{dt.date.today().isoformat()} (scores.json beside this file)."))
    atomic_write_text(out / "posterior_samples.csv", csv_text(post))
    if cfg.plots:
        _plots(out, theatre, terms_in, hist, post, names, sim_fit, targets, base)
    # last: a complete scores.json means the run finished
    atomic_write_text(out / "scores.json",
                      json.dumps(strict(result), indent=2, default=_json) + "\n")
    _log(f"done in {time.perf_counter() - t0:.0f} s -> {out}", progress)
    return out


def _wq(x: Any, w: Any, q: float) -> float:
    """Weighted quantile (inverse of the weighted ECDF)."""
    xv, wv = np.asarray(x, float), np.asarray(w, float)
    o = np.argsort(xv)
    cw = np.cumsum(wv[o])
    return float(xv[o][np.searchsorted(cw / cw[-1], q)])


def _json(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    return str(x)


def _plots(out: Path, theatre: Theatre, terms: pd.DataFrame, hist: pd.DataFrame,
           post: pd.DataFrame, names: list[str], sim: Any, targets: Targets,
           base: Scenario) -> None:
    from sim import plots

    def _save(ax: Any, path: Path) -> None:  # via a temporary sibling: never a half-written PNG
        tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
        plots.save(ax, tmp)
        os.replace(tmp, path)

    _save(plots.plot_capture_dates(terms, start=base.period.start, horizon=sim.horizon),
               out / "capture_dates.png")
    _save(plots.plot_error_map(theatre, terms), out / "error_map.png")
    _save(plots.plot_bursts(terms), out / "bursts.png")
    _save(plots.plot_end_state(theatre, terms), out / "end_state.png")
    cap = terms[(terms["group"] == "captures") & (terms["kind"] == "date")]
    _save(plots.plot_pit_histogram(cap["pit"].to_numpy(float)), out / "pit_histogram.png")
    from sim.results import Ensemble

    ens = Ensemble(theatre.names, base.period.start, sim.horizon, theatre.theatre_area_km2)
    ens.add(sim.first_days, sim.held_count, sim.gov_area, sim.n_recaptures)
    rec = targets.territory[targets.territory["quantity"] == "captured_area_km2"]
    ax = plots.plot_territory_fan(ens.territory_table(), recorded=rec[["date", "value"]],
                                  label="calibrated")
    ax.set_title("Territory taken by the government: calibrated model and recorded figures")
    _save(ax, out / "territory.png")
    _save(plots.plot_convergence(hist), out / "convergence.png")
    if len(names) >= 1 and len(post):
        fig_ax = plots.plot_posterior_pairs(post, names)
        _save(fig_ax, out / "posterior_pairs.png")
