"""The vectorised core of the moving-front model: many replicas of a :class:`FrontCampaign`.

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
approximation, unlike the first model's core). Work is on whole ``(replicas, towns)`` arrays; the
only Python loops are over days, groups and strike groups.

Randomness: replicas come in fixed blocks of :data:`~sim.engines.chunk.BLOCK`; block ``b`` is
``SeedSequence(seed).spawn`` child ``b`` with one stream per decision site (:data:`SITES`). Each
site draws its full array whatever the state (once, or once a day), so results do not depend on
chunking, replica ``i`` is the same in any run that contains it, and two campaigns that differ by
one lever share every draw (common random numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

from sim.engines.chunk import BLOCK, BatchChunk
from sim.engines.knobs import Knobs
from sim.engines.streams import stream
from sim.model import rates as fr
from sim.model.campaign import FrontCampaign
from sim.model.posterior import Posterior
from sim.theatre.theatre import GOVERNMENT, OPPOSITION

#: Decision sites of the front model, each with its own stream.
SITES = ("front/sector_strength", "front/strike_strength", "front/order_delay",
         "front/order_effort", "front/speed_noise")

F64 = NDArray[np.float64]


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

    def _once(self, site: str, width: int, normal: bool) -> F64:
        parts = [g.standard_normal((BLOCK, width)) if normal else g.random((BLOCK, width))
                 for g in self.gens[site]]
        return np.concatenate(parts)[:self.n]

    def noise_u(self) -> NDArray[np.float32]:
        """Today's uniforms of the speed noise, one per replica and town. They are turned into
        normals only where used (:func:`_normal`): uniform draws are several times cheaper."""
        parts = [g.random((BLOCK, self.width), dtype=np.float32)
                 for g in self.gens["front/speed_noise"]]
        return np.concatenate(parts)[:self.n]


def _normal(u: NDArray[np.float32]) -> F64:
    """Standard normal quantile of float32 uniforms on ``[0, 1)`` in steps of 2**-24, taken at
    the midpoint of each step so that it is always finite."""
    return np.asarray(ndtri(u.astype(np.float64) + 2.0 ** -25))


class _Graph:
    """Static graph arrays. Neighbour tests run on masks packed eight replicas to a byte
    (``np.packbits`` along the replica axis), so a test over all neighbours of all towns costs a
    gather of ``(n/8, towns, degree)`` bytes."""

    def __init__(self, c: FrontCampaign) -> None:
        T = c.n_towns
        nbr = c.theatre.neighbours.astype(np.intp)
        self.nbr_valid = nbr >= 0
        self.nbr = np.where(self.nbr_valid, nbr, 0)
        self.nbr_pad = np.where(self.nbr_valid, nbr, T)  # column T of a packed mask is all zero
        self.dist = c.theatre.distance_km

    @staticmethod
    def pack(mask: NDArray[np.bool_]) -> NDArray[np.uint8]:
        """Bit ``i`` of byte ``(r, t)`` is ``mask[8r + i, t]``; one zero column is appended.
        (Shifts of eight strided slices: several times faster than ``np.packbits(axis=0)``.)"""
        n, T = mask.shape
        m = np.zeros((-(-n // 8) * 8, T + 1), dtype=np.uint8)
        m[:n, :T] = mask
        out = m[0::8].copy()
        for i in range(1, 8):
            out |= m[i::8] << i
        return out

    @staticmethod
    def unpack(pk: NDArray[np.uint8], n: int) -> NDArray[np.bool_]:
        """Inverse of :meth:`pack` (without the zero column)."""
        out = np.empty((pk.shape[0] * 8, pk.shape[1] - 1), dtype=bool)
        for i in range(8):
            out[i::8] = (pk[:, :-1] >> i) & 1
        return out[:n]

    def _spread(self, pk: NDArray[np.uint8]) -> NDArray[np.uint8]:
        out = np.zeros_like(pk)  # the padding column stays empty
        out[:, :-1] = np.bitwise_or.reduce(pk[:, self.nbr_pad], axis=2)
        return out

    def any_neighbour(self, mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Per replica, does some neighbour of each town satisfy ``mask``?"""
        return self.unpack(self._spread(self.pack(mask)), mask.shape[0])

    def reach(self, inside: NDArray[np.bool_], seeds: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Towns of ``inside`` connected through ``inside`` to a town of ``seeds & inside``."""
        ins = self.pack(inside)
        r = self.pack(seeds & inside)
        while True:
            grown = ins & (r | self._spread(r))
            if np.array_equal(grown, r):
                return self.unpack(r, inside.shape[0])
            r = grown


class _Segments:
    """Entries ``(rows[i], towns[i])`` sorted by row: per-row reductions with ``reduceat``."""

    def __init__(self, rows: NDArray[np.intp]) -> None:
        brk = np.r_[True, rows[1:] != rows[:-1]] if len(rows) else np.zeros(0, bool)
        self.starts = np.flatnonzero(brk)
        self.seg = np.cumsum(brk) - 1

    def softmax(self, dist_km: F64, length_km: Any) -> F64:
        """:func:`rates.effort_weights` over each row's entries (``inf`` = excluded)."""
        if not len(dist_km):
            return dist_km
        best = np.minimum.reduceat(dist_km, self.starts)[self.seg]
        fin = np.isfinite(dist_km)
        w = np.where(fin, np.exp(-(dist_km - np.where(np.isfinite(best), best, 0.0))
                                 / length_km), 0.0)
        tot = np.add.reduceat(w, self.starts)[self.seg]
        return np.where(tot > 0, w / np.where(tot > 0, tot, 1.0), 0.0)


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
    if start % BLOCK:
        raise ValueError(f"chunk start {start} is not a multiple of BLOCK={BLOCK}")
    p, f, th = c.params, c.forces, c.theatre
    T, K, D, S = c.n_towns, f.n_formations, c.n_days, len(f.sectors)
    blocks = range(start // BLOCK, (start + n + BLOCK - 1) // BLOCK)
    kn = Knobs(c, posterior, seed, start, n)
    u = _Draws(c, seed, blocks, n)
    g = _Graph(c)
    rows = np.arange(n)
    area, sec, depth = th.area_km2, c.sector_of, c.depth_km
    lost_w = area / c.area0[sec]  # a town's share of its sector's 18 Dec area

    control = np.repeat(th.initial_control.astype(np.int8)[None, :], n, axis=0)
    progress = np.zeros((n, T))
    first = np.full((n, T), -1, dtype=np.int16)
    last = np.full((n, T), -1, dtype=np.int16)
    first_rec = np.full((n, T), -1, dtype=np.int16)
    n_rec = np.zeros((n, T), dtype=np.int16)
    nominal = np.repeat(f.nominal_k[None, :], n, axis=0).astype(float)
    strength = nominal.copy()
    sector = f.sector_nominal_k[None, :] * (
        1.0 + p.sector_strength_spread * (2.0 * u.sector_u - 1.0))
    cohesion = np.ones_like(sector)
    o = c.orders
    strike = o.strike_low_k + (o.strike_high_k - o.strike_low_k) * u.strike_u
    start_day = c.order_day[None, :] + np.floor(u.delay_u * (p.start_delay_max_days + 1.0))
    effort_mult = fr.lognormal_mult(u.effort_z, kn.of("effort_sigma"))
    fp_share = np.zeros((n, K))
    orders_of = [np.flatnonzero(c.order_k == k) for k in range(K)]
    orders_of = [ix[np.argsort(c.order_day[ix], kind="stable")] for ix in orders_of]

    masks = [np.asarray(m, dtype=float) * area for m in area_groups]
    gov_now = (control == GOVERNMENT).astype(float)
    area_now = gov_now @ area
    grp_now = np.stack([gov_now @ m for m in masks], axis=1) if masks else np.zeros((n, 0))
    gov_area = np.zeros((n, D + 1), dtype=np.float32)
    grp = np.zeros((n, len(masks), D + 1), dtype=np.float32)
    held = np.zeros((D + 1, T), dtype=np.int32)
    gov_area[:, 0], grp[:, :, 0], held[0] = area_now, grp_now, gov_now.sum(axis=0)
    watched = [np.asarray(w, dtype=np.intp) for w in watch]
    watch_day = np.full((n, len(watched)), -1, dtype=np.int16)
    history = np.zeros((n, D + 1, T), dtype=np.int8) if record_control else None
    if history is not None:
        history[:, 0] = control

    for d in range(D):
        z = u.noise_u()  # drawn every day whatever the state (common random numbers)
        # 1-3. state at 00:00, calendar, reinforcements
        gov0 = control == GOVERNMENT
        opp0 = ~gov0
        pause = bool(c.pause[d])
        for day, side, idx, amount in c.reinforcements:
            if day == d:
                if side == "government":
                    nominal[:, idx] += amount
                    strength[:, idx] += amount
                else:
                    sector[:, idx] += amount
        # 4. recovery and Turkish fire
        strength = (np.minimum(nominal, strength + p.recovery_per_day_frac * nominal)
                    * (1.0 - kn.day("retaliation", d)) * (1.0 - kn.day("fp_drone", d) * fp_share))
        # 5. frontier and pockets (entries of the government's advance)
        frontier = opp0 & g.any_neighbour(gov0)
        pocket = opp0 & ~g.reach(opp0, c.rear[None, :]) if not pause else np.zeros_like(opp0)
        rg, tg = np.nonzero(frontier | pocket)
        on_front = frontier[rg, tg]
        seg = _Segments(rg)
        # 6. effort of the government groups
        e_g = np.zeros(len(rg))
        attacking = np.zeros((n, K), dtype=bool)
        fp_share = np.zeros((n, K))
        fp_e = kn.in_fp(d, rg, tg)
        length = kn.of("effort_length_km", rg)
        for k in range(K):
            if pause and not c.breach[k, d]:
                continue
            cur = _order_in_force(orders_of[k], start_day, d, n)
            obj = _objective(c.order_obj, cur, gov0, rows)
            act = (obj >= 0) & (strength[:, k] >= p.min_strength_frac * nominal[:, k])
            ok = act[rg] & on_front
            if not ok.any():
                continue
            w = seg.softmax(np.where(ok, g.dist[np.maximum(obj, 0)[rg], tg], np.inf), length)
            e_k = strength[:, k] * effort_mult[rows, np.maximum(cur, 0)]
            e_g += e_k[rg] * w
            attacking[:, k] = np.bincount(rg, weights=w, minlength=n) > 0
            fp_share[:, k] = np.bincount(rg, weights=w * fp_e, minlength=n)
        # 7. rates: government advance, mop-up, strike groups
        z_g = _normal(z[rg, tg])
        v_g = np.where(on_front, _gov_speed(c, d, rg, tg, e_g, sector, cohesion, first, z_g, kn),
                       0.0) + np.where(pocket[rg, tg], kn.of("mopup_km_per_day", rg), 0.0)
        rq, tq, v_q = _strikes(c, kn, d, g, gov0, opp0, rg, tg, e_g, strike, z, rows) \
            if not pause else (rg[:0], tg[:0], v_g[:0])
        # 8. advance
        r = np.concatenate([rg, rq])
        t = np.concatenate([tg, tq])
        v = np.concatenate([v_g, v_q])
        sign = np.r_[np.ones(len(rg)), -np.ones(len(rq))]  # + government gains, - losses
        p_old = progress[r, t]
        falls, _ = fr.crossing(p_old, v, depth[t])
        falls &= v > 0
        p_new = np.minimum(p_old + v, depth[t])
        d_share = sign * (p_new - p_old) / depth[t]
        progress[r, t] = np.where(falls, 0.0, p_new)
        rf, tf, took = r[falls], t[falls], sign[falls] > 0
        control[rf, tf] = np.where(took, GOVERNMENT, OPPOSITION)
        rc, tc = rf[took], tf[took]
        first[rc, tc] = np.where(first[rc, tc] < 0, d, first[rc, tc])
        last[rc, tc] = d
        ro, to = rf[~took], tf[~took]
        n_rec[ro, to] += 1
        first_rec[ro, to] = np.where(first_rec[ro, to] < 0, d, first_rec[ro, to])
        # 9. consequences: cohesion for today's lost ground, attackers' losses
        gain = sign > 0
        lost = np.bincount(r[gain] * S + sec[t[gain]], weights=d_share[gain] * lost_w[t[gain]],
                           minlength=n * S).reshape(n, S)
        cohesion = fr.cohesion_step(cohesion, lost, p, kn.of("cohesion_loss"))
        strength = strength * (1.0 - p.attack_loss_per_day_frac * attacking)
        # 10. record
        area_now = area_now + np.bincount(r, weights=d_share * area[t], minlength=n)
        gov_area[:, d + 1] = area_now
        for j, m in enumerate(masks):
            grp_now[:, j] += np.bincount(r, weights=d_share * m[t], minlength=n)
        grp[:, :, d + 1] = grp_now
        held[d + 1] = held[d] + np.bincount(tf, weights=np.where(took, 1, -1),
                                            minlength=T).astype(np.int32)
        for j, towns in enumerate(watched):
            now_all = (control[:, towns] == GOVERNMENT).all(axis=1) & (watch_day[:, j] < 0)
            watch_day[now_all, j] = d
        if history is not None:
            history[:, d + 1] = control

    return FrontChunk(start, first, last, n_rec, control, gov_area, held, watch_day, grp,
                      first_rec, history)


def _order_in_force(ix: NDArray[np.intp], start_day: NDArray[Any], d: int,
                    n: int) -> NDArray[np.intp]:
    """Per replica, the latest order of ``ix`` (sorted by date) in force on day ``d``."""
    cur = np.full(n, -1, dtype=np.intp)
    for o in ix:
        cur = np.where(start_day[:, o] <= d, o, cur)
    return cur


def _objective(table: NDArray[np.intp], cur: NDArray[np.intp], held: NDArray[np.bool_],
               rows: NDArray[np.intp]) -> NDArray[np.intp]:
    """First objective of order ``cur`` (row of ``table``) not yet ``held``; ``-1`` if none."""
    objs = table[np.maximum(cur, 0)]
    valid = (objs >= 0) & (cur[:, None] >= 0)
    open_ = valid & ~held[rows[:, None], np.maximum(objs, 0)]
    i = open_.argmax(axis=1)
    return np.where(open_.any(axis=1), objs[rows, i], -1)


def _gov_speed(c: FrontCampaign, d: int, r: NDArray[np.intp], t: NDArray[np.intp], e: F64,
               sector: F64, cohesion: F64, first: NDArray[np.int16], z: F64,
               kn: Knobs | None = None) -> F64:
    """Government advance (km/day) on frontier entries ``(r, t)`` with effort ``e``
    (parameters from ``kn``; default the campaign's)."""
    kn = kn or Knobs(c, None, 0, 0, 0)
    p, fp = c.params, kn.in_fp(d, r, t)
    s = c.sector_of[t]
    attack = fr.attack_power(e, kn.day("sorties", d, r), kn.day("air_factor", d, r),
                             kn.day("fp_denial", d, r) * fp, p, kn.of("air_effect", r))
    defence = fr.sector_defence(sector[r, s], cohesion[r, s], c.towns0[s],
                                np.where(fp, kn.day("fp_defence", d, r), 1.0))
    routed = cohesion[r, s] < kn.of("rout_cohesion", r)
    posture = np.where(routed | (first[r, t] >= 0), p.posture_factor["hasty"],
                       c.posture_mult[t])
    return fr.advance_speed(fr.force_ratio(attack, defence), posture, c.terrain_mult[t],
                            kn.day("ground_factor", d, r),
                            fr.lognormal_mult(z, kn.of("speed_noise_sigma", r)),
                            kn.of("speed_scale", r), p)


def _strikes(c: FrontCampaign, kn: Knobs, d: int, g: _Graph, gov0: NDArray[np.bool_],
             opp0: NDArray[np.bool_], rg: NDArray[np.intp], tg: NDArray[np.intp], e_g: F64,
             strike: F64, z: NDArray[np.float32], rows: NDArray[np.intp]
             ) -> tuple[NDArray[np.intp], NDArray[np.intp], F64]:
    """Entries ``(r, t)`` of government towns under strike today and the opposition's advance
    on them (km/day)."""
    p, n = c.params, len(rows)
    today = [j for j in range(c.n_strike) if c.strike_window[j, 0] <= d < c.strike_window[j, 1]]
    if not today:
        return rg[:0], tg[:0], e_g[:0]
    rq, tq = np.nonzero(gov0 & g.any_neighbour(opp0))
    seg = _Segments(rq)
    e_q = np.zeros(len(rq))
    for j in today:
        obj = _objective(c.strike_obj, np.full(n, j), opp0, rows)
        ok = obj[rq] >= 0
        w = seg.softmax(np.where(ok, g.dist[np.maximum(obj, 0)[rq], tq], np.inf),
                        kn.of("effort_length_km", rq))
        e_q += strike[rq, j] * w
    keep = e_q > 0
    rq, tq, e_q = rq[keep], tq[keep], e_q[keep]
    e_dense = np.zeros(gov0.shape)
    e_dense[rg, tg] = e_g
    nb = g.nbr[tq]
    nb_ok = g.nbr_valid[tq] & opp0[rq[:, None], nb]
    nb_effort = np.where(nb_ok, e_dense[rq[:, None], nb], 0.0).max(axis=1, initial=0.0)
    fp = kn.in_fp(d, rq, tq)
    attack = e_q * np.where(fp, kn.day("fp_support", d, rq), 1.0)
    v = fr.advance_speed(fr.force_ratio(attack, fr.garrison_defence(nb_effort, p)),
                         c.gov_posture_mult[tq], c.terrain_mult[tq], kn.day("ground_factor", d, rq),
                         fr.lognormal_mult(_normal(z[rq, tq]), kn.of("speed_noise_sigma", rq)),
                         kn.of("speed_scale", rq) * kn.of("opp_speed_scale", rq), p)
    return rq, tq, v


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
