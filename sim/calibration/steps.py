"""The fit of a calibration: ABC-SMC over the calibrated dimensions, cached in the run folder.

The distance of a parameter point is the whole-record objective (:mod:`.objective`: every dated
target, counts, end state and territory, in days) of ``replicas`` replicas simulated there with a
fresh seed. Each step's result is cached under a key of its inputs
(:class:`~sim.calibration.cache.RunFolder`); every completed evaluation is counted in its ledger.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.calibration import space
from sim.calibration.abc import AbcResult, Generation, abc_smc
from sim.calibration.cache import RunFolder
from sim.calibration.config import CalibrationConfig
from sim.calibration.model import CampaignFactory, simulate
from sim.calibration.objective import objective, term_scores
from sim.calibration.targets import Targets
from sim.outputs import atomic_write_text

if TYPE_CHECKING:
    from sim.calibration.workers import Workers


class Evaluator:
    """Parameter values + seed -> the score table (and objective) of ``replicas`` replicas.

    ``on_call`` is told of every completed evaluation (the run folder's ledger).
    """

    def __init__(self, factory: CampaignFactory, targets: Targets, replicas: int,
                 on_call: Callable[[], None] | None = None) -> None:
        self.factory, self.targets, self.replicas = factory, targets, replicas
        self.on_call = on_call
        self.calls = 0

    def terms(self, values: Mapping[str, float], seed: int) -> pd.DataFrame:
        sim = simulate(self.factory, values, self.replicas, seed)
        out = term_scores(sim, self.targets, np.random.default_rng(0))
        self.calls += 1
        if self.on_call is not None:
            self.on_call()
        return out

    def __call__(self, values: Mapping[str, float], seed: int) -> float:
        return objective(self.terms(values, seed))

    def count(self, k: int) -> None:
        """``k`` evaluations were made elsewhere (on workers) and used: count them."""
        self.calls += k
        if self.on_call is not None:
            for _ in range(k):
                self.on_call()


def csv_text(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue()


def generations_table(res: AbcResult) -> pd.DataFrame:
    """One row per ABC generation: tolerance, acceptance, ESS, simulations."""
    return pd.DataFrame([{"generation": i, "epsilon": g.epsilon,
                          "acceptance_rate": g.acceptance_rate, "ess": g.ess,
                          "simulations": g.n_simulations,
                          "distance_median": float(np.median(g.distances))}
                         for i, g in enumerate(res.generations)])


def abc_posterior(ev: Evaluator, names: list[str], fixed: dict[str, float],
                  cfg: CalibrationConfig, folder: RunFolder, step: str, inputs: dict[str, Any],
                  seed: int, log: Callable[[str], None], wk: Workers | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ABC-SMC posterior over ``names`` (the weighted final population, with distances) and its
    generations table; cached in ``{step}_population.csv``, ``{step}_generations.csv``.
    ``wk``: evaluate the particles on these workers (against ``wk``'s targets of ``step``,
    which must be ``ev``'s); the result does not depend on it."""
    out = folder.path
    pop, gens = f"{step}_population.csv", f"{step}_generations.csv"
    files = [pop, gens, f"{step}_stopped.txt"]
    if folder.reuse(step, inputs, files):
        return pd.read_csv(out / pop), pd.read_csv(out / gens)
    ds = space.dims(names)

    def values(u: np.ndarray) -> dict[str, float]:
        return {**fixed, **{d.name: float(d.from_unit(float(x))) for d, x in
                            zip(ds, u, strict=True)}}

    def distance(u: np.ndarray, seed: int) -> float:
        return ev(values(u), seed)

    def distance_many(props: Sequence[tuple[np.ndarray, int]]) -> list[float]:
        assert wk is not None
        return wk.distances(step, [(values(u), s) for u, s in props])

    def report(g: int, gen: Generation) -> None:
        log(f"{step}: ABC generation {g}: eps={gen.epsilon:.3g}, acceptance "
            f"{gen.acceptance_rate:.2f}, ESS {gen.ess:.0f}, {gen.n_simulations} simulations")

    p = cfg.posterior
    par: dict[str, Any] = {} if wk is None or wk.workers == 1 else {
        # a few candidates per worker per round keeps them busy; the batch size does not
        # change the result (abc_smc rewinds past unused proposals)
        "distance_many": distance_many, "batch": 4 * wk.workers, "on_evaluated": ev.count}
    res = abc_smc(distance, len(ds), np.random.default_rng(seed),
                  particles=p.particles, generations=p.generations, quantile=p.quantile,
                  min_acceptance=p.min_acceptance, progress=report, **par)
    g = res.final
    df = pd.DataFrame(space.from_unit(ds, g.particles), columns=names)
    df["weight"] = g.weights
    df["distance"] = g.distances
    table = generations_table(res)
    atomic_write_text(out / gens, csv_text(table))
    atomic_write_text(out / f"{step}_stopped.txt", res.stopped + "\n")
    atomic_write_text(out / pop, csv_text(df))  # last: its presence means complete
    folder.record(step, inputs)
    return df, table


def resample(pop: pd.DataFrame, names: list[str], n: int, rng: np.random.Generator
             ) -> pd.DataFrame:
    """``n`` draws (with replacement, by weight) from a weighted population."""
    w = pop["weight"].to_numpy(float)
    idx = rng.choice(len(pop), size=n, p=w / w.sum())
    return pop.iloc[idx][names].reset_index(drop=True)


def weighted_quantile(x: Any, w: Any, q: float) -> float:
    """Weighted quantile (inverse of the weighted ECDF)."""
    xv, wv = np.asarray(x, float), np.asarray(w, float)
    o = np.argsort(xv)
    cw = np.cumsum(wv[o])
    i = min(int(np.searchsorted(cw / cw[-1], q)), len(xv) - 1)
    return float(xv[o][i])
