"""idlib-sim: a calibrated, stochastic campaign simulator of the northwestern Syria offensive
(19 Dec 2019 - 6 Mar 2020).

Public API (README, "Python API")::

    import sim
    r = sim.run("scenarios/baseline.yaml", replicas=1000)     # -> sim.RunResult
    r.towns; r.territory; r.plot(); r.save("out/baseline")
    c = sim.compare("scenarios/baseline.yaml", "scenarios/no_spring_shield.yaml")
    c.summary(); c.plot()
    s = sim.load_scenario("scenarios/baseline.yaml").with_modifier("spring_shield", enabled=False)

Lower level: ``load_theatre``, ``build_campaign``, ``run_scenario``, ``simulate_batch``.

``sim.run`` and ``sim.compare`` are the API's functions; the modules of the same names are
``sys.modules["sim.run"]`` and ``sys.modules["sim.compare"]`` (``from sim.run import ...`` works
as ever).
"""

from importlib import metadata as _metadata

# sim.api imports the modules sim.run and sim.compare first, so the package's names `run` and
# `compare` end up bound to the API's functions (tests/test_api.py checks it).
from sim.api import CompareResult, RunResult, compare, run
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

try:
    __version__ = _metadata.version("idlib-sim")
except _metadata.PackageNotFoundError:  # a source tree that was not installed
    __version__ = "0+unknown"

__all__ = [
    "CompareResult",
    "DataError",
    "Ensemble",
    "FrontCampaign",
    "FrontParams",
    "IdlibSimError",
    "Modifier",
    "Posterior",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "UnknownTownError",
    "__version__",
    "build_campaign",
    "compare",
    "load_forces",
    "load_scenario",
    "load_theatre",
    "make_front_campaign",
    "recorded_captures",
    "run",
    "run_scenario",
    "simulate_batch",
]
