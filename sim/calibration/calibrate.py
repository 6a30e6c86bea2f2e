"""``idlib-sim calibrate``: screen, fit, sample the posterior, hold out, score, plot.

Steps (each cached in the run directory, so an interrupted run resumes where it stopped):

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

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim import analysis
from sim.calibration import space
from sim.calibration.abc import abc_smc
from sim.calibration.evaluate import NaiveForecast
from sim.calibration.objective import objective, simulate, term_scores
from sim.calibration.scorecard import strict, summarise_terms
from sim.calibration.targets import Targets, build_targets
from sim.errors import ScenarioError, did_you_mean
from sim.scenario import Scenario, load_scenario
from sim.theatre.theatre import GOVERNMENT, Theatre
from sim.world import default_world


class Screening(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trajectories: int = Field(10, ge=2)
    levels: int = Field(4, ge=2)
    always: list[str] = Field(default_factory=lambda: [
        "params.air_effect",
        "modifiers.spring_shield.counterattack_mult",
        "modifiers.spring_shield.drone_attrition_per_day",
    ])
    """Fitted whatever the screening says: the modifiers the calibration is about (Russian air
    support, Turkish intervention). Their posterior shows what the record says about them."""
    keep: int = Field(5, ge=0)
    """How many more dimensions, by Morris mu*, are fitted."""
    replicas: int = Field(1024, ge=16)


class Fit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trials: int = Field(200, ge=1)
    replicas: int = Field(1024, ge=16)


class Posterior(BaseModel):
    model_config = ConfigDict(extra="forbid")
    particles: int = Field(120, ge=10)
    generations: int = Field(4, ge=1)
    replicas: int = Field(256, ge=16)
    quantile: float = Field(0.5, gt=0, lt=1)


class Holdout(BaseModel):
    model_config = ConfigDict(extra="forbid")
    last_in_sample: dt.date = dt.date(2020, 2, 10)
    trials: int = Field(120, ge=1)


class CalibrationConfig(BaseModel):
    """A calibration run's configuration (``calibration/default.yaml``)."""

    model_config = ConfigDict(extra="forbid")
    name: str = "default"
    scenario: str = "../scenarios/baseline.yaml"
    """Scenario to calibrate, relative to the config file."""
    seed: int = 20200306
    dims: list[str] | None = None
    """Dimensions to fit; ``None``: chosen by the screening."""
    screening: Screening = Field(default_factory=Screening)
    fit: Fit = Field(default_factory=Fit)
    posterior: Posterior = Field(default_factory=Posterior)
    holdout: Holdout = Field(default_factory=Holdout)
    score_replicas: int = Field(10000, ge=16)


