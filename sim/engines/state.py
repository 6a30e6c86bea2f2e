"""State of one replica of the front model in the SimPy engine, its graph queries and its result.

Kept apart from the processes (:mod:`sim.engines.des`) so that module holds only the order
of operations. The graph queries here walk the neighbour table town by town (a breadth-first
search for pockets), an implementation independent of the batch core's matrix products, so the
equivalence tests compare two codings of one definition.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim.model import rates as fr
from sim.model.campaign import FrontCampaign
from sim.theatre.theatre import GOVERNMENT

F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]


@dataclass(frozen=True)
class Topology:
    """Neighbour lists and graph distances of the theatre."""

    neighbours: tuple[tuple[int, ...], ...]
    nbr: NDArray[np.intp]
    """Padded neighbour table with ``-1`` replaced by the town itself (harmless for maxima of
    values that are 0 on the town, and for "touches" of a mask the town is not in)."""
    dist: F64
    names: tuple[str, ...]
    calendar: dict[int, list[tuple[str, str]]]
    """Run day -> ``(event, modifier name)`` of the enabled modifiers starting or ending then."""

    @classmethod
    def of(cls, c: FrontCampaign) -> Topology:
        """Built once per campaign and shared by its replicas."""
        table = c.theatre.neighbours.astype(np.intp)
        own = np.arange(len(table))[:, None]
        calendar: dict[int, list[tuple[str, str]]] = {}
        for m in c.modifiers:
            if not m.enabled or (m.end is not None and m.end <= c.start):
                continue
            # a modifier in force before the run starts is logged as switched on at day 0
            for event, day in (("modifier_on", max((m.start - c.start).days, 0)),
                               ("modifier_off", (m.end - c.start).days if m.end else c.n_days)):
                if day < c.n_days:
                    calendar.setdefault(day, []).append((event, m.name))
        return cls(tuple(tuple(int(x) for x in row if x >= 0) for row in table),
                   np.where(table >= 0, table, own), c.theatre.distance_km,
                   tuple(c.theatre.names), calendar)

    def touches(self, mask: Mask) -> Mask:
        """Towns with at least one neighbour in ``mask`` (a town is not its own neighbour)."""
        own = np.arange(len(self.nbr))[:, None]
        return (mask[self.nbr] & (self.nbr != own)).any(axis=1)

    def connected(self, inside: Mask, seeds: Mask) -> Mask:
        """Towns of ``inside`` joined through ``inside`` to a town of ``seeds & inside``."""
        reached = seeds & inside
        queue = deque(int(t) for t in np.flatnonzero(reached))
        while queue:
            for u in self.neighbours[queue.popleft()]:
                if inside[u] and not reached[u]:
                    reached[u] = True
                    queue.append(u)
        return reached

    def max_over_neighbours(self, x: F64) -> F64:
        """Largest ``x`` among each town's neighbours (``x`` must be >= 0; 0 if none)."""
        own = np.arange(len(self.nbr))[:, None]
        return np.where(self.nbr != own, x[self.nbr], 0.0).max(axis=1)


@dataclass
class FrontReplicaResult:
    """Outputs of one replica, the per-replica rows of the batch core's chunk."""

    log: pd.DataFrame
    control: NDArray[np.int8]
    """``(n_days + 1, n_towns)``: row 0 the initial control, row ``d + 1`` the end of day d."""
    first_capture_day: NDArray[np.int16]
    """Day of the government's first capture of each town; ``-1`` if never."""
    last_capture_day: NDArray[np.int16]
    first_recapture_day: NDArray[np.int16]
    """Day of the opposition's first recapture of each town; ``-1`` if never."""
    n_recaptures: NDArray[np.int16]
    gov_area_km2: NDArray[np.float64]
    """``(n_days + 1,)`` government-held area counting partial progress, start and end of day."""
    gov_share: NDArray[np.float64]
    """``(n_days + 1, n_towns)``: share of each cell the government holds (partial progress)."""

    @property
    def final_control(self) -> NDArray[np.int8]:
        return self.control[-1]


