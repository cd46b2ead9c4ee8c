"""Bulk API 2.0 CSV field values: text to the stored form, with Salesforce's rules.

- an empty field leaves the field as it is (on insert: null), ``#N/A`` sets it to null
  (the caller handles both, before this module sees a value);
- booleans ``true``/``false`` (also ``1``/``0``, ``yes``/``no``, any case);
- numbers in plain or scientific notation (``1.5E3``), integers for int fields;
- dates ``yyyy-MM-dd`` only; date-times ``yyyy-MM-ddTHH:mm:ss.SSS`` with ``Z`` or an
  offset (``+02:00``/``+0200``), stored in UTC; a date-time without a zone is UTC;
- multi-select picklists ``A;B``; everything else is the text as written.

A value that does not fit its field fails its row with INVALID_TYPE_ON_FIELD_IN_RECORD.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ._errors import ApiError
from ._schema import FieldDef
from ._values import format_datetime, parse_date, parse_datetime

__all__ = ["coerce_csv", "coerce_csv_column", "error_text"]

_INT = re.compile(r"^[+-]?\d+$")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def _wrong_type(f: FieldDef, text: str) -> ApiError:
    return ApiError(
        400,
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{f.label}: value not of required type: {text}",
        [f.name],
    )


def coerce_csv(f: FieldDef, value: Any) -> Any:
    """The stored form of a CSV text for field ``f`` (None stays None)."""
    if value is None:
        return None
    text = str(value)
    kind = f.type
    if kind == "boolean":
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise _wrong_type(f, text)
    if kind == "int":
        if not _INT.match(text):
            raise _wrong_type(f, text)
        try:
            return int(text)
        except ValueError:  # past Python's 4,300 digits: no field holds it, the row fails
            raise _wrong_type(f, text) from None
    if kind in ("double", "currency", "percent"):
        try:
            number = float(text)
        except ValueError:
            raise _wrong_type(f, text) from None
        if math.isnan(number) or math.isinf(number) or text.strip() != text:
            raise _wrong_type(f, text)
        return number
    if kind == "date":
        parsed = parse_date(text) if len(text) == 10 else None
        if parsed is None:
            raise _wrong_type(f, text)
        return parsed.isoformat()
    if kind == "datetime":
        moment = parse_datetime(text) if text == text.strip() else None
        if moment is None:
            raise _wrong_type(f, text)
        return format_datetime(moment)
    return text


_NUMBER_KINDS = frozenset({"double", "currency", "percent"})
_BOOLEANS = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}


def coerce_csv_column(f: FieldDef, texts: list[str]) -> tuple[list[Any], dict[int, ApiError]]:
    """``coerce_csv`` applied to a whole column of CSV texts (none empty or ``#N/A``):
    (the stored values, None where a text failed; position -> the error it raised).

    A bulk job's column is usually clean, so each type is first tried in one pass at C
    speed (``float`` mapped over the column, a dict of the boolean spellings, digits
    checked with ``str.isdecimal``, which is what the ``\\d`` of ``coerce_csv`` matches);
    a column with anything else goes value by value through ``coerce_csv`` itself, so
    the outcome is always exactly the per-value one.
    """
    kind = f.type
    if kind not in _CONVERTED_KINDS:  # text of every other type is stored as it is
        return list(texts), {}
    fast = _fast_column(kind, texts)
    if fast is not None:
        return fast, {}
    return _value_by_value(f, texts)


def _fast_column(kind: str, texts: list[str]) -> list[Any] | None:
    """The stored values of a clean column of a converted type, or None when some text
    needs the per-value path (it may still be valid: a sign, a space, an exponent...)."""
    if kind in _NUMBER_KINDS:
        try:
            numbers = list(map(float, texts))
        except ValueError:
            return None
        # float() also takes surrounding spaces, which coerce_csv refuses.
        if not all(map(math.isfinite, numbers)) or list(map(str.strip, texts)) != texts:
            return None
        return numbers
    if kind == "int":
        if not all(map(str.isdecimal, texts)):
            return None
        try:
            return list(map(int, texts))
        except ValueError:  # a text past 4,300 digits: value by value, where its row fails
            return None
    if kind == "boolean":
        values = list(map(_BOOLEANS.get, map(str.lower, texts)))
        return None if None in values else values
    return None  # date, datetime: value by value (memoised)


def _value_by_value(f: FieldDef, texts: list[str]) -> tuple[list[Any], dict[int, ApiError]]:
    """``coerce_csv`` of each text, memoised (a column repeats its dates and flags)."""
    values: list[Any] = []
    errors: dict[int, ApiError] = {}
    memo: dict[str, Any] = {}
    for position, text in enumerate(texts):
        value = memo.get(text, _UNSEEN)
        if value is _UNSEEN:
            try:
                value = coerce_csv(f, text)
            except ApiError as error:
                errors[position] = error
                values.append(None)
                continue
            memo[text] = value
        values.append(value)
    return values, errors


_UNSEEN = object()
_CONVERTED_KINDS = frozenset({"boolean", "int", "date", "datetime"}) | _NUMBER_KINDS


def error_text(error: ApiError) -> str:
    """An error as a result file's ``sf__Error`` writes it: ``CODE:message:FIELDS --``."""
    fields = "".join(f"{name} " for name in error.fields or [])
    return f"{error.error_code}:{error.message}:{fields}--"
