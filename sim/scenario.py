"""Scenario files: YAML that says what to simulate, validated strictly, with ``extends``.

A scenario holds only what differs from the scenario it extends; mappings merge key by key
(modifiers by name), everything else replaces. Errors are :class:`~sim.errors.ScenarioError`s
naming the file, the line, the field path and the value, with "did you mean" for unknown keys and
town names. Only ``yaml.safe_load``-equivalent loading is used (``yaml.compose`` with SafeLoader).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import ScenarioError, did_you_mean
from sim.model.modifiers import Modifier
from sim.model.params import ModelParams
from sim.theatre.theatre import CAMPAIGN_END, CAMPAIGN_START


class Period(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    start: dt.date = CAMPAIGN_START
    end: dt.date = CAMPAIGN_END
    """First day not simulated."""

    @model_validator(mode="after")
    def _order(self) -> Period:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} is not after start {self.start}")
        if self.start < CAMPAIGN_START:
            raise ValueError(f"start {self.start} is before the offensive ({CAMPAIGN_START})")
        return self


class Outputs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    plots: bool = True
    event_log: bool = True
    """SimPy engine only: write the full event log."""


class FormationOverride(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    strength_k: float | None = Field(default=None, gt=0, le=50)


class SectorOverride(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    strength_k: float | None = Field(default=None, gt=0, le=100)


class OrderOverride(BaseModel):
    """A dated order added to a formation's orders (it supersedes earlier ones from ``start``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    start: dt.date
    objectives: list[str] = Field(min_length=1)
    phase: str = "scenario"


