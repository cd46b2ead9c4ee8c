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

__all__ = ["coerce_csv", "error_text"]

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
        return int(text)
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


def error_text(error: ApiError) -> str:
    """An error as a result file's ``sf__Error`` writes it: ``CODE:message:FIELDS --``."""
    fields = "".join(f"{name} " for name in error.fields or [])
    return f"{error.error_code}:{error.message}:{fields}--"
