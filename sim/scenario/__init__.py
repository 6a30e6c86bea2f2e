"""Scenario files: YAML that says what to simulate, validated strictly, with ``extends``.

A scenario holds only what differs from the scenario it extends; mappings merge key by key
(modifiers by name), everything else replaces. Errors are :class:`~sim.errors.ScenarioError`s
naming the file, the line, the field path and the value, with "did you mean" for unknown keys,
modifiers and town names; every error of a file is reported at once.

Modules: :mod:`~sim.scenario.yamlread` (one file: bounded, safe YAML with lines),
:mod:`~sim.scenario.schema` (the fields and their rules), :mod:`~sim.scenario.params` (the front
model's parameters, read strictly), :mod:`~sim.scenario.load` (the ``extends`` chain, merging with
origins, the ``posterior`` file, located errors, command-line overrides).
"""

from sim.scenario.load import MAX_CHAIN, load_scenario, posterior_mismatch, with_overrides
from sim.scenario.params import ScenarioParams
from sim.scenario.schema import (
    HORIZON_END,
    ForceOverrides,
    FormationOverride,
    OrderOverride,
    Outputs,
    Period,
    Scenario,
    SectorOverride,
)
from sim.scenario.yamlread import ALIAS_BUDGET, MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES

__all__ = [
    "ALIAS_BUDGET",
    "HORIZON_END",
    "MAX_CHAIN",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "ForceOverrides",
    "FormationOverride",
    "OrderOverride",
    "Outputs",
    "Period",
    "Scenario",
    "ScenarioParams",
    "SectorOverride",
    "load_scenario",
    "posterior_mismatch",
    "with_overrides",
]
