"""idlib-sim: a calibrated, stochastic campaign simulator of the northwestern Syria offensive
(19 Dec 2019 - 6 Mar 2020).

Public API::

    from sim import load_theatre, load_scenario, build_campaign, run_scenario
"""

from sim.errors import DataError, IdlibSimError, ScenarioError, UnknownTownError
from sim.model.campaign import FrontCampaign, make_front_campaign
from sim.model.forces import load_forces
from sim.model.modifiers import Modifier
from sim.model.params import FrontParams
from sim.model.posterior import Posterior
from sim.results import Ensemble
from sim.run import build_campaign, run_scenario, simulate_batch
from sim.scenario import Scenario, load_scenario
from sim.theatre import load_theatre, recorded_captures

__all__ = [
    "DataError",
    "Ensemble",
    "FrontCampaign",
    "FrontParams",
    "IdlibSimError",
    "Modifier",
    "Posterior",
    "Scenario",
    "ScenarioError",
    "UnknownTownError",
    "build_campaign",
    "load_forces",
    "load_scenario",
    "load_theatre",
    "make_front_campaign",
    "recorded_captures",
    "run_scenario",
    "simulate_batch",
]
