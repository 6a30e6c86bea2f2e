"""The front model's parameters as a scenario file writes them: :class:`FrontParams`, strictly.

:class:`ScenarioParams` is :class:`~sim.model.params.FrontParams` (every field, its range
and its validation) read the way every other scenario field is read: strict numbers (``true``,
``"0.3"``, NaN and infinities are refused, not converted) and no non-zero magnitude below
:data:`~sim.model.modifiers.TINY` (``1e-308`` is not a rate: write 0 or a real value). An unknown
key gets "did you mean" from the loader (:mod:`sim.scenario.load`). ``terrain_factor`` and
``posture_factor`` may name only some of their classes: the others keep their defaults.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sim.model.modifiers import TINY
from sim.model.params import FrontParams

Terrain = Literal["plain", "hills", "mountain", "urban"]
"""Terrain classes of ``seeds/towns.csv`` (the theatre loader checks the same set)."""
Posture = Literal["hasty", "prepared", "fortified"]
"""Defender postures (:data:`sim.theatre.theatre.POSTURES`)."""


def _not_tiny(x: Any) -> Any:
    if isinstance(x, float) and x != 0 and abs(x) < TINY:
        raise ValueError(f"{x!r} is too small to mean anything (write 0 or a value >= {TINY})")
    return x


Factor = Annotated[float, Field(gt=0, le=2), AfterValidator(_not_tiny)]
"""A rate multiplier of a terrain or posture class, ``(0, 2]`` (as :class:`FrontParams` checks)."""

#: Fields that hold tuples: YAML writes them as lists, which strict validation would refuse.
_TUPLES = tuple(k for k, f in FrontParams.model_fields.items()
                if str(f.annotation).startswith("tuple"))


class ScenarioParams(FrontParams):
    """:class:`FrontParams` with the scenario file's strictness (a subclass: the engines and the
    campaign take it as the :class:`FrontParams` it is)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    # typed keys and values, so that an error names the class (and "did you mean" finds it)
    # (narrower keys than the base class's dict[str, float]: a refinement mypy cannot see)
    posture_factor: dict[Posture, Factor] = Field(  # type: ignore[assignment]
        default_factory=lambda: dict(FrontParams().posture_factor))  # type: ignore[arg-type]
    terrain_factor: dict[Terrain, Factor] = Field(  # type: ignore[assignment]
        default_factory=lambda: dict(FrontParams().terrain_factor))  # type: ignore[arg-type]

    @field_validator("posture_factor", "terrain_factor", mode="after")
    @classmethod
    def _merge_defaults(cls, value: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        """A partial mapping keeps the defaults of the classes it does not name."""
        assert info.field_name is not None
        return {**getattr(FrontParams(), info.field_name), **value}

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
        for x in value if isinstance(value, tuple) else [value]:
            _not_tiny(x)
        return value
