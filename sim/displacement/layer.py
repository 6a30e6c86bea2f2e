"""Displaced people per replica and day, from each replica's per-town capture days.

The model (a post-processing of the batch outputs; docs in the README, "Displacement"): every
locality the opposition held on 18 Dec 2019 has a population ``P_i`` (``seeds/populations.csv``:
the 2004 census where the gazetteer has it, else a documented figure or assumption). In a
replica, a share ``approach_share`` of ``scale * P_i`` leaves on the first day the government
captures a locality within ``approach_km`` of ``i`` (the front comes within artillery range), and
the rest leaves the day ``i`` itself falls (its own capture is also an approach, so the approach
day is never after the fall). Nobody returns within the campaign: the UN figures it is fitted to
are cumulative counts of people displaced since December.

``scale`` (displaced people per listed resident) absorbs everything the graph's 2004 figures miss:
growth since 2004, the displaced of earlier offensives sheltering in the area, and the people of
the localities that are not nodes. ``scale`` and ``approach_share`` are fitted to the article's
dated figures (:mod:`sim.displacement.record`); ``approach_km`` is fixed (an assumption).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from sim.errors import DataError, did_you_mean
from sim.theatre.tables import _Row, read_table, seeds_dir
from sim.theatre.theatre import OPPOSITION, Theatre


class DisplacementParams(BaseModel):
    """Parameters of the displacement layer (frozen, validated)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scale: float = Field(1.405, gt=0.0, le=50.0)
    """People displaced per resident listed in ``seeds/populations.csv`` (dimensionless).
    Fitted by ``idlib-sim displacement-fit`` (least squares on log figures over their assumed
    relative errors, seeds/displacement.csv) on the baseline's posterior predictive, 4,000
    replicas, seed 20191219: 1.405, standard error 0.29 (README "Displacement")."""
    approach_share: float = Field(0.0, ge=0.0, le=1.0)
    """Share of a locality's displaced who leave when the front first comes within
    ``approach_km`` (the rest leave when it falls). Fitted with ``scale``: 0.0, at its bound
    (95 % profile interval 0 to 0.32): the article's figures give no sign of flight ahead of
    the front beyond what ``scale`` already covers, so the mechanism is kept but off."""
    approach_km: float = Field(10.0, gt=0.0, le=60.0)
    """Distance at which the approaching front makes people leave (km, straight line).
    Assumption: two to three village spacings (3-6 km, sim/theatre/graph.py), within the
    range of the tube artillery and rocket launchers that shelled the towns ahead of the front."""


#: The fitted layer the run and compare commands use.
DISPLACEMENT = DisplacementParams()


class PopulationRow(_Row):
    town: str = Field(min_length=1)
    population: int = Field(ge=0)
    basis: Literal["census_2004", "article", "geonames", "assumption"]
    source: str = Field(min_length=1)


def load_populations(theatre: Theatre, path: str | Path | None = None) -> NDArray[np.float64]:
    """Population of every node (``seeds/populations.csv``), in node order.

    Raises
    ------
    DataError
        a row naming no node (with "did you mean"), a node missing, a duplicate, a bad value.
    """
    p = Path(path) if path is not None else seeds_dir() / "populations.csv"
    table = read_table(p, PopulationRow)
    idx = {n: i for i, n in enumerate(theatre.names)}
    out = np.full(theatre.n_towns, np.nan)
    for k, row in enumerate(table):
        if row.town not in idx:
            raise table.error(k, "town", row.town, "not a node of the graph"
                              + did_you_mean(row.town, theatre.names))
        if not np.isnan(out[idx[row.town]]):
            raise table.error(k, "town", row.town, "duplicate row")
        out[idx[row.town]] = row.population
    if np.isnan(out).any():
        missing = theatre.names[int(np.flatnonzero(np.isnan(out))[0])]
        raise DataError(p, None, "town", missing, "node has no population row")
    return out


@dataclass(frozen=True)
class Layer:
    """The displacement layer of one theatre: who can flee, and from how near the front."""

    population: NDArray[np.float64]
    """``(n_towns,)`` listed residents of the localities the opposition held on 18 Dec (0 for the
    government's: their people did not flee the offensive)."""
    near: NDArray[np.intp]
    """``(n_towns, k)`` nodes within ``approach_km`` of each node (itself included), padded with
    the node itself."""
    params: DisplacementParams

    @classmethod
    def of(cls, theatre: Theatre, params: DisplacementParams = DISPLACEMENT,
           population: NDArray[np.float64] | None = None) -> Layer:
        pop = load_populations(theatre) if population is None else np.asarray(population, float)
        pop = np.where(theatre.initial_control == OPPOSITION, pop, 0.0)
        xy = theatre.xy_km
        d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
        within = d <= params.approach_km
        k = int(within.sum(axis=1).max())
        near = np.tile(np.arange(len(xy))[:, None], (1, k))
        for i in range(len(xy)):  # once per theatre, not per replica
            js = np.flatnonzero(within[i])
            near[i, :len(js)] = js
        return cls(pop, near, params)

    def approach_days(self, first_capture: NDArray[np.int16]) -> NDArray[np.int32]:
        """``(n, n_towns)``: first day the government captures a node within ``approach_km``
        (``-1``: never)."""
        never = np.iinfo(np.int32).max
        c = np.where(first_capture >= 0, first_capture.astype(np.int32), never)
        a = c[:, self.near].min(axis=2)
        return np.where(a == never, -1, a)

    def flows(self, first_capture: NDArray[np.int16], n_days: int) -> NDArray[np.float64]:
        """``(n, n_days)`` people displaced during each day of each replica."""
        n = first_capture.shape[0]
        p = self.params
        w = p.scale * self.population
        out = np.zeros((n, n_days + 1))
        rows = np.broadcast_to(np.arange(n)[:, None], first_capture.shape)
        for days, share in ((self.approach_days(first_capture), p.approach_share),
                            (first_capture.astype(np.int32), 1.0 - p.approach_share)):
            ok = days >= 0
            # one flat bincount over (replica, day): no per-replica loop
            flat = rows[ok] * (n_days + 1) + np.minimum(days[ok], n_days)
            out += np.bincount(flat, weights=np.broadcast_to(share * w, days.shape)[ok],
                               minlength=n * (n_days + 1)).reshape(n, n_days + 1)
        return out[:, :n_days]

    def cumulative(self, first_capture: NDArray[np.int16], n_days: int) -> NDArray[np.float64]:
        """``(n, n_days)`` people displaced by the end of each day (day 0 = the start date)."""
        return np.cumsum(self.flows(first_capture, n_days), axis=1)

    def components(self, first_capture: NDArray[np.int16], n_days: int
                   ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Mean over replicas of the listed residents reached by the front (``A``) and fallen
        (``C``) by the end of each day: the mean displaced is ``scale * (s A + (1 - s) C)``,
        linear in the two fitted parameters (:func:`sim.displacement.record.fit_displacement`)."""
        one = self.params.model_copy(update={"scale": 1.0})
        a = Layer(self.population, self.near, one.model_copy(update={"approach_share": 1.0}))
        c = Layer(self.population, self.near, one.model_copy(update={"approach_share": 0.0}))
        return (a.cumulative(first_capture, n_days).mean(axis=0),
                c.cumulative(first_capture, n_days).mean(axis=0))
