"""Tests of :mod:`sim.analysis`: definitions against slow reference implementations, properties,
and (marked ``statistical``) calibration of the PIT and interval coverage under a well-specified
synthetic model, with a deliberately biased forecast showing that the checks can fail."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import stats

from sim import analysis

PROPERTY = settings(max_examples=100, deadline=None, derandomize=True)
FEW = settings(max_examples=25, deadline=None, derandomize=True)


# -- slow reference implementations ---------------------------------------------------------------
def slow_energy_crps(x: Sequence[float] | NDArray[np.float64], y: float) -> float:
    """``E|X - y| - 0.5 E|X - X'|`` over the empirical distribution, the O(n^2) way."""
    a = np.asarray(x, dtype=np.float64)
    return float(np.abs(a - y).mean() - 0.5 * np.abs(a[:, None] - a[None, :]).mean())


def slow_censored_crps(days: list[int], y: int, horizon: int) -> float:
    """The defining sum with an explicit ``F``; ``y = -1`` means "not captured" (step 0)."""
    total = 0.0
    for x in range(horizon):
        f = sum(1 for d in days if 0 <= d <= x) / len(days)
        step = 1.0 if 0 <= y <= x else 0.0
        total += (f - step) ** 2
    return total


def slow_quantile(days: list[int], q: float, horizon: int) -> float:
    """Smallest ``x`` in the window with ``F(x) >= q``, else inf."""
    for x in range(horizon):
        if sum(1 for d in days if 0 <= d <= x) / len(days) >= q:
            return float(x)
    return math.inf


@st.composite
def ensemble_and_obs(draw: st.DrawFn, *, lo: int = 0, beyond: int = 0,
                     y_never: bool = False) -> tuple[list[int], int, int]:
    """``(days, y, horizon)``: days in ``[lo, horizon - 1 + beyond]``, y in the window (or -1)."""
    h = draw(st.integers(1, 90))
    days = draw(st.lists(st.integers(lo, h - 1 + beyond), min_size=1, max_size=40))
    y = draw(st.integers(-1 if y_never else 0, h - 1))
    return days, y, h


# -- crps_censored --------------------------------------------------------------------------------
@given(st.integers(1, 120), st.data())
@PROPERTY
def test_point_mass_crps_is_absolute_error(h: int, data: st.DataObject) -> None:
    a = data.draw(st.integers(0, h - 1))
    y = data.draw(st.integers(0, h - 1))
    n = data.draw(st.integers(1, 30))
    assert analysis.crps_censored(np.full(n, a), y, h) == pytest.approx(abs(a - y), abs=1e-12)


@given(ensemble_and_obs())
@PROPERTY
def test_crps_censored_equals_energy_form_inside_horizon(case: tuple[list[int], int, int]) -> None:
    days, y, h = case
    got = analysis.crps_censored(np.array(days, dtype=np.int16), y, h)
    assert got.shape == ()
    assert float(got) == pytest.approx(slow_energy_crps(days, y), abs=1e-9)


@given(ensemble_and_obs(lo=-1, beyond=5, y_never=True))
@PROPERTY
def test_crps_censored_matches_defining_sum(case: tuple[list[int], int, int]) -> None:
    """Never-captured replicas, replicas beyond the window and a recorded "not captured"."""
    days, y, h = case
    assert float(analysis.crps_censored(np.array(days), y, h)) == pytest.approx(
        slow_censored_crps(days, y, h), abs=1e-9)


@pytest.mark.parametrize(("y", "h"), [(0, 78), (30, 78), (77, 78), (0, 1)])
def test_never_captured_ensemble_scores_horizon_minus_y(y: int, h: int) -> None:
    assert float(analysis.crps_censored(np.full(50, -1), y, h)) == h - y
    # A recorded "not captured" against an ensemble that agrees scores 0, and against a point
    # mass at day a scores the days from a to the end of the window.
    assert float(analysis.crps_censored(np.full(50, -1), -1, h)) == 0.0
    assert float(analysis.crps_censored(np.full(5, y), -1, h)) == h - y


