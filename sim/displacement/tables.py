"""What a run and a comparison write about displacement.

``displacement.csv`` (run): per date, the displaced people by the end of that day over the
replicas (mean and quantiles) with the article's figure for that date beside it (source,
whether it was fitted, its assumed relative error). The paired comparison: per date, the mean
and 95 % interval of the per-replica difference B - A (same seed, same replicas) and its
quantiles.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from numpy.typing import NDArray

from sim.analysis.inthist import IntHistogram
from sim.comparestats import MeanCI
from sim.displacement.layer import Layer
from sim.displacement.record import Record, load_record
from sim.model.campaign import FrontCampaign

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Resolution (people) of the quantiles of the displacement tables (run and comparison).
RESOLUTION = 10


def _dates(start: dt.date, n_days: int) -> list[str]:
    return [(start + dt.timedelta(days=k)).isoformat() for k in range(n_days)]


def run_table(cum: NDArray[np.floating], start: dt.date, record: Record | None = None
              ) -> pd.DataFrame:
    """Per date: mean and quantiles of ``cum`` (``(n, n_days)`` displaced by the end of each
    day), and the recorded figures beside them."""
    return summary_table(cum.mean(axis=0), np.quantile(cum, QUANTILES, axis=0), start, record)


def summary_table(mean: NDArray[np.floating], qs: NDArray[np.floating], start: dt.date,
                  record: Record | None = None) -> pd.DataFrame:
    """Per date: the ``mean`` and the quantiles ``qs`` (``(len(QUANTILES), n_days)``) of the
    displaced, and the recorded figures beside them."""
    df = pd.DataFrame({"date": _dates(start, len(mean)), "mean": mean})
    for q, v in zip(QUANTILES, qs, strict=True):
        df[f"q{round(q * 100):02d}"] = v
    rec = (record or load_record()).table.copy()
    rec["date"] = rec["date"].map(lambda d: d.isoformat())
    rec = rec.rename(columns={"displaced": "recorded", "source_org": "recorded_source",
                              "rel_error": "recorded_rel_error_assumed"})
    out = df.merge(rec, on="date", how="left")
    cols = ["mean", *(f"q{round(q * 100):02d}" for q in QUANTILES)]
    out[cols] = out[cols].round(0)
    return out


def write_displacement(run_dir: Path, c: FrontCampaign, plots: bool = True) -> pd.DataFrame:
    """``displacement.csv`` (and ``displacement.png``) of the run in ``run_dir``, from its
    ``capture_days.parquet`` (read a batch at a time, in constant memory; the quantiles are
    those of the displaced rounded to :data:`RESOLUTION` people)."""
    layer = Layer.of(c.theatre)
    f = pq.ParquetFile(run_dir / "capture_days.parquet")
    # constant memory in the replicas: a running sum for the mean and an integer histogram of
    # the displaced rounded to RESOLUTION people for the quantiles (exact at that resolution)
    total, n = np.zeros(c.n_days), 0
    hist = IntHistogram(c.n_days)
    for b in f.iter_batches(batch_size=8192):
        first = np.column_stack([b.column(i).to_numpy() for i in range(b.num_columns)])
        cum = layer.cumulative(first.astype(np.int16), c.n_days)
        total += cum.sum(axis=0)
        n += len(cum)
        hist.add(np.rint(cum / RESOLUTION).astype(np.int64))
    table = summary_table(total / n, hist.quantiles(list(QUANTILES)) * RESOLUTION, c.start)
    people = ["mean", *(f"q{round(q * 100):02d}" for q in QUANTILES), "recorded"]
    table.astype({k: "Int64" for k in people}).to_csv(run_dir / "displacement.csv", index=False)
    if plots:
        from sim import plots as P

        ax = P.plot_displacement_fan(table, label=f"{n} replicas")
        P.save(ax, run_dir / "displacement.png")
    return table


class PairedDisplacement:
    """Streaming paired difference B - A of the displaced by the end of each day, in constant
    memory: running sums for the mean and its interval, an integer histogram at
    :data:`RESOLUTION` people for the quantiles (as the run's table)."""

    def __init__(self, c: FrontCampaign) -> None:
        self.layer, self.start, self.n_days = Layer.of(c.theatre), c.start, c.n_days
        self.moments = MeanCI()
        self.hist = IntHistogram(c.n_days)

    def add(self, first_a: NDArray[np.int16], first_b: NDArray[np.int16]) -> None:
        d = (self.layer.cumulative(first_b, self.n_days)
             - self.layer.cumulative(first_a, self.n_days))
        self.moments.add(d)
        self.hist.add(np.rint(d / RESOLUTION).astype(np.int64))

    def table(self) -> pd.DataFrame:
        """Per date: mean, 95 % interval of the mean, and quantiles of the paired difference."""
        mean, low, high = self.moments.mean_ci()
        qs = self.hist.quantiles([0.05, 0.5, 0.95]) * RESOLUTION
        return pd.DataFrame({"date": _dates(self.start, self.n_days), "mean": mean,
                             "ci_low": low, "ci_high": high, "q05": qs[0], "q50": qs[1],
                             "q95": qs[2]})


def displacement_summary(table: pd.DataFrame | None) -> dict[str, object] | None:
    """The last date of a paired difference table, for a comparison's summary.json."""
    if table is None or not len(table):
        return None
    last = table.iloc[-1]
    return {"date": str(last["date"]), "mean": float(last["mean"]),
            "ci95": [float(last["ci_low"]), float(last["ci_high"])]}
