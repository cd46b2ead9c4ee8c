"""SOQL date literals (TODAY, LAST_N_DAYS:n, THIS_QUARTER...) as half-open day ranges.

The org's time zone is GMT, weeks start on Sunday (the en_US locale) and the fiscal year
is the calendar year, so ranges are plain UTC calendar arithmetic.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

__all__ = ["FISCAL_LITERALS", "date_range"]


def _day_shift(day: datetime.date, days: int) -> datetime.date:
    """``day`` moved by ``days``, saturating at the calendar's ends: a literal reaching past
    them (``LAST_N_DAYS:1000000``) only widens the range, it is not an error."""
    try:
        return day + datetime.timedelta(days=days)
    except OverflowError:
        return datetime.date.max if days > 0 else datetime.date.min


def _month_start(day: datetime.date, months_offset: int = 0) -> datetime.date:
    index = day.year * 12 + (day.month - 1) + months_offset
    return _clamped(index // 12, index % 12 + 1)


def _clamped(year: int, month: int = 1) -> datetime.date:
    """The first day of ``month`` of ``year``, saturating outside years 1 to 9999."""
    if year < datetime.MINYEAR:
        return datetime.date.min
    if year > datetime.MAXYEAR:
        return datetime.date.max
    return datetime.date(year, month, 1)


def _quarter_start(day: datetime.date, quarters_offset: int = 0) -> datetime.date:
    first_month = (day.month - 1) // 3 * 3
    return _month_start(datetime.date(day.year, first_month + 1, 1), quarters_offset * 3)


def _week_start(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=(day.weekday() + 1) % 7)


_Range = tuple[datetime.date, datetime.date]

#: The fiscal literals: the org's fiscal year is the calendar year (it starts in January,
#: Salesforce's default), so each one is its calendar twin.
FISCAL_LITERALS = {
    "THIS_FISCAL_QUARTER": "THIS_QUARTER",
    "LAST_FISCAL_QUARTER": "LAST_QUARTER",
    "NEXT_FISCAL_QUARTER": "NEXT_QUARTER",
    "THIS_FISCAL_YEAR": "THIS_YEAR",
    "LAST_FISCAL_YEAR": "LAST_YEAR",
    "NEXT_FISCAL_YEAR": "NEXT_YEAR",
    "LAST_N_FISCAL_QUARTERS": "LAST_N_QUARTERS",
    "NEXT_N_FISCAL_QUARTERS": "NEXT_N_QUARTERS",
    "N_FISCAL_QUARTERS_AGO": "N_QUARTERS_AGO",
    "LAST_N_FISCAL_YEARS": "LAST_N_YEARS",
    "NEXT_N_FISCAL_YEARS": "NEXT_N_YEARS",
    "N_FISCAL_YEARS_AGO": "N_YEARS_AGO",
}


def date_range(literal: str, n: int | None, today: datetime.date) -> _Range:
    """The [start, end) days a date literal covers, relative to ``today``.

    Only the literal asked for is computed: a large ``n`` that is fine in days (say
    ``LAST_N_DAYS:3000``) used to fail computing the N_YEARS ranges beside it."""
    n = n or 0
    week = _week_start(today)
    year = today.year
    tomorrow = _day_shift(today, 1)

    def days(offset: int) -> datetime.date:
        return _day_shift(today, offset)

    def weeks(offset: int) -> datetime.date:
        return _day_shift(week, 7 * offset)

    def months(offset: int) -> datetime.date:
        return _month_start(today, offset)

    def quarters(offset: int) -> datetime.date:
        return _quarter_start(today, offset)

    def years(offset: int) -> datetime.date:
        return _clamped(year + offset)

    ranges: dict[str, Callable[[], _Range]] = {
        "YESTERDAY": lambda: (days(-1), today),
        "TODAY": lambda: (today, tomorrow),
        "TOMORROW": lambda: (tomorrow, days(2)),
        "LAST_WEEK": lambda: (weeks(-1), week),
        "THIS_WEEK": lambda: (week, weeks(1)),
        "NEXT_WEEK": lambda: (weeks(1), weeks(2)),
        "LAST_MONTH": lambda: (months(-1), months(0)),
        "THIS_MONTH": lambda: (months(0), months(1)),
        "NEXT_MONTH": lambda: (months(1), months(2)),
        "LAST_90_DAYS": lambda: (days(-90), tomorrow),
        "NEXT_90_DAYS": lambda: (tomorrow, days(91)),
        "THIS_QUARTER": lambda: (quarters(0), quarters(1)),
        "LAST_QUARTER": lambda: (quarters(-1), quarters(0)),
        "NEXT_QUARTER": lambda: (quarters(1), quarters(2)),
        "THIS_YEAR": lambda: (years(0), years(1)),
        "LAST_YEAR": lambda: (years(-1), years(0)),
        "NEXT_YEAR": lambda: (years(1), years(2)),
        "LAST_N_DAYS": lambda: (days(-n), tomorrow),
        "NEXT_N_DAYS": lambda: (tomorrow, days(n + 1)),
        "N_DAYS_AGO": lambda: (days(-n), days(1 - n)),
        "LAST_N_WEEKS": lambda: (weeks(-n), week),
        "NEXT_N_WEEKS": lambda: (weeks(1), weeks(n + 1)),
        "N_WEEKS_AGO": lambda: (weeks(-n), weeks(1 - n)),
        "LAST_N_MONTHS": lambda: (months(-n), months(0)),
        "NEXT_N_MONTHS": lambda: (months(1), months(n + 1)),
        "N_MONTHS_AGO": lambda: (months(-n), months(1 - n)),
        "LAST_N_QUARTERS": lambda: (quarters(-n), quarters(0)),
        "NEXT_N_QUARTERS": lambda: (quarters(1), quarters(n + 1)),
        "N_QUARTERS_AGO": lambda: (quarters(-n), quarters(1 - n)),
        "LAST_N_YEARS": lambda: (years(-n), years(0)),
        "NEXT_N_YEARS": lambda: (years(1), years(n + 1)),
        "N_YEARS_AGO": lambda: (years(-n), years(1 - n)),
    }
    return ranges[FISCAL_LITERALS.get(literal, literal)]()