@given(ensemble_and_obs(lo=-1, y_never=False), st.data())
@PROPERTY
def test_capturing_a_never_replica_on_or_after_y_lowers_the_score(
        case: tuple[list[int], int, int], data: st.DataObject) -> None:
    """Moving a replica from "never" to a day ``d >= y`` raises ``F`` by ``1/n`` on ``x >= d``,
    where ``F - 1`` is negative: every term shrinks, by ``(2(1 - F(x)) - 1/n) / n > 0``."""
    days, y, h = case
    if -1 not in days:
        days = [*days, -1]
    d = data.draw(st.integers(y, h - 1))
    moved = list(days)
    moved[moved.index(-1)] = d
    before = float(analysis.crps_censored(np.array(days), y, h))
    after = float(analysis.crps_censored(np.array(moved), y, h))
    assert after < before
    assert after == pytest.approx(slow_censored_crps(moved, y, h), abs=1e-9)


@given(st.integers(1, 12), st.data())
@PROPERTY
def test_crps_censored_is_proper(h: int, data: st.DataObject) -> None:
    """Expected score under G (categories: days 0..h-1 and "never") is smallest for forecast G."""
    cats = np.r_[np.arange(h), -1]
    counts = st.lists(st.integers(0, 6), min_size=h + 1, max_size=h + 1).filter(
        lambda c: sum(c) > 0)
    g = np.array(data.draw(counts))
    f = np.array(data.draw(counts))

    def expected_score(forecast_counts: NDArray[np.int64]) -> float:
        ens = np.repeat(cats, forecast_counts)
        # One target per possible outcome, each scored against the same ensemble.
        s = analysis.crps_censored(np.repeat(ens[:, None], h + 1, axis=1), cats, h)
        return float((g / g.sum()) @ s)

    assert expected_score(g) <= expected_score(f) + 1e-12


def test_crps_censored_vectorised_over_targets() -> None:
    rng = np.random.default_rng(11)
    h = 40
    days = rng.integers(-1, h, size=(300, 7)).astype(np.int32)
    y = rng.integers(-1, h, size=7)
    got = analysis.crps_censored(days, y, h)
    assert got.shape == (7,)
    want = [float(analysis.crps_censored(days[:, j], int(y[j]), h)) for j in range(7)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_input_validation() -> None:
    with pytest.raises(TypeError):
        analysis.crps_censored(np.array([1.0, 2.0]), 1, 10)
    with pytest.raises(ValueError, match="-1"):
        analysis.crps_censored(np.array([-2, 3]), 1, 10)
    with pytest.raises(ValueError):
        analysis.crps_censored(np.zeros((5, 3), int), np.zeros(4, int), 10)
    with pytest.raises(ValueError):
        analysis.crps_censored(np.zeros(5, int), np.zeros(2, int), 10)
    with pytest.raises(ValueError):
        analysis.crps_censored(np.zeros(5, int), 1.5, 10)
    with pytest.raises(ValueError):
        analysis.crps_censored(np.zeros(5, int), 1, 0)
    # Whole days stored as floats (as in a table) are accepted.
    assert float(analysis.crps_censored(np.zeros(5, int), 3.0, 10)) == 3.0


# -- crps_ensemble --------------------------------------------------------------------------------
@pytest.mark.parametrize(("a", "y"), [(0.0, 0.0), (3.5, -1.25), (-2.0, 1e3)])
def test_crps_ensemble_point_mass(a: float, y: float) -> None:
    assert analysis.crps_ensemble(np.full(17, a), y) == pytest.approx(abs(a - y), abs=1e-9)


@given(st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=60), st.floats(-1e4, 1e4))
@PROPERTY
def test_crps_ensemble_equals_energy_form(x: list[float], y: float) -> None:
    got = analysis.crps_ensemble(np.array(x), y)
    assert isinstance(got, float)
    # Rounding scales with the magnitudes involved (sums of up to 60 terms of size <= 2e4).
    assert got == pytest.approx(slow_energy_crps(x, y), abs=1e-9 * (1.0 + 2e4))


