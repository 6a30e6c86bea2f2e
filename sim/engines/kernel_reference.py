"""The numpy reference of the batch core's day: the same steps as the compiled kernel
(:mod:`sim.engines.kernel`), computed on whole ``(replicas, towns)`` arrays.

This was the batch core before the kernel. It is kept, unchanged in its arithmetic, as the
reference the kernel is tested against: ``tests/test_kernel.py`` requires the two to give the
same outputs to the bit, so neither can drift from the other without a failing test. It is not
used in runs (it is about 3x slower than the kernel, and does ~6x more work: it
computes every town, not only the frontier). Neighbour tests here run on masks packed eight
replicas to a byte; per-replica reductions use ``np.add.reduceat`` and ``np.bincount``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.engines.batch import FrontChunk, _normal, start_chunk
from sim.engines.knobs import Knobs
from sim.model import rates as fr
from sim.model.campaign import FrontCampaign
from sim.model.posterior import Posterior
from sim.theatre.theatre import GOVERNMENT, OPPOSITION

F64 = NDArray[np.float64]


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


def run_chunk_numpy(c: FrontCampaign, seed: int, start: int, n: int,
                    watch: Sequence[Sequence[int]] = (),
                    area_groups: Sequence[NDArray[np.bool_]] = (),
                    record_control: bool = False,
                    posterior: Posterior | None = None) -> FrontChunk:
    """:func:`sim.engines.batch.run_chunk` with each day computed on whole arrays."""
    st = start_chunk(c, seed, start, n, watch, area_groups, record_control, posterior)
    p, th, kn, u = c.params, c.theatre, st.kn, st.u
    T, K, D, S = c.n_towns, c.forces.n_formations, c.n_days, len(c.forces.sectors)
    g = _Graph(c)
    rows = np.arange(n)
    area, sec, depth = th.area_km2, c.sector_of, c.depth_km
    lost_w = area / c.area0[sec]  # a town's share of its sector's 18 Dec area
    control, progress, first, last = st.control, st.progress, st.first, st.last
    first_rec, n_rec, nominal, strength = st.first_rec, st.n_rec, st.nominal, st.strength
    sector, cohesion, strike, start_day = st.sector, st.cohesion, st.strike, st.start_day
    effort_mult, fp_share, masks, watched = st.effort_mult, st.fp_share, st.masks, st.watched
    area_now, grp_now, gov_area, grp = st.area_now, st.grp_now, st.gov_area, st.grp
    held, watch_day = st.held, st.watch_day
    history = st.history if record_control else None
    orders_of = [np.flatnonzero(c.order_k == k) for k in range(K)]
    orders_of = [ix[np.argsort(c.order_day[ix], kind="stable")] for ix in orders_of]

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

    st.strength, st.cohesion, st.fp_share, st.area_now = strength, cohesion, fp_share, area_now
    return st.chunk()



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
