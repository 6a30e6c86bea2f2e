"""Reading one scenario file: bounded, safe YAML with the file and line of every value.

Only the safe subset of YAML is read (``yaml.SafeLoader``'s composer and scalar constructors) and
within budgets, so that no input can exhaust time, memory or the stack:

- a file is a regular file of at most :data:`MAX_FILE_BYTES` (the largest shipped one is ~5 KiB);
- nesting is at most :data:`MAX_DEPTH` levels (the schema needs 6), and a file holds at most
  :data:`MAX_NODES` values (baseline: ~150; PyYAML reads ~20,000 a second);
- aliases may add at most :data:`ALIAS_BUDGET` values in all ("billion laughs" is refused);
- duplicate keys are refused, naming both lines; merge keys (``<<``) and explicit tags other than
  the plain scalar ones are refused.

Timestamps stay text (the schema parses dates and reports them with their line), and floats are
read as YAML 1.2 writes them (``1e-3`` is a number, not the string PyYAML 1.1 would make of it).
Messages never quote a file's text beyond a short, truncated value (:func:`sim.errors.quote`):
a file that is not YAML mapping text is not echoed.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sim.errors import ScenarioError, quote, show_path

MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 32
MAX_NODES = 10_000
ALIAS_BUDGET = 1000

Loc = tuple[Any, ...]

_SCALAR_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null")}
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class Origin:
    """Where a value was written (``file``, 1-based ``line``) and where its children were."""

    file: str
    line: int
    kids: dict[Any, Origin] = field(default_factory=dict)

    def find(self, loc: Loc) -> Origin:
        """The origin of the deepest part of ``loc`` that some file wrote."""
        cur = self
        for key in loc:
            nxt = cur.kids.get(key)
            if nxt is None:
                break
            cur = nxt
        return cur


@dataclass
class Document:
    """One file: its resolved path, its data (``None`` if empty) and the origin tree."""

    path: Path
    data: Any
    origin: Origin


class _Stop(Exception):
    """A budget exceeded while composing: carries the line (1-based) and the reason."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line, self.reason = line, reason


class _Loader(yaml.SafeLoader):
    """SafeLoader with a nesting limit, duplicate-key detection, text timestamps, 1.2 floats."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.nodes = 0
        self.duplicates: list[tuple[int, str, int]] = []

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        # Checked in the scanner, not only in the composer: the scanner looks ahead over every
        # open bracket, quadratically (5,000 '[' take seconds before the composer sees one).
        if self.flow_level >= MAX_DEPTH:
            raise _Stop(self.line + 1, f"nested deeper than {MAX_DEPTH} levels")
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.depth >= MAX_DEPTH:
            line = self.peek_event().start_mark.line + 1
            raise _Stop(line, f"nested deeper than {MAX_DEPTH} levels")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            line = self.peek_event().start_mark.line + 1
            raise _Stop(line, f"more than {MAX_NODES:,} values in one file")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def compose_mapping_node(self, anchor: Any) -> MappingNode:
        node = super().compose_mapping_node(anchor)
        first: dict[str, int] = {}
        for k, _ in node.value:
            if isinstance(k, ScalarNode):
                line = k.start_mark.line + 1
                if k.value in first:
                    self.duplicates.append((line, k.value, first[k.value]))
                else:
                    first[k.value] = line
        return node


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# YAML 1.2 floats (PyYAML's 1.1 pattern needs a dot and a signed exponent: 1e-3 would be text).
# Registered after the int and 1.1 float patterns, so it only adds what they leave as text.
_FLOAT12 = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")
for _c in "-+0123456789.":
    _Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT12, [_c])


def read_text(path: Path) -> str:
    """The text of ``path``: a regular UTF-8 file of at most :data:`MAX_FILE_BYTES`."""
    shown = show_path(path)
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise ScenarioError(f"{shown}: is a folder, not a scenario file")
        if not stat.S_ISREG(st.st_mode):  # a FIFO or a device would block or never end
            raise ScenarioError(f"{shown}: not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise ScenarioError(f"{shown}: {st.st_size:,} bytes; a scenario file is at most "
                                f"{MAX_FILE_BYTES:,} bytes")
        with open(path, "rb") as fh:
            blob = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError(f"{shown}: file not found") from None
    except OSError as exc:
        raise ScenarioError(f"{shown}: cannot read ({exc.strerror or type(exc).__name__})") \
            from None
    if len(blob) > MAX_FILE_BYTES:
        raise ScenarioError(f"{shown}: a scenario file is at most {MAX_FILE_BYTES:,} bytes")
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = blob[: exc.start].count(b"\n") + 1
        raise ScenarioError(f"{shown}:{line}: not UTF-8 text") from None


def read_yaml(path: Path, fields: frozenset[str] = frozenset(),
              what: str = "a scenario (name: ..., description: ...)") -> Document:
    """Read ``path`` (already resolved) into a :class:`Document`; :class:`ScenarioError` on any
    problem, with the file and line.

    With ``fields``, a mapping none of whose top-level keys is in ``fields`` is not a scenario
    file and is refused before anything of it is quoted (``extends: /etc/shadow`` reads as a
    mapping of its lines). ``what`` names the kind of file in messages."""
    text = read_text(path)
    shown = show_path(path)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except _Stop as stop:
        raise ScenarioError(f"{shown}:{stop.line}: {stop.reason}") from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise ScenarioError(f"{shown}:{line}: not YAML text (control character "
                            f"#x{exc.character if isinstance(exc.character, int) else 0:04x})") \
            from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise ScenarioError(f"{shown}:{line}: invalid YAML: {_safe(exc.problem or 'syntax')}") \
            from None
    except yaml.YAMLError:
        raise ScenarioError(f"{shown}:1: invalid YAML") from None
    finally:
        loader.dispose()
    if node is None:
        return Document(path, None, Origin(shown, 1))
    if not isinstance(node, MappingNode):
        kind = "a list" if isinstance(node, SequenceNode) else "text or a number"
        # Not quoted: the file may be anything.
        raise ScenarioError(f"{shown}:{node.start_mark.line + 1}: {what} is a YAML mapping, "
                            f"this file holds {kind}")
    keys = {k.value for k, _ in node.value if isinstance(k, ScalarNode)}
    if fields and node.value and not keys & fields:
        raise ScenarioError(f"{shown}:1: not a scenario file (none of its keys is a scenario "
                            "field); its content is not shown")
    if loader.duplicates:
        raise ScenarioError("\n".join(
            f"{shown}:{line}: duplicate key {quote(key)} (first on line {first})"
            for line, key, first in sorted(loader.duplicates)[:20]))
    conv = _Converter(loader, shown)
    origin = Origin(shown, node.start_mark.line + 1)
    data = conv.value(node, origin, 0)
    return Document(path, data, origin)


def _safe(problem: str) -> str:
    """A PyYAML problem text without the file's own words (alias and tag names, long quotes)."""
    text = re.sub(r"'[^']{4,}'", "'...'", problem)
    return text if len(text) <= 120 else text[:120] + "..."