@given(ensemble_and_obs())
@PROPERTY
def test_crps_ensemble_agrees_with_crps_censored_inside_window(
        case: tuple[list[int], int, int]) -> None:
    days, y, h = case
    assert analysis.crps_ensemble(np.array(days, float), float(y)) == pytest.approx(
        float(analysis.crps_censored(np.array(days), y, h)), abs=1e-9)


def test_crps_ensemble_batch_matches_loop() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(200, 4, 3)).astype(np.float32)
    y = rng.normal(size=(4, 3))
    got = analysis.crps_ensemble_batch(x, y)
    assert got.shape == (4, 3)
    for i in range(4):
        for j in range(3):
            assert got[i, j] == pytest.approx(analysis.crps_ensemble(x[:, i, j], y[i, j]),
                                              abs=1e-12)
    with pytest.raises(ValueError):
        analysis.crps_ensemble(x, 0.0)


def _normal_crps_sd_per_sqrt_n(z: float) -> float:
    """Standard deviation of the Hoeffding projection of the CRPS V-statistic, ``N(0, 1)``.

    The CRPS estimator is a V-statistic with kernel ``(|x - z| + |x' - z| - |x - x'|) / 2``; its
    leading variance is ``var(h(X)) / n`` with ``h(x) = |x - z| - E|x - X'|`` and
    ``E|x - X'| = x (2 Phi(x) - 1) + 2 phi(x)``.
    """
    from scipy.integrate import quad

    def h(x: float) -> float:
        return abs(x - z) - (x * (2 * stats.norm.cdf(x) - 1) + 2 * stats.norm.pdf(x))

    m1 = quad(lambda x: h(x) * stats.norm.pdf(x), -12, 12, points=[z], limit=200)[0]
    m2 = quad(lambda x: h(x) ** 2 * stats.norm.pdf(x), -12, 12, points=[z], limit=200)[0]
    return math.sqrt(m2 - m1**2)


@pytest.mark.statistical
@pytest.mark.parametrize("z", [0.0, 0.5])
def test_crps_ensemble_approaches_normal_closed_form(z: float) -> None:
    """Large sample from ``N(mu, sigma)`` against Gneiting & Raftery's closed form.

    Tolerance ``5e-3 sigma`` for ``n = 200000``: the plain estimator's bias is
    ``0.5 E|X - X'| / n = sigma / (sqrt(pi) n) ~ 3e-6 sigma``; its noise is
    ``sd(h) sigma / sqrt(n)`` with ``sd(h)`` the projection's standard deviation (about 0.23 at
    ``z = 0`` and 0.45 at ``z = 0.5``), i.e. 5e-4 sigma and 1e-3 sigma. The tolerance is checked
    to be at least 4 standard deviations plus the bias before it is used.
    """
    n, mu, sigma = 200_000, 10.0, 3.0
    y = mu + z * sigma
    tol = 5e-3 * sigma
    bias = sigma / (math.sqrt(math.pi) * n)
    assert tol >= 4 * _normal_crps_sd_per_sqrt_n(z) * sigma / math.sqrt(n) + bias
    closed = sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z)
                      - 1 / math.sqrt(math.pi))
    x = np.random.default_rng(20191219).normal(mu, sigma, n)
    assert abs(analysis.crps_ensemble(x, y) - closed) <= tol


