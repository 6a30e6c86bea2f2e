"""The Python API: run a scenario or compare two from a notebook or a script, get tables back.

::

    import sim
    r = sim.run("scenarios/baseline.yaml", replicas=1000)      # out= optional
    r.towns; r.territory; r.plot(); r.save("out/baseline")
    c = sim.compare("scenarios/baseline.yaml", "scenarios/no_spring_shield.yaml", replicas=1000)
    c.summary(); c.plot()
    s = sim.load_scenario("scenarios/baseline.yaml").with_modifier("spring_shield", enabled=False)
    sim.run(s, replicas=1000)

:func:`run` is ``idlib-sim run`` and :func:`compare` is ``idlib-sim compare``: the same code, the
same seeds, so the same numbers and (with ``out=`` or ``.save``) the same folders. Tables are
pandas DataFrames with real dates; days follow the one convention of :mod:`sim.results`.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from sim.compare import Comparison, run_comparison, write_comparison
from sim.compare import compare as compare_scenarios
from sim.model.campaign import FrontCampaign
from sim.outputs import MANIFEST, atomic_dir, check_target
from sim.progress import interactive
from sim.results import Ensemble
from sim.run import build_campaign, run_scenario
from sim.scenario import Scenario, load_scenario

#: Towns a result's ``repr`` reports (when the theatre has them).
REPR_TOWNS = ("Saraqib", "Ariha", "Idlib")


def _scenario(source: str | Path | Scenario | Mapping[str, Any]) -> Scenario:
    """A loaded scenario from a path, a mapping (``extends`` relative to the working folder) or
    a :class:`Scenario`."""
    return source if isinstance(source, Scenario) else load_scenario(source)


def _dates(values: pd.Series) -> pd.Series:
    """ISO strings ('' = none) as datetime64 (NaT = none)."""
    return pd.to_datetime(values.replace("", None))


@dataclass(repr=False)
class RunResult:
    """The result of :func:`run`: aggregates in memory, the run folder on disk.

    Attributes
    ----------
    scenario : the scenario that ran (with its overrides)
    ensemble : the streaming aggregates (:class:`~sim.results.Ensemble`)
    campaign : the compiled campaign (theatre, forces, calendar)
    engine, seed : as run
    wall_s : seconds of simulation and writing
    directory : the run folder (``out``, or a private temporary folder deleted with the result)
    """

    scenario: Scenario
    ensemble: Ensemble
    campaign: FrontCampaign
    engine: str
    seed: int
    wall_s: float
    directory: Path
    _tmp: str | None = field(default=None, compare=False)
    """The private temporary folder holding ``directory`` (deleted with the result)."""
    _plots_pending: bool = False
    """The folder lacks the run's plots, drawn when it is saved (a run kept in a temporary
    folder skips the second or two they take)."""

    @property
    def replicas(self) -> int:
        return self.ensemble.n

    @cached_property
    def towns(self) -> pd.DataFrame:
        """One row per town: ``town, lat, lon, p_held_at_end, p_captured, p_recaptured``, the
        first-capture date quantiles ``q05 .. q95`` (datetime64; NaT where fewer replicas
        captured the town) and ``recorded_date``, the recorded first capture (NaT: none)."""
        from sim.theatre import recorded_captures

        th = self.campaign.theatre
        tab = self.ensemble.town_table()
        rec = recorded_captures(th, self.campaign.start, self.campaign.end)
        recorded = dict(zip(rec["town"], rec["date"], strict=True))
        out = pd.DataFrame({"town": tab["town"],
                            "lat": th.towns["lat"].to_numpy(float),
                            "lon": th.towns["lon"].to_numpy(float),
                            "p_held_at_end": tab["p_held_at_end"],
                            "p_captured": tab["p_captured"],
                            "p_recaptured": tab["p_recaptured"]})
        for q in [c for c in tab.columns if c.startswith("q")]:
            out[q] = _dates(tab[q])
        out["recorded_date"] = pd.to_datetime(out["town"].map(recorded))
        return out

    @cached_property
    def territory(self) -> pd.DataFrame:
        """Government-held area (km²) at the end of each date, indexed by ``date``
        (datetime64): ``day``, ``mean_km2``, ``q05_km2 .. q95_km2``."""
        t = self.ensemble.territory_table()
        return t.assign(date=pd.to_datetime(t["date"])).set_index("date")

    @cached_property
    def held(self) -> pd.DataFrame:
        """P(government holds the town) at the end of each date (dates x towns)."""
        h = self.ensemble.held_probability()
        h.index = pd.to_datetime(h.index)
        return h

    def plot(self, ax: Any = None) -> Any:
        """The territory fan chart (area taken since the start, km², by date); returns the
        matplotlib Axes and writes no file."""
        from sim import plots

        ax = plots.plot_territory_fan(self.ensemble.territory_table(), ax=ax)
        ax.set_title(f"Territory taken by the government: {self.scenario.name}, "
                     f"{self.replicas:,} replicas")
        return ax

    def save(self, path: str | Path) -> Path:
        """Write the run folder ``idlib-sim run --out PATH`` writes (the same files), atomically;
        ``path`` must be new or an earlier output of idlib-sim (:mod:`sim.outputs`)."""
        target = check_target(path)
        if target.resolve() == self.directory.resolve():
            return target
        with atomic_dir(target, kind="run") as tmp:
            for f in sorted(self.directory.rglob("*")):
                if f.is_file():
                    dest = tmp / f.relative_to(self.directory)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(f, dest)
            if self._plots_pending:
                from sim.displacement.tables import write_displacement
                from sim.run import _write_plots

                write_displacement(tmp, self.campaign, plots=True)
                _write_plots(tmp, self.campaign, self.ensemble, self.scenario.name,
                             tuple(self.scenario.outputs.figure_formats))
        return target

    def to_xarray(self) -> Any:
        """The run as an :class:`xarray.Dataset` (:func:`sim.arrays.to_dataset`): P(held) by
        date and town, capture-date quantiles, territory quantiles, per-replica capture and
        recapture dates, with units and the run's provenance as attributes (``results.nc``)."""
        import json

        from sim.arrays import to_dataset
        from sim.geo.outputs import VOLATILE

        manifest = json.loads((self.directory / "manifest.json").read_text())
        attrs = {k: v for k, v in manifest.items() if k not in VOLATILE}
        return to_dataset(self.ensemble, self.campaign, per_replica=self.directory, attrs=attrs)

    def map(self, path: str | Path | None = None, **kw: Any) -> Any:
        """The interactive map (:func:`sim.geo.make_map`: cells coloured by P(held) with a date
        slider, towns with recorded and simulated dates, Turkish posts, M4/M5) as a
        :class:`folium.Map`, which a notebook shows inline; with ``path``, also written there as
        one self-contained HTML file. Keywords go to :func:`~sim.geo.make_map` (``tiles=None``:
        no web base map)."""
        from sim.geo import make_map, write_map

        kw.setdefault("title", f"{self.scenario.name}, {self.replicas} replicas")
        if path is not None:
            write_map(self.ensemble, self.campaign, path, **kw)
        return make_map(self.ensemble, self.campaign, **kw)

    def __repr__(self) -> str:
        t = self.ensemble.territory_table().iloc[-1]
        gained = t["q50_km2"] - self.ensemble.territory_table()["q50_km2"].iloc[0]
        p_end = dict(zip(self.ensemble.towns, self.ensemble.p_held_at_end(), strict=True))
        held = ", ".join(f"{town} {p_end[town]:.2f}" for town in REPR_TOWNS if town in p_end)
        return (f"<RunResult {self.scenario.name!r}: {self.replicas:,} replicas, seed "
                f"{self.seed}, engine {self.engine}, {self.campaign.start} to "
                f"{t['date']!s} (end of day); median area taken {gained:,.0f} km²; "
                f"P(government holds at end): {held}>")


