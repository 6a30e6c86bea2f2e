"""ABC-SMC (approximate Bayesian computation, sequential Monte Carlo) with an explicit generator.

The algorithm of Toni et al. (2009) with the adaptive Gaussian kernel of Beaumont et al. (2009),
as pyABC implements it. It is written here, small, because pyABC samples from numpy's global
random state, which this project does not touch: every draw comes from the ``rng`` passed in, so a
run is reproducible bit for bit.

Parameters live in the unit cube (each dimension mapped by its truncated prior CDF; see
:mod:`sim.calibration.space`), where the prior is uniform.

Generation 0 draws ``particles`` points from the prior. Generation ``t`` sets the tolerance to the
``quantile`` of the previous generation's distances, proposes by resampling a previous particle
(by weight) and perturbing it with N(0, 2 Cov) (Beaumont's choice), rejects proposals outside the
cube, and keeps those whose distance is within the tolerance; weights are
``prior / sum_j w_j K(theta | theta_j)``. It stops after ``generations`` or when the acceptance
rate falls below ``min_acceptance`` (pyABC's known failure mode is that rate collapsing).

Parallel evaluation (``distance_many``, ``batch``): generation 0 evaluates all its particles at
once; later generations propose ``batch`` candidates (each with its seed), evaluate them together
and accept them in proposal order. When the generation fills up part-way through a batch, the
generator is set back to its state just after the last candidate used, so the later proposals
are as if never drawn: the result is bit-identical to evaluating one candidate at a time,
whatever the batch size (the surplus simulations are discarded, and not counted).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats


@dataclass
class Generation:
    epsilon: float
    particles: NDArray[np.float64]
    weights: NDArray[np.float64]
    distances: NDArray[np.float64]
    n_simulations: int

    @property
    def acceptance_rate(self) -> float:
        return len(self.particles) / max(self.n_simulations, 1)

    @property
    def ess(self) -> float:
        """Effective sample size of the weights."""
        return float(1.0 / (self.weights**2).sum())


@dataclass
class AbcResult:
    generations: list[Generation] = field(default_factory=list)
    stopped: str = ""

    @property
    def final(self) -> Generation:
        return self.generations[-1]

    def sample(self, n: int, rng: np.random.Generator) -> NDArray[np.float64]:
        """``n`` draws (unit cube) from the final weighted population."""
        g = self.final
        return g.particles[rng.choice(len(g.particles), size=n, p=g.weights)]


Proposal = tuple[NDArray[np.float64], int]


def abc_smc(distance: Callable[[NDArray[np.float64], int], float] | None, dim: int,
            rng: np.random.Generator, particles: int = 150, generations: int = 4,
            quantile: float = 0.5, min_acceptance: float = 0.02,
            progress: Callable[[int, Generation], None] | None = None,
            distance_many: Callable[[Sequence[Proposal]], Sequence[float]] | None = None,
            batch: int = 1, on_evaluated: Callable[[int], None] | None = None) -> AbcResult:
    """Run ABC-SMC. ``distance(theta_unit, seed)`` simulates at ``theta`` with ``seed``;
    ``distance_many([(theta, seed), ...])`` (if given, instead) many at once, e.g. on workers,
    ``batch`` candidates at a time. ``on_evaluated(k)``: ``k`` more simulations were used."""
    if distance_many is None:
        if distance is None:
            raise ValueError("give distance or distance_many")
        one = distance

        def distance_many(props: Sequence[Proposal]) -> list[float]:
            return [one(t, s) for t, s in props]

    def seed() -> int:
        return int(rng.integers(2**63 - 1))

    res = AbcResult()
    theta = rng.random((particles, dim))
    seeds = [seed() for _ in theta]  # the evaluations draw nothing: the same seeds in order
    dist = np.asarray(distance_many(list(zip(theta, seeds, strict=True))), np.float64)
    if on_evaluated:
        on_evaluated(particles)
    g = Generation(np.inf, theta, np.full(particles, 1.0 / particles), dist, particles)
    res.generations.append(g)
    if progress:
        progress(0, g)
    for t in range(1, generations):
        eps = float(np.quantile(g.distances, quantile))
        cov = 2.0 * np.atleast_2d(np.cov(g.particles.T, aweights=g.weights))
        cov += 1e-9 * np.eye(dim)  # a degenerate population must not break the kernel
        kernel = stats.multivariate_normal(mean=np.zeros(dim), cov=cov, allow_singular=True)
        new: list[NDArray[np.float64]] = []
        new_d: list[float] = []
        n_sim = 0
        max_sims = int(np.ceil(particles / min_acceptance))
        while len(new) < particles and n_sim < max_sims:
            props: list[Proposal] = []
            states: list[Mapping[str, Any]] = []
            while len(props) < max(batch, 1) and n_sim + len(props) < max_sims:
                parent = g.particles[rng.choice(len(g.particles), p=g.weights)]
                cand = parent + rng.multivariate_normal(np.zeros(dim), cov)
                if np.any(cand < 0) or np.any(cand > 1):
                    continue  # outside the prior's support: zero prior density, no simulation
                props.append((cand, seed()))
                states.append(rng.bit_generator.state)
            used = 0
            for (cand, _), d, state in zip(props, distance_many(props), states, strict=True):
                n_sim += 1
                used += 1
                if d <= eps:
                    new.append(cand)
                    new_d.append(float(d))
                    if len(new) == particles:
                        rng.bit_generator.state = state  # later proposals: never drawn
                        break
            if on_evaluated:
                on_evaluated(used)
        if len(new) < particles:
            res.stopped = (f"generation {t}: acceptance rate below {min_acceptance} "
                           f"({len(new)} of {particles} particles after {n_sim} simulations)")
            break
        theta = np.array(new)
        # prior is uniform on the cube: weight = 1 / sum_j w_j K(theta - theta_j)
        dens = np.array([(g.weights * kernel.pdf(th - g.particles)).sum() for th in theta])
        w = 1.0 / dens
        g = Generation(eps, theta, w / w.sum(), np.array(new_d), n_sim)
        res.generations.append(g)
        if progress:
            progress(t, g)
    if not res.stopped:
        res.stopped = f"completed {len(res.generations)} generations"
    return res
