"""The configuration of a calibration run (``calibration/default.yaml``), read strictly.

The file is read like a scenario (:mod:`sim.scenario`'s YAML reader: safe loading, dates left to
the schema, line numbers kept), so a bad value is reported as ``file:line: field 'a.b': value
...: reason``, never a traceback. Every number has a bound that keeps a run meaningful and
within memory: the limits are stated beside each field.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sim.calibration import space
from sim.errors import ScenarioError, did_you_mean
from sim.scenario.yamlread import Origin, read_yaml
from sim.theatre.theatre import CAMPAIGN_END, CAMPAIGN_START

#: Run names become folder names under ``--out-root``: no separators, not ``.`` or ``..``.
NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,100}")

# Strict integers: YAML ``true`` is not 1. Replica bounds keep one evaluation's arrays (replicas x
# ~200 towns x a few bytes, collected in memory by ``objective.simulate``) well under 1 GB.
Replicas = Annotated[int, Field(strict=True, ge=16, le=200_000)]
Count = Annotated[int, Field(strict=True, ge=1, le=100_000)]


def check_name(value: str, what: str = "run name") -> str:
    """``value`` if it is a safe folder name, else :class:`ValueError` saying why."""
    if not NAME_RE.fullmatch(value) or value in (".", ".."):
        raise ValueError(f"a {what} is 1-100 of the characters A-Z a-z 0-9 _ . - "
                         "(no path separators) and not '.' or '..'")
    return value


class Posterior(BaseModel):
    """ABC-SMC (:mod:`sim.calibration.abc`)."""

    model_config = ConfigDict(extra="forbid")
    particles: int = Field(150, strict=True, ge=10, le=100_000)
    generations: int = Field(4, strict=True, ge=1, le=100)
    replicas: Replicas = 64
    """Replicas per distance evaluation (fresh seed each)."""
    quantile: float = Field(0.5, gt=0, lt=1, allow_inf_nan=False)
    """Each generation's tolerance: this quantile of the previous generation's distances."""
    min_acceptance: float = Field(0.05, gt=0, lt=1, allow_inf_nan=False)
    """Stop when a generation's acceptance rate would fall below this."""
    samples: Count = 1000
    """Draws resampled from the final weighted population into posterior_samples.csv."""


class Predictive(BaseModel):
    """Posterior predictive scoring: ``draws`` posterior draws x ``replicas_per_draw``."""

    model_config = ConfigDict(extra="forbid")
    draws: Count = 400
    replicas_per_draw: Replicas = 16


class Sbc(BaseModel):
    """Simulation-based calibration (:mod:`sim.calibration.sbc`)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(True, strict=True)
    reference: int = Field(300, strict=True, ge=20, le=100_000)
    """Prior simulations in the shared reference table."""
    truths: int = Field(40, strict=True, ge=5, le=10_000)
    """Synthetic records (one replica at one prior draw each) fitted."""
    min_accepted: int = Field(15, strict=True, ge=3, le=10_000)
    """Fewest reference draws accepted per synthetic record, whatever the tolerance."""


class Holdout(BaseModel):
    model_config = ConfigDict(extra="forbid")
    last_in_sample: dt.date = dt.date(2020, 2, 10)
    """Last day of the fitted targets; both sides must hold targets, so it lies in the campaign."""
    enabled: bool = Field(True, strict=True)

    @field_validator("last_in_sample")
    @classmethod
    def _in_campaign(cls, v: dt.date) -> dt.date:
        last = CAMPAIGN_END - dt.timedelta(days=2)
        if not CAMPAIGN_START <= v <= last:
            raise ValueError(f"must lie within the campaign, {CAMPAIGN_START} to {last}")
        return v


class CalibrationConfig(BaseModel):
    """A calibration run's configuration (``calibration/default.yaml``)."""

    model_config = ConfigDict(extra="forbid")
    name: str = "default"
    scenario: str = Field("../scenarios/baseline.yaml", min_length=1, max_length=1000)
    """Scenario to calibrate, relative to the config file."""
    seed: int = Field(20200306, strict=True, ge=0, le=2**32 - 1)
    """Root of every random stream of the run (0 .. 2**32 - 1, the range earlier configs used)."""
    dims: list[str] | None = Field(None, min_length=1)
    """Dimensions to fit (names of :data:`.space.SPACE`); ``None``: all of them. The others
    stay at the scenario's values."""
    posterior: Posterior = Field(default_factory=Posterior)
    holdout: Holdout = Field(default_factory=Holdout)
    predictive: Predictive = Field(default_factory=Predictive)
    sbc: Sbc = Field(default_factory=Sbc)
    plots: bool = Field(True, strict=True)
    """Draw the diagnostic plots (tests switch them off: they take longer than a tiny fit)."""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_name(v)