@dataclass(repr=False)
class CompareResult:
    """The result of :func:`compare`: the paired comparison B - A (:class:`Comparison`)."""

    comparison: Comparison
    directory: Path | None = None

    @property
    def towns(self) -> pd.DataFrame:
        """``town, p_A, p_B, diff, ci_low, ci_high``: P(government holds the town at the end)."""
        return self.comparison.towns

    @property
    def territory(self) -> pd.DataFrame:
        """Paired difference in government-held area (km², B - A) at the end of each date."""
        t = self.comparison.territory
        return t.assign(date=pd.to_datetime(t["date"])).set_index("date")

    def summary(self, towns: int = 5) -> pd.DataFrame:
        """The headline figures, one row per measure: ``A, B, diff, ci_low, ci_high, unit``
        (95 % intervals): area held at the end (B - A), each key date's probability of being
        reached by the end and its paired delay in days, and the ``towns`` towns whose
        P(government holds it at the end) changes most."""
        c = self.comparison
        nan = float("nan")
        last = c.territory.iloc[-1]
        rows: list[tuple[str, float, float, float, float, float, str]] = [
            ("area held at end", nan, nan, float(last["mean_km2"]), float(last["ci_low_km2"]),
             float(last["ci_high_km2"]), "km²")]
        for name, k in c.key_dates.items():
            lo, hi = k["diff_p_reached_ci95"]
            rows.append((f"P({name} reached)", k["p_reached_A"], k["p_reached_B"],
                         k["diff_p_reached"], lo, hi, "probability"))
            if "mean_days_B_minus_A" in k:
                lo, hi = k["ci95_days"]
                rows.append((f"{name}: delay where both reach it", nan, nan,
                             k["mean_days_B_minus_A"], lo, hi, "days"))
        top = c.towns.reindex(c.towns["diff"].abs().sort_values(ascending=False).index)
        for _, r in top.head(towns).iterrows():
            rows.append((f"P(government holds {r['town']})", float(r["p_A"]), float(r["p_B"]),
                         float(r["diff"]), float(r["ci_low"]), float(r["ci_high"]),
                         "probability"))
        return pd.DataFrame(rows, columns=["measure", "A", "B", "diff", "ci_low", "ci_high",
                                           "unit"]).set_index("measure")

    def plot(self, ax: Any = None) -> Any:
        """The fan chart of the paired difference in area (km², B - A); returns the Axes."""
        from sim import plots

        c = self.comparison
        ax = plots.plot_difference_fan(c.territory, label=f"{c.b} - {c.a}", ax=ax)
        ax.set_title(f"{c.b} - {c.a}: government-held area, {c.n:,} paired replicas")
        return ax

    def save(self, path: str | Path) -> Path:
        """Write the folder ``idlib-sim compare --out PATH`` writes, atomically."""
        from sim.world import default_world

        return write_comparison(self.comparison, check_target(path), default_world()[0])

    def __repr__(self) -> str:
        c = self.comparison
        last = c.territory.iloc[-1]
        return (f"<CompareResult {c.b!r} - {c.a!r}: {c.n:,} paired replicas, seed {c.seed}; "
                f"area held at end {last['mean_km2']:+,.0f} km² (95 % CI "
                f"{last['ci_low_km2']:+,.0f} to {last['ci_high_km2']:+,.0f})>")


