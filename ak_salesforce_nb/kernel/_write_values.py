"""Python values → what Salesforce reads: JSON for sObject Collections, text for Bulk CSV.

The field's describe type decides, through the one table in `_types` (`FIELD_KINDS`):

===============  =========================================  ===============================
kind             accepted from Python                        sent as
===============  =========================================  ===============================
int              int, whole float, Decimal, numeric text     ``42``
float            int, float (any width), Decimal, text       shortest digits: ``0.1``, never
                                                             ``0.10000000000000001``
boolean          bool, 0/1, ``"true"``/``"false"``           ``true`` / ``false``
date             date, midnight datetime/Timestamp, text     ``2024-01-31``
datetime         datetime/Timestamp (naive = UTC), text      ``2024-01-31T12:00:00.000Z``
text (others)    str; lists for a multi-select picklist      as is; ``a;b`` for lists
===============  =========================================  ===============================

A null (None, NaN, NA, NaT, "") is JSON ``null`` and ``#N/A`` in Bulk CSV (which is how
Bulk API 2.0 sets a field to null; an empty CSV field leaves it as it is). A value that
does not fit its field is sent as its text, so Salesforce's own per-row error reports it;
`check` finds the same problems beforehand for ``dry_run``.
"""

from __future__ import annotations

import datetime
import decimal
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ._types import FIELD_KINDS

__all__ = [
    "CSV_NULL",
    "MISSING",
    "Converter",
    "check_value",
    "converter_for",
    "is_null",
]

#: How Bulk API 2.0 CSV spells "set this field to null".
CSV_NULL: Final = "#N/A"


class _Missing:
    """A key a record (a dict of a list) did not have: the field is left alone."""

    def __repr__(self) -> str:
        return "MISSING"


#: The value of a column a record did not have.
MISSING: Final = _Missing()

_UTC = datetime.timezone.utc
# Salesforce's own text types that take a list in Python.
_LIST_TYPES = frozenset({"multipicklist"})
_ID_TYPES = frozenset({"id", "reference"})
_ID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def is_null(value: Any) -> bool:
    """None, NaN, pandas NA/NaT, numpy NaT and the empty string (a text field that is
    empty is null in Salesforce)."""
    if value is None or value is MISSING:
        return value is None
    if isinstance(value, str):
        return value == ""
    if isinstance(value, float):
        return math.isnan(value)
    kind = type(value).__name__
    if kind in ("NAType", "NaTType"):
        return True
    if kind in ("float32", "float16", "longdouble"):
        return bool(value != value)
    if kind == "datetime64":
        return str(value) == "NaT"
    return False


# -- numbers --------------------------------------------------------------------------


def _float_text(value: Any) -> str:
    """Shortest digits that read back as `value` in its own width, without an exponent."""
    if type(value) is float:
        text = repr(value)
        if "e" not in text and "n" not in text:
            return text[:-2] if text.endswith(".0") else text
    import numpy as np

    return str(np.format_float_positional(value, unique=True, trim="-"))


def _number_text(value: Any, whole: bool) -> str | None:
    """`value` as Salesforce number text, or None if it is not a number (of the kind)."""
    if type(value).__name__ in ("bool", "bool_"):
        return None
    if isinstance(value, int) or type(value).__name__.startswith(("int", "uint")):
        return str(int(value))
    if isinstance(value, decimal.Decimal):
        if not value.is_finite() or (whole and value != value.to_integral_value()):
            return None
        return format(value.normalize() if whole else value, "f")
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        if not math.isfinite(float(value)):
            return None
        if whole:
            return str(int(value)) if float(value).is_integer() else None
        return _float_text(value)
    if isinstance(value, str):
        try:
            parsed = decimal.Decimal(value.strip())
        except decimal.InvalidOperation:
            return None
        return _number_text(parsed, whole)
    return None


def _number_json(text: str) -> Any:
    """A JSON number for number text: int, or a float whose shortest form is the text
    (so nothing is lost); else the text itself, which Salesforce parses."""
    if "." not in text:
        return int(text)
    number = float(text)
    return number if _float_text(number) == text else text


# -- booleans -------------------------------------------------------------------------

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def _boolean(value: Any) -> bool | None:
    if type(value).__name__ in ("bool", "bool_"):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else None
    if isinstance(value, int) or type(value).__name__.startswith(("int", "uint")):
        return bool(value) if int(value) in (0, 1) else None
    return None


# -- dates and times ------------------------------------------------------------------


def _as_datetime(value: Any) -> datetime.datetime | None:
    """A datetime from a datetime, pandas Timestamp, numpy datetime64 or ISO text."""
    if isinstance(value, datetime.datetime):
        return value
    if type(value).__name__ == "datetime64":
        import pandas as pd

        stamp: datetime.datetime = pd.Timestamp(value).to_pydatetime()
        return stamp
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and "T" in text:
            text = text[:-2] + ":" + text[-2:]  # +0000 (Salesforce's REST form)
        try:
            return datetime.datetime.fromisoformat(text)
        except ValueError:
            return None
    return None


def _date_text(value: Any) -> str | None:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            return None
    moment = _as_datetime(value)
    if moment is None or (moment.hour, moment.minute, moment.second, moment.microsecond) != (
        0,
        0,
        0,
        0,
    ):
        return None  # a date field takes a day, not a moment within one
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"


def _datetime_text(value: Any) -> str | None:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        value = datetime.datetime(value.year, value.month, value.day, tzinfo=_UTC)
    moment = _as_datetime(value)
    if moment is None:
        return None
    moment = moment.replace(tzinfo=_UTC) if moment.tzinfo is None else moment.astimezone(_UTC)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


