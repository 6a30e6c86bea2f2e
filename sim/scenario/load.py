"""Loading a scenario: the ``extends`` chain, merging with the origin of every value, validation,
and every error at once, each at the file and line that wrote the offending value.

A scenario holds only what differs from the scenario it ``extends``; mappings merge key by key
(modifiers by name), everything else replaces. ``extends`` names a local file (relative to the
file, or absolute) and is read as a scenario file with the same budgets; a chain is read in one
pass, at most :data:`MAX_CHAIN` files long. ``posterior`` is resolved against the file that
writes it, and the posterior file is read and checked here, its errors located at that entry.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from sim.errors import (
    PosteriorError,
    ScenarioError,
    UnknownTownError,
    did_you_mean,
    quote,
    show_path,
)
from sim.model.modifiers import KIND_PARAM_RANGES
from sim.model.posterior import UNUSED, Posterior
from sim.scenario.schema import Scenario
from sim.scenario.yamlread import Document, Loc, Origin, read_yaml

MAX_CHAIN = 20
"""Longest ``extends`` chain read (the shipped ones are 2 files long)."""
MAX_ERRORS = 10
"""Errors shown per file; the rest are counted."""
DICT_SOURCE = "<dict>"
"""How messages name a scenario given as a mapping."""

_Err = tuple[str, int, str]  # file, line, message
_FIELDS = frozenset(Scenario.model_fields) - {"source_file"}


def load_scenario(path: str | Path | Mapping[str, Any], check_names: bool = True, *,
                  base_dir: str | Path | None = None) -> Scenario:
    """Load, merge (``extends``) and validate a scenario file, or a mapping written like one.

    With ``check_names``, formation, sector and town names are checked against the default
    world (``seeds/``), with "did you mean" for misspellings.

    A mapping (e.g. ``{"name": "x", "description": "...", "extends": "baseline.yaml",
    "modifiers": {"spring_shield": {"enabled": False}}}``) is read as a file in ``base_dir``
    would be: its ``extends`` and ``posterior`` paths are relative to ``base_dir`` (default: the
    working folder); errors name it ``<dict>``. ``base_dir`` is only for mappings.

    Raises
    ------
    ScenarioError
        one line per error (at most :data:`MAX_ERRORS`), sorted by file and line, each
        ``file:line: field 'a.b': value ...: reason``.
    """
    if isinstance(path, Mapping):
        folder = Path.cwd() if base_dir is None else Path(base_dir)
        first: Document | None = Document(folder / DICT_SOURCE, _plain(path),
                                          _origin_of(path, DICT_SOURCE))
        path = DICT_SOURCE
    elif base_dir is not None:
        raise ScenarioError(f"{show_path(path)}: base_dir is only for a scenario given as a "
                            "mapping (a file's 'extends' is relative to the file)")
    else:
        first = None
    docs = _chain(Path(path), first)
    written = _resolve_posterior(docs)
    data, origin = _merged(docs)
    data.pop("extends", None)
    errors: list[_Err] = []
    if "source_file" in data:
        where = origin.find(("source_file",))
        errors.append((where.file, where.line, f"{where.file}:{where.line}: field 'source_file': "
                       "unknown key 'source_file' (set by the loader, not by the file)"))
    data["source_file"] = str(path)
    mods = data.get("modifiers")
    if isinstance(mods, dict):  # a modifier's name is its key
        data["modifiers"] = {k: {**v, "name": k} if isinstance(v, dict) else v
                             for k, v in mods.items()}
    sc = None
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        errors.extend(_describe(exc, origin, data))
    if check_names:
        errors.extend(_check_names(data, origin))
    if sc is not None and sc.posterior is not None:
        where = origin.find(("posterior",))
        try:
            post = sc.posterior_samples()
        except PosteriorError as exc:
            post = None
            errors.append((where.file, where.line, f"{where.file}:{where.line}: field "
                           f"'posterior': value {quote(written.get(sc.posterior))}: {exc}"))
        if post is not None:
            errors.extend((where.file, where.line, f"{where.file}:{where.line}: field "
                           f"'posterior': value {quote(written.get(sc.posterior))}: {msg}")
                          for msg in posterior_mismatch(sc.modifiers, post))
    if errors or sc is None:
        raise ScenarioError(_report(errors, [show_path(d.path) for d in docs]))
    return sc


def with_overrides(sc: Scenario, *, engine: str | None = None, replicas: int | None = None,
                   seed: int | None = None, sets: Mapping[str, Any] | None = None) -> Scenario:
    """``sc`` with command-line overrides, validated by the same rules as the file's fields.

    ``sets`` maps dotted field paths to values, e.g. ``{"params.speed_scale": 0.3,
    "modifiers.spring_shield.params.counterattack_mult": 2.0, "posterior": None}``; a
    modifier's parameter may also be written ``modifiers.<name>.<parameter>``. ``posterior``
    set to a path (relative to the working directory) reads that file; ``None`` turns the
    posterior off (every replica runs ``params``).

    Raises
    ------
    ScenarioError
        ``command line: option '--replicas': value 0: ...`` for a value the file could not hold,
        ``command line: setting 'params.sped_scale': ...`` for an unknown path or a bad value.
    """
    changes = {k: v for k, v in (("engine", engine), ("replicas", replicas), ("seed", seed))
               if v is not None}
    if not changes and not sets:
        return sc
    data = sc.model_dump()
    data.update(changes)
    for path, value in (sets or {}).items():
        _set_path(data, path, value)
    try:
        out = Scenario.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            loc = [str(x) for x in err["loc"] if x != "[key]"]
            key = loc[0] if loc else "?"
            what = (f"option '--{key}'" if key in changes else
                    f"setting '{'.'.join(loc)}'")
            lines.append(f"command line: {what}: value {quote(err.get('input'))}: "
                         f"{_msg(err)} (the same rule as the field {key!r} of a scenario file)")
        raise ScenarioError("\n".join(lines)) from None
    if out.posterior is not None:
        if out.posterior == sc.posterior:
            out._posterior = sc._posterior  # the same file: already read and checked
        try:
            post = out.posterior_samples()
        except PosteriorError as exc:
            raise ScenarioError(f"command line: setting 'posterior': {exc}") from None
        bad = posterior_mismatch(out.modifiers, post) if post is not None else []
        if bad:
            raise ScenarioError(f"command line: setting 'posterior': {bad[0]}")
    return out


def posterior_mismatch(modifiers: Mapping[str, Any], post: Posterior) -> list[str]:
    """Why ``post`` does not fit a scenario with ``modifiers`` (a column names a modifier the
    scenario lacks, or a parameter its kind does not take); ``[]`` if it fits."""
    out = []
    for name, param in post.modifier_columns():
        col = f"modifiers.{name}.{param}"
        if name not in modifiers:
            out.append(f"column {col!r}: the scenario has no modifier {name!r}"
                       + did_you_mean(name, modifiers))
            continue
        kind = modifiers[name].kind
        if param not in KIND_PARAM_RANGES[kind]:
            out.append(f"column {col!r}: a {kind!r} modifier has no parameter {param!r}"
                       + did_you_mean(param, KIND_PARAM_RANGES[kind]))
        elif (kind, param) in UNUSED:
            out.append(f"column {col!r}: the front model does not use a {kind!r} modifier's "
                       f"{param!r}")
    return out


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set dotted ``path`` of the dumped scenario ``data`` to ``value`` (in place)."""
    keys = path.split(".")
    if keys[0] not in _FIELDS:
        raise ScenarioError(f"command line: setting {path!r}: unknown field {keys[0]!r}"
                            + did_you_mean(keys[0], sorted(_FIELDS)))
    if keys[0] == "modifiers" and len(keys) == 3 and keys[2] != "enabled":
        mod = data["modifiers"].get(keys[1])
        if isinstance(mod, dict) and keys[2] not in mod:  # modifiers.<name>.<parameter>
            keys = [keys[0], keys[1], "params", keys[2]]
    node: Any = data
    for i, key in enumerate(keys[:-1]):
        nxt = node.get(key) if isinstance(node, dict) else None
        if not isinstance(nxt, dict):
            here = ".".join(keys[:i + 1])
            choices = list(node) if isinstance(node, dict) else []
            raise ScenarioError(f"command line: setting {path!r}: no {here!r}"
                                + did_you_mean(key, choices))
        node = nxt
    leaf = keys[-1]
    if leaf not in node and not (len(keys) == 4 and keys[2] == "params"):
        raise ScenarioError(f"command line: setting {path!r}: no field {leaf!r}"
                            + did_you_mean(leaf, list(node)))
    node[leaf] = value