def run(scenario: str | Path | Scenario | Mapping[str, Any], replicas: int | None = None,
        seed: int | None = None, out: str | Path | None = None, workers: int | None = 1,
        engine: str | None = None, progress: bool | None = None) -> RunResult:
    """Run a scenario (a file, a mapping written like one, or a :class:`Scenario`).

    Parameters
    ----------
    scenario : what to run; a mapping's ``extends`` is relative to the working folder
        (:func:`sim.load_scenario` with ``base_dir`` for another folder)
    replicas, seed, engine : override the scenario's (``engine``: ``"batch"`` or ``"des"``)
    out : write the run folder there (as ``idlib-sim run --out``); ``None``: into a private
        temporary folder, kept while the result lives, without the plots (``.save(path)``
        copies it and draws them)
    workers : processes for the batch core (``None``: all cores); the results do not depend
        on it. A script using more than one must guard its entry point with
        ``if __name__ == "__main__":``
    progress : show a progress bar (``None``: on a terminal or in a notebook)

    Raises
    ------
    sim.errors.IdlibSimError
        a bad scenario, override or output folder (refused before any simulation).
    """
    from sim.scenario import with_overrides

    sc = with_overrides(_scenario(scenario), engine=engine, replicas=replicas, seed=seed)
    target = check_target(out) if out is not None else None  # refuse before any simulation
    c = build_campaign(sc)
    tmp = tempfile.mkdtemp(prefix="idlib-sim-run-") if target is None else None
    try:
        if tmp is not None:
            target = Path(tmp) / sc.name
        assert target is not None
        pending = tmp is not None and sc.outputs.plots
        res = run_scenario(sc, target, progress=interactive() if progress is None else progress,
                           campaign=c, workers=workers, plots=False if pending else None)
    except BaseException:
        if tmp is not None:  # ours, made above: nothing else is in it
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    assert (target / MANIFEST).is_file()
    result = RunResult(sc, res.ensemble, c, sc.engine, sc.seed, res.wall_s, target, tmp,
                       pending)
    if tmp is not None:  # deleted when the result is (or at exit), without a ResourceWarning
        weakref.finalize(result, shutil.rmtree, tmp, ignore_errors=True)
    return result


def compare(a: str | Path | Scenario | Mapping[str, Any],
            b: str | Path | Scenario | Mapping[str, Any], replicas: int | None = None,
            seed: int | None = None, out: str | Path | None = None, workers: int | None = 1,
            progress: bool | None = None) -> CompareResult:
    """Paired comparison B - A (as ``idlib-sim compare``): both run on the batch core with the
    same seed and replica blocks, so replica ``i`` of A and of B share every draw the lever
    does not touch. ``out``: also write the comparison folder there, with the per-replica paired
    differences (``paired.parquet``) streamed into it.

    Raises
    ------
    sim.errors.IdlibSimError
        bad scenarios, different posteriors or starts, or a refused output folder.
    """
    sa, sb = _scenario(a), _scenario(b)
    target = check_target(out) if out is not None else None  # refuse before any simulation
    kw: dict[str, Any] = dict(replicas=replicas, seed=seed, workers=workers,
                              progress=interactive() if progress is None else progress)
    if target is None:
        return CompareResult(compare_scenarios(sa, sb, **kw))
    from sim.world import default_world

    # with a folder, the per-replica paired differences stream into it (paired.parquet)
    cmp = run_comparison(sa, sb, target, default_world()[0], **kw)
    return CompareResult(cmp, directory=target)


__all__ = ["CompareResult", "RunResult", "compare", "run"]
