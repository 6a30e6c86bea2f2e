"""``front.gif``: one frame per date, small, on request; its titles' phase and modifiers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from PIL import Image

from sim import cli
from sim.plots.animation import active_modifiers, phase_on
from sim.run import build_campaign
from sim.scenario import load_scenario

BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"


def test_animation_is_written_on_request_one_frame_per_date(tmp_path: Path) -> None:
    sc = load_scenario(BASELINE)
    assert not sc.outputs.animation  # off by default: it costs seconds per run
    c = build_campaign(sc)
    quick = tmp_path / "quick.yaml"  # the baseline without the static plots and the map
    quick.write_text(f"name: quick\ndescription: x\nextends: {BASELINE}\n"
                     "outputs:\n  plots: false\n")
    assert cli.main(["run", str(quick), "--replicas", "64", "--seed", "1", "--out",
                     str(tmp_path / "r"), "--quiet", "--animation"]) == 0
    gif = tmp_path / "r" / "front.gif"
    assert gif.stat().st_size < 3_000_000
    im = Image.open(gif)
    assert im.n_frames == c.n_days + 1
    im.seek(0)
    first = np.asarray(im.convert("RGB"), int)
    im.seek(im.n_frames - 1)
    last = np.asarray(im.convert("RGB"), int)
    # the front moved: a good share of the picture changed colour between 19 Dec and 6 Mar
    assert (np.abs(first - last).sum(axis=2) > 30).mean() > 0.02


def test_titles_name_the_recorded_phase_and_the_modifiers_in_force() -> None:
    c = build_campaign(load_scenario(BASELINE))
    assert phase_on(c, dt.date(2019, 12, 19)) == "offensive start"
    assert phase_on(c, dt.date(2020, 1, 13)) == "january ceasefire"
    assert phase_on(c, dt.date(2020, 3, 1)) == "spring shield"
    on = active_modifiers(c, dt.date(2020, 2, 28))
    assert "spring_shield" in on and "weather_pause" not in on
    assert "weather_pause" in active_modifiers(c, dt.date(2020, 1, 1))
    assert "spring_shield" not in active_modifiers(c, dt.date(2020, 2, 26))
