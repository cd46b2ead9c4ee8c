"""`:name` placeholders in SOQL, bound to Python values as SOQL literals.

    bind("SELECT Id FROM Account WHERE Name = :name AND Id IN :ids", {"name": n, "ids": ids})

The query is tokenized (string literals are skipped, so ``'a:b'`` holds no placeholder)
and each placeholder is replaced by the *literal* of its value, built here, never by
pasting the value's text: a string is always quoted and escaped, so ``x' OR Name != '``
stays data. Literals:

============================  =============================================
Python value                  SOQL literal
============================  =============================================
``None``                      ``null``
``bool``                      ``true`` / ``false``
``int``, ``float``,           ``42``, ``3.5``, ``0.00001`` (never exponent
``decimal.Decimal``           notation; NaN and infinities are refused)
``str``                       ``'O\\'Brien'``: ``\\ ' " \\n \\r \\t \\b \\f`` escaped,
                              other control characters as ``\\uXXXX``
``datetime.date``             ``2024-01-31``
``datetime.datetime``         ``2024-01-31T12:00:00Z`` in UTC (``.123Z`` when it
                              has milliseconds). A naive datetime is taken as
                              UTC: Salesforce returns datetimes in UTC, and a
                              kernel's local zone is rarely the reader's.
list, tuple, set, frozenset,  ``('a', 'b')``, for ``IN`` / ``NOT IN``; sets in
and other non-text iterables  sorted order; never empty (``IN ()`` is invalid)
(a pandas Series, an array)
============================  =============================================

Anything else raises `SoqlParameterError` naming the placeholder. A bound string is not
LIKE-escaped: ``%`` and ``_`` in it act as wildcards after ``LIKE``, as in Apex.

A placeholder is ``:`` followed by a Python identifier, where the ``:`` does not follow
a letter, digit or underscore; so ``LAST_N_DAYS:30`` is left alone.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import decimal
import math
import numbers
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..core._exceptions import ConfigurationError

__all__ = [
    "BoundQuery",
    "Placeholder",
    "SoqlParameterError",
    "bind",
    "bind_query",
    "find_placeholders",
    "placeholders",
    "soql_literal",
]


class SoqlParameterError(ConfigurationError):
    """A placeholder has no value, or a value that has no SOQL literal."""

    def __init__(self, message: str, *, name: str = "", offset: int | None = None) -> None:
        super().__init__(message)
        self.name = name
        #: Where the placeholder's ``:`` is in the query text, when known.
        self.offset = offset


@dataclasses.dataclass(frozen=True)
class Placeholder:
    name: str
    start: int  # offset of the ':'
    end: int  # offset just past the name


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def find_placeholders(soql: str) -> list[Placeholder]:
    """The placeholders of `soql`, in order, outside string literals."""
    found: list[Placeholder] = []
    i, n = 0, len(soql)
    while i < n:
        c = soql[i]
        if c == "'":
            # Skip the string literal; a backslash escapes the next character. An
            # unterminated literal runs to the end (Salesforce reports that error).
            i += 1
            while i < n and soql[i] != "'":
                i += 2 if soql[i] == "\\" else 1
            i += 1
            continue
        if c == ":" and (i == 0 or soql[i - 1] not in _WORD_CHARS):
            match = _IDENT.match(soql, i + 1)
            if match:
                found.append(Placeholder(match.group(), i, match.end()))
                i = match.end()
                continue
        i += 1
    return found


def placeholders(soql: str) -> list[str]:
    """The placeholder names of `soql`, in order, outside string literals."""
    return [p.name for p in find_placeholders(soql)]


# -- literals -----------------------------------------------------------------------------

_STRING_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_NEEDS_ESCAPE = re.compile(r"[\\'\"\x00-\x1f\x7f]")


def _escape_char(match: re.Match[str]) -> str:
    c = match.group()
    return _STRING_ESCAPES.get(c) or f"\\u{ord(c):04x}"


def _string_literal(value: str) -> str:
    return "'" + _NEEDS_ESCAPE.sub(_escape_char, value) + "'"


def _datetime_literal(value: dt.datetime, name: str) -> str:
    if value != value:  # pandas.NaT is a datetime that equals nothing, not even itself
        raise SoqlParameterError(
            f"The value of :{name} is NaT, which SOQL cannot express; use None for null.",
            name=name,
        )
    # Naive means UTC (see the module docstring); utcoffset() is None for naive values
    # and for a tzinfo that declines to answer, and astimezone() would read both as local.
    moment = value if value.utcoffset() is None else value.astimezone(dt.timezone.utc)
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def _number_literal(value: Any, name: str) -> str:
    number = value if isinstance(value, decimal.Decimal) else None
    if number is None:
        if isinstance(value, numbers.Integral):
            return str(int(value))
        as_float = float(value)
        if not math.isfinite(as_float):
            raise SoqlParameterError(
                f"The value of :{name} is {as_float}, which SOQL cannot express.", name=name
            )
        # repr gives the shortest text that reads back as the same float; Decimal
        # turns its exponent form (1e-05) into the positional form SOQL reads.
        number = decimal.Decimal(repr(as_float))
    if not number.is_finite():
        raise SoqlParameterError(
            f"The value of :{name} is {number}, which SOQL cannot express.", name=name
        )
    text = format(number, "f")
    return "0" if text in ("-0", "-0.0") else text


def _is_boolean(value: Any) -> bool:
    # numpy.bool_ is not a bool subclass; it is a 0-dimensional value of a boolean dtype.
    if isinstance(value, bool):
        return True
    kind = getattr(getattr(value, "dtype", None), "kind", "")
    return kind == "b" and getattr(value, "ndim", 1) == 0


def _scalar_literal(value: Any, name: str) -> str | None:
    """The literal of a scalar value, or None when `value` is not a scalar we know."""
    if value is None:
        return "null"
    if _is_boolean(value):
        return "true" if bool(value) else "false"
    if isinstance(value, str):
        return _string_literal(value)
    if isinstance(value, dt.datetime):  # before date: a datetime is a date
        return _datetime_literal(value, name)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (numbers.Real, decimal.Decimal)):
        return _number_literal(value, name)
    return None


def _sorted_if_possible(values: Iterable[Any]) -> list[Any]:
    items = list(values)
    try:
        return sorted(items)
    except TypeError:
        return items


def soql_literal(value: Any, *, name: str = "value") -> str:
    """The SOQL literal for `value` (see the module docstring); `name` is for errors."""
    literal = _scalar_literal(value, name)
    if literal is not None:
        return literal
    if isinstance(value, (bytes, bytearray, memoryview, Mapping)) or getattr(value, "ndim", 1) > 1:
        # Iterable, but not a list of values: bytes, dicts and tables (a DataFrame
        # iterates over its column names).
        raise _unsupported(value, name)
    if isinstance(value, Iterable):
        items = _sorted_if_possible(value) if isinstance(value, (set, frozenset)) else value
        parts: list[str] = []
        for item in items:
            part = _scalar_literal(item, name)
            if part is None:
                raise SoqlParameterError(
                    f"The list bound to :{name} holds {_describe(item)}; "
                    "a list for IN can hold strings, numbers, booleans, dates, datetimes "
                    "and None.",
                    name=name,
                )
            parts.append(part)
        if not parts:
            raise SoqlParameterError(
                f"The list bound to :{name} is empty; SOQL's IN needs at least one value.",
                name=name,
            )
        return "(" + ", ".join(parts) + ")"
    raise _unsupported(value, name)


def _describe(value: Any) -> str:
    shown = " ".join(repr(value).split())
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"a value of type {type(value).__name__} ({shown})"


def _unsupported(value: Any, name: str) -> SoqlParameterError:
    return SoqlParameterError(
        f"The value of :{name} is {_describe(value)}, which has no SOQL literal. "
        "Bind a string, number, bool, date, datetime, None, or a list of those.",
        name=name,
    )


# -- binding ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BoundQuery:
    """The query to send, and how its offsets map back to the text the user wrote."""

    source: str
    text: str
    placeholders: tuple[Placeholder, ...]
    # (offset in text, offset in source) at the start of each replaced and copied run
    _anchors: tuple[tuple[int, int, bool], ...] = ()

    def source_offset(self, offset: int) -> int:
        """The offset in `source` of the character at `offset` in `text`.

        Inside copied text it is exact; inside a bound value it is the placeholder's ``:``.
        """
        if not self._anchors:
            return offset
        index = bisect.bisect_right([a[0] for a in self._anchors], offset) - 1
        if index < 0:
            return offset
        text_start, source_start, replaced = self._anchors[index]
        return source_start if replaced else source_start + (offset - text_start)


def bind(soql: str, namespace: Mapping[str, Any]) -> str:
    """`soql` with each placeholder replaced by the literal of its value in `namespace`."""
    return bind_query(soql, namespace).text


def bind_query(soql: str, namespace: Mapping[str, Any]) -> BoundQuery:
    """Like `bind`, keeping the way back from the bound text to `soql` (for errors)."""
    placeholders = find_placeholders(soql)
    if not placeholders:
        return BoundQuery(soql, soql, ())
    out: list[str] = []
    anchors: list[tuple[int, int, bool]] = []
    length = 0
    position = 0
    for ph in placeholders:
        run = soql[position : ph.start]
        anchors.append((length, position, False))
        out.append(run)
        length += len(run)
        if ph.name not in namespace:
            raise SoqlParameterError(
                f"Placeholder :{ph.name} has no value: define a variable {ph.name!r} first.",
                name=ph.name,
                offset=ph.start,
            )
        try:
            literal = soql_literal(namespace[ph.name], name=ph.name)
        except SoqlParameterError as error:
            error.offset = ph.start
            raise
        anchors.append((length, ph.start, True))
        out.append(literal)
        length += len(literal)
        position = ph.end
    anchors.append((length, position, False))
    out.append(soql[position:])
    return BoundQuery(soql, "".join(out), tuple(placeholders), tuple(anchors))
