"""Plots: functions of data that take ``ax=None`` and return the Axes. Only this package imports
matplotlib. It does not choose a backend: on a machine without a display matplotlib falls back to
Agg by itself, and in a notebook the inline backend shows the figures.

* :mod:`.common` — maps, territory fans, timelines, differences, calibration diagnostics;
* :mod:`.calibration` — every dated target against the record, the error map, bursts, the end
  state.
"""

from sim.plots.calibration import (
    PHASE_COLOURS,
    plot_bursts,
    plot_capture_dates,
    plot_end_state,
    plot_error_map,
)
from sim.plots.common import (
    GOV_COLOUR,
    KEY_TOWNS,
    OPP_COLOUR,
    axes_or_new,
    date_axis,
    plot_convergence,
    plot_difference_fan,
    plot_pit_histogram,
    plot_posterior_pairs,
    plot_territory_fan,
    plot_theatre,
    plot_timeline,
    save,
)

__all__ = ["GOV_COLOUR", "KEY_TOWNS", "OPP_COLOUR", "PHASE_COLOURS", "axes_or_new", "date_axis",
           "plot_bursts", "plot_capture_dates", "plot_convergence", "plot_difference_fan",
           "plot_end_state", "plot_error_map", "plot_pit_histogram", "plot_posterior_pairs",
           "plot_territory_fan", "plot_theatre", "plot_timeline", "save"]

# the analyses of issue 14 (kept apart from the list above: other branches edit it)
from sim.plots.displacement import (
    plot_displacement_fan,
    plot_indices,
    plot_model_probabilities,
)

__all__ += ["plot_displacement_fan", "plot_indices", "plot_model_probabilities"]
