"""Tenure bands: how long a contractor has worked with the brand, at a date.

The bands are under 3 months, 3–12 months, 1–2 years and 2 years +, counted
in calendar months back from the date; a contractor without a start date is
"unknown". A pulse response stores its band at its wave's close as a code
(-1 unknown, else the band's index).
"""

from __future__ import annotations

import calendar
import functools
from datetime import date

__all__ = ["TENURE_BANDS", "UNKNOWN_TENURE", "band_code", "band_name", "tenure_band", "tenure_code", "tenure_limits"]

TENURE_BANDS = ("under 3 months", "3–12 months", "1–2 years", "2 years +")
UNKNOWN_TENURE = "unknown"


def _months_before(day: date, months: int) -> date:
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


@functools.lru_cache(maxsize=64)
def tenure_limits(end: date) -> tuple[date, date, date]:
    """The start dates that separate the bands at `end`: 3, 12 and 24 months before it.

    >>> tenure_limits(date(2026, 3, 31))
    (datetime.date(2025, 12, 31), datetime.date(2025, 3, 31), datetime.date(2024, 3, 31))
    """
    return _months_before(end, 3), _months_before(end, 12), _months_before(end, 24)


def tenure_band(started_on: date | None, end: date) -> str:
    """The tenure band at `end`.

    >>> tenure_band(date(2026, 1, 15), date(2026, 3, 31)), tenure_band(None, date(2026, 3, 31))
    ('under 3 months', 'unknown')
    """
    if started_on is None:
        return UNKNOWN_TENURE
    for name, limit in zip(TENURE_BANDS[:-1], tenure_limits(end), strict=True):  # the last has no limit
        if started_on > limit:
            return name
    return TENURE_BANDS[-1]


def band_code(band: str) -> int:
    """A band as stored: -1 unknown, else its index in TENURE_BANDS."""
    return -1 if band == UNKNOWN_TENURE else TENURE_BANDS.index(band)


def band_name(code: int) -> str:
    """The band of a stored code."""
    code = int(code)
    return UNKNOWN_TENURE if code < 0 else TENURE_BANDS[code]


def tenure_code(started_on: date | None, end: date) -> int:
    """The tenure band at `end` as stored with a pulse response."""
    return band_code(tenure_band(started_on, end))
