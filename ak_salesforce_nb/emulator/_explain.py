"""``query?explain=<SOQL>``: the Query Plan tool's answer, from the org's real row counts.

Salesforce answers the plans its optimizer considered::

    {"plans": [{"cardinality": 1, "fields": ["CreatedDate"], "leadingOperationType":
      "Index", "notes": [], "relativeCost": 0.0, "sobjectCardinality": 3,
      "sobjectType": "Merchandise__c"}, ...], "sourceQuery": "SELECT ..."}

cheapest first. The emulator's optimizer, simple and documented:

- **Indexed fields** are Salesforce's standard indexes: ``Id``, ``Name``, ``OwnerId``,
  ``CreatedDate``, ``SystemModstamp``, ``RecordTypeId``, lookups, ``Email`` of Contact
  and Lead, external ids and unique fields (custom ones are custom indexes).
- A filter on one of them (``=``, ``IN``, ranges, ``LIKE`` without a leading wildcard),
  alone or in a top-level ``AND``, gives an **Index** plan; a top-level ``OR`` gives one
  only if every branch can use an index. Its ``cardinality`` is the number of rows that
  filter matches, counted on the org's data, and its ``relativeCost`` that number over
  the selectivity threshold (30% of the object's rows for a standard index, 10% for a
  custom one): above 1 means "not selective".
- A **TableScan** plan is always there: the rows the whole filter matches, a cost of
  0.65 growing with the object's size, and notes for the filters no index serves
  (``unindexed``, a negative operator, a leading ``%``).
- No **Sharing** plan: the emulator's users see all data (an admin's view).

``explain=`` also takes a report or list view id on Salesforce. A report of the org
(``00O...``) is explained as the query it runs (its object, filtered by its filters); the
emulator has no list views, and an unknown id answers ``NOT_FOUND``.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from ._errors import not_found
from ._query import execute, execute_records
from ._query_filters import compile_condition
from ._query_scope import QueryContext, Scope, lookup_sobject
from ._schema import FieldDef, SObjectDef
from ._soql_parser import BoolOp, Comparison, Condition, FieldRef, Literal, Not
from ._store import Store, Table

__all__ = ["explain", "is_report_or_list_view"]

_STANDARD_INDEXES = frozenset(
    {"id", "name", "ownerid", "createddate", "systemmodstamp", "recordtypeid"}
)
_EMAIL_INDEXED = frozenset({"contact", "lead"})
_INDEX_OPERATORS = frozenset({"=", "IN", "<", "<=", ">", ">=", "LIKE"})
_NEGATIVE = frozenset({"!=", "<>", "NOT IN", "EXCLUDES"})
_REPORT_OR_LIST_VIEW = re.compile(r"^00[OB][0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?$")
_UNINDEXED = "Not considering filter for optimization because unindexed"
_NEGATIVE_NOTE = "Not considering filter for optimization because of a negative operator"
_WILDCARD_NOTE = "Not considering filter for optimization because of a leading % wildcard"


def _index_kind(sobject: SObjectDef, f: FieldDef) -> str | None:
    """ "standard", "custom" or None (no index on the field)."""
    name = f.name.lower()
    if name in _STANDARD_INDEXES or f.type in ("id", "reference"):
        return "custom" if f.custom else "standard"
    if name == "email" and sobject.name.lower() in _EMAIL_INDEXED:
        return "standard"
    if f.external_id or f.unique:
        return "custom" if f.custom else "standard"
    return None


def _threshold(total: int, kind: str) -> float:
    """Salesforce's selectivity thresholds: 30% (standard) / 10% (custom) of the first
    million rows, 15% / 5% of the rest; a custom index never past 333,333 rows."""
    first, rest = min(total, 1_000_000), max(0, total - 1_000_000)
    if kind == "standard":
        return max(1.0, 0.30 * first + 0.15 * rest)
    return max(1.0, min(333_333.0, 0.10 * first + 0.05 * rest))


def _leading_wildcard(value: object) -> bool:
    return isinstance(value, Literal) and str(value.value or "").startswith(("%", "_"))


class _Planner:
    def __init__(self, ctx: QueryContext, sobject: SObjectDef, alias: str | None) -> None:
        self.ctx = ctx
        self.sobject = sobject
        self.scope = Scope(ctx, sobject, alias)
        self.table: Table = self.scope.table
        rows = self.table.all_rows() if ctx.include_deleted else self.table.live_rows()
        self.rows = list(rows)
        self.notes: list[dict[str, Any]] = []

    def count(self, condition: Condition | None) -> int:
        if condition is None:
            return len(self.rows)
        predicate = compile_condition(self.ctx, self.scope, condition)
        return sum(1 for row in self.rows if predicate(row))

    def indexed(self, condition: Condition) -> tuple[FieldDef, str] | None:
        """(field, index kind) when ``condition`` can lead with an index; else a note."""
        if not isinstance(condition, Comparison) or not isinstance(condition.left, FieldRef):
            return None
        resolved = self.scope.resolve(condition.left)
        if len(resolved.path) != 1:
            return None  # a parent's field: not an index of this object
        f = resolved.field
        kind = _index_kind(self.sobject, f)
        if kind is None:
            self.note(_UNINDEXED, f)
            return None
        if condition.operator in _NEGATIVE or condition.operator.startswith("NOT"):
            self.note(_NEGATIVE_NOTE, f)
            return None
        if condition.operator == "LIKE" and _leading_wildcard(condition.value):
            self.note(_WILDCARD_NOTE, f)
            return None
        if condition.operator not in _INDEX_OPERATORS:
            return None
        return f, kind

    def note(self, description: str, f: FieldDef) -> None:
        note = {"description": description, "fields": [f.name], "tableEnumOrId": self.sobject.name}
        if note not in self.notes:
            self.notes.append(note)

    def plan(
        self, operation: str, fields: list[str], cardinality: int, cost: float
    ) -> dict[str, Any]:
        return {
            "cardinality": cardinality,
            "fields": fields,
            "leadingOperationType": operation,
            "notes": [],
            "relativeCost": round(cost, 6),
            "sobjectCardinality": len(self.rows),
            "sobjectType": self.sobject.name,
        }

    def index_plans(self, where: Condition | None) -> list[dict[str, Any]]:
        if where is None:
            return []
        total = len(self.rows)
        plans: list[dict[str, Any]] = []
        if isinstance(where, BoolOp) and where.operator == "OR":
            branches = [self.indexed(item) for item in where.items]
            if all(branches):
                kinds = {b[1] for b in branches if b}
                fields = list(dict.fromkeys(b[0].name for b in branches if b))
                kind = "custom" if "custom" in kinds else "standard"
                matched = self.count(where)
                plans.append(self.plan("Index", fields, matched, matched / _threshold(total, kind)))
            return plans
        items = where.items if isinstance(where, BoolOp) else [where]
        for item in items:
            if isinstance(item, Not):
                continue
            found = self.indexed(item)
            if found is None:
                continue
            f, kind = found
            matched = self.count(item)
            plans.append(self.plan("Index", [f.name], matched, matched / _threshold(total, kind)))
        return plans

    def table_scan(self, where: Condition | None) -> dict[str, Any]:
        plan = self.plan("TableScan", [], self.count(where), 0.65 + len(self.rows) / 300_000)
        notes = list(self.notes)
        deleted = self.sobject.field("IsDeleted")
        if deleted is not None:
            notes.append(
                {
                    "description": _UNINDEXED,
                    "fields": ["IsDeleted"],
                    "tableEnumOrId": self.sobject.name,
                }
            )
        plan["notes"] = notes
        return plan


def is_report_or_list_view(text: str) -> bool:
    """An id of a report (``00O``) or a list view (``00B``), which explain also takes."""
    return bool(_REPORT_OR_LIST_VIEW.match(text.strip()))


def explain(
    store: Store, text: str, today: datetime.date, source: str | None = None
) -> dict[str, Any]:
    """The plans of ``text`` (a SOQL query), cheapest first; SoqlError for a query
    Salesforce refuses, NOT_FOUND for an id of something the org does not have.
    ``source`` is what the caller asked about when it was not the query itself."""
    if is_report_or_list_view(text):
        raise not_found()
    query, _ = execute(store, text, False, today)  # checks the query as when it runs
    ctx = QueryContext(store, False, today, execute_records)
    planner = _Planner(ctx, lookup_sobject(ctx, query), query.alias)
    plans = planner.index_plans(query.where)
    plans.append(planner.table_scan(query.where))
    plans.sort(key=lambda p: float(p["relativeCost"]))
    return {"plans": plans, "sourceQuery": source or text}
