"""``idlib-sim displacement-fit``: refit the layer's two parameters on a scenario's ensemble
(the posterior predictive for the baseline), the way the frozen values of
:data:`~sim.displacement.layer.DISPLACEMENT` were obtained."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.displacement.layer import DISPLACEMENT, DisplacementParams, Layer
from sim.displacement.record import Fit, fit_displacement, load_record
from sim.scenario import Scenario


def refit(scenario: Scenario, replicas: int, seed: int, workers: int | None = 1,
          scheduler: Any = None, params: DisplacementParams = DISPLACEMENT) -> Fit:
    """Fit ``scale`` and ``approach_share`` (``approach_km`` as in ``params``) to the article's
    figures on ``replicas`` replicas of ``scenario`` (its posterior, if it names one)."""
    from sim.parallel import batch_job, map_blocks
    from sim.run import build_campaign

    c = build_campaign(scenario)
    layer = Layer.of(c.theatre, params)
    a = np.zeros(c.n_days)
    cc = np.zeros(c.n_days)
    shared = (c, seed, (), (), scenario.posterior_samples())
    for chunk in map_blocks(batch_job, shared, replicas, workers=workers, scheduler=scheduler):
        m = len(chunk.first_capture_day)
        ai, ci = layer.components(chunk.first_capture_day, c.n_days)
        a += ai * m  # sums in block order: the same for any number of workers
        cc += ci * m
    return fit_displacement(a / replicas, cc / replicas, load_record(), c.start)