def load_config(path: str | Path) -> tuple[CalibrationConfig, Path]:
    """The config and the resolved scenario path."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        cfg = CalibrationConfig.model_validate(raw)
    except FileNotFoundError:
        raise ScenarioError(f"{p}: file not found") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{p}: invalid YAML: {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise ScenarioError(f"{p}: field '{loc}': value {err.get('input')!r}: {err['msg']}"
                            ) from None
    known = [d.name for d in space.SPACE]
    for field, names in (("dims", cfg.dims or []), ("screening.always", cfg.screening.always)):
        for name in names:
            if name not in known:
                raise ScenarioError(f"{p}: field '{field}': value {name!r}: not a calibrated "
                                    "dimension" + did_you_mean(name, known))
    scenario = (p.parent / cfg.scenario).resolve()
    if not scenario.is_file():
        raise ScenarioError(f"{p}: field 'scenario': value {cfg.scenario!r}: no such file "
                            f"({scenario})")
    return cfg, scenario


def _log(msg: str, progress: bool) -> None:
    if progress:
        print(f"[calibrate {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class _Evaluator:
    """Scenario + targets -> score, with common random numbers across calls."""

    def __init__(self, base: Scenario, targets: Targets, seed: int, replicas: int) -> None:
        self.base, self.targets, self.seed, self.replicas = base, targets, seed, replicas
        self.calls = 0

    def terms(self, values: dict[str, float], seed: int | None = None,
              replicas: int | None = None) -> pd.DataFrame:
        self.calls += 1
        sc = space.apply(self.base, values)
        sim = simulate(sc, replicas or self.replicas, self.seed if seed is None else seed)
        return term_scores(sim, self.targets, np.random.default_rng(0))

    def __call__(self, values: dict[str, float], seed: int | None = None,
                 replicas: int | None = None) -> float:
        return objective(self.terms(values, seed, replicas))


def screen(ev: _Evaluator, cfg: CalibrationConfig, out: Path, progress: bool) -> pd.DataFrame:
    """Morris elementary effects over all dimensions (cached in ``screening.csv``)."""
    path = out / "screening.csv"
    if path.exists():
        return pd.read_csv(path)
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    ds = list(space.SPACE)
    problem = {"num_vars": len(ds), "names": [d.name for d in ds], "bounds": [[0.0, 1.0]] * len(ds)}
    rng = np.random.default_rng(cfg.seed)
    x = morris_sample.sample(problem, cfg.screening.trajectories, num_levels=cfg.screening.levels,
                             seed=rng)
    y = np.array([ev({d.name: d.from_unit(u) for d, u in zip(ds, row, strict=True)},
                     replicas=cfg.screening.replicas) for row in x])
    res = morris_analyze.analyze(problem, x, y, num_levels=cfg.screening.levels, seed=rng)
    df = pd.DataFrame({"dim": problem["names"], "mu_star": res["mu_star"],
                       "mu_star_conf": res["mu_star_conf"], "sigma": res["sigma"]})
    df = df.sort_values("mu_star", ascending=False).reset_index(drop=True)
    df.to_csv(path, index=False)
    _log(f"screening: {len(y)} evaluations; most influential: {', '.join(df['dim'][:3])}",
         progress)
    return df


def fit(ev: _Evaluator, names: list[str], trials: int, seed: int, journal: Path,
        study_name: str, progress: bool) -> tuple[dict[str, float], pd.DataFrame]:
    """Optuna TPE point estimate; returns the best values and the trial history."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ds = space.dims(names)
    storage = JournalStorage(JournalFileBackend(str(journal)))
    study = optuna.create_study(study_name=study_name, storage=storage, direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed),
                                load_if_exists=True)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not study.trials:
        study.enqueue_trial(space.current_values(ev.base, names))

    def obj(trial: optuna.Trial) -> float:
        vals = {d.name: trial.suggest_float(d.name, d.low, d.high, log=d.log) for d in ds}
        return ev(vals)

    left = max(0, trials - len(done))
    if left:
        _log(f"{study_name}: {len(done)} trials done, {left} to go", progress)
        study.optimize(obj, n_trials=left)
    hist = study.trials_dataframe(attrs=("number", "value", "params", "state"))
    hist = hist[hist["state"] == "COMPLETE"].reset_index(drop=True)
    return {k: float(v) for k, v in study.best_params.items()}, hist