# -- quantiles, median error, coverage ------------------------------------------------------------
def test_quantiles_censored_hand_cases() -> None:
    # Captured on days 1, 2, 3 and never: F(1) = .25, F(2) = .5, F(3..9) = .75.
    days = np.array([3, 1, -1, 2])
    qs = [0.1, 0.25, 0.26, 0.5, 0.6, 0.75, 0.76, 1.0]
    got = analysis.quantiles_censored(days, qs, 10)
    np.testing.assert_array_equal(got, [1, 1, 2, 2, 3, 3, np.inf, np.inf])
    assert analysis.quantiles_censored(days, 0.5, 10).shape == ()
    # Two targets; the second is never captured, the first always on day 0.
    two = np.array([[0, -1], [0, -1]])
    got2 = analysis.quantiles_censored(two, [0.5, 1.0], 5)
    assert got2.shape == (2, 2)
    np.testing.assert_array_equal(got2, [[0, np.inf], [0, np.inf]])
    # Days beyond the window count as never.
    assert float(analysis.quantiles_censored(np.array([7, 7]), 0.5, 5)) == np.inf
    # q = k / n hits exactly despite rounding of q (0.7 * 10 > 7 in floating point).
    ten = np.arange(10)
    assert float(analysis.quantiles_censored(ten, 0.7, 10)) == 6.0
    with pytest.raises(ValueError):
        analysis.quantiles_censored(days, [0.0], 10)


@given(ensemble_and_obs(lo=-1, beyond=3), st.lists(st.floats(0.01, 1.0), min_size=1, max_size=5))
@PROPERTY
def test_quantiles_censored_match_definition(case: tuple[list[int], int, int],
                                             qs: list[float]) -> None:
    days, _, h = case
    got = analysis.quantiles_censored(np.array(days), qs, h)
    np.testing.assert_array_equal(got, [slow_quantile(days, q, h) for q in qs])


def test_abs_error_of_median() -> None:
    h = 20
    # Median day 5 (F(5) = 0.5).
    days = np.array([[5, -1], [5, -1], [9, -1], [-1, 3]])
    got = analysis.abs_error_of_median(days, np.array([8, 12]), h)
    # Second target: median "never" -> horizon; error 20 - 12 = 8 is a lower bound.
    np.testing.assert_array_equal(got, [3.0, 8.0])
    assert float(analysis.abs_error_of_median(days[:, 0], -1, h)) == 15.0
    assert float(analysis.abs_error_of_median(days[:, 1], -1, h)) == 0.0


def test_interval_coverage_hand_cases() -> None:
    h = 30
    days = np.arange(10)  # F(x) = (x + 1) / 10; 80 % interval [q.1, q.9] = [0, 8]
    for y, want in [(0, True), (8, True), (9, False), (25, False), (-1, False)]:
        assert bool(analysis.interval_coverage(days, y, 0.8, h)) is want, y
    # Half never captured: 80 % interval [q.1, inf] covers every later day and "not captured".
    late = np.r_[np.arange(5), np.full(5, -1)]
    for y, want in [(0, True), (29, True), (-1, True)]:
        assert bool(analysis.interval_coverage(late, y, 0.8, h)) is want, y
    # Mostly never: [inf, inf] covers only "not captured".
    never = np.r_[0, np.full(19, -1)]
    for y, want in [(0, False), (29, False), (-1, True)]:
        assert bool(analysis.interval_coverage(never, y, 0.8, h)) is want, y
    with pytest.raises(ValueError):
        analysis.interval_coverage(days, 0, 1.0, h)


# -- PIT ------------------------------------------------------------------------------------------
def test_pit_hand_cases() -> None:
    h = 10
    days = np.array([[4, 4, -1], [4, 6, -1]])  # n = 2; columns: point mass, two days, never
    y = np.array([4, 5, 3])
    u = np.random.default_rng(3).random(3)
    got = analysis.pit(days, y, h, np.random.default_rng(3))
    # Column 0: F(3) = 0, F(4) = 1 -> U. Column 1: F(4) = F(5) = .5 -> .5. Column 2: F = 0 -> 0.
    np.testing.assert_allclose(got, [u[0], 0.5, 0.0], rtol=0, atol=1e-15)
    # Recorded "not captured": F(h - 1) + U (1 - F(h - 1)).
    got_never = analysis.pit(days, np.array([-1, -1, -1]), h, np.random.default_rng(3))
    np.testing.assert_allclose(got_never, [1.0, 1.0, u[2]], rtol=0, atol=1e-15)
    assert analysis.pit(days[:, 0], 3, h, np.random.default_rng(3)).shape == ()