# ----------------------------------------------------------------------------- the chain

def _plain(data: Any) -> Any:
    """A copy of a mapping given in code, with its nested mappings as plain dicts."""
    if isinstance(data, Mapping):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    return data


def _origin_of(data: Any, label: str) -> Origin:
    """Origins for a mapping given in code: every value at ``label``, line 1."""
    if isinstance(data, Mapping):
        return Origin(label, 1, {k: _origin_of(v, label) for k, v in data.items()})
    if isinstance(data, list | tuple):
        return Origin(label, 1, {i: _origin_of(v, label) for i, v in enumerate(data)})
    return Origin(label, 1)


def _chain(path: Path, first: Document | None = None) -> list[Document]:
    """The file (or the mapping ``first``) and its ancestors, child first, read iteratively
    (linear in the chain)."""
    docs: list[Document] = []
    seen: set[Path] = set()
    cur, link = path, None  # link: (file, line, value) of the 'extends' that led to ``cur``
    while True:
        if first is not None:  # a mapping given in code: its 'extends' is relative to its folder
            doc, first = first, None
            if not isinstance(doc.data, dict):
                raise ScenarioError(f"{DICT_SOURCE}: a scenario is a mapping, got "
                                    f"{type(doc.data).__name__}")
            docs.append(doc)
            parent = doc.data.get("extends")
            if parent is None:
                return docs
            link = (DICT_SOURCE, 1, parent)
            if (not isinstance(parent, str) or not parent.strip() or len(parent) > 4096
                    or "\0" in parent):
                raise _at(link, "must be a path to another scenario file")
            p = Path(parent)
            cur = p if p.is_absolute() else doc.path.parent / p
            continue
        try:
            resolved = cur.resolve()
            missing = link is not None and not resolved.is_file()
        except (OSError, ValueError, RuntimeError) as exc:  # too long a name, a symlink loop
            if link is None:
                raise ScenarioError(f"{show_path(cur)}: cannot read ({exc})") from None
            raise _at(link, f"cannot read it ({type(exc).__name__})") from None
        if link is not None and missing:
            raise _at(link, f"no such file ({show_path(resolved)})")
        if resolved in seen:
            raise _at(link, f"cycle: {show_path(resolved)} is already in the chain")
        if len(docs) >= MAX_CHAIN:
            raise _at(link, f"an extends chain is at most {MAX_CHAIN} files long")
        doc = read_yaml(resolved, _FIELDS)
        docs.append(doc)
        seen.add(resolved)
        parent = doc.data.get("extends") if isinstance(doc.data, dict) else None
        if parent is None:
            return docs
        line = doc.origin.kids["extends"].line
        link = (show_path(resolved), line, parent)
        if (not isinstance(parent, str) or not parent.strip() or len(parent) > 4096
                or "\0" in parent):
            raise _at(link, "must be a path to another scenario file")
        p = Path(parent)
        cur = p if p.is_absolute() else resolved.parent / p