class _Converter:
    """Nodes to plain data and an :class:`Origin` tree; refuses unsafe or unbounded shapes."""

    def __init__(self, loader: _Loader, shown: str) -> None:
        self.loader, self.shown = loader, shown
        self.visits = 0
        self.distinct: set[int] = set()
        self.stack: set[int] = set()

    def fail(self, node: Node, reason: str) -> ScenarioError:
        return ScenarioError(f"{self.shown}:{node.start_mark.line + 1}: {reason}")

    def value(self, node: Node, origin: Origin, depth: int) -> Any:
        if id(node) in self.stack:
            raise self.fail(node, "recursive alias")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nested deeper than {MAX_DEPTH} levels")
        self.visits += 1
        self.distinct.add(id(node))
        if self.visits - len(self.distinct) > ALIAS_BUDGET:
            raise self.fail(node, f"aliases expand to more than {ALIAS_BUDGET:,} values")
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        self.stack.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                if node.tag != "tag:yaml.org,2002:seq":
                    raise self.fail(node, "explicit tags are not supported")
                out = []
                for i, item in enumerate(node.value):
                    kid = origin.kids[i] = Origin(self.shown, item.start_mark.line + 1)
                    out.append(self.value(item, kid, depth + 1))
                return out
            if node.tag != "tag:yaml.org,2002:map":
                raise self.fail(node, "explicit tags are not supported")
            data: dict[Any, Any] = {}
            for k, v in node.value:
                if not isinstance(k, ScalarNode) or k.tag == _MERGE_TAG:
                    raise self.fail(k, "keys are plain names (no '<<' merge keys, no "
                                       "lists or mappings as keys)")
                key = self.scalar(k)
                if not isinstance(key, str | int) or isinstance(key, bool):
                    key = str(k.value)
                kid = origin.kids[key] = Origin(self.shown, k.start_mark.line + 1)
                data[key] = self.value(v, kid, depth + 1)
            return data
        finally:
            self.stack.discard(id(node))

    def scalar(self, node: ScalarNode) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise self.fail(node, "explicit tags are not supported")
        try:
            return self.loader.construct_object(node)
        except (ValueError, OverflowError, yaml.YAMLError):  # e.g. an int of 5,000 digits
            raise self.fail(node, f"cannot read the value {quote(node.value)}") from None
