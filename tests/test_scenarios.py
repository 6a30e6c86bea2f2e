"""Scenario files: every shipped file works; broken files always give a located ScenarioError;
paired comparisons of identical worlds give exactly zero."""

from __future__ import annotations

import datetime as dt
import re
import string
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.compare import compare
from sim.errors import ScenarioError
from sim.run import run_scenario
from sim.scenario import Scenario, load_scenario
from sim.world import default_world

SCENARIOS = sorted((Path(__file__).parents[1] / "scenarios").glob("*.yaml"))
BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"
LOCATED = re.compile(r"^(?P<file>\S+\.yaml):(?P<line>\d+): field '[^']+'")


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_shipped_scenario_validates_and_smoke_runs(path: Path) -> None:
    sc = load_scenario(path)
    assert sc.description.strip().endswith("?"), "a scenario states the question it asks"
    res = run_scenario(sc, None, replicas=300, seed=1)
    assert res.ensemble.n == 300
    assert (res.ensemble.p_captured() > 0).sum() >= 5  # the campaign happens


def test_baseline_smoke_runs_on_the_simpy_engine_too() -> None:
    res = run_scenario(load_scenario(BASELINE), None, engine="des", replicas=2, seed=3)
    assert res.ensemble.n == 2


def test_scenario_holds_only_differences(tmp_path: Path) -> None:
    f = tmp_path / "five_lines.yaml"
    f.write_text(f"name: no_air\ndescription: What if Russia had not flown?\n"
                 f"extends: {BASELINE}\nmodifiers:\n  russian_air_renewed: {{enabled: false}}\n")
    sc, base = load_scenario(f), load_scenario(BASELINE)
    assert not sc.modifiers["russian_air_renewed"].enabled
    assert sc.modifiers["russian_air_renewed"].start == base.modifiers["russian_air_renewed"].start
    assert sc.period == base.period and sc.replicas == base.replicas
    assert sc.digest() != base.digest()


# ---------------------------------------------------------------------------- broken files

def _base() -> dict[str, Any]:
    return {"name": "broken", "description": "Is this file broken?", "extends": str(BASELINE),
            "replicas": 10, "modifiers": {"spring_shield": {"enabled": False}}}


junk = st.one_of(st.text(string.ascii_letters, min_size=1, max_size=8), st.floats(-1e3, -1e-3),
                 st.lists(st.integers(), min_size=1, max_size=3), st.just({"x": 1}))
names = st.text(string.ascii_lowercase + "_", min_size=3, max_size=12)


def _mutations(theatre_names: set[str]) -> st.SearchStrategy[tuple[str, Any]]:
    towns = names.filter(lambda s: s.lower() not in theatre_names)
    return st.one_of(
        st.tuples(st.just("unknown_top_key"),
                  names.filter(lambda s: s not in Scenario.model_fields)),
        st.tuples(st.just("bad_replicas"), junk),
        st.tuples(st.just("bad_seed"), st.one_of(st.integers(max_value=-1), st.text(min_size=1))),
        st.tuples(st.just("bad_engine"), names.filter(lambda s: s not in ("batch", "des"))),
        st.tuples(st.just("bad_date"), st.sampled_from(["2020-13-01", "2020-02-30", "yesterday",
                                                        "2019-01-01", 17])),
        st.tuples(st.just("end_before_start"), st.just(None)),
        st.tuples(st.just("unknown_modifier_key"), names.filter(lambda s: s not in (
            "name", "kind", "start", "end", "enabled", "params", "source"))),
        st.tuples(st.just("unknown_modifier_param"), names),
        st.tuples(st.just("bad_modifier_kind"), names),
        st.tuples(st.just("unknown_town"), towns),
        st.tuples(st.just("unknown_formation"), names),
        st.tuples(st.just("extends_cycle"), st.just(None)),
        st.tuples(st.just("extends_missing"), names),
        st.tuples(st.just("not_a_mapping"), st.one_of(st.lists(st.integers(), min_size=1),
                                                      st.text(string.ascii_letters, min_size=1))),
        st.tuples(st.just("bad_yaml"), st.sampled_from(["name: [unclosed", "a: b: c", "\t- x",
                                                        "key: 'open"])),
    )


