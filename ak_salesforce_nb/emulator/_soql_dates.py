"""SOQL date literals (TODAY, LAST_N_DAYS:n, THIS_QUARTER...) as half-open day ranges.

The org's time zone is GMT, weeks start on Sunday (the en_US locale) and the fiscal year
is the calendar year, so ranges are plain UTC calendar arithmetic.
"""

from __future__ import annotations

import datetime

__all__ = ["date_range"]


def _month_start(day: datetime.date, months_offset: int = 0) -> datetime.date:
    index = day.year * 12 + (day.month - 1) + months_offset
    return datetime.date(index // 12, index % 12 + 1, 1)


def _quarter_start(day: datetime.date, quarters_offset: int = 0) -> datetime.date:
    first_month = (day.month - 1) // 3 * 3
    return _month_start(datetime.date(day.year, first_month + 1, 1), quarters_offset * 3)


def _week_start(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=(day.weekday() + 1) % 7)


def date_range(
    literal: str, n: int | None, today: datetime.date
) -> tuple[datetime.date, datetime.date]:
    """The [start, end) days a date literal covers, relative to ``today``."""
    day = datetime.timedelta(days=1)
    n = n or 0
    week = _week_start(today)
    month = _month_start(today)
    quarter = _quarter_start(today)
    year = datetime.date(today.year, 1, 1)
    tomorrow = today + day
    ranges: dict[str, tuple[datetime.date, datetime.date]] = {
        "YESTERDAY": (today - day, today),
        "TODAY": (today, tomorrow),
        "TOMORROW": (tomorrow, tomorrow + day),
        "LAST_WEEK": (week - 7 * day, week),
        "THIS_WEEK": (week, week + 7 * day),
        "NEXT_WEEK": (week + 7 * day, week + 14 * day),
        "LAST_MONTH": (_month_start(today, -1), month),
        "THIS_MONTH": (month, _month_start(today, 1)),
        "NEXT_MONTH": (_month_start(today, 1), _month_start(today, 2)),
        "LAST_90_DAYS": (today - 90 * day, tomorrow),
        "NEXT_90_DAYS": (tomorrow, tomorrow + 90 * day),
        "THIS_QUARTER": (quarter, _quarter_start(today, 1)),
        "LAST_QUARTER": (_quarter_start(today, -1), quarter),
        "NEXT_QUARTER": (_quarter_start(today, 1), _quarter_start(today, 2)),
        "THIS_YEAR": (year, year.replace(year=year.year + 1)),
        "LAST_YEAR": (year.replace(year=year.year - 1), year),
        "NEXT_YEAR": (year.replace(year=year.year + 1), year.replace(year=year.year + 2)),
        "LAST_N_DAYS": (today - n * day, tomorrow),
        "NEXT_N_DAYS": (tomorrow, tomorrow + n * day),
        "N_DAYS_AGO": (today - n * day, today - (n - 1) * day),
        "LAST_N_WEEKS": (week - 7 * n * day, week),
        "NEXT_N_WEEKS": (week + 7 * day, week + 7 * (n + 1) * day),
        "N_WEEKS_AGO": (week - 7 * n * day, week - 7 * (n - 1) * day),
        "LAST_N_MONTHS": (_month_start(today, -n), month),
        "NEXT_N_MONTHS": (_month_start(today, 1), _month_start(today, n + 1)),
        "N_MONTHS_AGO": (_month_start(today, -n), _month_start(today, 1 - n)),
        "LAST_N_QUARTERS": (_quarter_start(today, -n), quarter),
        "NEXT_N_QUARTERS": (_quarter_start(today, 1), _quarter_start(today, n + 1)),
        "N_QUARTERS_AGO": (_quarter_start(today, -n), _quarter_start(today, 1 - n)),
        "LAST_N_YEARS": (year.replace(year=year.year - n), year),
        "NEXT_N_YEARS": (year.replace(year=year.year + 1), year.replace(year=year.year + n + 1)),
        "N_YEARS_AGO": (year.replace(year=year.year - n), year.replace(year=year.year - n + 1)),
    }
    return ranges[literal]
