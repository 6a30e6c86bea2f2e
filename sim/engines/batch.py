"""The vectorised Monte Carlo core: many replicas of one :class:`Campaign` as numpy arrays.

It follows the daily order of operations of :mod:`sim.engines.des` (docs/MODEL.md, "One day"):
for day ``d``: calendar -> reinforcements -> recovery and Turkish fire -> counterattacks on the
state at 00:00 -> formations in index order, each acting from the time it is ready until the end
of the day -> end-of-day record. Time advances in steps of one day; within a day each formation
has at most one assault event (consolidation, rest and redeployment all last >= 1 day), whose
time inside the day is drawn exactly, so formations' clocks stay continuous. What the step does
approximate is the *interaction* within a day: counterattacks resolve before assaults, and a
formation choosing its target mid-day sees the state as of the start of the day plus the earlier
formations' moves. docs/MODEL.md quantifies the effect.

Randomness: replicas come in fixed blocks of :data:`BLOCK` replicas; block ``b`` is
``SeedSequence(seed).spawn`` child ``b`` and has one stream per decision site. Every site draws a
full ``(BLOCK, width)`` array every day whatever the state, so (i) results do not depend on how
blocks are grouped into chunks, (ii) replica ``i`` of an N-replica run equals replica ``i`` of any
larger run, and (iii) two scenarios differing by one lever share every draw (common random numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim.engines.streams import stream
from sim.model import rates
from sim.model.campaign import NEVER, Campaign
from sim.theatre.theatre import GOVERNMENT, OPPOSITION

#: Replicas per random-number block (the unit of seeding; chunks are whole blocks).
BLOCK = 512


@dataclass
class BatchChunk:
    """Outputs for replicas ``start .. start + n - 1``."""

    start: int
    first_capture_day: NDArray[np.int16]
    """``(n, n_towns)`` day of first government capture, ``-1`` if never."""
    last_capture_day: NDArray[np.int16]
    n_recaptures: NDArray[np.int16]
    final_control: NDArray[np.int8]
    gov_area_km2: NDArray[np.float32]
    """``(n, n_days + 1)``: government-held area at the start (column 0) and end of each day."""
    held_count: NDArray[np.int32]
    """``(n_days + 1, n_towns)``: number of replicas in which the government holds the town."""


class _Draws:
    """Per-site block streams, drawing a whole ``(BLOCK, width)`` array per site per day."""

    def __init__(self, seed: int, blocks: range, sites: dict[str, int]) -> None:
        self.gens = {
            name: [stream(seed, b, name) for b in blocks] for name in sites
        }
        self.width = sites

    def day(self, n: int) -> dict[str, NDArray[np.float32]]:
        out = {}
        for name, gens in self.gens.items():
            arr = np.concatenate([g.random((BLOCK, self.width[name]), dtype=np.float32)
                                  for g in gens])
            out[name] = arr[:n]
        return out


def _sites(c: Campaign) -> dict[str, int]:
    sites = {"counterattack": c.n_towns}
    for f in c.forces.formations:
        sites[f"assault_time/{f}"] = 1
        sites[f"assault_outcome/{f}"] = 1
    return sites


def run_chunk(c: Campaign, seed: int, start: int, n: int) -> BatchChunk:
    """Simulate replicas ``start .. start + n - 1``; ``start`` must be a multiple of BLOCK."""
    if start % BLOCK:
        raise ValueError(f"chunk start {start} is not a multiple of BLOCK={BLOCK}")
    th, f, p, eff = c.theatre, c.forces, c.params, c.effects
    T, K, D = c.n_towns, f.n_formations, c.n_days
    blocks = range(start // BLOCK, (start + n + BLOCK - 1) // BLOCK)
    draws = _Draws(seed, blocks, _sites(c))
    rows = np.arange(n)
    nbr = th.neighbours.astype(np.intp)
    nbr_valid = nbr >= 0
    nbr_safe = np.where(nbr_valid, nbr, 0)
    dist = th.distance_km
    area = th.area_km2.astype(np.float32)
    sec_of = f.town_sector.astype(np.intp)
    towns0 = f.sector_towns0.astype(np.float64)

    control = np.repeat(th.initial_control[None, :], n, axis=0).astype(np.int8)
    cap_day = np.full((n, T), -NEVER, dtype=np.int32)
    first = np.full((n, T), -1, dtype=np.int16)
    last = np.full((n, T), -1, dtype=np.int16)
    n_rec = np.zeros((n, T), dtype=np.int16)
    nominal = np.repeat(f.nominal_k[None, :], n, axis=0).astype(np.float64)
    strength = nominal.copy()
    sec_nom = np.repeat(f.sector_nominal_k[None, :], n, axis=0).astype(np.float64)
    sector = sec_nom.copy()
    pos = np.repeat(f.start_node[None, :].astype(np.intp), n, axis=0)
    prev = pos.copy()
    target = np.full((n, K), -1, dtype=np.intp)
    ready = np.zeros((n, K))
    order_cur = np.full((n, K), -1, dtype=np.int32)
    obj_idx = np.zeros((n, K), dtype=np.int32)
    gov_area = np.zeros((n, D + 1), dtype=np.float32)
    held = np.zeros((D + 1, T), dtype=np.int32)
    t_changed = np.full((n, T), np.inf)
    gov_area[:, 0] = (control == GOVERNMENT) @ area
    held[0] = (control == GOVERNMENT).sum(axis=0)

    for d in range(D):
        u = draws.day(n)
        # 2-3. reinforcements, then recovery and Turkish fire
        for day, side, idx, amount in f.reinforcements:
            if day == d:
                if side == "government":
                    nominal[:, idx] += amount
                    strength[:, idx] += amount
                else:
                    sec_nom[:, idx] += amount
                    sector[:, idx] += amount
        strength = rates.attrit(rates.recover(strength, nominal, p), eff.attrition_frac[d])
        sector = rates.recover(sector, sec_nom, p)

        # 4. counterattacks on the state at 00:00 of day d. Every change of control today is
        # stamped with its time, so that a decision taken at time x sees the control as of x.
        control0 = control.copy()
        t_changed.fill(np.inf)
        opp = control == OPPOSITION
        age = d - cap_day
        exposed = (control == GOVERNMENT) & (age >= 1) & (age <= p.counterattack_window_days)
        ri, ti = np.nonzero(exposed)
        if len(ri):
            adj = (opp[ri[:, None], nbr_safe[ti]] & nbr_valid[ti]).any(axis=1)
            ri, ti = ri[adj], ti[adj]
        if len(ri):
            garrison = (pos[ri] == ti[:, None]).any(axis=1)
            sec = sec_of[ti]
            hz = rates.counterattack_hazard(age[ri, ti], sector[ri, sec] / sec_nom[ri, sec],
                                            eff.counterattack_factor[d], garrison, p)
            rings, offset = rates.event_within(u["counterattack"][ri, ti], hz, 1.0)
            ri, ti, offset = ri[rings], ti[rings], offset[rings]
            control[ri, ti] = OPPOSITION
            t_changed[ri, ti] = d + offset
            n_rec[ri, ti] += 1
            for k in range(K):
                hit = pos[ri, k] == ti
                if hit.any():
                    r = ri[hit]
                    pos[r, k] = _retreat(control, dist, r, ti[hit], prev[r, k])
                    strength[r, k] = rates.attrit(strength[r, k], p.counterattack_unit_loss_frac)
                    target[r, k] = -1
                    ready[r, k] = d + offset[hit] + p.rest_days

        # 5. formations, in index order
        block_today = c.post_block_day <= d
        for k in range(K):
            _formation_day(c, d, k, u, rows, control, control0, t_changed, cap_day, first, last,
                           strength, nominal, sector, pos, prev, target, ready, order_cur,
                           obj_idx, block_today, nbr_safe, nbr_valid, dist, sec_of, towns0)

        # 6. end of day
        gov = control == GOVERNMENT
        gov_area[:, d + 1] = gov @ area
        held[d + 1] = gov.sum(axis=0)

    return BatchChunk(start, first, last, n_rec, control.copy(), gov_area, held)


def _formation_day(
    c: Campaign, d: int, k: int, u: dict[str, NDArray[np.float32]], rows: NDArray[np.intp],
    control: NDArray[np.int8], control0: NDArray[np.int8], t_changed: NDArray[np.float64],
    cap_day: NDArray[np.int32], first: NDArray[np.int16],
    last: NDArray[np.int16], strength: NDArray[np.float64], nominal: NDArray[np.float64],
    sector: NDArray[np.float64], pos: NDArray[np.intp], prev: NDArray[np.intp],
    target: NDArray[np.intp], ready: NDArray[np.float64], order_cur: NDArray[np.int32],
    obj_idx: NDArray[np.int32], block_today: NDArray[np.bool_], nbr_safe: NDArray[np.intp],
    nbr_valid: NDArray[np.bool_], dist: NDArray[np.float64], sec_of: NDArray[np.intp],
    towns0: NDArray[np.float64],
) -> None:
    """One formation's day, for every replica at once (mutates the state arrays)."""
    p, eff, f = c.params, c.effects, c.forces
    name = f.formations[k]
    oid = int(c.order_id[k, d])
    if oid < 0:
        return
    # an assault whose target fell before 00:00, or that a post now protects, is dropped: the
    # formation retargets at once
    tk = target[:, k]
    tk0 = np.maximum(tk, 0)
    lost = (tk >= 0) & ((control0[rows, tk0] != OPPOSITION) | (c.post_block_day[tk0] <= d))
    target[lost, k] = -1
    act = ready[:, k] < d + 1
    if not act.any():
        return
    now = np.maximum(ready[:, k], d)

    def seen(r: NDArray[np.intp], towns: NDArray[np.intp], at: NDArray[np.float64]
             ) -> NDArray[np.int8]:
        """Control of ``towns`` in replicas ``r`` as it stood at time ``at``."""
        rr, aa = (r, at) if towns.ndim == 1 else (r[:, None], at[:, None])
        return np.where(t_changed[rr, towns] <= aa, control[rr, towns], control0[rr, towns])
    # objectives: a new order restarts the list and drops the assault in hand
    new = act & (order_cur[:, k] != oid)
    order_cur[new, k] = oid
    obj_idx[new, k] = 0
    target[new, k] = -1
    objs = c.order_objectives[oid]
    width = int((objs >= 0).sum())
    for _ in range(width):
        i = obj_idx[:, k]
        cur = objs[np.minimum(i, width - 1)]
        held_obj = act & (i < width) & (seen(rows, cur, now) == GOVERNMENT)
        if not held_obj.any():
            break
        obj_idx[held_obj, k] += 1
    i = obj_idx[:, k]
    has_obj = i < width
    obj = objs[np.minimum(i, width - 1)]
    strong = strength[:, k] >= p.min_assault_strength_frac * nominal[:, k]

    # a new order: first move through government ground to the frontier town nearest the
    # objective, if that is nearer than where the formation stands
    fresh = np.flatnonzero(new & has_obj)
    if len(fresh):
        moved = _redeploy(c, d, k, fresh, obj[fresh], seen, pos, prev, ready, now,
                          block_today, nbr_safe, nbr_valid, dist, only_if_nearer=True)
        act[fresh[moved]] = False
    # idle formations (no objective left, or too weak) wait for the next day
    idle = act & ~(has_obj & strong)
    target[idle, k] = -1
    ready[idle, k] = d + 1

    # choose targets for able formations without one
    choose = act & has_obj & strong & (target[:, k] < 0)
    r = np.flatnonzero(choose)
    if len(r):
        cand = nbr_safe[pos[r, k]]
        ok = (nbr_valid[pos[r, k]] & (seen(r, cand, now[r]) == OPPOSITION)
              & ~block_today[cand])
        score = np.where(ok, dist[cand, obj[r, None]], np.inf)
        # ties: lowest town index, as in the SimPy engine
        best = np.lexsort((cand, score), axis=1)[:, 0]
        pick = cand[np.arange(len(r)), best]
        found = ok.any(axis=1)
        target[r[found], k] = pick[found]
        # no target next to the formation: redeploy to the best frontier town, or wait
        rr = r[~found]
        if len(rr):
            _redeploy(c, d, k, rr, obj[rr], seen, pos, prev, ready, now, block_today,
                      nbr_safe, nbr_valid, dist)

    # assaults
    go = act & (target[:, k] >= 0) & strong & has_obj
    r = np.flatnonzero(go)
    if not len(r):
        return
    t = target[r, k]
    sec = sec_of[t]
    attack = rates.attack_power(strength[r, k], eff.air_sorties[d], eff.air_factor[d], p)
    defence = rates.defence_power(sector[r, sec] / towns0[sec], c.town_def[t],
                                  eff.defence_factor[d])
    lam_c, lam_r = rates.assault_hazards(attack, defence, eff.assault_factor[d], p)
    start = now[r]
    rings, offset = rates.event_within(u[f"assault_time/{name}"][r, 0], lam_c + lam_r,
                                       (d + 1) - start)
    if not rings.any():
        return
    r, t, sec = r[rings], t[rings], sec[rings]
    when = start[rings] + offset[rings]
    capture = u[f"assault_outcome/{name}"][r, 0] < rates.capture_share(lam_c[rings], lam_r[rings])
    void = control[r, t] != OPPOSITION  # taken earlier today by a formation with a lower index
    # captures
    cap = capture & ~void
    rc, tc = r[cap], t[cap]
    control[rc, tc] = GOVERNMENT
    t_changed[rc, tc] = when[cap]
    first[rc, tc] = np.where(first[rc, tc] < 0, d, first[rc, tc])
    last[rc, tc] = d
    cap_day[rc, tc] = d
    prev[rc, k] = pos[rc, k]
    pos[rc, k] = tc
    strength[rc, k] = rates.attrit(strength[rc, k], p.capture_loss_frac)
    sector[rc, sec[cap]] = rates.attrit(sector[rc, sec[cap]], p.defender_loss_per_capture_frac)
    # repulses
    rep = ~capture & ~void
    strength[r[rep], k] = rates.attrit(strength[r[rep], k], p.repulse_loss_frac)
    target[r, k] = -1
    ready[r, k] = when + np.where(rep, p.rest_days, p.consolidate_days)


