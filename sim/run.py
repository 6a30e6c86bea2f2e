"""Running a scenario: build its front-model campaign, run an engine, write the outputs.

Both engines run the moving-front model (docs/MODEL.md): the batch core
(:func:`~sim.engines.batch.run_front_batch`) and the SimPy engine
(:func:`~sim.engines.des.run_front_replica`). When the scenario names a ``posterior``,
replica ``i`` runs the parameters of the posterior row it draws (:mod:`sim.model.posterior`).

Output files (all in the run directory; documented in the README, "Outputs"). Days and dates
follow one convention (:mod:`sim.results`): day ``d`` is the date ``start + d`` (day 0 = 19 Dec
2019); an event on day ``d`` happened during that date; a state at day ``d`` is the state at the
end of that date (day ``-1``: the start). Every table has a ``date`` column beside its ``day``.

``manifest.json``
    seed, scenario name and hash, version, engine, replicas, wall time, the posterior file and
    the digest of its samples (``posterior_file``, ``posterior_sha256``; ``null`` without one);
    ``producer``, ``kind`` and the list of ``files`` mark the folder as an output idlib-sim may
    replace (:mod:`sim.outputs`).
``towns.csv``
    per town: ``town, p_captured, p_held_at_end, p_recaptured, q05 .. q95`` (first-capture dates).
``territory.csv``
    ``day, date``, then government-held area at the end of that date (mean and quantiles, km²),
    counting the partial progress of the front into towns not yet taken.
``held_probability.csv``
    ``day, date``, then per town the probability that the government holds it at the end of
    that date.
``capture_days.parquet``
    per replica (rows) and town (columns): the day of the first government capture (``-1`` =
    never). The file's schema metadata holds ``day0`` (the ISO date of day 0) and the convention.
    Written chunk by chunk.
``recapture_days.parquet``, ``last_capture_days.parquet``
    the same layout: the day of the opposition's first recapture of the town, and the day of the
    government's last capture (its retaking, when later than the first recapture); ``-1`` = never.
``events.csv`` (SimPy engine)
    the full event log of every replica: ``replica, time, day, date, town, event, formation,
    side, modifier`` (the front engine's events: orders, objectives, strikes, pauses, breaches,
    captures, recaptures, cut-off towns, routs and rallies, reinforcements, modifiers).
``control_daily.parquet`` (SimPy engine)
    ``replica, day, date, town, control`` at the end of each day (1 = government).
``area_daily.csv`` (SimPy engine)
    ``replica, day, date, gov_area_km2``: government-held area at the end of each day with
    partial progress (day ``-1``: the start). The front model's groups keep no per-day strength
    record, so the first model's ``strength_daily.csv`` is gone.
``displacement.csv``, ``displacement.png``
    people displaced by the end of each date (mean, q05 .. q95) with the article's figures
    beside them (:mod:`sim.displacement`), and their fan chart.
``territory.png``, ``final_map.png``
    plots (unless ``outputs.plots`` is false): the territory fan chart (recorded area figures,
    shaded pauses, ceasefires and Spring Shield) and the map of P(government holds) at the end;
    also as SVG or PDF beside the PNG when ``outputs.figure_formats`` asks for them.
``timeline.png`` (SimPy engine)
    replica 0's captures and recaptures beside the first-capture dates across all replicas.
``results.nc``, ``towns.geojson``, ``cells.geojson``, ``front.geojson``, ``map.html``, ``front.gif``
    the run as a NetCDF Dataset, its geography, the interactive map and the animation (if
    ``outputs.animation``): :mod:`sim.geo.outputs`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.displacement.tables import write_displacement
from sim.engines.chunk import BatchChunk
from sim.engines.des import run_front_replica
from sim.geo.outputs import write_geo_outputs
from sim.model.campaign import FrontCampaign, make_front_campaign
from sim.model.forces import Forces, Order, load_forces
from sim.model.posterior import Posterior
from sim.outputs import atomic_dir, write_manifest
from sim.results import Ensemble, state_days
from sim.scenario import Scenario
from sim.theatre.theatre import Theatre, day_index
from sim.world import default_world


def build_campaign(scenario: Scenario, theatre: Theatre | None = None,
                   forces: Forces | None = None) -> FrontCampaign:
    """The front-model campaign a scenario describes: its ``params``, modifiers and period, and
    the forces with its overrides applied (an added order of a formation is an order of that
    group). The posterior is not part of it: pass ``scenario.posterior_samples()`` to the
    engines."""
    if theatre is None:
        th, fo = default_world()
    else:
        th, fo = theatre, forces or load_forces(theatre)
    fo = apply_force_overrides(fo, scenario, th)
    return make_front_campaign(th, fo, scenario.params, scenario.modifier_list(),
                               scenario.period.start, scenario.period.end)


def apply_force_overrides(forces: Forces, scenario: Scenario, theatre: Theatre) -> Forces:
    """Forces with the scenario's strength overrides and added orders (names are checked at
    load time; a clear error remains here for scenarios built in code)."""
    from sim.errors import ScenarioError, did_you_mean

    def strengths(overrides: dict[str, Any], names: tuple[str, ...], values: np.ndarray,
                  group: str) -> np.ndarray:
        out = values.copy()
        for name, ov in overrides.items():
            if name not in names:
                raise ScenarioError(f"{scenario.source_file}: field 'forces.{group}.{name}': "
                                    f"unknown {group[:-1]}" + did_you_mean(name, names))
            if ov.strength_k is not None:
                out[names.index(name)] = ov.strength_k
        return out

    nominal = strengths(scenario.forces.formations, forces.formations, forces.nominal_k,
                        "formations")
    sectors = strengths(scenario.forces.sectors, forces.sectors, forces.sector_nominal_k,
                        "sectors")
    orders = [list(o) for o in forces.orders]
    for name, added in scenario.forces.orders.items():
        if name not in forces.formations:
            raise ScenarioError(f"{scenario.source_file}: field 'forces.orders.{name}': "
                                "unknown formation" + did_you_mean(name, forces.formations))
        k = forces.formations.index(name)
        for o in added:
            objs = tuple(theatre.resolve(t) for t in o.objectives)
            orders[k].append(Order(day_index(o.start), objs, o.phase))
        orders[k].sort(key=lambda o: o.start_day)
    return replace(forces, nominal_k=nominal, sector_nominal_k=sectors,
                   orders=tuple(tuple(o) for o in orders))


@dataclass
class RunSummary:
    ensemble: Ensemble
    wall_s: float
    directory: Path | None


def new_ensemble(c: FrontCampaign) -> Ensemble:
    return Ensemble(c.theatre.names, c.start, c.n_days, c.theatre.theatre_area_km2)


def simulate_batch(c: FrontCampaign, seed: int, n: int,
                   on_chunk: Callable[[BatchChunk], None] | None = None,
                   progress: bool = False, posterior: Posterior | None = None,
                   workers: int | None = 1, scheduler: Any = None,
                   ensemble: Ensemble | None = None, first_task: int = 0) -> Ensemble:
    """Run the front batch core and aggregate; ``on_chunk(chunk)`` sees each chunk, in replica
    order. ``workers`` processes (``None``: all cores) or a Dask ``scheduler`` run the blocks
    (:mod:`sim.parallel`); the results do not depend on either. ``ensemble``, ``first_task``:
    a resumed run (:mod:`sim.checkpoint`): the aggregates of the tasks before ``first_task``."""
    from sim.parallel import Progress, batch_job, map_blocks, tasks

    ens = new_ensemble(c) if ensemble is None else ensemble
    bar = Progress(n, len(tasks(n)), show=progress)
    bar.skip(first_task, ens.n)
    for chunk in map_blocks(batch_job, (c, seed, (), (), posterior), n, workers=workers,
                            scheduler=scheduler, progress=bar, first_task=first_task):
        ens.add(chunk.first_capture_day, chunk.held_count, chunk.gov_area_km2, chunk.n_recaptures)
        if on_chunk is not None:
            on_chunk(chunk)
    bar.close()
    return ens


def run_scenario(scenario: Scenario, out: str | Path | None = None, *, engine: str | None = None,
                 replicas: int | None = None, seed: int | None = None,
                 progress: bool = False, campaign: FrontCampaign | None = None,
                 workers: int | None = 1, scheduler: Any = None,
                 plots: bool | None = None, resume: bool = False) -> RunSummary:
    """Run ``scenario`` and write its outputs to ``out`` (``None``: keep them in memory).

    The keyword arguments, when given, override the scenario's engine, replicas and seed.
    ``workers`` / ``scheduler``: where the batch core's blocks run (:mod:`sim.parallel`); the
    SimPy engine runs in this process. ``plots``: draw the run's territory and end-of-run maps
    (``None``: as the scenario's ``outputs.plots`` says; the API draws them only when a result
    is saved). A batch run to ``out`` stopped by Ctrl-C or SIGTERM keeps a checkpoint and raises
    :class:`~sim.checkpoint.RunInterrupted`; ``resume=True`` continues it
    (:mod:`sim.checkpoint`: the outputs are those of an uninterrupted run)."""
    engine = engine or scenario.engine
    n = replicas if replicas is not None else scenario.replicas
    seed = seed if seed is not None else scenario.seed
    c = campaign or build_campaign(scenario)
    post = scenario.posterior_samples()
    if resume and (engine != "batch" or out is None):
        from sim.checkpoint import CheckpointError

        raise CheckpointError(f"--resume: only a batch-engine run written to a folder can be "
                              f"resumed (this one: engine {engine!r}, out {out!r})")
    t0 = time.perf_counter()
    if out is None:
        if engine == "batch":
            ens = simulate_batch(c, seed, n, progress=progress, posterior=post,
                                 workers=workers, scheduler=scheduler)
        else:
            ens = _des(c, seed, n, None, progress, posterior=post)
        return RunSummary(ens, time.perf_counter() - t0, None)
    with atomic_dir(out, kind="run") as tmp:
        if engine == "batch":
            ens, prev_wall = _batch_to_dir(tmp, out, scenario, c, seed, n, post, progress,
                                           workers, scheduler, resume, t0)
            t0 -= prev_wall  # the wall time of a resumed run includes its earlier sessions
        else:
            ens = _des(c, seed, n, tmp, progress, event_log=scenario.outputs.event_log,
                       posterior=post, formats=tuple(scenario.outputs.figure_formats))
        wall = time.perf_counter() - t0
        from sim.progress import stage

        draw = scenario.outputs.plots if plots is None else plots
        with stage("writing tables and plots" if draw else "writing tables", progress):
            _write_tables(tmp, ens)
            write_displacement(tmp, c, plots=draw)
            if draw:
                _write_plots(tmp, c, ens, scenario.name, tuple(scenario.outputs.figure_formats))
        manifest = dict(scenario=scenario.name, scenario_file=scenario.source_file,
                        scenario_sha256=scenario.digest(), engine=engine, replicas=n, seed=seed,
                        start=c.start, end=c.end, n_towns=c.n_towns, model="front",
                        posterior_file=scenario.posterior,
                        posterior_sha256=None if post is None else post.digest(),
                        wall_time_s=round(wall, 3))
        # the map is data with its viewer more than a figure: written with or without plots (the
        # API's runs draw their plots only when saved, and must save what the command line writes)
        with stage("writing NetCDF, GeoJSON, map"
                   + (", animation" if scenario.outputs.animation else ""), progress):
            write_geo_outputs(tmp, c, ens, provenance=manifest, html_map=True,
                              animation=scenario.outputs.animation,
                              title=f"{scenario.name}, {n} replicas")
        write_manifest(tmp, **manifest)
    if engine == "batch":
        from sim import checkpoint

        checkpoint.discard(out)  # superseded by the complete output
    return RunSummary(ens, wall, Path(out))


def run_fingerprint(scenario: Scenario, c: FrontCampaign, n: int, seed: int,
                    post: Posterior | None) -> dict[str, Any]:
    """What a resumed batch run must share with the interrupted one (:mod:`sim.checkpoint`)."""
    from sim.parallel import tasks

    # the options first: a resume with another --seed or --replicas names that option
    return {"engine": "batch", "replicas": n, "seed": seed, "start": c.start.isoformat(),
            "end": c.end.isoformat(), "tasks": len(tasks(n)),
            "posterior_sha256": None if post is None else post.digest(),
            "scenario_sha256": scenario.digest()}


def _batch_to_dir(tmp: Path, out: str | Path, scenario: Scenario, c: FrontCampaign, seed: int,
                  n: int, post: Posterior | None, progress: bool, workers: int | None,
                  scheduler: Any, resume: bool, t0: float) -> tuple[Ensemble, float]:
    """The batch core into ``tmp``, parquet chunk by chunk; interruptible and resumable
    (:mod:`sim.checkpoint`). Returns the aggregates and the wall time of earlier sessions."""
    from sim import checkpoint

    fp = run_fingerprint(scenario, c, n, seed, post)
    writers: dict[str, pq.ParquetWriter] = {}

    def write(fname: str, table: pa.Table) -> None:
        if fname not in writers:
            writers[fname] = pq.ParquetWriter(tmp / fname, table.schema)
        writers[fname].write_table(table)

    ens, done, prev_wall = new_ensemble(c), 0, 0.0
    if resume:
        kept = checkpoint.load(out, fp, ens)
        done, prev_wall = kept.tasks_done, kept.wall_s
        for f in kept.files:
            checkpoint.copy_row_groups(f, lambda t, name=f.name: write(name, t))
    first, stop = done, checkpoint.StopFlag()

    class _Stop(Exception):
        pass

    def sink(chunk: BatchChunk) -> None:
        nonlocal done
        for fname, days in _day_tables(chunk.first_capture_day, chunk.first_recapture_day,
                                       chunk.last_capture_day):
            write(fname, _day_table(days, c.theatre.names, c.start))
        done += 1
        if stop:  # a signal arrived: stop here, between tasks, where everything is consistent
            raise _Stop

    try:
        with stop.installed():
            simulate_batch(c, seed, n, on_chunk=sink, progress=progress, posterior=post,
                           workers=workers, scheduler=scheduler, ensemble=ens, first_task=first)
    except _Stop:
        for w in writers.values():
            w.close()
        d = checkpoint.save(out, fp, done, ens, [tmp / f for f in writers],
                            prev_wall + time.perf_counter() - t0)
        raise checkpoint.RunInterrupted(
            f"interrupted after {ens.n} of {n} replicas; checkpoint kept in {str(d)!r}: rerun "
            "the same command with --resume to continue") from None
    for w in writers.values():
        w.close()
    return ens, prev_wall


def _des(c: FrontCampaign, seed: int, n: int, tmp: Path | None, progress: bool,
         event_log: bool = True, posterior: Posterior | None = None,
         formats: tuple[str, ...] = ("png",)) -> Ensemble:
    """Run the SimPy engine replica by replica (each with its full event log)."""
    ens = new_ensemble(c)
    logs, controls, areas, firsts, recs, lasts = [], [], [], [], [], []
    days = state_days(c.start, c.n_days)  # day -1 .. n_days - 1 with their dates
    from sim.progress import tqdm

    for r in tqdm(range(n), unit="replica", desc="des", leave=False, disable=not progress):
        res = run_front_replica(c, seed, r, posterior=posterior)
        ens.add(res.first_capture_day[None, :],
                (res.control == 1).astype(np.int64), res.gov_area_km2[None, :],
                res.n_recaptures[None, :])
        if tmp is not None:
            firsts.append(res.first_capture_day)
            recs.append(res.first_recapture_day)
            lasts.append(res.last_capture_day)
            if event_log:
                log = res.log.copy()
                log.insert(0, "replica", r)
                log.insert(3, "date", [(c.start + dt.timedelta(days=int(d))).isoformat()
                                       for d in log["day"]])
                logs.append(log)
            ctl = pd.DataFrame(res.control[1:], columns=c.theatre.names)
            ctl.insert(0, "day", np.arange(c.n_days))
            controls.append(ctl.melt(id_vars="day", var_name="town", value_name="control")
                            .assign(replica=r))
            areas.append(days.assign(replica=r, gov_area_km2=res.gov_area_km2))
    if tmp is not None:
        if logs:
            pd.concat(logs).to_csv(tmp / "events.csv", index=False)
        ctl_all = pd.concat(controls)
        ctl_all["date"] = ctl_all["day"].map(dict(zip(days["day"], days["date"], strict=True)))
        ctl_all[["replica", "day", "date", "town", "control"]].astype(
            {"control": "int8", "day": "int16"}).to_parquet(tmp / "control_daily.parquet",
                                                            index=False)
        pd.concat(areas)[["replica", "day", "date", "gov_area_km2"]].to_csv(
            tmp / "area_daily.csv", index=False, float_format="%.2f")
        for fname, arr in _day_tables(*(np.array(a, dtype=np.int16).reshape(-1, c.n_towns)
                                         for a in (firsts, recs, lasts))):
            pq.write_table(_day_table(arr, c.theatre.names, c.start), tmp / fname)
        if logs:
            from sim import plots
            from sim.theatre import recorded_captures

            rec = recorded_captures(c.theatre, c.start, c.end)
            ax, _ = plots.plot_des_overview(logs[0], ens.cap_hist, c.theatre.names, ens.n,
                                            start=c.start, recorded=dict(zip(
                                                rec["town"], rec["date"], strict=True)))
            plots.save(ax, tmp / "timeline.png", formats=formats)
    return ens


def _day_tables(first: np.ndarray, recapture: np.ndarray,
                last: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Per-replica day files of a run (rows = replicas, columns = towns, ``-1`` = never)."""
    return [("capture_days.parquet", first), ("recapture_days.parquet", recapture),
            ("last_capture_days.parquet", last)]


