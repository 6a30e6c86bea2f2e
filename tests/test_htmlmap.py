"""``map.html`` in a real browser: headless Chromium loads the run's map with the network closed
and draws its layers (Leaflet's SVG paths, the cells in the colours of their P(held))."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sim.geo.htmlmap import FILL_OPACITY, _posts, palette
from sim.model.campaign import FrontCampaign
from sim.run import RunSummary, build_campaign, run_scenario
from sim.scenario import load_scenario

BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"
#: Leaflet's map background (leaflet.css, .leaflet-container) under the cells without tiles.
BACKGROUND = np.array([0xDD, 0xDD, 0xDD], float)


def chromium() -> str:
    """Debian's chromium; the test fails (never skips) without it: `make test` installs it."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                        else None)
    if path is None:
        pytest.fail("chromium not found: `make chromium` (apt-get install chromium) installs it")
    return path


def browse(page: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={tmp / 'profile'}", "--hide-scrollbars",
           "--window-size=1100,900", *args, page.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunSummary, FrontCampaign, Path]:
    sc = load_scenario(BASELINE)
    c = build_campaign(sc)
    out = tmp_path_factory.mktemp("map") / "run"
    return run_scenario(sc, out, replicas=200, seed=2, campaign=c), c, out


def test_map_page_needs_no_network_for_its_scripts(run) -> None:
    _, _, out = run
    html = (out / "map.html").read_text()
    assert not re.findall(r"<script[^>]+src=", html)
    assert not re.findall(r"<link[^>]+href=[\"']?https?:", html)
    assert "Leaflet 1.9.4" in html


def test_chromium_draws_every_cell_in_the_colour_of_its_probability(run, tmp_path: Path) -> None:
    summary, c, out = run
    dom = browse(out / "map.html", tmp_path, "--dump-dom").stdout
    paths = re.findall(r"<path[^>]*>", dom)
    interactive = [p for p in paths if "leaflet-interactive" in p]
    n = c.n_towns
    # cells + town markers + the M4 and M5 + the simulated and recorded front lines
    assert len(interactive) >= 2 * n + 2 + 2
    cells = [p for p in interactive if f'fill-opacity="{FILL_OPACITY}"' in p]
    assert len(cells) == n
    fills = [re.search(r'fill="(#[0-9a-f]{6})"', p).group(1) for p in cells]  # type: ignore
    pal = palette()
    # the page rounds P to 3 decimals and picks the colour with JavaScript's Math.round
    idx = np.floor(np.round(summary.ensemble.p_held_at_end(), 3) * 100 + 0.5).astype(int)
    expected = [pal[i] for i in idx]
    assert fills == expected
    assert "end of <b>2020-03-05</b>" in dom  # the slider starts at the last date


def test_the_date_slider_recolours_the_cells(run, tmp_path: Path) -> None:
    _, c, out = run
    page = tmp_path / "first_date.html"
    # what a user does: move the slider to its first date (the page's script runs first)
    page.write_text((out / "map.html").read_text() + '<script>var s = document.querySelector('
                    '".idlib-slider input"); s.value = 0; s.dispatchEvent(new Event("input"));'
                    '</script>')
    dom = browse(page, tmp_path, "--dump-dom").stdout
    cells = [p for p in re.findall(r"<path[^>]*>", dom) if f'fill-opacity="{FILL_OPACITY}"' in p]
    fills = [re.search(r'fill="(#[0-9a-f]{6})"', p).group(1) for p in cells]  # type: ignore
    pal = palette()
    # at the start every replica holds the initial control: the two ends of the colour map
    assert fills == [pal[100] if g else pal[0] for g in c.theatre.initial_control]
    assert "end of <b>2019-12-18</b>" in dom
    # posts set up during the campaign (the Saraqib ring on 1 Feb, ...) are not there on 19 Dec
    groups = _posts(c)
    assert any(g["since"] for g in groups)
    assert dom.count('title="Turkish observation post"') == sum(g["since"] is None for g in groups)


def test_chromium_screenshot_shows_the_colour_map(run, tmp_path: Path) -> None:
    summary, _, out = run
    shot = tmp_path / "map.png"
    browse(out / "map.html", tmp_path, f"--screenshot={shot}")
    img = np.asarray(Image.open(shot).convert("RGB"), float)
    pal = np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in palette()], float)
    # what a cell of P = i / 100 looks like over the map background (tiles cannot load here)
    seen = FILL_OPACITY * pal + (1 - FILL_OPACITY) * BACKGROUND
    colours, count = np.unique(img.reshape(-1, 3), axis=0, return_counts=True)
    dist = np.linalg.norm(colours[:, None, :] - seen[None, :, :], axis=2)
    near = dist.min(axis=1) < 6
    which = dist.argmin(axis=1)
    assert count[near].sum() > 0.15 * count.sum()  # the cells fill a good part of the window
    p = summary.ensemble.p_held_at_end()
    assert (p < 0.1).any() and (p > 0.9).any()
    # both ends of the colour map are drawn: opposition-held and government-held cells
    assert count[near & (which <= 10)].sum() > 2000 and count[near & (which >= 90)].sum() > 2000
