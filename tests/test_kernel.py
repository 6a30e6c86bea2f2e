"""The compiled kernel of the batch core against the numpy reference of the same day, to the bit.

The kernel (:mod:`sim.engines.kernel`) replaced the numpy day loop, kept as
:mod:`sim.engines.kernel_reference`. Both take the same draws and call the same compiled rate
functions of :mod:`sim.model.rates`, and the kernel sums in numpy's order, so every output of
every replica must be identical: with fixed parameters, with a posterior (parameters and
modifier values per replica), and on a campaign with everything switched on at once
(ceasefire with breaches, strike groups, observation posts, Spring Shield) as in the baseline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.engines.batch import FrontChunk, run_chunk
from sim.engines.kernel import segment_total
from sim.engines.kernel_reference import run_chunk_numpy
from sim.model.campaign import FrontCampaign
from sim.model.posterior import Posterior
from sim.run import build_campaign
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("first_capture_day", "last_capture_day", "n_recaptures", "final_control",
          "gov_area_km2", "held_count", "watch_day", "group_area_km2", "first_recapture_day",
          "control_by_day")


@pytest.fixture(scope="module")
def baseline() -> FrontCampaign:
    return build_campaign(load_scenario(ROOT / "scenarios" / "baseline.yaml"))


def _run_both(c: FrontCampaign, seed: int, start: int, n: int,
              posterior: Posterior | None) -> tuple[FrontChunk, FrontChunk]:
    kw = dict(watch=[[0, 1], [5]], area_groups=[c.rear, ~c.rear], record_control=True,
              posterior=posterior)
    return (run_chunk(c, seed, start, n, **kw),  # type: ignore[arg-type]
            run_chunk_numpy(c, seed, start, n, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize("with_posterior", [False, True])
def test_kernel_equals_the_numpy_reference_to_the_bit(baseline: FrontCampaign,
                                                      with_posterior: bool) -> None:
    post = (Posterior.read_csv(ROOT / "calibration" / "record" / "posterior_samples.csv")
            if with_posterior else None)
    kern, ref = _run_both(baseline, 17, 512, 300, post)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(kern, name), getattr(ref, name), err_msg=name)
    # the comparison is not vacuous: the replicas differ, towns change hands both ways
    assert len(np.unique(kern.gov_area_km2[:, -1])) > 250
    assert (kern.first_capture_day >= 0).any() and (kern.n_recaptures > 0).any()


@pytest.mark.parametrize("n", [*range(1, 20), 64, 127, 128, 129, 130, 136, 200, 255, 256, 257,
                               300, 1000, 4099])
def test_segment_total_sums_as_numpy_reduceat(n: int) -> None:
    rng = np.random.default_rng(n)
    for _ in range(20):
        w = rng.random(n) * np.exp(rng.normal(0.0, 4.0, n))  # wide range: order matters
        w[rng.random(n) < 0.3] = 0.0
        assert segment_total(w, n) == np.add.reduceat(w, [0])[0]
