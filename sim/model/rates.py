"""Rate functions of the moving-front model, shared by both engines.

Each formula is written once, as a scalar function compiled with numba (the ``*_1`` functions):
the batch core's compiled kernel (:mod:`sim.engines.kernel`) calls those inside its loop over
frontier towns. The public functions below apply the same compiled code element-wise
(``numba.vectorize`` ufuncs of the scalar functions), so they take numpy arrays or scalars and
broadcast: the SimPy engine calls them with one town or group, or with arrays of towns. The
formulas are those of docs/MODEL.md, "The moving-front model"; names follow it.

The order of the floating-point operations is part of each formula: the kernel and the numpy
reference core (:mod:`sim.engines.kernel_reference`) agree bit for bit because both go through
these functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit, vectorize
from numpy.typing import ArrayLike, NDArray

from sim.model.params import FrontParams

F64 = NDArray[np.float64]


def _ufunc(n_args: int) -> Callable[[Any], Any]:
    """Element-wise (broadcasting) form of a compiled scalar function of ``n_args`` floats."""
    return vectorize([f"float64({', '.join(['float64'] * n_args)})"], cache=True)


# -- scalar forms (compiled; the kernel calls these) -----------------------------------------

@njit(cache=True, error_model="numpy")
def qjm_speed_1(ratio: float, min_ratio: float, r1: float, r2: float, r3: float,
                v1: float, v2: float, v3: float) -> float:
    """:func:`qjm_speed` of one ratio; the table is ``(min_ratio, 0), (r_i, v_i)``. The
    interpolation follows ``numpy.interp`` step by step (same result to the bit)."""
    if ratio != ratio:  # nan: no attack
        return 0.0
    xs = (min_ratio, r1, r2, r3)
    ys = (0.0, v1, v2, v3)
    if ratio >= r3:  # also +inf; flat beyond the last point
        return v3
    if ratio < min_ratio:
        return 0.0
    j = 0
    while ratio >= xs[j + 1]:
        j += 1
    if ratio == xs[j]:
        return ys[j]
    slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j])
    return slope * (ratio - xs[j]) + ys[j]


@njit(cache=True, error_model="numpy")
def force_ratio_1(attack: float, defence: float) -> float:
    """:func:`force_ratio` of one pair."""
    if not attack > 0:
        return 0.0
    return attack / defence if defence > 0 else math.inf


@njit(cache=True, error_model="numpy")
def attack_power_1(effort: float, sorties: float, air_factor: float, air_denial: float,
                   air_effect: float) -> float:
    """:func:`attack_power` of one town."""
    air = sorties * air_factor * (1.0 - min(max(air_denial, 0.0), 1.0))
    return effort * (1.0 + air_effect * air)


@njit(cache=True, error_model="numpy")
def sector_defence_1(sector_strength: float, cohesion: float, towns0: float,
                     defence_mult: float) -> float:
    """:func:`sector_defence` of one town."""
    return sector_strength * cohesion / towns0 * defence_mult


@njit(cache=True, error_model="numpy")
def garrison_defence_1(neighbour_effort_max: float, garrison_k: float) -> float:
    """:func:`garrison_defence` of one town."""
    return garrison_k + neighbour_effort_max


@njit(cache=True, error_model="numpy")
def advance_speed_1(qjm: float, posture_factor: float, terrain_factor: float,
                    ground_factor: float, noise: float, scale: float) -> float:
    """:func:`advance_speed` of one town, from its :func:`qjm_speed_1` ``qjm``."""
    return scale * qjm * posture_factor * terrain_factor * ground_factor * noise


@njit(cache=True, error_model="numpy")
def lognormal_mult_1(z: float, sigma: float) -> float:
    """:func:`lognormal_mult` of one normal ``z``."""
    return math.exp(sigma * z - 0.5 * sigma * sigma)


@njit(cache=True, error_model="numpy")
def effort_weight_1(dist_km: float, best_km: float, length_km: float) -> float:
    """Unnormalised softmax weight of a town at ``dist_km`` when the nearest is at ``best_km``
    (0 for an excluded town, ``dist_km = inf``)."""
    if not math.isfinite(dist_km):
        return 0.0
    return math.exp(-(dist_km - best_km) / length_km)


@njit(cache=True, error_model="numpy")
def crossing_offset_1(progress: float, speed: float, depth_km: float) -> float:
    """:func:`crossing`'s offset of one town: the town falls today if it is ``<= 1``."""
    gap = max(depth_km - progress, 0.0)
    if speed > 0:
        return gap / speed
    return math.inf if gap > 0 else 0.0


