"""Parameters of the moving-front model: one frozen, validated, cited table.

Ten fields are *free* (fitted; each has a prior in :data:`PRIORS` and the reason for it in
docs/MODEL.md, "The moving-front model"); every other field is a fixed value with its source or
marked ``assumption``. Every field has a finite range and a unit in its name or docstring. Scenario
files override fields by name; nothing mutates a :class:`FrontParams`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import stats

from sim.theatre.theatre import POSTURES


def _qjm_ratio() -> tuple[float, float, float]:
    return (1.0, 2.26, 3.01)


def _qjm_hasty() -> tuple[float, float, float]:
    return (4.0, 10.0, 12.0)


def _posture() -> dict[str, float]:
    return {"hasty": 1.0, "prepared": 0.5, "fortified": 0.25}


def _terrain() -> dict[str, float]:
    return {"plain": 0.9, "urban": 0.7, "hills": 0.5, "mountain": 0.5}


class FrontParams(BaseModel):
    """Parameters of the front model (formulas in docs/MODEL.md, "The moving-front model")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- free parameters (fitted; priors in PRIORS) -----------------------------------------
    speed_scale: float = Field(1.0, ge=0.05, le=5.0)
    """Multiplier of the QJM advance-rate table (dimensionless). 1 = the table as transcribed;
    the Ma'arrat al-Nu'man -> Saraqib push (~27 km in ~10 days against a prepared defence at a
    ratio of ~1.3-1.5) fits 1 (shared MODEL_V2_NOTES §3)."""
    opp_speed_scale: float = Field(1.0, ge=0.05, le=5.0)
    """Multiplier of the government's table for the opposition's strike groups (dimensionless).
    Assumption: unknown relative skill, centred on equal."""
    effort_length_km: float = Field(8.0, ge=1.0, le=60.0)
    """Length scale of the softmax that spreads a group's effort over the frontier by graph
    distance to its objective (km). Village spacing in Idlib is 3-6 km (graph.py), so 8 km puts
    most effort on the one or two towns nearest the objective. Assumption."""
    air_effect: float = Field(0.5, ge=0.0, le=3.0)
    """Attack multiplier per unit of sortie intensity (dimensionless). The first model fitted
    0.29 (calibration/record/). Assumption."""
    cohesion_loss: float = Field(1.5, ge=0.0, le=10.0)
    """Cohesion lost per unit fraction of a sector's 18 Dec area lost (dimensionless): 1.5 means a
    sector that loses a third of its ground loses half its cohesion. Assumption."""
    rout_cohesion: float = Field(0.5, ge=0.05, le=0.95)
    """A sector routs while its cohesion is below this (dimensionless): the withdrawal threshold of
    Epstein's Adaptive Dynamic Model (Sedaghat, SIAM Review 44(1), 2002); value unknown."""
    mopup_km_per_day: float = Field(2.0, ge=0.1, le=20.0)
    """Progress into a cut-off town per day, whatever the effort (km/day). Assumption."""
    speed_noise_sigma: float = Field(0.5, ge=0.0, le=2.0)
    """Log-sd of the day-to-day multiplier of each town's advance rate (dimensionless)."""
    effort_sigma: float = Field(0.3, ge=0.0, le=1.5)
    """Log-sd of the effort multiplier of each order in each replica (dimensionless)."""
    footprint_km: float = Field(15.0, ge=1.0, le=40.0)
    """Radius of the Turkish footprint around each Turkish position (km, straight line). The
    T-155 Firtina howitzer reaches up to 40 km (manufacturer figure); drones reach further, so
    the radius where fire was effective is fitted within that range."""

    # --- fixed: advance-rate table (QJM/TNDM via the transcription in MODEL_V2_NOTES §3) -------
    qjm_ratio: tuple[float, float, float] = Field(default_factory=_qjm_ratio)
    """Force ratios of the table's columns (dimensionless)."""
    qjm_hasty_km_per_day: tuple[float, float, float] = Field(default_factory=_qjm_hasty)
    """Infantry advance against a hasty defence at those ratios (km/day); flat beyond the last."""
    min_ratio: float = Field(0.5, ge=0.0, lt=1.0)
    """Below 1:1 the rate falls linearly to 0 at this ratio (dimensionless). Assumption: the
    table starts at 1:1; an attack at less than half the defender's strength makes no headway."""
    posture_factor: dict[str, float] = Field(default_factory=_posture)
    """Rate multiplier by defender posture: the ratios of the table's rows (hasty 4, prepared 2,
    fortified 1 km/day at 1:1)."""
    terrain_factor: dict[str, float] = Field(default_factory=_terrain)
    """Rate multiplier by terrain class: QJM flat 0.9 (plain), urban 0.7, rugged 0.5 (hills,
    mountain; the transcription has no separate mountain value)."""

    # --- fixed: forces and their spread -----------------------------------------------------
    sector_strength_spread: float = Field(0.25, ge=0.0, lt=1.0)
    """Sector strengths are drawn uniformly within ±this fraction of their nominal value: the
    infobox gives HTS as 12,000-20,000, i.e. ±25 % about its midpoint (seed article)."""
    start_delay_max_days: float = Field(2.0, ge=0.0, le=10.0)
    """An order takes effect U(0, this) days after its date. Assumption: orders are dated by the
    first reported action, which may lag the real start or lead a unit's arrival."""
    garrison_k_per_town: float = Field(0.15, gt=0.0, le=5.0)
    """Government troops holding a town against a strike group, before the effort of groups
    fighting next to it (thousand fighters). Assumption."""
    min_strength_frac: float = Field(0.35, ge=0.0, lt=1.0)
    """A group below this fraction of nominal strength does not attack (as in ModelParams)."""
    attack_loss_per_day_frac: float = Field(0.005, ge=0.0, lt=0.2)
    """Fraction of strength an attacking group loses per day. Assumption."""
    recovery_per_day_frac: float = Field(0.01, ge=0.0, lt=0.5)
    """Daily recovery of a group toward nominal (fraction of nominal), as in ModelParams."""
    cohesion_recovery_per_day: float = Field(0.03, ge=0.0, lt=1.0)
    """Fraction of the missing cohesion a sector regains per day. Assumption: a broken sector
    reorganises over about a month."""
    rear_sector: str = Field("north_rear", min_length=1)
    """Sector whose towns are the opposition's rear: a town with no opposition path to it is in
    a pocket (seeds/sectors.csv)."""

    @model_validator(mode="after")
    def _check(self) -> FrontParams:
        r, v = self.qjm_ratio, self.qjm_hasty_km_per_day
        if not (self.min_ratio < r[0] < r[1] < r[2]) or not (0 < v[0] <= v[1] <= v[2] <= 50):
            raise ValueError(f"QJM table must rise: ratios {r}, rates {v} km/day")
        if set(self.posture_factor) != set(POSTURES):
            raise ValueError(f"posture_factor needs exactly {list(POSTURES)}, "
                             f"got {sorted(self.posture_factor)}")
        for name, table in (("posture_factor", self.posture_factor),
                            ("terrain_factor", self.terrain_factor)):
            bad = {k: x for k, x in table.items() if not 0 < x <= 2}
            if bad:
                raise ValueError(f"{name} values must be in (0, 2], got {bad}")
        return self

    def override(self, **changes: Any) -> FrontParams:
        """A validated copy with ``changes`` applied."""
        return type(self).model_validate({**self.model_dump(), **changes})


