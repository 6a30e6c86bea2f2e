"""Unit tests for the front model's parameters (params.py) and rate functions (rates.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from pydantic import ValidationError

from sim.model import rates as fr
from sim.model.params import PRIORS, FrontParams, bounds, sample_prior

P = FrontParams()


def test_qjm_speed_passes_through_the_cited_table_points() -> None:
    got = fr.qjm_speed(np.array([1.0, 2.26, 3.01]), P)
    np.testing.assert_allclose(got, [4.0, 10.0, 12.0])


def test_qjm_speed_is_flat_beyond_the_table_and_zero_at_half_strength() -> None:
    assert fr.qjm_speed(10.0, P) == pytest.approx(12.0)
    assert fr.qjm_speed(np.inf, P) == pytest.approx(12.0)
    assert fr.qjm_speed(0.5, P) == 0.0
    assert fr.qjm_speed(0.2, P) == 0.0
    assert fr.qjm_speed(0.75, P) == pytest.approx(2.0)  # halfway between (0.5, 0) and (1, 4)
    r = np.linspace(0, 5, 501)
    assert (np.diff(fr.qjm_speed(r, P)) >= 0).all()


def test_posture_factors_reproduce_the_prepared_and_fortified_rows() -> None:
    ratios = np.array([1.0, 2.26, 3.01])
    for posture, row in (("prepared", [2.0, 5.0, 6.0]), ("fortified", [1.0, 2.5, 3.0])):
        v = fr.advance_speed(ratios, P.posture_factor[posture], 1.0, 1.0, 1.0, 1.0, P)
        np.testing.assert_allclose(v, row)


def test_advance_speed_multiplies_every_factor() -> None:
    v = fr.advance_speed(1.0, 0.5, 0.9, 0.25, 1.2, 2.0, P)
    assert v == pytest.approx(2.0 * 4.0 * 0.5 * 0.9 * 0.25 * 1.2)


def test_force_ratio_handles_no_attack_and_no_defence() -> None:
    np.testing.assert_allclose(fr.force_ratio([0.0, 2.0, 2.0], [1.0, 0.0, 4.0]),
                               [0.0, np.inf, 0.5])


def test_attack_power_air_term_and_denial() -> None:
    p = P.override(air_effect=0.5)
    assert fr.attack_power(2.0, 1.5, 1.0, 0.0, p) == pytest.approx(2.0 * (1 + 0.75))
    assert fr.attack_power(2.0, 1.5, 1.0, 1.0, p) == pytest.approx(2.0)  # air fully denied
    assert fr.attack_power(2.0, 1.5, 0.0, 0.0, p) == pytest.approx(2.0)  # grounded


def test_effort_weights_are_a_softmax_over_the_frontier() -> None:
    dist = np.array([[0.0, 8.0, 16.0, 1.0]])
    front = np.array([[True, True, True, False]])
    w = fr.effort_weights(dist, front, 8.0)
    assert w.sum() == pytest.approx(1.0)
    assert w[0, 3] == 0.0
    assert w[0, 1] / w[0, 0] == pytest.approx(np.exp(-1.0))
    assert w[0, 2] / w[0, 1] == pytest.approx(np.exp(-1.0))


def test_effort_weights_tend_to_argmin_and_to_uniform() -> None:
    dist = np.array([[30.0, 31.0, 45.0]])
    front = np.ones((1, 3), bool)
    sharp = fr.effort_weights(dist, front, 0.01)
    np.testing.assert_allclose(sharp, [[1.0, 0.0, 0.0]], atol=1e-12)
    flat = fr.effort_weights(dist, front, 1e9)
    np.testing.assert_allclose(flat, [[1 / 3, 1 / 3, 1 / 3]])


def test_effort_weights_of_a_row_without_frontier_are_zero() -> None:
    w = fr.effort_weights(np.array([[1.0, 2.0], [1.0, np.inf]]),
                          np.array([[False, False], [False, True]]), 5.0)
    np.testing.assert_array_equal(w, 0.0)


def test_crossing_time_is_the_remaining_depth_over_the_speed() -> None:
    falls, off = fr.crossing([1.0, 1.0, 0.0, 3.0], [4.0, 1.0, 0.0, 0.0], [3.0, 3.0, 1.0, 3.0])
    np.testing.assert_array_equal(falls, [True, False, False, True])
    np.testing.assert_allclose(off, [0.5, 2.0, np.inf, 0.0])


def test_cohesion_recovers_toward_one_and_falls_with_lost_ground() -> None:
    p = P.override(cohesion_recovery_per_day=0.1, cohesion_loss=2.0)
    assert fr.cohesion_step(0.5, 0.0, p) == pytest.approx(0.55)
    assert fr.cohesion_step(1.0, 0.1, p) == pytest.approx(0.8)
    assert fr.cohesion_step(0.2, 0.5, p) == 0.0  # floored


def test_gov_share_counts_partial_progress_from_either_side() -> None:
    share = fr.gov_share([0, 1, 0, 1], [2.0, 2.0, 0.0, 9.0], [8.0, 8.0, 8.0, 8.0])
    np.testing.assert_allclose(share, [0.25, 0.75, 0.0, 0.0])


def test_lognormal_multiplier_has_mean_one() -> None:
    z = np.random.default_rng(3).standard_normal(400_000)
    m = fr.lognormal_mult(z, 0.8)
    sd = np.sqrt(np.exp(0.64) - 1)  # sd of a mean-one lognormal with sigma 0.8
    assert abs(m.mean() - 1.0) < 4 * sd / np.sqrt(len(z))


def test_every_free_parameter_has_a_prior_and_a_finite_range() -> None:
    for name in PRIORS:
        lo, hi = bounds(name)
        assert np.isfinite([lo, hi]).all() and lo < hi
        assert lo <= getattr(P, name) <= hi
    assert 8 <= len(PRIORS) <= 12


def test_prior_samples_stay_in_range() -> None:
    for params in sample_prior(np.random.default_rng(0), 50):
        for name in PRIORS:
            lo, hi = bounds(name)
            assert lo <= getattr(params, name) <= hi


@pytest.mark.parametrize("change", [
    {"speed_scale": 0.0}, {"footprint_km": 80.0}, {"posture_factor": {"hasty": 1.0}},
    {"qjm_ratio": (1.0, 0.9, 3.0)}, {"terrain_factor": {"plain": -1.0}}, {"nope": 1.0},
])
def test_bad_parameters_are_rejected(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        P.override(**change)


def test_per_replica_parameters_broadcast_like_one_call_per_replica() -> None:
    """A posterior gives each replica its own value: an array argument must give, element by
    element and bit for bit, what one scalar call per replica gives."""
    p = FrontParams()
    rng = np.random.default_rng(0)
    effect, loss, sigma = rng.uniform(0, 3, 5), rng.uniform(0, 10, 5), rng.uniform(0, 2, 5)
    e, z = rng.uniform(0, 5, 5), rng.standard_normal((5, 3))
    coh, lost = rng.uniform(0, 1, (5, 3)), rng.uniform(0, 0.1, (5, 3))
    length = rng.uniform(1, 60, 5)
    dist, front = rng.uniform(0, 30, (5, 4)), rng.random((5, 4)) < 0.7
    got_a = fr.attack_power(e, 1.3, 0.8, 0.25, p, effect)
    got_c = fr.cohesion_step(coh, lost, p, loss[:, None])
    got_m = fr.lognormal_mult(z, sigma[:, None])
    got_w = fr.effort_weights(dist, front, length[:, None])
    for i in range(5):
        one = p.override(air_effect=effect[i], cohesion_loss=loss[i])
        assert got_a[i] == fr.attack_power(e[i], 1.3, 0.8, 0.25, one)
        np.testing.assert_array_equal(got_c[i], fr.cohesion_step(coh[i], lost[i], one))
        np.testing.assert_array_equal(got_m[i], fr.lognormal_mult(z[i], float(sigma[i])))
        np.testing.assert_array_equal(got_w[i], fr.effort_weights(dist[i], front[i],
                                                                  float(length[i])))


def test_the_array_forms_are_the_compiled_scalar_functions_element_by_element() -> None:
    """One formula per rate: the broadcasting form the SimPy engine calls and the scalar form
    the kernel calls give the same bits."""
    rng = np.random.default_rng(3)
    a, b, c, d = (rng.exponential(2.0, 200) for _ in range(4))
    a[:20] = 0.0
    b[20:40] = 0.0
    q = fr.qjm_table(P)
    checks = [
        (fr.force_ratio(a, b), [fr.force_ratio_1(x, y) for x, y in zip(a, b, strict=True)]),
        (fr.qjm_speed(c, P), [fr.qjm_speed_1(x, *q) for x in c]),
        (fr.attack_power(a, b, c, d / 10, P),
         [fr.attack_power_1(w, x, y, z / 10, P.air_effect) for w, x, y, z in zip(a, b, c, d,
                                                                                strict=True)]),
        (fr.lognormal_mult(c - 2, d), [fr.lognormal_mult_1(x - 2, y) for x, y in zip(c, d,
                                                                                 strict=True)]),
        (fr.crossing(a, b, c)[1], [fr.crossing_offset_1(x, y, z) for x, y, z in zip(a, b, c,
                                                                                  strict=True)]),
        (fr.cohesion_step(d / 10, a / 10, P),
         [fr.cohesion_step_1(x / 10, y / 10, P.cohesion_recovery_per_day, P.cohesion_loss)
          for x, y in zip(d, a, strict=True)]),
    ]
    for got, want in checks:
        np.testing.assert_array_equal(got, np.array(want))


def test_qjm_speed_interpolates_exactly_as_numpy_interp() -> None:
    """The compiled interpolation reproduces ``np.interp`` (the former implementation) to the
    bit, at the table's points, between them, beyond them and for inf / nan."""
    rng = np.random.default_rng(4)
    r = np.r_[rng.exponential(1.5, 20_000), 0.5, 1.0, 2.26, 3.01, 0.49999, np.inf, np.nan, 0.0]
    xs, ys = (P.min_ratio, *P.qjm_ratio), (0.0, *P.qjm_hasty_km_per_day)
    want = np.interp(np.nan_to_num(r, nan=0.0, posinf=xs[-1]), xs, ys, left=0.0, right=ys[-1])
    np.testing.assert_array_equal(fr.qjm_speed(r, P), want)


def test_division_by_zero_in_a_rate_raises_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fr.force_ratio(2.0, 0.0) == np.inf
        assert fr.crossing(1.0, 0.0, 3.0)[1] == np.inf
