"""SOSL search over the emulated org, and the parameterized search built on it.

A record matches when its searched text fields (by ``IN ... FIELDS`` group) contain the
search terms as whole words, case-insensitively, with ``*`` (any characters) and ``?``
(one character) as wildcards; words side by side must all match, as on Salesforce.
Each RETURNING object's field list and WHERE/ORDER BY/LIMIT/OFFSET run through the SOQL
engine. Results come in RETURNING order (Salesforce orders by relevance, which has no
local equivalent), each record with ``attributes`` like a query record.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

from ._query import execute_records
from ._query_order import window
from ._query_scope import QueryContext
from ._schema import FieldDef, Schema, SObjectDef
from ._soql_parser import SoqlError, parse
from ._sosl_parser import (
    Returning,
    SearchQuery,
    SoslError,
    Term,
    TermExpr,
    parse_search,
    parse_terms,
)
from ._store import Store, Table

__all__ = ["SEARCHED_OBJECTS", "parameterized_to_sosl", "run_search"]

#: What a search without RETURNING looks through, in answer order.
SEARCHED_OBJECTS = (
    "Account",
    "Contact",
    "Lead",
    "Opportunity",
    "Case",
    "Campaign",
    "Product2",
    "Project__c",
)
#: Results of one search at most (Salesforce: 2,000).
MAX_RESULTS = 2000
_TEXT_SEARCHED = frozenset({"string", "textarea", "email", "phone", "url", "combobox"})
_EXTRA_NAME_FIELDS = ("FirstName", "LastName", "Company", "Subject", "CaseNumber")


def _searched_fields(sobject: SObjectDef, group: str) -> list[FieldDef]:
    """The fields an ``IN <group> FIELDS`` search reads on ``sobject``."""
    names: list[FieldDef] = []
    name_field = sobject.name_field
    name_like = [f for f in sobject.fields if f.name in _EXTRA_NAME_FIELDS]
    if name_field is not None:
        name_like.insert(0, name_field)
    if group == "NAME":
        return name_like
    if group == "EMAIL":
        return [f for f in sobject.fields if f.type == "email"]
    if group == "PHONE":
        return [f for f in sobject.fields if f.type == "phone"]
    if group == "SIDEBAR":
        extra = [f for f in sobject.fields if f.type in ("email", "phone")]
        return name_like + [f for f in extra if f not in name_like]
    names = [f for f in sobject.fields if f.type in _TEXT_SEARCHED]
    return names


def _term_pattern(term: Term) -> re.Pattern[str]:
    words = term.text.split() if term.phrase else [term.text]
    parts = []
    for word in words:
        escaped = re.escape(word.casefold()).replace(r"\*", r"\w*").replace(r"\?", r"\w")
        parts.append(escaped)
    return re.compile(r"(?<!\w)" + r"\W+".join(parts) + r"(?!\w)")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _matcher(tree: Term | TermExpr) -> Callable[[str, str], bool]:
    """A test of (case-folded text, its digits) against the search expression."""
    if isinstance(tree, Term):
        pattern = _term_pattern(tree)
        digits = _digits(tree.text)
        by_digits = len(digits) >= 4 and not re.search(r"[^\d\s()+\-.]", tree.text)
        if by_digits:
            return lambda text, numbers: digits in numbers or pattern.search(text) is not None
        return lambda text, numbers: pattern.search(text) is not None
    items = [_matcher(item) for item in tree.items]
    excluded = [_matcher(item) for item in tree.excluded]

    def test(text: str, numbers: str) -> bool:
        if any(e(text, numbers) for e in excluded):
            return False
        if tree.operator == "OR":
            return any(m(text, numbers) for m in items)
        return all(m(text, numbers) for m in items)

    return test


def _row_texts(table: Table, fields: list[FieldDef]) -> Callable[[int], tuple[str, str]]:
    columns = [table.columns[f.name] for f in fields]

    def text_of(row: int) -> tuple[str, str]:
        text = "\n".join(str(c[row]) for c in columns if c[row] is not None).casefold()
        return text, _digits(text)

    return text_of


class _Offsets:
    """Maps offsets of a synthetic SOQL statement back into the SOSL text."""

    def __init__(self) -> None:
        self.pieces: list[tuple[int, int, int]] = []  # (soql start, length, sosl start)
        self.text = ""

    def add(self, piece: str, sosl_start: int | None) -> None:
        if sosl_start is not None:
            self.pieces.append((len(self.text), len(piece), sosl_start))
        self.text += piece

    def map(self, offset: int | None) -> int | None:
        if offset is None:
            return None
        for start, length, sosl_start in self.pieces:
            if start <= offset <= start + length:
                return sosl_start + offset - start
        return None


def _run_returning(
    ctx: QueryContext,
    item: Returning,
    group: str,
    test: Callable[[str, str], bool],
    version: str,
    remaining: int,
) -> list[str]:
    offsets = _Offsets()
    offsets.add("SELECT ", None)
    offsets.add(item.fields if item.fields.strip() else "Id", item.fields_offset or None)
    offsets.add(" FROM ", None)
    offsets.add(item.sobject, item.offset)
    offsets.add(" ", None)
    offsets.add(item.clauses, item.clauses_offset)
    try:
        query = parse(offsets.text)
        limit, skip = query.limit, query.offset
        query.limit = query.offset = None
        result = execute_records(ctx, query)
    except SoslError:
        raise
    except SoqlError as error:
        raise SoslError(error.error_code, error.detail, offsets.map(error.offset)) from None
    if any(plan for plan in result.shape.items if plan[1] == 2):
        raise SoslError(
            "MALFORMED_SEARCH",
            "Parent-to-child relationship queries are not supported in a RETURNING clause",
            item.fields_offset,
        )
    text_of = _row_texts(result.table, _searched_fields(result.table.sobject, group))
    rows = [row for row in result.rows if test(*text_of(row))]
    rows = window(rows, limit, skip)[:remaining]
    result.shape.bind(version)
    return result.shape.encode_rows(rows)


def run_search(store: Store, search: SearchQuery | str, today: datetime.date, version: str) -> str:
    """The JSON text of ``{"searchRecords": [...]}`` for a SOSL statement."""
    query = parse_search(search) if isinstance(search, str) else search
    ctx = QueryContext(store, False, today, execute_records)
    returning = query.returning or [Returning(name, 0) for name in SEARCHED_OBJECTS]
    test = _matcher(query.terms)
    remaining = min(query.limit or MAX_RESULTS, MAX_RESULTS)
    records: list[str] = []
    for item in returning:
        if remaining <= 0:
            break
        if store.schema.get(item.sobject) is None and not query.returning:
            continue
        found = _run_returning(ctx, item, query.group, test, version, remaining)
        records += found
        remaining -= len(found)
    return '{"searchRecords":[' + ",".join(records) + "]}"


def _escape_term(text: str) -> str:
    return re.sub(r"([{}\\])", r"\\\1", text)


def parameterized_to_sosl(arguments: dict[str, Any], schema: Schema) -> str:
    """The SOSL statement of a parameterized search (GET parameters or the POST body).

    ``arguments`` holds ``q``, ``in``, ``fields`` (list), ``sobjects`` (list of dicts with
    ``name``, ``fields``, ``where``, ``orderBy``, ``limit``), ``defaultLimit``,
    ``overallLimit`` and ``offset``.
    """
    q = arguments.get("q")
    if not isinstance(q, str) or not q.strip():
        raise SoslError("MISSING_ARGUMENT", "Missing argument: q")
    parse_terms(q)  # a SOSL clause in q is refused like a bad term
    group = str(arguments.get("in") or "ALL").upper()
    if group not in ("ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR"):
        raise SoslError("INVALID_SEARCH_SCOPE", f"Invalid value for 'in': {arguments.get('in')}")
    common_fields = arguments.get("fields") or []
    default_limit = arguments.get("defaultLimit")
    parts: list[str] = []
    for sobject in arguments.get("sobjects") or []:
        if not isinstance(sobject, dict) or not sobject.get("name"):
            raise SoslError("INVALID_SEARCH_PARAMETER", "Each sobject needs a name")
        fields = sobject.get("fields") or common_fields or ["Id"]
        clause = ", ".join(str(f) for f in fields)
        if sobject.get("where"):
            clause += f" WHERE {sobject['where']}"
        if sobject.get("orderBy"):
            clause += f" ORDER BY {sobject['orderBy']}"
        limit = sobject.get("limit") or default_limit
        if limit:
            clause += f" LIMIT {int(limit)}"
        parts.append(f"{sobject['name']}({clause})")
    text = f"FIND {{{_escape_term(q)}}} IN {group} FIELDS"
    if parts:
        text += " RETURNING " + ", ".join(parts)
    elif common_fields:
        # Global search with fields: the objects that have them all.
        having = [
            name
            for name in SEARCHED_OBJECTS
            if (sobject_def := schema.get(name)) is not None
            and all(sobject_def.field(str(f)) is not None for f in common_fields)
        ]
        listed = ", ".join(str(f) for f in common_fields)
        text += " RETURNING " + ", ".join(f"{name}({listed})" for name in having)
    overall = arguments.get("overallLimit")
    if overall:
        text += f" LIMIT {int(overall)}"
    return text
