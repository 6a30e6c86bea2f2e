"""``idlib-sim select``: does the record need the Turkish intervention, the opposition's
counter-offensives or the Russian air campaign to be explained?

Method: ABC model choice by rejection on one shared reference table (Pudlo et al. 2016 discuss
its limits). The models are the scenario with one mechanism switched off (:data:`MODELS`), equally
likely a priori. For each model, ``per_model`` parameter points are drawn from the calibration's
priors (:mod:`sim.calibration.space`; a dimension of a switched-off mechanism is not drawn), each
simulated with ``replicas`` replicas at its own seed, and scored with the calibration's
whole-record objective (:mod:`sim.calibration.objective`, in days) as the distance. The closest
``accept`` fraction of the whole table is accepted; a model's posterior probability is its share
of the accepted points (the same number of draws per model, so equal prior probabilities). The
Bayes factor of a model against the full one is the ratio of their probabilities.

Monte Carlo uncertainty: a bootstrap of the reference table (each model's draws resampled, the
tolerance recomputed). Prior sensitivity: each setting of ``prior_widths`` replaces the prior on
the unit cube (uniform = the calibrated prior) by a product of symmetric Beta(a, a) densities
whose standard deviation is ``width`` times the uniform's (a > 1 narrows the prior about each
dimension's prior median, a < 1 widens it towards the range's ends); the reference table is
reweighted by that density (importance sampling, no new simulation), and the effective number
of accepted points is reported, since a strong reweighting leaves few.

What this can and cannot say: a distance that summarises the record in one number loses
information, so ABC model choice can fail to separate models that a richer summary would
(Robert et al. 2011); the probabilities answer "which model's prior predictive comes closer to
the record by this objective", which is what they are reported as.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from sim.analyses_config import SelectionConfig, config_dict, load
from sim.calibration import space
from sim.engines.chunk import BLOCK

F64 = NDArray[np.float64]

#: Each model: what it switches off (modifier kinds removed, opposition strike orders emptied).
MODELS: dict[str, dict[str, Any]] = {
    "full": {"what": "the calibrated model", "kinds": (), "strikes": True},
    "no_turkey": {"what": "no Turkish intervention (retaliation strikes, artillery support, "
                          "Spring Shield)",
                  "kinds": ("turkish_retaliation", "turkish_artillery", "spring_shield"),
                  "strikes": True},
    "no_counteroffensive": {"what": "no opposition counter-offensives (the dated strike orders "
                                    "of seeds/strike_orders.csv have no strength)",
                            "kinds": (), "strikes": False},
    "no_russian_air": {"what": "no Russian air campaign", "kinds": ("russian_air",),
                       "strikes": True},
}
#: Points per task on the workers.
POINTS_PER_TASK = 4


def model_factory(base: Any, name: str) -> Any:
    """A :class:`~sim.calibration.model.CampaignFactory` of model ``name`` (``base`` is not
    changed)."""
    spec = MODELS[name]
    f = copy.copy(base)
    f.modifiers = tuple(m for m in base.modifiers if m.kind not in spec["kinds"])
    if not spec["strikes"]:
        o = base.orders
        f.orders = dataclasses.replace(o, strike_low_k=0.0 * o.strike_low_k,
                                       strike_high_k=0.0 * o.strike_high_k)
    return f


def model_dims(factory: Any) -> list[int]:
    """Indices into :data:`space.SPACE` of the dimensions the model has (a switched-off
    modifier's strengths are not drawn)."""
    have = {m.name for m in factory.modifiers}
    return [i for i, d in enumerate(space.SPACE)
            if not d.is_modifier or d.name.split(".")[1] in have]


def beta_shape(width: float) -> float:
    """``a`` of the Beta(a, a) whose sd is ``width`` x the uniform's (``width < sqrt 3``)."""
    if not 0 < width < math.sqrt(3.0):
        raise ValueError(f"prior width {width}: must be in (0, sqrt(3))")
    return (3.0 / width**2 - 1.0) / 2.0


def prior_weights(u: F64, width: float) -> F64:
    """Density on the cube of the prior setting ``width`` at points ``u`` (``NaN`` columns: a
    dimension the model has not, ignored); 1 everywhere for ``width == 1``."""
    if width == 1.0:
        return np.ones(len(u))
    a = beta_shape(width)
    eps = 1e-12  # the U-shaped density is infinite at the cube's faces
    logp = stats.beta(a, a).logpdf(np.clip(u, eps, 1 - eps))
    return np.asarray(np.exp(np.nansum(np.where(np.isnan(u), 0.0, logp), axis=1)))


def model_probabilities(d: F64, labels: NDArray[np.intp], n_models: int, accept: float,
                        w: F64 | None = None) -> tuple[F64, F64, float]:
    """Posterior model probabilities by ABC rejection.

    ``d``: distances of the reference table; ``labels``: each row's model; ``w``: prior weights
    (importance reweighting; ``None``: all 1). The tolerance is the ``accept`` quantile of ``d``.
    Model ``m``'s evidence is ``sum_i w_i 1{d_i <= eps} / n_m`` over its rows. Returns the
    probabilities, the accepted count per model, and the tolerance."""
    w = np.ones(len(d)) if w is None else w
    eps = float(np.quantile(d, accept))
    ok = d <= eps
    n = np.bincount(labels, minlength=n_models).astype(float)
    ev = np.bincount(labels, weights=w * ok, minlength=n_models) / np.maximum(n, 1)
    k = np.bincount(labels, weights=ok.astype(float), minlength=n_models)
    tot = ev.sum()
    p = ev / tot if tot > 0 else np.full(n_models, np.nan)
    return np.asarray(p, dtype=np.float64), np.asarray(k, dtype=np.float64), eps


def bootstrap_probabilities(d: F64, labels: NDArray[np.intp], n_models: int, accept: float,
                            w: F64, resamples: int, rng: np.random.Generator) -> F64:
    """``(resamples, n_models)`` probabilities on bootstrap copies of the reference table (each
    model's rows resampled with replacement, the tolerance recomputed)."""
    groups = [np.flatnonzero(labels == m) for m in range(n_models)]
    out = np.empty((resamples, n_models))
    for b in range(resamples):  # a few thousand small resamples: cheap
        idx = np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups])
        out[b] = model_probabilities(d[idx], labels[idx], n_models, accept, w[idx])[0]
    return out