def _ensemble(rng: np.random.Generator, p: NDArray[np.float64],
              n_replicas: int) -> NDArray[np.int64]:
    """``(replicas, targets)`` days drawn from per-target probabilities over days
    ``0 .. horizon - 1`` and "never" (last category, coded -1). Each column comes out sorted,
    which the order-free scores do not see."""
    n_targets, k = p.shape
    cats = np.r_[np.arange(k - 1), -1]
    counts = rng.multinomial(n_replicas, p)
    return np.repeat(np.tile(cats, n_targets), counts.ravel()).reshape(n_targets, n_replicas).T


def _discrete_design(rng: np.random.Generator, n_targets: int, n_replicas: int,
                     horizon: int) -> tuple[NDArray[np.float64], NDArray[np.int64],
                                            NDArray[np.int64]]:
    """Random forecast distributions over days ``0 .. horizon - 1`` and "never" (last category).

    Returns the true probabilities ``(targets, horizon + 1)``, an ensemble drawn from them
    ``(replicas, targets)`` and one recorded day per target drawn from the same distribution
    (-1 = never), independent of the ensemble.
    """
    # Dirichlet(0.3): spiky distributions with large point masses, the hard case for discreteness.
    p = rng.dirichlet(np.full(horizon + 1, 0.3), size=n_targets)
    ens = _ensemble(rng, p, n_replicas)
    y = np.r_[np.arange(horizon), -1][rng.multinomial(1, p).argmax(axis=1)]
    return p, ens, y


N_TARGETS, N_REPLICAS, HORIZON = 3000, 500, 60


@pytest.mark.statistical
def test_pit_uniform_when_well_specified_and_not_when_biased() -> None:
    """KS test of the pooled randomised PIT against U(0, 1), alpha = 0.001.

    Design: 3000 independent targets, each with its own random distribution over days 0..59 and
    "never" (horizon 60); an ensemble of 500 replicas and the recorded day both drawn from it.
    Recorded "never" is kept (PIT uniform on ``[F(59), 1]``): dropping those targets would
    condition on capture and make the PIT uniform on ``[0, F(59)]`` instead.

    Why the sample is uniform enough although ``F`` is the ensemble's, not the truth: the recorded
    day and the replicas are exchangeable. Given the multiset of all 501 values, the recorded day
    is a uniformly chosen member; if it is the value with ``c`` copies and ``a`` values below,
    the PIT is uniform on ``[a / n, (a + c - 1) / n]`` (a point if ``c = 1``). Summing over the
    members, the PIT's distribution function is piecewise linear and within ``1 / (n + 1)`` of
    the identity at every break, hence everywhere. So each target's PIT is within 0.002 of
    uniform in KS distance; that moves ``sqrt(N) D`` by at most ``sqrt(3000) / 501 = 0.11``
    against the critical value 1.95, raising the type-I error from 0.001 to at most about
    ``2 exp(-2 * 1.84^2) = 0.002``.

    Power: the same ensembles shifted 5 days later (days past the window become "never") must be
    rejected.
    """
    rng = np.random.default_rng(2020_03_05)
    _, ens, y = _discrete_design(rng, N_TARGETS, N_REPLICAS, HORIZON)
    u = analysis.pit(ens, y, HORIZON, rng)
    assert stats.kstest(u, "uniform").pvalue > 1e-3

    late = np.where((ens >= 0) & (ens + 5 < HORIZON), ens + 5, -1)
    u_late = analysis.pit(late, y, HORIZON, rng)
    assert stats.kstest(u_late, "uniform").pvalue < 1e-3


