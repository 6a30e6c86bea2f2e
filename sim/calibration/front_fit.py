"""A quick point fit of the front model's free parameters, and its headline scores.

Optuna (TPE, seeded) searches the ten free fields of :class:`FrontParams` within their validated
ranges (log scale where the prior is lognormal) to minimise the calibration objective of
:mod:`sim.calibration.objective` (the same targets and terms as the first model's fit). Every
trial runs the same replicas with the same seed: common random numbers, so differences between
trials are differences of parameters, not of dice. This is a point fit for comparison with the
first model, not the posterior the issue asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

from sim import analysis
from sim.calibration.calibrate import naive_distances
from sim.calibration.objective import Simulated, collect, objective, term_scores
from sim.calibration.targets import Targets
from sim.engines.front_batch import run_front_batch
from sim.model.front_campaign import FrontCampaign, make_front_campaign
from sim.model.front_params import PRIORS, FrontParams, bounds
from sim.run import build_campaign
from sim.scenario import Scenario


@dataclass
class FrontRun:
    """Scoring inputs plus what the front model's summary needs beyond them."""

    sim: Simulated
    final_control: np.ndarray
    campaign: FrontCampaign


def front_campaign(scenario: Scenario, params: FrontParams) -> FrontCampaign:
    """The front campaign of ``scenario`` (its forces, modifiers and period) with ``params``."""
    c = build_campaign(scenario)
    return make_front_campaign(c.theatre, c.forces, params, c.modifiers, c.start, c.end)


def simulate_front(c: FrontCampaign, n: int, seed: int) -> FrontRun:
    """Run ``n`` replicas on the front core and collect what scoring needs."""
    chunks = list(run_front_batch(c, seed, n))
    sim = collect(chunks, c.theatre, c.n_days)
    return FrontRun(sim, np.concatenate([x.final_control for x in chunks]), c)


def _suggest(trial: optuna.Trial) -> FrontParams:
    values = {}
    for name, prior in PRIORS.items():
        lo, hi = bounds(name)
        log = prior.kind == "lognormal" and lo > 0
        values[name] = trial.suggest_float(name, lo, hi, log=log)
    return FrontParams(**values)


def _scale(name: str, value: float) -> float:
    """Position of ``value`` in the field's range, 0..1, on the scale the search used."""
    lo, hi = bounds(name)
    if PRIORS[name].kind == "lognormal" and lo > 0:
        return float(np.log(value / lo) / np.log(hi / lo))
    return (value - lo) / (hi - lo)


def near_bound(values: dict[str, float], margin: float = 0.05) -> list[str]:
    """Free parameters within ``margin`` of either end of their range (on the search scale): a
    fitted value there suggests the model wants something its range forbids."""
    return [k for k, v in values.items() if min(_scale(k, v), 1 - _scale(k, v)) <= margin]


def fit_front(scenario: Scenario, targets: Targets, trials: int, replicas: int,
              seed: int) -> optuna.Study:
    """Minimise the objective over the free parameters (TPE seeded with ``seed``)."""
    base = build_campaign(scenario)

    def run(trial: optuna.Trial) -> float:
        p = _suggest(trial)
        c = make_front_campaign(base.theatre, base.forces, p, base.modifiers, base.start,
                                base.end)
        out = simulate_front(c, replicas, seed)
        return objective(term_scores(out.sim, targets, np.random.default_rng(seed)))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial({k: float(getattr(FrontParams(), k)) for k in PRIORS})
    study.optimize(run, n_trials=trials)
    return study


def summary(run: FrontRun, targets: Targets, seed: int = 0) -> dict[str, Any]:
    """Headline scores: CRPS, error of the median, 50/80 % coverage, skill against the naive
    model (point-date targets); objective; Saraqib lost and lost-then-retaken shares; captured
    area at the end of the run (km², quantiles)."""
    sim, c = run.sim, run.campaign
    th = c.theatre
    cap = targets.captures
    date_t = cap[(cap["kind"] == "date") & (cap["day"] < sim.horizon)]
    nodes = date_t["node"].to_numpy(int)
    y = date_t["day"].to_numpy(int)
    table = analysis.score_table(sim.first_days[:, nodes], y, sim.horizon,
                                np.random.default_rng(seed), names=list(date_t["town"]),
                                phase=list(date_t["phase"]), weight=date_t["weight"].to_numpy())
    dist = naive_distances(th)
    speed = analysis.fit_naive_speed(dist[nodes], y, sim.horizon)
    out: dict[str, Any] = analysis.summarise(
        table, naive_crps=analysis.naive_crps(dist[nodes], y, speed, sim.horizon))
    out["objective_days"] = objective(term_scores(sim, targets, np.random.default_rng(seed)))
    sar = th.resolve("Saraqib")
    lost = sim.n_recaptures[:, sar] > 0
    out["saraqib_lost_share"] = float(lost.mean())
    out["saraqib_lost_and_retaken_share"] = float((lost & (run.final_control[:, sar] == 1))
                                                  .mean())
    gained = sim.gov_area[:, -1] - sim.gov_area[:, 0]
    out["captured_area_end_km2"] = {f"q{q}": float(np.quantile(gained, q / 100))
                                    for q in (10, 50, 90)}
    out["worst_towns"] = (table.sort_values("crps_days", ascending=False)
                          [["town", "y", "median_day", "crps_days"]].head(8)
                          .to_dict(orient="records"))
    return out


def main(argv: list[str] | None = None) -> None:
    """``python -m sim.calibration.front_fit --out FILE``: the quick fit, written as JSON."""
    import argparse
    import datetime as dt
    import json
    from pathlib import Path

    from sim.outputs import atomic_write_text
    from sim.scenario import load_scenario

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", default="scenarios/baseline.yaml")
    ap.add_argument("--trials", type=int, default=150)
    ap.add_argument("--replicas", type=int, default=512)
    ap.add_argument("--seed", type=int, default=20200306)
    ap.add_argument("--score-replicas", type=int, default=4096)
    ap.add_argument("--score-seed", type=int, default=1)
    ap.add_argument("--last-in-sample", type=dt.date.fromisoformat, default=None,
                    help="time-ordered hold-out: fit on targets up to this date, score the rest")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    sc = load_scenario(a.scenario)
    from sim.calibration.targets import build_targets

    c = front_campaign(sc, FrontParams())
    targets = build_targets(c.theatre)
    fit_on, score_on = targets, targets
    if a.last_in_sample is not None:
        fit_on, score_on = targets.until(a.last_in_sample), targets.after(a.last_in_sample)
    study = fit_front(sc, fit_on, a.trials, a.replicas, a.seed)
    best = FrontParams(**study.best_params)
    report = summary(simulate_front(front_campaign(sc, best), a.score_replicas, a.score_seed),
                     score_on)
    record = {"config": {k: str(v) if isinstance(v, dt.date) else v
                         for k, v in vars(a).items() if k != "out" and v is not None},
              "best_objective_days": study.best_value, "fitted": study.best_params,
              "near_bound": near_bound(study.best_params),
              "scores": report}
    atomic_write_text(Path(a.out), json.dumps(record, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
