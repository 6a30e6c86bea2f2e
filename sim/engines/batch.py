"""The vectorised Monte Carlo core: many replicas of one :class:`Campaign` as numpy arrays.

It follows the daily order of operations of :mod:`sim.engines.des` (docs/MODEL.md, "One day"):
for day ``d``: calendar -> reinforcements -> recovery and Turkish fire -> counterattacks on the
state at 00:00 -> formations in index order, each acting from the time it is ready until the end
of the day -> end-of-day record. Time advances in steps of one day; within a day each formation
has at most one assault event (consolidation, rest and redeployment all last >= 1 day), whose
time inside the day is drawn exactly, so formations' clocks stay continuous. Every change of
control is stamped with its time, and a decision taken at time ``x`` sees control as of ``x``.
What the step approximates is the order of *interacting* events within a day (docs/MODEL.md).

Work is kept on the frontier: counterattack candidates come from a ring of the last few days'
captures, territory and held counts are updated from the day's changes, and only towns that can
change hands (those the opposition held at the start) draw counterattack numbers.

Randomness: replicas come in fixed blocks of :data:`BLOCK` replicas; block ``b`` is
``SeedSequence(seed).spawn`` child ``b`` and has one stream per decision site. Every site draws a
full ``(BLOCK, width)`` array every day whatever the state, so (i) results do not depend on how
blocks are grouped into chunks, (ii) replica ``i`` of an N-replica run equals replica ``i`` of any
larger run, and (iii) two scenarios differing by one lever share every draw (common random numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from sim.engines.streams import stream
from sim.model import rates
from sim.model.campaign import NEVER, Campaign
from sim.theatre.theatre import GOVERNMENT, OPPOSITION

#: Replicas per random-number block (the unit of seeding; chunks are whole blocks).
BLOCK = 512

Idx = NDArray[np.intp]


@dataclass
class BatchChunk:
    """Outputs for replicas ``start .. start + n - 1``."""

    start: int
    first_capture_day: NDArray[np.int16]
    """``(n, n_towns)`` day of first government capture, ``-1`` if never."""
    last_capture_day: NDArray[np.int16]
    """``(n, n_towns)`` day of the government's last capture (its retaking after a recapture, if
    any); ``-1`` if never."""
    n_recaptures: NDArray[np.int16]
    final_control: NDArray[np.int8]
    gov_area_km2: NDArray[np.float32]
    """``(n, n_days + 1)``: government-held area at the start (column 0) and end of each day."""
    held_count: NDArray[np.int32]
    """``(n_days + 1, n_towns)``: number of replicas in which the government holds the town."""
    watch_day: NDArray[np.int16]
    """``(n, n_watch)``: first day at whose end the government holds every town of watched set
    ``j`` (``-1`` if never); see :func:`run_chunk`'s ``watch``."""
    group_area_km2: NDArray[np.float32]
    """``(n, n_groups, n_days + 1)``: government-held area within each town group (e.g. the
    towns of Idlib governorate); see :func:`run_chunk`'s ``area_groups``."""
    first_recapture_day: NDArray[np.int16]
    """``(n, n_towns)`` day of the opposition's first recapture, ``-1`` if never."""


class _Draws:
    """Per-site block streams: each site draws a whole ``(BLOCK, width)`` array per day.

    Sites of width 1 are drawn for all days at once: ``random((days, BLOCK))`` is the same
    sequence as ``days`` successive ``random((BLOCK, 1))`` calls, so nothing changes but speed.
    """

    def __init__(self, seed: int, blocks: range, sites: dict[str, int], n: int,
                 days: int) -> None:
        self.n = n
        self.gens = {name: [stream(seed, b, name) for b in blocks] for name in sites}
        self.width = sites
        self.ahead = {
            name: np.concatenate([g.random((days, BLOCK), dtype=np.float32) for g in gens],
                                 axis=1)[:, :n, None]
            for name, gens in self.gens.items() if sites[name] == 1
        }

    def day(self, d: int) -> dict[str, NDArray[np.float32]]:
        out = {name: arr[d] for name, arr in self.ahead.items()}
        for name, gens in self.gens.items():
            if name not in self.ahead:
                parts = [g.random((BLOCK, self.width[name]), dtype=np.float32) for g in gens]
                out[name] = (parts[0] if len(parts) == 1 else np.concatenate(parts))[:self.n]
        return out