@dataclass
class FrontState:
    """Everything that changes during a replica (names follow docs/MODEL.md, "State")."""

    control: NDArray[np.int8]
    control0: NDArray[np.int8]
    progress: F64
    share: F64
    first: NDArray[np.int16]
    last: NDArray[np.int16]
    first_rec: NDArray[np.int16]
    n_rec: NDArray[np.int16]
    strength: F64
    nominal: F64
    sector: F64
    cohesion: F64
    strike: F64
    start_day: F64
    effort_mult: F64
    orders_of: list[NDArray[np.intp]]
    order: NDArray[np.intp]
    objective: NDArray[np.intp]
    fp_share: F64
    attacking: Mask
    e_gov: F64
    e_opp: F64
    frontier: Mask
    opp_front: Mask
    pocket: Mask
    rows: list[NDArray[np.int8]]
    areas: list[float]
    shares: list[F64]

    @classmethod
    def initial(cls, c: FrontCampaign, rng: dict[str, np.random.Generator]) -> FrontState:
        """The state at 00:00 of day 0, with the once-per-replica draws of docs/MODEL.md,
        "Fixed functions and values" (each site draws its full array whatever is used)."""
        p, f, o = c.params, c.forces, c.orders
        T, K = c.n_towns, f.n_formations
        sector_u = rng["front/sector_strength"].random(len(f.sectors))
        strike_u = rng["front/strike_strength"].random(c.n_strike)
        col = c.order_draw_col  # stable per order, as in the batch core
        delay_u = rng["front/order_delay"].random(c.n_order_draws)[col]
        effort_z = rng["front/order_effort"].standard_normal(c.n_order_draws)[col]
        control = c.theatre.initial_control.astype(np.int8).copy()
        progress = np.zeros(T)
        share = fr.gov_share(control, progress, c.depth_km)
        orders_of = []
        for k in range(K):
            ix = np.flatnonzero(c.order_k == k)
            orders_of.append(ix[np.argsort(c.order_day[ix], kind="stable")])
        spread = p.sector_strength_spread
        delay = np.floor(delay_u * (p.start_delay_max_days + 1.0))
        return cls(
            control=control, control0=control.copy(), progress=progress, share=share,
            first=np.full(T, -1, np.int16), last=np.full(T, -1, np.int16),
            first_rec=np.full(T, -1, np.int16), n_rec=np.zeros(T, np.int16),
            strength=f.nominal_k.astype(float).copy(), nominal=f.nominal_k.astype(float).copy(),
            sector=f.sector_nominal_k * (1.0 + spread * (2.0 * sector_u - 1.0)),
            cohesion=np.ones(len(f.sectors)),
            strike=o.strike_low_k + (o.strike_high_k - o.strike_low_k) * strike_u,
            start_day=c.order_day.astype(float) + delay,
            effort_mult=fr.lognormal_mult(effort_z, p.effort_sigma),
            orders_of=orders_of, order=np.full(K, -1, np.intp), objective=np.full(K, -1, np.intp),
            fp_share=np.zeros(K), attacking=np.zeros(K, bool), e_gov=np.zeros(T),
            e_opp=np.zeros(T), frontier=np.zeros(T, bool), opp_front=np.zeros(T, bool),
            pocket=np.zeros(T, bool), rows=[control.copy()],
            areas=[float(share @ c.theatre.area_km2)], shares=[share],
        )

    def record(self, gov_area_km2: float) -> None:
        """Step 10: control, area and shares at the end of the day."""
        self.rows.append(self.control.copy())
        self.areas.append(gov_area_km2)
        self.shares.append(self.share.copy())

    def result(self, log: pd.DataFrame) -> FrontReplicaResult:
        return FrontReplicaResult(
            log=log, control=np.array(self.rows, dtype=np.int8),
            first_capture_day=self.first.copy(), last_capture_day=self.last.copy(),
            first_recapture_day=self.first_rec.copy(), n_recaptures=self.n_rec.copy(),
            gov_area_km2=np.array(self.areas), gov_share=np.array(self.shares))


def watch_day(control: NDArray[np.int8], towns: Sequence[int]) -> int:
    """First day at whose end the government holds every town of ``towns``; ``-1`` if never
    (rows of ``control`` as in :class:`FrontReplicaResult`)."""
    held = (control[1:, np.asarray(towns, dtype=np.intp)] == GOVERNMENT).all(axis=1)
    return int(np.argmax(held)) if held.any() else -1
