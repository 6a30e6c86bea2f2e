"""Calibration targets: the whole record of the article as targets (calibration/README.md).

Tables of :class:`Targets`:

``captures``, ``recaptures``, ``retakes``
    dated targets (:mod:`.dates`): every dated government capture, opposition recapture and
    government retaking of every placed locality, nodes and cluster members alike;
``counts``
    bursts: the number of localities taken (or retaken) in a window (:mod:`.counts`);
``end_state``
    the holder of each node on 6 Mar where the article gives it (:mod:`.endstate`);
``territory``
    the recorded areas and shares, with which of them are scored (:mod:`.territory`);
``left_out``
    every dated capture or recapture row of the window that is not a target, and why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.calibration.targets.common import (
    CERTAINTY_WEIGHT,
    NEIGHBOUR_FACTOR,
    PHASES,
    calibration_dir,
    load_corrections,
    load_end_state,
    phase_of,
)
from sim.calibration.targets.counts import build_counts, locality_weight
from sim.calibration.targets.dates import build_dated
from sim.calibration.targets.endstate import build_end_state
from sim.calibration.targets.territory import build_territory, idlib_mask
from sim.theatre.theatre import Theatre

#: Dated target kinds, in report order.
DATED = ("captures", "recaptures", "retakes")


@dataclass(frozen=True)
class Targets:
    captures: pd.DataFrame
    recaptures: pd.DataFrame
    retakes: pd.DataFrame
    counts: pd.DataFrame
    end_state: pd.DataFrame
    territory: pd.DataFrame
    left_out: pd.DataFrame

    def dated(self) -> pd.DataFrame:
        """The three dated tables stacked (column ``target`` tells them apart)."""
        return pd.concat([self.captures, self.recaptures, self.retakes], ignore_index=True)

    def _split(self, keep_dated: object, keep_window: object) -> Targets:
        def sub(df: pd.DataFrame, col: str, keep: object) -> pd.DataFrame:
            return df[[keep(v) for v in df[col]]].reset_index(drop=True)  # type: ignore[operator]

        return Targets(sub(self.captures, "date", keep_dated),
                       sub(self.recaptures, "date", keep_dated),
                       sub(self.retakes, "date", keep_dated),
                       sub(self.counts, "end", keep_window),
                       self.end_state if keep_window(dt.date(2020, 3, 6)) else  # type: ignore
                       self.end_state.iloc[:0],
                       sub(self.territory, "date", keep_window),
                       self.left_out)

    def until(self, last: dt.date) -> Targets:
        """Only the targets dated up to ``last`` (for a time-ordered hold-out); windows count
        by their last day, the end state by 6 Mar."""
        return self._split(lambda d: d <= last, lambda d: d <= last)

    def after(self, last: dt.date) -> Targets:
        """Only the targets dated after ``last``."""
        return self._split(lambda d: d > last, lambda d: d > last)

    def n_targets(self) -> dict[str, object]:
        """Number of dated targets, by kind and phase (and of the other targets)."""
        dated = self.dated()
        by = {k: {p: int(((dated["target"] == k[:-1]) & (dated["phase"] == p)).sum())
                  for p, _, _ in PHASES} for k in DATED}
        return {"dated": len(dated), "by_kind_and_phase": by,
                "by_kind": {k: len(getattr(self, k)) for k in DATED},
                "by_phase": {p: int((dated["phase"] == p).sum()) for p, _, _ in PHASES},
                "captured_by_bounds": int((dated["kind"] == "by").sum()),
                "members": int((dated["role"] == "member").sum()),
                "counts": len(self.counts), "end_state": len(self.end_state),
                "territory_scored": int(self.territory["scored"].sum()) if len(self.territory)
                else 0}


def build_targets(theatre: Theatre, root: str | Path | None = None) -> Targets:
    """All calibration targets for the historical campaign (``root``: the calibration folder
    holding ``corrections.csv`` and ``end_state.csv``; the repository's by default)."""
    folder = Path(root) if root is not None else calibration_dir()
    corrections = load_corrections(theatre, folder)
    captures, recaptures, retakes, left = build_dated(theatre, corrections)
    return Targets(
        captures=captures, recaptures=recaptures, retakes=retakes,
        counts=build_counts(theatre, captures, recaptures),
        end_state=build_end_state(theatre, corrections, load_end_state(theatre, folder)),
        territory=build_territory(theatre, captures),
        left_out=left,
    )


__all__ = ["CERTAINTY_WEIGHT", "DATED", "NEIGHBOUR_FACTOR", "PHASES", "Targets", "build_targets",
           "idlib_mask", "locality_weight", "phase_of"]
