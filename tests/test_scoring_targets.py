"""Scores of the new target kinds: count CRPS against brute force, the outcome arrays the
engines write, scoring against the targets, strict JSON and the score command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import analysis
from sim.analysis import Outcomes
from sim.calibration.evaluate import fit_naive, score_targets
from sim.calibration.scorecard import strict, summarise_terms
from sim.calibration.targets import build_targets
from sim.world import default_world

BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"


def _rps(samples: np.ndarray, y: int, at_least: bool) -> float:
    """Brute force: sum over integer thresholds of (F(x) - 1{x >= y})^2 (only x < y if the
    observation is "at least y")."""
    top = int(max(samples.max(), y)) + 2
    out = 0.0
    for x in range(top):
        F = float((samples <= x).mean())
        if at_least and x >= y:
            break
        out += (F - float(x >= y)) ** 2
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=60), st.integers(0, 45))
def test_count_scores_match_brute_force(samples: list[int], y: int) -> None:
    s = np.array(samples)
    assert analysis.crps_count(s, y) == pytest.approx(_rps(s, y, False), abs=1e-9)
    assert analysis.crps_count_at_least(s, y) == pytest.approx(_rps(s, y, True), abs=1e-9)
    # "at least y" only drops non-negative terms of the full score
    assert analysis.crps_count_at_least(s, y) <= analysis.crps_count(s, y) + 1e-12


def test_at_least_costs_nothing_when_reached() -> None:
    assert analysis.crps_count_at_least(np.array([16, 20, 40]), 16) == 0.0
    assert analysis.crps_count_at_least(np.zeros(10, int), 16) == 16.0


def test_window_counts_and_retakes() -> None:
    days = np.array([[0, 3, -1], [2, 2, 5]])
    w = np.array([1, 4, 2])
    assert analysis.window_counts(days, w, 0, 2).tolist() == [1, 5]
    assert analysis.window_counts(days, w, 3, 9).tolist() == [4, 2]
    first = np.array([[5, 5, -1, 5]])
    rec = np.array([[9, 9, 4, -1]])
    last = np.array([[12, 5, 7, 5]])
    gov0 = np.array([False, False, True, False])
    # retaken after the recapture; recaptured and not retaken; a town held at the start, lost
    # and retaken; never recaptured
    assert analysis.retake_days(first, rec, last, gov0).tolist() == [[12, -1, 7, -1]]


def _replay_outcomes(theatre, targets, n: int = 50) -> Outcomes:  # type: ignore[no-untyped-def]
    """Every replica reproduces each node's earliest recorded capture, recapture, retaking."""
    m = theatre.n_towns
    first = np.full((n, m), -1, np.int16)
    rec = np.full((n, m), -1, np.int16)
    last = np.full((n, m), -1, np.int16)
    for df, arr in ((targets.captures, first), (targets.recaptures, rec)):
        for node, day in df.groupby("node")["day"].min().items():
            arr[:, int(node)] = min(int(day), 77)
    last[:] = first
    for node, day in targets.retakes.groupby("node")["day"].min().items():
        last[:, int(node)] = min(int(day), 77)
    return Outcomes(first, rec, last, np.zeros(m), theatre.initial_control, theatre.area_km2, 78)


def test_a_forecast_reproducing_the_record_scores_zero_where_it_agrees() -> None:
    theatre, _ = default_world()
    targets = build_targets(theatre)
    out = _replay_outcomes(theatre, targets)
    terms = score_targets(out, targets, theatre, np.random.default_rng(0))
    cap = terms[(terms["group"] == "captures") & (terms["kind"] == "date")]
    node_first = targets.captures.groupby("node")["day"].min()
    agree = cap["day"].to_numpy() == node_first.loc[cap["node"]].to_numpy()
    assert agree.sum() > 30
    assert np.allclose(cap.loc[agree, "score"], 0.0)
    assert (cap.loc[~agree, "score"] > 0).all()  # members dated later than their node's fall
    by = terms[(terms["group"] == "captures") & (terms["kind"] == "by")]
    assert np.allclose(by["score"], 0.0)  # every "captured by" bound is met
    rec = terms[(terms["group"] == "recaptures") & (terms["role"] == "node")]
    assert np.allclose(rec["score"], 0.0)


def test_summary_is_strict_json_with_iso_dates() -> None:
    theatre, _ = default_world()
    targets = build_targets(theatre)
    out = _replay_outcomes(theatre, targets)
    naive = fit_naive(theatre, targets, 78)
    terms = score_targets(out, targets, theatre, np.random.default_rng(0), naive)
    s = strict(summarise_terms(terms))
    text = json.dumps(s, allow_nan=False)  # raises on NaN / Infinity
    back = json.loads(text)
    assert back["worst_targets"][0]["recorded"][:4] in ("2019", "2020")
    assert back["captures"]["overall"]["skill_vs_naive"] is not None
    assert set(back["dated"]["by_phase"]) == {"dec_jan", "jan_feb", "late_feb"}
    assert strict({"a": [math.inf, float("nan"), np.float32(1.5)]}) == {"a": [None, None, 1.5]}