# -- the reference table ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Shared:
    factories: tuple[Any, ...]
    targets: Any
    values: tuple[dict[str, float], ...]
    labels: NDArray[np.intp]
    seeds: NDArray[np.int64]
    replicas: int


def _reference_job(shared: _Shared, start: int, n: int) -> F64:
    """Distances of rows ``k * POINTS_PER_TASK ..`` of the table, ``k = start // BLOCK`` (a
    task's block index is its index in the list of row groups)."""
    from sim.calibration.model import simulate
    from sim.calibration.objective import objective, term_scores

    k = start // BLOCK
    rows = range(k * POINTS_PER_TASK, min((k + 1) * POINTS_PER_TASK, len(shared.values)))
    out = []
    for i in rows:
        sim = simulate(shared.factories[shared.labels[i]], shared.values[i], shared.replicas,
                       int(shared.seeds[i]))
        out.append(objective(term_scores(sim, shared.targets, np.random.default_rng(0))))
    return np.array(out, dtype=np.float64)


def reference_distances(factories: Sequence[Any], targets: Any,
                        values: Sequence[Mapping[str, float]], labels: NDArray[np.intp],
                        seeds: NDArray[np.int64], replicas: int, workers: int | None = 1,
                        scheduler: Any = None, on_task: Callable[[int, int], None] | None = None
                        ) -> F64:
    """The whole-record objective (days) of every row of the reference table."""
    from sim.parallel import map_blocks

    shared = _Shared(tuple(factories), targets, tuple(dict(v) for v in values),
                     np.asarray(labels), np.asarray(seeds), replicas)
    n_tasks = math.ceil(len(values) / POINTS_PER_TASK)
    parts = []
    for i, part in enumerate(map_blocks(_reference_job, shared, n_tasks * BLOCK,
                                        workers=workers, scheduler=scheduler,
                                        blocks_per_task=1)):
        parts.append(part)
        if on_task is not None:
            on_task(i + 1, n_tasks)
    return np.concatenate(parts)


@dataclass
class SelectionResult:
    probabilities: pd.DataFrame
    """``prior, model, p, p_lo, p_hi, bf_vs_full, bf_lo, bf_hi, accepted, ess``."""
    reference: pd.DataFrame
    models: list[str]
    eps: float
    wall_s: float
    text: str = ""


