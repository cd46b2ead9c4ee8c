"""Bind Python values into SOQL `:name` placeholders, as data, never as code.

    bind("SELECT Id FROM Account WHERE Name = :name AND Industry IN :kinds",
         {"name": "O'Brien", "kinds": ["Energy", "Retail"]})
    → "SELECT Id FROM Account WHERE Name = 'O\\'Brien' AND Industry IN ('Energy', 'Retail')"

The query is tokenized, so a `:word` inside a string literal is left alone. Values are
quoted by type: strings escaped the way SOQL reads them (backslash, quote, newline…),
numbers as numbers, dates and datetimes as SOQL literals (naive datetimes are taken as
UTC), booleans as `true`/`false`, None as `null`, and lists/tuples/sets as `(a, b)` for
`IN`. Anything else is refused with an error naming the placeholder.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections.abc import Mapping
from typing import Any

from ._exceptions import ConfigurationError

__all__ = ["bind", "placeholders", "soql_literal"]

_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_PLACEHOLDER = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")


def _quote_string(value: str) -> str:
    return "'" + "".join(_ESCAPES.get(ch, ch) for ch in value) + "'"


def soql_literal(value: Any, *, name: str = "value") -> str:
    """The SOQL literal for one Python value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigurationError(f"Placeholder :{name} is {value!r}, which SOQL cannot hold.")
        return repr(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ConfigurationError(f"Placeholder :{name} is {value!r}, which SOQL cannot hold.")
        return str(format(value, "f"))
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        utc = value.astimezone(dt.timezone.utc)
        text: str = utc.strftime("%Y-%m-%dT%H:%M:%S")
        if utc.microsecond:
            text += f".{utc.microsecond // 1000:03d}"
        return text + "Z"
    if isinstance(value, dt.date):
        return str(value.isoformat())
    if isinstance(value, str):
        return _quote_string(value)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else list(value)
        if not items:
            raise ConfigurationError(
                f"Placeholder :{name} is an empty collection; SOQL's IN needs at least one value."
            )
        return "(" + ", ".join(soql_literal(v, name=name) for v in items) + ")"
    raise ConfigurationError(
        f"Placeholder :{name} is a {type(value).__name__}; bind a str, number, bool, None, "
        "date, datetime, or a list of those."
    )


def _segments(soql: str) -> list[tuple[bool, str]]:
    """Split into (is_string_literal, text) runs, honouring backslash escapes."""
    parts: list[tuple[bool, str]] = []
    i, start, n = 0, 0, len(soql)
    while i < n:
        if soql[i] == "'":
            if start < i:
                parts.append((False, soql[start:i]))
            j = i + 1
            while j < n and soql[j] != "'":
                j += 2 if soql[j] == "\\" else 1
            parts.append((True, soql[i : j + 1]))
            i = start = j + 1
        else:
            i += 1
    if start < n:
        parts.append((False, soql[start:]))
    return parts


def placeholders(soql: str) -> list[str]:
    """The placeholder names of `soql`, in order, outside string literals."""
    names: list[str] = []
    for literal, text in _segments(soql):
        if not literal:
            names.extend(m.group(1) for m in _PLACEHOLDER.finditer(text))
    return names


def bind(soql: str, values: Mapping[str, Any]) -> str:
    """`soql` with every `:name` outside string literals replaced by its value's literal."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ConfigurationError(
                f"Placeholder :{name} has no value: define a variable {name!r} first."
            )
        return soql_literal(values[name], name=name)

    return "".join(
        text if literal else _PLACEHOLDER.sub(replace, text) for literal, text in _segments(soql)
    )