def _short(value: object, limit: int = 80) -> str:
    r = repr(value)
    return r if len(r) <= limit else r[: limit - 3] + "..."


def _describe(p: Path, origin: Origin, exc: ValidationError) -> str:
    msgs = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(x) for x in loc) or "(top level)"
        line = origin.find(loc).line
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            choices = _fields_at(loc[:-1])
            what = f"unknown key {str(loc[-1])!r}" + did_you_mean(str(loc[-1]), choices)
            msgs.append((line, f"{p}:{line}: field '{field}': {what}"))
            continue
        shown = "" if isinstance(value, dict) else f" value {_short(value)}:"
        reason = str(err["msg"]).removeprefix("Value error, ")
        msgs.append((line, f"{p}:{line}: field '{field}':{shown} {reason}"))
    msgs.sort(key=lambda m: m[0])
    more = f" (and {len(msgs) - 1} more)" if len(msgs) > 1 else ""
    return msgs[0][1] + more


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    model: Any = CalibrationConfig
    for key in loc:
        ann = model.model_fields.get(str(key))
        model = ann.annotation if ann is not None else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return list(model.model_fields)


def load_config(path: str | Path) -> tuple[CalibrationConfig, Path]:
    """The config and the resolved scenario path.

    Raises
    ------
    ScenarioError
        ``file:line: field 'a.b': value ...: reason`` for bad YAML, an unknown key, a value out
        of range, an unknown dimension (with "did you mean") or a missing scenario file.
    """
    p = Path(path)
    if p.is_dir():
        raise ScenarioError(f"{p}: a folder, not a calibration config file")
    try:
        doc = read_yaml(p.resolve(), what="a calibration config")
    except OSError as exc:  # resolving the path itself failed
        raise ScenarioError(f"{p}: cannot read ({exc.strerror})") from None
    raw, origin = ({} if doc.data is None else doc.data), doc.origin
    if not isinstance(raw, dict):
        raise ScenarioError(f"{p}:1: a calibration config must be a mapping, got "
                            f"{type(raw).__name__}")
    try:
        cfg = CalibrationConfig.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(_describe(p, origin, exc)) from None
    known = list(space.NAMES)
    for field, names in (("dims", cfg.dims or []),):
        for i, name in enumerate(names):
            line = origin.find((*field.split("."), i)).line
            if name not in known:
                raise ScenarioError(f"{p}:{line}: field '{field}': value {_short(name)}: not a "
                                    "calibrated dimension" + did_you_mean(name, known))
            if name in names[:i]:
                raise ScenarioError(f"{p}:{line}: field '{field}': value {name!r}: listed twice")
    line = origin.find(("scenario",)).line
    try:
        scenario = (p.parent / cfg.scenario).resolve()
        found = scenario.is_file()
    except (OSError, ValueError) as exc:  # e.g. a name too long for the file system, a NUL byte
        raise ScenarioError(f"{p}:{line}: field 'scenario': value {_short(cfg.scenario)}: "
                            f"not a usable path ({getattr(exc, 'strerror', None) or exc})"
                            ) from None
    if not found:
        raise ScenarioError(f"{p}:{line}: field 'scenario': value {_short(cfg.scenario)}: no "
                            f"such file ({_short(str(scenario), 200)})")
    return cfg, scenario