@njit(cache=True, error_model="numpy")
def cohesion_step_1(cohesion: float, lost_area_frac: float, recovery_per_day: float,
                    cohesion_loss: float) -> float:
    """:func:`cohesion_step` of one sector."""
    c = cohesion + recovery_per_day * (1.0 - cohesion)
    return min(max(c - cohesion_loss * lost_area_frac, 0.0), 1.0)


_qjm_u = _ufunc(8)(qjm_speed_1)
_ratio_u = _ufunc(2)(force_ratio_1)
_attack_u = _ufunc(5)(attack_power_1)
_defence_u = _ufunc(4)(sector_defence_1)
_garrison_u = _ufunc(2)(garrison_defence_1)
_advance_u = _ufunc(6)(advance_speed_1)
_lognormal_u = _ufunc(2)(lognormal_mult_1)
_weight_u = _ufunc(3)(effort_weight_1)
_offset_u = _ufunc(3)(crossing_offset_1)
_cohesion_u = _ufunc(4)(cohesion_step_1)


def qjm_table(p: FrontParams) -> tuple[float, ...]:
    """The trailing arguments of :func:`qjm_speed_1`: ``(min_ratio, r1, r2, r3, v1, v2, v3)``."""
    return (float(p.min_ratio), *map(float, p.qjm_ratio), *map(float, p.qjm_hasty_km_per_day))


def _f(x: ArrayLike) -> Any:
    return np.asarray(x, dtype=float)


# -- array forms (broadcasting; the SimPy engine and the reference core call these) ----------

def qjm_speed(ratio: ArrayLike, p: FrontParams) -> F64:
    """Advance against a hasty defence (km/day) at force ratio ``ratio``.

    Piecewise linear through the QJM points ``(qjm_ratio[i], qjm_hasty_km_per_day[i])``, flat
    beyond the last, falling linearly to 0 at ``min_ratio`` below the first; 0 below that.
    """
    return np.asarray(_qjm_u(_f(ratio), *qjm_table(p)))


def force_ratio(attack: ArrayLike, defence: ArrayLike) -> F64:
    """``attack / defence``; ``inf`` for an undefended town, 0 where there is no attack."""
    with np.errstate(divide="ignore", invalid="ignore"):  # the ufunc may divide speculatively
        return np.asarray(_ratio_u(_f(attack), _f(defence)))


def attack_power(effort: ArrayLike, sorties: ArrayLike, air_factor: ArrayLike,
                 air_denial: ArrayLike, p: FrontParams,
                 air_effect: ArrayLike | None = None) -> F64:
    """Government attack on a town: ``E * (1 + air_effect * sorties * air_factor * (1 - denial))``.

    ``air_denial`` is the Spring Shield denial where the town lies in the Turkish footprint
    (0 elsewhere). ``air_effect`` (default ``p.air_effect``) may be an array: one value per
    replica, as drawn from a posterior."""
    effect = p.air_effect if air_effect is None else air_effect
    return np.asarray(_attack_u(_f(effort), _f(sorties), _f(air_factor), _f(air_denial),
                                _f(effect)))


def sector_defence(sector_strength: ArrayLike, cohesion: ArrayLike, towns0: ArrayLike,
                   defence_mult: ArrayLike) -> F64:
    """Opposition defence of one town: ``sector * cohesion / n0 * multiplier`` (thousands)."""
    return np.asarray(_defence_u(_f(sector_strength), _f(cohesion), _f(towns0),
                                 _f(defence_mult)))


