"""The ``%soql`` line's shape and the kernel's current connection, shared by the magic
and SOQL completion (which must not import the magic: it reads cells the magic runs)."""

from __future__ import annotations

import re
import sys

__all__ = ["last_connection", "remember_connection", "split_line"]

_PACKAGE = "ak_salesforce_nb"
# Options of the magic that take a value: the line magic splits them from the query.
_VALUE_OPTIONS = frozenset({"-c", "--connection", "-o", "--output", "--engine"})


def remember_connection(name: str) -> None:
    """Make `name` the connection a ``%%soql`` without ``-c`` uses.

    Kept as ``ak_salesforce_nb._last_connection`` so that ``aksf.session()`` and the
    other entry points can set it (``aksf._remember``) without importing IPython.
    """
    package = sys.modules.get(_PACKAGE)
    if package is not None:
        package._last_connection = name  # type: ignore[attr-defined]


def last_connection() -> str | None:
    name = getattr(sys.modules.get(_PACKAGE), "_last_connection", None)
    return name if isinstance(name, str) and name else None


def split_line(line: str) -> tuple[str, str]:
    """A line magic's leading options, and the query after them (kept verbatim)."""
    position, expect_value = 0, False
    for match in re.finditer(r"\S+", line):
        token = match.group()
        if expect_value:
            expect_value = False
        elif token.startswith("-") and not token[1:2].isdigit():
            expect_value = token in _VALUE_OPTIONS
        else:
            return line[: match.start()], line[match.start() :]
        position = match.end()
    return line[:position], ""
