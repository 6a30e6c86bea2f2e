"""Calendar dates as scenario files write them: ``YYYY-MM-DD``, in the years around the campaign.

A date comes in as text (the YAML reader leaves timestamps as strings) or as a
:class:`datetime.date` built in code. Anything else is refused: ``0`` would otherwise be read as
1 Jan 1970 and ``2020-01-01T10:00`` silently lose its time. Dates lie within
:data:`DATE_MIN` .. :data:`DATE_MAX`: the model describes the 2019-20 offensive, so a date years
away is a typo, and bounded dates keep every day index small (the engines store days as int16).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

DATE_MIN = dt.date(2019, 1, 1)
DATE_MAX = dt.date(2030, 12, 31)

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(value: Any) -> dt.date:
    """``value`` as a date in ``DATE_MIN .. DATE_MAX``; :class:`ValueError` otherwise."""
    if isinstance(value, dt.datetime):
        raise ValueError("a date, not a date and time, is expected (YYYY-MM-DD)")
    if isinstance(value, dt.date):
        date = value
    elif isinstance(value, str) and _ISO.fullmatch(value.strip()):
        try:
            date = dt.date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"not a calendar date ({exc})") from None
    else:
        raise ValueError("a date is written YYYY-MM-DD")
    if not DATE_MIN <= date <= DATE_MAX:
        raise ValueError(f"date outside {DATE_MIN} .. {DATE_MAX} (the years around the campaign)")
    return date


IsoDate = Annotated[dt.date, BeforeValidator(parse_date)]
"""A date field of a scenario file (see the module docstring)."""
