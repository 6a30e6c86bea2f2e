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
    from sim.theatre import load_theatre, recorded_captures

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
    if args.out:
        from sim import plots
        from sim.outputs import atomic_dir

        with atomic_dir(args.out) as tmp:
            ax = plots.plot_theatre(th, title="Control on 18 Dec 2019 (seeds/initial_control.csv)")
            plots.save(ax, tmp / "theatre.png", dpi=130)
            (tmp / "theatre.json").write_text(json.dumps(summary, indent=2) + "\n")
        if not args.json:
            print(f"wrote {Path(args.out) / 'theatre.png'}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from sim.run import run_scenario
    from sim.scenario import load_scenario

    sc = load_scenario(args.scenario)
    out = args.out or Path("out") / sc.name
    res = run_scenario(sc, out, engine=args.engine, replicas=args.replicas, seed=args.seed,
                       progress=not args.quiet and sys.stderr.isatty())
    ens = res.ensemble
    print(f"{sc.name}: {ens.n} replicas in {res.wall_s:.2f} s -> {out}")
    tab = ens.town_table().set_index("town")
    for town in ("Ma'arrat al-Nu'man", "Saraqib", "Al-Eiss", "Kafr Nabl", "Idlib", "Ariha"):
        if town in tab.index:
            row = tab.loc[town]
            print(f"  {town:<20} P(captured)={row.p_captured:.2f}  median first capture: "
                  f"{row.q50 or 'not captured in most replicas'}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from sim.bench import bench

    out = bench(batch_replicas=args.batch_replicas, des_replicas=args.des_replicas)
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="idlib-sim", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("theatre", help="summarise the theatre and draw its map")
    t.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    t.add_argument("--out", type=Path, help="directory for theatre.png and theatre.json")
    t.set_defaults(func=_theatre)

    r = sub.add_parser("run", help="run a scenario file")
    r.add_argument("scenario", type=Path)
    r.add_argument("--engine", choices=["batch", "des"], help="override the scenario's engine")
    r.add_argument("--replicas", type=int, help="override the number of replicas")
    r.add_argument("--seed", type=int, help="override the root seed")
    r.add_argument("--out", type=Path, help="output directory (default out/<scenario name>)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=_run)

    b = sub.add_parser("bench", help="benchmark both engines on the baseline")
    b.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    b.add_argument("--batch-replicas", type=int, default=50_000)
    b.add_argument("--des-replicas", type=int, default=200)
    b.set_defaults(func=_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except IdlibSimError as exc:
        print(f"idlib-sim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