@pytest.mark.statistical
@pytest.mark.parametrize("level", [0.5, 0.8])
def test_interval_coverage_when_well_specified(level: float) -> None:
    """Coverage of the central interval, with discreteness accounted for.

    For integer days the inverse-ECDF interval ``[lo, hi]`` of a distribution ``F`` holds
    ``F(hi) - F(lo - 1) >= level`` (``F(lo - 1) < (1 - level)/2``, ``F(hi) >= (1 + level)/2``),
    exceeding it by less than the point masses at ``lo`` and ``hi``. So:

    1. exact: given the ensembles, target i is covered with probability
       ``c_i = G_i(hi_i) - G_i(lo_i - 1)`` under its true ``G_i``, independently across targets;
       the coverage rate must lie within 4 standard deviations, ``4 sqrt(sum c(1 - c)) / N``, of
       ``mean(c)``;
    2. against the nominal level: ``level - 4 s <= coverage <= level + mean(allowance) + 4 s``,
       ``s = sqrt(level (1 - level) / N)``, with the allowance the ensemble's point masses at
       ``lo`` and ``hi``. The ensemble's own sampling error in ``mean(c)`` is O(1/n) in bias and
       about 0.02 / sqrt(N) = 4e-4 in noise, far inside ``4 s`` (>= 0.029).

    Power: an overconfident forecast, its ensemble drawn from ``p^3`` renormalised (same modes,
    sharper), must fail the lower bound. (A 5-day shift, which the PIT detects, does not move
    coverage enough here: these distributions are wide and their point masses widen the
    intervals.)
    """
    rng = np.random.default_rng(2019_12_19)
    p, ens, y = _discrete_design(rng, N_TARGETS, N_REPLICAS, HORIZON)
    covered = analysis.interval_coverage(ens, y, level, HORIZON)
    rate = covered.mean()

    lo, hi = analysis.quantiles_censored(ens, [(1 - level) / 2, (1 + level) / 2], HORIZON)
    # Category index of each end: day, or HORIZON for "never".
    lo_i = np.where(np.isinf(lo), HORIZON, lo).astype(int)
    hi_i = np.where(np.isinf(hi), HORIZON, hi).astype(int)
    g = np.hstack([np.zeros((N_TARGETS, 1)), np.cumsum(p, axis=1)])  # g[:, k + 1] = G(k)
    rows = np.arange(N_TARGETS)
    c = g[rows, hi_i + 1] - g[rows, lo_i]
    assert abs(rate - c.mean()) <= 4 * math.sqrt((c * (1 - c)).sum()) / N_TARGETS

    # Ensemble point masses at the ends (category HORIZON = never).
    codes = np.where(ens < 0, HORIZON, ens)
    mass_lo = (codes == lo_i[None, :]).mean(axis=0)
    mass_hi = (codes == hi_i[None, :]).mean(axis=0)
    allowance = float(np.where(lo_i == hi_i, mass_lo, mass_lo + mass_hi).mean())
    s = math.sqrt(level * (1 - level) / N_TARGETS)
    assert level - 4 * s <= rate <= level + allowance + 4 * s

    sharp = p**3 / (p**3).sum(axis=1, keepdims=True)
    overconfident = _ensemble(rng, sharp, N_REPLICAS)
    assert analysis.interval_coverage(overconfident, y, level, HORIZON).mean() < level - 4 * s


# -- naive benchmark ------------------------------------------------------------------------------
def test_naive_days() -> None:
    got = analysis.naive_days(np.array([0.0, 9.99, 10.0, 779.0, 780.0]), 10.0, 78)
    np.testing.assert_array_equal(got, [0, 0, 1, 77, np.inf])
    with pytest.raises(ValueError):
        analysis.naive_days(np.array([1.0]), 0.0, 78)


