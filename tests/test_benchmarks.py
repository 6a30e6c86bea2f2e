"""Speed benchmarks, on demand only: ``pytest -m benchmark`` (or ``make bench`` for the JSON
figures). They are deselected by default (see ``addopts`` in pyproject.toml) and assert nothing
about time: targets live in the benchmark report, not in timed tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.engines.batch import run_chunk
from sim.engines.des import run_front_replica
from sim.run import build_campaign
from sim.scenario import load_scenario

pytestmark = pytest.mark.benchmark
BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="module")
def campaign():  # type: ignore[no-untyped-def]
    return build_campaign(load_scenario(BASELINE))


def test_batch_chunk_of_8192(benchmark, campaign) -> None:  # type: ignore[no-untyped-def]
    out = benchmark.pedantic(run_chunk, args=(campaign, 1, 0, 8192), rounds=3, iterations=1)
    assert out.first_capture_day.shape == (8192, campaign.n_towns)


def test_des_replica(benchmark, campaign) -> None:  # type: ignore[no-untyped-def]
    res = benchmark.pedantic(run_front_replica, args=(campaign, 1, 0), rounds=20, iterations=1)
    assert res.control.shape[0] == campaign.n_days + 1
