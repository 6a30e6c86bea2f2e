"""Every figure draws what it promises: titles, shaded periods, legend entries, colour-bar labels,
degree axes, non-colliding labels, no date offset label; and figures are saved in the formats
asked for. Checked on the Axes objects, not on pixels."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

from sim import plots
from sim.model.modifiers import Modifier
from sim.plots import geomap
from sim.plots.posterior import weighted_median
from sim.theatre import Theatre

START = dt.date(2019, 12, 19)


def _legend(ax: Axes) -> list[str]:
    leg = ax.get_legend()
    assert leg is not None
    return [t.get_text() for t in leg.get_texts()]


def _colorbar_labels(ax: Axes) -> list[str]:
    fig = ax.get_figure()
    assert fig is not None
    return [a.get_ylabel() or a.get_xlabel() for a in fig.axes if a is not ax
            and a.get_label() == "<colorbar>"]


def _offset_text(ax: Axes) -> str:
    fig = ax.get_figure()
    assert fig is not None
    fig.canvas.draw()
    return ax.xaxis.get_offset_text().get_text()


def _modifiers() -> list[Modifier]:
    mk = Modifier.model_validate
    return [mk({"name": "weather_pause", "kind": "weather", "start": "2019-12-26",
                "end": "2020-01-09"}),
            mk({"name": "january_ceasefire", "kind": "ceasefire", "start": "2020-01-12",
                "end": "2020-01-24"}),
            mk({"name": "russian_air_december", "kind": "russian_air", "start": "2019-12-19"}),
            mk({"name": "spring_shield", "kind": "spring_shield", "start": "2020-02-27",
                "end": "2020-03-06"}),
            mk({"name": "moscow_ceasefire", "kind": "ceasefire", "start": "2020-03-06"}),
            mk({"name": "a_disabled_ceasefire", "kind": "ceasefire", "start": "2020-02-01",
                "enabled": False})]


def _territory(n_days: int = 78) -> pd.DataFrame:
    dates = [(START + dt.timedelta(days=i)).isoformat() for i in range(n_days + 1)]
    med = 8000 + 30.0 * np.arange(n_days + 1)
    return pd.DataFrame({"date": dates, "q05_km2": med - 300, "q25_km2": med - 100,
                         "q50_km2": med, "q75_km2": med + 100, "q95_km2": med + 300})


@pytest.fixture(autouse=True)
def _close_all() -> None:
    yield
    plt.close("all")


# -- shared helpers -------------------------------------------------------------------------

def test_date_axis_has_no_offset_label_and_names_the_year() -> None:
    _, ax = plt.subplots()
    days = pd.date_range("2019-12-19", "2020-03-06")
    ax.plot(days, np.arange(len(days)))
    plots.date_axis(ax)
    assert _offset_text(ax) == ""
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert any("2020" in t for t in labels), labels


def test_periods_come_from_the_modifiers() -> None:
    end = dt.date(2020, 3, 6)
    got = plots.periods_of(_modifiers(), end)
    assert [(p.label, p.start, p.end) for p in got] == [
        ("weather pause", dt.date(2019, 12, 26), dt.date(2020, 1, 9)),
        ("January ceasefire", dt.date(2020, 1, 12), dt.date(2020, 1, 24)),
        ("Spring Shield", dt.date(2020, 2, 27), end)]  # not the disabled, not the Moscow one


def test_save_writes_each_format_atomically(tmp_path: Path) -> None:
    _, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    out = plots.save(ax, tmp_path / "fig.png", formats=("png", "svg", "pdf"))
    assert out == tmp_path / "fig.png"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.pdf", "fig.png", "fig.svg"]
    assert (tmp_path / "fig.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "fig.pdf").read_bytes()[:5] == b"%PDF-"
    assert b"<svg" in (tmp_path / "fig.svg").read_bytes()[:2000]
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="figure format 'jpg'"):
        plots.save(ax, tmp_path / "other.png", formats=("png", "jpg"))
    assert not (tmp_path / "other.png").exists()


# -- run and comparison figures -------------------------------------------------------------

def test_territory_fan_shades_periods_and_draws_the_record() -> None:
    rec = pd.DataFrame({"date": [dt.date(2020, 2, 11), dt.date(2020, 3, 6)],
                        "value": [600.0, 2345.0], "certainty": ["approx", "range"]})
    ax = plots.plot_territory_fan(_territory(), recorded=rec,
                                  periods=plots.periods_of(_modifiers(), dt.date(2020, 3, 6)),
                                  label="simulated", title="baseline: territory (64 replicas)")
    spans = [p for p in ax.patches if str(p.get_gid()).startswith("period:")]
    assert sorted(p.get_gid() for p in spans) == ["period:January ceasefire",
                                                  "period:Spring Shield", "period:weather pause"]
    texts = {t.get_text() for t in ax.texts}
    assert {"weather pause", "January ceasefire", "Spring Shield"} <= texts
    assert "600 km², 11 Feb (approx)" in texts and "2,345 km², 6 Mar (range)" in texts
    pts = ax.collections[-1].get_offsets()
    assert sorted(np.asarray(pts)[:, 1].tolist()) == [600.0, 2345.0]
    assert "recorded (seed article)" in _legend(ax) and "simulated median" in _legend(ax)
    assert ax.get_title() == "baseline: territory (64 replicas)"
    assert _offset_text(ax) == ""


def test_difference_fan_has_title_visible_ci_and_lever_lines() -> None:
    t = _territory()
    diff = pd.DataFrame({"date": t["date"], "mean_km2": np.linspace(0, 1400, len(t)),
                         "ci_low_km2": np.linspace(0, 1370, len(t)),
                         "ci_high_km2": np.linspace(0, 1430, len(t)),
                         "q05_km2": np.linspace(0, 500, len(t)),
                         "q95_km2": np.linspace(0, 2100, len(t))})
    lever = ("spring shield", dt.date(2020, 2, 27))
    ax = plots.plot_difference_fan(diff, label="no_spring_shield - baseline", levers=[lever])
    assert "no_spring_shield - baseline" in ax.get_title()
    ci = [c for c in ax.collections if isinstance(c, PolyCollection)]
    band = next(c for c in ci if "95 % CI" in str(c.get_label()))
    spread = next(c for c in ci if "5–95" in str(c.get_label()))
    assert band.get_zorder() > spread.get_zorder() and (band.get_alpha() or 1) >= 0.5
    assert "±30 km² at the end" in str(band.get_label())
    x_lever = matplotlib.dates.date2num(pd.Timestamp(lever[1]))
    assert any(np.allclose(line.get_xdata(), x_lever) for line in ax.lines
               if line.get_linestyle() == "--")
    assert "spring shield: 27 Feb" in {t.get_text() for t in ax.texts}
    assert _offset_text(ax) == ""


def test_levers_are_the_modifiers_that_differ() -> None:
    from sim.compare import _levers

    base = _modifiers()
    off = [m.model_copy(update={"enabled": False}) if m.name == "spring_shield" else m
           for m in base]
    moved = [m.model_copy(update={"start": dt.date(2020, 2, 4)}) if m.name == "spring_shield"
             else m for m in base]
    a = SimpleNamespace(modifiers=tuple(base))
    assert _levers(a, SimpleNamespace(modifiers=tuple(off))) == (
        ("spring shield", dt.date(2020, 2, 27)),)
    assert _levers(a, SimpleNamespace(modifiers=tuple(moved))) == (
        ("spring shield", dt.date(2020, 2, 4)),)
    assert _levers(a, a) == ()


def test_capture_distributions_and_the_des_overview() -> None:
    names = ["A", "B", "C"]
    cap = np.zeros((3, 11), np.int64)
    cap[0, 2], cap[0, 3] = 6, 4          # A: always captured, days 2-3
    cap[1, 5], cap[1, 10] = 3, 7         # B: 30 % captured
    cap[2, 10] = 10                      # C: never
    log = pd.DataFrame({"time": [2.5, 5.2], "town": ["A", "B"],
                        "event": ["captured", "captured"]})
    left, right = plots.plot_des_overview(log, cap, names, 10, start=START,
                                          recorded={"A": dt.date(2019, 12, 21)},
                                          towns=("B", "C"))
    assert [t.get_text() for t in right.get_yticklabels()] == ["A", "B", "C"]
    pct = [t.get_text() for t in right.texts if t.get_text().endswith("%")]
    assert pct == ["100%", "30%", "0%"]
    assert "All 10 replicas" in right.get_title() and "Replica 0" in left.get_title()
    assert "recorded capture" in _legend(right)
    assert _offset_text(right) == "" and _offset_text(left) == ""


# -- calibration figures --------------------------------------------------------------------

def test_pit_histogram_has_a_title_and_a_band_over_the_bars() -> None:
    rng = np.random.default_rng(3)
    ax = plots.plot_pit_histogram(rng.uniform(size=80))
    assert "PIT of 80 recorded dates" in ax.get_title()
    bars = max(p.get_zorder() for p in ax.patches if p.get_label() != "_nolegend_"
               and p.get_height() < 80 and p.get_width() == pytest.approx(0.1))
    band = next(p for p in ax.patches if "90 % range" in str(p.get_label()))
    assert band.get_zorder() > bars
    assert len(_legend(ax)) == 3


def test_weighted_median() -> None:
    x = np.array([5.0, 1.0, 3.0, 2.0])
    assert weighted_median(x, np.ones(4)) == 2.0
    assert weighted_median(x, np.array([10.0, 1, 1, 1])) == 5.0


def test_posterior_pair_plot_marks_fit_prior_range_and_colour() -> None:
    from sim.calibration import space

    dims = space.dims(list(space.NAMES)[:3])
    rng = np.random.default_rng(5)
    post = pd.DataFrame({d.name: rng.uniform(d.low, d.high, 50) for d in dims})
    post["weight"] = rng.uniform(0.1, 1.0, 50)
    post["distance"] = rng.uniform(6.0, 8.0, 50)
    ax = plots.plot_posterior_marginals(post, dims)
    fig = ax.get_figure()
    assert fig is not None
    grid = np.asarray(fig.axes[:9]).reshape(3, 3)
    for i, d in enumerate(dims):
        med = weighted_median(post[d.name].to_numpy(), post["weight"].to_numpy())
        title = grid[i, i].get_title()
        assert f"prior [{d.low:g}, {d.high:g}]" in title and f"median {med:.3g}" in title
        assert grid[i, i].get_xlim() == pytest.approx((d.low, d.high))
        assert any(np.allclose(line.get_xdata(), med) for line in grid[i, i].lines)
    fit = [line for line in grid[2, 0].lines if line.get_marker() == "X"]
    assert len(fit) == 1
    assert fit[0].get_xdata()[0] == pytest.approx(
        weighted_median(post[dims[0].name].to_numpy(), post["weight"].to_numpy()))
    labels = [a.get_xlabel() for a in fig.axes if a.get_label() == "<colorbar>"]
    assert labels == ["ABC distance of the particle to the record (days; lower = closer)"]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("fitted point" in t for t in legend) and any("prior" in t for t in legend)


# -- maps -----------------------------------------------------------------------------------

def _label_boxes(ax: Axes) -> list[matplotlib.transforms.Bbox]:
    fig = ax.get_figure()
    assert fig is not None
    fig.canvas.draw()
    r = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    return [t.get_window_extent(r) for t in ax.texts]


def test_value_map_in_degrees_with_matching_colours(theatre: Theatre) -> None:
    v = np.linspace(0.0, 1.0, theatre.n_towns)
    v[3] = np.nan
    ax = plots.plot_theatre(theatre, values=v, vmin=0.0, vmax=1.0, cbar_label="P(held)",
                            title="map")
    assert _colorbar_labels(ax) == ["P(held)"]
    fig = ax.get_figure()
    assert fig is not None
    fig.canvas.draw()
    assert all(t.get_text().endswith("°E") for t in ax.get_xticklabels() if t.get_text())
    assert all(t.get_text().endswith("°N") for t in ax.get_yticklabels() if t.get_text())
    lon = theatre.towns["lon"].to_numpy()
    x0, x1 = ax.get_xlim()
    assert x0 < lon.min() and lon.max() < x1  # the axes are degrees of longitude
    cells = next(c for c in ax.collections if isinstance(c, PolyCollection))
    assert cells.get_alpha() is None  # no washing: the cells show the colour bar's colours
    face = cells.get_facecolors()
    cmap, norm = cells.get_cmap(), cells.norm
    first = [geomap.cell_lonlat(theatre, i) for i in range(5)]
    k = 0
    for i, polys in enumerate(first):
        want = np.asarray(matplotlib.colors.to_rgba(geomap.NO_VALUE_COLOUR) if np.isnan(v[i])
                          else cmap(norm(v[i])))
        for _ in polys:
            assert np.allclose(face[k], want), i
            k += 1
    legend = _legend(ax)
    assert {"M5 highway", "M4 highway", "Turkish observation post", "town / village"} <= set(
        legend)
    assert any(isinstance(a, AnchoredSizeBar) for a in ax.artists)
    boxes = _label_boxes(ax)
    assert len(boxes) >= 8  # most of the twelve key towns find a place
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_control_map_legend_matches_its_fills(theatre: Theatre) -> None:
    ax = plots.plot_theatre(theatre)
    cells = next(c for c in ax.collections if isinstance(c, PolyCollection))
    fills = {matplotlib.colors.to_hex(c) for c in cells.get_facecolors()}
    leg = ax.get_legend()
    assert leg is not None
    by_label = {t.get_text(): h for t, h in zip(leg.get_texts(), leg.legend_handles,
                                                 strict=True)}
    patches = {matplotlib.colors.to_hex(by_label[s].get_facecolor())
               for s in ("government", "opposition")}
    assert fills == patches
    assert _colorbar_labels(ax) == []


def test_score_maps_keep_the_base_legend_and_label_the_colour_bar(theatre: Theatre) -> None:
    terms = pd.DataFrame({"group": ["captures", "captures", "end_state", "end_state"],
                          "kind": ["date", "date", "government", "opposition"],
                          "node": [5, 7, 5, 9], "median_day": [10.0, np.nan, np.nan, np.nan],
                          "day": [4.0, 20.0, np.nan, np.nan], "score": [np.nan, np.nan, 0.1, 0.4],
                          "weight": [1.0, 1.0, 1.0, 1.0]})
    ax = plots.plot_error_map(theatre, terms)
    assert "median: never captured" in _legend(ax) and "M5 highway" in _legend(ax)
    assert _colorbar_labels(ax) == ["median simulated − recorded capture day (days; + = late)"]
    ax = plots.plot_end_state(theatre, terms)
    assert {"recorded: government", "M5 highway"} <= set(_legend(ax))
    assert _colorbar_labels(ax) == ["Brier contribution (P(government) − held)²"]


# -- the run's figures, end to end ----------------------------------------------------------

def test_run_figures_name_the_scenario_and_come_in_the_formats_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sim import cli

    seen: dict[str, dict[str, object]] = {}
    original = plots.save

    def spy(ax: Axes, path: str | Path, *args: object, **kw: object) -> Path:
        # what the Axes show, read before save closes the figure
        seen[Path(path).name] = {
            "title": ax.get_title(), "offset": _offset_text(ax), "legend": _legend(ax),
            "cbar": _colorbar_labels(ax),
            "spans": sorted(str(p.get_gid()) for p in ax.patches
                            if str(p.get_gid()).startswith("period:"))}
        return original(ax, path, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(plots, "save", spy)
    out = tmp_path / "run"
    baseline = str(Path(__file__).parents[1] / "scenarios" / "baseline.yaml")
    assert cli.main(["run", baseline, "--replicas", "64", "--workers", "1", "--out", str(out),
                     "--quiet", "--figure-format", "svg"]) == 0
    for f in ("territory", "final_map"):
        assert (out / f"{f}.png").is_file() and (out / f"{f}.svg").is_file()
    assert not (out / "territory.pdf").exists()
    terr = seen["territory.png"]
    assert terr["title"] == "baseline: territory taken by the government (64 replicas)"
    assert terr["spans"] == ["period:January ceasefire", "period:Spring Shield",
                             "period:weather pause"]
    assert "recorded (seed article)" in terr["legend"]  # type: ignore[operator]
    assert terr["offset"] == ""
    fmap = seen["final_map.png"]
    assert str(fmap["title"]).startswith("baseline: P(government holds the town)")
    assert "(64 replicas)" in str(fmap["title"])
    assert fmap["cbar"] == ["P(government holds the town)"]


def test_figure_formats_field_is_validated() -> None:
    from sim.errors import ScenarioError
    from sim.scenario import load_scenario, with_overrides

    sc = load_scenario(str(Path(__file__).parents[1] / "scenarios" / "baseline.yaml"))
    assert sc.outputs.figure_formats == ["png"]
    assert with_overrides(sc, sets={"outputs.figure_formats": ["png", "pdf"]}
                          ).outputs.figure_formats == ["png", "pdf"]
    with pytest.raises(ScenarioError, match="figure_formats"):
        with_overrides(sc, sets={"outputs.figure_formats": ["jpg"]})


def test_basemap_is_optional(theatre: Theatre, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "contextily", None)  # as if not installed: no network
    with pytest.warns(UserWarning, match="basemap: contextily is not installed"):
        ax = plots.plot_theatre(theatre, basemap=True, label_towns=())
    assert any(isinstance(c, PolyCollection) for c in ax.collections)


def _dated_terms() -> pd.DataFrame:
    rows = [("captures", "Saraqib", 1, "Saraqib", "node", 41.0, "jan_feb", "date", 38.0, 35.0,
             45.0),
            ("captures", "Afs", 1, "Saraqib", "member", 48.0, "jan_feb", "by", 38.0, 35.0, 45.0),
            ("recaptures", "Saraqib", 1, "Saraqib", "node", 58.0, "late_feb", "date", np.nan,
             60.0, np.nan)]
    cols = ["group", "name", "node", "town", "role", "day", "phase", "kind", "median_day",
            "q10", "q90"]
    return pd.DataFrame(rows, columns=cols)


def test_capture_dates_rows_legend_and_dates() -> None:
    ax = plots.plot_capture_dates(_dated_terms(), start=START, horizon=78)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Saraqib", "   · Afs (Saraqib)",
                                                            "Saraqib"]
    legend = _legend(ax)
    assert {"simulated 80 % interval", "recorded capture", "recorded recapture",
            "median: never (not by the end of the run)"} <= set(legend)
    assert ax.get_title().startswith("Every dated target")
    assert _offset_text(ax) == ""


def test_bursts_one_panel_per_window_with_title() -> None:
    c = pd.DataFrame({"group": ["counts", "counts"], "name": ["w1", "w2"],
                      "target": ["15 localities", "22 localities"], "kind": ["approx", "at_least"],
                      "distribution": [[0, 2, 5, 3], [1, 1, 8]], "recorded": [2.0, 1.0],
                      "replay": [1.0, 2.0], "naive_count": [3.0, np.nan], "score": [1.2, 0.4]})
    ax = plots.plot_bursts(c)
    fig = ax.get_figure()
    assert fig is not None
    panels = [a for a in fig.axes if a.axison]
    assert len(panels) == 2 and panels[1].get_title().startswith("w2: 22 localities")
    assert fig.get_suptitle().startswith("Bursts")
    assert fig.legends[0].get_texts()[0].get_text() == "simulated"


def test_abc_generations_and_sbc_ranks_have_titles() -> None:
    gens = pd.DataFrame({"generation": [0, 1, 2], "epsilon": [np.inf, 7.7, 7.3],
                         "acceptance_rate": [1.0, 0.5, 0.3],
                         "distance_median": [7.7, 7.4, 7.1]})
    ax = plots.plot_abc_generations(gens)
    assert "ABC-SMC" in ax.get_title() and "tolerance (days)" in _legend(ax)
    rng = np.random.default_rng(11)
    names = ["speed_scale", "modifiers.spring_shield.counterattack_mult"]
    table = pd.DataFrame({f"u.{n}": rng.uniform(size=30) for n in names})
    ax = plots.plot_sbc_ranks(table, names, n_draws=26)
    fig = ax.get_figure()
    assert fig is not None
    assert "26 posterior draws" in fig.get_suptitle() and "30 synthetic" in fig.get_suptitle()
    assert [a.get_title() for a in fig.axes if a.axison] == ["speed_scale",
                                                              "SS counterattack_mult"]
