"""One convention for days and dates in every table a run or a comparison writes
(:mod:`sim.results`): day ``d`` is the date ``start + d``; an event on day ``d`` happened during
that date; a state at day ``d`` is the state at the end of that date (day ``-1``: the start).
The tests follow known events from one file to the others."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sim.io.rundir import load_run
from sim.run import run_scenario
from sim.scenario import load_scenario, with_overrides

ROOT = Path(__file__).parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
START = dt.date(2019, 12, 19)


def _iso(day: int) -> str:
    return (START + dt.timedelta(days=int(day))).isoformat()


def _no_plots(path: Path) -> object:
    return with_overrides(load_scenario(path), sets={"outputs.plots": False})


@pytest.fixture(scope="module")
def des_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One replica of the SimPy engine: its event log, daily control and area, and the tables
    of the ensemble of one (whose mean is that replica)."""
    out = tmp_path_factory.mktemp("des") / "run"
    run_scenario(_no_plots(BASELINE), out, engine="des", replicas=1, seed=11)  # type: ignore[arg-type]
    return out


def test_every_table_has_a_date_beside_its_day_and_they_agree(des_run: Path) -> None:
    for name in ("territory.csv", "held_probability.csv", "area_daily.csv", "events.csv"):
        df = pd.read_csv(des_run / name)
        assert {"day", "date"} <= set(df.columns), name
        assert (df["date"] == df["day"].map(_iso)).all(), name
    ctl = pd.read_parquet(des_run / "control_daily.parquet")
    assert list(ctl.columns[:3]) == ["replica", "day", "date"]
    assert (ctl["date"] == ctl["day"].map(_iso)).all()
    first = pd.read_csv(des_run / "territory.csv").iloc[0]
    assert (first["day"], first["date"]) == (-1, "2019-12-18")  # the start: the front of 18 Dec
    for name in ("capture_days.parquet", "recapture_days.parquet", "last_capture_days.parquet"):
        meta = pq.read_schema(des_run / name).metadata
        assert meta[b"day0"] == b"2019-12-19", name


def test_a_capture_has_the_same_day_and_date_in_every_file(des_run: Path) -> None:
    """Each town the replica took and never lost: the capture event's day and date, the day in
    capture_days.parquet, the day control changes in control_daily.parquet and the date
    P(held) turns 1 in held_probability.csv are the same."""
    ev = pd.read_csv(des_run / "events.csv")
    lost = set(ev.loc[ev["event"] == "recaptured_by_opposition", "town"])
    caps = ev[(ev["event"] == "captured") & ~ev["town"].isin(lost)]
    caps = caps.groupby("town")[["day", "date"]].first()
    assert len(caps) >= 10  # the baseline takes dozens of towns
    days = pd.read_parquet(des_run / "capture_days.parquet").iloc[0]
    ctl = pd.read_parquet(des_run / "control_daily.parquet")
    held = pd.read_csv(des_run / "held_probability.csv").set_index("date")
    for town, (day, date) in caps.iterrows():
        assert days[town] == day, town
        c = ctl[ctl["town"] == town].set_index("day")["control"]
        assert c[day] == 1 and (day == 0 or c[day - 1] == 0), town
        assert held.loc[date, town] == 1.0, town
        assert held.loc[_iso(day - 1), town] == 0.0, town


def test_territory_and_area_daily_are_the_same_state_on_every_date(des_run: Path) -> None:
    """With one replica the ensemble's mean area (1 km² bins, so within 0.5 km²) is the
    replica's area on every date; one day apart they differ (the test can tell a shift)."""
    terr = pd.read_csv(des_run / "territory.csv").set_index("date")["mean_km2"]
    area = pd.read_csv(des_run / "area_daily.csv").set_index("date")["gov_area_km2"]
    assert list(terr.index) == list(area.index)
    assert np.abs(terr.to_numpy() - area.to_numpy()).max() <= 0.5 + 0.05 + 0.005  # bin + rounding
    shifted = np.abs(terr.to_numpy()[1:] - area.to_numpy()[:-1]).max()
    assert shifted > 5.0


def test_comparison_dates_are_the_runs_dates(tmp_path: Path) -> None:
    """territory_diff.csv's row for a date is B's area minus A's on the same date of their own
    runs (one pair, same seed: the same replicas; within the runs' 1 km² bins)."""
    cmp_mod = sys.modules["sim.compare"]
    from sim.world import default_world

    a = _no_plots(BASELINE)
    b = _no_plots(ROOT / "scenarios" / "no_air.yaml")
    cmp = cmp_mod.compare(a, b, replicas=1, seed=5)
    cmp_mod.write_comparison(cmp, tmp_path / "cmp", default_world()[0], plots=False)
    diff = pd.read_csv(tmp_path / "cmp" / "territory_diff.csv")
    assert (diff["date"] == diff["day"].map(_iso)).all()
    ta, tb = (run_scenario(s, None, replicas=1, seed=5).ensemble.territory_table()  # type: ignore[arg-type]
              for s in (a, b))
    assert list(ta["date"]) == list(diff["date"])
    want = (tb["mean_km2"] - ta["mean_km2"]).to_numpy()
    assert np.abs(diff["mean_km2"].to_numpy() - want).max() <= 1.0 + 0.01
    assert np.abs(diff["mean_km2"].to_numpy()[1:] - want[:-1]).max() > 5.0
    summary = json.loads((tmp_path / "cmp" / "summary.json").read_text())
    assert summary["end"] == diff["date"].iloc[-1] == "2020-03-05"


def test_an_older_run_folder_reads_in_the_current_convention(des_run: Path,
                                                             tmp_path: Path) -> None:
    """territory.csv of folders written before the convention dated each row by the next
    morning; load_run moves them back a day, so old and new folders read alike."""
    new = load_run(des_run)
    old_dir = tmp_path / "old"
    old_dir.mkdir()
    for f in ("manifest.json", "capture_days.parquet"):
        (old_dir / f).write_bytes((des_run / f).read_bytes())
    t = pd.read_csv(des_run / "territory.csv")
    t.assign(date=(t["day"] + 1).map(_iso)).to_csv(old_dir / "territory.csv", index=False)
    old = load_run(old_dir)
    assert list(old.territory["date"]) == list(new.territory["date"])
    assert old.territory["date"].iloc[0] == "2019-12-18"
