"""The model's rate and probability functions, shared by both engines.

Every function works on numpy arrays and on scalars (numpy broadcasting), so the SimPy engine
calls them with one formation and the batch core with a whole batch. docs/MODEL.md writes each
formula down; the names here follow it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sim.model.params import ModelParams


def attack_power(strength: ArrayLike, air_sorties: ArrayLike, air_factor: ArrayLike,
                 p: ModelParams) -> NDArray[np.float64]:
    """``A = S * (1 + air_effect * sorties * air_factor)`` (thousand fighter-equivalents)."""
    return np.asarray(strength) * (1.0 + p.air_effect * np.asarray(air_sorties)
                                   * np.asarray(air_factor))


def defence_power(sector_strength: ArrayLike, town_defence: ArrayLike,
                  defence_factor: ArrayLike) -> NDArray[np.float64]:
    """``D = sector strength per town * town multiplier * modifiers``.

    ``town_defence`` is the static product terrain x kind x entrenchment of :func:`town_defence`.
    """
    return np.asarray(sector_strength) * np.asarray(town_defence) * np.asarray(defence_factor)


def town_defence(terrain: ArrayLike, kind: ArrayLike, frontline: ArrayLike,
                 p: ModelParams) -> NDArray[np.float64]:
    """Static defence multiplier of each town: terrain x settlement kind x entrenchment."""
    t = np.vectorize(p.terrain_defence.__getitem__, otypes=[float])(np.asarray(terrain))
    k = np.vectorize(p.kind_defence.__getitem__, otypes=[float])(np.asarray(kind))
    e = np.where(np.asarray(frontline, bool), p.frontline_entrenchment, 1.0)
    return np.asarray(t * k * e, dtype=float)


def assault_hazards(attack: ArrayLike, defence: ArrayLike, assault_factor: ArrayLike,
                    p: ModelParams) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Capture and repulse hazards (per day) of an assault.

    With ``r = (A / D) / rho0`` and ``x = r**alpha``::

        lambda_c = 2 * capture_rate * x / (1 + x) * assault_factor
        lambda_r = 2 * repulse_rate / (1 + x)     * assault_factor

    so that both equal their base rates at the reference ratio ``rho0``, capture saturates at
    twice its base rate for overwhelming force and repulse vanishes.
    """
    a = np.asarray(attack, float)
    d = np.asarray(defence, float)
    with np.errstate(divide="ignore"):
        r = np.where(d > 0, a / np.where(d > 0, d, 1.0) / p.reference_force_ratio, np.inf)
    x = np.power(r, p.force_exponent)
    frac = np.where(np.isinf(x), 1.0, x / (1.0 + np.where(np.isinf(x), 0.0, x)))
    f = np.asarray(assault_factor, float)
    lam_c = 2.0 * p.capture_rate_per_day * frac * f
    lam_r = 2.0 * p.repulse_rate_per_day * (1.0 - frac) * f
    return lam_c, lam_r


def counterattack_hazard(age_days: ArrayLike, sector_ratio: ArrayLike,
                         counterattack_factor: ArrayLike, garrisoned: ArrayLike,
                         p: ModelParams) -> NDArray[np.float64]:
    """Hazard (per day) that the opposition retakes an exposed town ``age_days`` after capture::

        mu = ca_rate * (D_s / D_s0) * exp(-(age - 1) / tau) * factor / (1 + g * garrisoned)

    ``sector_ratio`` is the sector's current over nominal strength.
    """
    age = np.asarray(age_days, float)
    return (
        p.counterattack_rate_per_day
        * np.asarray(sector_ratio, float)
        * np.exp(-(age - 1.0) / p.counterattack_decay_days)
        * np.asarray(counterattack_factor, float)
        / (1.0 + p.garrison_factor * np.asarray(garrisoned, float))
    )


def event_within(u: ArrayLike, hazard: ArrayLike, exposure_days: ArrayLike
                 ) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Does an exponential clock with ``hazard`` ring within ``exposure_days``, and when?

    ``u`` is a uniform(0, 1) draw. The clock rings iff ``u < 1 - exp(-hazard * exposure)``, at
    offset ``-log(1 - u) / hazard`` (inverse CDF), so one draw gives both answers.
    """
    h = np.asarray(hazard, float)
    uu = np.asarray(u, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = np.where(h > 0, -np.log1p(-uu) / np.where(h > 0, h, 1.0), np.inf)
    return offset < np.asarray(exposure_days, float), offset


def capture_share(lam_c: ArrayLike, lam_r: ArrayLike) -> NDArray[np.float64]:
    """Probability that an assault event is a capture rather than a repulse."""
    c = np.asarray(lam_c, float)
    tot = c + np.asarray(lam_r, float)
    return np.where(tot > 0, c / np.where(tot > 0, tot, 1.0), 0.0)


def recover(strength: ArrayLike, nominal: ArrayLike, p: ModelParams) -> NDArray[np.float64]:
    """One day of recovery toward nominal strength (never above it)."""
    s = np.asarray(strength, float)
    n = np.asarray(nominal, float)
    return np.minimum(n, s + p.recovery_per_day_frac * n)


def attrit(strength: ArrayLike, frac: ArrayLike) -> NDArray[np.float64]:
    """Lose a fraction of strength; multiplicative, so strength never goes negative."""
    return np.asarray(strength, float) * (1.0 - np.clip(np.asarray(frac, float), 0.0, 1.0))
