"""The configuration files of ``idlib-sim sensitivity`` and ``idlib-sim select``
(``analyses/sensitivity.yaml``, ``analyses/select.yaml``), read strictly like a calibration
config: a bad value is ``file:line: field 'a': value ...: reason``, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sim.calibration import space
from sim.errors import ScenarioError, did_you_mean
from sim.scenario.yamlread import read_yaml


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: str = Field(min_length=1)
    """The scenario the analysis runs on, relative to the config file."""
    seed: int = Field(strict=True, ge=1, le=2**63 - 1)


class SensitivityConfig(_Config):
    """Sobol indices over the posterior ranges (:mod:`sim.sensitivity`)."""

    base_samples: int = Field(64, strict=True, ge=4, le=65_536)
    """Saltelli base sample ``N``: ``N x (D + 2)`` parameter points are run. A power of 2."""
    replicas: int = Field(64, strict=True, ge=1, le=8192)
    """Replicas per parameter point, the same seed at every point (common random numbers)."""
    range_quantiles: tuple[float, float] = (0.025, 0.975)
    """Each parameter varies uniformly between these quantiles of its posterior samples."""
    bootstrap: int = Field(1000, strict=True, ge=10, le=100_000)
    params: list[str] | None = None
    """Calibrated dimensions to vary (default: every column of the posterior)."""
    workers: int | None = Field(None, strict=True, ge=1, le=1024)

    @field_validator("base_samples")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v & (v - 1):
            raise ValueError("must be a power of 2 (Sobol' sequence balance)")
        return v

    @field_validator("range_quantiles")
    @classmethod
    def _quantiles(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0.0 <= v[0] < v[1] <= 1.0:
            raise ValueError("must be two quantiles 0 <= low < high <= 1")
        return v


class SelectionConfig(_Config):
    """ABC model choice by rejection on a shared reference table (:mod:`sim.selection`)."""

    per_model: int = Field(200, strict=True, ge=5, le=100_000)
    """Prior simulations per model in the reference table."""
    replicas: int = Field(32, strict=True, ge=1, le=8192)
    """Replicas per simulation (fresh seed each), as the calibration's distance."""
    accept: float = Field(0.1, gt=0.0, le=1.0)
    """Fraction of the whole reference table accepted (the closest to the record)."""
    bootstrap: int = Field(1000, strict=True, ge=10, le=100_000)
    prior_widths: dict[str, float] = Field(
        default_factory=lambda: {"as calibrated": 1.0, "narrowed x0.75": 0.75,
                                 "widened x1.25": 1.25})
    """Prior settings: each dimension's prior on the unit cube squeezed about its middle by this
    factor (narrowed) or, above 1, a mixture widened towards the ranges' ends."""
    models: list[str] = Field(default_factory=lambda: ["full", "no_turkey", "no_counteroffensive",
                                                       "no_russian_air"])
    workers: int | None = Field(None, strict=True, ge=1, le=1024)

    @field_validator("prior_widths")
    @classmethod
    def _widths(cls, v: dict[str, float]) -> dict[str, float]:
        if not v or any(not 0.05 <= w <= 1.7 for w in v.values()):
            raise ValueError("each width must be between 0.05 and 1.7 (a Beta prior on the "
                             "unit cube is at most sqrt(3) times as wide as the uniform)")
        return v


C = TypeVar("C", bound=_Config)


def load(path: str | Path, model: type[C]) -> tuple[C, Path]:
    """The config and the resolved scenario path (:class:`ScenarioError` naming file, line,
    field and value)."""
    p = Path(path)
    if p.is_dir():
        raise ScenarioError(f"{p}: a folder, not a config file")
    doc = read_yaml(p.resolve(), what="an analysis config")
    raw = {} if doc.data is None else doc.data
    if not isinstance(raw, dict):
        raise ScenarioError(f"{p}:1: a config must be a mapping, got {type(raw).__name__}")
    try:
        cfg = model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        field = ".".join(str(x) for x in loc) or "(top level)"
        line = doc.origin.find(loc[:1]).line
        if err["type"] == "extra_forbidden":
            what = f"unknown key {str(loc[-1])!r}" + did_you_mean(str(loc[-1]),
                                                                   list(model.model_fields))
        else:
            what = f"value {str(err.get('input'))[:80]!r}: " + \
                str(err["msg"]).removeprefix("Value error, ")
        raise ScenarioError(f"{p}:{line}: field '{field}': {what}") from None
    names = getattr(cfg, "params", None) or []
    for name in names:
        if name not in space.NAMES:
            line = doc.origin.find(("params",)).line
            raise ScenarioError(f"{p}:{line}: field 'params': value {name!r}: not a calibrated "
                                "dimension" + did_you_mean(name, space.NAMES))
    scenario = (p.parent / cfg.scenario).resolve()
    if not scenario.is_file():
        line = doc.origin.find(("scenario",)).line
        raise ScenarioError(f"{p}:{line}: field 'scenario': value {cfg.scenario!r}: no such file")
    return cfg, scenario


def config_dict(cfg: Any) -> dict[str, Any]:
    """The config as recorded in an output's manifest."""
    return dict(cfg.model_dump(mode="json"))