@given(st.floats(0.1, 20.0), st.integers(1, 60), st.integers(0, 2**32 - 1))
@FEW
def test_fit_naive_speed_recovers_generating_speed(v: float, m: int, seed: int) -> None:
    h = 78
    d = np.random.default_rng(seed).uniform(0.5, 120.0, m)
    y = np.floor(d / v)
    y = np.where(y >= h, -1, y).astype(int)
    v_hat = analysis.fit_naive_speed(d, y, h)
    assert analysis.NAIVE_SPEED_BOUNDS[0] <= v_hat <= analysis.NAIVE_SPEED_BOUNDS[1]
    fc = analysis.naive_days(d, v_hat, h)
    np.testing.assert_array_equal(np.where(np.isinf(fc), -1, fc), y)
    assert analysis.naive_crps(d, y, v_hat, h).mean() == 0.0


def test_fit_naive_speed_is_the_global_minimum() -> None:
    """Noisy records: no speed fits exactly; none of 100000 speeds may beat the fit."""
    rng = np.random.default_rng(8)
    h = 78
    d = rng.uniform(1.0, 80.0, 40)
    y = np.clip(np.floor(d / 1.7) + rng.integers(-6, 7, 40), 0, h - 1).astype(int)
    y[:3] = -1

    def mae(v: float) -> float:
        return float(analysis.naive_crps(d, y, v, h).mean())

    best = mae(analysis.fit_naive_speed(d, y, h))
    brute = min(mae(float(v)) for v in np.geomspace(0.05, 50, 100_000)[::7])
    assert best <= brute
    assert best > 0


@given(st.floats(0.0, 200.0), st.floats(0.05, 50.0), st.integers(1, 100), st.data())
@PROPERTY
def test_naive_crps_equals_crps_of_degenerate_ensemble(dist: float, v: float, h: int,
                                                       data: st.DataObject) -> None:
    y = data.draw(st.integers(-1, h - 1))
    a = analysis.naive_days(np.array([dist]), v, h)[0]
    ens = np.array([-1 if np.isinf(a) else int(a)])
    got = analysis.naive_crps(np.array([dist]), np.array([y]), v, h)
    assert got.shape == (1,)
    assert got[0] == float(analysis.crps_censored(ens, y, h))


# -- tables ---------------------------------------------------------------------------------------
def test_score_table_columns_and_consistency() -> None:
    rng = np.random.default_rng(4)
    h, n, m = 50, 400, 6
    days = rng.integers(-1, h, size=(n, m)).astype(np.int16)
    y = np.array([0, 10, 25, 49, -1, 30])
    t = analysis.score_table(days, y, h, np.random.default_rng(9), names=list("abcdef"),
                            phase=["p1", "p1", "p2", "p2", "p2", "p1"], weight=np.arange(1, 7))
    assert list(t.columns) == ["town", "y", "crps_days", "abs_err_median_days", "median_day",
                               "q10", "q90", "pit", "in50", "in80", "p_captured", "phase",
                               "weight"]
    assert len(t) == m
    assert list(t["town"]) == list("abcdef")
    np.testing.assert_array_equal(t["y"], y)
    np.testing.assert_allclose(t["crps_days"], analysis.crps_censored(days, y, h), atol=1e-12)
    np.testing.assert_array_equal(t["abs_err_median_days"],
                                  analysis.abs_error_of_median(days, y, h))
    q = analysis.quantiles_censored(days, [0.1, 0.5, 0.9], h)
    np.testing.assert_array_equal(t[["q10", "median_day", "q90"]].to_numpy().T, q)
    np.testing.assert_array_equal(t["pit"], analysis.pit(days, y, h, np.random.default_rng(9)))
    np.testing.assert_array_equal(t["in50"], analysis.interval_coverage(days, y, 0.5, h))
    np.testing.assert_array_equal(t["in80"], analysis.interval_coverage(days, y, 0.8, h))
    np.testing.assert_allclose(t["p_captured"], ((days >= 0) & (days < h)).mean(axis=0))
    bare = analysis.score_table(days, y, h, np.random.default_rng(9))
    assert list(bare["town"]) == list(range(m))
    assert "phase" not in bare and "weight" not in bare


