"""Model parameters: one frozen, validated table of defaults, each with a unit, a basis and a range.

Every number here is either sourced or marked ``assumption``: a value chosen for plausibility and
left to the calibration (issue "calibration"). Scenario files override fields by name; nothing in
the engines mutates a :class:`ModelParams`.

Every parameter has a finite range that means something physically, stated beside its basis
(``[low, high]``). Values are strict numbers: ``true``, ``"0.3"``, NaN and infinities are refused,
and so is a non-zero value below :data:`TINY` (``1e-308`` is not a rate: write 0 or a real value).
The calibration's search bounds (``sim/calibration/space.py``) lie inside these ranges.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Non-zero magnitudes below this are refused: no parameter of the model means anything there and
#: subnormal floats only hide a typo.
TINY = 1e-12

Terrain = Literal["plain", "hills", "mountain", "urban"]
"""Terrain classes of ``seeds/towns.csv`` (the theatre loader checks the same set)."""
Kind = Literal["city", "town", "village", "hill", "base", "airbase"]
"""Settlement kinds of ``seeds/towns.csv``."""


DefenceFactor = Annotated[float, Field(ge=0.1, le=10.0)]
"""A defence multiplier, ``[0.1, 10]``: QJM-style terrain and posture factors lie within 0.5-3."""

TERRAIN_DEFENCE: dict[Terrain, float] = {"plain": 1.0, "hills": 1.5, "mountain": 2.5, "urban": 1.6}
KIND_DEFENCE: dict[Kind, float] = {
    "city": 1.5, "town": 1.0, "village": 0.8, "hill": 1.2, "base": 1.2, "airbase": 1.2}


class ModelParams(BaseModel):
    """Combat, counterattack and recovery parameters (see docs/MODEL.md for the formulas)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    # --- assaults ---------------------------------------------------------------------------
    capture_rate_per_day: float = Field(0.25, ge=0.001, le=10.0)
    """λ_c at the reference force ratio, plain terrain, no air. Assumption (calibrated).
    Range [0.001, 10]: below, a town falls once in ~3 years at the reference ratio (no campaign);
    above, within hours, finer than the model's day step resolves."""
    repulse_rate_per_day: float = Field(0.12, ge=0.0, le=10.0)
    """λ_r at the reference force ratio. Assumption (calibrated). Range [0, 10] as λ_c; 0 means
    assaults only end by capture."""
    reference_force_ratio: float = Field(3.0, ge=0.5, le=10.0)
    """Ratio at which both hazards equal their base rates: the classical 3:1 attacker rule of
    thumb (Dupuy, *Numbers, Predictions and War*, 1979). Assumption. Range [0.5, 10]: ratios quoted
    in the literature lie between 1:1 and 6:1."""
    force_exponent: float = Field(1.0, ge=0.1, le=4.0)
    """Sensitivity of the hazards to the force ratio. Bayesian Lanchester fits to the Ardennes give
    1.06 ± 0.44 (see shared MODELLING_NOTES); assumption. Range [0.1, 4]: from nearly blind to the
    force ratio to far steeper than any fit."""
    air_effect: float = Field(0.8, ge=0.0, le=5.0)
    """Multiplier per unit of sortie intensity on attacking strength. Assumption (calibrated).
    Range [0, 5]: from no effect to sextupling attack power at the baseline sorties."""
    frontline_entrenchment: float = Field(1.3, ge=1.0, le=3.0)
    """Defence multiplier of towns on the 18 Dec front (held and fortified since Aug 2019).
    Assumption. Range [1, 3]: prepared defences help, at most threefold."""
    terrain_defence: dict[Terrain, DefenceFactor] = Field(
        default_factory=lambda: dict(TERRAIN_DEFENCE))
    """Defence multiplier by terrain class; QJM-style terrain factors. Assumption. A scenario may
    give some classes only: the others keep these defaults. Range of each: ``DefenceFactor``."""
    kind_defence: dict[Kind, DefenceFactor] = Field(
        default_factory=lambda: dict(KIND_DEFENCE))
    """Defence multiplier by settlement kind (urban size). Assumption. Partial mappings merge with
    these defaults as ``terrain_defence`` does."""
    min_assault_strength_frac: float = Field(0.35, ge=0, lt=1)
    """A formation below this fraction of its nominal strength does not assault. Assumption."""

    # --- losses and recovery: fractions of current strength in [0, 1) (losing all of it in one
    # step is not an attrition rate) --------------------------------------------------------
    capture_loss_frac: float = Field(0.03, ge=0, lt=1)
    repulse_loss_frac: float = Field(0.08, ge=0, lt=1)
    defender_loss_per_capture_frac: float = Field(0.03, ge=0, lt=1)
    recovery_per_day_frac: float = Field(0.01, ge=0, lt=1)
    """Daily recovery of a formation or sector toward its nominal strength (fraction of nominal).
    Assumption."""

    # --- tempo (days). The batch core needs each >= 1 day: one event per formation per day. ----
    consolidate_days: float = Field(1.0, ge=1.0, le=10.0)
    rest_days: float = Field(2.0, ge=1.0, le=20.0)
    redeploy_days: float = Field(2.0, ge=1.0, le=20.0)

    # --- counterattacks ---------------------------------------------------------------------
    counterattack_rate_per_day: float = Field(0.05, ge=0.0, le=5.0)
    """Hazard that the opposition retakes a freshly captured, exposed town. Assumption.
    Range [0, 5]: from none to retaking within hours."""
    counterattack_window_days: int = Field(10, ge=1, le=60)
    """A town is exposed from the day after its capture for this many days. Assumption."""
    counterattack_decay_days: float = Field(6.0, ge=0.5, le=60.0)
    """e-folding time of exposure after capture. Assumption. Range [0.5, 60] days: within the
    exposure window's own bounds."""
    garrison_factor: float = Field(2.0, ge=0.0, le=20.0)
    """A town where a formation stands has its counterattack hazard divided by 1 + this.
    Range [0, 20]: from no protection to a twentieth of the hazard."""
    counterattack_unit_loss_frac: float = Field(0.10, ge=0, lt=1)

    @field_validator("terrain_defence", "kind_defence", mode="after")
    @classmethod
    def _merge_defaults(cls, value: dict[Any, float], info: Any) -> dict[Any, float]:
        """A partial mapping keeps the defaults of the classes it does not name."""
        defaults: dict[Any, float] = (
            TERRAIN_DEFENCE if info.field_name == "terrain_defence" else KIND_DEFENCE)
        return {**defaults, **value}

    @field_validator("*", mode="after")
    @classmethod
    def _not_tiny(cls, value: Any) -> Any:
        for x in value.values() if isinstance(value, dict) else [value]:
            if isinstance(x, float) and x != 0 and abs(x) < TINY:
                raise ValueError(f"{x!r} is too small to mean anything "
                                 f"(write 0 or a value >= {TINY})")
        return value

    def override(self, **changes: Any) -> ModelParams:
        """A validated copy with ``changes`` applied."""
        return type(self).model_validate({**self.model_dump(), **changes})
