"""The batch core: reproducibility, chunking, prefixes and common random numbers."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from sim.engines.batch import BLOCK, run_batch, run_chunk
from sim.model.campaign import make_campaign
from sim.model.modifiers import Modifier
from sim.run import build_campaign
from sim.scenario import load_scenario

BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="module")
def campaign():  # type: ignore[no-untyped-def]
    return build_campaign(load_scenario(BASELINE))


def _arrays(chunks):  # type: ignore[no-untyped-def]
    chunks = list(chunks)
    return {f: np.concatenate([getattr(c, f) for c in chunks])
            for f in ("first_capture_day", "last_capture_day", "n_recaptures", "final_control",
                      "gov_area_km2")}


def test_same_seed_same_output_bit_for_bit(campaign) -> None:  # type: ignore[no-untyped-def]
    a, b = run_chunk(campaign, 5, 0, 300), run_chunk(campaign, 5, 0, 300)
    for f in dataclasses.fields(a):
        np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name))
    c = run_chunk(campaign, 6, 0, 300)
    assert not np.array_equal(a.first_capture_day, c.first_capture_day)


def test_results_do_not_depend_on_chunking(campaign) -> None:  # type: ignore[no-untyped-def]
    n = 2 * BLOCK + 77
    one = _arrays(run_batch(campaign, 11, n, chunk_blocks=1))
    many = _arrays(run_batch(campaign, 11, n, chunk_blocks=8))
    for f in one:
        np.testing.assert_array_equal(one[f], many[f])


def test_first_replicas_of_a_larger_run_are_the_smaller_run(campaign) -> None:  # type: ignore[no-untyped-def]
    small = run_chunk(campaign, 3, 0, 100)
    large = run_chunk(campaign, 3, 0, 700)
    np.testing.assert_array_equal(small.first_capture_day, large.first_capture_day[:100])
    np.testing.assert_array_equal(small.gov_area_km2, large.gov_area_km2[:100])


def test_chunks_must_start_on_a_block(campaign) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="multiple of BLOCK"):
        run_chunk(campaign, 0, 10, 5)


def test_a_lever_that_never_fires_changes_nothing(campaign) -> None:  # type: ignore[no-untyped-def]
    """Common random numbers: adding a modifier dated after the end, or a disabled one, leaves
    every replica identical."""
    late = Modifier(name="late", kind="spring_shield", start=dt.date(2020, 6, 1))
    off = Modifier(name="off", kind="turkish_retaliation", start=dt.date(2020, 1, 1),
                   enabled=False, params={"attrition_frac": 0.9})
    other = make_campaign(campaign.theatre, campaign.forces, campaign.params,
                          [*campaign.modifiers, late, off], campaign.start, campaign.end)
    a, b = run_chunk(campaign, 9, 0, 400), run_chunk(other, 9, 0, 400)
    np.testing.assert_array_equal(a.first_capture_day, b.first_capture_day)
    np.testing.assert_array_equal(a.gov_area_km2, b.gov_area_km2)


def test_a_lever_only_moves_replicas_it_touches(campaign) -> None:  # type: ignore[no-untyped-def]
    """Switching Spring Shield (27 Feb) off cannot change anything before 27 Feb."""
    mods = [m.model_copy(update={"enabled": False}) if m.kind == "spring_shield" else m
            for m in campaign.modifiers]
    other = make_campaign(campaign.theatre, campaign.forces, campaign.params, mods,
                          campaign.start, campaign.end)
    a, b = run_chunk(campaign, 4, 0, 400), run_chunk(other, 4, 0, 400)
    cut = (dt.date(2020, 2, 27) - campaign.start).days
    np.testing.assert_array_equal(a.gov_area_km2[:, : cut + 1], b.gov_area_km2[:, : cut + 1])
    early = (a.first_capture_day >= 0) & (a.first_capture_day < cut)
    np.testing.assert_array_equal(a.first_capture_day[early], b.first_capture_day[early])
    assert not np.array_equal(a.gov_area_km2, b.gov_area_km2)  # and it does matter after


def test_outputs_are_consistent(campaign) -> None:  # type: ignore[no-untyped-def]
    ch = run_chunk(campaign, 2, 0, 300)
    cap = ch.first_capture_day >= 0
    assert (ch.last_capture_day[cap] >= ch.first_capture_day[cap]).all()
    assert (ch.first_capture_day < campaign.n_days).all()
    # towns held by the government at the start are never "captured"
    gov0 = campaign.theatre.initial_control == 1
    assert (ch.first_capture_day[:, gov0] == -1).all()
    # the last column of the daily count is the final control
    np.testing.assert_array_equal(ch.held_count[-1], (ch.final_control == 1).sum(axis=0))
    assert (ch.gov_area_km2 <= campaign.theatre.theatre_area_km2 + 1e-3).all()
    # a recaptured town was captured first
    assert (cap | (ch.n_recaptures == 0)).all()
