"""The front model's campaign: theatre + forces + front orders + parameters + modifiers, compiled
to arrays once (docs/MODEL.md, "The moving-front model").

This is the one place where the front model's dated inputs (orders, strike orders, breaches,
modifiers, Turkish positions) become day indices of the run, and where the static per-town values
(depth, terrain and posture factors, sectors, footprint) are computed. Both engines read only the
arrays of a :class:`FrontCampaign` and the functions of :mod:`sim.model.rates`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator

from sim.errors import UnknownTownError, did_you_mean
from sim.model.forces import Forces
from sim.model.modifiers import Modifier
from sim.model.params import FrontParams
from sim.theatre.tables import _Row, read_table, seeds_dir
from sim.theatre.theatre import (
    CAMPAIGN_END,
    CAMPAIGN_START,
    GOVERNMENT,
    HASTY,
    OPPOSITION,
    POSTURES,
    Theatre,
)

#: Columns of the per-replica order draws reserved for each group (see ``order_draw_col``). The
#: seeds give at most 4 orders a group and a scenario may add at most 32 (the schema's limit).
MAX_ORDERS_PER_GROUP = 64


class StrikeOrderRow(_Row):
    group: str = Field(min_length=1)
    sector: str = Field(min_length=1)
    start: dt.date
    end: dt.date
    strength_k_low: float = Field(gt=0, le=20)
    strength_k_high: float = Field(gt=0, le=20)
    objectives: str = Field(min_length=1)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _order(self) -> StrikeOrderRow:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} is not after start {self.start}")
        if self.strength_k_high < self.strength_k_low:
            raise ValueError(f"strength_k_high {self.strength_k_high} < low {self.strength_k_low}")
        return self


class BreachRow(_Row):
    formation: str = Field(min_length=1)
    start: dt.date
    end: dt.date
    source: str = Field(min_length=1)


@dataclass(frozen=True)
class FrontOrders:
    """Opposition strike orders and government ceasefire breaches, as read from ``seeds/``."""

    strike_names: tuple[str, ...]
    strike_sector: NDArray[np.int32]
    strike_dates: tuple[tuple[dt.date, dt.date], ...]
    strike_low_k: NDArray[np.float64]
    strike_high_k: NDArray[np.float64]
    strike_objectives: tuple[tuple[int, ...], ...]
    breaches: tuple[tuple[int, dt.date, dt.date], ...]
    """``(formation index, start, end)``: the formation may attack during a pause."""


def load_front_orders(theatre: Theatre, forces: Forces,
                      root: str | Path | None = None) -> FrontOrders:
    """Read ``strike_orders.csv`` and ``breaches.csv`` and resolve every name."""
    base = Path(root) if root is not None else seeds_dir()
    srows = read_table(base / "strike_orders.csv", StrikeOrderRow)
    brows = read_table(base / "breaches.csv", BreachRow)
    sectors, objs = [], []
    for i, r in enumerate(srows):
        if r.sector not in forces.sectors:
            raise srows.error(i, "sector", r.sector,
                              "unknown sector" + did_you_mean(r.sector, forces.sectors))
        sectors.append(forces.sectors.index(r.sector))
        towns = []
        for name in (x.strip() for x in r.objectives.split("|") if x.strip()):
            try:
                towns.append(theatre.resolve(name))
            except UnknownTownError as exc:
                raise srows.error(i, "objectives", name, str(exc)) from None
        objs.append(tuple(towns))
    breaches = []
    for i, b in enumerate(brows):
        if b.formation not in forces.formations:
            raise brows.error(i, "formation", b.formation,
                              "unknown formation" + did_you_mean(b.formation, forces.formations))
        if b.end <= b.start:
            raise brows.error(i, "end", b.end, f"not after start {b.start}")
        breaches.append((forces.formations.index(b.formation), b.start, b.end))
    return FrontOrders(
        strike_names=tuple(r.group for r in srows),
        strike_sector=np.array(sectors, dtype=np.int32),
        strike_dates=tuple((r.start, r.end) for r in srows),
        strike_low_k=np.array([r.strength_k_low for r in srows]),
        strike_high_k=np.array([r.strength_k_high for r in srows]),
        strike_objectives=tuple(objs),
        breaches=tuple(breaches),
    )


def posture_of(theatre: Theatre) -> NDArray[np.int8]:
    """Posture code (index into :data:`~sim.theatre.theatre.POSTURES`) of each town on 18 Dec:
    the sourced table ``seeds/posture.csv`` (``Theatre.posture``). This is the one place the
    engines take posture from; the engines make retaken and routed towns hasty."""
    return np.asarray(theatre.posture, dtype=np.int8)


def _window(start: dt.date, a: dt.date, b: dt.date | None, n_days: int) -> slice:
    lo = max((a - start).days, 0)
    hi = n_days if b is None else min((b - start).days, n_days)
    return slice(lo, max(lo, hi))


@dataclass(frozen=True)
class FrontCampaign:
    """Arrays indexed by town ``t``, group ``k``, order ``o``, strike group ``j``, day ``d``."""

    theatre: Theatre
    forces: Forces
    orders: FrontOrders
    params: FrontParams
    modifiers: tuple[Modifier, ...]
    start: dt.date = CAMPAIGN_START
    end: dt.date = CAMPAIGN_END
    """First day *not* simulated."""
    depth_km: NDArray[np.float64] = field(init=False)
    terrain_mult: NDArray[np.float64] = field(init=False)
    posture_mult: NDArray[np.float64] = field(init=False)
    """Rate multiplier of each town's posture on 18 Dec (:func:`posture_of`)."""
    gov_posture_mult: NDArray[np.float64] = field(init=False)
    """Rate multiplier when the opposition attacks a government town: its 18 Dec posture if the
    government held it then, hasty if it was taken during the campaign."""
    sector_of: NDArray[np.intp] = field(init=False)
    towns0: NDArray[np.float64] = field(init=False)
    area0: NDArray[np.float64] = field(init=False)
    rear: NDArray[np.bool_] = field(init=False)
    order_k: NDArray[np.intp] = field(init=False)
    order_day: NDArray[np.int64] = field(init=False)
    order_obj: NDArray[np.intp] = field(init=False)
    """``(n_orders, width)`` objective towns, padded with ``-1``."""
    order_draw_col: NDArray[np.intp] = field(init=False)
    """Column of each order in the per-replica order draws (:attr:`n_order_draws` wide)."""
    breach: NDArray[np.bool_] = field(init=False)
    strike_window: NDArray[np.int64] = field(init=False)
    """``(n_strike, 2)``: first day and first day after, in run days."""
    strike_obj: NDArray[np.intp] = field(init=False)
    sorties: NDArray[np.float64] = field(init=False)
    air_factor: NDArray[np.float64] = field(init=False)
    ground_factor: NDArray[np.float64] = field(init=False)
    pause: NDArray[np.bool_] = field(init=False)
    retaliation: NDArray[np.float64] = field(init=False)
    fp_support: NDArray[np.float64] = field(init=False)
    fp_defence: NDArray[np.float64] = field(init=False)
    fp_denial: NDArray[np.float64] = field(init=False)
    fp_drone: NDArray[np.float64] = field(init=False)
    post_dist_km: NDArray[np.float64] = field(init=False)
    """``(n_days, n_towns)``: distance to the nearest Turkish post established by that day
    (``inf`` if none, or if the ``observation_posts`` modifier is off)."""
    in_fp: NDArray[np.bool_] = field(init=False)
    """``(n_days, n_towns)``: the town lies in the Turkish footprint on that day."""
    reinforcements: tuple[tuple[int, str, int, float], ...] = field(init=False)

    def __post_init__(self) -> None:
        th, p, f, o = self.theatre, self.params, self.forces, self.orders
        set_ = object.__setattr__
        D, T = self.n_days, th.n_towns
        offset = (self.start - CAMPAIGN_START).days  # forces count days from CAMPAIGN_START
        if p.rear_sector not in f.sectors:
            raise ValueError(f"rear_sector {p.rear_sector!r} is not a sector"
                             + did_you_mean(p.rear_sector, f.sectors))
        unknown = sorted(set(th.towns["terrain"]) - set(p.terrain_factor))
        if unknown:
            raise ValueError(f"terrain_factor has no value for terrain {unknown[0]!r}")
        set_(self, "depth_km", np.sqrt(th.area_km2))
        set_(self, "terrain_mult", np.array([p.terrain_factor[x] for x in th.towns["terrain"]]))
        mult = np.array([p.posture_factor[x] for x in POSTURES])
        posture = mult[posture_of(th)]
        set_(self, "posture_mult", posture)
        gov0 = th.initial_control == GOVERNMENT
        set_(self, "gov_posture_mult", np.where(gov0, posture, mult[HASTY]))
        sec = f.town_sector.astype(np.intp)
        set_(self, "sector_of", sec)
        set_(self, "towns0", f.sector_towns0.astype(np.float64))
        opp0 = th.initial_control == OPPOSITION
        area0 = np.bincount(sec[opp0], weights=th.area_km2[opp0], minlength=len(f.sectors))
        set_(self, "area0", np.maximum(area0, 1e-9))
        set_(self, "rear", sec == f.sectors.index(p.rear_sector))

        flat = [(k, od.start_day - offset, od.objectives) for k, orders in enumerate(f.orders)
                for od in orders]
        width = max((len(x[2]) for x in flat), default=1)
        obj = np.full((max(len(flat), 1), width), -1, dtype=np.intp)
        for i, (_, _, objectives) in enumerate(flat):
            obj[i, :len(objectives)] = objectives
        set_(self, "order_k", np.array([x[0] for x in flat], dtype=np.intp))
        set_(self, "order_day", np.array([x[1] for x in flat], dtype=np.int64))
        set_(self, "order_obj", obj)
        # Each order's random draws sit in a column fixed by its group and its rank among that
        # group's orders (by date), so an order a scenario adds shifts no earlier order's draws:
        # two scenarios stay the same campaign, draw for draw, until the added order's date.
        rank = [j for orders in f.orders for j in range(len(orders))]
        if max(rank, default=0) >= MAX_ORDERS_PER_GROUP:
            raise ValueError(f"a group has more than {MAX_ORDERS_PER_GROUP} orders")
        set_(self, "order_draw_col", np.array(
            [k * MAX_ORDERS_PER_GROUP + j for (k, _, _), j in zip(flat, rank, strict=True)],
            dtype=np.intp))
        breach = np.zeros((f.n_formations, D), bool)
        for k, a, b in o.breaches:
            breach[k, _window(self.start, a, b, D)] = True
        set_(self, "breach", breach)
        set_(self, "strike_window", np.array(
            [[max((a - self.start).days, 0), max(min((b - self.start).days, D), 0)]
             for a, b in o.strike_dates], dtype=np.int64).reshape(-1, 2))
        sw = max((len(x) for x in o.strike_objectives), default=1)
        sobj = np.full((max(len(o.strike_objectives), 1), sw), -1, dtype=np.intp)
        for j, objectives in enumerate(o.strike_objectives):
            sobj[j, :len(objectives)] = objectives
        set_(self, "strike_obj", sobj)
        self._calendar(D, T)
        set_(self, "reinforcements", tuple((day - offset, side, i, x)
                                           for day, side, i, x in f.reinforcements))

    def _calendar(self, D: int, T: int) -> None:
        """Compile the modifiers to per-day arrays (the table in docs/MODEL.md)."""
        set_ = object.__setattr__
        arrays, pause, posts = compile_calendar(self.modifiers, self.start, D)
        for name in CALENDAR:
            set_(self, name, arrays[name])
        set_(self, "pause", pause)
        # distance from each town to the nearest post established by each day: the footprint
        # is then one comparison, also per replica when a posterior varies footprint_km
        dist = np.full((D, T), np.inf)
        if posts:
            th = self.theatre
            xy = th.xy_km
            offset = (self.start - CAMPAIGN_START).days
            for town, day in zip(th.post_town, th.post_established_day, strict=True):
                a = max(int(day) - offset, 0)
                dist[a:] = np.minimum(dist[a:], np.hypot(*(xy - xy[town]).T))
        set_(self, "post_dist_km", dist)
        set_(self, "in_fp", dist <= self.params.footprint_km)

    @property
    def n_days(self) -> int:
        return (self.end - self.start).days

    @property
    def n_towns(self) -> int:
        return self.theatre.n_towns

    @property
    def n_orders(self) -> int:
        return len(self.order_k)

    @property
    def n_order_draws(self) -> int:
        """Width of the per-replica order draws: a fixed block of columns per group."""
        return self.forces.n_formations * MAX_ORDERS_PER_GROUP

    @property
    def n_strike(self) -> int:
        return len(self.orders.strike_names)


