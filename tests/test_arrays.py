"""``results.nc``: the run as an xarray Dataset, checked against the run's own tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import sim.arrays as arrays
from sim.arrays import read_per_replica, to_dataset
from sim.errors import DataError
from sim.model.campaign import FrontCampaign
from sim.run import RunSummary, build_campaign, run_scenario
from sim.scenario import load_scenario
from sim.scenario.load import with_overrides

BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"
N = 300


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunSummary, FrontCampaign, Path]:
    sc = with_overrides(load_scenario(BASELINE), sets={"outputs.plots": False})
    c = build_campaign(sc)
    out = tmp_path_factory.mktemp("arrays") / "run"
    return run_scenario(sc, out, replicas=N, seed=5, campaign=c), c, out


def test_every_run_writes_results_nc_with_dates_units_and_provenance(run) -> None:
    _, c, out = run
    ds = xr.open_dataset(out / "results.nc")
    assert ds.sizes == {"date": 79, "town": c.n_towns, "quantile": 5, "replica": N}
    assert ds["date"].dtype.kind == "M" and ds["capture_date"].dtype.kind == "M"
    # the tables' convention: state rows at the end of each date, the first the initial control
    assert str(ds["date"].values[0])[:10] == "2019-12-18" and int(ds["day"][0]) == -1
    assert str(ds["date"].values[-1])[:10] == "2020-03-05" and int(ds["day"][-1]) == 77
    for v in ("p_held", "p_captured", "gov_area_km2", "lat", "lon"):
        assert ds[v].attrs["units"], v
    man = json.loads((out / "manifest.json").read_text())
    for key in ("scenario", "seed", "engine", "scenario_sha256", "posterior_sha256", "version"):
        if key in man and key != "version":
            assert ds.attrs[key] == man[key], key
    assert ds.attrs["replicas"] == N


def test_dataset_agrees_with_the_csv_tables(run) -> None:
    _, _, out = run
    ds = xr.open_dataset(out / "results.nc")
    held = pd.read_csv(out / "held_probability.csv", index_col="date")
    held = held.drop(columns=[c for c in ("day",) if c in held.columns])
    np.testing.assert_allclose(ds["p_held"].values, held.to_numpy(), atol=5e-5)  # csv: 4 dp
    assert list(held.columns) == list(ds["town"].values)
    assert [str(d)[:10] for d in ds["date"].values] == list(held.index)
    towns = pd.read_csv(out / "towns.csv", keep_default_na=False)
    for q, col in ((0.05, "q05"), (0.5, "q50"), (0.95, "q95")):
        dates = ds["capture_date_quantile"].sel(quantile=q).values
        got = ["" if np.isnat(d) else str(d)[:10] for d in dates]
        assert got == list(towns[col]), col
    np.testing.assert_allclose(ds["p_captured"].values, towns["p_captured"], atol=5e-5)
    terr = pd.read_csv(out / "territory.csv")
    np.testing.assert_allclose(ds["gov_area_km2"].sel(quantile=0.5).values, terr["q50_km2"],
                               atol=0.05)
    assert [str(d)[:10] for d in ds["date"].values] == list(terr["date"])


def test_per_replica_dates_are_the_parquet_days(run) -> None:
    summary, _, out = run
    ds = xr.open_dataset(out / "results.nc")
    start = np.datetime64("2019-12-19", "ns")
    for fname, var in (("capture_days.parquet", "capture_date"),
                       ("recapture_days.parquet", "recapture_date")):
        days = pd.read_parquet(out / fname).to_numpy()
        got = ds[var].values
        assert (np.isnat(got) == (days < 0)).all(), var
        ok = days >= 0
        assert ((got[ok] - start) / np.timedelta64(1, "D") == days[ok]).all(), var
    # two streams of the same run agree: a town was retaken at least once in a replica exactly
    # when that replica has a recapture date, and the first-capture quantiles come from the dates
    recaptured = (~np.isnat(ds["recapture_date"].values)).mean(axis=0)
    np.testing.assert_allclose(recaptured, ds["p_recaptured"].values, atol=1e-12)
    captured = (~np.isnat(ds["capture_date"].values)).mean(axis=0)
    np.testing.assert_allclose(captured, ds["p_captured"].values, atol=1e-12)
    assert summary.ensemble.n == N


def test_too_many_replicas_leave_out_the_per_replica_arrays_and_say_so(
        run, monkeypatch: pytest.MonkeyPatch) -> None:
    summary, c, out = run
    monkeypatch.setattr(arrays, "PER_REPLICA_MAX", N - 1)
    ds = to_dataset(summary.ensemble, c, per_replica=out)
    assert "capture_date" not in ds and "replica" not in ds.dims
    assert "left out" in ds.attrs["per_replica"]


def test_foreign_parquet_columns_are_a_clear_error(run, tmp_path: Path) -> None:
    _, c, out = run
    df = pd.read_parquet(out / "capture_days.parquet")
    df.rename(columns={df.columns[3]: "Nowhere"}).to_parquet(tmp_path / "capture_days.parquet")
    with pytest.raises(DataError, match=r"capture_days\.parquet.*columns.*Nowhere"):
        read_per_replica(tmp_path, c.theatre.names)


def test_simpy_engine_run_writes_results_nc_too(tmp_path: Path) -> None:
    sc = with_overrides(load_scenario(BASELINE), engine="des",
                        sets={"outputs.plots": False, "outputs.event_log": False})
    run_scenario(sc, tmp_path / "d", replicas=2, seed=8)
    ds = xr.open_dataset(tmp_path / "d" / "results.nc")
    days = pd.read_parquet(tmp_path / "d" / "capture_days.parquet").to_numpy()
    assert ds.sizes["replica"] == 2 and ds.attrs["engine"] == "des"
    assert (np.isnat(ds["capture_date"].values) == (days < 0)).all()