def _at(link: tuple[str, int, Any] | None, reason: str) -> ScenarioError:
    assert link is not None
    file, line, value = link
    return ScenarioError(f"{file}:{line}: field 'extends': value {quote(value)}: {reason}")


def _resolve_posterior(docs: list[Document]) -> dict[str, Any]:
    """Make each file's ``posterior`` path relative to that file, in place; returns resolved
    path -> the value as written (for messages)."""
    written: dict[str, Any] = {}
    for doc in docs:
        value = doc.data.get("posterior") if isinstance(doc.data, dict) else None
        if isinstance(value, str) and value.strip() and "\0" not in value and len(value) <= 4096:
            full = os.path.normpath(doc.path.parent / value)
            written.setdefault(full, value)
            doc.data["posterior"] = full
    return written


def _merged(docs: list[Document]) -> tuple[dict[Any, Any], Origin]:
    """Merge the chain (furthest ancestor first); the child states its own name and question."""
    data: dict[Any, Any] = {}
    origin = Origin(docs[-1].origin.file, 1)
    for i, doc in enumerate(reversed(docs)):
        if i:
            for key in ("name", "description"):
                data.pop(key, None)
                origin.kids.pop(key, None)
        data, origin = _merge(data, origin, doc.data or {}, doc.origin)
    return data, origin


def _merge(base: dict[Any, Any], borig: Origin, over: dict[Any, Any],
           oorig: Origin) -> tuple[dict[Any, Any], Origin]:
    out = dict(base)
    orig = Origin(oorig.file, oorig.line, dict(borig.kids))
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key], orig.kids[key] = _merge(out[key], borig.kids[key], value, oorig.kids[key])
        else:  # replaced: the parent's values below this key are gone, and so are their origins
            out[key], orig.kids[key] = value, oorig.kids[key]
    return out, orig


