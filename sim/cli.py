"""The ``idlib-sim`` command line: one entry point, one subcommand per job.

Errors from bad input (:class:`~sim.errors.IdlibSimError`) are printed as one line on stderr
with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.errors import IdlibSimError


def _theatre(args: argparse.Namespace) -> int:
    from sim.outputs import check_target
    from sim.progress import stage
    from sim.theatre import load_theatre, recorded_captures

    out = check_target(args.out) if args.out else None  # refuse before any work
    with stage("building the theatre", not args.json and sys.stderr.isatty()):
        th = load_theatre()
    gov = th.area_held(th.initial_control)
    import networkx as nx

    summary = {
        "n_towns": th.n_towns,
        "n_edges": th.graph.number_of_edges(),
        "connected": bool(nx.is_connected(th.graph)),
        "theatre_area_km2": round(th.theatre_area_km2, 1),
        "initial_government_area_km2": round(gov, 1),
        "initial_opposition_towns": int((th.initial_control == 0).sum()),
        "n_cluster_members": len(th.tables.clusters),
        "n_recorded_capture_nodes": len(recorded_captures(th)),
        "unplaced_event_places": th.unplaced_event_places,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        for k, v in summary.items():
            if k == "unplaced_event_places":
                print(f"{k}: {len(v)} (see seeds/unplaced.csv)")
            else:
                print(f"{k}: {v}")
    if out is not None:
        from sim import plots
        from sim.outputs import atomic_dir, write_manifest

        with atomic_dir(out, kind="theatre") as tmp:
            ax = plots.plot_theatre(th, title="Control on 18 Dec 2019 (seeds/initial_control.csv)")
            plots.save(ax, tmp / "theatre.png", dpi=130)
            (tmp / "theatre.json").write_text(json.dumps(summary, indent=2) + "\n")
            write_manifest(tmp, n_towns=th.n_towns)
        if not args.json:
            print(f"wrote {out / 'theatre.png'}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from sim.outputs import check_target, default_dir
    from sim.progress import stage
    from sim.run import build_campaign, run_scenario
    from sim.scenario import load_scenario, with_overrides

    show = not args.quiet and sys.stderr.isatty()
    sets: dict[str, object] = {"posterior": None} if args.no_posterior else {}
    if args.figure_format:
        sets["outputs.figure_formats"] = ["png", *dict.fromkeys(args.figure_format)]
    if args.animation:
        sets["outputs.animation"] = True
    with stage("loading the scenario and building the theatre", show):
        sc = with_overrides(load_scenario(args.scenario), engine=args.engine,
                            replicas=args.replicas, seed=args.seed, sets=sets or None)
    out = check_target(args.out or default_dir(sc.name))  # refuse before any simulation
    from sim.checkpoint import checkpoint_dir

    if not args.resume and checkpoint_dir(out).is_dir():
        print(f"idlib-sim: note: {checkpoint_dir(out)} holds an interrupted run's checkpoint; "
              "this run starts afresh and replaces it (--resume continues it instead)",
              file=sys.stderr)
    with stage("building the campaign", show):
        campaign = build_campaign(sc)
    res = run_scenario(sc, out, engine=args.engine, replicas=args.replicas, seed=args.seed,
                       progress=show, campaign=campaign, workers=args.workers,
                       scheduler=args.scheduler, resume=args.resume)
    ens = res.ensemble
    post = sc.posterior_samples()
    drawn = (f"parameters drawn from {post.n_samples} posterior samples" if post is not None
             else "fixed parameters")
    print(f"{sc.name}: {ens.n} replicas ({drawn}) in {res.wall_s:.2f} s -> {out}")
    tab = ens.town_table().set_index("town")
    for town in ("Ma'arrat al-Nu'man", "Saraqib", "Al-Eiss", "Kafr Nabl", "Idlib", "Ariha"):
        if town in tab.index:
            row = tab.loc[town]
            print(f"  {town:<20} P(captured)={row.p_captured:.2f}  median first capture: "
                  f"{row.q50 or 'not captured in most replicas'}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from sim.scenario import load_scenario

    bad = 0
    for f in args.files:
        try:
            load_scenario(f)
            print(f"{f}: ok")
        except IdlibSimError as exc:
            _report(exc)
            bad += 1
    return 2 if bad else 0


def scenario_folder() -> Path:
    """The project's ``scenarios/`` (beside the ``sim`` package in a source tree or an editable
    install), else ``./scenarios``.

    Raises
    ------
    IdlibSimError
        saying where it looked and how to name a folder."""
    here = Path(__file__).resolve().parents[1] / "scenarios"
    for folder in (here, Path("scenarios")):
        if folder.is_dir():
            return folder
    raise IdlibSimError(f"no scenarios folder found (looked in {here} and in ./scenarios); "
                        "name one: idlib-sim list FOLDER")


def _list(args: argparse.Namespace) -> int:
    from sim.scenario import load_scenario

    folder = scenario_folder() if args.folder is None else Path(args.folder)
    if not folder.is_dir():
        raise IdlibSimError(f"{folder}: no such folder (idlib-sim list FOLDER lists the "
                            "scenario files of FOLDER)")
    files = sorted(folder.glob("*.yaml"))
    if not files:
        print(f"{folder}: no scenario files (*.yaml)", file=sys.stderr)
    for f in files:
        try:
            sc = load_scenario(f, check_names=False)
            print(f"{f.name:32s} {sc.description}")
        except IdlibSimError as exc:
            first, *rest = str(exc).splitlines() or [""]
            print(f"{f.name:32s} (invalid: {first}" + (f" and {len(rest)} more)" if rest else ")"))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from sim.compare import run_comparison
    from sim.outputs import check_target, default_dir
    from sim.progress import stage
    from sim.scenario import load_scenario, with_overrides
    from sim.world import default_world

    show = not args.quiet and sys.stderr.isatty()
    sets = {"posterior": None} if args.no_posterior else None
    with stage("loading the scenarios and building the theatre", show):
        a, b = (with_overrides(load_scenario(f), replicas=args.replicas, seed=args.seed,
                               sets=sets) for f in (args.a, args.b))
    out = check_target(args.out or default_dir(f"compare_{a.name}_vs_{b.name}",
                                               what="comparison name"))  # before any simulation
    cmp = run_comparison(a, b, out, default_world()[0], replicas=args.replicas, seed=args.seed,
                         progress=show, workers=args.workers, scheduler=args.scheduler)
    summ = cmp.summary()
    print(f"{b.name} - {a.name}, {cmp.n} paired replicas -> {out}")
    t = summ["territory_diff_km2_at_end"]
    print(f"  government-held area at the end: {t['mean']:+.0f} km² "
          f"(95 % CI {t['ci95'][0]:+.0f} to {t['ci95'][1]:+.0f})")
    for name, k in summ["key_dates"].items():
        print(f"  {name:<14} reached by the end: A {k['p_reached_A']:.2f}, B {k['p_reached_B']:.2f}"
              f"; median date A {k['median_date_A']}, B {k['median_date_B']}")
    if summ.get("displaced_diff_at_end"):
        d = summ["displaced_diff_at_end"]
        print(f"  people displaced by {d['date']}: {d['mean']:+,.0f} (95 % CI "
              f"{d['ci95'][0]:+,.0f} to {d['ci95'][1]:+,.0f})")
    for row in summ["largest_town_changes"][:5]:
        print(f"  {row['town']:<22} P(gov) {row['p_A']:.2f} -> {row['p_B']:.2f} "
              f"({row['diff']:+.2f}, CI {row['ci_low']:+.2f} to {row['ci_high']:+.2f})")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from sim.calibration.calibrate import calibrate

    out = calibrate(args.config, out_root=args.out_root, run=args.run, progress=not args.quiet,
                    workers=args.workers, scheduler=args.scheduler)
    scores = json.loads((out / "scores.json").read_text())
    print(f"calibration -> {out}")
    d = scores["dated"]["overall"]
    print(f"  posterior predictive, in sample: CRPS {d['crps_days']:.2f} days, error of the "
          f"median {d['median_abs_error_days']:.2f} days, coverage 50 %/80 % "
          f"{d['coverage_50']:.2f}/{d['coverage_80']:.2f}, objective "
          f"{scores['objective_days']:.2f} days")
    if scores.get("holdout"):
        f = scores["holdout"]["forecast"]["dated"]["overall"]
        print(f"  hold-out forecast after {scores['holdout']['last_in_sample']}: CRPS "
              f"{f['crps_days']:.2f} days over {f['n_targets']} dated targets")
    met = scores["goals"]["met"]
    print(f"  goals of issue 11 met: {sum(met.values())} of {len(met)} (scores.json 'goals')")
    return 0


def _score(args: argparse.Namespace) -> int:
    from sim.calibration.scorerun import save_score_plots, score_run

    out, terms = score_run(args.run_dir)
    if args.plots is not None:
        import datetime as dt

        from sim.theatre.theatre import CAMPAIGN_START

        horizon = (dt.date.fromisoformat(out["end"]) - CAMPAIGN_START).days
        for path in save_score_plots(terms, horizon, args.plots):
            print(f"wrote {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(out, allow_nan=False))
        return 0

    def f(v: object, fmt: str = ".1f") -> str:
        return "-" if v is None else format(v, fmt)

    n = out["n_targets"]
    print(f"{args.run_dir}: {out['replicas']} replicas, {n['dated']} dated targets "
          f"({n['by_kind']['captures']} captures, {n['by_kind']['recaptures']} recaptures, "
          f"{n['by_kind']['retakes']} retakings), {n['counts']} counts, {n['end_state']} end "
          "states")
    print("CRPS: the forecast's average distance from the record, in days (0 = certain and "
          "right; lower is better).")
    print("skill: 1 - CRPS / CRPS of the naive constant-speed model (> 0 beats it; 1 = "
          "perfect).")
    print(f"{'':<22}{'n':>4}{'CRPS d':>8}{'|med| d':>9}{'cov50':>7}{'cov80':>7}{'skill':>7}")
    for kind in ("dated", "captures", "recaptures", "retakes"):
        for phase, s in [("all", out[kind]["overall"]), *out[kind]["by_phase"].items()]:
            if not s["n_targets"]:
                continue
            label = f"{kind} {phase}" if phase != "all" else kind
            print(f"{label:<22}{s['n_targets']:>4}{f(s['crps_days']):>8}"
                  f"{f(s['median_abs_error_days']):>9}{f(s['coverage_50'], '.2f'):>7}"
                  f"{f(s['coverage_80'], '.2f'):>7}{f(s['skill_vs_naive'], '+.2f'):>7}")
    c, e = out["counts"], out["end_state"]
    print(f"counts: mean count CRPS {f(c['mean_score'])} localities over {c['n_targets']} "
          f"windows (skill {f(c['skill_vs_naive'], '+.2f')}); end state: Brier "
          f"{f(e['mean_score'], '.3f')} over {e['n_targets']} nodes (skill "
          f"{f(e['skill_vs_naive'], '+.2f')})")
    for t in out["territory"]:
        mark = "" if t["scored"] else " (reported, not scored)"
        print(f"territory {t['quantity']} {t['date']}: recorded {t['recorded']:.0f}, median "
              f"{t['median']:.0f}, replay of the record {t['replay']:.0f}{mark}")
    print("worst targets:")
    for w in out["worst_targets"][:8]:
        print(f"  {w['target']:<24} {w['kind']:<12} recorded {w['recorded']}  median "
              f"{w['median'] or 'never'}  CRPS {w['crps_days']:.1f} d  ({w['reason']})")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from sim.bench import bench, profile_batch

    if args.batch_replicas < 1 or args.des_replicas < 1:
        raise IdlibSimError(f"--batch-replicas / --des-replicas: values {args.batch_replicas}, "
                            f"{args.des_replicas}: must be at least 1")
    if args.profile:
        print(profile_batch(args.batch_replicas), end="")
        return 0
    if args.million:
        from sim.benchscale import million

        out = million(workers=args.workers, scheduler=args.scheduler, progress=not args.json)
    else:
        out = bench(batch_replicas=args.batch_replicas, des_replicas=args.des_replicas,
                    workers=args.workers, scheduler=args.scheduler)
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")
    return 0


def _displacement_fit(args: argparse.Namespace) -> int:
    from sim.displacement.fitrun import refit
    from sim.scenario import load_scenario

    sc = load_scenario(args.scenario)
    f = refit(sc, args.replicas, args.seed if args.seed is not None else sc.seed,
              workers=args.workers, scheduler=args.scheduler)
    print(f"displacement fit on {args.replicas} replicas of {sc.name}: scale {f.scale:.3f} "
          f"(se {f.scale_se:.3f}), approach_share {f.approach_share:.3f} (95 % profile "
          f"{f.approach_share_95[0]:.2f}-{f.approach_share_95[1]:.2f}), chi2 {f.chi2:.2f} over "
          f"{f.n_fitted} figures")
    print(f.table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    return 0


def _sensitivity(args: argparse.Namespace) -> int:
    from sim.outputs import check_target
    from sim.sensitivity import run_sensitivity, summary

    out = check_target(args.out)
    res = run_sensitivity(args.config, out, workers=args.workers, scheduler=args.scheduler,
                          progress=not args.quiet)
    s = summary(res)
    print(f"sensitivity: {s['points']} points x {s['replicas_per_point']} replicas "
          f"({s['evaluations']:,} replica runs) in {s['wall_time_s']:.0f} s -> {out}")
    for o in res.indices["outcome"].unique():
        top = ", ".join(f"{r['param'].replace('modifiers.', '')} ST {r['ST']:.2f} "
                        f"[{r['ST_lo']:.2f}, {r['ST_hi']:.2f}]" for r in s[o])
        print(f"  {o}: {top}")
    return 0


def _select(args: argparse.Namespace) -> int:
    from sim.outputs import check_target
    from sim.selection import run_selection

    out = check_target(args.out)
    res = run_selection(args.config, out, workers=args.workers, scheduler=args.scheduler,
                        progress=not args.quiet)
    print(f"select: {len(res.reference)} simulations in {res.wall_s:.0f} s -> {out}")
    print(res.text)
    return 0


def _parallel_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, metavar="N",
                   help="processes for the batch core's replica blocks (default: all cores; "
                        "results do not depend on it; the SimPy engine runs in one process)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the blocks on the workers of a running Dask scheduler, e.g. "
                        "tcp://HOST:8786, instead of local processes (see the README)")


def _analysis_options(p: argparse.ArgumentParser, name: str) -> None:
    """The options shared by the analysis commands: the configuration (default
    ``analyses/NAME.yaml``), ``--out`` (default ``out/NAME``), ``--quiet`` and the workers."""
    p.add_argument("config", nargs="?", default=Path(f"analyses/{name}.yaml"), type=Path,
                   help=f"analysis configuration (default: analyses/{name}.yaml)")
    p.add_argument("--out", type=Path, default=Path(f"out/{name}"),
                   help="output directory (replaces only an earlier output of idlib-sim)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _parallel_options(p)


def _sub(sub: Any, name: str, help: str, description: str, examples: str
         ) -> argparse.ArgumentParser:
    """A subcommand with its one-line help, a description and examples (kept as written)."""
    return sub.add_parser(name, help=help, description=description,
                          epilog="examples:\n" + examples + "\n",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="idlib-sim", description="idlib-sim: a calibrated, stochastic simulator of the "
        "northwestern Syria offensive (19 Dec 2019 - 6 Mar 2020). Bad input is reported on one "
        "line per error with exit code 2.",
        epilog="examples:\n  idlib-sim list\n"
               "  idlib-sim run scenarios/baseline.yaml --replicas 1000\n"
               "  idlib-sim compare scenarios/baseline.yaml scenarios/no_spring_shield.yaml\n\n"
               "Run `idlib-sim COMMAND --help` for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}",
                   help="print the version of idlib-sim and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND",
                           title="commands")

    t = _sub(sub, "theatre", "summarise the theatre and draw its map",
             "Summarise the theatre built from seeds/ (towns, edges, areas, initial control, "
             "places of the record that could not be placed) and, with --out, draw its map.",
             "  idlib-sim theatre\n  idlib-sim theatre --json\n"
             "  idlib-sim theatre --out out/theatre")
    t.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    t.add_argument("--out", type=Path, help="directory for theatre.png, theatre.json and "
                   "manifest.json (replaces only an earlier output of idlib-sim)")
    t.set_defaults(func=_theatre)

    r = _sub(sub, "run", "run a scenario file",
             "Run a scenario file and write its run folder (README, 'Outputs'): tables with "
             "dates, per-replica days, plots and a manifest. Prints the chances and median "
             "dates of the main towns.",
             "  idlib-sim run scenarios/baseline.yaml --replicas 1000 --out out/baseline\n"
             "  idlib-sim run scenarios/baseline.yaml --engine des --replicas 20 --out out/des\n"
             "  idlib-sim run scenarios/no_spring_shield.yaml --workers 2 --seed 7")
    r.add_argument("scenario", type=Path, help="the scenario file (YAML), e.g. "
                   "scenarios/baseline.yaml")
    r.add_argument("--engine", choices=["batch", "des"], help="override the scenario's engine "
                   "(batch: the vectorised core; des: the SimPy engine, with event logs)")
    r.add_argument("--replicas", type=int, help="override the number of replicas")
    r.add_argument("--seed", type=int, help="override the root seed")
    r.add_argument("--out", type=Path, help="output directory (default out/<scenario name>); "
                   "replaces only an earlier output of idlib-sim")
    r.add_argument("--no-posterior", action="store_true",
                   help="run the scenario's params in every replica, not its posterior samples")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    r.add_argument("--resume", action="store_true",
                   help="continue a batch run stopped by Ctrl-C or SIGTERM from its checkpoint "
                        "(out/.NAME.resume); same options as the interrupted run")
    r.add_argument("--figure-format", action="append", choices=["svg", "pdf"],
                   help="also write every figure in this vector format beside its PNG "
                        "(repeatable; the scenario's outputs.figure_formats)")
    r.add_argument("--animation", action="store_true",
                   help="also write front.gif (P(held) by day; a few seconds more)")
    _parallel_options(r)
    r.set_defaults(func=_run)

    v = _sub(sub, "validate", "check scenario files (exit 2 if any is invalid)",
             "Load and check scenario files (their extends chains, posterior files and names "
             "of formations, sectors and towns) without running them. Every error of a file is "
             "printed, each with its file, line, field and value.",
             "  idlib-sim validate scenarios/*.yaml\n  idlib-sim validate my_scenario.yaml")
    v.add_argument("files", nargs="+", type=Path, help="scenario files to check")
    v.set_defaults(func=_validate)

    ls = _sub(sub, "list", "list the scenarios and the questions they ask",
              "List the scenario files of a folder with the question each asks. Without a "
              "folder: the project's scenarios/ (found from the installed package), else "
              "./scenarios.",
              "  idlib-sim list\n  idlib-sim list my_scenarios/")
    ls.add_argument("folder", nargs="?", type=Path,
                    help="folder of scenario files (default: the project's scenarios/)")
    ls.set_defaults(func=_list)

    cp = _sub(sub, "compare", "paired comparison of two scenarios (B - A)",
              "Run scenarios A and B paired (same seed and replica blocks: common random "
              "numbers) on the batch core and report B - A: area held, the towns that change "
              "most, key dates, with 95 % intervals. Writes summary.json, tables with dates and "
              "plots.",
              "  idlib-sim compare scenarios/baseline.yaml scenarios/no_spring_shield.yaml\n"
              "  idlib-sim compare scenarios/baseline.yaml scenarios/no_russian_air.yaml "
              "--replicas 2048 --out out/no_air")
    cp.add_argument("a", type=Path, help="scenario A, the reference (e.g. the baseline)")
    cp.add_argument("b", type=Path, help="scenario B, the counterfactual")
    cp.add_argument("--replicas", type=int,
                    help="pairs of replicas (default: the larger of the two scenarios')")
    cp.add_argument("--seed", type=int, help="root seed (default: A's)")
    cp.add_argument("--out", type=Path, help="output directory (default out/compare_A_vs_B); "
                    "replaces only an earlier output of idlib-sim")
    cp.add_argument("--no-posterior", action="store_true",
                    help="both scenarios run their params, not their posterior samples")
    cp.add_argument("--quiet", action="store_true", help="no progress bars")
    _parallel_options(cp)
    cp.set_defaults(func=_compare)

    ca = _sub(sub, "calibrate", "fit the model to the recorded capture dates",
              "Fit the front model to the record (screening, optimisation, ABC-SMC posterior, "
              "hold-out; calibration/README.md). Rerun with the same --run to resume.",
              "  idlib-sim calibrate\n  idlib-sim calibrate calibration/default.yaml "
              "--run try2 --quiet")
    ca.add_argument("config", nargs="?", default=Path("calibration/default.yaml"), type=Path,
                    help="calibration configuration (default: calibration/default.yaml)")
    ca.add_argument("--out-root", default=Path("calibration/results"), type=Path,
                    help="folder of calibration runs (default: calibration/results)")
    ca.add_argument("--run", help="run name (default: the config's name); rerun to resume")
    ca.add_argument("--quiet", action="store_true", help="no progress bars")
    _parallel_options(ca)
    ca.set_defaults(func=_calibrate)

    sc = _sub(sub, "score", "score a run directory against the recorded targets",
              "Score the run folder of `idlib-sim run` against every recorded target (CRPS in "
              "days, coverage, skill against a naive model; calibration/README.md).",
              "  idlib-sim score out/baseline\n  idlib-sim score out/baseline --json\n"
              "  idlib-sim score out/baseline --plots out/baseline_scores")
    sc.add_argument("run_dir", type=Path, help="a folder written by `idlib-sim run`")
    sc.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    sc.add_argument("--plots", type=Path, metavar="DIR",
                    help="also draw the plots of the scores against the record into DIR")
    sc.set_defaults(func=_score)

    b = _sub(sub, "bench", "benchmark both engines on the baseline",
             "Measure replicas per second of the batch core (all workers and one core) and of "
             "the SimPy engine on the baseline, per-task overhead and peak memory.",
             "  idlib-sim bench --json\n  idlib-sim bench --profile --batch-replicas 4096\n"
             "  idlib-sim bench --scheduler tcp://HOST:8786")
    b.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    b.add_argument("--batch-replicas", type=int, default=32_768,
                   help="replicas on all workers (half as many on one core)")
    b.add_argument("--des-replicas", type=int, default=100,
                   help="replicas of the SimPy engine (default 100)")
    b.add_argument("--profile", action="store_true",
                   help="instead: cProfile one chunk of --batch-replicas replicas of the batch "
                        "core and print where the time goes")
    b.add_argument("--million", action="store_true",
                   help="instead: run 1,000,000 replicas of the baseline to a temporary folder "
                        "and report wall time and peak memory of the driver and workers")
    _parallel_options(b)
    b.set_defaults(func=_bench)

    df = _sub(sub, "displacement-fit",
              help="refit the displacement layer's two parameters to the article's dated figures",
              description="Refit the displacement layer (scale, approach share) by least squares "
              "on the log of the article's dated displacement figures (seeds/displacement.csv), "
              "over the posterior predictive of a scenario; prints the fit and its residuals.",
              examples="  idlib-sim displacement-fit\n"
                       "  idlib-sim displacement-fit scenarios/baseline.yaml --replicas 8000")
    df.add_argument("scenario", nargs="?", default=Path("scenarios/baseline.yaml"), type=Path,
                    help="scenario whose runs are fitted (default: scenarios/baseline.yaml)")
    df.add_argument("--replicas", type=int, default=4000,
                    help="replicas of the scenario to fit on (default 4000)")
    df.add_argument("--seed", type=int, help="seed (default: the scenario's)")
    _parallel_options(df)
    df.set_defaults(func=_displacement_fit)

    se = _sub(sub, "sensitivity",
              help="Sobol indices of key outcomes over the posterior ranges of the calibrated "
                   "parameters",
              description="Global sensitivity: Sobol first-order and total indices, with "
              "bootstrap intervals (SALib), of the area taken, Saraqib's fate, the day the M5 is "
              "held and the people displaced, to the calibrated parameters over their posterior "
              "ranges (README, 'Global sensitivity').",
              examples="  idlib-sim sensitivity\n"
                       "  idlib-sim sensitivity analyses/sensitivity.yaml --workers 2")
    _analysis_options(se, "sensitivity")
    se.set_defaults(func=_sensitivity)

    sl = _sub(sub, "select",
              help="posterior model probabilities with and without the Turkish intervention, "
                   "the counter-offensives, Russian air",
              description="Model selection: ABC model choice on a shared reference table between "
              "the calibrated model and the model without each mechanism; model probabilities "
              "and Bayes factors with bootstrap intervals and a prior-sensitivity check "
              "(README, 'Model selection').",
              examples="  idlib-sim select\n"
                       "  idlib-sim select analyses/select.yaml --out out/select --workers 2")
    _analysis_options(sl, "select")
    sl.set_defaults(func=_select)
    return p


def _version() -> str:
    from sim.outputs import package_version

    return package_version()


def _report(exc: IdlibSimError) -> None:
    """One ``idlib-sim: error:`` line per error (a scenario file reports all of its errors)."""
    for line in str(exc).splitlines() or [""]:
        print(f"idlib-sim: error: {line}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from sim.checkpoint import RunInterrupted

    try:
        return int(args.func(args))
    except RunInterrupted as exc:
        print(f"idlib-sim: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("idlib-sim: interrupted (nothing kept of this command's unfinished output)",
              file=sys.stderr)
        return 130
    except IdlibSimError as exc:
        _report(exc)
        return 2
    except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