def _hand_table(weighted: bool) -> pd.DataFrame:
    t = pd.DataFrame({
        "town": ["a", "b", "c", "d"],
        "crps_days": [1.0, 3.0, 5.0, 7.0],
        "abs_err_median_days": [0.0, 2.0, 4.0, 10.0],
        "in50": [True, False, True, False],
        "in80": [True, True, True, False],
        "phase": ["early", "early", "late", "late"],
    })
    if weighted:
        t["weight"] = [1.0, 1.0, 2.0, 0.0]
    return t


def test_summarise_weighted_means_skill_and_phases() -> None:
    naive = np.array([2.0, 2.0, 10.0, 1.0])
    s = analysis.summarise(_hand_table(weighted=True), naive)
    assert s["n_targets"] == 4
    # Weights 1, 1, 2, 0 (total 4).
    assert s["crps_days"] == pytest.approx((1 + 3 + 10) / 4)
    assert s["mae_days"] == pytest.approx((0 + 2 + 8) / 4)
    assert s["coverage_50"] == pytest.approx(3 / 4)
    assert s["coverage_80"] == pytest.approx(1.0)
    assert s["crps_naive_days"] == pytest.approx((2 + 2 + 20) / 4)
    assert s["skill_vs_naive"] == pytest.approx(1 - 14 / 24)
    assert list(s["by_phase"]) == ["early", "late"]
    early, late = s["by_phase"]["early"], s["by_phase"]["late"]
    assert early["crps_days"] == pytest.approx(2.0)
    assert early["skill_vs_naive"] == pytest.approx(0.0)
    assert late["crps_days"] == pytest.approx(5.0)
    assert late["crps_naive_days"] == pytest.approx(10.0)
    assert late["skill_vs_naive"] == pytest.approx(0.5)
    assert late["n_targets"] == 2
    assert set(early) == {"crps_days", "mae_days", "coverage_50", "coverage_80", "n_targets",
                          "crps_naive_days", "skill_vs_naive"}
    json.dumps(s, allow_nan=False)
    for v in [s["crps_days"], early["coverage_50"], late["skill_vs_naive"]]:
        assert type(v) is float


def test_summarise_unweighted_without_naive_or_phase() -> None:
    t = _hand_table(weighted=False).drop(columns="phase")
    s = analysis.summarise(t)
    assert set(s) == {"crps_days", "mae_days", "coverage_50", "coverage_80", "n_targets"}
    assert s["crps_days"] == pytest.approx(4.0)
    assert s["mae_days"] == pytest.approx(4.0)
    assert s["coverage_50"] == pytest.approx(0.5)
    assert s["coverage_80"] == pytest.approx(0.75)
    with pytest.raises(ValueError):
        analysis.summarise(t, np.ones(3))


def test_summarise_of_score_table_end_to_end() -> None:
    """Naive benchmark and table together, as the calibration uses them."""
    rng = np.random.default_rng(12)
    h, m = 78, 20
    d = rng.uniform(1.0, 90.0, m)
    y = np.clip(np.floor(d / 1.2).astype(int) + rng.integers(-5, 6, m), 0, h - 1)
    days = np.clip(y[None, :] + rng.integers(-8, 9, size=(300, m)), -1, h - 1)
    t = analysis.score_table(days, y, h, rng, phase=["a"] * 10 + ["b"] * 10)
    v = analysis.fit_naive_speed(d, y, h)
    s = analysis.summarise(t, analysis.naive_crps(d, y, v, h))
    assert s["skill_vs_naive"] == pytest.approx(1 - s["crps_days"] / s["crps_naive_days"])
    assert set(s["by_phase"]) == {"a", "b"}
    json.dumps(s)
