"""Dated modifiers: named, switchable objects that change the daily environment of the model.

A modifier is active on day ``d`` when ``start_day <= d < end_day`` (it takes effect at 00:00 of
its start date and stops at 00:00 of its end date; ``end=None`` means "to the end of the run").
The front model's campaign (:func:`sim.model.campaign.compile_calendar`) turns a list of
modifiers into per-day arrays once, at initialisation; both engines read those arrays and nothing
else, so a modifier that is switched off leaves no trace.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from sim.errors import did_you_mean
from sim.model.dates import IsoDate

#: Non-zero magnitudes below this are refused: no parameter means anything there and subnormal
#: floats only hide a typo.
TINY = 1e-12

ModifierKind = Literal[
    "russian_air",
    "weather",
    "ceasefire",
    "turkish_retaliation",
    "turkish_artillery",
    "spring_shield",
    "observation_posts",
]

#: Parameters each kind accepts: ``(default, low, high)``. Defaults are assumptions to be
#: calibrated unless a scenario file cites otherwise; the range says what the number can mean.
KIND_PARAM_RANGES: dict[str, dict[str, tuple[float, float, float]]] = {
    # sortie intensity relative to December's level (1); 10x is beyond any recorded surge
    "russian_air": {"sorties": (1.0, 0.0, 10.0)},
    # fractions of normal ground tempo and of flyable sorties
    "weather": {"ground_factor": (0.25, 0.0, 1.0), "air_factor": (0.0, 0.0, 1.0)},
    # fraction of the fighting that leaks through a ceasefire
    "ceasefire": {"intensity": (0.2, 0.0, 1.0)},
    # fraction of a formation lost per day: anything short of all of it
    "turkish_retaliation": {"attrition_frac": (0.04, 0.0, 0.99)},
    # multipliers of rebel counterattacks and of defence
    "turkish_artillery": {"counterattack_mult": (1.5, 0.0, 20.0),
                          "defence_mult": (1.15, 0.1, 10.0)},
    "spring_shield": {
        "drone_attrition_per_day": (0.03, 0.0, 0.99),
        "counterattack_mult": (2.5, 0.0, 20.0),
        "defence_mult": (1.3, 0.1, 10.0),
        "air_denial": (0.5, 0.0, 1.0),  # fraction of sorties denied
    },
    "observation_posts": {},
}

#: Parameters each kind accepts, with their defaults.
KIND_PARAMS: dict[str, dict[str, float]] = {
    kind: {k: v[0] for k, v in table.items()} for kind, table in KIND_PARAM_RANGES.items()}

class Modifier(BaseModel):
    """One named, dated modifier."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    kind: ModifierKind
    start: IsoDate
    end: IsoDate | None = None
    enabled: bool = True
    params: dict[str, float] = Field(default_factory=dict)
    source: str = Field("", max_length=2000)

    @field_validator("end", mode="after")
    @classmethod
    def _end_after_start(cls, end: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("start")
        if end is not None and start is not None and end <= start:
            raise ValueError(f"end {end} is not after start {start}")
        return end

    @field_validator("params", mode="after")
    @classmethod
    def _params_of_kind(cls, params: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        kind = info.data.get("kind")
        if kind is None:  # the kind itself is wrong: reported on its own
            return params
        allowed = KIND_PARAM_RANGES[kind]
        for key, value in params.items():
            if key not in allowed:
                raise ValueError(f"a {kind!r} modifier has no parameter {key!r}"
                                 + did_you_mean(key, allowed)
                                 + f"; it takes {sorted(allowed) or 'none'}")
            _, low, high = allowed[key]
            if not (np.isfinite(value) and low <= value <= high):
                raise ValueError(f"parameter {key!r} = {value!r} is outside [{low}, {high}]")
            if value != 0 and abs(value) < TINY:
                raise ValueError(f"parameter {key!r} = {value!r} is too small to mean anything")
        return params

    def param(self, key: str) -> float:
        return float(self.params.get(key, KIND_PARAMS[self.kind][key]))
