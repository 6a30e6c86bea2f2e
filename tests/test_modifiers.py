"""Dated modifiers: when they take effect, what they do, and that disabled ones do nothing
(through the front model's calendar, :func:`sim.model.campaign.compile_calendar`)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pydantic import ValidationError

from sim.model.campaign import CALENDAR, compile_calendar
from sim.model.modifiers import Modifier

START = dt.date(2019, 12, 19)


def test_a_modifier_acts_from_00_00_of_its_start_to_00_00_of_its_end() -> None:
    m = Modifier(name="cf", kind="ceasefire", start=dt.date(2020, 1, 12),
                 end=dt.date(2020, 1, 24))
    _, pause, _ = compile_calendar([m], START, 60)
    a, b = (dt.date(2020, 1, 12) - START).days, (dt.date(2020, 1, 24) - START).days
    assert not pause[a - 1] and pause[a]
    assert pause[b - 1] and not pause[b]
    assert pause.sum() == b - a


def test_disabled_modifier_has_no_effect() -> None:
    mods = [Modifier(name="ss", kind="spring_shield", start=dt.date(2020, 1, 1), enabled=False),
            Modifier(name="op", kind="observation_posts", start=START, enabled=False)]
    off, pause_off, posts_off = compile_calendar(mods, START, 40)
    none, pause_none, posts_none = compile_calendar([], START, 40)
    for name in CALENDAR:
        np.testing.assert_array_equal(off[name], none[name])
    np.testing.assert_array_equal(pause_off, pause_none)
    assert posts_off is posts_none is False


def test_effects_compose() -> None:
    mods = [
        Modifier(name="w", kind="weather", start=START, end=dt.date(2019, 12, 25),
                 params={"ground_factor": 0.5, "air_factor": 0.0}),
        Modifier(name="w2", kind="weather", start=START,
                 params={"ground_factor": 0.5, "air_factor": 1.0}),
        Modifier(name="a", kind="russian_air", start=START, params={"sorties": 1.5}),
        Modifier(name="a2", kind="russian_air", start=START, params={"sorties": 0.5}),
        Modifier(name="t1", kind="turkish_retaliation", start=START,
                 params={"attrition_frac": 0.1}),
        Modifier(name="t2", kind="turkish_retaliation", start=START,
                 params={"attrition_frac": 0.1}),
        Modifier(name="s", kind="spring_shield", start=START,
                 params={"drone_attrition_per_day": 0.1, "air_denial": 0.5,
                         "counterattack_mult": 2.0, "defence_mult": 1.5}),
        Modifier(name="ta", kind="turkish_artillery", start=START,
                 params={"counterattack_mult": 3.0, "defence_mult": 2.0}),
    ]
    eff, _, _ = compile_calendar(mods, START, 10)
    # weather multiplies: two halves in the first six days, one after
    assert eff["ground_factor"][0] == pytest.approx(0.25) and eff["ground_factor"][8] == 0.5
    assert eff["air_factor"][0] == 0 and eff["air_factor"][8] == 1
    assert eff["sorties"][0] == pytest.approx(2.0)  # sortie intensities add
    # independent losses: 1 - 0.9 * 0.9
    assert eff["retaliation"][0] == pytest.approx(1 - 0.9 * 0.9)
    assert eff["fp_drone"][0] == pytest.approx(0.1) and eff["fp_denial"][0] == 0.5
    assert eff["fp_support"][0] == pytest.approx(6.0)
    assert eff["fp_defence"][0] == pytest.approx(3.0)


def test_unknown_parameter_and_reversed_dates_are_rejected() -> None:
    with pytest.raises(ValidationError, match="no parameter 'sortie'"):
        Modifier(name="a", kind="russian_air", start=START, params={"sortie": 1.0})
    with pytest.raises(ValidationError, match="not after start"):
        Modifier(name="a", kind="ceasefire", start=START, end=START)
    with pytest.raises(ValidationError):
        Modifier(name="a", kind="ceasefire", start=START, params={"intensity": -1})
    with pytest.raises(ValidationError, match="too small"):
        Modifier(name="a", kind="russian_air", start=START, params={"sorties": 1e-300})
