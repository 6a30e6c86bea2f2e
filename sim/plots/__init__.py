"""Plots: functions of data that take ``ax=None`` and return the Axes. Only this package imports
matplotlib. It does not choose a backend: on a machine without a display matplotlib falls back to
Agg by itself, and in a notebook the inline backend shows the figures.

* :mod:`.style` — palette, new Axes, date axes, shaded periods, :func:`save` (PNG, SVG, PDF);
* :mod:`.geomap` — the static map of the theatre in degrees;
* :mod:`.series` — territory fans, differences, timelines, capture-date distributions;
* :mod:`.posterior` — posterior pair plot, ABC generations, SBC ranks, PIT histogram;
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
from sim.plots.geomap import plot_theatre
from sim.plots.posterior import (
    plot_abc_generations,
    plot_pit_histogram,
    plot_posterior_marginals,
    plot_sbc_ranks,
)
from sim.plots.series import (
    plot_capture_distributions,
    plot_des_overview,
    plot_difference_fan,
    plot_territory_fan,
    plot_timeline,
)
from sim.plots.style import (
    DIVERGING_CMAP,
    FORMATS,
    GOV_COLOUR,
    KEY_TOWNS,
    OPP_COLOUR,
    Period,
    axes_or_new,
    date_axis,
    periods_of,
    save,
    shade_periods,
)

__all__ = ["DIVERGING_CMAP", "FORMATS", "GOV_COLOUR", "KEY_TOWNS", "OPP_COLOUR", "PHASE_COLOURS",
           "Period", "axes_or_new", "date_axis", "periods_of", "plot_abc_generations",
           "plot_bursts", "plot_capture_dates", "plot_capture_distributions",
           "plot_des_overview", "plot_difference_fan", "plot_end_state", "plot_error_map",
           "plot_pit_histogram", "plot_posterior_marginals", "plot_sbc_ranks",
           "plot_territory_fan", "plot_theatre", "plot_timeline", "save", "shade_periods"]

# the analyses of issue 14 (kept apart from the list above: other branches edit it)
from sim.plots.displacement import (
    plot_displacement_fan,
    plot_indices,
    plot_model_probabilities,
)

__all__ += ["plot_displacement_fan", "plot_indices", "plot_model_probabilities"]
