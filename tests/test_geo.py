"""``towns.geojson``, ``cells.geojson`` and ``front.geojson``: valid RFC 7946 files that GDAL
(through geopandas) reads as they are, carrying the run's results; the front as a contour."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from scipy.interpolate import LinearNDInterpolator

from sim.geo.front import FrontContours, recorded_control
from sim.model.campaign import FrontCampaign
from sim.run import RunSummary, build_campaign, run_scenario
from sim.scenario import load_scenario
from sim.scenario.load import with_overrides
from sim.theatre import recorded_captures

BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunSummary, FrontCampaign, Path]:
    sc = with_overrides(load_scenario(BASELINE), sets={"outputs.plots": False})
    c = build_campaign(sc)
    out = tmp_path_factory.mktemp("geo") / "run"
    return run_scenario(sc, out, replicas=200, seed=3, campaign=c), c, out


@pytest.mark.parametrize("name", ["towns", "cells", "front"])
def test_geojson_reads_in_geopandas_valid_in_wgs84_over_the_theatre(run, name: str) -> None:
    _, _, out = run
    raw = (out / f"{name}.geojson").read_text()
    json.loads(raw, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))  # no NaN
    g = gpd.read_file(out / f"{name}.geojson")
    assert g.crs is not None and g.crs.to_epsg() == 4326
    assert len(g) > 0 and g.is_valid.all() and not g.is_empty.any()
    lon0, lat0, lon1, lat1 = g.total_bounds
    assert 35 < lon0 < lon1 < 38 and 35 < lat0 < lat1 < 37


def test_towns_and_cells_carry_the_run_results_in_lon_lat_order(run, theatre) -> None:
    _, _, out = run
    towns = pd.read_csv(out / "towns.csv", keep_default_na=False)
    for name in ("towns", "cells"):
        g = gpd.read_file(out / f"{name}.geojson")
        assert list(g["town"]) == list(towns["town"])
        np.testing.assert_allclose(g["p_held_end"], towns["p_held_at_end"], atol=5e-5)
        for q in ("q05", "q50", "q95"):  # GDAL reads ISO dates as dates
            col = pd.to_datetime(g[f"capture_{q}"]).dt.strftime("%Y-%m-%d").fillna("")
            assert list(col) == list(towns[q]), (name, q)
    pts = gpd.read_file(out / "towns.geojson")
    np.testing.assert_allclose(pts.geometry.x, theatre.towns["lon"], atol=1e-5)  # x = lon
    np.testing.assert_allclose(pts.geometry.y, theatre.towns["lat"], atol=1e-5)
    rec = recorded_captures(theatre)
    saraqib = theatre.resolve("Saraqib")
    got = pd.Timestamp(pts.loc[saraqib, "recorded_capture"]).date()
    assert got == rec.set_index("node").loc[saraqib, "date"]


def test_cells_tile_the_theatre_each_around_its_town_rings_counter_clockwise(run,
                                                                           theatre) -> None:
    _, _, out = run
    data = json.loads((out / "cells.geojson").read_text())
    cells = [shapely.geometry.shape(f["geometry"]) for f in data["features"]]
    pts = shapely.points(theatre.towns["lon"], theatre.towns["lat"])
    assert all(c.contains(p) for c, p in zip(cells, pts, strict=True))
    for c in cells:
        for poly in getattr(c, "geoms", [c]):
            assert poly.exterior.is_ccw  # RFC 7946 section 3.1.6
    geod = Geod(ellps="WGS84")
    area = sum(abs(geod.geometry_area_perimeter(c)[0]) for c in cells) / 1e6
    union = abs(geod.geometry_area_perimeter(shapely.union_all(cells))[0]) / 1e6
    assert union == pytest.approx(area, rel=1e-3)  # no overlaps
    assert area == pytest.approx(theatre.theatre_area_km2, rel=0.01)  # the projection's areas


def test_front_contour_lies_where_the_interpolated_probability_is_one_half(run,
                                                                          theatre) -> None:
    summary, _, _ = run
    p = summary.ensemble.p_held_at_end()
    fc = FrontContours(theatre)
    interp = LinearNDInterpolator(theatre.xy_km, p)
    exact = interp(fc.X, fc.Y)
    np.testing.assert_allclose(fc.surface(p), exact, atol=1e-9, equal_nan=True)
    lines = fc.lines(p)
    assert lines
    verts = np.concatenate(lines)
    xy = theatre.projection.to_km(verts[:, 1], verts[:, 0])
    z = interp(xy)
    # contourpy interpolates linearly between grid nodes 1 km apart; where no triangle edge
    # crosses the grid step the surface is linear there and the vertex is exactly at 0.5
    assert np.median(np.abs(z - 0.5)) < 0.01 and np.nanmax(np.abs(z - 0.5)) < 0.2
    assert fc.lines(np.ones(theatre.n_towns)) == []


def test_front_geojson_weekly_with_the_record_beside_and_equal_on_day_zero(run) -> None:
    _, _, out = run
    data = json.loads((out / "front.geojson").read_text())
    by = {(f["properties"]["date"], f["properties"]["kind"]): f for f in data["features"]}
    dates = sorted({d for d, _ in by})
    # the end of each date: the first is the initial control (end of 18 Dec), the last 5 Mar
    assert dates[0] == "2019-12-18" and dates[-1] == "2020-03-05" and dates[1] == "2019-12-25"
    assert all((d, "simulated") in by and (d, "recorded") in by for d in dates)
    # at the start every replica holds the initial control: one line, simulated or recorded
    a, b = (shapely.geometry.shape(by[(dates[0], k)]["geometry"])
            for k in ("simulated", "recorded"))
    assert a.equals(b)


def test_recorded_control_changes_the_day_after_each_recorded_capture(theatre) -> None:
    import datetime as dt

    start = dt.date(2019, 12, 19)
    rc = recorded_control(theatre, start, 79)
    assert (rc[0] == theatre.initial_control).all()
    rec = recorded_captures(theatre)
    assert len(rec) > 20
    for node, day in zip(rec["node"], rec["day"], strict=True):
        # row day + 1 is the end of the capture's date (row 0: the initial control)
        assert rc[day, node] == 0, theatre.names[node]
        if day + 1 < len(rc):  # a capture dated 6 Mar falls after the run's last date
            assert rc[day + 1, node] == 1, theatre.names[node]
    changed = (rc != rc[0]).any(axis=0)
    assert set(np.flatnonzero(changed)) <= set(rec["node"])


def test_identical_runs_write_identical_files(run, tmp_path: Path) -> None:
    from sim.geo.outputs import write_geo_outputs

    summary, c, _ = run
    files = {}
    for name, wall in (("a", 1.0), ("b", 2.0)):  # the wall time differs between identical runs
        (tmp_path / name).mkdir()
        written = write_geo_outputs(tmp_path / name, c, summary.ensemble, html_map=True,
                                    provenance={"seed": 3, "wall_time_s": wall})
        files[name] = {p.name: p.read_bytes() for p in written}
    assert sorted(files["a"]) == ["cells.geojson", "front.geojson", "map.html", "results.nc",
                                  "towns.geojson"]
    assert files["a"] == files["b"]
