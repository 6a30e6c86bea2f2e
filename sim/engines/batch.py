"""The batch core of the moving-front model: many replicas of a :class:`FrontCampaign`.

Daily order of operations (docs/MODEL.md, "The moving-front model", "One day"), for day ``d``:

1. record control and progress at 00:00;
2. calendar: orders in force (with each replica's start delays), strike orders, pause;
3. reinforcements dated ``d``;
4. group recovery, Turkish retaliation, Spring Shield drone attrition (by yesterday's effort share
   inside the footprint);
5. frontier, opposition frontier and pockets, on the 00:00 state;
6. effort: each active group's and strike group's softmax over its frontier;
7. rates: government advance on the frontier, mop-up of pockets, strike-group advance;
8. advance: progress grows one day; towns whose progress reaches their depth change hands at the
   crossing time;
9. consequences: sector cohesion (recovery, then loss for today's lost ground), attackers' losses;
10. record control, captures, recaptures and area with partial progress.

Every decision is taken on the 00:00 state, so the core computes the model exactly (no step
approximation). This module draws the random numbers, sets up each chunk's state as
``(replicas, ...)`` arrays and applies steps 1-3; steps 4-10 of each day are one call of the
compiled kernel :func:`sim.engines.kernel.day_step`, which visits each replica's frontier towns
only. (:mod:`sim.engines.kernel_reference` keeps the same day as whole-array numpy code, the
reference the kernel is tested against to the bit.)

Randomness: replicas come in fixed blocks of :data:`~sim.engines.chunk.BLOCK`; block ``b`` is
``SeedSequence(seed).spawn`` child ``b`` with one stream per decision site (:data:`SITES`). Each
site draws its full array whatever the state (once, or once a day), so results do not depend on
chunking, replica ``i`` is the same in any run that contains it, and two campaigns that differ by
one lever share every draw (common random numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

from sim.engines import kernel
from sim.engines.chunk import BLOCK, BatchChunk
from sim.engines.knobs import Knobs
from sim.engines.streams import stream
from sim.model import rates as fr
from sim.model.campaign import CALENDAR, FrontCampaign
from sim.model.posterior import Posterior
from sim.theatre.theatre import GOVERNMENT

#: Decision sites of the front model, each with its own stream.
SITES = ("front/sector_strength", "front/strike_strength", "front/order_delay",
         "front/order_effort", "front/speed_noise")

F64 = NDArray[np.float64]
I16 = NDArray[np.int16]


@dataclass
class FrontChunk(BatchChunk):
    """:class:`BatchChunk` plus, if asked for, the control of every town day by day."""

    control_by_day: NDArray[np.int8] | None = None
    """``(n, n_days + 1, n_towns)`` control at the start and the end of each day, if asked for
    (``record_control``; for tests and the engine-equivalence checks)."""


class _Draws:
    """Block streams per site; one-off arrays drawn at construction, noise drawn per day."""

    def __init__(self, c: FrontCampaign, seed: int, blocks: range, n: int) -> None:
        self.n = n
        self.gens = {s: [stream(seed, b, s) for b in blocks] for s in SITES}
        n_sec, n_strike = len(c.forces.sectors), c.n_strike
        self.sector_u = self._once("front/sector_strength", n_sec, normal=False)
        self.strike_u = self._once("front/strike_strength", n_strike, normal=False)
        col = c.order_draw_col  # stable per order: added orders shift no other order's draws
        self.delay_u = self._once("front/order_delay", c.n_order_draws, normal=False)[:, col]
        self.effort_z = self._once("front/order_effort", c.n_order_draws, normal=True)[:, col]
        self.width = c.n_towns
        self._noise = np.empty((len(blocks) * BLOCK, c.n_towns), np.float32)  # reused daily

    def _once(self, site: str, width: int, normal: bool) -> F64:
        parts = [g.standard_normal((BLOCK, width)) if normal else g.random((BLOCK, width))
                 for g in self.gens[site]]
        return np.concatenate(parts)[:self.n]

    def noise_u(self) -> NDArray[np.float32]:
        """Today's uniforms of the speed noise, one per replica and town. They are turned into
        normals only where used (:func:`_normal`): uniform draws are several times cheaper.
        Each block draws its full ``(BLOCK, towns)`` array, straight into one buffer."""
        for i, g in enumerate(self.gens["front/speed_noise"]):
            g.random(dtype=np.float32, out=self._noise[i * BLOCK:(i + 1) * BLOCK])
        return self._noise[:self.n]


def _normal(u: NDArray[np.float32]) -> F64:
    """Standard normal quantile of float32 uniforms on ``[0, 1)`` in steps of 2**-24, taken at
    the midpoint of each step so that it is always finite."""
    return np.asarray(ndtri(u.astype(np.float64) + kernel.HALF_STEP))


@dataclass
class ChunkState:
    """The state of a chunk's replicas (one row each) and the values drawn once per replica;
    the records of each day are written into it."""

    c: FrontCampaign
    start: int
    kn: Knobs
    u: _Draws
    control: NDArray[np.int8]
    progress: F64
    nominal: F64
    strength: F64
    sector: F64
    cohesion: F64
    strike: F64
    start_day: F64
    effort_mult: F64
    masks: list[F64]
    """Area of each town (km2) inside each group of ``area_groups``, zero outside."""
    watched: list[NDArray[np.intp]]
    record_control: bool
    n: int = field(init=False)
    first: I16 = field(init=False)
    last: I16 = field(init=False)
    first_rec: I16 = field(init=False)
    n_rec: I16 = field(init=False)
    fp_share: F64 = field(init=False)
    area_now: F64 = field(init=False)
    grp_now: F64 = field(init=False)
    gov_area: NDArray[np.float32] = field(init=False)
    grp: NDArray[np.float32] = field(init=False)
    held: NDArray[np.int32] = field(init=False)
    watch_day: I16 = field(init=False)
    history: NDArray[np.int8] = field(init=False)
    """``(n, n_days + 1, n_towns)`` if ``record_control``, else empty."""
    gov_nbr: NDArray[np.int16] = field(init=False)
    """``(n, n_towns)`` number of government neighbours of each town (the kernel's frontier)."""
    linked: NDArray[np.bool_] = field(init=False)
    """``(n, n_towns)`` opposition towns joined to the rear, as of the last search."""
    stale: NDArray[np.bool_] = field(init=False)
    """``(n,)`` some town changed hands since ``linked`` was searched."""

    def __post_init__(self) -> None:
        c, n, T, D = self.c, len(self.control), self.c.n_towns, self.c.n_days
        self.n = n
        self.first, self.last, self.first_rec = (np.full((n, T), -1, np.int16) for _ in range(3))
        self.n_rec = np.zeros((n, T), np.int16)
        self.fp_share = np.zeros((n, c.forces.n_formations))
        gov_now = (self.control == GOVERNMENT).astype(float)
        self.area_now = gov_now @ c.theatre.area_km2
        self.grp_now = (np.stack([gov_now @ m for m in self.masks], axis=1) if self.masks
                        else np.zeros((n, 0)))
        self.gov_area = np.zeros((n, D + 1), np.float32)
        self.grp = np.zeros((n, len(self.masks), D + 1), np.float32)
        self.held = np.zeros((D + 1, T), np.int32)
        self.gov_area[:, 0], self.grp[:, :, 0] = self.area_now, self.grp_now
        self.held[0] = gov_now.sum(axis=0)
        self.watch_day = np.full((n, len(self.watched)), -1, np.int16)
        self.history = np.zeros((n, D + 1, T) if self.record_control else (0, 0, 0), np.int8)
        if self.record_control:
            self.history[:, 0] = self.control
        nbr = c.theatre.neighbours
        is_gov = np.c_[self.control == GOVERNMENT, np.zeros(n, bool)]  # column -1: padding
        self.gov_nbr = is_gov[:, nbr].sum(axis=2, dtype=np.int16)
        self.linked = np.zeros((n, T), bool)
        self.stale = np.ones(n, bool)

    def reinforce(self, d: int) -> None:
        """Step 3: the reinforcements dated ``d``."""
        for day, side, idx, amount in self.c.reinforcements:
            if day == d:
                if side == "government":
                    self.nominal[:, idx] += amount
                    self.strength[:, idx] += amount
                else:
                    self.sector[:, idx] += amount

    def chunk(self) -> FrontChunk:
        return FrontChunk(self.start, self.first, self.last, self.n_rec, self.control,
                          self.gov_area, self.held, self.watch_day, self.grp, self.first_rec,
                          self.history if self.record_control else None)


def start_chunk(c: FrontCampaign, seed: int, start: int, n: int,
                watch: Sequence[Sequence[int]] = (),
                area_groups: Sequence[NDArray[np.bool_]] = (),
                record_control: bool = False, posterior: Posterior | None = None) -> ChunkState:
    """The state at 00:00 of day 0 of replicas ``start .. start + n - 1``, with their
    once-per-replica draws (docs/MODEL.md, "Fixed functions and values")."""
    if start % BLOCK:
        raise ValueError(f"chunk start {start} is not a multiple of BLOCK={BLOCK}")
    p, f, o = c.params, c.forces, c.orders
    blocks = range(start // BLOCK, (start + n + BLOCK - 1) // BLOCK)
    kn = Knobs(c, posterior, seed, start, n)
    u = _Draws(c, seed, blocks, n)
    nominal = np.repeat(f.nominal_k[None, :], n, axis=0).astype(float)
    return ChunkState(
        c, start, kn, u,
        control=np.repeat(c.theatre.initial_control.astype(np.int8)[None, :], n, axis=0),
        progress=np.zeros((n, c.n_towns)),
        nominal=nominal, strength=nominal.copy(),
        sector=f.sector_nominal_k[None, :] * (
            1.0 + p.sector_strength_spread * (2.0 * u.sector_u - 1.0)),
        cohesion=np.ones((n, len(f.sectors))),
        strike=o.strike_low_k + (o.strike_high_k - o.strike_low_k) * u.strike_u,
        start_day=np.asarray(c.order_day[None, :]
                             + np.floor(u.delay_u * (p.start_delay_max_days + 1.0)), float),
        effort_mult=fr.lognormal_mult(u.effort_z, kn.of("effort_sigma")),
        masks=[np.asarray(m, dtype=float) * c.theatre.area_km2 for m in area_groups],
        watched=[np.asarray(w, dtype=np.intp) for w in watch],
        record_control=record_control)


def _csr(rows: Sequence[Sequence[int] | NDArray[np.intp]]) -> tuple[NDArray[np.intp], ...]:
    """Row pointers and column indices of a list of index lists."""
    ptr = np.zeros(len(rows) + 1, np.intp)
    ptr[1:] = np.cumsum([len(x) for x in rows])
    idx = np.concatenate([np.asarray(x, np.intp) for x in rows]) if len(rows) else ptr[:0]
    return ptr, idx.astype(np.intp)


class _Static:
    """The kernel's arguments that stay the same all run: graph, town tables, orders, the
    per-replica parameters and calendar (:data:`~sim.engines.kernel.FREE`,
    :data:`~sim.engines.kernel.CAL`), the fixed scalars."""

    def __init__(self, st: ChunkState) -> None:
        c, p, kn = st.c, st.c.params, st.kn
        nbr = c.theatre.neighbours
        self.nbr_ptr, self.nbr_idx = _csr([row[row >= 0] for row in nbr])
        self.watch_ptr, self.watch_idx = _csr(st.watched)
        orders_of = [np.flatnonzero(c.order_k == k) for k in range(c.forces.n_formations)]
        self.ord_ptr, self.ord_idx = _csr(
            [ix[np.argsort(c.order_day[ix], kind="stable")] for ix in orders_of])
        n = st.n
        per_replica = any(x in kn.free for x in kernel.FREE)
        self.free = np.ascontiguousarray(np.stack(
            [np.broadcast_to(np.asarray(kn.free.get(x, getattr(p, x)), float),
                             (n if per_replica else 1,)) for x in kernel.FREE], axis=1))
        varied = bool(kn.cal)
        self.cal = np.ascontiguousarray(np.stack(
            [np.broadcast_to(kn.cal.get(x, getattr(c, x)), (n if varied else 1, c.n_days))
             for x in kernel.CAL]))
        assert set(kernel.CAL) == set(CALENDAR)
        self.fixed = np.array([*fr.qjm_table(p), p.posture_factor["hasty"],
                               p.recovery_per_day_frac, p.min_strength_frac,
                               p.attack_loss_per_day_frac, p.garrison_k_per_town,
                               p.cohesion_recovery_per_day])
        self.masks = (np.stack(st.masks) if st.masks else np.zeros((0, c.n_towns)))
        self.lost_w = c.theatre.area_km2 / c.area0[c.sector_of]
        self.strikes = [np.flatnonzero((c.strike_window[:, 0] <= d) & (d < c.strike_window[:, 1]))
                        for d in range(c.n_days)]


def run_chunk(c: FrontCampaign, seed: int, start: int, n: int,
              watch: Sequence[Sequence[int]] = (),
              area_groups: Sequence[NDArray[np.bool_]] = (),
              record_control: bool = False, posterior: Posterior | None = None) -> FrontChunk:
    """Simulate replicas ``start .. start + n - 1``; ``start`` must be a multiple of BLOCK.

    ``watch`` lists sets of towns whose joint capture day is wanted; ``area_groups`` lists town
    masks whose government-held area (with partial progress) is wanted day by day;
    ``record_control`` keeps the control of every town at the end of every day. With a
    ``posterior``, replica ``i`` runs with the parameters of its sample row
    (:meth:`Posterior.rows`); every other draw is unchanged."""
    st = start_chunk(c, seed, start, n, watch, area_groups, record_control, posterior)
    k = _Static(st)
    th = c.theatre
    for d in range(c.n_days):
        z = st.u.noise_u()  # drawn every day whatever the state (common random numbers)
        st.reinforce(d)
        kernel.day_step(
            d, bool(c.pause[d]), c.breach[:, d].copy(), k.strikes[d], z,
            st.control, st.progress, st.first, st.last, st.first_rec, st.n_rec,
            st.nominal, st.strength, st.sector, st.cohesion, st.fp_share,
            st.area_now, st.grp_now, st.gov_area, st.grp, st.held, st.watch_day, st.history,
            st.gov_nbr, st.linked, st.stale,
            k.nbr_ptr, k.nbr_idx, th.distance_km, c.sector_of, c.towns0, c.depth_km,
            c.terrain_mult, c.posture_mult, c.gov_posture_mult, k.lost_w, th.area_km2, c.rear,
            k.masks, k.watch_ptr, k.watch_idx, k.ord_ptr, k.ord_idx, c.order_obj, c.strike_obj,
            st.start_day, st.effort_mult, st.strike, k.free, k.cal, c.post_dist_km, k.fixed)
    return st.chunk()


def run_front_batch(
    c: FrontCampaign, seed: int, n: int, chunk_blocks: int = 16,
    progress: Callable[[int], None] | None = None, watch: Sequence[Sequence[int]] = (),
    area_groups: Sequence[NDArray[np.bool_]] = (), posterior: Posterior | None = None,
) -> Iterator[FrontChunk]:
    """Yield chunks of ``chunk_blocks * BLOCK`` replicas until ``n`` replicas are done (each
    replica with its posterior row's parameters if ``posterior`` is given)."""
    size = chunk_blocks * BLOCK
    for s in range(0, n, size):
        m = min(size, n - s)
        yield run_chunk(c, seed, s, m, watch, area_groups, posterior=posterior)
        if progress is not None:
            progress(m)
