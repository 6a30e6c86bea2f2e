"""Dated modifiers: when they take effect, what they do, and that disabled ones do nothing."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pydantic import ValidationError

from sim.model.modifiers import Modifier, daily_effects

START = dt.date(2019, 12, 19)


def test_a_modifier_acts_from_00_00_of_its_start_to_00_00_of_its_end() -> None:
    m = Modifier(name="cf", kind="ceasefire", start=dt.date(2020, 1, 12),
                 end=dt.date(2020, 1, 24), params={"intensity": 0.0})
    eff = daily_effects([m], START, 60)
    a, b = (dt.date(2020, 1, 12) - START).days, (dt.date(2020, 1, 24) - START).days
    assert eff.assault_factor[a - 1] == 1 and eff.assault_factor[a] == 0
    assert eff.assault_factor[b - 1] == 0 and eff.assault_factor[b] == 1
    assert (a, "cf", "ceasefire_start") in eff.log and (b, "cf", "ceasefire_end") in eff.log


def test_disabled_modifier_has_no_effect_and_no_log() -> None:
    m = Modifier(name="ss", kind="spring_shield", start=dt.date(2020, 1, 1), enabled=False)
    off, none = daily_effects([m], START, 40), daily_effects([], START, 40)
    for field in ("air_sorties", "air_factor", "assault_factor", "counterattack_factor",
                  "defence_factor", "attrition_frac"):
        np.testing.assert_array_equal(getattr(off, field), getattr(none, field))
    assert off.log == ()


def test_effects_compose_multiplicatively() -> None:
    mods = [
        Modifier(name="w", kind="weather", start=START, end=dt.date(2019, 12, 25),
                 params={"ground_factor": 0.5, "air_factor": 0.0}),
        Modifier(name="c", kind="ceasefire", start=START, params={"intensity": 0.5}),
        Modifier(name="a", kind="russian_air", start=START, params={"sorties": 1.5}),
        Modifier(name="t1", kind="turkish_retaliation", start=START,
                 params={"attrition_frac": 0.1}),
        Modifier(name="t2", kind="spring_shield", start=START,
                 params={"drone_attrition_per_day": 0.1, "air_denial": 0.5}),
    ]
    eff = daily_effects(mods, START, 10)
    assert eff.assault_factor[0] == pytest.approx(0.25) and eff.assault_factor[8] == 0.5
    assert eff.air_factor[0] == 0 and eff.air_factor[8] == pytest.approx(0.5)
    assert eff.air_sorties[0] == 1.5
    assert eff.attrition_frac[0] == pytest.approx(1 - 0.9 * 0.9)


def test_unknown_parameter_and_reversed_dates_are_rejected() -> None:
    with pytest.raises(ValidationError, match="no parameter 'sortie'"):
        Modifier(name="a", kind="russian_air", start=START, params={"sortie": 1.0})
    with pytest.raises(ValidationError, match="not after start"):
        Modifier(name="a", kind="ceasefire", start=START, end=START)
    with pytest.raises(ValidationError):
        Modifier(name="a", kind="ceasefire", start=START, params={"intensity": -1})