# ---------------------------------------------------------------------------- messages

def _msg(err: Any) -> str:
    return str(err["msg"]).removeprefix("Value error, ")


def _describe(exc: ValidationError, origin: Origin, data: dict[Any, Any]) -> list[_Err]:
    out: list[_Err] = []
    named: set[Any] = set()
    for err in exc.errors(include_url=False):
        loc: Loc = tuple(x for x in err["loc"] if x != "[key]")
        typ, msg, value = err["type"], _msg(err), err.get("input")
        show_value = typ != "missing" and not isinstance(value, dict | list) and not (
            typ == "extra_forbidden" and value is None)
        if (typ == "missing" and len(loc) == 3 and loc[0] == "modifiers"
                and loc[2] in ("kind", "start")):
            # an override of a modifier the parent does not have: most likely a misspelt name
            if loc[1] in named:
                continue
            named.add(loc[1])
            others = [str(m) for m in data.get("modifiers", {}) if m != loc[1]]
            hint = did_you_mean(str(loc[1]), others)
            loc = loc[:2]
            msg = ((f"no modifier {quote(loc[1])} in the scenarios this one extends{hint}; "
                    if hint else "") + "a new modifier needs 'kind' and 'start'")
        elif typ == "extra_forbidden":
            msg = f"unknown key {quote(str(loc[-1]))}" + did_you_mean(str(loc[-1]),
                                                                       _fields_at(loc[:-1]))
        elif "[key]" in err["loc"] and typ == "literal_error":
            allowed = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
            msg = (f"unknown key {quote(str(loc[-1]))}" + did_you_mean(str(loc[-1]), allowed)
                   + f"; the keys are {', '.join(allowed)}")
            show_value = False
        where = origin.find(loc)
        field = ".".join(str(x) for x in loc) or "(top level)"
        if len(field) > 200:
            field = field[:200] + "..."
        shown = f" value {quote(value)}:" if show_value else ""
        out.append((where.file, where.line,
                    f"{where.file}:{where.line}: field '{field}':{shown} {msg}"))
    return out


def _fields_at(loc: Loc) -> list[str]:
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


def _report(errors: list[_Err], files: list[str]) -> str:
    rank = {f: i for i, f in enumerate(files)}
    lines = [m for _, _, m in sorted(set(errors), key=lambda e: (rank.get(e[0], -1), e[1], e[2]))]
    if not lines:  # cannot happen: validation failed without an error
        return f"{files[0]}:1: invalid scenario"
    more = len(lines) - MAX_ERRORS
    return "\n".join(lines[:MAX_ERRORS] + ([f"... and {more} more errors"] if more > 0 else []))


def _check_names(data: dict[Any, Any], origin: Origin) -> list[_Err]:
    """Formation, sector and town names must exist in the default world (read from the raw
    data, so that they are reported together with the schema's errors)."""
    forces = data.get("forces")
    if not isinstance(forces, dict):
        return []
    from sim.world import default_world

    theatre, fo = default_world()
    out: list[_Err] = []

    def fail(loc: Loc, value: Any, reason: str) -> None:
        where = origin.find(loc)
        field = ".".join(str(x) for x in loc)
        out.append((where.file, where.line, f"{where.file}:{where.line}: field '{field}': "
                    f"value {quote(value)}: {reason}"))

    for group, pool, label in (("formations", fo.formations, "formation"),
                               ("sectors", fo.sectors, "sector"),
                               ("orders", fo.formations, "formation")):
        names = forces.get(group)
        if isinstance(names, dict):
            for name in names:
                if name not in pool:
                    fail(("forces", group, name), name,
                         f"unknown {label}" + did_you_mean(str(name), pool))
    orders = forces.get("orders")
    for name, added in orders.items() if isinstance(orders, dict) else ():
        for i, order in enumerate(added if isinstance(added, list) else ()):
            towns = order.get("objectives") if isinstance(order, dict) else None
            for j, town in enumerate(towns if isinstance(towns, list) else ()):
                if not isinstance(town, str):
                    continue
                try:
                    theatre.resolve(town)
                except UnknownTownError as exc:
                    fail(("forces", "orders", name, i, "objectives", j), town, str(exc))
    return out
