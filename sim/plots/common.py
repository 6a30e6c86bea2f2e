"""The shared names of :mod:`sim.plots` under their historical module: the palette, Axes and
saving helpers (:mod:`.style`), the map (:mod:`.geomap`) and the date series (:mod:`.series`).
New code imports from those modules or from :mod:`sim.plots` itself."""

from sim.plots.geomap import plot_theatre
from sim.plots.posterior import plot_pit_histogram
from sim.plots.series import plot_difference_fan, plot_territory_fan, plot_timeline
from sim.plots.style import GOV_COLOUR, KEY_TOWNS, OPP_COLOUR, axes_or_new, date_axis, save

__all__ = ["GOV_COLOUR", "KEY_TOWNS", "OPP_COLOUR", "axes_or_new", "date_axis",
           "plot_difference_fan", "plot_pit_histogram", "plot_territory_fan", "plot_theatre",
           "plot_timeline", "save"]
