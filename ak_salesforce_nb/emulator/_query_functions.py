"""SOQL's value functions: toLabel(), FORMAT(), convertCurrency() and the date functions.

Each turns a stored value into what Salesforce answers for an en_US user in a GMT org
whose fiscal year is the calendar year (the emulated org's settings): FORMAT writes
``$1,234.50``, ``12/28/2015`` and ``4/10/2025, 3:31 PM``; the date functions answer
integers, ``DAY_ONLY`` a date.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from ._schema import CURRENCIES, FieldDef
from ._soql_parser import SoqlError

__all__ = [
    "CURRENCY_RATES",
    "date_function",
    "date_function_output",
    "format_value",
]

#: ISO code -> units per corporate (USD) unit.
CURRENCY_RATES = {code: rate for code, _, rate, _ in CURRENCIES}
_PLACES = {code: places for code, _, _, places in CURRENCIES}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def _grouped(number: float, places: int) -> str:
    return f"{number:,.{places}f}"


def format_value(f: FieldDef, value: Any, currency: str | None = None) -> Any:
    """FORMAT(): the value as the user interface shows it to an en_US user.

    ``currency`` is the record's CurrencyIsoCode in a multi-currency org (None otherwise):
    there Salesforce writes the ISO code before the amount instead of a symbol.
    """
    if value is None:
        return None
    kind = f.type
    if kind == "currency":
        if currency is None:
            sign = "-" if value < 0 else ""
            return f"{sign}$" + _grouped(abs(value), 2)
        text = f"{currency} {_grouped(value, _PLACES.get(currency, 2))}"
        if currency != "USD" and currency in CURRENCY_RATES:
            corporate = value / CURRENCY_RATES[currency]
            text += f" (USD {_grouped(corporate, 2)})"
        return text
    if kind == "percent":
        return _grouped(value, f.scale) + "%"
    if kind in ("double", "int"):
        return _grouped(value, f.scale if kind == "double" else 0)
    if kind == "date":
        day = datetime.date.fromisoformat(value[:10])
        return f"{day.month}/{day.day}/{day.year}"
    if kind == "datetime":
        moment = datetime.datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
        hour = moment.hour % 12 or 12
        half = "AM" if moment.hour < 12 else "PM"
        return f"{moment.month}/{moment.day}/{moment.year}, {hour}:{moment.minute:02d} {half}"
    return value


def _moment(value: str) -> datetime.datetime:
    if len(value) == 10:
        return datetime.datetime.fromisoformat(value)
    return datetime.datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")


def _week_in_month(moment: datetime.datetime) -> int:
    return (moment.day - 1) // 7 + 1


def _week_in_year(moment: datetime.datetime) -> int:
    return (moment.timetuple().tm_yday - 1) // 7 + 1


_DATE_FUNCTIONS: dict[str, Callable[[datetime.datetime], Any]] = {
    "CALENDAR_MONTH": lambda m: m.month,
    "CALENDAR_QUARTER": lambda m: (m.month - 1) // 3 + 1,
    "CALENDAR_YEAR": lambda m: m.year,
    "DAY_IN_MONTH": lambda m: m.day,
    # 1 = Sunday ... 7 = Saturday, as Salesforce counts.
    "DAY_IN_WEEK": lambda m: (m.weekday() + 1) % 7 + 1,
    "DAY_IN_YEAR": lambda m: m.timetuple().tm_yday,
    "DAY_ONLY": lambda m: m.date().isoformat(),
    # The org's fiscal year starts in January, so fiscal periods are calendar periods.
    "FISCAL_MONTH": lambda m: m.month,
    "FISCAL_QUARTER": lambda m: (m.month - 1) // 3 + 1,
    "FISCAL_YEAR": lambda m: m.year,
    "HOUR_IN_DAY": lambda m: m.hour,
    "WEEK_IN_MONTH": _week_in_month,
    "WEEK_IN_YEAR": _week_in_year,
}


def date_function(name: str, f: FieldDef, offset: int) -> Callable[[Any], Any]:
    """The function of a date function over stored values of ``f`` (a date or a date-time)."""
    if f.type not in ("date", "datetime") or (
        name in ("HOUR_IN_DAY", "DAY_ONLY") and f.type == "date"
    ):
        wanted = "dateTime" if name in ("HOUR_IN_DAY", "DAY_ONLY") else "date or datetime"
        raise SoqlError(
            "MALFORMED_QUERY",
            f"{name} can only be applied to a field of type {wanted}: {f.name}",
            offset,
        )
    compute = _DATE_FUNCTIONS[name]

    def apply(value: Any) -> Any:
        return None if value is None else compute(_moment(value))

    return apply


def date_function_output(name: str) -> str:
    """The type of a date function's values: ``date`` for DAY_ONLY, ``int`` for the others."""
    return "date" if name == "DAY_ONLY" else "int"