#: Per-day arrays of the calendar that modifier parameters enter (:func:`compile_calendar`).
CALENDAR = ("sorties", "air_factor", "ground_factor", "retaliation", "fp_support", "fp_defence",
            "fp_denial", "fp_drone")

#: A modifier parameter's value: a float, or an ``(n, 1)`` column of per-replica values.
ParamValue = Callable[[Modifier, str], "float | NDArray[np.float64]"]


def compile_calendar(modifiers: Sequence[Modifier], start: dt.date, n_days: int,
                     value: ParamValue | None = None
                     ) -> tuple[dict[str, NDArray[np.float64]], NDArray[np.bool_], bool]:
    """The :data:`CALENDAR` arrays, the pause days and whether the posts are on.

    ``value(m, key)`` gives modifier ``m``'s parameter ``key`` (default ``m.param(key)``); where
    it returns an ``(n, 1)`` column the arrays it enters become ``(n, n_days)``. Each modifier
    changes its window with ``np.where`` (not in place) so both shapes share one code, and days
    outside the window keep their value exactly."""
    get = value or (lambda m, key: m.param(key))
    D = n_days
    a: dict[str, NDArray[np.float64]] = {
        "sorties": np.zeros(D), "air_factor": np.ones(D), "ground_factor": np.ones(D),
        "retaliation": np.zeros(D), "fp_support": np.ones(D), "fp_defence": np.ones(D),
        "fp_denial": np.zeros(D), "fp_drone": np.zeros(D)}
    pause = np.zeros(D, bool)
    posts = False
    for m in modifiers:
        if not m.enabled:
            continue
        win = np.zeros(D, bool)
        win[_window(start, m.start, m.end, D)] = True

        def put(name: str, new: Any, win: NDArray[np.bool_] = win) -> None:
            a[name] = np.where(win, new, a[name])

        def keep(name: str, frac: Any) -> Any:  # 1 - (1 - x)(1 - f): independent losses
            return 1 - (1 - a[name]) * (1 - np.minimum(frac, 1.0))

        if m.kind == "russian_air":
            put("sorties", a["sorties"] + get(m, "sorties"))
        elif m.kind == "weather":
            put("ground_factor", a["ground_factor"] * get(m, "ground_factor"))
            put("air_factor", a["air_factor"] * get(m, "air_factor"))
        elif m.kind == "ceasefire":
            pause[win] = True
        elif m.kind == "turkish_retaliation":
            put("retaliation", keep("retaliation", get(m, "attrition_frac")))
        elif m.kind == "turkish_artillery":
            put("fp_support", a["fp_support"] * get(m, "counterattack_mult"))
            put("fp_defence", a["fp_defence"] * get(m, "defence_mult"))
        elif m.kind == "spring_shield":
            put("fp_drone", keep("fp_drone", get(m, "drone_attrition_per_day")))
            put("fp_support", a["fp_support"] * get(m, "counterattack_mult"))
            put("fp_defence", a["fp_defence"] * get(m, "defence_mult"))
            put("fp_denial", keep("fp_denial", get(m, "air_denial")))
        elif m.kind == "observation_posts":
            posts = True
    return a, pause, posts


def make_front_campaign(
    theatre: Theatre,
    forces: Forces,
    params: FrontParams | None = None,
    modifiers: Sequence[Modifier] = (),
    start: dt.date = CAMPAIGN_START,
    end: dt.date = CAMPAIGN_END,
    orders: FrontOrders | None = None,
) -> FrontCampaign:
    """Build a :class:`FrontCampaign`; ``orders`` default to those in ``seeds/``."""
    if end <= start:
        raise ValueError(f"period end {end} is not after start {start}")
    return FrontCampaign(theatre, forces, orders or load_front_orders(theatre, forces),
                         params or FrontParams(), tuple(modifiers), start, end)
