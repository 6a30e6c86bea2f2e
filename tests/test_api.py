"""The Python API (sim.run, sim.compare, load_scenario(...).with_modifier): the issue's example
runs, its results are the command line's, and it refuses what it cannot do."""

from __future__ import annotations

import datetime as dt
import re
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pydantic
import pytest

import sim
from sim import cli
from sim.errors import ScenarioError
from sim.scenario import load_scenario

ROOT = Path(__file__).parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
README = (ROOT / "README.md").read_text()
N = 64


@pytest.fixture(scope="module")
def baseline_run() -> sim.RunResult:
    return sim.run(BASELINE, replicas=N, seed=3, progress=False)


def test_the_readme_example_runs_and_is_the_issue_example(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    """The README's "Python API" block holds the calls of issue 13's example and runs as
    written from a project folder, with fewer replicas."""
    block = README.split("## Python API", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    for call in ("sim.run(\"scenarios/baseline.yaml\"", "r.towns", "r.territory", "r.plot()",
                 "r.save(\"out/baseline\")", "sim.compare(\"scenarios/baseline.yaml\", "
                 "\"scenarios/no_spring_shield.yaml\"", "c.summary()", "c.plot()",
                 "with_modifier(\"spring_shield\", enabled=False)", "r.map()", "r.to_xarray()"):
        assert call in block, call
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    code = re.sub(r"replicas=[0-9_]+", f"replicas={N}", block)
    assert code.count(f"replicas={N}") == 3
    names: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), names)
    r, c, s = names["r"], names["c"], names["s"]
    assert isinstance(r, sim.RunResult) and r.replicas == N
    assert isinstance(c, sim.CompareResult) and c.comparison.n == N
    assert isinstance(s, sim.Scenario) and not s.modifiers["spring_shield"].enabled
    assert (tmp_path / "out" / "baseline" / "manifest.json").is_file()
    assert c.summary().loc["area held at end", "diff"] == pytest.approx(
        c.comparison.territory["mean_km2"].iloc[-1])
    import matplotlib.pyplot as plt

    plt.close("all")


def test_towns_table_has_coordinates_dates_and_the_record(baseline_run: sim.RunResult) -> None:
    t = baseline_run.towns
    assert list(t.columns[:4]) == ["town", "lat", "lon", "p_held_at_end"]
    assert t["lat"].between(35.0, 37.0).all() and t["lon"].between(35.5, 38.0).all()
    for q in ("q05", "q50", "q95"):
        assert pd.api.types.is_datetime64_any_dtype(t[q])
    assert (t["q05"] <= t["q95"]).all() or t["q95"].isna().any()
    # a town captured in most replicas has a median date inside the run, one never captured none
    end = pd.Timestamp(baseline_run.campaign.end)
    taken = t[t["p_captured"] > 0.6]
    assert len(taken) and (taken["q50"] < end).all()
    assert t.loc[t["p_captured"] == 0, "q05"].isna().all()
    rec = sim.recorded_captures(baseline_run.campaign.theatre)
    got = t.set_index("town")["recorded_date"].dropna()
    assert len(got) == len(rec)
    assert got["Saraqib"] == pd.Timestamp(rec.set_index("town").loc["Saraqib", "date"])


def test_territory_and_plot(baseline_run: sim.RunResult) -> None:
    terr = baseline_run.territory
    assert isinstance(terr.index, pd.DatetimeIndex)
    assert terr.index[0] == pd.Timestamp("2019-12-18") and terr.index[-1] == pd.Timestamp(
        "2020-03-05")
    assert (terr["q05_km2"] <= terr["q95_km2"]).all()
    ax = baseline_run.plot()
    assert "baseline" in ax.get_title() and f"{N}" in ax.get_title()
    assert len(ax.get_lines()) >= 1
    import matplotlib.pyplot as plt

    plt.close("all")