class ForceOverrides(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    formations: dict[str, FormationOverride] = Field(default_factory=dict)
    sectors: dict[str, SectorOverride] = Field(default_factory=dict)
    orders: dict[str, list[OrderOverride]] = Field(default_factory=dict)


class Scenario(BaseModel):
    """A fully resolved scenario (after ``extends`` merging)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    extends: str | None = None
    period: Period = Field(default_factory=Period)
    engine: Literal["batch", "des"] = "batch"
    replicas: int = Field(1000, ge=1, le=10_000_000)
    seed: int = Field(20191219, ge=0)
    params: ModelParams = Field(default_factory=ModelParams)
    modifiers: dict[str, Modifier] = Field(default_factory=dict)
    forces: ForceOverrides = Field(default_factory=ForceOverrides)
    outputs: Outputs = Field(default_factory=Outputs)
    source_file: str = ""

    def digest(self) -> str:
        """SHA-256 of the resolved content (not of the file), for manifests."""
        data = self.model_dump(mode="json", exclude={"source_file", "extends"})
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()

    def modifier_list(self) -> list[Modifier]:
        return list(self.modifiers.values())


# ----------------------------------------------------------------------------------------------
# YAML with line numbers


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves timestamps as strings: dates are parsed (and reported, with their
    line) by the schema, not by PyYAML, which raises a bare ValueError on e.g. 2020-02-30."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

def _compose(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text ({exc.reason})") from None
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # safe: _Loader is a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ":1"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{path}{line}: invalid YAML: {problem}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # a scalar PyYAML cannot construct
        raise ScenarioError(f"{path}:1: invalid YAML value: {exc}") from None
    return data, node


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Line (1-based) of the deepest node along ``loc`` that exists in the file."""
    best = node.start_mark.line + 1 if node is not None else None
    cur = node
    for key in loc:
        if isinstance(cur, yaml.MappingNode):
            nxt = None
            for k, v in cur.value:
                if str(k.value) == str(key):
                    best = k.start_mark.line + 1
                    nxt = v
                    break
            if nxt is None:
                return best
            cur = nxt
        elif isinstance(cur, yaml.SequenceNode) and isinstance(key, int) and key < len(cur.value):
            cur = cur.value[key]
            best = cur.start_mark.line + 1
        else:
            return best
    return best


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _raw(path: Path, chain: tuple[Path, ...]) -> tuple[dict[str, Any], dict[str, tuple[Path, Any]]]:
    """Merged mapping of ``path`` and its ancestors, and where each top-level key came from."""
    path = path.resolve()
    data, node = _compose(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}:1: a scenario must be a mapping, got {type(data).__name__}")
    origin: dict[str, tuple[Path, Any]] = {k: (path, node) for k in data}
    parent = data.get("extends")
    if parent is None:
        return data, origin
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(
            f"{path}:{_line_of(node, ('extends',))}: field 'extends': value {parent!r}: "
            "must be a path to another scenario file")
    ppath = Path(parent) if Path(parent).is_absolute() else path.parent / parent
    if not ppath.is_file():
        raise ScenarioError(
            f"{path}:{_line_of(node, ('extends',))}: field 'extends': value {parent!r}: "
            f"no such file ({ppath})")
    if ppath.resolve() in (*chain, path):
        cycle = " -> ".join(str(p) for p in (*chain, path, ppath.resolve()))
        raise ScenarioError(
            f"{path}:{_line_of(node, ('extends',))}: field 'extends': value {parent!r}: "
            f"cycle {cycle}")
    base, base_origin = _raw(ppath, (*chain, path))
    base = {k: v for k, v in base.items() if k not in ("name", "description")}
    merged = _merge(base, data)
    for k in base_origin:
        if k not in data:
            origin[k] = base_origin[k]
    return merged, origin


def _describe(exc: ValidationError, origin: dict[str, tuple[Path, Any]], fallback: Path,
              data: dict[str, Any]) -> str:
    err = exc.errors()[0]
    loc = tuple(x for x in err["loc"])
    top = str(loc[0]) if loc else ""
    path, node = origin.get(top, (fallback, None))
    line = _line_of(node, loc)
    field = ".".join(str(x) for x in loc) or "(top level)"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        # the unknown key is the last element; suggest from the model's fields at that level
        choices = _fields_at(loc[:-1], data)
        msg = f"unknown key {str(loc[-1])!r}" + did_you_mean(str(loc[-1]), choices)
        value = err.get("input")
        return f"{path}:{line}: field '{field}': {msg}" + (
            f" (value {value!r})" if not isinstance(value, dict) else "")
    value = err.get("input")
    shown = "" if isinstance(value, dict) else f" value {value!r}:"
    return f"{path}:{line}: field '{field}':{shown} {msg}"


def _fields_at(loc: tuple[Any, ...], data: dict[str, Any]) -> list[str]:
    """Field names allowed at ``loc`` (for "did you mean"); ``[]`` where keys are free names."""
    model: Any = Scenario
    i = 0
    while i < len(loc):
        fields = getattr(model, "model_fields", {})
        if str(loc[i]) not in fields:
            return []
        ann = fields[str(loc[i])].annotation
        if get_origin(ann) is dict:
            model, i = get_args(ann)[1], i + 2  # skip the free key, e.g. a modifier's name
        else:
            model, i = next((a for a in (ann, *get_args(ann)) if _is_model(a)), None), i + 1
        if not _is_model(model):
            return []
    return list(getattr(model, "model_fields", {}))


def _is_model(x: Any) -> bool:
    return isinstance(x, type) and issubclass(x, BaseModel)


def load_scenario(path: str | Path, check_names: bool = True) -> Scenario:
    """Load, merge (``extends``) and validate a scenario file.

    With ``check_names``, formation, sector and town names are checked against the default
    world (``seeds/``), with "did you mean" for misspellings.

    Raises
    ------
    ScenarioError
        with ``file:line: field 'a.b': value ...: reason``.
    """
    p = Path(path)
    data, origin = _raw(p, ())
    data.pop("extends", None)
    data.setdefault("source_file", str(p))
    mods = data.get("modifiers")
    if isinstance(mods, dict):  # a modifier's name is its key
        data["modifiers"] = {k: {**v, "name": k} if isinstance(v, dict) else v
                             for k, v in mods.items()}
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_describe(exc, origin, p.resolve(), data)) from None
    if check_names:
        _check_names(sc, origin, p.resolve())
    return sc


def _check_names(sc: Scenario, origin: dict[str, tuple[Path, Any]], fallback: Path) -> None:
    """Formation, sector and town names must exist in the default world."""
    from sim.errors import UnknownTownError
    from sim.world import default_world

    theatre, forces = default_world()
    path, node = origin.get("forces", (fallback, None))

    def fail(loc: tuple[Any, ...], value: str, reason: str) -> ScenarioError:
        where = ".".join(str(x) for x in loc)
        return ScenarioError(f"{path}:{_line_of(node, loc)}: field '{where}': value {value!r}: "
                             f"{reason}")

    for group, pool, label in (("formations", forces.formations, "formation"),
                               ("sectors", forces.sectors, "sector"),
                               ("orders", forces.formations, "formation")):
        for name in getattr(sc.forces, group):
            if name not in pool:
                raise fail(("forces", group, name), name,
                           f"unknown {label}" + did_you_mean(name, pool))
    for name, orders in sc.forces.orders.items():
        for i, order in enumerate(orders):
            for j, town in enumerate(order.objectives):
                try:
                    theatre.resolve(town)
                except UnknownTownError as exc:
                    raise fail(("forces", "orders", name, i, "objectives", j), town,
                               str(exc)) from None
