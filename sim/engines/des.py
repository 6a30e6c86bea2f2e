"""The discrete-event (SimPy) engine: one replica at a time, with a full event log.

Daily order of operations (docs/MODEL.md, "One day"): at 00:00 of day ``d`` the ``day_clock``
process

1. records the control of every town at the end of day ``d - 1``;
2. evaluates the calendar: the modifiers' effects for day ``d`` (orders dated ``d`` apply now);
3. applies reinforcements dated ``d``;
4. applies one day of recovery, then the day's Turkish fire, to formations and sectors;
5. opens the day's counterattacks: every exposed town draws its recapture time within the day;
6. signals ``new_day``, on which formations that were waiting re-evaluate.

Formations act continuously through the day as their own processes (``formation``): choose a
target, assault it with the hazards of the current day, capture / are repulsed / continue into the
next day. Counterattacks that hit a town where a formation stands interrupt that formation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import simpy
from numpy.typing import NDArray

from sim.engines.streams import stream
from sim.model import rates
from sim.model.campaign import NEVER, Campaign
from sim.theatre.theatre import GOVERNMENT, OPPOSITION

LOG_COLUMNS = ("time", "day", "town", "event", "formation", "side", "modifier")


@dataclass
class ReplicaResult:
    """Outputs of one replica (plain arrays; see :mod:`sim.results` for the tidy forms)."""

    log: pd.DataFrame
    control: NDArray[np.int8]
    """``(n_days + 1, n_towns)``: row 0 is the initial control, row ``d + 1`` the end of day d."""
    first_capture_day: NDArray[np.int32]
    """Day of the government's first capture during the run; ``-1`` if never."""
    last_capture_day: NDArray[np.int32]
    """Day of the government's last capture (its retaking after a recapture, if any); ``-1``."""
    first_recapture_day: NDArray[np.int32]
    """Day of the opposition's first recapture; ``-1`` if never."""
    strength: NDArray[np.float64]
    """``(n_days + 1, n_formations)`` formation strength at the end of each day (k fighters)."""


class _Displaced(Exception):
    """Interrupt cause: the town the formation stood in was retaken."""


@dataclass
class _State:
    control: NDArray[np.int8]
    cap_day: NDArray[np.int32]
    first_cap: NDArray[np.int32]
    last_cap: NDArray[np.int32]
    first_rec: NDArray[np.int32]
    strength: NDArray[np.float64]
    nominal: NDArray[np.float64]
    sector: NDArray[np.float64]
    sector_nominal: NDArray[np.float64]
    pos: NDArray[np.int32]
    prev: NDArray[np.int32]
    log: list[tuple[float, int, str, str, str, str, str]] = field(default_factory=list)


