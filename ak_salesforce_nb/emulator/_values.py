"""Field values: the text forms Salesforce uses for dates and times, and input coercion.

Dates are kept as ``YYYY-MM-DD`` strings and date-times as ``YYYY-MM-DDTHH:MM:SS.000+0000``
(always UTC), which is exactly what the REST API answers and which sort correctly as text.
"""

from __future__ import annotations

import datetime
import math
import re
import time
from typing import Any

from ._schema import FieldDef

__all__ = [
    "UTC",
    "CoercionError",
    "coerce_input",
    "csv_text",
    "format_datetime",
    "now_datetime",
    "parse_datetime",
]

UTC = datetime.timezone.utc

_DATETIME_INPUT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE_INPUT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def format_datetime(moment: datetime.datetime) -> str:
    """Salesforce's date-time text: ``2024-01-02T17:38:59.000+0000`` (UTC)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


_now_memo: list[Any] = [-1, ""]  # (milliseconds since the epoch, its text)


def now_datetime() -> str:
    """The current moment as Salesforce writes it (formatted once per millisecond: a bulk
    job stamps thousands of records with the same text)."""
    millis = time.time_ns() // 1_000_000
    if millis != _now_memo[0]:
        seconds, rest = divmod(millis, 1000)
        moment = datetime.datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest * 1000)
        _now_memo[:] = [millis, format_datetime(moment)]
    text: str = _now_memo[1]
    return text


def parse_datetime(text: str) -> datetime.datetime | None:
    """A date-time from ISO 8601 text (offset optional, UTC assumed), or None."""
    match = _DATETIME_INPUT.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        tz = UTC
        if offset and offset != "Z":
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            tz = datetime.timezone(
                sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            )
        return datetime.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=tz,
        )
    except ValueError:
        return None


def parse_date(text: str) -> datetime.date | None:
    match = _DATE_INPUT.match(text.strip())
    if not match:
        return None
    try:
        return datetime.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


class CoercionError(ValueError):
    """A JSON value that does not fit the field; the message is Salesforce's wording."""


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, list):
        return "START_ARRAY"
    return "START_OBJECT"


def _deserialize_error(java_type: str, value: Any) -> CoercionError:
    shown = value if isinstance(value, (str, int, float)) else ""
    return CoercionError(
        f"Cannot deserialize instance of {java_type} from {_json_kind(value)} value {shown} "
        "or request may be missing a required field"
    )


def coerce_input(f: FieldDef, value: Any) -> Any:
    """The stored form of a JSON input value for field ``f``; CoercionError if it cannot be."""
    if value is None:
        return None
    kind = f.type
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _deserialize_error("boolean", value)
    if kind == "int":
        if isinstance(value, bool):
            raise _deserialize_error("int", value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            return int(value)
        raise _deserialize_error("int", value)
    if kind in ("double", "currency", "percent"):
        if isinstance(value, bool):
            raise _deserialize_error("double", value)
        if isinstance(value, (int, float)):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise _deserialize_error("double", value) from None
        else:
            raise _deserialize_error("double", value)
        if math.isnan(number) or math.isinf(number):
            raise _deserialize_error("double", value)
        return number
    if kind == "date":
        parsed = parse_date(value) if isinstance(value, str) else None
        if parsed is None:
            moment = parse_datetime(value) if isinstance(value, str) else None
            if moment is None:
                raise _deserialize_error("date", value)
            parsed = moment.date()
        return parsed.isoformat()
    if kind == "datetime":
        moment = parse_datetime(value) if isinstance(value, str) else None
        if moment is None:
            raise _deserialize_error("datetime", value)
        return format_datetime(moment)
    if isinstance(value, (dict, list)):
        raise _deserialize_error("string", value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def csv_text(value: Any) -> str:
    """A value as Bulk API 2.0 writes it in CSV: empty for null, ``true``/``false``..."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)
