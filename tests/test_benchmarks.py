"""Speed benchmarks, on demand only: ``pytest -m benchmark`` (or ``make bench`` for the JSON
figures). They are deselected by default (see ``addopts`` in pyproject.toml) and assert nothing
about time: targets live in the benchmark report, not in timed tests. The shape and arithmetic of
``idlib-sim bench --json`` (tiny sizes, no timing claims) are checked in every run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim import cli
from sim.engines.batch import run_chunk
from sim.engines.des import run_front_replica
from sim.run import build_campaign
from sim.scenario import load_scenario

BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="module")
def campaign():  # type: ignore[no-untyped-def]
    return build_campaign(load_scenario(BASELINE))


@pytest.mark.benchmark
def test_batch_chunk_of_8192(benchmark, campaign) -> None:  # type: ignore[no-untyped-def]
    out = benchmark.pedantic(run_chunk, args=(campaign, 1, 0, 8192), rounds=3, iterations=1)
    assert out.first_capture_day.shape == (8192, campaign.n_towns)


@pytest.mark.benchmark
def test_des_replica(benchmark, campaign) -> None:  # type: ignore[no-untyped-def]
    res = benchmark.pedantic(run_front_replica, args=(campaign, 1, 0), rounds=20, iterations=1)
    assert res.control.shape[0] == campaign.n_days + 1


KEYS = {"batch_replicas_per_s", "batch_replicas_per_s_one_core", "des_replicas_per_s",
        "ratio_per_core", "workers", "n_towns", "days", "peak_rss_mb", "cost_per_replica_day_us"}


def test_bench_json_is_one_object_with_consistent_figures(
        capsys: pytest.CaptureFixture[str]) -> None:
    """One JSON object on stdout with the issue's fields; the derived figures follow from the
    measured ones (no claim about how fast anything is)."""
    assert cli.main(["bench", "--json", "--batch-replicas", "1024", "--des-replicas", "2",
                     "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    b = json.loads(out)
    assert KEYS <= set(b)
    assert b["workers"] == 2 and b["tasks"] == 2 and b["n_towns"] > 0 and b["days"] == 78
    assert b["ratio_per_core"] == pytest.approx(
        b["batch_replicas_per_s_one_core"] / b["des_replicas_per_s"], rel=0.01)
    assert b["cost_per_replica_day_us"] == pytest.approx(
        1e6 / (b["batch_replicas_per_s_one_core"] * b["days"]), rel=0.01)
    assert b["speedup"] == pytest.approx(
        b["batch_replicas_per_s"] / b["batch_replicas_per_s_one_core"], rel=0.01)
    assert b["peak_rss_mb"] > 0 and b["peak_rss_mb_worker"] > 0


def test_bench_rejects_bad_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", "--json", "--batch-replicas", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--batch-replicas" in err and "value" in err