def _write(tmp: Path, kind: str, value: Any) -> Path:
    doc = _base()
    f = tmp / f"{kind}.yaml"
    if kind == "unknown_top_key":
        doc[value] = 1
    elif kind == "bad_replicas":
        doc["replicas"] = value
    elif kind == "bad_seed":
        doc["seed"] = value
    elif kind == "bad_engine":
        doc["engine"] = value
    elif kind == "bad_date":  # written unquoted, as a user would type it
        f.write_text(yaml.safe_dump(doc, sort_keys=False) + f"period:\n  start: {value}\n")
        return f
    elif kind == "end_before_start":
        doc["period"] = {"start": "2020-01-10", "end": "2020-01-01"}
    elif kind == "unknown_modifier_key":
        doc["modifiers"]["spring_shield"][value] = 1
    elif kind == "unknown_modifier_param":
        doc["modifiers"]["spring_shield"]["params"] = {value: 1.0}
    elif kind == "bad_modifier_kind":
        doc["modifiers"]["new_one"] = {"kind": value, "start": "2020-01-01"}
    elif kind == "unknown_town":
        doc["forces"] = {"orders": {"25th_SMFD": [{"start": "2020-02-01", "objectives": [value]}]}}
    elif kind == "unknown_formation":
        doc["forces"] = {"formations": {f"x{value}": {"strength_k": 1.0}}}
    elif kind == "extends_cycle":
        other = tmp / "other.yaml"
        other.write_text(yaml.safe_dump({"name": "o", "description": "o?", "extends": str(f)}))
        doc["extends"] = str(other)
    elif kind == "extends_missing":
        doc["extends"] = f"missing_{value}.yaml"
    elif kind == "not_a_mapping":
        f.write_text(yaml.safe_dump(value))
        return f
    elif kind == "bad_yaml":
        f.write_text(value)
        return f
    f.write_text(yaml.safe_dump(doc, sort_keys=False))
    return f


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_broken_files_always_give_a_located_scenario_error(tmp_path: Path,
                                                           data: st.DataObject) -> None:
    theatre, _ = default_world()
    known = {a.lower() for row in theatre.towns["alias_list"] for a in row} | {
        n.lower() for n in theatre.names} | {c.member.lower() for c in theatre.tables.clusters}
    kind, value = data.draw(_mutations(known))
    f = _write(tmp_path, kind, value)
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    msg = str(info.value)
    assert "Traceback" not in msg
    m = LOCATED.match(msg)
    if kind in ("bad_yaml", "not_a_mapping"):
        assert re.match(r"^\S+\.yaml:\d+: ", msg), msg
    else:
        assert m, msg
        assert int(m["line"]) >= 1
    if kind in ("unknown_town", "unknown_top_key", "unknown_modifier_key", "unknown_formation"):
        assert repr(str(value)) in msg or str(value) in msg, msg


def test_misspelt_town_gets_did_you_mean(tmp_path: Path) -> None:
    f = _write(tmp_path, "unknown_town", "Saraquib")
    with pytest.raises(ScenarioError, match=r"did you mean 'Saraqib'"):
        load_scenario(f)


def test_misspelt_key_gets_did_you_mean(tmp_path: Path) -> None:
    f = tmp_path / "typo.yaml"
    f.write_text(f"name: t\ndescription: t?\nextends: {BASELINE}\nreplicaz: 5\n")
    with pytest.raises(ScenarioError, match=r":4: field 'replicaz'.*did you mean 'replicas'"):
        load_scenario(f)


# ----------------------------------------------------------------------------- comparisons

def test_comparing_a_scenario_with_itself_gives_exactly_zero() -> None:
    sc = load_scenario(BASELINE)
    cmp = compare(sc, sc, replicas=600, seed=5)
    assert (cmp.towns["diff"] == 0).all()
    # Newcombe's interval keeps a width at p = 0 or 1 (no discordant pair is not proof of none)
    assert (cmp.towns["ci_low"] < 0).all() and (cmp.towns["ci_high"] > 0).all()
    assert (cmp.territory[["mean_km2", "q05_km2", "q95_km2"]] == 0).all().all()
    assert np.allclose(cmp.towns["p_A"], cmp.towns["p_B"])


