"""The figures of a calibration run (drawn by :mod:`sim.plots`; this module only arranges them).

Every figure is written through a temporary sibling renamed into place (:func:`sim.plots.save`):
never a half-written file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.calibration import space
from sim.calibration.targets import Targets
from sim.theatre.theatre import Theatre


def save(ax: Any, path: Path) -> Path:
    """Save the figure of ``ax`` to ``path`` atomically."""
    from sim import plots

    return plots.save(ax, path)


def draw_all(out: Path, theatre: Theatre, start: dt.date, horizon: int, terms: pd.DataFrame,
             terms_ho: pd.DataFrame | None, pop: pd.DataFrame, names: list[str], sim: Any,
             targets: Targets, gens: pd.DataFrame, modifiers: Sequence[Any] = ()
             ) -> list[Path]:
    """Capture dates, error map, bursts, end state, PIT, territory, posterior pairs and the ABC
    generations of a run. ``modifiers``: the calibrated scenario's, whose pauses, ceasefires and
    Spring Shield are shaded on the territory chart."""
    from sim import plots

    paths = [save(plots.plot_capture_dates(terms, start=start, horizon=horizon),
                  out / "capture_dates.png"),
             save(plots.plot_error_map(theatre, terms), out / "error_map.png"),
             save(plots.plot_bursts(terms), out / "bursts.png"),
             save(plots.plot_end_state(theatre, terms), out / "end_state.png")]
    cap = terms[(terms["group"].isin(["captures", "recaptures", "retakes"]))
                & (terms["kind"] == "date")]
    paths.append(save(plots.plot_pit_histogram(cap["pit"].to_numpy(float)),
                      out / "pit_histogram.png"))
    if terms_ho is not None:
        paths.append(save(plots.plot_capture_dates(terms_ho, start=start, horizon=horizon),
                          out / "holdout_capture_dates.png"))
    paths.append(save(territory(theatre, start, horizon, sim, targets, modifiers),
                      out / "territory.png"))
    paths.append(save(plots.plot_posterior_marginals(pop, space.dims(names)),
                      out / "posterior_pairs.png"))
    paths.append(save(plots.plot_abc_generations(gens), out / "abc_generations.png"))
    return paths


def territory(theatre: Theatre, start: dt.date, horizon: int, sim: Any, targets: Targets,
              modifiers: Sequence[Any] = ()) -> Any:
    """The posterior predictive territory fan chart with the recorded area figures."""
    from sim import plots
    from sim.results import Ensemble

    ens = Ensemble(theatre.names, start, horizon, theatre.theatre_area_km2)
    ens.add(sim.first_days, sim.held_count, sim.gov_area, sim.n_recaptures)
    rec = targets.territory[targets.territory["quantity"] == "captured_area_km2"]
    end = start + dt.timedelta(days=horizon)
    return plots.plot_territory_fan(
        ens.territory_table(), recorded=rec[["date", "value", "certainty"]],
        periods=plots.periods_of(modifiers, end), label="posterior predictive",
        title=f"Territory taken by the government: posterior predictive ({ens.n:,} replicas) "
              "and the recorded figures")


def draw_sbc(out: Path, ranks: pd.DataFrame, names: list[str], n_draws: int) -> Path:
    """Rank histograms of the simulation-based calibration."""
    from sim import plots

    return save(plots.plot_sbc_ranks(ranks, names, n_draws), out / "sbc_ranks.png")
