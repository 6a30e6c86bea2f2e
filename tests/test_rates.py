"""Unit tests for the shared rate functions (sim/model/rates.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.model import rates
from sim.model.params import ModelParams

P = ModelParams()


def test_hazards_equal_base_rates_at_the_reference_ratio() -> None:
    lam_c, lam_r = rates.assault_hazards(P.reference_force_ratio * 2.0, 2.0, 1.0, P)
    assert lam_c == pytest.approx(P.capture_rate_per_day)
    assert lam_r == pytest.approx(P.repulse_rate_per_day)


def test_capture_hazard_rises_and_repulse_falls_with_attack() -> None:
    attack = np.linspace(0.1, 50, 200)
    lam_c, lam_r = rates.assault_hazards(attack, 1.0, 1.0, P)
    assert np.all(np.diff(lam_c) > 0)
    assert np.all(np.diff(lam_r) < 0)
    assert lam_c[-1] < 2 * P.capture_rate_per_day  # saturates below twice the base rate


def test_undefended_town_falls_at_the_saturated_rate() -> None:
    lam_c, lam_r = rates.assault_hazards(1.0, 0.0, 1.0, P)
    assert lam_c == pytest.approx(2 * P.capture_rate_per_day)
    assert lam_r == 0


def test_zero_assault_factor_stops_everything() -> None:
    lam_c, lam_r = rates.assault_hazards(np.array([1.0, 10.0]), 1.0, 0.0, P)
    assert np.all(lam_c == 0) and np.all(lam_r == 0)
    rings, _ = rates.event_within(np.array([0.0, 0.5]), lam_c + lam_r, 1.0)
    assert not rings.any()


def test_works_on_scalars_and_arrays_alike() -> None:
    s_c, s_r = rates.assault_hazards(3.0, 0.7, 0.5, P)
    a_c, a_r = rates.assault_hazards(np.array([3.0, 3.0]), np.array([0.7, 0.7]), 0.5, P)
    assert np.allclose(a_c, s_c) and np.allclose(a_r, s_r)


def test_air_support_multiplies_attack_power() -> None:
    assert rates.attack_power(2.0, 0.0, 1.0, P) == pytest.approx(2.0)
    assert rates.attack_power(2.0, 1.5, 1.0, P) == pytest.approx(2.0 * (1 + P.air_effect * 1.5))
    assert rates.attack_power(2.0, 1.5, 0.0, P) == pytest.approx(2.0)  # grounded


def test_event_within_matches_the_exponential_law() -> None:
    """P(ring within E) = 1 - exp(-h E); binomial tolerance at 5 sigma; offsets are Exp(h)."""
    rng = np.random.default_rng(12345)
    n, h, e = 200_000, 0.7, 0.6
    rings, offset = rates.event_within(rng.random(n), h, e)
    p = 1 - np.exp(-h * e)
    assert abs(rings.mean() - p) < 5 * np.sqrt(p * (1 - p) / n)
    ks = stats.kstest(offset, stats.expon(scale=1 / h).cdf)
    assert ks.pvalue > 1e-3


def test_capture_share_is_the_competing_risk_fraction() -> None:
    assert rates.capture_share(0.3, 0.1) == pytest.approx(0.75)
    assert rates.capture_share(0.0, 0.0) == 0.0


def test_counterattack_hazard_decays_and_garrison_divides() -> None:
    mu = rates.counterattack_hazard(np.array([1, 2, 5, 10]), 1.0, 1.0, False, P)
    assert mu[0] == pytest.approx(P.counterattack_rate_per_day)
    assert np.all(np.diff(mu) < 0)
    g = rates.counterattack_hazard(1, 1.0, 1.0, True, P)
    assert g == pytest.approx(mu[0] / (1 + P.garrison_factor))
    assert rates.counterattack_hazard(1, 0.5, 2.0, False, P) == pytest.approx(mu[0])


def test_recovery_never_exceeds_nominal_and_attrition_never_negative() -> None:
    s = np.array([0.0, 0.5, 0.99, 1.0])
    assert np.all(rates.recover(s, 1.0, P) <= 1.0)
    assert np.all(rates.recover(s, 1.0, P) >= s)
    assert np.all(rates.attrit(s, 1.5) == 0.0)
    assert np.all(rates.attrit(s, 0.1) == pytest.approx(0.9 * s))


def test_town_defence_multiplies_terrain_kind_and_entrenchment() -> None:
    d = rates.town_defence(["hills", "plain"], ["city", "village"], [True, False], P)
    assert d[0] == pytest.approx(P.terrain_defence["hills"] * P.kind_defence["city"]
                                 * P.frontline_entrenchment)
    assert d[1] == pytest.approx(P.kind_defence["village"])


def test_parameters_are_frozen_and_validated() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        P.capture_rate_per_day = 1.0  # type: ignore[misc]
    with pytest.raises(ValidationError):
        ModelParams(consolidate_days=0.5)  # the batch core needs >= 1 day
    assert P.override(air_effect=2.0).air_effect == 2.0