@dataclass
class _State:
    """Arrays over replicas (rows) and towns or formations (columns)."""

    control: NDArray[np.int8]
    cap_day: NDArray[np.int16]
    first: NDArray[np.int16]
    last: NDArray[np.int16]
    n_rec: NDArray[np.int16]
    first_rec: NDArray[np.int16]
    nominal: NDArray[np.float64]
    strength: NDArray[np.float64]
    sec_nom: NDArray[np.float64]
    sector: NDArray[np.float64]
    pos: Idx
    prev: Idx
    target: Idx
    ready: NDArray[np.float64]
    order_cur: NDArray[np.int32]
    obj_idx: NDArray[np.int32]
    control0: NDArray[np.int8] = field(init=False)
    """Control at 00:00 of the current day."""
    t_first: NDArray[np.float32] = field(init=False)
    """Time of the first change of control today (``inf`` if none); at most two per day."""
    t_last: NDArray[np.float32] = field(init=False)
    opp_nbrs: NDArray[np.int16] = field(init=False)
    """Number of opposition-held neighbours of each town, kept up to date on every change."""
    changes: list[tuple[Idx, Idx]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.control0 = self.control.copy()
        self.t_first = np.full(self.control.shape, np.inf, dtype=np.float32)
        self.t_last = np.full(self.control.shape, np.inf, dtype=np.float32)

    def count_neighbours(self, nbr: Idx, nbr_valid: NDArray[np.bool_]) -> None:
        """Initialise :attr:`opp_nbrs` (every replica starts from the same control)."""
        opp = (self.control[0] == OPPOSITION)[nbr] & nbr_valid
        self.opp_nbrs = np.repeat(opp.sum(axis=1).astype(np.int16)[None, :],
                                  self.control.shape[0], axis=0)

    def set_control(self, r: Idx, t: Idx, value: int, when: NDArray[np.float64],
                    g: _Geo, unique_rows: bool = False) -> None:
        """Set control of ``(r, t)`` pairs at time ``when``. With ``unique_rows`` (one town per
        replica) every (replica, neighbour) pair is distinct and a plain fancy-index update is
        safe; otherwise repeated pairs need ``np.add.at``."""
        step = np.int16(1 if value == OPPOSITION else -1)
        nb, ok = g.nbr[t], g.nbr_valid[t]
        rows = np.broadcast_to(r[:, None], nb.shape)
        if unique_rows:
            self.opp_nbrs[rows[ok], nb[ok]] += step
        else:
            np.add.at(self.opp_nbrs, (rows[ok], nb[ok]), step)
        self.control[r, t] = value
        w = when.astype(np.float32)
        self.t_first[r, t] = np.minimum(self.t_first[r, t], w)
        self.t_last[r, t] = w
        self.changes.append((r, t))

    def seen(self, r: Idx, towns: Idx, at: NDArray[np.float64], day: int) -> NDArray[np.int8]:
        """Control of ``towns`` (shape ``(m,)`` or ``(m, w)``) in rows ``r`` as of time ``at``
        (within day ``day``).

        A town changes at most twice a day (retaken by a counterattack, then captured again), so
        between its first and last change it holds the opposite of its value at 00:00."""
        rr, aa = (r, at) if towns.ndim == 1 else (r[:, None], at[:, None])
        c0 = self.control0[rr, towns]
        late = np.flatnonzero(at > day)  # decisions at 00:00 see the control at 00:00
        if not len(late):
            return c0
        rl, tl = rr[late], towns[late]
        al = aa[late]
        before = self.t_first[rl, tl] > al
        if before.all():
            return c0
        after = self.t_last[rl, tl] <= al
        c0[late] = np.where(before, c0[late],
                            np.where(after, self.control[rl, tl], 1 - c0[late]))
        return c0


def _sites(c: Campaign, contestable: int) -> dict[str, int]:
    sites = {"counterattack": contestable}
    for f in c.forces.formations:
        sites[f"assault_time/{f}"] = 1
        sites[f"assault_outcome/{f}"] = 1
    return sites


def run_chunk(c: Campaign, seed: int, start: int, n: int,
              watch: Sequence[Sequence[int]] = (),
              area_groups: Sequence[NDArray[np.bool_]] = ()) -> BatchChunk:
    """Simulate replicas ``start .. start + n - 1``; ``start`` must be a multiple of BLOCK.

    ``watch`` lists sets of towns whose joint capture date is wanted (e.g. the whole M5);
    ``area_groups`` lists town masks whose government-held area is wanted day by day."""
    if start % BLOCK:
        raise ValueError(f"chunk start {start} is not a multiple of BLOCK={BLOCK}")
    th, f, p, eff = c.theatre, c.forces, c.params, c.effects
    T, K, D = c.n_towns, f.n_formations, c.n_days
    # Only towns the opposition held at the start can change hands.
    contestable = np.flatnonzero(th.initial_control == OPPOSITION)
    col_of = np.full(T, -1, dtype=np.intp)
    col_of[contestable] = np.arange(len(contestable))
    blocks = range(start // BLOCK, (start + n + BLOCK - 1) // BLOCK)
    draws = _Draws(seed, blocks, _sites(c, len(contestable)), n, D)
    g = _Geo(c)
    rep = lambda a, dtype: np.repeat(np.asarray(a)[None, :], n, axis=0).astype(dtype)  # noqa: E731
    s = _State(
        control=rep(th.initial_control, np.int8),
        cap_day=np.full((n, T), -NEVER, dtype=np.int16),
        first=np.full((n, T), -1, dtype=np.int16),
        last=np.full((n, T), -1, dtype=np.int16),
        n_rec=np.zeros((n, T), dtype=np.int16),
        first_rec=np.full((n, T), -1, dtype=np.int16),
        nominal=rep(f.nominal_k, np.float64),
        strength=rep(f.nominal_k, np.float64),
        sec_nom=rep(f.sector_nominal_k, np.float64),
        sector=rep(f.sector_nominal_k, np.float64),
        pos=rep(f.start_node, np.intp),
        prev=rep(f.start_node, np.intp),
        target=np.full((n, K), -1, dtype=np.intp),
        ready=np.zeros((n, K)),
        order_cur=np.full((n, K), -1, dtype=np.int32),
        obj_idx=np.zeros((n, K), dtype=np.int32),
    )
    s.count_neighbours(g.nbr, g.nbr_valid)
    area = th.area_km2.astype(np.float32)
    gov_area = np.zeros((n, D + 1), dtype=np.float32)
    held = np.zeros((D + 1, T), dtype=np.int32)
    gov_area[:, 0] = (s.control == GOVERNMENT) @ area
    group_area = [area * np.asarray(m, dtype=np.float32) for m in area_groups]
    grp = np.zeros((n, len(group_area), D + 1), dtype=np.float32)
    for j, ga in enumerate(group_area):
        grp[:, j, 0] = (s.control == GOVERNMENT) @ ga
    held[0] = (s.control == GOVERNMENT).sum(axis=0)
    watched = [np.asarray(w, dtype=np.intp) for w in watch]
    watch_day = np.full((n, len(watched)), -1, dtype=np.int16)
    # exposure ring: (rows, towns, capture day) of captures that may still be counterattacked
    ring = (np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0, np.int64))

    for d in range(D):
        u = draws.day(d)
        # 3-4. reinforcements, then recovery and Turkish fire
        for day, side, idx, amount in f.reinforcements:
            if day == d:
                nom, cur = (s.nominal, s.strength) if side == "government" else (s.sec_nom,
                                                                                  s.sector)
                nom[:, idx] += amount
                cur[:, idx] += amount
        s.strength = rates.attrit(rates.recover(s.strength, s.nominal, p), eff.attrition_frac[d])
        s.sector = rates.recover(s.sector, s.sec_nom, p)

        # 5. counterattacks on the state at 00:00 of day d
        ring = _counterattacks(c, d, s, g, u["counterattack"], col_of, ring)

        # 6. formations, in index order
        for k in range(K):
            _formation_day(c, d, k, u, s, g)

        # end of day: net changes update the records; today's captures join the ring
        if s.changes:
            r = np.concatenate([x[0] for x in s.changes])
            t = np.concatenate([x[1] for x in s.changes])
            key = np.unique(r * T + t)
            r, t = key // T, key % T
            delta = s.control[r, t].astype(np.int32) - s.control0[r, t]
            s.control0[r, t] = s.control[r, t]
            s.t_first[r, t] = np.inf
            s.t_last[r, t] = np.inf
            s.changes.clear()
            cap = (s.control[r, t] == GOVERNMENT) & (s.cap_day[r, t] == d)
            ring = (np.concatenate([ring[0], r[cap]]), np.concatenate([ring[1], t[cap]]),
                    np.concatenate([ring[2], np.full(int(cap.sum()), d)]))
        else:
            delta = np.zeros(0, dtype=np.int32)
            r = t = np.zeros(0, dtype=np.intp)
        gov_area[:, d + 1] = gov_area[:, d]
        np.add.at(gov_area[:, d + 1], r, (delta * area[t]).astype(np.float32))
        for j, ga in enumerate(group_area):
            grp[:, j, d + 1] = grp[:, j, d]
            np.add.at(grp[:, j, d + 1], r, (delta * ga[t]).astype(np.float32))
        held[d + 1] = held[d] + np.bincount(t, weights=delta, minlength=T).astype(np.int32)
        for j, towns in enumerate(watched):
            now_all = (s.control[:, towns] == GOVERNMENT).all(axis=1) & (watch_day[:, j] < 0)
            watch_day[now_all, j] = d

    return BatchChunk(start, s.first, s.last, s.n_rec, s.control, gov_area, held, watch_day,
                      grp, s.first_rec)


@dataclass(frozen=True)
class _Geo:
    """Static arrays derived from the campaign once per chunk."""

    nbr: Idx
    nbr_valid: NDArray[np.bool_]
    dist: NDArray[np.float64]
    sec_of: Idx
    towns0: NDArray[np.float64]
    by_dist: Idx
    """``by_dist[o]``: towns in order of distance to ``o`` (ties: lower index first)."""

    def __init__(self, c: Campaign) -> None:
        nbr = c.theatre.neighbours.astype(np.intp)
        set_ = object.__setattr__
        set_(self, "nbr_valid", nbr >= 0)
        set_(self, "nbr", np.where(nbr >= 0, nbr, 0))
        set_(self, "dist", c.theatre.distance_km)
        set_(self, "sec_of", c.forces.town_sector.astype(np.intp))
        set_(self, "towns0", c.forces.sector_towns0.astype(np.float64))
        set_(self, "by_dist", np.argsort(c.theatre.distance_km, axis=1, kind="stable"))


def _counterattacks(c: Campaign, d: int, s: _State, g: _Geo, u: NDArray[np.float32],
                    col_of: Idx, ring: tuple[Idx, Idx, NDArray[np.int64]]
                    ) -> tuple[Idx, Idx, NDArray[np.int64]]:
    """Exposed towns (captured 1..window days ago, still held, next to the opposition at 00:00)
    may be retaken within the day; formations standing in a retaken town are displaced.

    Returns the ring of captures that can still be exposed later: an entry leaves it for good
    once it is too old, the town is lost, or a later capture supersedes it."""
    p, eff = c.params, c.effects
    ri, ti, day = ring
    keep = ((s.control[ri, ti] == GOVERNMENT) & (s.cap_day[ri, ti] == day)
            & (d - day <= p.counterattack_window_days))
    ri, ti, day = ri[keep], ti[keep], day[keep]
    ring = (ri, ti, day)
    age = d - day
    adj = s.opp_nbrs[ri, ti] > 0
    ri, ti, age = ri[adj], ti[adj], age[adj]
    if not len(ri):
        return ring
    stand = np.zeros(s.control.shape, dtype=bool)  # towns where some formation stands
    for k in range(c.forces.n_formations):
        stand[np.arange(len(stand)), s.pos[:, k]] = True
    garrison = stand[ri, ti]
    sec = g.sec_of[ti]
    hz = rates.counterattack_hazard(age, s.sector[ri, sec] / s.sec_nom[ri, sec],
                                    eff.counterattack_factor[d], garrison, p)
    rings, offset = rates.event_within(u[ri, col_of[ti]], hz, 1.0)
    ri, ti, when = ri[rings], ti[rings], d + offset[rings]
    if not len(ri):
        return ring
    s.set_control(ri, ti, OPPOSITION, when, g)
    s.n_rec[ri, ti] += 1
    s.first_rec[ri, ti] = np.where(s.first_rec[ri, ti] < 0, d, s.first_rec[ri, ti])
    for k in range(c.forces.n_formations):
        hit = s.pos[ri, k] == ti
        if hit.any():
            r = ri[hit]
            s.pos[r, k] = _retreat(s, g, r, ti[hit], s.prev[r, k])
            s.strength[r, k] = rates.attrit(s.strength[r, k], p.counterattack_unit_loss_frac)
            s.target[r, k] = -1
            s.ready[r, k] = when[hit] + p.rest_days
    return ring


def _formation_day(c: Campaign, d: int, k: int, u: dict[str, NDArray[np.float32]], s: _State,
                   g: _Geo) -> None:
    """One formation's day, for every replica at once (mutates ``s``)."""
    p, eff, f = c.params, c.effects, c.forces
    name = f.formations[k]
    oid = int(c.order_id[k, d])
    if oid < 0:
        return
    # an assault whose target fell before 00:00, or that a post now protects, is dropped: the
    # formation retargets at once
    tk = s.target[:, k]
    has = np.flatnonzero(tk >= 0)
    t0 = tk[has]
    lost = (s.control0[has, t0] != OPPOSITION) | (c.post_block_day[t0] <= d)
    s.target[has[lost], k] = -1
    ra = np.flatnonzero(s.ready[:, k] < d + 1)  # formations free to act at some time today
    if not len(ra):
        return
    now = np.maximum(s.ready[ra, k], d)

    # objectives: a new order restarts the list and drops the assault in hand; objectives held
    # already, or protected by a post, are passed
    new = s.order_cur[ra, k] != oid
    s.order_cur[ra[new], k] = oid
    s.obj_idx[ra[new], k] = 0
    s.target[ra[new], k] = -1
    objs = c.order_objectives[oid]
    width = int((objs >= 0).sum())
    for _ in range(width):
        i = s.obj_idx[ra, k]
        cur = objs[np.minimum(i, width - 1)]
        done = (i < width) & ((s.seen(ra, cur, now, d) == GOVERNMENT)
                              | (c.post_block_day[cur] <= d))
        if not done.any():
            break
        s.obj_idx[ra[done], k] += 1
    i = s.obj_idx[ra, k]
    has_obj = i < width
    obj = objs[np.minimum(i, width - 1)]
    strong = s.strength[ra, k] >= p.min_assault_strength_frac * s.nominal[ra, k]
    free = np.ones(len(ra), dtype=bool)

    # a new order: first move through government ground to the frontier town nearest the
    # objective, if that is nearer than where the formation stands
    fresh = np.flatnonzero(new & has_obj)
    if len(fresh):
        moved = _redeploy(c, d, k, ra[fresh], obj[fresh], now[fresh], s, g,
                          only_if_nearer=True)
        free[fresh[moved]] = False
    # idle formations (no objective left, or too weak) wait for the next day
    idle = free & ~(has_obj & strong)
    s.target[ra[idle], k] = -1
    s.ready[ra[idle], k] = d + 1
    able = free & ~idle

    # choose targets for able formations without one: the valid neighbour nearest the objective
    choose = np.flatnonzero(able & (s.target[ra, k] < 0))
    if len(choose):
        r = ra[choose]
        pos = s.pos[r, k]
        cand = g.nbr[pos]
        ok = (g.nbr_valid[pos] & (s.seen(r, cand, now[choose], d) == OPPOSITION)
              & (c.post_block_day[cand] > d))
        score = np.where(ok, g.dist[cand, obj[choose, None]], np.inf)
        best = np.lexsort((cand, score), axis=1)[:, 0]  # ties: lowest town index, as in SimPy
        found = ok.any(axis=1)
        s.target[r[found], k] = cand[np.arange(len(r)), best][found]
        # no target next to the formation: redeploy to the best frontier town, or wait a day
        nf = choose[~found]
        if len(nf):
            moved = _redeploy(c, d, k, ra[nf], obj[nf], now[nf], s, g)
            s.ready[ra[nf[~moved]], k] = d + 1

    # assaults
    go = np.flatnonzero(able & (s.target[ra, k] >= 0))
    if not len(go):
        return
    r = ra[go]
    t = s.target[r, k]
    sec = g.sec_of[t]
    attack = rates.attack_power(s.strength[r, k], eff.air_sorties[d], eff.air_factor[d], p)
    defence = rates.defence_power(s.sector[r, sec] / g.towns0[sec], c.town_def[t],
                                  eff.defence_factor[d])
    lam_c, lam_r = rates.assault_hazards(attack, defence, eff.assault_factor[d], p)
    start = now[go]
    rings, offset = rates.event_within(u[f"assault_time/{name}"][r, 0], lam_c + lam_r,
                                       (d + 1) - start)
    if not rings.any():
        return
    r, t, sec = r[rings], t[rings], sec[rings]
    when = start[rings] + offset[rings]
    capture = u[f"assault_outcome/{name}"][r, 0] < rates.capture_share(lam_c[rings], lam_r[rings])
    void = s.control[r, t] != OPPOSITION  # taken earlier today by a formation with a lower index
    cap = capture & ~void
    rc, tc = r[cap], t[cap]
    s.set_control(rc, tc, GOVERNMENT, when[cap], g, unique_rows=True)
    s.first[rc, tc] = np.where(s.first[rc, tc] < 0, d, s.first[rc, tc])
    s.last[rc, tc] = d
    s.cap_day[rc, tc] = d
    s.prev[rc, k] = s.pos[rc, k]
    s.pos[rc, k] = tc
    s.strength[rc, k] = rates.attrit(s.strength[rc, k], p.capture_loss_frac)
    s.sector[rc, sec[cap]] = rates.attrit(s.sector[rc, sec[cap]],
                                          p.defender_loss_per_capture_frac)
    rep = ~capture & ~void
    s.strength[r[rep], k] = rates.attrit(s.strength[r[rep], k], p.repulse_loss_frac)
    s.target[r, k] = -1
    s.ready[r, k] = when + np.where(rep, p.rest_days, p.consolidate_days)


def _retreat(s: _State, g: _Geo, r: Idx, t: Idx, prev: Idx) -> Idx:
    """Where formations displaced from ``t`` go: ``prev`` if government-held, else the
    government-held town nearest ``t`` (lowest index on ties), as in the SimPy engine."""
    ok = s.control[r, prev] == GOVERNMENT
    if ok.all():
        return prev
    out = prev.copy()
    bad = np.flatnonzero(~ok)
    score = np.where(s.control[r[bad]] == GOVERNMENT, g.dist[t[bad]], np.inf)
    out[bad] = score.argmin(axis=1)
    return out


def _redeploy(c: Campaign, d: int, k: int, r: Idx, obj: NDArray[np.int32], now: NDArray[np.float64],
              s: _State, g: _Geo, only_if_nearer: bool = False) -> NDArray[np.bool_]:
    """Move formation ``k`` of replicas ``r`` to the government-held town nearest ``obj`` that
    borders a valid target (as seen at ``now``); returns which moved."""
    best = _nearest_frontier(c, d, r, obj, now, s, g)
    pos = s.pos[r, k]
    ok = (best >= 0) & (best != pos)
    if only_if_nearer:
        ok &= g.dist[best, obj] < g.dist[pos, obj]
    mv = r[ok]
    s.prev[mv, k] = pos[ok]
    s.pos[mv, k] = best[ok]
    s.ready[mv, k] = now[ok] + c.params.redeploy_days
    return ok


def _nearest_frontier(c: Campaign, d: int, r: Idx, obj: NDArray[np.int32],
                      now: NDArray[np.float64], s: _State, g: _Geo, step: int = 16) -> Idx:
    """The government-held town nearest ``obj`` with an opposition-held, unprotected neighbour,
    as seen at ``now`` (``-1`` if none). Towns are scanned in order of distance to ``obj``, a
    slice at a time, so the search stops near the front instead of visiting every town."""
    n_towns = g.nbr.shape[0]
    out = np.full(len(r), -1, dtype=np.intp)
    todo = np.arange(len(r))
    for j in range(0, n_towns, step):
        if not len(todo):
            break
        rr = r[todo]
        towns = g.by_dist[obj[todo], j:j + step]
        reach = np.isfinite(g.dist[towns, obj[todo, None]])
        gov = (s.seen(rr, towns, now[todo], d) == GOVERNMENT) & reach
        # neighbours are checked only where the candidate town itself qualifies
        pi, pj = np.nonzero(gov)
        first = np.full(len(todo), step, dtype=np.intp)
        if len(pi):
            tt = towns[pi, pj]
            nb = g.nbr[tt]
            opp = s.seen(rr[pi], nb, now[todo][pi], d) == OPPOSITION
            front = (opp & g.nbr_valid[tt] & (c.post_block_day[nb] > d)).any(axis=1)
            np.minimum.at(first, pi[front], pj[front])
        hit = first < step
        out[todo[hit]] = towns[np.flatnonzero(hit), first[hit]]
        todo = todo[~hit]
    return out


def run_batch(
    c: Campaign, seed: int, n: int, chunk_blocks: int = 16,
    progress: Callable[[int], None] | None = None, watch: Sequence[Sequence[int]] = (),
    area_groups: Sequence[NDArray[np.bool_]] = (),
) -> Iterator[BatchChunk]:
    """Yield chunks of ``chunk_blocks * BLOCK`` replicas until ``n`` replicas are done."""
    size = chunk_blocks * BLOCK
    for start in range(0, n, size):
        m = min(size, n - start)
        yield run_chunk(c, seed, start, m, watch, area_groups)
        if progress is not None:
            progress(m)