def _time_text(value: Any) -> str | None:
    if isinstance(value, datetime.time):
        millis = value.microsecond // 1000
        return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{millis:03d}Z"
    if isinstance(value, str):
        return value.strip()
    return None


# -- text -----------------------------------------------------------------------------


def _text(value: Any, sf_type: str) -> str:
    if isinstance(value, str):
        return value
    if sf_type in _LIST_TYPES and isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return ";".join(str(item) for item in items)
    if sf_type in _LIST_TYPES and type(value).__name__ == "ndarray":
        return ";".join(str(item) for item in value.tolist())
    number = _number_text(value, whole=False)
    return number if number is not None else str(value)


def _looks_like_id(text: str) -> bool:
    return len(text) in (15, 18) and set(text) <= _ID_CHARS


# -- one field ------------------------------------------------------------------------


def _kind_text(value: Any, sf_type: str) -> str | None:
    """`value` as Salesforce text for a field of `sf_type`; None when it does not fit."""
    kind = FIELD_KINDS.get(sf_type)
    if kind == "int":
        return _number_text(value, whole=True)
    if kind == "float":
        return _number_text(value, whole=False)
    if kind == "boolean":
        flag = _boolean(value)
        return None if flag is None else ("true" if flag else "false")
    if kind == "date":
        return _date_text(value)
    if kind == "datetime":
        return _datetime_text(value)
    if sf_type == "time":
        return _time_text(value)
    return _text(value, sf_type)


class Converter:
    """Turns one column's values into CSV text and JSON values for its field type."""

    def __init__(self, sf_type: str) -> None:
        self.sf_type = sf_type
        self.kind = FIELD_KINDS.get(sf_type)

    def text(self, value: Any) -> str:
        """The CSV field: ``#N/A`` for a null, "" for a missing key (leave the field),
        the value's text (its plain text when it does not fit the field)."""
        if value is MISSING:
            return ""
        if is_null(value):
            return CSV_NULL
        if type(value) is str and self.kind is None:
            return value  # the common case, first
        found = _kind_text(value, self.sf_type)
        return found if found is not None else _text(value, "string")

    def texts(self, values: Sequence[Any]) -> list[str]:
        """`text` of every value of a column (a fast path for plain text columns)."""
        text = self.text
        if self.kind is None:
            return [v if type(v) is str and v else text(v) for v in values]
        if self.kind == "float" and values and set(map(type, values)) == {float}:
            # A column of plain floats (a pandas float column): `repr` is the shortest
            # text, so one scan of the whole column tells whether any needs more (an
            # exponent, NaN, inf) than dropping a trailing ".0".
            found = list(map(repr, values))
            joined = "".join(found)
            if "e" not in joined and "n" not in joined:
                return [t[:-2] if t[-2:] == ".0" else t for t in found]
        if self.kind in ("int", "float"):
            # Plain Python ints (and floats for a float field) straight to text: the common
            # case of a numeric column, several times faster than the general path.
            whole = self.kind == "int"
            return [
                str(v)
                if type(v) is int
                else _float_text(v)
                if type(v) is float and not whole and math.isfinite(v)
                else text(v)
                for v in values
            ]
        return [text(v) for v in values]

    def json(self, value: Any) -> Any:
        """The JSON value (None for a null); `MISSING` stays `MISSING` (key left out)."""
        if value is MISSING:
            return MISSING
        if is_null(value):
            return None
        found = _kind_text(value, self.sf_type)
        if found is None:
            return _text(value, "string")  # Salesforce answers why it does not fit
        if self.kind in ("int", "float"):
            return _number_json(found)
        if self.kind == "boolean":
            return found == "true"
        return found


def converter_for(field: Mapping[str, Any] | None) -> Converter:
    """The converter of a describe field (text when describe says nothing)."""
    return Converter(str(field.get("type") or "string") if field else "string")


def _picklist_values(field: Mapping[str, Any]) -> set[str]:
    return {str(p.get("value")) for p in field.get("picklistValues") or () if p.get("active", True)}


def check_value(value: Any, field: Mapping[str, Any]) -> tuple[str, str] | None:
    """What Salesforce would say about `value` in `field`, as ``(error code, message)``;
    None when it fits. Nulls are checked elsewhere (they fit unless the field requires a
    value)."""
    if value is MISSING or is_null(value):
        return None
    sf_type = str(field.get("type") or "string")
    label = str(field.get("label") or field.get("name"))
    text = _kind_text(value, sf_type)
    if text is None:
        return (
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{label}: value not of required type: {value}",
        )
    if sf_type in _ID_TYPES and not _looks_like_id(text):
        return ("MALFORMED_ID", f"{label}: id value of incorrect type: {text}")
    length = int(field.get("length") or 0)
    if FIELD_KINDS.get(sf_type) is None and sf_type not in _ID_TYPES and 0 < length < len(text):
        return (
            "STRING_TOO_LONG",
            f"{label}: data value too large: {text[:40]}… (max length={length})",
        )
    if sf_type in ("picklist", "multipicklist") and field.get("restrictedPicklist"):
        allowed = _picklist_values(field)
        chosen = text.split(";") if sf_type == "multipicklist" else [text]
        bad = [c for c in chosen if c not in allowed]
        if bad:
            return (
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{label}: bad value for restricted picklist field: {bad[0]}",
            )
    return None
