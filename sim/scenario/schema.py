"""The scenario schema: what a resolved scenario file may say, strictly typed and bounded.

Every field is strict (``seed: true`` or ``replicas: "5"`` are refused, not converted), every
number bounded, every date written ``YYYY-MM-DD`` (:mod:`sim.model.dates`). The period is bounded
to what the model means (:class:`Period`). ``params`` are the front model's
(:class:`~sim.scenario.params.ScenarioParams`); ``posterior`` names a file of parameter samples
drawn one row per replica (:class:`~sim.model.posterior.Posterior`), read by the loader.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator

from sim.model.dates import IsoDate
from sim.model.modifiers import Modifier
from sim.model.posterior import Posterior
from sim.scenario.params import ScenarioParams
from sim.theatre.theatre import CAMPAIGN_END, CAMPAIGN_START

#: First day never simulated: a run covers at most 19 Dec 2019 .. 31 Dec 2020. The forces, orders
#: and modifiers describe the 2019-20 offensive; a year past the Moscow ceasefire is as far as a
#: counterfactual on them can mean anything (and it keeps every day index and array small).
HORIZON_END = dt.date(2021, 1, 1)

#: A scenario's name is a file name of its default output folder: no separators, not ``.``/``..``.
NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")

_STRICT = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


class Period(BaseModel):
    """``start`` .. ``end`` (first day not simulated), within ``CAMPAIGN_START .. HORIZON_END``."""

    model_config = _STRICT
    start: IsoDate = CAMPAIGN_START
    end: IsoDate = CAMPAIGN_END
    """First day not simulated."""

    @field_validator("start", mode="after")
    @classmethod
    def _start(cls, start: dt.date) -> dt.date:
        # Initial control is the front of 18 Dec 2019: a run cannot start before it.
        if start < CAMPAIGN_START:
            raise ValueError(f"start {start} is before the offensive ({CAMPAIGN_START})")
        return start

    @field_validator("end", mode="after")
    @classmethod
    def _end(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        if end > HORIZON_END:
            raise ValueError(f"end {end} is after {HORIZON_END}: the model describes the 2019-20 "
                             "offensive, so a run covers at most the year 2020")
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError(f"end {end} is not after start {start}")
        return end


FigureFormat = Literal["png", "svg", "pdf"]


class Outputs(BaseModel):
    model_config = _STRICT
    plots: bool = True
    event_log: bool = True
    """SimPy engine only: write the full event log."""
    animation: bool = False
    """Write ``front.gif`` (P(held) by day; a few seconds per run, so off by default)."""
    figure_formats: list[FigureFormat] = Field(default_factory=lambda: list[FigureFormat](["png"]))
    """Formats of every figure; PNG is always written, SVG or PDF beside it on request."""


class FormationOverride(BaseModel):
    model_config = _STRICT
    strength_k: float | None = Field(default=None, gt=0, le=50)
    """Thousands of fighters; the seeds' formations hold 1-15 k."""


class SectorOverride(BaseModel):
    model_config = _STRICT
    strength_k: float | None = Field(default=None, gt=0, le=100)


class OrderOverride(BaseModel):
    """A dated order added to a formation's orders (it supersedes earlier ones from ``start``)."""

    model_config = _STRICT
    start: IsoDate
    objectives: list[str] = Field(min_length=1, max_length=100)
    phase: str = Field("scenario", min_length=1, max_length=100)


class ForceOverrides(BaseModel):
    model_config = _STRICT
    formations: dict[str, FormationOverride] = Field(default_factory=dict)
    sectors: dict[str, SectorOverride] = Field(default_factory=dict)
    orders: dict[str, list[OrderOverride]] = Field(default_factory=dict)
    """At most 32 added orders a formation (the engines reserve 64 draw columns a group)."""

    @field_validator("orders", mode="after")
    @classmethod
    def _few_orders(cls, orders: dict[str, list[OrderOverride]]) -> dict[str, list[OrderOverride]]:
        for name, added in orders.items():
            if len(added) > 32:
                raise ValueError(f"{len(added)} orders added to {name!r}: at most 32")
        return orders


