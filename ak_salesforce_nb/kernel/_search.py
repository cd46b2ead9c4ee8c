"""`sf.search(sosl)`: a SOSL search as one DataFrame per object.

    found = sf.search("FIND {Acme*} RETURNING Account(Name, Industry), Contact(Name)")
    found["Account"]              # a typed DataFrame, like sf.query's
    found.frame()                 # every hit in one frame, with an "Object" column

``GET search?q=`` answers ``{"searchRecords": [...]}`` (a bare list before API 37.0),
each record with ``attributes.type``; records are grouped by that type, in the order the
objects first appear, then by the ``RETURNING`` clause's order for objects without a hit
(an empty frame each, so ``found["Contact"]`` never raises for a named object). Columns
are typed through describe like a query's (`Session.field_types`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ._records import RecordColumns, records_to_frame

if TYPE_CHECKING:
    import pandas as pd


class Session(Protocol):
    """What `search` uses of a `Session` (a Protocol: `_session` imports this module)."""

    def get(self, path: str, **kwargs: Any) -> Any: ...

    def field_types(self, sobject: str | None, columns: Iterable[str]) -> dict[str, str]: ...


__all__ = ["SearchResult", "returning_clause", "returning_objects", "search", "search_frames"]

_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_NAME = re.compile(r"\s*([A-Za-z][\w]*)")
#: Rows shown per object in the HTML view.
_SHOWN = 10


class SearchResult(dict[str, "pd.DataFrame"]):
    """Object name -> its hits as a DataFrame; shows as one small table per object."""

    def __init__(self, frames: Mapping[str, pd.DataFrame], sosl: str = "") -> None:
        super().__init__(frames)
        self.sosl = sosl

    @property
    def total(self) -> int:
        return sum(len(frame) for frame in self.values())

    def frame(self) -> pd.DataFrame:
        """Every hit in one DataFrame, with the object's name in an ``Object`` column."""
        import pandas as pd

        parts = [frame.assign(Object=name) for name, frame in self.items() if len(frame)]
        if not parts:
            empty: pd.DataFrame = pd.DataFrame(columns=["Object"])
            return empty
        joined = pd.concat(parts, ignore_index=True)
        result: pd.DataFrame = joined[["Object", *[c for c in joined.columns if c != "Object"]]]
        return result

    def _summary(self) -> str:
        counts = ", ".join(f"{name} {len(frame):,}" for name, frame in self.items())
        return f"SOSL search: {self.total:,} records" + (f" ({counts})" if counts else "")

    def __repr__(self) -> str:
        lines = [self._summary()]
        for name, frame in self.items():
            lines += ["", f"{name}: {len(frame):,} rows", frame.head(_SHOWN).to_string()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        parts = [f"<p><b>{html.escape(self._summary())}</b></p>"]
        for name, frame in self.items():
            more = f" (first {_SHOWN})" if len(frame) > _SHOWN else ""
            parts.append(f"<p>{html.escape(name)}: {len(frame):,} rows{more}</p>")
            parts.append(frame.head(_SHOWN).to_html(max_cols=20, notebook=True))
        return "".join(parts)


def returning_objects(sosl: str) -> list[str]:
    """The object names of a SOSL ``RETURNING`` clause, in order."""
    return list(returning_clause(sosl))


def returning_clause(sosl: str) -> dict[str, list[str]]:
    """Object name -> the fields it asks for, from a SOSL ``RETURNING`` clause (a light
    parse: names at parenthesis depth 0, each with its optional field list, whose
    ``WHERE``/``ORDER BY``/``LIMIT``… part is left out)."""
    match = _RETURNING.search(sosl)
    if match is None:
        return {}
    text = sosl[match.end() :]
    found: dict[str, list[str]] = {}
    position, depth, expect_name = 0, 0, True
    current: str | None = None
    opened = 0
    while position < len(text):
        char = text[position]
        if depth == 0 and expect_name:
            named = _NAME.match(text, position)
            if named is None:
                break
            current = named.group(1)
            found[current] = []
            position = named.end()
            expect_name = False
            continue
        if char in "'\"" and depth > 0:  # a quoted literal inside WHERE: skip it whole
            closing = text.find(char, position + 1)
            position = len(text) if closing < 0 else closing + 1
            continue
        if char == "(":
            depth += 1
            if depth == 1:
                opened = position + 1
        elif char == ")":
            depth -= 1
            if depth == 0 and current is not None:
                found[current] = _field_list(text[opened:position])
        elif char == "," and depth == 0:
            expect_name = True
        elif depth == 0 and not char.isspace():
            break  # WITH, LIMIT, UPDATE …: the end of RETURNING
        position += 1
    return found


_CLAUSE = re.compile(r"\b(WHERE|ORDER\s+BY|LIMIT|OFFSET|USING|WITH)\b", re.IGNORECASE)


def _field_list(text: str) -> list[str]:
    head = _CLAUSE.split(text, maxsplit=1)[0]
    return [field.strip() for field in head.split(",") if field.strip()]


def search_frames(
    records: Sequence[Mapping[str, Any]],
    named: Mapping[str, Sequence[str]] | Sequence[str] = (),
    field_types: Any = None,
) -> dict[str, pd.DataFrame]:
    """Group search records by object and make a frame of each (`field_types`:
    ``(sobject, columns) -> {column: type}`` to type them, or None)."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        kind = str((record.get("attributes") or {}).get("type") or "")
        grouped.setdefault(kind, []).append(record)
    for name in named:
        if not any(existing.casefold() == name.casefold() for existing in grouped):
            grouped[name] = []
    fields = named if isinstance(named, Mapping) else {}
    frames: dict[str, pd.DataFrame] = {}
    for kind, rows in grouped.items():
        if not rows:  # a named object without a hit: its columns, no rows
            frames[kind] = records_to_frame([]).reindex(columns=list(fields.get(kind, ())))
            continue
        columns = RecordColumns()
        columns.add(rows)
        types = field_types(kind, list(columns.data)) if field_types is not None else None
        frames[kind] = columns.frame(types)
    return frames


def search(session: Session, sosl: str, *, typed: bool = True) -> SearchResult:
    """Run `sosl` (``FIND {…} …``) and answer a `SearchResult`: one DataFrame per
    object. `typed`: number, date and boolean columns typed from describe."""
    answer = session.get("search", params={"q": sosl.strip()})
    # Before API 37.0 the answer was a bare list of records.
    records = (answer.get("searchRecords") if isinstance(answer, Mapping) else answer) or []
    types = session.field_types if typed else None
    return SearchResult(search_frames(records, returning_clause(sosl), types), sosl)
