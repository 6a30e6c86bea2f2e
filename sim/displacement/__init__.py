"""The displacement layer: people who flee as the front approaches their locality and when it
falls (:mod:`.layer`), its two parameters fitted to the article's dated figures (:mod:`.record`),
and the tables a run and a comparison write (:mod:`.tables`)."""

from sim.displacement.layer import (
    DISPLACEMENT,
    DisplacementParams,
    Layer,
    load_populations,
)
from sim.displacement.record import Record, fit_displacement, load_record

__all__ = ["DISPLACEMENT", "DisplacementParams", "Layer", "Record", "fit_displacement",
           "load_populations", "load_record"]