@dataclass(frozen=True)
class Prior:
    """A prior over one free parameter, truncated to the field's range."""

    kind: Literal["lognormal", "halfnormal", "beta", "uniform"]
    a: float
    """lognormal: log-median; halfnormal: scale; beta: alpha; uniform: low."""
    b: float = 0.0
    """lognormal: log-sd; beta: beta; uniform: high."""

    def dist(self) -> Any:
        """The untruncated scipy distribution."""
        if self.kind == "lognormal":
            return stats.lognorm(s=self.b, scale=np.exp(self.a))
        if self.kind == "halfnormal":
            return stats.halfnorm(scale=self.a)
        if self.kind == "beta":
            return stats.beta(self.a, self.b)
        return stats.uniform(self.a, self.b - self.a)


#: Priors of the free parameters (reasons in the field docstrings and docs/MODEL.md).
PRIORS: dict[str, Prior] = {
    "speed_scale": Prior("lognormal", 0.0, 0.5),
    "opp_speed_scale": Prior("lognormal", 0.0, 0.5),
    "effort_length_km": Prior("lognormal", float(np.log(8.0)), 0.6),
    "air_effect": Prior("lognormal", float(np.log(0.5)), 0.7),
    "cohesion_loss": Prior("lognormal", float(np.log(1.5)), 0.7),
    "rout_cohesion": Prior("beta", 4.0, 4.0),
    "mopup_km_per_day": Prior("lognormal", float(np.log(2.0)), 0.7),
    "speed_noise_sigma": Prior("halfnormal", 0.7),
    "effort_sigma": Prior("halfnormal", 0.5),
    "footprint_km": Prior("uniform", 1.0, 40.0),
}


def bounds(name: str) -> tuple[float, float]:
    """The validated range ``(low, high)`` of field ``name``."""
    lo = hi = None
    for m in FrontParams.model_fields[name].metadata:
        lo = getattr(m, "ge", getattr(m, "gt", lo)) if lo is None else lo
        hi = getattr(m, "le", getattr(m, "lt", hi)) if hi is None else hi
    if lo is None or hi is None:
        raise ValueError(f"field {name!r} has no finite range")
    return float(lo), float(hi)


def sample_prior(rng: np.random.Generator, n: int) -> list[FrontParams]:
    """``n`` parameter sets with the free fields drawn from :data:`PRIORS` (truncated to range
    by inverse-CDF sampling between the range's CDF values)."""
    cols = {}
    for name, prior in PRIORS.items():
        lo, hi = bounds(name)
        d = prior.dist()
        u = rng.uniform(d.cdf(lo), d.cdf(hi), size=n)
        cols[name] = np.clip(d.ppf(u), lo, hi)
    return [FrontParams(**{k: float(v[i]) for k, v in cols.items()}) for i in range(n)]
