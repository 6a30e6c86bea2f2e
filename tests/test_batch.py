"""The front model's batch core: invariants, determinism, chunking and common random numbers."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from sim.engines.batch import run_chunk, run_front_batch
from sim.engines.chunk import BLOCK
from sim.engines.kernel_reference import _Graph, _Segments
from sim.model import rates as fr
from sim.model.campaign import FrontCampaign, load_front_orders, make_front_campaign
from sim.model.forces import load_forces
from sim.model.modifiers import Modifier
from sim.model.params import FrontParams
from sim.scenario import load_scenario
from sim.theatre import Theatre
from sim.theatre.theatre import GOVERNMENT, OPPOSITION

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="module")
def campaign(theatre: Theatre) -> FrontCampaign:
    mods = load_scenario(BASELINE).modifier_list()
    return make_front_campaign(theatre, load_forces(theatre), modifiers=mods)


@pytest.fixture(scope="module")
def traced(campaign: FrontCampaign):  # type: ignore[no-untyped-def]
    return run_chunk(campaign, 11, 0, 200, record_control=True)


def _equal(a: object, b: object) -> None:
    for name in ("first_capture_day", "last_capture_day", "n_recaptures", "final_control",
                 "gov_area_km2", "first_recapture_day", "watch_day", "group_area_km2"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_same_seed_same_output_bit_for_bit(campaign: FrontCampaign) -> None:
    _equal(run_chunk(campaign, 5, 0, 64), run_chunk(campaign, 5, 0, 64))


def test_a_different_seed_gives_a_different_campaign(campaign: FrontCampaign) -> None:
    a, b = run_chunk(campaign, 5, 0, 64), run_chunk(campaign, 6, 0, 64)
    assert not np.array_equal(a.gov_area_km2, b.gov_area_km2)


def test_results_do_not_depend_on_chunking(campaign: FrontCampaign) -> None:
    n = 2 * BLOCK + 37
    whole = list(run_front_batch(campaign, 9, n, chunk_blocks=4))
    parts = list(run_front_batch(campaign, 9, n, chunk_blocks=1))
    assert len(whole) == 1 and len(parts) == 3
    for name in ("first_capture_day", "gov_area_km2", "n_recaptures", "final_control"):
        joined = np.concatenate([getattr(c, name) for c in parts])
        np.testing.assert_array_equal(getattr(whole[0], name), joined, err_msg=name)
    np.testing.assert_array_equal(whole[0].held_count, sum(c.held_count for c in parts))
    small = run_chunk(campaign, 9, 0, 10)
    np.testing.assert_array_equal(small.gov_area_km2, whole[0].gov_area_km2[:10])


def test_chunks_must_start_on_a_block(campaign: FrontCampaign) -> None:
    with pytest.raises(ValueError, match="multiple of BLOCK"):
        run_chunk(campaign, 1, 7, 10)


def test_control_changes_only_along_edges_or_by_the_pocket_rule(
        campaign: FrontCampaign, traced) -> None:  # type: ignore[no-untyped-def]
    th = campaign.theatre
    hist = traced.control_by_day
    rear = set(np.flatnonzero(campaign.rear))
    changes = 0
    for r in range(hist.shape[0]):
        for d in range(hist.shape[1] - 1):
            before, after = hist[r, d], hist[r, d + 1]
            moved = np.flatnonzero(before != after)
            if not len(moved):
                continue
            opp = [int(t) for t in np.flatnonzero(before == OPPOSITION)]
            sub = th.graph.subgraph(opp)
            linked = set().union(*(cc for cc in nx.connected_components(sub) if cc & rear))
            for t in moved:
                changes += 1
                nb = list(th.graph.neighbors(int(t)))
                if after[t] == GOVERNMENT:
                    assert (before[nb] == GOVERNMENT).any() or int(t) not in linked, (r, d, t)
                else:
                    assert (before[nb] == OPPOSITION).any(), (r, d, t)
    assert changes > 0


def test_records_agree_with_the_daily_control(traced) -> None:  # type: ignore[no-untyped-def]
    hist = traced.control_by_day
    np.testing.assert_array_equal(traced.held_count, (hist == GOVERNMENT).sum(axis=0))
    np.testing.assert_array_equal(traced.final_control, hist[:, -1])
    took = (hist[:, 1:] == GOVERNMENT) & (hist[:, :-1] == OPPOSITION)
    first = np.where(took.any(axis=1), took.argmax(axis=1), -1)
    np.testing.assert_array_equal(traced.first_capture_day, first)
    lost = (hist[:, 1:] == OPPOSITION) & (hist[:, :-1] == GOVERNMENT)
    np.testing.assert_array_equal(traced.n_recaptures, lost.sum(axis=1))
    np.testing.assert_array_equal(traced.first_recapture_day,
                                  np.where(lost.any(axis=1), lost.argmax(axis=1), -1))


def test_area_stays_within_the_theatre_and_counts_partial_progress(
        campaign: FrontCampaign, traced) -> None:  # type: ignore[no-untyped-def]
    area = campaign.theatre.area_km2
    gov = traced.gov_area_km2
    assert (gov >= -1e-3).all() and (gov <= area.sum() + 1e-2).all()
    whole = (traced.control_by_day == GOVERNMENT) @ area
    np.testing.assert_allclose(gov[:, 0], whole[:, 0], rtol=1e-6)
    partial = np.abs(gov - whole) > 1.0
    assert partial.mean() > 0.1  # on many days some cell is partly taken


def test_a_ceasefire_over_the_whole_run_freezes_the_front(theatre: Theatre) -> None:
    truce = Modifier(name="truce", kind="ceasefire", start=dt.date(2019, 12, 19))
    fo = load_forces(theatre)
    orders = dataclasses.replace(load_front_orders(theatre, fo), breaches=())
    c = make_front_campaign(theatre, fo, modifiers=[truce], orders=orders)
    out = run_chunk(c, 3, 0, 32)
    np.testing.assert_array_equal(out.gov_area_km2,
                                  np.broadcast_to(out.gov_area_km2[:, :1], out.gov_area_km2.shape))
    assert (out.first_capture_day < 0).all()


def test_a_lever_switched_off_shares_every_draw_before_it_acts(theatre: Theatre) -> None:
    mods = load_scenario(BASELINE).modifier_list()
    off = [m.model_copy(update={"enabled": False}) if m.kind == "spring_shield" else m
           for m in mods]
    fo = load_forces(theatre)
    a = run_chunk(make_front_campaign(theatre, fo, modifiers=mods), 21, 0, 128)
    b = run_chunk(make_front_campaign(theatre, fo, modifiers=off), 21, 0, 128)
    day = (next(m.start for m in mods if m.kind == "spring_shield") - dt.date(2019, 12, 19)).days
    np.testing.assert_array_equal(a.gov_area_km2[:, :day + 1], b.gov_area_km2[:, :day + 1])
    assert not np.array_equal(a.gov_area_km2, b.gov_area_km2)  # the lever does act


def test_segmented_softmax_equals_the_shared_rate_function() -> None:
    rng = np.random.default_rng(2)
    dist = rng.uniform(0, 40, (6, 9))
    dist[rng.random((6, 9)) < 0.2] = np.inf
    front = rng.random((6, 9)) < 0.6
    front[4] = False
    r, t = np.nonzero(front | (rng.random((6, 9)) < 0.3))
    seg = _Segments(r)
    got = seg.softmax(np.where(front[r, t], dist[r, t], np.inf), 7.0)
    want = fr.effort_weights(dist, front, 7.0)[r, t]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("n", [1, 7, 8, 13, 70])
def test_packed_neighbour_tests_agree_with_networkx(campaign: FrontCampaign, n: int) -> None:
    g = _Graph(campaign)
    graph = campaign.theatre.graph
    rng = np.random.default_rng(n)
    mask = rng.random((n, campaign.n_towns)) < 0.6
    seeds = np.zeros(campaign.n_towns, bool)
    seeds[rng.choice(campaign.n_towns, 3, replace=False)] = True
    np.testing.assert_array_equal(g.unpack(g.pack(mask), n), mask)
    near = g.any_neighbour(mask)
    reach = g.reach(mask, seeds[None, :])
    for r in range(n):
        for t in range(campaign.n_towns):
            assert near[r, t] == any(mask[r, u] for u in graph.neighbors(t))
        sub = graph.subgraph([int(t) for t in np.flatnonzero(mask[r])])
        linked = set().union(*(cc for cc in nx.connected_components(sub)
                               if any(seeds[u] for u in cc)))
        np.testing.assert_array_equal(reach[r], [t in linked for t in range(campaign.n_towns)])


def test_first_day_gain_matches_the_formulas_computed_by_hand(theatre: Theatre) -> None:
    """With every source of noise off, the area gained on day 0 equals the sum over frontier
    towns of area * min(v, depth) / depth, with v from the written formulas (docs/MODEL.md)."""
    p = FrontParams(speed_noise_sigma=0.0, effort_sigma=0.0, start_delay_max_days=0.0,
                    effort_length_km=6.0, speed_scale=0.7, air_effect=0.4)
    p = p.override(sector_strength_spread=0.0)
    fo = load_forces(theatre)
    mods = load_scenario(BASELINE).modifier_list()
    c = make_front_campaign(theatre, fo, p, mods)
    out = run_chunk(c, 1, 0, 3)
    # no noise left before the first strike order (24 Dec, whose strength is still drawn)
    np.testing.assert_array_equal(out.gov_area_km2[0, :6], out.gov_area_km2[2, :6])
    gov = theatre.initial_control == GOVERNMENT
    front = ~gov & np.array([any(gov[j] for j in theatre.graph.neighbors(t))
                             for t in range(theatre.n_towns)])
    dist = theatre.distance_km
    effort = np.zeros(theatre.n_towns)
    for k, orders in enumerate(fo.orders):
        first = [o for o in orders if o.start_day <= 0]
        if not first:
            continue
        obj = next(t for t in first[-1].objectives if not gov[t])
        w = np.where(front, np.exp(-dist[:, obj] / p.effort_length_km), 0.0)
        effort += fo.nominal_k[k] * w / w.sum()
    attack = effort * (1 + p.air_effect * c.sorties[0] * c.air_factor[0])
    sec = fo.town_sector
    defence = fo.sector_nominal_k[sec] / fo.sector_towns0[sec]
    ratio = attack / defence
    qjm = np.interp(ratio, [0.5, 1.0, 2.26, 3.01], [0.0, 4.0, 10.0, 12.0])
    posture = np.array([p.posture_factor[("hasty", "prepared", "fortified")[i]]
                        for i in theatre.posture])
    terrain = np.array([p.terrain_factor[x] for x in theatre.towns["terrain"]])
    v = np.where(front, p.speed_scale * qjm * posture * terrain * c.ground_factor[0], 0.0)
    depth = np.sqrt(theatre.area_km2)
    gain = (theatre.area_km2 * np.minimum(v, depth) / depth).sum()
    assert gain > 0
    np.testing.assert_allclose(out.gov_area_km2[0, 1] - out.gov_area_km2[0, 0], gain, rtol=1e-5)
