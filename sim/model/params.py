"""Model parameters: one frozen, validated table of defaults, each with a unit and a basis.

Every number here is either sourced or marked ``assumption``: a value chosen for plausibility and
left to the calibration (issue "calibration"). Scenario files override fields by name; nothing in
the engines mutates a :class:`ModelParams`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ModelParams(BaseModel):
    """Combat, counterattack and recovery parameters (see docs/MODEL.md for the formulas)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- assaults ---------------------------------------------------------------------------
    capture_rate_per_day: float = Field(0.25, gt=0, le=10)
    """λ_c at the reference force ratio, plain terrain, no air. Assumption (calibrated)."""
    repulse_rate_per_day: float = Field(0.12, ge=0, le=10)
    """λ_r at the reference force ratio. Assumption (calibrated)."""
    reference_force_ratio: float = Field(3.0, gt=0)
    """Ratio at which both hazards equal their base rates: the classical 3:1 attacker rule of
    thumb (Dupuy, *Numbers, Predictions and War*, 1979). Assumption."""
    force_exponent: float = Field(1.0, gt=0, le=4)
    """Sensitivity of the hazards to the force ratio. Bayesian Lanchester fits to the Ardennes give
    1.06 ± 0.44 (see shared MODELLING_NOTES); assumption."""
    air_effect: float = Field(0.8, ge=0, le=5)
    """Multiplier per unit of sortie intensity on attacking strength. Assumption (calibrated)."""
    frontline_entrenchment: float = Field(1.3, ge=1, le=3)
    """Defence multiplier of towns on the 18 Dec front (held and fortified since Aug 2019).
    Assumption."""
    terrain_defence: dict[str, float] = Field(
        default_factory=lambda: {"plain": 1.0, "hills": 1.5, "mountain": 2.5, "urban": 1.6}
    )
    """Defence multiplier by terrain class; QJM-style terrain factors. Assumption."""
    kind_defence: dict[str, float] = Field(
        default_factory=lambda: {
            "city": 1.5, "town": 1.0, "village": 0.8, "hill": 1.2, "base": 1.2, "airbase": 1.2
        }
    )
    """Defence multiplier by settlement kind (urban size). Assumption."""
    min_assault_strength_frac: float = Field(0.35, ge=0, lt=1)
    """A formation below this fraction of its nominal strength does not assault. Assumption."""

    # --- losses and recovery (fractions of current strength) -----------------------------------
    capture_loss_frac: float = Field(0.03, ge=0, lt=1)
    repulse_loss_frac: float = Field(0.08, ge=0, lt=1)
    defender_loss_per_capture_frac: float = Field(0.03, ge=0, lt=1)
    recovery_per_day_frac: float = Field(0.01, ge=0, lt=1)
    """Daily recovery of a formation or sector toward its nominal strength (fraction of nominal).
    Assumption."""

    # --- tempo (days). The batch core needs each >= 1 day: one event per formation per day. ----
    consolidate_days: float = Field(1.0, ge=1, le=10)
    rest_days: float = Field(2.0, ge=1, le=20)
    redeploy_days: float = Field(2.0, ge=1, le=20)

    # --- counterattacks ---------------------------------------------------------------------
    counterattack_rate_per_day: float = Field(0.05, ge=0, le=5)
    """Hazard that the opposition retakes a freshly captured, exposed town. Assumption."""
    counterattack_window_days: int = Field(10, ge=1, le=60)
    """A town is exposed from the day after its capture for this many days. Assumption."""
    counterattack_decay_days: float = Field(6.0, gt=0)
    """e-folding time of exposure after capture. Assumption."""
    garrison_factor: float = Field(2.0, ge=0)
    """A town where a formation stands has its counterattack hazard divided by 1 + this."""
    counterattack_unit_loss_frac: float = Field(0.10, ge=0, lt=1)

    def override(self, **changes: Any) -> ModelParams:
        """A validated copy with ``changes`` applied."""
        return type(self).model_validate({**self.model_dump(), **changes})