def test_a_modifier_that_never_fires_gives_exactly_zero(tmp_path: Path) -> None:
    f = tmp_path / "late.yaml"
    f.write_text(f"name: late\ndescription: A lever after the end?\nextends: {BASELINE}\n"
                 "modifiers:\n  late_strikes:\n    kind: turkish_retaliation\n"
                 "    start: 2021-01-01\n    params: {attrition_frac: 0.9}\n")
    cmp = compare(load_scenario(BASELINE), load_scenario(f), replicas=600, seed=5)
    assert (cmp.towns["diff"] == 0).all()
    assert (cmp.territory["mean_km2"] == 0).all()
    for k in cmp.key_dates.values():
        assert k["diff_p_reached"] == 0


def test_a_real_lever_gives_a_clear_answer() -> None:
    """Running on past 6 Mar with new orders (no ceasefire) must change the outcome, and the
    paired CI must say so; which towns change is the model's answer, not asserted here."""
    base, nss = load_scenario(BASELINE), load_scenario(BASELINE.with_name("no_spring_shield.yaml"))
    cmp = compare(base, nss, replicas=600, seed=5)
    end = cmp.territory.iloc[-1]
    assert end["ci_low_km2"] > 0 or end["ci_high_km2"] < 0
    assert (cmp.towns["ci_low"] > 0).any() or (cmp.towns["ci_high"] < 0).any()


def test_force_overrides_and_added_orders_reach_the_campaign(tmp_path: Path) -> None:
    from sim.run import build_campaign
    from sim.theatre import day_index

    f = tmp_path / "forces.yaml"
    f.write_text(f"name: f\ndescription: Weaker Tigers?\nextends: {BASELINE}\n"
                 "forces:\n  formations:\n    25th_SMFD: {strength_k: 1.5}\n"
                 "  sectors:\n    north_rear: {strength_k: 9.0}\n"
                 "  orders:\n    25th_SMFD:\n      - {start: 2020-03-01, objectives: [Ariha]}\n")
    c = build_campaign(load_scenario(f))
    base = build_campaign(load_scenario(BASELINE))
    k = c.forces.formations.index("25th_SMFD")
    assert c.forces.nominal_k[k] == 1.5 and base.forces.nominal_k[k] != 1.5
    assert c.forces.sector_nominal_k[c.forces.sectors.index("north_rear")] == 9.0
    order = c.forces.order_on(k, day_index(dt.date(2020, 3, 1)))
    assert order is not None and order.objectives == (c.theatre.resolve("Ariha"),)
    # the front model's arrays: one more order, of that group, from that day, toward Ariha
    assert c.n_orders == base.n_orders + 1
    new = np.flatnonzero((c.order_k == k) & (c.order_day == day_index(dt.date(2020, 3, 1))))
    assert len(new) == 1 and c.order_obj[new[0], 0] == c.theatre.resolve("Ariha")
    assert (c.order_obj[new[0], 1:] == -1).all()


def test_added_orders_keep_the_pairing_until_their_date(tmp_path: Path) -> None:
    """Before an added order's date the two scenarios are the same campaign: with common random
    numbers every paired difference is then exactly zero."""
    f = tmp_path / "orders.yaml"
    f.write_text(f"name: o\ndescription: A late order?\nextends: {BASELINE}\n"
                 "forces:\n  orders:\n    5th_Corps:\n"
                 "      - {start: 2020-03-01, objectives: [Idlib]}\n")
    cmp = compare(load_scenario(BASELINE), load_scenario(f), replicas=512, seed=5)
    before = cmp.territory[cmp.territory["date"] < "2020-03-01"]
    assert (before[["q05_km2", "q95_km2"]] == 0).all().all()


def test_too_many_added_orders_are_refused_with_a_located_error(tmp_path: Path) -> None:
    """The engines reserve a fixed block of draw columns per group (stable common random
    numbers), so a scenario may add at most 32 orders to one formation."""
    orders = "".join(f"      - {{start: 2020-03-{1 + i % 5:02d}, objectives: [Idlib]}}\n"
                     for i in range(33))
    f = tmp_path / "many.yaml"
    f.write_text(f"name: m\ndescription: Many orders?\nextends: {BASELINE}\n"
                 f"forces:\n  orders:\n    5th_Corps:\n{orders}")
    with pytest.raises(ScenarioError, match="33 orders added to '5th_Corps': at most 32"):
        load_scenario(f)