class DesEngine:
    """Run one replica of a :class:`Campaign` with SimPy."""

    def __init__(self, campaign: Campaign, root_seed: int, replica: int) -> None:
        self.c = campaign
        self.seed = root_seed
        self.replica = replica
        self.env = simpy.Environment()
        self.today = 0
        self.new_day: simpy.Event = self.env.event()
        self.procs: list[simpy.Process] = []
        self.encircled: set[int] = set()
        self.obj_idx = np.zeros(campaign.forces.n_formations, dtype=np.int32)
        self.current_order = np.full(campaign.forces.n_formations, -1, dtype=np.int32)
        self.fresh_order = np.zeros(campaign.forces.n_formations, dtype=bool)

    # -- helpers -----------------------------------------------------------------------------
    def _rng(self, site: str) -> np.random.Generator:
        return stream(self.seed, self.replica, site)

    def _log(self, event: str, town: int = -1, formation: int = -1, side: str = "",
             modifier: str = "") -> None:
        s = self.s
        s.log.append((
            float(self.env.now), self.today,
            self.c.theatre.names[town] if town >= 0 else "",
            event,
            self.c.forces.formations[formation] if formation >= 0 else "",
            side, modifier,
        ))

    def _valid_target(self, t: int) -> bool:
        return bool(self.s.control[t] == OPPOSITION and self.c.post_block_day[t] > self.today)

    def _objective(self, k: int) -> int:
        """Current objective of formation ``k`` (advancing past objectives already held)."""
        oid = int(self.c.order_id[k, self.today])
        if oid < 0:
            return -1
        if oid != self.current_order[k]:
            self.current_order[k] = oid
            self.obj_idx[k] = 0
            self.fresh_order[k] = True
        row = self.c.order_objectives[oid]
        while self.obj_idx[k] < len(row) and row[self.obj_idx[k]] >= 0 and (
                self.s.control[row[self.obj_idx[k]]] == GOVERNMENT
                or self.c.post_block_day[row[self.obj_idx[k]]] <= self.today):
            self.obj_idx[k] += 1  # held already, or protected by a post: flow past it
        if self.obj_idx[k] >= len(row) or row[self.obj_idx[k]] < 0:
            return -1
        return int(row[self.obj_idx[k]])

    def _choose_target(self, k: int, obj: int) -> int:
        nb = self.c.theatre.neighbours[self.s.pos[k]]
        cands = [int(t) for t in nb if t >= 0 and self._valid_target(int(t))]
        if not cands:
            return -1
        dist = self.c.theatre.distance_km[:, obj]
        return min(cands, key=lambda t: (dist[t], t))

    def _redeploy_to(self, obj: int) -> int:
        nbr = self.c.theatre.neighbours
        dist = self.c.theatre.distance_km[:, obj]
        best, best_d = -1, np.inf
        for t in range(self.c.n_towns):
            if self.s.control[t] != GOVERNMENT:
                continue
            if any(n >= 0 and self._valid_target(int(n)) for n in nbr[t]) and dist[t] < best_d:
                best, best_d = t, dist[t]
        return best

    # -- processes ---------------------------------------------------------------------------
    def day_clock(self) -> simpy.events.ProcessGenerator:
        c, s, eff = self.c, self.s, self.c.effects
        ca_rng = self._rng("counterattack")
        n_towns = c.n_towns
        for d in range(c.n_days):
            self.today = d
            if d > 0:
                self.control_rows.append(s.control.copy())
                self.strength_rows.append(s.strength.copy())
            for t in np.unique(c.theatre.post_town):
                nb = [int(n) for n in c.theatre.neighbours[t] if n >= 0]
                if (t not in self.encircled and s.control[t] == OPPOSITION
                        and c.post_block_day[t] <= d
                        and all(s.control[n] == GOVERNMENT for n in nb)):
                    self.encircled.add(int(t))
                    self._log("encircled", town=int(t), side="government",
                              modifier="observation_posts")
            for day, name, event in eff.log:
                if day == d:
                    self._log(event, modifier=name)
            for day, side, idx, amount in c.forces.reinforcements:
                if day == d:
                    if side == "government":
                        s.nominal[idx] += amount
                        s.strength[idx] += amount
                        self._log("reinforced", formation=idx, side=side)
                    else:
                        s.sector_nominal[idx] += amount
                        s.sector[idx] += amount
            s.strength[:] = rates.attrit(rates.recover(s.strength, s.nominal, c.params),
                                         eff.attrition_frac[d])
            s.sector[:] = rates.recover(s.sector, s.sector_nominal, c.params)
            # Counterattacks: exposure judged on the state at 00:00 of day d.
            u = ca_rng.random(n_towns)
            age = d - s.cap_day
            opp = s.control == OPPOSITION
            nbr = c.theatre.neighbours
            for t in range(n_towns):
                window = c.params.counterattack_window_days
                if not (s.control[t] == GOVERNMENT and 1 <= age[t] <= window):
                    continue
                if not any(n >= 0 and opp[n] for n in nbr[t]):
                    continue
                sec = c.forces.town_sector[t]
                hz = rates.counterattack_hazard(
                    age[t], s.sector[sec] / s.sector_nominal[sec], eff.counterattack_factor[d],
                    bool((s.pos == t).any()), c.params)
                rings, offset = rates.event_within(u[t], hz, 1.0)
                if rings:
                    self.env.process(self.counterattack(t, float(offset)))
            old, self.new_day = self.new_day, self.env.event()
            old.succeed()
            yield self.env.timeout(1.0)

    def counterattack(self, t: int, delay: float) -> simpy.events.ProcessGenerator:
        yield self.env.timeout(delay)
        s = self.s
        if s.control[t] != GOVERNMENT:
            return
        s.control[t] = OPPOSITION
        if s.first_rec[t] < 0:
            s.first_rec[t] = self.today
        self._log("recaptured_by_opposition", town=t, side="opposition")
        for k in np.flatnonzero(s.pos == t):
            self.procs[int(k)].interrupt(_Displaced())

    def formation(self, k: int) -> simpy.events.ProcessGenerator:
        c, s, p, eff = self.c, self.s, self.c.params, self.c.effects
        rng_time = self._rng(f"assault_time/{c.forces.formations[k]}")
        rng_outcome = self._rng(f"assault_outcome/{c.forces.formations[k]}")
        env = self.env
        rest = 0.0
        while True:
            try:
                if rest > 0:
                    wait, rest = rest, 0.0
                    yield env.timeout(wait)
                    continue
                if env.now >= self.today + 1:
                    yield self.new_day  # a new day has begun but the clock has not run yet
                    continue
                obj = self._objective(k)
                if self.fresh_order[k]:
                    self.fresh_order[k] = False
                    dest = self._redeploy_to(obj) if obj >= 0 else -1
                    dist = c.theatre.distance_km[:, obj]
                    if dest >= 0 and dist[dest] < dist[s.pos[k]]:
                        s.prev[k], s.pos[k] = s.pos[k], dest
                        self._log("redeployed", town=dest, formation=k, side="government")
                        rest = p.redeploy_days
                        continue
                if obj < 0 or s.strength[k] < p.min_assault_strength_frac * s.nominal[k]:
                    yield self.new_day
                    continue
                target = self._choose_target(k, obj)
                if target < 0:
                    dest = self._redeploy_to(obj)
                    if dest < 0 or dest == s.pos[k]:
                        yield self.new_day
                        continue
                    s.prev[k], s.pos[k] = s.pos[k], dest
                    self._log("redeployed", town=dest, formation=k, side="government")
                    rest = p.redeploy_days
                    continue
                self._log("assault_started", town=target, formation=k, side="government")
                while self._valid_target(target):  # else: taken, or protected: retarget at once
                    if (self._objective(k) < 0 or self.fresh_order[k]
                            or s.strength[k] < p.min_assault_strength_frac * s.nominal[k]):
                        break  # no objective left, a new order, or too weak: break off
                    d = self.today
                    sec = c.forces.town_sector[target]
                    attack = rates.attack_power(s.strength[k], eff.air_sorties[d],
                                                eff.air_factor[d], p)
                    defence = rates.defence_power(
                        s.sector[sec] / c.forces.sector_towns0[sec], c.town_def[target],
                        eff.defence_factor[d])
                    lam_c, lam_r = rates.assault_hazards(attack, defence, eff.assault_factor[d], p)
                    u = rng_time.random()
                    v = rng_outcome.random()
                    rings, offset = rates.event_within(u, lam_c + lam_r, (d + 1) - env.now)
                    if not rings:
                        yield self.new_day
                        continue
                    yield env.timeout(float(offset))
                    if s.control[target] != OPPOSITION:
                        self._log("assault_void", town=target, formation=k, side="government")
                        rest = p.consolidate_days
                    elif v < rates.capture_share(lam_c, lam_r):
                        self._capture(k, target)
                        rest = p.consolidate_days
                    else:
                        s.strength[k] = rates.attrit(s.strength[k], p.repulse_loss_frac)
                        self._log("attacked_repelled", town=target, formation=k,
                                  side="government")
                        rest = p.rest_days
                    break
            except simpy.Interrupt:
                t = int(s.pos[k])
                s.pos[k] = self._retreat_from(t, int(s.prev[k]))
                s.strength[k] = rates.attrit(s.strength[k], p.counterattack_unit_loss_frac)
                self._log("displaced", town=t, formation=k, side="government")
                rest = p.rest_days

    def _retreat_from(self, t: int, prev: int) -> int:
        """Where a formation displaced from ``t`` goes: ``prev`` if the government holds it,
        else the government-held town nearest ``t`` along the graph (lowest index on ties)."""
        if self.s.control[prev] == GOVERNMENT:
            return prev
        dist = np.where(self.s.control == GOVERNMENT, self.c.theatre.distance_km[t], np.inf)
        return int(dist.argmin())

    def _capture(self, k: int, t: int) -> None:
        s, p = self.s, self.c.params
        s.control[t] = GOVERNMENT
        if s.first_cap[t] < 0:
            s.first_cap[t] = self.today
        s.last_cap[t] = self.today
        s.cap_day[t] = self.today
        s.prev[k], s.pos[k] = s.pos[k], t
        s.strength[k] = rates.attrit(s.strength[k], p.capture_loss_frac)
        sec = self.c.forces.town_sector[t]
        s.sector[sec] = rates.attrit(s.sector[sec], p.defender_loss_per_capture_frac)
        self._log("captured", town=t, formation=k, side="government")

    # -- run ---------------------------------------------------------------------------------
    def run(self) -> ReplicaResult:
        c = self.c
        f = c.forces
        self.s = _State(
            control=c.theatre.initial_control.copy(),
            cap_day=np.full(c.n_towns, -NEVER, dtype=np.int32),
            first_cap=np.full(c.n_towns, -1, dtype=np.int32),
            last_cap=np.full(c.n_towns, -1, dtype=np.int32),
            first_rec=np.full(c.n_towns, -1, dtype=np.int32),
            strength=f.nominal_k.astype(float).copy(),
            nominal=f.nominal_k.astype(float).copy(),
            sector=f.sector_nominal_k.astype(float).copy(),
            sector_nominal=f.sector_nominal_k.astype(float).copy(),
            pos=f.start_node.copy(),
            prev=f.start_node.copy(),
        )
        self.control_rows = [self.s.control.copy()]
        self.strength_rows = [self.s.strength.copy()]
        self.env.process(self.day_clock())
        self.procs = [self.env.process(self.formation(k)) for k in range(f.n_formations)]
        self.env.run(until=float(c.n_days))
        self.control_rows.append(self.s.control.copy())  # end of the last day
        self.strength_rows.append(self.s.strength.copy())
        log = pd.DataFrame(self.s.log, columns=list(LOG_COLUMNS))
        return ReplicaResult(
            log=log,
            control=np.array(self.control_rows, dtype=np.int8),
            first_capture_day=self.s.first_cap.copy(),
            last_capture_day=self.s.last_cap.copy(),
            first_recapture_day=self.s.first_rec.copy(),
            strength=np.array(self.strength_rows),
        )


def run_replica(campaign: Campaign, root_seed: int, replica: int) -> ReplicaResult:
    """Run replica ``replica``: its streams derive from ``SeedSequence(root_seed).spawn`` child
    number ``replica``."""
    return DesEngine(campaign, root_seed, replica).run()
