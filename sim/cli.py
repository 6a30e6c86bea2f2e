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

from sim.errors import IdlibSimError


def _theatre(args: argparse.Namespace) -> int:
    from sim.outputs import check_target
    from sim.theatre import load_theatre, recorded_captures

    out = check_target(args.out) if args.out else None  # refuse before any work
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
    from sim.run import run_scenario
    from sim.scenario import load_scenario, with_overrides

    sc = with_overrides(load_scenario(args.scenario), engine=args.engine, replicas=args.replicas,
                        seed=args.seed, sets={"posterior": None} if args.no_posterior else None)
    out = check_target(args.out or default_dir(sc.name))  # refuse before any simulation
    from sim.checkpoint import checkpoint_dir

    if not args.resume and checkpoint_dir(out).is_dir():
        print(f"idlib-sim: note: {checkpoint_dir(out)} holds an interrupted run's checkpoint; "
              "this run starts afresh and replaces it (--resume continues it instead)",
              file=sys.stderr)
    res = run_scenario(sc, out, engine=args.engine, replicas=args.replicas, seed=args.seed,
                       progress=not args.quiet and sys.stderr.isatty(), workers=args.workers,
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


def _list(args: argparse.Namespace) -> int:
    from sim.scenario import load_scenario

    for f in sorted(Path(args.folder).glob("*.yaml")):
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
    from sim.scenario import load_scenario, with_overrides
    from sim.world import default_world

    sets = {"posterior": None} if args.no_posterior else None
    a, b = (with_overrides(load_scenario(f), replicas=args.replicas, seed=args.seed, sets=sets)
            for f in (args.a, args.b))
    out = check_target(args.out or default_dir(f"compare_{a.name}_vs_{b.name}",
                                               what="comparison name"))  # before any simulation
    cmp = run_comparison(a, b, out, default_world()[0], replicas=args.replicas, seed=args.seed,
                         progress=not args.quiet and sys.stderr.isatty(),
                         workers=args.workers, scheduler=args.scheduler)
    summ = cmp.summary()
    print(f"{b.name} - {a.name}, {cmp.n} paired replicas -> {out}")
    t = summ["territory_diff_km2_at_end"]
    print(f"  government-held area at the end: {t['mean']:+.0f} km² "
          f"(95 % CI {t['ci95'][0]:+.0f} to {t['ci95'][1]:+.0f})")
    for name, k in summ["key_dates"].items():
        print(f"  {name:<14} reached by the end: A {k['p_reached_A']:.2f}, B {k['p_reached_B']:.2f}"
              f"; median date A {k['median_date_A']}, B {k['median_date_B']}")
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


def _parallel_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, metavar="N",
                   help="processes for the batch core's replica blocks (default: all cores; "
                        "results do not depend on it; the SimPy engine runs in one process)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the blocks on the workers of a running Dask scheduler, e.g. "
                        "tcp://HOST:8786, instead of local processes (see the README)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="idlib-sim", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("theatre", help="summarise the theatre and draw its map")
    t.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    t.add_argument("--out", type=Path, help="directory for theatre.png, theatre.json and "
                   "manifest.json (replaces only an earlier output of idlib-sim)")
    t.set_defaults(func=_theatre)

    r = sub.add_parser("run", help="run a scenario file")
    r.add_argument("scenario", type=Path)
    r.add_argument("--engine", choices=["batch", "des"], help="override the scenario's engine")
    r.add_argument("--replicas", type=int, help="override the number of replicas")
    r.add_argument("--seed", type=int, help="override the root seed")
    r.add_argument("--out", type=Path, help="output directory (default out/<scenario name>); "
                   "replaces only an earlier output of idlib-sim")
    r.add_argument("--no-posterior", action="store_true",
                   help="run the scenario's params in every replica, not its posterior samples")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--resume", action="store_true",
                   help="continue a batch run stopped by Ctrl-C or SIGTERM from its checkpoint "
                        "(out/.NAME.resume); same options as the interrupted run")
    _parallel_options(r)
    r.set_defaults(func=_run)

    v = sub.add_parser("validate", help="check scenario files (exit 2 if any is invalid)")
    v.add_argument("files", nargs="+", type=Path)
    v.set_defaults(func=_validate)

    ls = sub.add_parser("list", help="list the scenarios and the questions they ask")
    ls.add_argument("folder", nargs="?", default=Path("scenarios"), type=Path)
    ls.set_defaults(func=_list)

    cp = sub.add_parser("compare", help="paired comparison of two scenarios (B - A)")
    cp.add_argument("a", type=Path)
    cp.add_argument("b", type=Path)
    cp.add_argument("--replicas", type=int)
    cp.add_argument("--seed", type=int)
    cp.add_argument("--out", type=Path, help="output directory (default out/compare_A_vs_B); "
                    "replaces only an earlier output of idlib-sim")
    cp.add_argument("--no-posterior", action="store_true",
                    help="both scenarios run their params, not their posterior samples")
    cp.add_argument("--quiet", action="store_true")
    _parallel_options(cp)
    cp.set_defaults(func=_compare)

    ca = sub.add_parser("calibrate", help="fit the model to the recorded capture dates")
    ca.add_argument("config", nargs="?", default=Path("calibration/default.yaml"), type=Path)
    ca.add_argument("--out-root", default=Path("calibration/results"), type=Path)
    ca.add_argument("--run", help="run name (default: the config's name); rerun to resume")
    ca.add_argument("--quiet", action="store_true")
    _parallel_options(ca)
    ca.set_defaults(func=_calibrate)

    sc = sub.add_parser("score", help="score a run directory against the recorded targets")
    sc.add_argument("run_dir", type=Path)
    sc.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    sc.add_argument("--plots", type=Path, metavar="DIR",
                    help="also draw the plots of the scores against the record into DIR")
    sc.set_defaults(func=_score)

    b = sub.add_parser("bench", help="benchmark both engines on the baseline")
    b.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    b.add_argument("--batch-replicas", type=int, default=32_768,
                   help="replicas on all workers (half as many on one core)")
    b.add_argument("--des-replicas", type=int, default=100)
    b.add_argument("--profile", action="store_true",
                   help="instead: cProfile one chunk of --batch-replicas replicas of the batch "
                        "core and print where the time goes")
    b.add_argument("--million", action="store_true",
                   help="instead: run 1,000,000 replicas of the baseline to a temporary folder "
                        "and report wall time and peak memory of the driver and workers")
    _parallel_options(b)
    b.set_defaults(func=_bench)
    return p


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
