"""ABC model choice: recovery of known posterior model probabilities on a toy problem, a Bayes
factor of 1 for identical models, the prior reweighting, the models themselves, the summary."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.analyses_config import SelectionConfig, load
from sim.calibration import space
from sim.errors import ScenarioError
from sim.selection import (
    analyse,
    beta_shape,
    model_dims,
    model_factory,
    model_probabilities,
    plain_summary,
    prior_weights,
)

ROOT = Path(__file__).parents[1]


@pytest.mark.statistical
def test_rejection_recovers_known_model_probabilities() -> None:
    """Model A: x ~ N(0, 1); model B: x ~ N(0, 2^2); observed x = 1. The exact posterior
    probability of A is phi(1) / (phi(1) + phi(1 / 2) / 2); with ~800 accepted points its
    estimate has a binomial sd of ~0.018 (the tolerance's bias is O(eps^2) ~ 0.002)."""
    rng = np.random.default_rng(2024)
    n = 20_000
    x = np.concatenate([rng.normal(0, 1, n), rng.normal(0, 2, n)])
    labels = np.repeat([0, 1], n).astype(np.intp)
    p, k, eps = model_probabilities(np.abs(x - 1.0), labels, 2, accept=0.02)
    truth = stats.norm.pdf(1, 0, 1) / (stats.norm.pdf(1, 0, 1) + stats.norm.pdf(1, 0, 2))
    sd = math.sqrt(truth * (1 - truth) / k.sum())
    assert abs(p[0] - truth) < 4 * sd and eps < 0.1


@pytest.mark.statistical
def test_identical_models_have_a_bayes_factor_of_one() -> None:
    rng = np.random.default_rng(7)
    n = 2000
    d = rng.gamma(2.0, 1.0, 2 * n)  # the same distance distribution for both models
    ref = pd.DataFrame({"model": ["full"] * n + ["copy"] * n, "distance": d,
                        "u:a": rng.random(2 * n)})
    t = analyse(ref, ["full", "copy"], 0.1, {"flat": 1.0}, 400, 1).set_index("model")
    k = t["accepted"].sum()
    # accepted counts are hypergeometric-like around k/2: p within 4 binomial sd of 1/2
    assert abs(t.loc["copy", "p"] - 0.5) < 4 * math.sqrt(0.25 / k)
    assert t.loc["copy", "bf_lo"] <= 1.0 <= t.loc["copy", "bf_hi"]


@pytest.mark.statistical
def test_prior_weights_are_a_density_of_the_stated_width() -> None:
    for width in (0.6, 1.25):
        a = beta_shape(width)
        assert math.sqrt(stats.beta(a, a).var()) == pytest.approx(width / math.sqrt(12))
        u = np.random.default_rng(3).random((40_000, 3))
        w = prior_weights(u, width)
        # importance weights of a density against the uniform average 1 (MC sd from the sample)
        assert abs(w.mean() - 1) < 4 * w.std() / math.sqrt(len(w))
    u = np.array([[0.5, np.nan], [0.2, np.nan]])
    np.testing.assert_allclose(prior_weights(u, 0.75),
                               stats.beta(beta_shape(0.75), beta_shape(0.75)).pdf(u[:, 0]))


def test_models_switch_off_their_mechanism() -> None:
    from sim.calibration.model import CampaignFactory, simulate
    from sim.scenario import load_scenario

    base = CampaignFactory(load_scenario(ROOT / "scenarios/baseline.yaml"))
    assert len(model_dims(model_factory(base, "full"))) == len(space.SPACE)
    nt = model_factory(base, "no_turkey")
    assert not {m.kind for m in nt.modifiers} & {"spring_shield", "turkish_artillery",
                                                 "turkish_retaliation"}
    assert all(not space.SPACE[i].is_modifier for i in model_dims(nt))
    assert not [m for m in model_factory(base, "no_russian_air").modifiers
                if m.kind == "russian_air"]
    assert any(m.kind == "russian_air" for m in base.modifiers)  # the base is left alone
    nc = model_factory(base, "no_counteroffensive")
    assert simulate(nc, {}, 16, 5).n_recaptures.sum() == 0
    assert simulate(base, {}, 16, 5).n_recaptures.sum() > 0


def test_summary_says_what_the_numbers_say() -> None:
    rows = []
    for prior in ("as calibrated", "widened"):
        for m, p, lo, hi in (("full", 0.5, 0.4, 0.6), ("no_turkey", 0.05, 0.02, 0.2),
                             ("no_russian_air", 0.45, 0.5, 1.6)):
            rows.append({"prior": prior, "model": m, "p": p, "p_lo": 0, "p_hi": 1,
                         "bf_vs_full": p / 0.5, "bf_lo": lo if m != "full" else 1,
                         "bf_hi": hi if m != "full" else 1, "accepted": 5, "ess": 5.0,
                         "eps_days": 7.0})
    text = plain_summary(pd.DataFrame(rows), ["full", "no_turkey", "no_russian_air"])
    assert "Turkish intervention" in text and "needs this mechanism" in text
    assert "Russian air campaign: the record cannot tell" in text
    assert "same under every prior setting" in text


def test_config_errors_name_the_field(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(f"scenario: {ROOT / 'scenarios/baseline.yaml'}\nseed: 1\n"
                 "prior_widths: {wide: 2.5}\n")
    with pytest.raises(ScenarioError, match=r"field 'prior_widths'.*at most sqrt\(3\)"):
        load(p, SelectionConfig)
    cfg, _ = load(ROOT / "analyses/select.yaml", SelectionConfig)
    assert cfg.models[0] == "full" and cfg.per_model == 150


@pytest.mark.parametrize("command", ["select", "sensitivity"])
def test_cli_refuses_a_bad_config_in_one_line(tmp_path: Path, command: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from sim.cli import main

    p = tmp_path / "bad.yaml"
    p.write_text(f"scenario: {ROOT / 'scenarios/baseline.yaml'}\nseed: 0\n")
    assert main([command, str(p), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "field 'seed'" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "out").exists()  # nothing half-written
