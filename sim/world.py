"""The default world: the theatre and forces of ``seeds/``, loaded once per process."""

from __future__ import annotations

import functools
import os

from sim.model.forces import Forces, load_forces
from sim.theatre.theatre import Theatre, load_theatre


@functools.lru_cache(maxsize=4)
def _world(seeds: str | None) -> tuple[Theatre, Forces]:
    th = load_theatre(seeds)
    return th, load_forces(th, seeds)


def default_world() -> tuple[Theatre, Forces]:
    """``(theatre, forces)`` from ``$IDLIB_SIM_SEEDS`` or the project's ``seeds/`` (cached)."""
    return _world(os.environ.get("IDLIB_SIM_SEEDS"))