def analyse(reference: pd.DataFrame, models: Sequence[str], accept: float,
            widths: Mapping[str, float], resamples: int, seed: int) -> pd.DataFrame:
    """The probabilities table of a reference table (columns ``model``, ``distance`` and the
    cube coordinate ``u:<dim>`` of every dimension, ``NaN`` where a model has not that
    dimension)."""
    labels: NDArray[np.intp] = np.asarray(
        reference["model"].map({m: i for i, m in enumerate(models)}), dtype=np.intp)
    d = reference["distance"].to_numpy(float)
    u = reference[[c for c in reference.columns if c.startswith("u:")]].to_numpy(float)
    rows = []
    full = models.index("full") if "full" in models else 0
    for j, (setting, width) in enumerate(widths.items()):
        w = prior_weights(u, width)
        p, k, eps = model_probabilities(d, labels, len(models), accept, w)
        boot = bootstrap_probabilities(d, labels, len(models), accept, w, resamples,
                                       np.random.default_rng([seed, 3, j]))
        with np.errstate(divide="ignore", invalid="ignore"):
            bf = boot / boot[:, [full]]  # inf when the full model got no accepted point

        def q(x: F64, at: float) -> float:
            # no interpolation between order statistics: an infinite one stays infinite
            return float(np.nanquantile(x, at, method="inverted_cdf"))

        ok = d <= eps
        for m, name in enumerate(models):
            wa = w[ok & (labels == m)]
            ess = float(wa.sum() ** 2 / (wa**2).sum()) if wa.sum() > 0 else 0.0
            rows.append({"prior": setting, "model": name, "p": p[m],
                         "p_lo": q(boot[:, m], 0.025), "p_hi": q(boot[:, m], 0.975),
                         "bf_vs_full": p[m] / p[full] if p[full] > 0 else np.inf,
                         "bf_lo": q(bf[:, m], 0.025), "bf_hi": q(bf[:, m], 0.975),
                         "accepted": int(k[m]), "ess": ess, "eps_days": eps})
    return pd.DataFrame(rows)


def plain_summary(table: pd.DataFrame, models: Sequence[str]) -> str:
    """What the numbers say, in words (one line per mechanism, then the prior check)."""
    base = table[table["prior"] == table["prior"].iloc[0]].set_index("model")
    lines = [f"Posterior model probabilities (prior '{table['prior'].iloc[0]}', equal prior "
             f"odds, tolerance {base['eps_days'].iloc[0]:.2f} days):"]
    for m in models:
        r = base.loc[m]
        lines.append(f"  {m}: {r['p']:.2f} (95 % MC interval {r['p_lo']:.2f}-{r['p_hi']:.2f})"
                     + ("" if m == "full" else f", Bayes factor vs full {r['bf_vs_full']:.2f} "
                        f"({r['bf_lo']:.2f}-{r['bf_hi']:.2f})"))
    for m in models:
        if m == "full":
            continue
        r = base.loc[m]
        what = MODELS[m]["what"] if m in MODELS else m
        if r["bf_hi"] < 1 / 3:
            verdict = ("the record needs this mechanism: without it the model comes close to "
                       "the record clearly less often (Bayes factor below 1/3 across the "
                       "Monte Carlo interval)")
        elif r["bf_lo"] > 3:
            verdict = "the record is explained better without this mechanism"
        elif r["bf_hi"] < 1:
            verdict = ("the record leans towards keeping this mechanism, but not decisively "
                       "(Bayes factor below 1, above 1/3 somewhere in its interval)")
        elif r["bf_lo"] > 1:
            verdict = "the record leans towards dropping this mechanism, not decisively"
        else:
            verdict = ("the record cannot tell the model with and without it apart by this "
                       "objective (the Bayes factor's interval contains 1)")
        lines.append(f"- {what}: {verdict}.")
    flips = []
    for m in models:
        sub = table[table["model"] == m]
        side = np.sign(np.log(sub["bf_vs_full"].clip(1e-9)))
        if m != "full" and len(set(side)) > 1:
            flips.append(m)
    lines.append("Prior check: " + (
        "the direction of every Bayes factor is the same under every prior setting."
        if not flips else "the direction of the Bayes factor changes with the prior for "
        + ", ".join(flips) + ": the record does not settle it."))
    ess = table.groupby("prior", sort=False)["ess"].sum()
    lines.append("Accepted points (effective number) per prior setting: "
                 + ", ".join(f"{k} {v:.0f}" for k, v in ess.items()) + ".")
    few = [str(k) for k, v in ess.items() if v < 30]
    if few:
        lines.append("Fewer than 30 effective accepted points under the prior setting(s) "
                     + ", ".join(repr(f) for f in few) + ": those probabilities are rough (see "
                     "their intervals); a larger per_model sharpens them.")
    return "\n".join(lines)


