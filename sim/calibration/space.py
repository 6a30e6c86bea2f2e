"""The calibrated parameters: names, bounds, priors and how a point is applied to a scenario.

A dimension's name is a path into the scenario: ``params.<field>`` for :class:`ModelParams`, or
``modifiers.<modifier name>.<parameter>`` for a dated modifier. Priors are uniform on the bounds
(log-uniform for rates spanning more than a decade); the reasoning for each bound is kept with it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from numpy.typing import NDArray

from sim.model.modifiers import Modifier
from sim.scenario import Scenario


@dataclass(frozen=True)
class Dim:
    name: str
    low: float
    high: float
    log: bool
    why: str

    def to_unit(self, x: float) -> float:
        if self.log:
            return float((np.log(x) - np.log(self.low)) / (np.log(self.high) - np.log(self.low)))
        return (x - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float:
        if self.log:
            return float(np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low))))
        return float(self.low + u * (self.high - self.low))


SPACE: tuple[Dim, ...] = (
    Dim("params.capture_rate_per_day", 0.05, 1.5, True,
        "from one capture in 20 days to 1.5 a day at the reference ratio: the record shows single "
        "towns held for weeks and >30 villages falling in a day"),
    Dim("params.repulse_rate_per_day", 0.01, 1.0, True,
        "failed assaults from rare to daily; the article records repelled attacks on most fronts"),
    Dim("params.air_effect", 0.0, 3.0, False,
        "Russian air support: from no effect to quadrupling attack power at baseline sorties"),
    Dim("params.force_exponent", 0.3, 3.0, False,
        "Lanchester-type exponent; Bayesian fits to the Ardennes give 1.06 +- 0.44 (wide bounds)"),
    Dim("params.counterattack_rate_per_day", 0.0, 0.4, False,
        "from no counterattacks to retaking an exposed town in ~2.5 days on average"),
    Dim("params.frontline_entrenchment", 1.0, 3.0, False,
        "prepared defences on the 18 Dec front from none to tripling the defence"),
    Dim("modifiers.spring_shield.drone_attrition_per_day", 0.0, 0.15, False,
        "Turkish drone strikes: up to 15 % of a formation per day (Turkey claimed 3,138 government "
        "casualties in a week, i.e. roughly a fifth of the engaged force)"),
    Dim("modifiers.spring_shield.counterattack_mult", 1.0, 8.0, False,
        "rebel counterattacks under Spring Shield: same as before up to eight times as likely"),
    Dim("modifiers.turkish_artillery.counterattack_mult", 1.0, 4.0, False,
        "Turkish artillery support to rebel counterattacks from 12 Feb"),
    Dim("modifiers.weather_pause.ground_factor", 0.0, 0.6, False,
        "the 26 Dec weather pause: from a full stop to 60 % of normal tempo"),
    Dim("modifiers.january_ceasefire.intensity", 0.0, 0.8, False,
        "how much fighting leaked through the January ceasefire"),
    Dim("modifiers.russian_air_renewed.sorties", 0.5, 3.0, False,
        "air intensity of the renewed offensive relative to December's level"),
)


def dims(names: Sequence[str]) -> list[Dim]:
    by = {d.name: d for d in SPACE}
    return [by[n] for n in names]


def apply(scenario: Scenario, values: Mapping[str, float]) -> Scenario:
    """A copy of ``scenario`` with the dimensions in ``values`` set (validated)."""
    params = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("params.")}
    mods = dict(scenario.modifiers)
    for key, v in values.items():
        if key.startswith("modifiers."):
            _, name, par = key.split(".")
            m = mods[name]
            mods[name] = Modifier.model_validate({**m.model_dump(), "params": {**m.params, par: v}})
    return scenario.model_copy(update={"params": scenario.params.override(**params),
                                       "modifiers": mods})


def current_values(scenario: Scenario, names: Sequence[str]) -> dict[str, float]:
    """The values ``scenario`` gives the dimensions ``names`` (the inverse of :func:`apply`)."""
    out = {}
    for n in names:
        if n.startswith("params."):
            out[n] = float(getattr(scenario.params, n.split(".", 1)[1]))
        else:
            _, mod, par = n.split(".")
            out[n] = scenario.modifiers[mod].param(par)
    return out


def sample_prior(ds: Sequence[Dim], n: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """``(n, len(ds))`` draws from the priors (uniform in each dimension's own scale)."""
    u = rng.random((n, len(ds)))
    return np.array([[d.from_unit(x) for d, x in zip(ds, row, strict=True)] for row in u])


def log_prior(ds: Sequence[Dim], x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Log prior density up to a constant (``-inf`` outside the bounds)."""
    x = np.atleast_2d(x)
    out = np.zeros(len(x))
    for j, d in enumerate(ds):
        inside = (x[:, j] >= d.low) & (x[:, j] <= d.high)
        out[~inside] = -np.inf
        if d.log:
            with np.errstate(divide="ignore"):
                out[inside] -= np.log(x[inside, j])
    return out


def overrides_yaml(values: Mapping[str, float], extends: Path, at: Path, note: str) -> str:
    """A scenario file holding only the fitted values, extending ``extends``."""
    params = {k.split(".", 1)[1]: round(float(v), 6) for k, v in values.items()
              if k.startswith("params.")}
    mods: dict[str, dict[str, dict[str, float]]] = {}
    for k, v in values.items():
        if k.startswith("modifiers."):
            _, name, par = k.split(".")
            mods.setdefault(name, {"params": {}})["params"][par] = round(float(v), 6)
    doc = {"name": "calibrated",
           "description": f"{note} How does the campaign run with the calibrated parameters?",
           "extends": os.path.relpath(extends, at.parent)}
    if params:
        doc["params"] = params  # type: ignore[assignment]
    if mods:
        doc["modifiers"] = mods  # type: ignore[assignment]
    return yaml.safe_dump(doc, sort_keys=False)
