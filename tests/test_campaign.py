"""The front campaign: posture rule, Turkish footprint, calendar, and loader errors."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest

from sim.errors import DataError
from sim.model.campaign import (
    compile_calendar,
    load_front_orders,
    make_front_campaign,
    posture_of,
)
from sim.model.forces import load_forces
from sim.model.modifiers import Modifier
from sim.model.params import FrontParams
from sim.theatre import Theatre
from sim.theatre.tables import seeds_dir
from sim.theatre.theatre import FORTIFIED, GOVERNMENT, HASTY, POSTURES, PREPARED

START = dt.date(2019, 12, 19)


def test_posture_comes_from_the_seeds_table_and_sets_the_rate_multipliers(
        theatre: Theatre) -> None:
    fo = load_forces(theatre)
    p = FrontParams()
    c = make_front_campaign(theatre, fo, p)
    np.testing.assert_array_equal(posture_of(theatre), theatre.posture)
    mult = np.array([p.posture_factor[x] for x in POSTURES])
    np.testing.assert_array_equal(c.posture_mult, mult[theatre.posture])
    gov = theatre.initial_control == GOVERNMENT
    np.testing.assert_array_equal(c.gov_posture_mult[gov], mult[theatre.posture[gov]])
    assert c.posture_mult[theatre.resolve("Khan al-Asal")] == p.posture_factor["fortified"]
    assert c.posture_mult[theatre.resolve("Umm Jalal")] == p.posture_factor["prepared"]
    assert c.posture_mult[theatre.resolve("Idlib")] == p.posture_factor["hasty"]
    assert (theatre.posture[~gov] >= 0).all() and set(theatre.posture) <= {HASTY, PREPARED,
                                                                             FORTIFIED}


def test_footprint_appears_with_each_post_and_only_with_the_posts_lever(theatre: Theatre) -> None:
    fo = load_forces(theatre)
    posts = Modifier(name="posts", kind="observation_posts", start=START)
    c = make_front_campaign(theatre, fo, FrontParams(footprint_km=1.0), [posts])
    bal = theatre.resolve("Balyun")
    day = (dt.date(2020, 2, 27) - START).days  # the Balyun post's establishment date
    assert c.in_fp[day, bal] and not c.in_fp[day - 1, bal]
    off = make_front_campaign(theatre, fo, FrontParams(footprint_km=1.0), [])
    assert not off.in_fp.any()
    wide = make_front_campaign(theatre, fo, FrontParams(footprint_km=30.0), [posts])
    assert wide.in_fp.sum() > c.in_fp.sum()


def test_modifiers_take_effect_at_00_00_of_their_dates(theatre: Theatre) -> None:
    fo = load_forces(theatre)
    mods = [Modifier(name="cf", kind="ceasefire", start=dt.date(2020, 1, 12),
                     end=dt.date(2020, 1, 24)),
            Modifier(name="air", kind="russian_air", start=START, params={"sorties": 1.5}),
            Modifier(name="ss", kind="spring_shield", start=dt.date(2020, 2, 27),
                     params={"air_denial": 0.5})]
    c = make_front_campaign(theatre, fo, modifiers=mods)
    a, b = (dt.date(2020, 1, 12) - START).days, (dt.date(2020, 1, 24) - START).days
    assert not c.pause[a - 1] and c.pause[a] and c.pause[b - 1] and not c.pause[b]
    assert (c.sorties == 1.5).all()
    ss = (dt.date(2020, 2, 27) - START).days
    assert c.fp_denial[ss - 1] == 0.0 and c.fp_denial[ss] == 0.5
    off = make_front_campaign(theatre, fo, modifiers=[m.model_copy(update={"enabled": False})
                                                      for m in mods])
    assert not off.pause.any() and not off.sorties.any() and not off.fp_denial.any()


def test_breach_orders_open_the_recorded_days(theatre: Theatre) -> None:
    fo = load_forces(theatre)
    c = make_front_campaign(theatre, fo)
    k = fo.formations.index("5th_Corps")
    days = np.flatnonzero(c.breach[k])
    assert list(days) == [(dt.date(2020, 1, 15) - START).days, (dt.date(2020, 1, 16) - START).days]


def _copy_seeds(tmp_path: Path) -> Path:
    root = tmp_path / "seeds"
    shutil.copytree(seeds_dir(), root)
    return root


def test_an_unknown_sector_is_named_with_a_suggestion(theatre: Theatre, tmp_path: Path) -> None:
    root = _copy_seeds(tmp_path)
    path = root / "strike_orders.csv"
    path.write_text(path.read_text().replace(",saraqib_m5,", ",saraqb_m5,", 1))
    with pytest.raises(DataError) as err:
        load_front_orders(theatre, load_forces(theatre), root)
    msg = str(err.value)
    assert "strike_orders.csv" in msg and "sector" in msg and "saraqb_m5" in msg
    assert "saraqib_m5" in msg


def test_an_unknown_objective_is_named(theatre: Theatre, tmp_path: Path) -> None:
    root = _copy_seeds(tmp_path)
    path = root / "strike_orders.csv"
    path.write_text(path.read_text().replace("|Saraqib,", "|Saraqibb,", 1))
    with pytest.raises(DataError, match="Saraqibb"):
        load_front_orders(theatre, load_forces(theatre), root)


def test_a_breach_of_an_unknown_formation_is_named(theatre: Theatre, tmp_path: Path) -> None:
    root = _copy_seeds(tmp_path)
    path = root / "breaches.csv"
    path.write_text(path.read_text().replace("5th_Corps,", "5th_Corp,", 1))
    with pytest.raises(DataError, match="5th_Corp"):
        load_front_orders(theatre, load_forces(theatre), root)


def test_the_calendar_with_per_replica_values_equals_one_calendar_per_value(
        theatre: Theatre) -> None:
    """A column of modifier values (one per replica) compiles, row by row, to exactly the
    calendar of a campaign with that value fixed; arrays it does not enter stay one row."""
    mods = [Modifier(name="air", kind="russian_air", start=START, params={"sorties": 1.5}),
            Modifier(name="ss", kind="spring_shield", start=dt.date(2020, 2, 27),
                     end=dt.date(2020, 3, 3)),
            Modifier(name="ret", kind="turkish_retaliation", start=dt.date(2020, 2, 3))]
    denial = np.array([0.0, 0.3, 0.9])[:, None]
    drone = np.array([0.5, 0.01, 0.2])[:, None]

    def value(m: Modifier, key: str) -> float | np.ndarray:
        return {"air_denial": denial, "drone_attrition_per_day": drone}.get(key, m.param(key)) \
            if m.name == "ss" else m.param(key)

    arrays, pause, posts = compile_calendar(mods, START, 78, value)
    assert arrays["fp_denial"].shape == arrays["fp_drone"].shape == (3, 78)
    assert not pause.any() and not posts
    assert arrays["sorties"].shape == arrays["fp_defence"].shape == (78,)
    for i in range(3):
        ss = mods[1].model_copy(update={"params": {"air_denial": float(denial[i, 0]),
                                                   "drone_attrition_per_day": float(drone[i, 0])}})
        one, _, _ = compile_calendar([mods[0], ss, mods[2]], START, 78)
        for name in ("fp_denial", "fp_drone"):
            np.testing.assert_array_equal(arrays[name][i], one[name], err_msg=name)
        np.testing.assert_array_equal(arrays["retaliation"], one["retaliation"])


def test_the_footprint_is_the_distance_to_the_posts_within_footprint_km(
        theatre: Theatre) -> None:
    fo = load_forces(theatre)
    posts = Modifier(name="posts", kind="observation_posts", start=START)
    for km in (3.0, 12.5, 40.0):
        c = make_front_campaign(theatre, fo, FrontParams(footprint_km=km), [posts])
        np.testing.assert_array_equal(c.in_fp, c.post_dist_km <= km)
        assert 0 < c.in_fp[-1].sum() < c.n_towns  # the comparison is not trivially all or none
    off = make_front_campaign(theatre, fo, FrontParams(), [])
    assert np.isinf(off.post_dist_km).all()
