"""Typed, validated loading of the seed tables in ``seeds/``.

Every CSV in ``seeds/`` has a row schema here. Loading a file validates every row; the first bad
row stops the load with a :class:`~sim.errors.DataError` naming the file, the line, the field and
the value. The schemas are documented for humans in ``seeds/README.md``.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sim.errors import DataError

#: The theatre box (degrees). Every node lies inside it; see seeds/README.md.
LAT_RANGE = (35.15, 36.50)
LON_RANGE = (35.95, 37.45)


def seeds_dir() -> Path:
    """The ``seeds/`` folder: ``$IDLIB_SIM_SEEDS`` if set, else the one beside the package."""
    env = os.environ.get("IDLIB_SIM_SEEDS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "seeds"


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _none_if_blank(v: object) -> object:
    return None if isinstance(v, str) and not v.strip() else v


class TownRow(_Row):
    town: str = Field(min_length=1)
    aliases: str = ""
    lat: float = Field(ge=LAT_RANGE[0], le=LAT_RANGE[1])
    lon: float = Field(ge=LON_RANGE[0], le=LON_RANGE[1])
    kind: Literal["city", "town", "village", "hill", "base", "airbase"]
    governorate: str = ""
    population_2004: int | None = Field(default=None, ge=0)
    terrain: Literal["plain", "hills", "mountain", "urban"]
    terrain_basis: str = Field(min_length=1)
    coord_quality: Literal["geonames", "coords_seen", "relative", "description", "approx_clue"]
    coord_uncertainty_km: float = Field(ge=0, le=20)
    coord_source: str = Field(min_length=1)
    note: str = ""

    _blank = field_validator("population_2004", mode="before")(_none_if_blank)

    @property
    def alias_list(self) -> list[str]:
        return [a.strip() for a in self.aliases.split(";") if a.strip()]


class ClusterRow(_Row):
    member: str = Field(min_length=1)
    node: str = Field(min_length=1)
    rule: Literal["co_listed", "farm_of", "described_near"]
    basis: str = Field(min_length=1)


class UnplacedRow(_Row):
    place: str = Field(min_length=1)
    reason: Literal[
        "no_position", "only_unplaced_listmates", "region", "outside_window", "sector", "homonym"
    ]
    clue: str = Field(min_length=1)


EventKind = Literal[
    "captured",
    "recaptured_by_opposition",
    "entered",
    "encircled",
    "besieged",
    "attacked_repelled",
    "withdrew",
    "shelled_or_struck",
    "observation_post",
    "other",
]
Certainty = Literal["stated", "claimed", "range", "approx", "contested"]


class EventRow(_Row):
    date: dt.date
    place: str = Field(min_length=1)
    event: EventKind
    actor: str = ""
    certainty: Certainty
    quote: str = Field(min_length=1)


class AggregateRow(_Row):
    date: dt.date
    quantity: Literal[
        "captured_area_km2",
        "captured_area_increment_km2",
        "share_idlib_governorate_government_pct",
        "localities_captured",
        "localities_captured_increment",
        "displaced_persons",
        "civilians_killed",
        "government_killed",
        "opposition_killed",
        "turkish_killed",
        "m5_km_government",
        "m5_km_opposition",
        "airstrikes",
        "other",
    ]
    value: float | None = None
    unit: str = ""
    certainty: Certainty
    quote: str = Field(min_length=1)

    _blank = field_validator("value", mode="before")(_none_if_blank)


class ControlRow(_Row):
    town: str = Field(min_length=1)
    control: Literal["government", "opposition"]
    basis: str = Field(min_length=1)
    basis_kind: Literal[
        "held_before_offensive", "captured_during_offensive", "inferred_from_position"
    ]
    source: str = ""


class PostureRow(_Row):
    town: str = Field(min_length=1)
    posture: Literal["hasty", "prepared", "fortified"]
    basis_kind: Literal["sourced", "inferred"]
    """``sourced``: a source dates the line at this town; ``inferred``: set by the stated rule."""
    basis: str = Field(min_length=1)
    source: str = Field(min_length=1)


class PostRow(_Row):
    post: str = Field(min_length=1)
    town: str = Field(min_length=1)
    at_node: bool
    """True if the post stands in the town itself (then the town cannot be stormed); False if it
    only stands near the node it is attached to."""
    established: dt.date | None = None
    encircled: dt.date | None = None
    source: str = Field(min_length=1)
    note: str = ""

    _blank = field_validator("established", "encircled", mode="before")(_none_if_blank)


class RoadRow(_Row):
    road: Literal["M4", "M5"]
    order: int = Field(ge=1)
    town: str = Field(min_length=1)
    source: str = Field(min_length=1)


class CalendarRow(_Row):
    start: dt.date
    end: dt.date | None = None
    phase: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = Field(min_length=1)
    source: str = Field(min_length=1)

    _blank = field_validator("end", mode="before")(_none_if_blank)


R = TypeVar("R", bound=_Row)


class Table(list[R]):
    """Validated rows of one file, with the file and each row's first line number."""

    def __init__(self, rows: list[R], path: Path, lines: list[int]) -> None:
        super().__init__(rows)
        self.path = path
        self.lines = lines

    def error(self, index: int, field: str | None, value: object, reason: str) -> DataError:
        """A :class:`DataError` located at row ``index`` of this table."""
        return DataError(self.path, self.lines[index], field, value, reason)


