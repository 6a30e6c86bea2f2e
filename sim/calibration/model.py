"""The one place the calibration builds and runs the model: the moving-front campaign of a
scenario with calibrated values set, run on the front batch core.

:class:`CampaignFactory` compiles the scenario once (theatre, forces, front orders, modifiers,
period) and then makes a :class:`~sim.model.campaign.FrontCampaign` per parameter point in
a couple of milliseconds. :func:`simulate` runs fixed parameters; :func:`simulate_predictive`
runs the posterior predictive (each of ``K`` parameter draws with its own seed and ``R``
replicas), which is what every score of the fit is computed on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from sim.calibration import space
from sim.calibration.objective import Simulated, collect
from sim.engines.batch import FrontChunk, run_front_batch
from sim.model.campaign import FrontCampaign, make_front_campaign
from sim.model.params import FrontParams
from sim.run import build_campaign
from sim.scenario import Scenario


class CampaignFactory:
    """Front campaigns of ``scenario`` with calibrated values set."""

    def __init__(self, scenario: Scenario) -> None:
        # build_campaign applies the scenario's params, modifiers, period and force overrides;
        # the calibrated values are set on top of those (its posterior, if any, is not used:
        # the calibration draws its own parameters)
        c = build_campaign(scenario)
        self.theatre, self.forces = c.theatre, c.forces
        self.modifiers, self.start, self.end = tuple(c.modifiers), c.start, c.end
        self.base_params: FrontParams = c.params
        self.orders = c.orders

    def __call__(self, values: Mapping[str, float]) -> FrontCampaign:
        params, mods = space.split(values)
        return make_front_campaign(self.theatre, self.forces, self.base_params.override(**params),
                                   space.apply_modifiers(self.modifiers, mods), self.start,
                                   self.end, orders=self.orders)

    def base_values(self, names: Sequence[str]) -> dict[str, float]:
        """The values the scenario gives ``names`` (its defaults)."""
        out = {}
        by_name = {m.name: m for m in self.modifiers}
        for n in names:
            if n.startswith("modifiers."):
                _, mod, par = n.split(".")
                out[n] = by_name[mod].param(par)
            else:
                out[n] = float(getattr(self.base_params, n))
        return out


def simulate(factory: CampaignFactory, values: Mapping[str, float], n: int, seed: int
             ) -> Simulated:
    """``n`` replicas at fixed ``values`` (seed fixed: common random numbers)."""
    c = factory(values)
    return _collect(list(run_front_batch(c, seed, n)), c)


def draw_seeds(seed: int, k: int) -> NDArray[np.int64]:
    """``k`` independent root seeds (``SeedSequence(seed).spawn``) for ``k`` parameter draws."""
    return np.array([int(s.generate_state(1, np.uint32)[0])
                     for s in np.random.SeedSequence(seed).spawn(k)], dtype=np.int64)


def simulate_predictive(factory: CampaignFactory, draws: Sequence[Mapping[str, float]],
                        replicas_per_draw: int, seed: int) -> Simulated:
    """The posterior predictive: draw ``k`` runs ``replicas_per_draw`` replicas with its own
    seed (``draw_seeds(seed, len(draws))[k]``); the runs are pooled into one ensemble."""
    chunks: list[FrontChunk] = []
    c: FrontCampaign | None = None
    for vals, s in zip(draws, draw_seeds(seed, len(draws)), strict=True):
        c = factory(vals)
        chunks += list(run_front_batch(c, int(s), replicas_per_draw))
    if c is None:
        raise ValueError("no posterior draws to simulate")
    return _collect(chunks, c)


def _collect(chunks: list[FrontChunk], c: FrontCampaign) -> Simulated:
    sim = collect(chunks, c.theatre, c.n_days)
    sim.final_control = np.concatenate([x.final_control for x in chunks])
    return sim
