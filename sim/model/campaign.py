"""A campaign: theatre + forces + parameters + modifiers over a period, compiled to arrays once.

Both engines take a :class:`Campaign` and read only its arrays and the functions of
:mod:`sim.model.rates`; this is the one place where dated inputs become day indices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from sim.model.forces import Forces
from sim.model.modifiers import DailyEffects, Modifier, daily_effects
from sim.model.params import ModelParams
from sim.model.rates import town_defence
from sim.theatre.theatre import CAMPAIGN_END, CAMPAIGN_START, GOVERNMENT, Theatre

#: Day index used for "never" (post never established, never captured).
NEVER = 10_000


@dataclass(frozen=True)
class Campaign:
    """Everything an engine needs, as arrays indexed by town ``t``, formation ``k``, day ``d``."""

    theatre: Theatre
    forces: Forces
    params: ModelParams
    modifiers: tuple[Modifier, ...]
    start: dt.date = CAMPAIGN_START
    end: dt.date = CAMPAIGN_END
    """First day *not* simulated (the run covers ``start <= date < end``)."""
    effects: DailyEffects = field(init=False)
    town_def: NDArray[np.float64] = field(init=False)
    post_block_day: NDArray[np.int32] = field(init=False)
    order_id: NDArray[np.int32] = field(init=False)
    order_objectives: NDArray[np.int32] = field(init=False)

    def __post_init__(self) -> None:
        th = self.theatre
        set_ = object.__setattr__
        set_(self, "effects", daily_effects(self.modifiers, self.start, self.n_days))
        adj_gov = np.zeros(th.n_towns, bool)
        for i, j in th.graph.edges:
            adj_gov[i] |= th.initial_control[j] == GOVERNMENT
            adj_gov[j] |= th.initial_control[i] == GOVERNMENT
        frontline = adj_gov & (th.initial_control != GOVERNMENT)
        set_(self, "town_def", town_defence(th.towns["terrain"], th.towns["kind"], frontline,
                                            self.params))
        block = np.full(th.n_towns, NEVER, dtype=np.int32)
        if self.effects.posts_enabled:
            blocks = [p.at_node for p in th.tables.posts]
            offset = (self.start - CAMPAIGN_START).days
            for town, day, b in zip(th.post_town, th.post_established_day, blocks, strict=True):
                if b:
                    block[town] = min(block[town], max(int(day) - offset, 0))
        set_(self, "post_block_day", block)
        ids, table = self.forces.objectives_by_day(self.n_days)
        set_(self, "order_id", ids)
        set_(self, "order_objectives", table)

    @property
    def n_days(self) -> int:
        return (self.end - self.start).days

    @property
    def n_towns(self) -> int:
        return self.theatre.n_towns


def make_campaign(
    theatre: Theatre,
    forces: Forces,
    params: ModelParams | None = None,
    modifiers: Sequence[Modifier] = (),
    start: dt.date = CAMPAIGN_START,
    end: dt.date = CAMPAIGN_END,
) -> Campaign:
    """Build a :class:`Campaign` (``params`` default to :class:`ModelParams` defaults)."""
    if end <= start:
        raise ValueError(f"period end {end} is not after start {start}")
    return Campaign(theatre, forces, params or ModelParams(), tuple(modifiers), start, end)