def read_table(path: str | Path, schema: type[R]) -> Table[R]:
    """Read a CSV file into validated rows of ``schema``.

    Raises
    ------
    DataError
        Missing file, missing or unexpected columns, or the first row that does not validate;
        the message gives the file, the line, the field and the value.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, None, None, "file not found")
    expected = list(schema.model_fields)
    rows: list[R] = []
    lines: list[int] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in expected if c not in header]
        extra = [c for c in header if c not in expected]
        if missing:
            raise DataError(path, 1, missing[0], None, f"missing column (header is {header})")
        if extra:
            raise DataError(path, 1, extra[0], None, f"unexpected column; expected {expected}")
        start = 2
        for raw in reader:
            line = start
            start = reader.line_num + 1
            if None in raw:
                raise DataError(path, line, None, raw[None], "more values than columns")
            data = {k: v for k, v in raw.items() if v is not None}
            try:
                rows.append(schema.model_validate(data))
                lines.append(line)
            except ValidationError as exc:
                err = exc.errors()[0]
                field = str(err["loc"][0]) if err["loc"] else None
                value = raw.get(field) if field else None
                raise DataError(path, line, field, value, err["msg"]) from None
    return Table(rows, path, lines)


@dataclass(frozen=True)
class SeedTables:
    """Every seed table, validated row by row (cross-table checks live in :mod:`.theatre`)."""

    towns: Table[TownRow]
    clusters: Table[ClusterRow]
    unplaced: Table[UnplacedRow]
    events: Table[EventRow]
    aggregates: Table[AggregateRow]
    initial_control: Table[ControlRow]
    posture: Table[PostureRow]
    posts: Table[PostRow]
    roads: Table[RoadRow]
    calendar: Table[CalendarRow]
    root: Path


def load_seed_tables(root: str | Path | None = None) -> SeedTables:
    """Load and validate every table of ``seeds/`` (or of ``root``)."""
    base = Path(root) if root is not None else seeds_dir()
    return SeedTables(
        towns=read_table(base / "towns.csv", TownRow),
        clusters=read_table(base / "clusters.csv", ClusterRow),
        unplaced=read_table(base / "unplaced.csv", UnplacedRow),
        events=read_table(base / "events.csv", EventRow),
        aggregates=read_table(base / "aggregates.csv", AggregateRow),
        initial_control=read_table(base / "initial_control.csv", ControlRow),
        posture=read_table(base / "posture.csv", PostureRow),
        posts=read_table(base / "observation_posts.csv", PostRow),
        roads=read_table(base / "roads.csv", RoadRow),
        calendar=read_table(base / "calendar.csv", CalendarRow),
        root=base,
    )
