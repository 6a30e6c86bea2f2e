"""The three searches of a calibration: Morris screening, the Optuna fit, the ABC-SMC posterior.

Each step's result is cached in the run folder under a key of its inputs
(:class:`~sim.calibration.cache.RunFolder`); every completed evaluation is counted in its ledger.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from sim.calibration import space
from sim.calibration.abc import abc_smc
from sim.calibration.cache import RunFolder, fail_abandoned_trials
from sim.calibration.config import CalibrationConfig
from sim.calibration.objective import objective, simulate, term_scores
from sim.calibration.targets import Targets
from sim.outputs import atomic_write_text
from sim.scenario import Scenario


class Evaluator:
    """Scenario + targets -> score, with common random numbers across calls.

    ``on_call`` is told of every completed evaluation (the run folder's ledger).
    """

    def __init__(self, base: Scenario, targets: Targets, seed: int, replicas: int,
                 on_call: Callable[[], None] | None = None) -> None:
        self.base, self.targets, self.seed, self.replicas = base, targets, seed, replicas
        self.on_call = on_call
        self.calls = 0

    def terms(self, values: dict[str, float], seed: int | None = None,
              replicas: int | None = None) -> pd.DataFrame:
        sc = space.apply(self.base, values)
        sim = simulate(sc, replicas or self.replicas, self.seed if seed is None else seed)
        out = term_scores(sim, self.targets, np.random.default_rng(0))
        self.calls += 1
        if self.on_call is not None:
            self.on_call()
        return out

    def __call__(self, values: dict[str, float], seed: int | None = None,
                 replicas: int | None = None) -> float:
        return objective(self.terms(values, seed, replicas))


def csv_text(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue()


def screen(ev: Evaluator, cfg: CalibrationConfig, folder: RunFolder, inputs: dict[str, Any],
           log: Callable[[str], None]) -> pd.DataFrame:
    """Morris elementary effects over all dimensions (cached in ``screening.csv``)."""
    path = folder.path / "screening.csv"
    if folder.reuse("screening", inputs, [path.name]):
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
    atomic_write_text(path, csv_text(df))
    folder.record("screening", inputs)
    log(f"screening: {len(y)} evaluations; most influential: {', '.join(df['dim'][:3])}")
    return df


def fit(ev: Evaluator, names: list[str], trials: int, seed: int, folder: RunFolder,
        study_name: str, log: Callable[[str], None]) -> tuple[dict[str, float], pd.DataFrame]:
    """Optuna TPE point estimate; returns the best values and the completed trials.

    Resumes the study ``study_name`` in the folder's journal: trials a killed process left
    ``RUNNING`` are marked failed first, and the defaults are enqueued until one trial of them
    has completed.
    """
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ds = space.dims(names)
    storage = JournalStorage(JournalFileBackend(str(folder.path / "optuna_journal.log")))
    study = optuna.create_study(study_name=study_name, storage=storage, direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed),
                                load_if_exists=True)
    stale = fail_abandoned_trials(study)
    if stale:
        log(f"{study_name}: {stale} trial(s) left running by an interrupted run marked failed")
    live = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.WAITING))
    if not live:  # new study, or the defaults' trial itself was interrupted
        study.enqueue_trial(space.current_values(ev.base, names))
    done = sum(t.state == TrialState.COMPLETE for t in live)

    def obj(trial: optuna.Trial) -> float:
        vals = {d.name: trial.suggest_float(d.name, d.low, d.high, log=d.log) for d in ds}
        return ev(vals)

    left = max(0, trials - done)
    if left:
        log(f"{study_name}: {done} trials done, {left} to go")
    else:
        log(f"{study_name}: reusing the study ({done} trials done)")
    if left:
        study.optimize(obj, n_trials=left)
    hist = study.trials_dataframe(attrs=("number", "value", "params", "state"))
    hist = hist[hist["state"] == "COMPLETE"].reset_index(drop=True)
    return {k: float(v) for k, v in study.best_params.items()}, hist


def posterior(ev: Evaluator, names: list[str], fixed: dict[str, float], cfg: CalibrationConfig,
              folder: RunFolder, inputs: dict[str, Any], log: Callable[[str], None]
              ) -> pd.DataFrame:
    """ABC-SMC posterior over ``names`` (cached in ``posterior.csv``, ``abc_generations.csv``)."""
    out = folder.path
    files = ["posterior.csv", "abc_generations.csv", "abc_stopped.txt"]
    if folder.reuse("posterior", inputs, files):
        return pd.read_csv(out / "posterior.csv")
    ds = space.dims(names)

    def distance(u: np.ndarray, seed: int) -> float:
        vals = {**fixed, **{d.name: d.from_unit(float(x)) for d, x in zip(ds, u, strict=True)}}
        return ev(vals, seed=seed, replicas=cfg.posterior.replicas)

    def report(g: int, gen: Any) -> None:
        log(f"ABC generation {g}: eps={gen.epsilon:.3g}, acceptance {gen.acceptance_rate:.2f}, "
            f"ESS {gen.ess:.0f}")

    res = abc_smc(distance, len(ds), np.random.default_rng(cfg.seed + 1),
                  particles=cfg.posterior.particles, generations=cfg.posterior.generations,
                  quantile=cfg.posterior.quantile, progress=report)
    g = res.final
    df = pd.DataFrame({d.name: [d.from_unit(float(x)) for x in g.particles[:, j]]
                       for j, d in enumerate(ds)})
    df["weight"] = g.weights
    df["distance"] = g.distances
    gens = pd.DataFrame([{"generation": i, "epsilon": x.epsilon,
                          "acceptance_rate": x.acceptance_rate, "ess": x.ess,
                          "simulations": x.n_simulations} for i, x in enumerate(res.generations)])
    atomic_write_text(out / "abc_generations.csv", csv_text(gens))
    atomic_write_text(out / "abc_stopped.txt", res.stopped + "\n")
    atomic_write_text(out / "posterior.csv", csv_text(df))  # last: its presence means complete
    folder.record("posterior", inputs)
    return df