#: How the per-replica day tables say what their numbers mean (Parquet schema metadata).
DAY_CONVENTION = ("day d = the date day0 + d; the value is the day during which the event "
                  "happened; -1 = never")


def _day_table(days: np.ndarray, towns: list[str], start: dt.date) -> pa.Table:
    """A per-replica day table (rows = replicas, columns = towns) with ``day0`` (the ISO date of
    day 0) and the convention in its schema metadata: a wide table of day indices has no room
    for a date column."""
    table = pa.table({name: days[:, i] for i, name in enumerate(towns)})
    return table.replace_schema_metadata({"day0": start.isoformat(),
                                          "day_convention": DAY_CONVENTION})


def _write_tables(tmp: Path, ens: Ensemble) -> None:
    ens.town_table().to_csv(tmp / "towns.csv", index=False, float_format="%.4f")
    ens.territory_table().to_csv(tmp / "territory.csv", index=False, float_format="%.1f")
    held = ens.held_probability().reset_index()
    held.insert(0, "day", ens.state_days()["day"].to_numpy())
    held.to_csv(tmp / "held_probability.csv", index=False, float_format="%.4f")


def _write_plots(tmp: Path, c: FrontCampaign, ens: Ensemble, name: str = "",
                 formats: tuple[str, ...] = ("png",)) -> None:
    """``territory.png`` (fan chart with the article's area figures and the pauses, ceasefires
    and Spring Shield of the scenario's own modifiers shaded) and ``final_map.png``; each also
    in the other ``formats``."""
    from sim import plots

    area = [(a.date, a.value, a.certainty) for a in c.theatre.tables.aggregates
            if a.quantity == "captured_area_km2" and a.value is not None
            and c.start <= a.date <= c.end]
    rec = pd.DataFrame(area, columns=["date", "value", "certainty"])
    who = f"{name}: " if name else ""
    ax = plots.plot_territory_fan(ens.territory_table(), recorded=rec,
                                  periods=plots.periods_of(c.modifiers, c.end),
                                  label="simulated",
                                  title=f"{who}territory taken by the government "
                                        f"({ens.n:,} replicas)")
    plots.save(ax, tmp / "territory.png", formats=formats)
    ax = plots.plot_theatre(c.theatre, values=ens.p_held_at_end(), vmin=0.0, vmax=1.0,
                            cbar_label="P(government holds the town)",
                            title=f"{who}P(government holds the town) at 00:00 on "
                                  f"{c.end:%d %b %Y} ({ens.n:,} replicas)")
    plots.save(ax, tmp / "final_map.png", formats=formats)