def test_held_at_rebuilds_the_des_engine_control() -> None:
    """The engines' day arrays rebuild the control of each town at the end of every day, for
    towns that changed hands at most three times (the documented limit)."""
    from sim.engines.des import run_front_replica
    from sim.run import build_campaign
    from sim.scenario import load_scenario

    c = build_campaign(load_scenario(BASELINE))
    seen_recapture = 0
    for r in range(6):
        res = run_front_replica(c, 11, r)
        out = Outcomes(res.first_capture_day[None, :], res.first_recapture_day[None, :],
                       res.last_capture_day[None, :], np.zeros(c.n_towns),
                       c.theatre.initial_control, c.theatre.area_km2, c.n_days)
        log = res.log
        rec = log[log["event"] == "recaptured_by_opposition"]
        changes = log[log["event"].isin(["captured", "recaptured_by_opposition"])]
        simple = changes.groupby("town").size().reindex(c.theatre.names, fill_value=0) <= 3
        for town in rec["town"].unique():
            i = c.theatre.resolve(town)
            assert res.first_recapture_day[i] == int(rec.loc[rec["town"] == town, "day"].min())
        seen_recapture += len(rec)
        for d in range(c.n_days):
            held = out.held_at(d)[0]
            assert (held[simple.to_numpy()] == (res.control[d + 1] == 1)[simple.to_numpy()]).all()
    assert seen_recapture > 0  # the check above saw recaptures


@pytest.mark.slow
def test_score_command_prints_strict_json_and_plots(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from sim import cli

    assert cli.main(["run", str(BASELINE), "--replicas", "256", "--out", str(tmp_path / "r"),
                     "--quiet"]) == 0
    for f in ("recapture_days.parquet", "last_capture_days.parquet"):
        assert pd.read_parquet(tmp_path / "r" / f).shape == (256, default_world()[0].n_towns)
    capsys.readouterr()
    assert cli.main(["score", str(tmp_path / "r"), "--json", "--plots",
                     str(tmp_path / "p")]) == 0
    doc = json.loads(capsys.readouterr().out,
                     parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert doc["n_targets"]["dated"] >= 80
    for key in ("captures", "recaptures", "retakes", "counts", "end_state", "territory"):
        assert key in doc
    for f in ("capture_dates.png", "error_map.png", "bursts.png", "end_state.png"):
        assert (tmp_path / "p" / f).stat().st_size > 0
    assert cli.main(["score", str(tmp_path / "r")]) == 0
    text = capsys.readouterr().out
    assert "CRPS:" in text and "skill:" in text and "worst targets" in text


def test_score_of_an_incomplete_run_directory_is_a_clear_error(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]
                                                                ) -> None:
    from sim import cli

    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "manifest.json").write_text('{"start": "2019-12-19", "end": "2020-03-06"}')
    assert cli.main(["score", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "capture_days.parquet missing" in err and "Traceback" not in err


def test_batch_core_records_the_first_recapture_day() -> None:
    from sim.engines.batch import run_front_batch
    from sim.run import build_campaign
    from sim.scenario import load_scenario

    c = build_campaign(load_scenario(BASELINE))
    chunk = next(run_front_batch(c, 5, 512))
    rec, n_rec = chunk.first_recapture_day, chunk.n_recaptures
    first, last = chunk.first_capture_day, chunk.last_capture_day
    assert ((rec >= 0) == (n_rec > 0)).all() and (n_rec > 0).any()
    hit = rec >= 0
    assert (rec[hit] > first[hit]).all()  # retaken only after a capture (age >= 1 day)
    assert (last >= first).all()
    retake = analysis.retake_days(first, rec, last, c.theatre.initial_control == 1)
    assert ((retake < 0) | (retake >= rec)).all()
    held = (chunk.final_control == 1)
    # a town recaptured and not retaken is opposition-held at the end if it changed hands once
    once = n_rec == 1
    assert not held[once & hit & (retake < 0)].any()


def test_error_map_keeps_never_captured_out_of_the_scale() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from sim import plots

    theatre, _ = default_world()
    i, j = theatre.resolve("Saraqib"), theatre.resolve("Jobas")
    terms = pd.DataFrame({"group": ["captures", "captures"], "kind": ["date", "date"],
                          "node": [i, j], "day": [50, 42], "median_day": [53.0, np.inf]})
    ax = plots.plot_error_map(theatre, terms)
    cbar = ax.figure.axes[-1]
    assert max(abs(v) for v in cbar.get_ylim()) == pytest.approx(3.0)  # not 99
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert len(hatched) >= 1
    import matplotlib.pyplot as plt

    plt.close(ax.figure)