class Scenario(BaseModel):
    """A fully resolved scenario (after ``extends`` merging)."""

    model_config = _STRICT

    name: str
    """Letters, digits, ``_``, ``.``, ``-`` (it names the default output folder)."""
    description: str
    """The question the scenario asks."""
    extends: str | None = None
    period: Period = Field(default_factory=Period)
    engine: Literal["batch", "des"] = "batch"
    replicas: int = Field(1000, ge=1, le=10_000_000)
    seed: int = Field(20191219, ge=0, le=2**64 - 1)
    params: ScenarioParams = Field(default_factory=ScenarioParams)
    posterior: str | None = None
    """Path of a posterior file (resolved against the file that names it, so ``extends`` works);
    ``None``: every replica runs ``params``. The loader reads and checks it; see
    :meth:`posterior_samples`."""
    modifiers: dict[str, Modifier] = Field(default_factory=dict)
    forces: ForceOverrides = Field(default_factory=ForceOverrides)
    outputs: Outputs = Field(default_factory=Outputs)
    source_file: str = ""
    _posterior: Posterior | None = PrivateAttr(default=None)

    @field_validator("name", mode="after")
    @classmethod
    def _name(cls, name: str) -> str:
        if not NAME_RE.fullmatch(name) or name in (".", "..") or len(name) > 100:
            raise ValueError("a scenario name names its output folder: 1-100 letters, digits, "
                             "'_', '.' or '-' (no spaces or '/'), not '.' or '..'")
        return name

    @field_validator("description", mode="after")
    @classmethod
    def _description(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("the description states the scenario's question; it is blank")
        if len(text) > 4000:
            raise ValueError(f"{len(text)} characters: a description is at most 4000")
        return text

    @field_validator("extends", mode="after")
    @classmethod
    def _no_extends(cls, extends: str | None) -> str | None:
        # The loader follows and removes 'extends'; a Scenario validated directly from a mapping
        # would silently drop its parent (no modifiers at all): refuse it instead.
        if extends is not None:
            raise ValueError("a Scenario built directly cannot follow 'extends': load the "
                             "mapping with sim.load_scenario(data, base_dir=FOLDER), which "
                             "resolves it relative to FOLDER (default: the working folder)")
        return extends

    @field_validator("posterior", mode="after")
    @classmethod
    def _posterior_path(cls, path: str | None) -> str | None:
        if path is not None and (not path.strip() or len(path) > 4096 or "\0" in path):
            raise ValueError("must be a path to a posterior file (CSV of parameter samples)")
        return path

    def posterior_samples(self) -> Posterior | None:
        """The posterior the scenario names (read once; the loader reads it at load time so that
        a bad file is reported there), or ``None``.

        Raises
        ------
        sim.errors.PosteriorError
            for a scenario built in code whose posterior file is bad."""
        if self.posterior is None:
            return None
        if self._posterior is None or self._posterior.source != self.posterior:
            self._posterior = Posterior.read_csv(self.posterior)
        return self._posterior

    def digest(self) -> str:
        """SHA-256 of the resolved content (not of the file), for manifests: the posterior counts
        by its samples' digest, not by its path."""
        # the figures' file formats change no result: left out, so adding them kept every digest
        data = self.model_dump(mode="json", exclude={"source_file": True, "extends": True,
                                                     "posterior": True,
                                                     "outputs": {"figure_formats"}})
        post = self.posterior_samples()
        data["posterior_sha256"] = None if post is None else post.digest()
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()

    def modifier_list(self) -> list[Modifier]:
        return list(self.modifiers.values())

    def with_modifier(self, name: str, **fields: Any) -> Scenario:
        """This scenario with modifier ``name`` changed, e.g. ``with_modifier("spring_shield",
        enabled=False)`` or ``with_modifier("russian_air_renewed", params={"sorties": 1.2})``.

        ``fields`` are a modifier's fields (``enabled``, ``start``, ``end``, ``params``,
        ``source``; dates as ``datetime.date`` or ``YYYY-MM-DD``); ``params`` merge key by key,
        as an ``extends`` child's do. The result is validated by the rules of a scenario file.

        Raises
        ------
        sim.errors.ScenarioError
            naming the scenario file, the field and the value, with "did you mean" for an
            unknown modifier or field.
        """
        from pydantic import ValidationError

        from sim.errors import ScenarioError, did_you_mean, quote

        where = f"{self.source_file or '<scenario>'}: with_modifier({name!r})"
        if name not in self.modifiers:
            raise ScenarioError(f"{where}: field 'modifiers.{name}': no such modifier"
                                + did_you_mean(name, self.modifiers)
                                + f"; the modifiers are {', '.join(self.modifiers) or 'none'}")
        allowed = [f for f in Modifier.model_fields if f not in ("name", "kind")]
        for key in fields:
            if key not in allowed:
                raise ScenarioError(f"{where}: field 'modifiers.{name}.{key}': unknown field"
                                    + did_you_mean(key, allowed)
                                    + f"; the fields are {', '.join(allowed)}")
        data = self.model_dump()
        mod = data["modifiers"][name]
        for key, value in fields.items():
            if isinstance(value, str) and key in ("start", "end"):
                try:
                    value = dt.date.fromisoformat(value)
                except ValueError:
                    raise ScenarioError(f"{where}: field 'modifiers.{name}.{key}': value "
                                        f"{quote(value)}: not a date (YYYY-MM-DD)") from None
            if key == "params" and isinstance(value, dict):
                value = {**mod["params"], **value}
            mod[key] = value
        try:
            out = Scenario.model_validate(data)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            loc = ".".join(str(x) for x in err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            raise ScenarioError(f"{where}: field '{loc}': value {quote(err.get('input'))}: "
                                f"{msg}") from None
        out._posterior = self._posterior  # the same file, already read and checked
        return out