def test_save_writes_the_folder_the_command_line_writes(baseline_run: sim.RunResult,
                                                        tmp_path: Path) -> None:
    saved = baseline_run.save(tmp_path / "api")
    assert cli.main(["run", str(BASELINE), "--replicas", str(N), "--seed", "3", "--workers",
                     "1", "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    names = sorted(p.name for p in saved.iterdir())
    assert names == sorted(p.name for p in (tmp_path / "cli").iterdir())
    for name in names:
        if name.endswith((".csv", ".parquet")):
            assert (saved / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    # and a folder that is not an output of idlib-sim is refused, as by the command line
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(sim.IdlibSimError, match="mine"):
        baseline_run.save(mine)
    assert (mine / "notes.txt").read_text() == "keep me"


def test_repr_is_short_and_says_what_ran(baseline_run: sim.RunResult) -> None:
    text = repr(baseline_run)
    assert len(text) < 400 and "\n" not in text
    for part in ("baseline", f"{N} replicas", "seed 3", "Saraqib"):
        assert part in text
    assert len(repr(baseline_run.ensemble)) < 120


def test_run_scenario_keeps_results_in_memory_without_out() -> None:
    res = sim.run_scenario(load_scenario(BASELINE), replicas=8)
    assert res.directory is None and res.ensemble.n == 8


def test_with_modifier_changes_one_modifier_and_validates() -> None:
    base = load_scenario(BASELINE)
    s = base.with_modifier("spring_shield", enabled=False)
    assert not s.modifiers["spring_shield"].enabled and base.modifiers["spring_shield"].enabled
    assert {k: v for k, v in s.modifiers.items() if k != "spring_shield"} == {
        k: v for k, v in base.modifiers.items() if k != "spring_shield"}
    p = base.with_modifier("spring_shield", params={"counterattack_mult": 2.0},
                           end="2020-03-01")
    assert p.modifiers["spring_shield"].params == {
        **base.modifiers["spring_shield"].params, "counterattack_mult": 2.0}
    assert p.modifiers["spring_shield"].end == dt.date(2020, 3, 1)
    with pytest.raises(ScenarioError, match=r"baseline\.yaml.*'modifiers\.spring_sheild'.*"
                                            r"did you mean 'spring_shield'"):
        base.with_modifier("spring_sheild", enabled=False)
    with pytest.raises(ScenarioError, match=r"'modifiers\.spring_shield\.enabeld'.*did you mean "
                                            r"'enabled'"):
        base.with_modifier("spring_shield", enabeld=False)
    with pytest.raises(ScenarioError, match=r"field 'modifiers\.spring_shield\.params'.*"
                                            r"counterattack_mult"):
        base.with_modifier("spring_shield", params={"counterattack_mult": -1.0})
    with pytest.raises(ScenarioError, match=r"'modifiers\.spring_shield\.end'.*not a date"):
        base.with_modifier("spring_shield", end="1 March")


def test_a_mapping_with_extends_is_the_file_it_describes(tmp_path: Path) -> None:
    text = ("name: lever\ndescription: Without Spring Shield?\nextends: baseline.yaml\n"
            "modifiers:\n  spring_shield: {enabled: false}\n")
    data = {"name": "lever", "description": "Without Spring Shield?", "extends": "baseline.yaml",
            "modifiers": {"spring_shield": {"enabled": False}}}
    f = tmp_path / "lever.yaml"
    f.write_text(text.replace("baseline.yaml", str(BASELINE)))
    from_file = load_scenario(f)
    from_dict = load_scenario(data, base_dir=BASELINE.parent)
    assert from_dict.digest() == from_file.digest()
    assert len(from_dict.modifiers) == len(load_scenario(BASELINE).modifiers) > 5
    with pytest.raises(ScenarioError, match=r"<dict>:1: field 'extends': value 'baseline\.yaml'"
                                            r": no such file"):
        load_scenario(data, base_dir=tmp_path)  # relative to base_dir, not to the project
    with pytest.raises(pydantic.ValidationError, match="load_scenario"):
        sim.Scenario.model_validate(data)  # never a campaign silently without its parent


def test_package_names_version_and_modules(capsys: pytest.CaptureFixture[str]) -> None:
    import sim.api

    assert sim.run is sim.api.run and sim.compare is sim.api.compare
    assert sys.modules["sim.run"].run_scenario is sim.run_scenario
    assert sim.__version__ == metadata.version("idlib-sim")
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"idlib-sim {sim.__version__}"


def test_progress_bars_outside_a_notebook_are_plain_text() -> None:
    from tqdm import tqdm as text
    from tqdm.notebook import tqdm as widget

    from sim.progress import in_notebook, tqdm

    assert not in_notebook()
    bar = tqdm(total=1, disable=True)
    assert isinstance(bar, text) and not isinstance(bar, widget)
    bar.close()


def test_a_foreign_out_is_refused_before_any_simulation(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kw: object) -> None:
        raise AssertionError("the simulation started before the output folder was checked")

    monkeypatch.setattr(sim.api, "run_scenario", boom)
    monkeypatch.setattr(sim.api, "compare_scenarios", boom)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("four years of work")
    with pytest.raises(sim.IdlibSimError, match="mine"):
        sim.run(BASELINE, replicas=8, out=mine)
    with pytest.raises(sim.IdlibSimError, match="mine"):
        sim.compare(BASELINE, BASELINE, replicas=8, out=mine)
    assert [p.name for p in mine.iterdir()] == ["thesis.txt"]


def test_the_private_folder_goes_with_the_result_and_the_engine_is_kept() -> None:
    """A SimPy run kept in memory has its event log in its folder (the plots the command line
    draws wait for save(), tested above), and the folder is deleted when the result is."""
    import gc

    import matplotlib.pyplot as plt

    r = sim.run(BASELINE, replicas=2, engine="des", progress=False)
    folder = r.directory
    assert r.engine == "des" and (folder / "events.csv").is_file()
    assert not (folder / "territory.png").exists()
    del r
    gc.collect()
    assert not folder.exists() and not folder.parent.exists()
    plt.close("all")


def test_to_xarray_and_map_describe_the_run(baseline_run: sim.RunResult, tmp_path: Path) -> None:
    """``to_xarray`` holds the run's own numbers (P(held) at the end equals the towns table,
    one capture date per replica and town) and ``map`` returns a folium map that writes a
    self-contained page naming the scenario."""
    ds = baseline_run.to_xarray()
    end = ds["p_held"].isel(date=-1).to_series()
    t = baseline_run.towns.set_index("town")["p_held_at_end"]
    assert np.allclose(end.reindex(t.index).to_numpy(), t.to_numpy())
    assert ds.sizes["replica"] == N and ds["capture_date"].dims == ("replica", "town")
    assert ds.attrs["scenario"] == baseline_run.scenario.name
    m = baseline_run.map(tmp_path / "m.html", tiles=None)
    assert type(m).__name__ == "Map"
    page = (tmp_path / "m.html").read_text()
    assert baseline_run.scenario.name in page and "leaflet" in page.lower()


def test_compare_with_a_folder_writes_the_paired_differences(tmp_path: Path) -> None:
    """``sim.compare(..., out=)`` streams the per-replica paired differences into the folder,
    one row per replica, with the same end-area mean as the summary."""
    c = sim.compare(BASELINE, ROOT / "scenarios" / "no_spring_shield.yaml", replicas=N, seed=5,
                    out=tmp_path / "cmp", progress=False)
    paired = pd.read_parquet(tmp_path / "cmp" / "paired.parquet")
    assert len(paired) == N
    assert paired["area_end_diff_km2"].mean() == pytest.approx(
        c.comparison.territory["mean_km2"].iloc[-1], rel=1e-6, abs=1e-3)
    assert c.directory == tmp_path / "cmp"
    assert {"towns_A.csv", "towns_B.csv", "summary.json"} <= {p.name for p in c.directory.iterdir()}
