"""The calibrated parameters of the moving-front model: names, priors and the unit cube.

A dimension is either a free field of :class:`~sim.model.params.FrontParams` (named by the
field, e.g. ``speed_scale``; prior :data:`~sim.model.params.PRIORS`, reasons in
docs/MODEL.md) or a modifier strength (``modifiers.<modifier name>.<parameter>``; prior and
reason below). These are the column names of ``posterior_samples.csv``.

Each dimension's unit-cube coordinate is its prior CDF truncated to its range,
``u = (F(x) - F(lo)) / (F(hi) - F(lo))``, so a uniform draw on the cube is a draw from the prior:
ABC-SMC (:mod:`sim.calibration.abc`) works on the cube with a uniform prior and the priors come
in through this map.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from sim.model.modifiers import KIND_PARAM_RANGES, Modifier
from sim.model.params import PRIORS, Prior, bounds


@dataclass(frozen=True)
class Dim:
    """One calibrated parameter with its truncated prior."""

    name: str
    low: float
    high: float
    prior: Prior
    why: str

    def _cdf_range(self) -> tuple[Any, float, float]:
        d = self.prior.dist()
        return d, float(d.cdf(self.low)), float(d.cdf(self.high))

    def from_unit(self, u: NDArray[np.float64] | float) -> NDArray[np.float64]:
        """Value(s) at cube coordinate(s) ``u`` (inverse truncated CDF)."""
        d, a, b = self._cdf_range()
        x = d.ppf(a + np.asarray(u, dtype=np.float64) * (b - a))
        return np.asarray(np.clip(x, self.low, self.high), dtype=np.float64)

    def to_unit(self, x: NDArray[np.float64] | float) -> NDArray[np.float64]:
        """Cube coordinate(s) of value(s) ``x`` (truncated CDF)."""
        d, a, b = self._cdf_range()
        return np.asarray(np.clip((d.cdf(np.asarray(x, float)) - a) / (b - a), 0.0, 1.0))

    @property
    def is_modifier(self) -> bool:
        return self.name.startswith("modifiers.")


def _modifier_dim(name: str, prior: Prior, why: str, high: float | None = None) -> Dim:
    _, mod, par = name.split(".")
    kinds = {"spring_shield": "spring_shield", "turkish_artillery": "turkish_artillery"}
    _, lo, hi = KIND_PARAM_RANGES[kinds[mod]][par]
    return Dim(name, lo, hi if high is None else high, prior, why)


#: Free fields of FrontParams (priors and reasons: front_params.PRIORS, docs/MODEL.md).
_FRONT = tuple(Dim(k, *bounds(k), p, "front_params.PRIORS; reasons in docs/MODEL.md")
               for k, p in PRIORS.items())

#: Turkish-intervention strengths: the modifiers whose effect the record shows (Saraqib lost
#: 27 Feb and retaken 2 Mar under Spring Shield; Nayrab contested 20 Feb under Turkish
#: artillery). Their defence and air-denial terms are left at their defaults: the same few
#: events cannot tell them apart from the counterattack multipliers.
_MODIFIERS = (
    _modifier_dim("modifiers.spring_shield.counterattack_mult",
                  Prior("lognormal", float(np.log(2.5)), 0.6),
                  "Spring Shield's multiplier of opposition counterattacks in the Turkish "
                  "footprint: median 2.5 (the modifier's default), a factor ~1.8 either way at one "
                  "sd; the Saraqib recapture of 27 Feb and the end state constrain it", high=20.0),
    _modifier_dim("modifiers.spring_shield.drone_attrition_per_day",
                  Prior("halfnormal", 0.05),
                  "drone attrition of government effort in the footprint per day: half-normal, "
                  "scale 5 %/day (Turkey claimed ~3,000 casualties in a week, a fifth of the "
                  "engaged force, i.e. ~3 %/day, likely inflated)"),
    _modifier_dim("modifiers.turkish_artillery.counterattack_mult",
                  Prior("lognormal", float(np.log(1.5)), 0.5),
                  "Turkish artillery support of opposition counterattacks from 12 Feb: median 1.5 "
                  "(the modifier's default); the Nayrab recapture of 20 Feb constrains it"),
)

SPACE: tuple[Dim, ...] = _FRONT + _MODIFIERS
NAMES: tuple[str, ...] = tuple(d.name for d in SPACE)


def dims(names: Sequence[str]) -> list[Dim]:
    by = {d.name: d for d in SPACE}
    return [by[n] for n in names]


def from_unit(ds: Sequence[Dim], u: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(n, len(ds))`` values of the cube points ``u`` (same shape)."""
    u = np.atleast_2d(u)
    return np.column_stack([d.from_unit(u[:, j]) for j, d in enumerate(ds)])


def to_unit(ds: Sequence[Dim], x: NDArray[np.float64]) -> NDArray[np.float64]:
    x = np.atleast_2d(x)
    return np.column_stack([d.to_unit(x[:, j]) for j, d in enumerate(ds)])


def sample_prior(ds: Sequence[Dim], n: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """``(n, len(ds))`` draws from the truncated priors."""
    return from_unit(ds, rng.random((n, len(ds))))


def split(values: Mapping[str, float]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """``values`` as FrontParams overrides and per-modifier parameter overrides."""
    params: dict[str, float] = {}
    mods: dict[str, dict[str, float]] = {}
    for k, v in values.items():
        if k.startswith("modifiers."):
            _, name, par = k.split(".")
            mods.setdefault(name, {})[par] = float(v)
        else:
            params[k] = float(v)
    return params, mods


def apply_modifiers(modifiers: Sequence[Modifier], changes: Mapping[str, Mapping[str, float]]
                    ) -> tuple[Modifier, ...]:
    """``modifiers`` with the parameters in ``changes`` set (validated)."""
    missing = set(changes) - {m.name for m in modifiers}
    if missing:
        raise ValueError(f"the scenario has no modifier named {sorted(missing)[0]!r}")
    out = []
    for m in modifiers:
        if m.name in changes:
            m = Modifier.model_validate({**m.model_dump(),
                                         "params": {**m.params, **changes[m.name]}})
        out.append(m)
    return tuple(out)


def overrides_yaml(values: Mapping[str, float], extends: Path, at: Path, note: str) -> str:
    """A scenario file holding only the fitted values (``params:`` for FrontParams fields,
    ``modifiers:`` for modifier strengths), extending ``extends``."""
    params, mods = split(values)
    doc: dict[str, Any] = {
        "name": "calibrated",
        "description": f"{note} How does the campaign run with the calibrated parameters?",
        "extends": os.path.relpath(extends, at.parent)}
    if params:
        doc["params"] = {k: round(v, 6) for k, v in params.items()}
    if mods:
        doc["modifiers"] = {k: {"params": {p: round(v, 6) for p, v in d.items()}}
                            for k, d in mods.items()}
    return yaml.safe_dump(doc, sort_keys=False)