def garrison_defence(neighbour_effort_max: ArrayLike, p: FrontParams) -> F64:
    """Government defence of a town against a strike group: a garrison plus the largest
    government effort on an opposition neighbour (the units fighting right there)."""
    return np.asarray(_garrison_u(_f(neighbour_effort_max), float(p.garrison_k_per_town)))


def advance_speed(ratio: ArrayLike, posture_factor: ArrayLike, terrain_factor: ArrayLike,
                  ground_factor: ArrayLike, noise: ArrayLike, scale: ArrayLike,
                  p: FrontParams) -> F64:
    """``scale * qjm_speed(ratio) * posture * terrain * ground * noise`` (km/day).

    ``scale`` is ``speed_scale`` for the government and ``speed_scale * opp_speed_scale`` for the
    opposition; ``noise`` is the mean-one multiplier of :func:`lognormal_mult`."""
    return np.asarray(_advance_u(qjm_speed(ratio, p), _f(posture_factor), _f(terrain_factor),
                                 _f(ground_factor), _f(noise), _f(scale)))


def lognormal_mult(z: ArrayLike, sigma: ArrayLike) -> F64:
    """Mean-one lognormal multiplier ``exp(sigma * z - sigma**2 / 2)`` of a normal ``z``
    (``sigma`` broadcasts against ``z``: one value per replica under a posterior)."""
    return np.asarray(_lognormal_u(_f(z), _f(sigma)))


def effort_weights(dist_km: ArrayLike, frontier: ArrayLike, length_km: ArrayLike) -> F64:
    """Softmax of ``-dist_km / length_km`` over the frontier, along the last axis.

    ``dist_km[..., t]`` is the graph distance from town ``t`` to the objective; ``frontier`` masks
    the towns that can receive effort. Rows without a reachable frontier town get all zeros.
    Shifting by the row minimum before exponentiating keeps it finite for any length scale."""
    d = np.where(np.asarray(frontier, bool), _f(dist_km), np.inf)
    best = d.min(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):  # excluded towns (inf) may be computed, then dropped
        w = _weight_u(d, np.where(np.isfinite(best), best, 0.0), _f(length_km))
    tot = w.sum(axis=-1, keepdims=True)
    return np.where(tot > 0, w / np.where(tot > 0, tot, 1.0), 0.0)


def crossing(progress: ArrayLike, speed: ArrayLike, depth_km: ArrayLike
             ) -> tuple[NDArray[np.bool_], F64]:
    """Does progress ``p`` growing at ``v`` km/day reach ``depth`` within the day, and when?

    Returns ``(falls, offset)``: ``offset = (depth - p) / v`` in days (``inf`` if ``v = 0``)."""
    with np.errstate(divide="ignore", invalid="ignore"):  # the ufunc may divide speculatively
        offset = np.asarray(_offset_u(_f(progress), _f(speed), _f(depth_km)))
    return offset <= 1.0, offset


def cohesion_step(cohesion: ArrayLike, lost_area_frac: ArrayLike, p: FrontParams,
                  cohesion_loss: ArrayLike | None = None) -> F64:
    """Cohesion after a day: recovery toward 1, then the loss for today's lost ground
    (``cohesion_loss``, default ``p.cohesion_loss``, may be a per-replica column)."""
    loss = p.cohesion_loss if cohesion_loss is None else cohesion_loss
    return np.asarray(_cohesion_u(_f(cohesion), _f(lost_area_frac),
                                  float(p.cohesion_recovery_per_day), _f(loss)))


def gov_share(control: ArrayLike, progress: ArrayLike, depth_km: ArrayLike) -> F64:
    """Share of each cell the government holds, counting partial progress: a government town
    counts ``1 - progress/depth`` (the opposition's progress), an opposition town
    ``progress/depth`` (the government's)."""
    frac = np.clip(np.asarray(progress, float) / np.asarray(depth_km, float), 0.0, 1.0)
    gov = np.asarray(control) == 1
    return np.where(gov, 1.0 - frac, frac)
