"""`idlib-sim run`: the files it writes, reproducibility, atomic writes and clear errors."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pandas as pd
import pytest

from sim import cli
from sim.scenario import load_scenario

# the module (the package's name sim.run is the API's function)
run_mod = importlib.import_module("sim.run")

BASELINE = str(Path(__file__).parents[1] / "scenarios" / "baseline.yaml")


def test_batch_run_writes_documented_outputs(tmp_path: Path) -> None:
    out = tmp_path / "bl"
    assert cli.main(["run", BASELINE, "--replicas", "600", "--seed", "4", "--out", str(out),
                     "--quiet"]) == 0
    for f in ("manifest.json", "towns.csv", "territory.csv", "held_probability.csv",
              "capture_days.parquet", "recapture_days.parquet", "last_capture_days.parquet",
              "territory.png", "final_map.png"):
        assert (out / f).is_file(), f
    man = json.loads((out / "manifest.json").read_text())
    assert man["seed"] == 4 and man["replicas"] == 600 and man["engine"] == "batch"
    post = load_scenario(BASELINE).posterior_samples()
    assert post is not None  # the baseline runs on the calibrated posterior
    assert man["model"] == "front" and man["posterior_sha256"] == post.digest()
    assert len(man["scenario_sha256"]) == 64
    towns = pd.read_csv(out / "towns.csv", keep_default_na=False)
    assert list(towns.columns) == ["town", "p_captured", "p_held_at_end", "p_recaptured",
                                   "q05", "q25", "q50", "q75", "q95"]
    # a quantile is empty exactly when fewer replicas captured the town than the quantile
    for q, col in ((0.05, "q05"), (0.5, "q50"), (0.95, "q95")):
        empty = towns[col] == ""
        assert (towns.loc[empty, "p_captured"] < q + 1e-9).all()
        assert (towns.loc[~empty, "p_captured"] >= q - 1e-9).all()
    days = pd.read_parquet(out / "capture_days.parquet")
    assert days.shape == (600, len(towns))
    p = (days >= 0).mean()
    assert p.to_numpy() == pytest.approx(towns["p_captured"].to_numpy(), abs=1e-4)


def test_des_run_is_reproducible_file_for_file(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        assert cli.main(["run", BASELINE, "--engine", "des", "--replicas", "3", "--seed", "8",
                         "--out", str(d), "--quiet"]) == 0
    for f in ("events.csv", "towns.csv", "territory.csv", "area_daily.csv"):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    ctl = pd.read_parquet(a / "control_daily.parquet")
    pd.testing.assert_frame_equal(ctl, pd.read_parquet(b / "control_daily.parquet"))
    log = pd.read_csv(a / "events.csv")
    assert {"replica", "time", "day", "date", "town", "event", "formation", "side",
            "modifier"} <= set(log.columns)
    assert sorted(log["replica"].unique()) == [0, 1, 2]
    # the files tell one story: first captures in the log are the capture days, the daily
    # control ends where the log's captures and recaptures leave it
    days = pd.read_parquet(a / "capture_days.parquet")
    caps = log[log["event"] == "captured"]
    for r in range(3):
        first = caps[caps["replica"] == r].groupby("town")["day"].min()
        got = days.iloc[r]
        assert sorted(first.index) == sorted(got[got >= 0].index)
        assert (got[first.index].to_numpy() == first.to_numpy()).all()
    last_day = ctl[ctl["day"] == ctl["day"].max()]
    held = last_day.groupby("replica")["control"].sum()
    area = pd.read_csv(a / "area_daily.csv")
    assert area.groupby("replica")["day"].agg(["min", "max"]).to_numpy().tolist() == \
        [[-1, int(ctl["day"].max())]] * 3
    assert (held > 0).all()


def test_interrupted_run_leaves_no_half_written_files(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run"
    assert cli.main(["run", BASELINE, "--replicas", "20", "--seed", "3", "--out", str(out),
                     "--quiet"]) == 0
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(*args: object, **kw: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(run_mod, "_write_plots", boom)
    # the command line turns Ctrl-C into exit code 130 with a one-line message
    assert cli.main(["run", BASELINE, "--replicas", "50", "--out", str(out), "--quiet"]) == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary left
    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier  # the earlier run intact


def test_bad_scenario_gives_a_located_error_and_exit_2(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"name: bad\ndescription: x\nextends: {BASELINE}\nreplicas: many\n")
    assert cli.main(["run", str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("idlib-sim: error:") and "Traceback" not in err
    assert f"{bad.resolve()}:4" in err and "replicas" in err and "'many'" in err
