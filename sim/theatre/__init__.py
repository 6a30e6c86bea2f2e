"""The theatre: seed data, geometry and the town graph."""

from sim.theatre.history import recorded_captures, resolved_events
from sim.theatre.theatre import (
    CAMPAIGN_END,
    CAMPAIGN_START,
    FORTIFIED,
    GOVERNMENT,
    HASTY,
    OPPOSITION,
    POSTURES,
    PREPARED,
    Theatre,
    date_of,
    day_index,
    load_theatre,
)

__all__ = [
    "CAMPAIGN_END",
    "CAMPAIGN_START",
    "FORTIFIED",
    "GOVERNMENT",
    "HASTY",
    "OPPOSITION",
    "POSTURES",
    "PREPARED",
    "Theatre",
    "date_of",
    "day_index",
    "load_theatre",
    "recorded_captures",
    "resolved_events",
]
