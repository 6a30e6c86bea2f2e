"""The front model's parameters as a scenario file writes them: :class:`FrontParams`, strictly.

:class:`ScenarioParams` is :class:`~sim.model.front_params.FrontParams` (every field, its range
and its validation) read the way every other scenario field is read: strict numbers (``true``,
``"0.3"``, NaN and infinities are refused, not converted) and no non-zero magnitude below
:data:`~sim.model.modifiers.TINY` (``1e-308`` is not a rate: write 0 or a real value). An unknown
key gets "did you mean" from the loader (:mod:`sim.scenario.load`).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, field_validator, model_validator

from sim.model.front_params import FrontParams
from sim.model.modifiers import TINY

#: Fields that hold tuples: YAML writes them as lists, which strict validation would refuse.
_TUPLES = tuple(k for k, f in FrontParams.model_fields.items()
                if str(f.annotation).startswith("tuple"))


class ScenarioParams(FrontParams):
    """:class:`FrontParams` with the scenario file's strictness (a subclass: the engines and the
    campaign take it as the :class:`FrontParams` it is)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _lists_to_tuples(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: tuple(v) if k in _TUPLES and isinstance(v, list) else v
                    for k, v in data.items()}
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _not_tiny(cls, value: Any) -> Any:
        items = (value.values() if isinstance(value, dict) else
                 value if isinstance(value, tuple) else [value])
        for x in items:
            if isinstance(x, float) and x != 0 and abs(x) < TINY:
                raise ValueError(f"{x!r} is too small to mean anything "
                                 f"(write 0 or a value >= {TINY})")
        return value
