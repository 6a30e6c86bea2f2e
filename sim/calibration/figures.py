"""The figures of a calibration run (drawn by :mod:`sim.plots`; this module only arranges them).

Every figure is written through a temporary sibling renamed into place (:func:`sim.plots.save`):
never a half-written file.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
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


def redraw_record(record: Path) -> list[Path]:
    """Redraw the figures of a finished calibration run in ``record`` from its own tables, with
    the current plotting code (the record's scores and tables are not touched).

    Everything but ``territory.png`` is drawn from the written tables; the territory fan needs
    the per-replica areas, which are not kept, so the posterior predictive is simulated again
    as the run did (its first ``predictive.draws`` posterior samples x
    ``predictive.replicas_per_draw`` replicas, seed ``seed + 7``) with the current model code.
    The scenario is ``config.json``'s, relative to the record's parent folder."""
    from sim.calibration.calibrate import _draws
    from sim.calibration.model import CampaignFactory, simulate_predictive
    from sim.calibration.targets import build_targets
    from sim.scenario import load_scenario

    cfg = json.loads((record / "config.json").read_text())
    factory = CampaignFactory(load_scenario(record.parent / cfg["scenario"]))
    targets = build_targets(factory.theatre)
    horizon = (factory.end - factory.start).days
    pop = pd.read_csv(record / "posterior_population.csv")
    names = [c for c in pop.columns if c not in ("weight", "distance")]
    fixed = factory.base_values([n for n in space.NAMES if n not in names])
    samples = pd.read_csv(record / "posterior_samples.csv", comment="#")[names]
    k, r = cfg["predictive"]["draws"], cfg["predictive"]["replicas_per_draw"]
    sim = simulate_predictive(factory, _draws(samples.iloc[:k], fixed), r, cfg["seed"] + 7)

    def terms(name: str) -> pd.DataFrame | None:
        if not (record / name).is_file():
            return None
        t = pd.read_csv(record / name)
        t["distribution"] = [ast.literal_eval(x) if isinstance(x, str) else None
                             for x in t["distribution"]]
        return t

    ins = terms("terms_in_sample.csv")
    assert ins is not None, f"{record}: no terms_in_sample.csv"
    paths = draw_all(record, factory.theatre, factory.start, horizon, ins,
                     terms("terms_holdout.csv"), pop, names, sim, targets,
                     pd.read_csv(record / "abc_generations.csv"),
                     modifiers=factory.modifiers)
    if (record / "sbc_ranks.csv").is_file():
        ref = pd.read_csv(record / "sbc_reference.csv")
        paths.append(draw_sbc(record, pd.read_csv(record / "sbc_ranks.csv"), names,
                              int(ref["n_accept"].iloc[0])))
    return paths
