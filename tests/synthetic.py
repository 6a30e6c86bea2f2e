"""Random small theatres for property tests: a seeds/ folder written from a numpy Generator.

Towns are scattered in a 0.3° x 0.4° patch of the theatre box; the eastern ones start
government-held. One opposition town holds a Turkish post (``at_node = true``). One to three
formations start on government towns next to the front with objectives deep in opposition ground.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

from sim.model.forces import load_forces
from sim.model.modifiers import Modifier
from sim.theatre import Theatre, load_theatre

TOWN_FIELDS = ["town", "aliases", "lat", "lon", "kind", "governorate", "population_2004",
               "terrain", "terrain_basis", "coord_quality", "coord_uncertainty_km",
               "coord_source", "note"]
HEADERS = {
    "clusters.csv": ["member", "node", "rule", "basis"],
    "unplaced.csv": ["place", "reason", "clue"],
    "events.csv": ["date", "place", "event", "actor", "certainty", "quote"],
    "aggregates.csv": ["date", "quantity", "value", "unit", "certainty", "quote"],
    "roads.csv": ["road", "order", "town", "source"],
    "calendar.csv": ["start", "end", "phase", "description", "source"],
}


def _write(path: Path, fields: list[str], rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


def write_synthetic_seeds(root: Path, seed: int, n_towns: int = 14, n_formations: int = 2,
                          post_day: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    # jittered grid, so no two towns coincide
    side = int(np.ceil(np.sqrt(n_towns)))
    cells = rng.permutation(side * side)[:n_towns]
    lat = 35.6 + 0.3 * ((cells // side) + rng.uniform(0.2, 0.8, n_towns)) / side
    lon = 36.5 + 0.4 * ((cells % side) + rng.uniform(0.2, 0.8, n_towns)) / side
    names = [f"T{i:02d}" for i in range(n_towns)]
    terrain = rng.choice(["plain", "hills", "urban", "mountain"], n_towns)
    kind = rng.choice(["town", "village", "city"], n_towns)
    towns = [
        {"town": n, "aliases": f"alias {n}", "lat": f"{a:.5f}", "lon": f"{o:.5f}", "kind": k,
         "governorate": "Idlib", "population_2004": "", "terrain": t,
         "terrain_basis": "synthetic", "coord_quality": "geonames",
         "coord_uncertainty_km": "0.5", "coord_source": "synthetic", "note": ""}
        for n, a, o, k, t in zip(names, lat, lon, kind, terrain, strict=True)
    ]
    _write(root / "towns.csv", TOWN_FIELDS, towns)
    east = lon >= np.quantile(lon, 0.6)
    _write(root / "initial_control.csv", ["town", "control", "basis", "basis_kind", "source"],
           [{"town": n, "control": "government" if e else "opposition", "basis": "synthetic",
             "basis_kind": "inferred_from_position", "source": ""}
            for n, e in zip(names, east, strict=True)])
    # the model does not read posture yet; every synthetic town defends hastily
    _write(root / "posture.csv", ["town", "posture", "basis_kind", "basis", "source"],
           [{"town": n, "posture": "hasty", "basis_kind": "inferred", "basis": "synthetic",
             "source": "synthetic"} for n in names])
    opp = [i for i in range(n_towns) if not east[i]]
    gov = [i for i in range(n_towns) if east[i]]
    post = int(rng.choice(opp))
    start = (dt.date(2019, 12, 19) + dt.timedelta(days=post_day)).isoformat()
    _write(root / "observation_posts.csv",
           ["post", "town", "at_node", "established", "encircled", "source", "note"],
           [{"post": "P", "town": names[post], "at_node": "true", "established": start,
             "encircled": "", "source": "synthetic", "note": ""}])
    for name, fields in HEADERS.items():
        _write(root / name, fields, [])
    by_lon = sorted(gov, key=lambda i: lon[i])
    forms = []
    orders = []
    for k in range(n_formations):
        f = f"F{k}"
        forms.append({"formation": f, "strength_k": f"{rng.uniform(1, 4):.2f}",
                      "start_town": names[by_lon[k % len(by_lon)]], "strength_basis": "synthetic",
                      "source": "synthetic"})
        objs = rng.choice(opp, size=min(3, len(opp)), replace=False)
        orders.append({"formation": f, "start": "2019-12-19",
                       "objectives": "|".join(names[i] for i in objs), "phase": "p1",
                       "source": "synthetic"})
        objs2 = rng.choice(opp, size=min(2, len(opp)), replace=False)
        orders.append({"formation": f, "start": "2020-01-05",
                       "objectives": "|".join(names[i] for i in objs2), "phase": "p2",
                       "source": "synthetic"})
    _write(root / "formations.csv",
           ["formation", "strength_k", "start_town", "strength_basis", "source"], forms)
    _write(root / "orders.csv", ["formation", "start", "objectives", "phase", "source"], orders)
    _write(root / "sectors.csv",
           ["sector", "anchors", "groups", "strength_k", "strength_basis", "source"],
           [{"sector": "s0", "anchors": names[opp[0]], "groups": "g", "strength_k": "3.0",
             "strength_basis": "synthetic", "source": "synthetic"},
            {"sector": "s1", "anchors": names[opp[-1]], "groups": "g", "strength_k": "2.0",
             "strength_basis": "synthetic", "source": "synthetic"}])
    # the front model's opposition strike group (s0 strikes back at the government's 18 Dec
    # ground for a week) and no ceasefire breaches
    _write(root / "strike_orders.csv", ["group", "sector", "start", "end", "strength_k_low",
                                        "strength_k_high", "objectives", "source"],
           [{"group": "S0", "sector": "s0", "start": "2020-01-10", "end": "2020-01-17",
             "strength_k_low": "1.0", "strength_k_high": "2.0",
             "objectives": "|".join(names[i] for i in gov[:2]), "source": "synthetic"}])
    _write(root / "breaches.csv", ["formation", "start", "end", "source"], [])
    _write(root / "reinforcements.csv", ["date", "side", "target", "strength_k", "source"],
           [{"date": "2020-01-02", "side": "opposition", "target": "s0", "strength_k": "0.5",
             "source": "synthetic"}])
    return root


def synthetic_world(root: Path, seed: int, **kw: int) -> tuple[Theatre, object]:
    write_synthetic_seeds(root, seed, **kw)
    th = load_theatre(root)
    return th, load_forces(th, root)


def standard_modifiers(posts: bool = True) -> list[Modifier]:
    d = dt.date
    mods = [
        Modifier(name="air", kind="russian_air", start=d(2019, 12, 19), params={"sorties": 1.0}),
        Modifier(name="ceasefire", kind="ceasefire", start=d(2019, 12, 29), end=d(2020, 1, 3),
                 params={"intensity": 0.0}),
        Modifier(name="shield", kind="spring_shield", start=d(2020, 1, 8), end=d(2020, 1, 14)),
    ]
    if posts:
        mods.append(Modifier(name="posts", kind="observation_posts", start=d(2019, 12, 19)))
    return mods
