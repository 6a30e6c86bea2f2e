"""The SimPy engine of the moving-front model: one replica at a time, with a full event log.

The model is a day-step model in both engines (docs/MODEL.md, "The moving-front model", "Time"):
every decision is taken on the state at 00:00 of day ``d``. Here that order of operations is a
set of SimPy processes:

* ``day_clock`` runs the day at 00:00 of ``d``: record (1), calendar (2; a pause that begins
  today *interrupts* every attacking process), reinforcements (3), recovery and Turkish fire (4),
  frontier and pockets (5); then it triggers the day's *morning*, on which the units decide;
* one ``group`` process per government formation and one ``strike`` process per opposition
  strike order (docs/MODEL.md step 6): each wakes on the mornings of its dated orders, reads its
  order and objective on the 00:00 state and adds its effort to the frontier; an interrupt by a
  pause puts it to sleep until the pause ends or its dated breach begins;
* the clock then computes the rates (7) and starts one ``crossing`` process per town whose
  progress reaches its depth today (8): it changes hands at its crossing time ``d + offset``;
* at ``d + 1``, when the day's crossings are done, the clock applies the consequences (9) and
  records the day (10).

Every formula is a call to :mod:`sim.model.rates`; the campaign's arrays come from
:class:`~sim.model.campaign.FrontCampaign`. Each decision site draws from its own named
stream (:mod:`sim.engines.streams`) of replica ``r``: ``SeedSequence(seed).spawn`` child ``r``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import simpy
from numpy.typing import NDArray

from sim.engines.batch import SITES, FrontChunk
from sim.engines.state import FrontReplicaResult, FrontState, Topology, watch_day
from sim.engines.streams import stream
from sim.model import rates as fr
from sim.model.campaign import FrontCampaign
from sim.model.posterior import Posterior, campaign_for_row
from sim.theatre.theatre import GOVERNMENT, OPPOSITION

LOG_COLUMNS = ("time", "day", "town", "event", "formation", "side", "modifier")



@dataclass(frozen=True)
class _Pause:
    """Interrupt cause: a pause (ceasefire) is in force from today until day ``end``."""

    end: int


class FrontDesEngine:
    """Run one replica of a :class:`FrontCampaign` with SimPy."""

    def __init__(self, campaign: FrontCampaign, seed: int, replica: int,
                 topo: Topology | None = None) -> None:
        self.c = campaign
        self.env = simpy.Environment()
        self.rng = {s: stream(seed, replica, s) for s in SITES}
        self.topo = topo or Topology.of(campaign)
        self.s = FrontState.initial(campaign, self.rng)
        self.today = 0
        self._mornings: dict[int, simpy.Event] = {}
        self.units: list[simpy.Process] = []
        self.log: list[tuple[float, int, str, str, str, str, str]] = []

    # -- helpers -----------------------------------------------------------------------------
    def _log(self, event: str, town: int = -1, unit: str = "", side: str = "",
             modifier: str = "") -> None:
        self.log.append((float(self.env.now), self.today,
                         self.topo.names[town] if town >= 0 else "", event, unit, side,
                         modifier))

    def morning_of(self, day: int) -> simpy.Event:
        """The event the clock triggers at 00:00 of ``day`` once steps 1-5 are done."""
        if day not in self._mornings:
            self._mornings[day] = self.env.event()
        return self._mornings[day]

    def _wake_day(self, k: int, day: int, end: int) -> int:
        """First day from ``day`` on which group ``k`` may attack under a pause ending ``end``:
        its next dated breach inside the pause, else the end of the pause."""
        breach = np.flatnonzero(self.c.breach[k, day:end])
        return day + int(breach[0]) if len(breach) else end

    # -- processes ---------------------------------------------------------------------------
    def day_clock(self) -> simpy.events.ProcessGenerator:
        c, s, p, env = self.c, self.s, self.c.params, self.env
        for d in range(c.n_days):
            self.today = d
            # 1. the state at 00:00
            s.control0 = s.control.copy()
            # 2. calendar: modifiers starting or ending today; a pause that begins today
            #    pre-empts every unit's attack
            for event, name in self.topo.calendar.get(d, ()):
                self._log(event, modifier=name)
            for j in np.flatnonzero(c.strike_window[:, 1] == d):
                self._log("strike_over", unit=c.orders.strike_names[j], side="opposition")
            if c.pause[d] and (d == 0 or not c.pause[d - 1]):
                end = d + int(np.argmin(np.append(c.pause[d:], False)))
                self._log("pause", modifier="ceasefire")
                for proc in self.units:
                    if proc.is_alive:
                        proc.interrupt(_Pause(end))
                yield env.timeout(0)  # the interrupted units handle the pause before deciding
            # 3. reinforcements
            for day, side, idx, amount in c.reinforcements:
                if day == d:
                    if side == "government":
                        s.nominal[idx] += amount
                        s.strength[idx] += amount
                        self._log("reinforced", unit=c.forces.formations[idx], side=side)
                    else:
                        s.sector[idx] += amount
                        self._log("reinforced", unit=c.forces.sectors[idx], side=side)
            # 4. recovery, Turkish retaliation, drones on yesterday's effort in the footprint
            s.strength = (np.minimum(s.nominal, s.strength + p.recovery_per_day_frac * s.nominal)
                          * (1.0 - c.retaliation[d]) * (1.0 - c.fp_drone[d] * s.fp_share))
            # 5. frontier, opposition frontier, pockets
            self._frontiers()
            # 6. the units decide on the morning event
            s.e_gov[:] = 0.0
            s.e_opp[:] = 0.0
            s.fp_share[:] = 0.0
            s.attacking[:] = False
            self.morning_of(d).succeed()
            # Events at one instant run in the order they were scheduled (SimPy's queue is
            # ordered by time, priority, insertion), so every unit woken by the morning has
            # decided before this zero delay ends.
            yield env.timeout(0)
            # 7-8. rates, and the day's crossings as processes
            crossings = [env.process(self.crossing(int(t), float(off)))
                         for t, off in self._advance(d)]
            yield env.all_of(crossings)
            yield env.timeout(d + 1 - env.now)
            # 9-10. consequences and record (end of day d)
            self._consequences()

    def group(self, k: int) -> simpy.events.ProcessGenerator:
        """Government formation ``k``: its dated orders, effort each morning, pauses."""
        c, s = self.c, self.s
        name = c.forces.formations[k]
        mine = s.orders_of[k]
        day = int(s.start_day[mine].min()) if len(mine) else c.n_days
        paused_until = 0
        while day < c.n_days:
            try:
                yield self.morning_of(day)
                if day < paused_until and not c.breach[k, day]:
                    day = self._wake_day(k, day, paused_until)
                    continue
                if day < paused_until:
                    self._log("breach", unit=name, side="government", modifier="ceasefire")
                self._group_decides(k, day)
                day += 1
            except simpy.Interrupt as stop:
                assert isinstance(stop.cause, _Pause)
                paused_until = stop.cause.end
                self._log("paused", unit=name, side="government", modifier="ceasefire")
                day = max(day, self._wake_day(k, self.today, paused_until))

    def _group_decides(self, k: int, d: int) -> None:
        c, s, p = self.c, self.s, self.c.params
        name = c.forces.formations[k]
        mine = s.orders_of[k]
        started = mine[s.start_day[mine] <= d]
        o = int(started[-1]) if len(started) else -1  # the latest order in force
        if o != s.order[k]:
            s.order[k] = o
            self._log("order", unit=name, side="government")
        obj = _first_open(c.order_obj[o], s.control0 != GOVERNMENT) if o >= 0 else -1
        if obj != s.objective[k]:
            s.objective[k] = obj
            if obj >= 0:
                self._log("objective", town=obj, unit=name, side="government")
        if obj < 0 or s.strength[k] < p.min_strength_frac * s.nominal[k]:
            return
        w = fr.effort_weights(self.topo.dist[obj], s.frontier, p.effort_length_km)
        s.e_gov += s.strength[k] * s.effort_mult[o] * w
        s.attacking[k] = w.sum() > 0
        s.fp_share[k] = float(w @ c.in_fp[d])

    def strike(self, j: int) -> simpy.events.ProcessGenerator:
        """Opposition strike group ``j``: attacks on the mornings of its dated window."""
        c, s, p = self.c, self.s, self.c.params
        name = c.orders.strike_names[j]
        day, end = (int(x) for x in c.strike_window[j])
        paused_until = 0
        started = False
        while day < end:
            try:
                yield self.morning_of(day)
                if day < paused_until:
                    day = paused_until
                    continue
                if not started:
                    started = True
                    self._log("strike", unit=name, side="opposition")
                obj = _first_open(c.strike_obj[j], s.control0 != OPPOSITION)
                if obj >= 0:
                    w = fr.effort_weights(self.topo.dist[obj], s.opp_front, p.effort_length_km)
                    s.e_opp += s.strike[j] * w
                day += 1
            except simpy.Interrupt as stop:
                assert isinstance(stop.cause, _Pause)
                paused_until = stop.cause.end
                self._log("paused", unit=name, side="opposition", modifier="ceasefire")
                day = max(day, paused_until)

    def crossing(self, t: int, offset: float) -> simpy.events.ProcessGenerator:
        """Town ``t`` changes hands ``offset`` days into the day (docs/MODEL.md step 8)."""
        yield self.env.timeout(offset)
        s, d = self.s, self.today
        s.progress[t] = 0.0
        if s.control0[t] == OPPOSITION:
            s.control[t] = GOVERNMENT
            if s.first[t] < 0:
                s.first[t] = d
            s.last[t] = d
            self._log("captured", town=t, side="government")
        else:
            s.control[t] = OPPOSITION
            s.n_rec[t] += 1
            if s.first_rec[t] < 0:
                s.first_rec[t] = d
            self._log("recaptured_by_opposition", town=t, side="opposition")

    # -- the clock's steps -------------------------------------------------------------------
    def _frontiers(self) -> None:
        """Step 5 on the 00:00 state; logs towns newly cut off."""
        s = self.s
        gov0 = s.control0 == GOVERNMENT
        s.frontier = ~gov0 & self.topo.touches(gov0)
        s.opp_front = gov0 & self.topo.touches(~gov0)
        pocket = ~gov0 & ~self.topo.connected(~gov0, self.c.rear)
        for t in np.flatnonzero(pocket & ~s.pocket):
            self._log("cut_off", town=int(t), side="opposition")
        s.pocket = pocket

    def _advance(self, d: int) -> list[tuple[int, float]]:
        """Steps 7-8: every town's speed today; progress grows; the towns that fall today."""
        c, s, p = self.c, self.s, self.c.params
        fp = c.in_fp[d]
        noise = fr.lognormal_mult(self.rng["front/speed_noise"].standard_normal(c.n_towns),
                                  p.speed_noise_sigma)
        sec = c.sector_of
        attack = fr.attack_power(s.e_gov, c.sorties[d], c.air_factor[d], c.fp_denial[d] * fp, p)
        defence = fr.sector_defence(s.sector[sec], s.cohesion[sec], c.towns0[sec],
                                    np.where(fp, c.fp_defence[d], 1.0))
        # hasty: a routed sector's towns, and towns the opposition retook (docs/MODEL.md)
        hasty = (s.cohesion < p.rout_cohesion)[sec] | (s.first >= 0)
        posture = np.where(hasty, p.posture_factor["hasty"], c.posture_mult)
        v_gov = fr.advance_speed(fr.force_ratio(attack, defence), posture, c.terrain_mult,
                                 c.ground_factor[d], noise, p.speed_scale, p)
        v = np.where(s.frontier, v_gov, 0.0)
        if not c.pause[d]:
            v = v + p.mopup_km_per_day * s.pocket
        gov0 = s.control0 == GOVERNMENT
        v = np.where(gov0, 0.0, v)
        if s.e_opp.any():  # a strike group is attacking today
            nb_effort = self.topo.max_over_neighbours(np.where(gov0, 0.0, s.e_gov))
            opp_attack = s.e_opp * np.where(fp, c.fp_support[d], 1.0)
            v_opp = fr.advance_speed(
                fr.force_ratio(opp_attack, fr.garrison_defence(nb_effort, p)),
                c.gov_posture_mult, c.terrain_mult, c.ground_factor[d], noise,
                p.speed_scale * p.opp_speed_scale, p)
            v = np.where(gov0 & s.opp_front & (s.e_opp > 0), v_opp, v)
        falls, offset = fr.crossing(s.progress, v, c.depth_km)
        s.progress = np.minimum(s.progress + v, c.depth_km)
        return [(int(t), float(offset[t])) for t in np.flatnonzero(falls & (v > 0))]

    def _consequences(self) -> None:
        """Steps 9-10 at the end of the day."""
        c, s, p = self.c, self.s, self.c.params
        share = fr.gov_share(s.control, s.progress, c.depth_km)
        opp0 = s.control0 == OPPOSITION
        lost = np.where(opp0, np.maximum(share - s.share, 0.0), 0.0) * c.theatre.area_km2
        lost_frac = np.bincount(c.sector_of, weights=lost, minlength=len(s.sector)) / c.area0
        was_routed = s.cohesion < p.rout_cohesion
        s.cohesion = fr.cohesion_step(s.cohesion, lost_frac, p)
        for i in np.flatnonzero((s.cohesion < p.rout_cohesion) != was_routed):
            self._log("routed" if not was_routed[i] else "rallied",
                      unit=c.forces.sectors[i], side="opposition")
        s.strength = s.strength * (1.0 - p.attack_loss_per_day_frac * s.attacking)
        s.share = share
        s.record(float(share @ c.theatre.area_km2))

    # -- run ---------------------------------------------------------------------------------
    def run(self) -> FrontReplicaResult:
        c = self.c
        # Units first: they are waiting on their first morning when the clock starts.
        self.units = [self.env.process(self.group(k)) for k in range(c.forces.n_formations)]
        self.units += [self.env.process(self.strike(j)) for j in range(c.n_strike)]
        self.env.process(self.day_clock())
        self.env.run(until=float(c.n_days) + 0.5)  # past the last day's record at n_days
        return self.s.result(pd.DataFrame(self.log, columns=list(LOG_COLUMNS)))