def _retreat(control: NDArray[np.int8], dist: NDArray[np.float64], r: NDArray[np.intp],
             t: NDArray[np.intp], prev: NDArray[np.intp]) -> NDArray[np.intp]:
    """Where formations displaced from ``t`` go: ``prev`` if government-held, else the
    government-held town nearest ``t`` (lowest index on ties), as in the SimPy engine."""
    ok = control[r, prev] == GOVERNMENT
    if ok.all():
        return prev
    out = prev.copy()
    bad = np.flatnonzero(~ok)
    score = np.where(control[r[bad]] == GOVERNMENT, dist[t[bad]], np.inf)
    out[bad] = score.argmin(axis=1)
    return out


def _redeploy(
    c: Campaign, d: int, k: int, r: NDArray[np.intp], obj: NDArray[np.int32],
    seen: Callable[[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]], NDArray[np.int8]],
    pos: NDArray[np.intp], prev: NDArray[np.intp],
    ready: NDArray[np.float64], now: NDArray[np.float64], block_today: NDArray[np.bool_],
    nbr_safe: NDArray[np.intp], nbr_valid: NDArray[np.bool_], dist: NDArray[np.float64],
    only_if_nearer: bool = False,
) -> NDArray[np.bool_]:
    """Move formation ``k`` of replicas ``r`` to the government-held town nearest ``obj`` that
    borders a valid target. Returns which moved. Without ``only_if_nearer``, those that could not
    move wait for the next day."""
    all_towns = np.broadcast_to(np.arange(nbr_safe.shape[0]), (len(r), nbr_safe.shape[0]))
    sub = seen(r, all_towns, now[r])
    valid_t = (sub == OPPOSITION) & ~block_today[None, :]
    frontier = (sub == GOVERNMENT) & (valid_t[:, nbr_safe] & nbr_valid[None]).any(axis=2)
    score = np.where(frontier, dist[:, obj].T, np.inf)
    best = score.argmin(axis=1)  # argmin keeps the lowest index on ties, like the SimPy engine
    ok = np.isfinite(score[np.arange(len(r)), best]) & (best != pos[r, k])
    if only_if_nearer:
        ok &= dist[best, obj] < dist[pos[r, k], obj]
    mv = r[ok]
    prev[mv, k] = pos[mv, k]
    pos[mv, k] = best[ok]
    ready[mv, k] = now[mv] + c.params.redeploy_days
    if not only_if_nearer:
        ready[r[~ok], k] = d + 1
    return ok


def run_batch(
    c: Campaign, seed: int, n: int, chunk_blocks: int = 16,
    progress: Callable[[int], None] | None = None,
) -> Iterator[BatchChunk]:
    """Yield chunks of ``chunk_blocks * BLOCK`` replicas until ``n`` replicas are done."""
    size = chunk_blocks * BLOCK
    for start in range(0, n, size):
        m = min(size, n - start)
        yield run_chunk(c, seed, start, m)
        if progress is not None:
            progress(m)