def posterior(ev: _Evaluator, names: list[str], best: dict[str, float], cfg: CalibrationConfig,
              out: Path, progress: bool) -> pd.DataFrame:
    """ABC-SMC posterior over ``names`` (cached in ``posterior.csv``)."""
    path = out / "posterior.csv"
    if path.exists():
        return pd.read_csv(path)
    ds = space.dims(names)
    fixed = {k: v for k, v in best.items() if k not in names}

    def distance(u: np.ndarray, seed: int) -> float:
        vals = {**fixed, **{d.name: d.from_unit(float(x)) for d, x in zip(ds, u, strict=True)}}
        return ev(vals, seed=seed, replicas=cfg.posterior.replicas)

    def report(g: int, gen: Any) -> None:
        _log(f"ABC generation {g}: eps={gen.epsilon:.3g}, acceptance {gen.acceptance_rate:.2f}, "
             f"ESS {gen.ess:.0f}", progress)

    res = abc_smc(distance, len(ds), np.random.default_rng(cfg.seed + 1),
                  particles=cfg.posterior.particles, generations=cfg.posterior.generations,
                  quantile=cfg.posterior.quantile, progress=report)
    g = res.final
    df = pd.DataFrame({d.name: [d.from_unit(float(x)) for x in g.particles[:, j]]
                       for j, d in enumerate(ds)})
    df["weight"] = g.weights
    df["distance"] = g.distances
    df.to_csv(path, index=False)
    pd.DataFrame([{"generation": i, "epsilon": x.epsilon, "acceptance_rate": x.acceptance_rate,
                   "ess": x.ess, "simulations": x.n_simulations}
                  for i, x in enumerate(res.generations)]).to_csv(out / "abc_generations.csv",
                                                                  index=False)
    (out / "abc_stopped.txt").write_text(res.stopped + "\n")
    return df


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
    """Run (or resume) a calibration; returns the results directory."""
    t0 = time.perf_counter()
    cfg, scenario_path = load_config(config_path)
    out = Path(out_root) / (run or cfg.name)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(cfg.model_dump_json(indent=2) + "\n")
    base = load_scenario(scenario_path)
    theatre, _ = default_world()
    targets = build_targets(theatre)
    horizon = base.period.end.toordinal() - base.period.start.toordinal()
    _log(f"{len(targets.captures)} capture targets, {len(targets.recaptures)} recapture "
         f"targets, {len(targets.territory)} territory targets", progress)
    for name, df in (("targets_captures", targets.captures),
                     ("targets_recaptures", targets.recaptures),
                     ("targets_territory", targets.territory)):
        df.to_csv(out / f"{name}.csv", index=False)

    # naive benchmark: fitted on the same point-date targets
    dist = naive_distances(theatre)
    date_t = targets.captures[targets.captures["kind"] == "date"]
    speed = analysis.fit_naive_speed(dist[date_t["node"].to_numpy(int)],
                                     date_t["day"].to_numpy(int), horizon)

    ev = _Evaluator(base, targets, cfg.seed, cfg.fit.replicas)
    if cfg.dims is None:
        scr = screen(ev, cfg, out, progress)
        always = list(cfg.screening.always)
        space.dims(always)  # unknown names fail here, before any fitting
        rest = [d for d in scr["dim"] if d not in always]
        names = always + rest[: cfg.screening.keep]
    else:
        names = list(cfg.dims)
    best, hist = fit(ev, names, cfg.fit.trials, cfg.seed, out / "optuna_journal.log", "fit",
                     progress)
    hist.to_csv(out / "fit_trials.csv", index=False)
    _log(f"fit: best score {hist['value'].min():.2f} days (defaults: "
         f"{hist['value'].iloc[0]:.2f}) after {len(hist)} trials", progress)
    post = posterior(ev, names, best, cfg, out, progress)

    # hold-out: fit on the early targets only, forecast the later ones
    cut = cfg.holdout.last_in_sample
    early, late = targets.until(cut), targets.after(cut)
    ev_early = _Evaluator(base, early, cfg.seed, cfg.fit.replicas)
    best_early, hist_early = fit(ev_early, names, cfg.holdout.trials, cfg.seed,
                                 out / "optuna_journal.log", "holdout", progress)
    hist_early.to_csv(out / "holdout_trials.csv", index=False)

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
    terms_in.to_csv(out / "terms_in_sample.csv", index=False)
    terms_ho.to_csv(out / "terms_holdout.csv", index=False)
    result = {
        "run": run or cfg.name,
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
        "evaluations": ev.calls + ev_early.calls,
        "wall_time_s": round(time.perf_counter() - t0, 1),
    }
    (out / "scores.json").write_text(json.dumps(strict(result), indent=2, default=_json) + "\n")
    (out / "fitted_overrides.yaml").write_text(space.overrides_yaml(
        best, scenario_path, (out / "fitted_overrides.yaml").resolve(),
        f"Calibrated by `idlib-sim calibrate` run {run or cfg.name} on "
        f"{dt.date.today().isoformat()} (scores.json beside this file)."))
    post.to_csv(out / "posterior_samples.csv", index=False)
    _plots(out, theatre, terms_in, hist, post, names, sim_fit, targets, base)
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

    plots.save(plots.plot_capture_dates(terms, start=base.period.start, horizon=sim.horizon),
               out / "capture_dates.png")
    plots.save(plots.plot_error_map(theatre, terms), out / "error_map.png")
    plots.save(plots.plot_bursts(terms), out / "bursts.png")
    plots.save(plots.plot_end_state(theatre, terms), out / "end_state.png")
    cap = terms[(terms["group"] == "captures") & (terms["kind"] == "date")]
    plots.save(plots.plot_pit_histogram(cap["pit"].to_numpy(float)), out / "pit_histogram.png")
    from sim.results import Ensemble

    ens = Ensemble(theatre.names, base.period.start, sim.horizon, theatre.theatre_area_km2)
    ens.add(sim.first_days, sim.held_count, sim.gov_area, sim.n_recaptures)
    rec = targets.territory[targets.territory["quantity"] == "captured_area_km2"]
    ax = plots.plot_territory_fan(ens.territory_table(), recorded=rec[["date", "value"]],
                                  label="calibrated")
    ax.set_title("Territory taken by the government: calibrated model and recorded figures")
    plots.save(ax, out / "territory.png")
    plots.save(plots.plot_convergence(hist), out / "convergence.png")
    if len(names) >= 1 and len(post):
        fig_ax = plots.plot_posterior_pairs(post, names)
        plots.save(fig_ax, out / "posterior_pairs.png")