def _first_open(objectives: NDArray[np.intp], open_: NDArray[np.bool_]) -> int:
    """First objective (``-1`` = padding) that is still ``open_``; ``-1`` if none."""
    for t in objectives:
        if t >= 0 and open_[t]:
            return int(t)
    return -1


def run_front_des(c: FrontCampaign, seed: int, n: int, start: int = 0,
                  watch: Sequence[Sequence[int]] = (),
                  area_groups: Sequence[NDArray[np.bool_]] = (),
                  record_control: bool = False,
                  posterior: Posterior | None = None) -> FrontChunk:
    """Replicas ``start .. start + n - 1`` in the batch core's :class:`FrontChunk` form (the
    same fields, so either engine's output feeds the same results code; the logs are dropped:
    use :func:`run_front_replica` for them). With a ``posterior``, replica ``i`` runs with the
    parameters of its sample row (:meth:`Posterior.rows`, the same rows as the batch core)."""
    if n < 0 or start < 0:
        raise ValueError(f"replicas {start} .. {start} + {n}: start and n must be >= 0")
    topo = Topology.of(c)  # modifier names and dates only: the same under any posterior row
    if posterior is None:
        runs = [FrontDesEngine(c, seed, start + i, topo).run() for i in range(n)]
    else:
        rows = posterior.rows(seed, start, n)
        runs = [FrontDesEngine(campaign_for_row(c, posterior, int(row)), seed, start + i,
                               topo).run() for i, row in enumerate(rows)]
    area = c.theatre.area_km2
    ctl = np.array([r.control for r in runs], dtype=np.int8).reshape(n, c.n_days + 1, -1)
    shares = np.array([r.gov_share for r in runs]).reshape(n, c.n_days + 1, -1)
    groups = [np.asarray(m, dtype=float) * area for m in area_groups]
    return FrontChunk(
        start=start,
        first_capture_day=np.array([r.first_capture_day for r in runs], np.int16).reshape(n, -1),
        last_capture_day=np.array([r.last_capture_day for r in runs], np.int16).reshape(n, -1),
        n_recaptures=np.array([r.n_recaptures for r in runs], np.int16).reshape(n, -1),
        final_control=ctl[:, -1].copy(),
        gov_area_km2=np.array([r.gov_area_km2 for r in runs], np.float32).reshape(n, -1),
        held_count=(ctl == GOVERNMENT).sum(axis=0).astype(np.int32),
        watch_day=np.array([[watch_day(r.control, w) for w in watch] for r in runs],
                           np.int16).reshape(n, len(watch)),
        group_area_km2=np.stack([shares @ g for g in groups], axis=1).astype(np.float32)
        if groups else np.zeros((n, 0, c.n_days + 1), np.float32),
        first_recapture_day=np.array([r.first_recapture_day for r in runs],
                                     np.int16).reshape(n, -1),
        control_by_day=ctl if record_control else None,
    )


def run_front_replica(campaign: FrontCampaign, seed: int, replica: int,
                      posterior: Posterior | None = None) -> FrontReplicaResult:
    """Run replica ``replica``: its streams derive from ``SeedSequence(seed).spawn`` child
    number ``replica``; with a ``posterior``, its parameters are those of its sample row."""
    if posterior is not None:
        row = int(posterior.rows(seed, replica, 1)[0])
        campaign = campaign_for_row(campaign, posterior, row)
    return FrontDesEngine(campaign, seed, replica).run()
