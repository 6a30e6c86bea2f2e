"""The calibration's simulations on the workers of :mod:`sim.parallel` (processes or Dask).

Every simulation of a calibration is a parameter point and a seed chosen by the driver, so where
it runs changes nothing (common random numbers: the same seeds, the same replicas, whichever
worker runs them). What every task needs, the campaign factory and the target sets, is shipped
once per worker; a task carries only its values and seed:

- ``("distance", step, values, seed)``: the ABC distance (the whole-record objective of
  ``replicas`` replicas) against the targets of ``step``;
- ``("chunks", values, seed, start, n)``: replicas ``start .. start + n - 1`` at ``values``
  (:func:`~sim.engines.batch.run_chunk`), the pieces of a posterior-predictive or fixed-point
  run, reassembled here in order.

Results come back in submission order (:func:`sim.parallel.map_items`), so every output is
bit-identical for 1, 2 or N workers and on a Dask cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.calibration.model import CampaignFactory, _collect, draw_seeds, simulate
from sim.calibration.objective import Simulated, objective, term_scores
from sim.calibration.targets import Targets
from sim.parallel import map_items, open_pool, tasks


@dataclass(frozen=True)
class Shared:
    """What every task needs (installed once per worker)."""

    factory: CampaignFactory
    targets: dict[str, Targets]
    replicas: int


def job(shared: Shared, item: tuple[Any, ...]) -> Any:
    """One task (see the module docstring)."""
    from sim.engines.batch import run_chunk

    if item[0] == "distance":
        _, step, values, seed = item
        sim = simulate(shared.factory, values, shared.replicas, seed)
        # the same scoring generator as Evaluator.terms: one distance, wherever it is computed
        return objective(term_scores(sim, shared.targets[step], np.random.default_rng(0)))
    if item[0] == "chunks":
        _, values, seed, start, n = item
        return run_chunk(shared.factory(values), seed, start, n)
    raise ValueError(f"unknown calibration task {item[0]!r}")


class Workers:
    """An open pool for a calibration (``workers=1`` and no scheduler: this process)."""

    def __init__(self, factory: CampaignFactory, targets: dict[str, Targets], replicas: int,
                 workers: int | None = 1, scheduler: Any = None) -> None:
        self.factory = factory
        self.pool = open_pool(Shared(factory, targets, replicas), workers, scheduler)
        self.workers = self.pool.workers

    def distances(self, step: str, items: Sequence[tuple[Mapping[str, float], int]]
                  ) -> list[float]:
        """The ABC distance of each ``(values, seed)`` against ``step``'s targets, in order."""
        return list(map_items(job, [("distance", step, dict(v), int(s)) for v, s in items],
                              self.pool))

    def simulate(self, values: Mapping[str, float], n: int, seed: int) -> Simulated:
        """As :func:`sim.calibration.model.simulate`, its blocks on the workers."""
        return self._runs([(values, seed, n)])

    def predictive(self, draws: Sequence[Mapping[str, float]], replicas_per_draw: int,
                   seed: int) -> Simulated:
        """As :func:`sim.calibration.model.simulate_predictive`, its draws on the workers."""
        if not draws:
            raise ValueError("no posterior draws to simulate")
        return self._runs([(v, int(s), replicas_per_draw)
                           for v, s in zip(draws, draw_seeds(seed, len(draws)), strict=True)])

    def simulate_many(self, runs: Sequence[tuple[Mapping[str, float], int, int]]
                      ) -> list[Simulated]:
        """Each run ``(values, seed, n)`` as :func:`~sim.calibration.model.simulate` would."""
        items = [("chunks", dict(v), s, start, m) for v, s, n in runs for start, m in tasks(n)]
        results = map_items(job, items, self.pool)
        return [_collect([next(results) for _ in tasks(n)], self.factory(v))
                for v, _, n in runs]

    def _runs(self, runs: Sequence[tuple[Mapping[str, float], int, int]]) -> Simulated:
        """Runs ``(values, seed, n)`` cut into the batch core's blocks, pooled in order."""
        items = [("chunks", dict(v), s, start, m) for v, s, n in runs for start, m in tasks(n)]
        chunks = list(map_items(job, items, self.pool))
        return _collect(chunks, self.factory(runs[-1][0]))

    def close(self) -> None:
        self.pool.close()
