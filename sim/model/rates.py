"""Rate functions of the moving-front model, shared by both engines.

Every function takes numpy arrays or scalars and broadcasts, so the SimPy engine calls it with one
town or group and the batch core with ``(replicas, towns)`` arrays. The formulas are those of
docs/MODEL.md, "The moving-front model"; names follow it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sim.model.params import FrontParams

F64 = NDArray[np.float64]


def qjm_speed(ratio: ArrayLike, p: FrontParams) -> F64:
    """Advance against a hasty defence (km/day) at force ratio ``ratio``.

    Piecewise linear through the QJM points ``(qjm_ratio[i], qjm_hasty_km_per_day[i])``, flat
    beyond the last, falling linearly to 0 at ``min_ratio`` below the first; 0 below that.
    """
    xs = (p.min_ratio, *p.qjm_ratio)
    ys = (0.0, *p.qjm_hasty_km_per_day)
    r = np.nan_to_num(np.asarray(ratio, float), nan=0.0, posinf=xs[-1])
    return np.interp(r, xs, ys, left=0.0, right=ys[-1])


def force_ratio(attack: ArrayLike, defence: ArrayLike) -> F64:
    """``attack / defence``; ``inf`` for an undefended town, 0 where there is no attack."""
    a = np.asarray(attack, float)
    d = np.asarray(defence, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, np.where(d > 0, a / np.where(d > 0, d, 1.0), np.inf), 0.0)


def attack_power(effort: ArrayLike, sorties: ArrayLike, air_factor: ArrayLike,
                 air_denial: ArrayLike, p: FrontParams,
                 air_effect: ArrayLike | None = None) -> F64:
    """Government attack on a town: ``E * (1 + air_effect * sorties * air_factor * (1 - denial))``.

    ``air_denial`` is the Spring Shield denial where the town lies in the Turkish footprint
    (0 elsewhere). ``air_effect`` (default ``p.air_effect``) may be an array: one value per
    replica, as drawn from a posterior."""
    air = np.asarray(sorties, float) * np.asarray(air_factor, float) * (
        1.0 - np.clip(np.asarray(air_denial, float), 0.0, 1.0))
    effect = p.air_effect if air_effect is None else np.asarray(air_effect, float)
    return np.asarray(effort, float) * (1.0 + effect * air)


def sector_defence(sector_strength: ArrayLike, cohesion: ArrayLike, towns0: ArrayLike,
                   defence_mult: ArrayLike) -> F64:
    """Opposition defence of one town: ``sector * cohesion / n0 * multiplier`` (thousands)."""
    return (np.asarray(sector_strength, float) * np.asarray(cohesion, float)
            / np.asarray(towns0, float) * np.asarray(defence_mult, float))


def garrison_defence(neighbour_effort_max: ArrayLike, p: FrontParams) -> F64:
    """Government defence of a town against a strike group: a garrison plus the largest
    government effort on an opposition neighbour (the units fighting right there)."""
    return p.garrison_k_per_town + np.asarray(neighbour_effort_max, float)


def advance_speed(ratio: ArrayLike, posture_factor: ArrayLike, terrain_factor: ArrayLike,
                  ground_factor: ArrayLike, noise: ArrayLike, scale: ArrayLike,
                  p: FrontParams) -> F64:
    """``scale * qjm_speed(ratio) * posture * terrain * ground * noise`` (km/day).

    ``scale`` is ``speed_scale`` for the government and ``speed_scale * opp_speed_scale`` for the
    opposition; ``noise`` is the mean-one multiplier of :func:`speed_noise`."""
    return (np.asarray(scale, float) * qjm_speed(ratio, p) * np.asarray(posture_factor, float)
            * np.asarray(terrain_factor, float) * np.asarray(ground_factor, float)
            * np.asarray(noise, float))


def lognormal_mult(z: ArrayLike, sigma: ArrayLike) -> F64:
    """Mean-one lognormal multiplier ``exp(sigma * z - sigma**2 / 2)`` of a normal ``z``
    (``sigma`` broadcasts against ``z``: one value per replica under a posterior)."""
    s = sigma if isinstance(sigma, float | int) else np.asarray(sigma, float)
    return np.exp(s * np.asarray(z, float) - 0.5 * s * s)


def effort_weights(dist_km: ArrayLike, frontier: ArrayLike, length_km: ArrayLike) -> F64:
    """Softmax of ``-dist_km / length_km`` over the frontier, along the last axis.

    ``dist_km[..., t]`` is the graph distance from town ``t`` to the objective; ``frontier`` masks
    the towns that can receive effort. Rows without a reachable frontier town get all zeros.
    Shifting by the row minimum before exponentiating keeps it finite for any length scale."""
    d = np.where(np.asarray(frontier, bool), np.asarray(dist_km, float), np.inf)
    best = d.min(axis=-1, keepdims=True)
    ok = np.isfinite(best)
    w = np.where(np.isfinite(d), np.exp(-(d - np.where(ok, best, 0.0)) / np.asarray(length_km)),
                 0.0)
    tot = w.sum(axis=-1, keepdims=True)
    return np.where(tot > 0, w / np.where(tot > 0, tot, 1.0), 0.0)


def crossing(progress: ArrayLike, speed: ArrayLike, depth_km: ArrayLike
             ) -> tuple[NDArray[np.bool_], F64]:
    """Does progress ``p`` growing at ``v`` km/day reach ``depth`` within the day, and when?

    Returns ``(falls, offset)``: ``offset = (depth - p) / v`` in days (``inf`` if ``v = 0``)."""
    p = np.asarray(progress, float)
    v = np.asarray(speed, float)
    gap = np.maximum(np.asarray(depth_km, float) - p, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = np.where(v > 0, gap / np.where(v > 0, v, 1.0), np.where(gap > 0, np.inf, 0.0))
    return offset <= 1.0, offset


def cohesion_step(cohesion: ArrayLike, lost_area_frac: ArrayLike, p: FrontParams,
                  cohesion_loss: ArrayLike | None = None) -> F64:
    """Cohesion after a day: recovery toward 1, then the loss for today's lost ground
    (``cohesion_loss``, default ``p.cohesion_loss``, may be a per-replica column)."""
    c = np.asarray(cohesion, float)
    c = c + p.cohesion_recovery_per_day * (1.0 - c)
    loss = p.cohesion_loss if cohesion_loss is None else np.asarray(cohesion_loss, float)
    return np.clip(c - loss * np.asarray(lost_area_frac, float), 0.0, 1.0)


def gov_share(control: ArrayLike, progress: ArrayLike, depth_km: ArrayLike) -> F64:
    """Share of each cell the government holds, counting partial progress: a government town
    counts ``1 - progress/depth`` (the opposition's progress), an opposition town
    ``progress/depth`` (the government's)."""
    frac = np.clip(np.asarray(progress, float) / np.asarray(depth_km, float), 0.0, 1.0)
    gov = np.asarray(control) == 1
    return np.where(gov, 1.0 - frac, frac)