def run_selection(config: str | Path, out: str | Path | None, workers: int | None = None,
                  scheduler: Any = None, progress: bool = False) -> SelectionResult:
    """Build the reference table of ``config``'s models, analyse it, write it to ``out``."""
    from sim.calibration.model import CampaignFactory, draw_seeds
    from sim.calibration.targets import build_targets
    from sim.errors import ScenarioError, did_you_mean
    from sim.scenario import load_scenario

    cfg, scen_path = load(config, SelectionConfig)
    for m in cfg.models:
        if m not in MODELS:
            raise ScenarioError(f"{config}: field 'models': value {m!r}: not a model"
                                + did_you_mean(m, MODELS) + f"; models: {list(MODELS)}")
    t0 = time.perf_counter()
    base = CampaignFactory(load_scenario(scen_path))
    targets = build_targets(base.theatre)
    factories = [model_factory(base, m) for m in cfg.models]
    n = cfg.per_model
    labels = np.repeat(np.arange(len(cfg.models)), n)
    u = np.random.default_rng([cfg.seed, 1]).random((len(labels), len(space.SPACE)))
    seeds = draw_seeds(cfg.seed, len(labels))
    values = []
    for i, lab in enumerate(labels):
        have = model_dims(factories[lab])
        u[i, [j for j in range(len(space.SPACE)) if j not in have]] = np.nan
        values.append({space.SPACE[j].name: float(space.SPACE[j].from_unit(u[i, j]))
                       for j in have})

    def tell(i: int, k: int) -> None:
        if progress and (i % 10 == 0 or i == k):
            print(f"[select {time.strftime('%H:%M:%S')}] task {i}/{k}", flush=True)

    d = reference_distances(factories, targets, values, labels, seeds, cfg.replicas,
                            workers=cfg.workers if workers is None else workers,
                            scheduler=scheduler, on_task=tell)
    ref = pd.DataFrame({"model": [cfg.models[i] for i in labels], "seed": seeds,
                        "distance": d})
    for j, dim in enumerate(space.SPACE):
        ref[f"u:{dim.name}"] = u[:, j]
    table = analyse(ref, cfg.models, cfg.accept, cfg.prior_widths, cfg.bootstrap, cfg.seed)
    res = SelectionResult(table, ref, list(cfg.models), float(table["eps_days"].iloc[0]),
                          time.perf_counter() - t0)
    res.text = plain_summary(table, cfg.models)
    if out is not None:
        _write(res, Path(out), cfg)
    return res


def _write(res: SelectionResult, out: Path, cfg: SelectionConfig) -> None:
    from sim import plots as P
    from sim.outputs import atomic_dir, write_manifest

    with atomic_dir(out, kind="analysis") as tmp:
        res.probabilities.to_csv(tmp / "model_probabilities.csv", index=False,
                                 float_format="%.4f")
        res.reference.to_csv(tmp / "reference_table.csv", index=False, float_format="%.6g")
        (tmp / "summary.txt").write_text(res.text + "\n")
        ax = P.plot_model_probabilities(res.probabilities)
        ax.set_title(f"ABC model choice: {cfg.per_model} prior draws per model, closest "
                     f"{cfg.accept:.0%} accepted")
        P.save(ax, tmp / "model_probabilities.png")
        (tmp / "summary.json").write_text(json.dumps(
            {"models": {m: MODELS[m]["what"] for m in res.models},
             "probabilities": res.probabilities.to_dict(orient="records"),
             "wall_time_s": round(res.wall_s, 1),
             "simulations": len(res.reference),
             "replicas_per_simulation": cfg.replicas}, indent=2, default=float) + "\n")
        write_manifest(tmp, analysis="select", config=config_dict(cfg),
                       wall_time_s=round(res.wall_s, 3))
