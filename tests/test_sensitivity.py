"""Sobol sensitivity: the estimator on a function with known indices (through the same code
path as the command), the model's outcomes at parameter points, and the config's errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.analyses_config import SensitivityConfig, load
from sim.errors import ScenarioError
from sim.sensitivity import OUTCOMES, evaluate, outcomes_of, saltelli_points, sobol_indices

ROOT = Path(__file__).parents[1]


def _ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def _ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Analytic first-order and total indices (Ishigami & Homma 1990; Sobol' & Levitan 1999)."""
    pi = np.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


@pytest.mark.statistical
def test_sobol_recovers_the_ishigami_indices() -> None:
    lows, highs = np.full(3, -np.pi), np.full(3, np.pi)
    x = saltelli_points(lows, highs, 1024, seed=17)
    assert x.shape == (1024 * 5, 3)
    y = np.column_stack([_ishigami(x), np.full(len(x), 3.0)])
    t = sobol_indices(["x1", "x2", "x3"], lows, highs, y, ["ishigami", "constant"], 300, 5)
    s1, st = _ishigami_indices()
    ish = t[t["outcome"] == "ishigami"]
    for col, truth in (("S1", s1), ("ST", st)):
        est = ish[col].to_numpy()
        half = (ish[f"{col}_hi"] - ish[col]).to_numpy()  # 1.96 bootstrap sd
        assert (half < 0.1).all()
        # within ~4 bootstrap standard deviations (plus the estimator's small-sample bias)
        assert (np.abs(est - truth) <= 2 * half + 0.01).all(), (col, est, truth, half)
    # an outcome that does not vary has no indices (not a division by zero dressed as a number)
    assert t[t["outcome"] == "constant"][["S1", "ST"]].isna().all().all()


def test_points_run_with_common_random_numbers() -> None:
    from sim.calibration.model import CampaignFactory
    from sim.displacement import Layer
    from sim.engines.batch import run_chunk
    from sim.scenario import load_scenario

    f = CampaignFactory(load_scenario(ROOT / "scenarios/baseline.yaml"))
    names = ["speed_scale", "air_effect"]
    pts = np.array([[0.6, 0.4], [0.6, 0.4], [0.9, 0.1]])
    y = evaluate(f, names, pts, seed=3, replicas=8)
    assert y.shape == (3, len(OUTCOMES))
    np.testing.assert_array_equal(y[0], y[1])  # same point, same seed: same outcome
    c = f({"speed_scale": 0.9, "air_effect": 0.1})
    th = f.theatre
    direct = outcomes_of(run_chunk(c, 3, 0, 8, [tuple(th.roads["M5"])]), c.n_days,
                         th.resolve("Saraqib"), Layer.of(th))
    np.testing.assert_array_equal(y[2], direct)
    assert 0 <= y[2, 1] <= 1 and 0 <= y[2, 2] <= c.n_days


@pytest.mark.parametrize(("text", "msg"), [
    ("base_samples: 48\n", r"field 'base_samples': value '48': must be a power of 2"),
    ("params: [speed_scal]\n", r"field 'params': value 'speed_scal'.*did you mean 'speed_scale'"),
    ("range_quantiles: [0.9, 0.1]\n", r"field 'range_quantiles'.*low < high"),
    ("replica: 3\n", r"unknown key 'replica' \(did you mean 'replicas'"),
])
def test_config_errors_name_the_field(tmp_path: Path, text: str, msg: str) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(f"scenario: {ROOT / 'scenarios/baseline.yaml'}\nseed: 1\n{text}")
    with pytest.raises(ScenarioError, match=msg):
        load(p, SensitivityConfig)


def test_default_config_loads() -> None:
    cfg, scen = load(ROOT / "analyses/sensitivity.yaml", SensitivityConfig)
    assert scen == ROOT.resolve() / "scenarios/baseline.yaml" and cfg.base_samples == 64
