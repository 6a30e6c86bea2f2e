"""Invariants of the front model's SimPy engine, as Hypothesis properties over random small
theatres and seeds (synthetic seeds: :mod:`tests.synthetic`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engines.des import run_front_replica
from sim.model.campaign import FrontCampaign, load_front_orders, make_front_campaign
from sim.model.modifiers import Modifier
from sim.model.params import FrontParams
from sim.theatre import GOVERNMENT, OPPOSITION, day_index
from tests.synthetic import standard_modifiers, synthetic_world

END = dt.date(2020, 1, 20)
SETTINGS = settings(max_examples=20, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _campaign(tmp: Path, world_seed: int, n_towns: int, n_formations: int,
              mods: list[Modifier] | None = None) -> FrontCampaign:
    root = tmp / f"w{world_seed}_{n_towns}_{n_formations}"
    th, forces = synthetic_world(root, world_seed, n_towns=n_towns, n_formations=n_formations)
    return make_front_campaign(th, forces, FrontParams(rear_sector="s1"),  # type: ignore[arg-type]
                               mods if mods is not None else standard_modifiers(), end=END,
                               orders=load_front_orders(th, forces, root))  # type: ignore[arg-type]


worlds = st.tuples(st.integers(0, 10_000), st.integers(8, 22), st.integers(1, 3),
                   st.integers(0, 2**32 - 1))


@SETTINGS
@given(worlds)
def test_control_changes_only_at_the_front(tmp_path: Path, w: tuple[int, int, int, int]) -> None:
    """The government takes an opposition town that touched its ground at 00:00 that day or was
    cut off; the opposition retakes a government town that touched its ground at 00:00; replaying
    the log gives the final control."""
    c = _campaign(tmp_path, *w[:3])
    res = run_front_replica(c, w[3], 0)
    g = c.theatre.graph
    control = c.theatre.initial_control.copy()
    cut: set[int] = set()
    for row in res.log.itertuples():
        if row.event == "cut_off":
            cut.add(c.theatre.resolve(row.town))
        if row.event not in ("captured", "recaptured_by_opposition"):
            continue
        t = c.theatre.resolve(row.town)
        at_midnight = res.control[row.day]  # row d = end of day d-1 = 00:00 of day d
        nbrs = list(g.neighbors(t))
        if row.event == "captured":
            assert control[t] == OPPOSITION, row
            assert t in cut or any(at_midnight[n] == GOVERNMENT for n in nbrs), row
            control[t] = GOVERNMENT
        else:
            assert control[t] == GOVERNMENT, row
            assert any(at_midnight[n] == OPPOSITION for n in nbrs), row
            control[t] = OPPOSITION
    np.testing.assert_array_equal(control, res.control[-1])


@SETTINGS
@given(worlds)
def test_nothing_changes_hands_inside_a_ceasefire_without_breaches(
        tmp_path: Path, w: tuple[int, int, int, int]) -> None:
    c = _campaign(tmp_path, *w[:3])
    assert c.orders.breaches == ()
    res = run_front_replica(c, w[3], 0)
    a, b = day_index(dt.date(2019, 12, 29)), day_index(dt.date(2020, 1, 3))
    inside = res.log[(res.log["time"] >= a) & (res.log["time"] < b)]
    done = inside["event"].isin(["captured", "recaptured_by_opposition"])
    assert not done.any(), inside[done]
    np.testing.assert_array_equal(res.control[a + 1], res.control[b])


@SETTINGS
@given(worlds)
def test_areas_and_shares_stay_in_range(tmp_path: Path, w: tuple[int, int, int, int]) -> None:
    c = _campaign(tmp_path, *w[:3])
    res = run_front_replica(c, w[3], 0)
    total = c.theatre.area_km2.sum()
    assert np.isfinite(res.gov_area_km2).all()
    assert (res.gov_area_km2 >= -1e-9).all() and (res.gov_area_km2 <= total + 1e-6).all()
    assert (res.gov_share >= 0).all() and (res.gov_share <= 1).all()
    # the area is the held share of each town's area (partial progress counted)
    np.testing.assert_allclose(res.gov_area_km2, res.gov_share @ c.theatre.area_km2, rtol=1e-9)


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(worlds)
def test_same_seed_gives_identical_event_log(tmp_path: Path,
                                             w: tuple[int, int, int, int]) -> None:
    c = _campaign(tmp_path, *w[:3])
    a, b = run_front_replica(c, w[3], 1), run_front_replica(c, w[3], 1)
    pd.testing.assert_frame_equal(a.log, b.log)
    np.testing.assert_array_equal(a.control, b.control)
    np.testing.assert_array_equal(a.gov_area_km2, b.gov_area_km2)


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(worlds)
def test_switched_off_modifier_leaves_no_trace(tmp_path: Path,
                                               w: tuple[int, int, int, int]) -> None:
    """A disabled modifier gives the same run, draw for draw, as no modifier at all."""
    base = standard_modifiers()
    extra = Modifier(name="late_strikes", kind="turkish_retaliation",
                     start=dt.date(2020, 1, 5), end=dt.date(2020, 1, 9), enabled=False,
                     params={"attrition_frac": 0.5})
    off = run_front_replica(_campaign(tmp_path, *w[:3], mods=[*base, extra]), w[3], 0)
    none = run_front_replica(_campaign(tmp_path, *w[:3], mods=base), w[3], 0)
    assert "late_strikes" not in set(off.log["modifier"])
    pd.testing.assert_frame_equal(off.log, none.log)
    on = run_front_replica(_campaign(tmp_path, *w[:3],
                                     mods=[*base, extra.model_copy(update={"enabled": True})]),
                           w[3], 0)
    assert "late_strikes" in set(on.log["modifier"])


def test_dated_orders_become_orders_of_their_group(tmp_path: Path) -> None:
    """Orders dated 2019-12-19 and 2020-01-05 (days 0 and 17) are each formation's orders."""
    c = _campaign(tmp_path, 3, 12, 2)
    d = day_index(dt.date(2020, 1, 5))
    for k in range(c.forces.n_formations):
        assert sorted(c.order_day[c.order_k == k].tolist()) == [0, d]


@pytest.mark.parametrize("seed", [0, 1])
def test_baseline_replica_runs_end_to_end(seed: int) -> None:
    from sim.run import build_campaign
    from sim.scenario import load_scenario

    c = build_campaign(load_scenario(Path(__file__).parents[1] / "scenarios/baseline.yaml"))
    res = run_front_replica(c, seed, 0)
    assert res.control.shape == (c.n_days + 1, c.n_towns)
    captured = res.log[res.log["event"] == "captured"]
    assert len(captured) >= 10  # a campaign happens
    assert (res.first_capture_day[res.first_capture_day >= 0] < c.n_days).all()
