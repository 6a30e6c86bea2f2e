"""The front model's SimPy engine: determinism, replica streams, records, log and pauses."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from sim.engines.des import LOG_COLUMNS, FrontDesEngine, run_front_des, run_front_replica
from sim.engines.state import FrontReplicaResult
from sim.model import rates as fr
from sim.model.campaign import FrontCampaign, load_front_orders, make_front_campaign
from sim.model.forces import load_forces
from sim.model.modifiers import Modifier
from sim.model.params import FrontParams
from sim.scenario import load_scenario
from sim.theatre import Theatre
from sim.theatre.theatre import GOVERNMENT, OPPOSITION

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
N = 16


@pytest.fixture(scope="module")
def campaign(theatre: Theatre) -> FrontCampaign:
    mods = load_scenario(BASELINE).modifier_list()
    return make_front_campaign(theatre, load_forces(theatre), modifiers=mods)


@pytest.fixture(scope="module")
def runs(campaign: FrontCampaign) -> list[FrontReplicaResult]:
    return [run_front_replica(campaign, 7, r) for r in range(N)]


def test_same_seed_same_output_bit_for_bit(campaign: FrontCampaign,
                                           runs: list[FrontReplicaResult]) -> None:
    again = run_front_replica(campaign, 7, 3)
    for name in ("control", "first_capture_day", "last_capture_day", "first_recapture_day",
                 "n_recaptures", "gov_area_km2", "gov_share"):
        np.testing.assert_array_equal(getattr(again, name), getattr(runs[3], name), err_msg=name)
    assert again.log.equals(runs[3].log)


def test_replicas_and_seeds_give_different_campaigns(campaign: FrontCampaign,
                                                     runs: list[FrontReplicaResult]) -> None:
    assert not np.array_equal(runs[0].gov_area_km2, runs[1].gov_area_km2)
    other = run_front_replica(campaign, 8, 0)
    assert not np.array_equal(other.gov_area_km2, runs[0].gov_area_km2)


def test_chunk_form_holds_the_same_replicas(campaign: FrontCampaign,
                                            runs: list[FrontReplicaResult]) -> None:
    """Replica ``r`` is the same whether run alone or as row ``r - start`` of a chunk."""
    chunk = run_front_des(campaign, 7, 3, start=2, watch=[[0, 1]],
                          area_groups=[np.ones(campaign.n_towns, bool)], record_control=True)
    for i, r in enumerate(range(2, 5)):
        np.testing.assert_array_equal(chunk.first_capture_day[i], runs[r].first_capture_day)
        np.testing.assert_array_equal(chunk.first_recapture_day[i], runs[r].first_recapture_day)
        np.testing.assert_array_equal(chunk.final_control[i], runs[r].final_control)
        np.testing.assert_allclose(chunk.gov_area_km2[i], runs[r].gov_area_km2, rtol=1e-6)
        np.testing.assert_allclose(chunk.group_area_km2[i, 0], runs[r].gov_area_km2, rtol=1e-6)
    assert chunk.control_by_day is not None
    np.testing.assert_array_equal(chunk.held_count,
                                  (chunk.control_by_day == GOVERNMENT).sum(axis=0))


def test_a_negative_replica_range_is_refused(campaign: FrontCampaign) -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        run_front_des(campaign, 7, -1)


def test_records_agree_with_the_daily_control(runs: list[FrontReplicaResult]) -> None:
    for r in runs:
        hist = r.control
        took = (hist[1:] == GOVERNMENT) & (hist[:-1] == OPPOSITION)
        lost = (hist[1:] == OPPOSITION) & (hist[:-1] == GOVERNMENT)
        np.testing.assert_array_equal(r.first_capture_day,
                                      np.where(took.any(0), took.argmax(0), -1))
        last = took.shape[0] - 1 - took[::-1].argmax(0)
        np.testing.assert_array_equal(r.last_capture_day, np.where(took.any(0), last, -1))
        np.testing.assert_array_equal(r.n_recaptures, lost.sum(0))
        np.testing.assert_array_equal(r.first_recapture_day,
                                      np.where(lost.any(0), lost.argmax(0), -1))
    assert sum((r.first_capture_day >= 0).sum() for r in runs) > 0
    assert sum(r.n_recaptures.sum() for r in runs) > 0  # the strike groups do retake towns


def test_the_log_tells_the_same_story(campaign: FrontCampaign,
                                      runs: list[FrontReplicaResult]) -> None:
    names = np.array(campaign.theatre.names)
    for r in runs:
        assert tuple(r.log.columns) == LOG_COLUMNS
        cap = r.log[r.log.event == "captured"]
        rec = r.log[r.log.event == "recaptured_by_opposition"]
        took = ((r.control[1:] == GOVERNMENT) & (r.control[:-1] == OPPOSITION)).sum(0)
        counts = cap.town.value_counts()
        for t in np.flatnonzero(took):
            assert counts.get(names[t], 0) == took[t]
        assert len(cap) == took.sum() and len(rec) == r.n_recaptures.sum()
        # a town changes hands at its crossing time, inside the day it is recorded on
        for ev in (cap, rec):
            assert ((ev.time >= ev.day) & (ev.time <= ev.day + 1)).all()
        assert r.log.time.is_monotonic_increasing


def test_area_counts_partial_progress(campaign: FrontCampaign,
                                      runs: list[FrontReplicaResult]) -> None:
    area = campaign.theatre.area_km2
    for r in runs:
        whole = (r.control == GOVERNMENT) @ area
        assert r.gov_area_km2[0] == pytest.approx(whole[0])
        assert (r.gov_area_km2 >= 0).all() and (r.gov_area_km2 <= area.sum() + 1e-6).all()
        np.testing.assert_allclose(r.gov_area_km2, r.gov_share @ area)
    assert np.mean([np.abs(r.gov_area_km2 - (r.control == GOVERNMENT) @ area) > 1.0
                    for r in runs]) > 0.1


def test_the_january_ceasefire_pauses_every_unit(campaign: FrontCampaign,
                                                 runs: list[FrontReplicaResult]) -> None:
    d0 = int(np.argmax(campaign.pause))
    d1 = d0 + int(np.argmin(campaign.pause[d0:]))
    breach: NDArray[np.bool_] = np.asarray(campaign.breach.any(axis=0))
    quiet = [d for d in range(d0, d1) if not breach[d]]
    assert quiet and breach[d0:d1].any()
    breachers = {campaign.forces.formations[k] for k in np.flatnonzero(campaign.breach.any(1))}
    for r in runs:
        paused = r.log[(r.log.event == "paused")]
        assert (paused.day == d0).all()
        alive = campaign.forces.n_formations + int((campaign.strike_window[:, 1] > d0).sum())
        assert len(paused) == alive  # every unit whose orders are not over
        assert set(r.log[r.log.event == "breach"].formation) <= breachers
        for d in quiet:  # no attack, no mop-up: nothing moves
            assert r.gov_area_km2[d + 1] == r.gov_area_km2[d]


def test_under_a_truce_only_the_breach_orders_attack(theatre: Theatre) -> None:
    """A ceasefire over the whole run interrupts every unit on day 0; the dated breaches
    (15-16 Jan) are the only days on which anything moves, and only by the breach formations."""
    truce = Modifier(name="truce", kind="ceasefire", start=dt.date(2019, 12, 19))
    c = make_front_campaign(theatre, load_forces(theatre), modifiers=[truce])
    breach: NDArray[np.bool_] = np.asarray(c.breach.any(axis=0))
    breachers = {c.forces.formations[k] for k in np.flatnonzero(c.breach.any(1))}
    moved = []
    for r in range(4):
        res = run_front_replica(c, 5, r)
        assert (res.log[res.log.event == "paused"].day == 0).all()
        assert set(res.log[res.log.event == "breach"].formation) == breachers
        step = np.diff(res.gov_area_km2)
        assert (step[~breach] == 0).all()
        moved.append(step[breach].max())
    assert max(moved) > 0


def test_without_the_breach_orders_the_pause_holds_throughout(theatre: Theatre) -> None:
    """The same run without breaches: the pause pre-empts every attack for its whole window."""
    mods = load_scenario(BASELINE).modifier_list()
    fo = load_forces(theatre)
    orders = dataclasses.replace(load_front_orders(theatre, fo), breaches=())
    c = make_front_campaign(theatre, fo, modifiers=mods, orders=orders)
    d0 = int(np.argmax(c.pause))
    d1 = d0 + int(np.argmin(c.pause[d0:]))
    for r in range(4):
        res = run_front_replica(c, 7, r)
        np.testing.assert_array_equal(res.gov_area_km2[d0:d1 + 1],
                                      np.full(d1 - d0 + 1, res.gov_area_km2[d0]))
        assert not (res.log.event == "breach").any()


def test_a_ceasefire_over_the_whole_run_freezes_the_front(theatre: Theatre) -> None:
    truce = Modifier(name="truce", kind="ceasefire", start=dt.date(2019, 12, 19))
    fo = load_forces(theatre)
    orders = dataclasses.replace(load_front_orders(theatre, fo), breaches=())
    c = make_front_campaign(theatre, fo, modifiers=[truce], orders=orders)
    res = run_front_replica(c, 3, 0)
    assert (res.gov_area_km2 == res.gov_area_km2[0]).all()
    assert (res.first_capture_day < 0).all() and (res.n_recaptures == 0).all()


def test_recaptures_happen_only_while_a_strike_order_is_in_force(
        campaign: FrontCampaign, runs: list[FrontReplicaResult]) -> None:
    windows = [range(int(a), int(b)) for a, b in campaign.strike_window]
    for r in runs:
        for d in r.log[r.log.event == "recaptured_by_opposition"].day:
            assert any(d in w for w in windows), d


def _design_speed(c: FrontCampaign, t: int, posture: str) -> float:
    """Government speed on town ``t`` by docs/MODEL.md step 7: effort 5 on day 0, sector at its
    nominal strength and full cohesion, no speed noise, defender ``posture``."""
    sec = c.sector_of[t]
    attack = fr.attack_power(5.0, c.sorties[0], c.air_factor[0], c.fp_denial[0] * c.in_fp[0, t],
                             c.params)
    defence = fr.sector_defence(c.forces.sector_nominal_k[sec], 1.0, c.towns0[sec],
                                c.fp_defence[0] if c.in_fp[0, t] else 1.0)
    v = fr.advance_speed(fr.force_ratio(attack, defence), c.params.posture_factor[posture],
                         c.terrain_mult[t], c.ground_factor[0], 1.0, c.params.speed_scale,
                         c.params)
    return float(v)


@pytest.fixture(scope="module")
def quiet(theatre: Theatre) -> tuple[FrontCampaign, int]:
    """A campaign without speed noise and a *prepared* opposition town on the 18 Dec front."""
    c = make_front_campaign(theatre, load_forces(theatre), FrontParams(speed_noise_sigma=0.0))
    gov0 = theatre.initial_control == GOVERNMENT
    front = [t for t in np.flatnonzero(~gov0) if gov0[list(theatre.graph.neighbors(t))].any()]
    prepared = [t for t in front if c.posture_mult[t] == c.params.posture_factor["prepared"]]
    return c, int(prepared[0])


@pytest.mark.parametrize(("retaken", "posture"), [(False, "prepared"), (True, "hasty")])
def test_posture_of_a_front_town_in_the_simpy_engine(quiet: tuple[FrontCampaign, int],
                                                     retaken: bool, posture: str) -> None:
    """docs/MODEL.md, "Posture": an 18 Dec front town defends *prepared*, and *hasty* once the
    opposition has retaken it from the government."""
    c, t = quiet
    eng = FrontDesEngine(c, 1, 0)
    s = eng.s
    s.sector = c.forces.sector_nominal_k.astype(float).copy()
    s.first[t] = 0 if retaken else -1
    s.control0 = s.control.copy()
    eng._frontiers()
    assert s.frontier[t]
    s.e_gov[:] = 0.0
    s.e_gov[t] = 5.0
    eng._advance(0)
    want = _design_speed(c, t, posture)
    assert 0 < want < c.depth_km[t]
    assert s.progress[t] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(("retaken", "posture"), [(False, "prepared"), (True, "hasty")])
def test_posture_of_a_front_town_in_the_batch_core(quiet: tuple[FrontCampaign, int],
                                                   retaken: bool, posture: str) -> None:
    """The same rule in the batch core's rate step (the two engines must agree on it)."""
    from sim.engines.kernel_reference import _gov_speed

    c, t = quiet
    got = _gov_speed(c, 0, np.array([0]), np.array([t]), np.array([5.0]),
                     c.forces.sector_nominal_k.astype(float)[None, :],
                     np.ones((1, len(c.forces.sectors))),
                     np.full((1, c.n_towns), 0 if retaken else -1, np.int16),
                     np.zeros(1))
    assert got[0] == pytest.approx(_design_speed(c, t, posture), rel=1e-12)
