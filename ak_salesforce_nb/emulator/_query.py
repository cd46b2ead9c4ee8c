"""SOQL semantics: run a parsed query over the tables and describe its answer.

A query is compiled once into closures over table columns (field getters, WHERE
predicates, ORDER BY keys, a record shape that writes the JSON of a row), then evaluated
once; the resulting row list is what a query cursor or a Bulk job pages through.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from ._query_aggregate import AggregateResult, execute_aggregate
from ._query_filters import base_rows, compile_condition
from ._query_order import order_keys, sort_rows, window
from ._query_scope import (
    CUSTOM_RELATIONSHIP_HINT,
    Getter,
    QueryContext,
    Resolved,
    Scope,
    check_offset,
    column_getter,
    lookup_sobject,
    parent_row_getter,
)
from ._query_shape import ChildPlan, Shape
from ._query_typeof import resolve_typeof
from ._schema import FieldDef, SObjectDef
from ._soql_parser import (
    AggregateCall,
    FieldRef,
    FieldsCall,
    Query,
    SelectItem,
    SoqlError,
    SubQuery,
    parse,
)
from ._store import Store, Table

__all__ = ["CountResult", "QueryResult", "RecordsResult", "execute", "execute_records"]


@dataclasses.dataclass
class RecordsResult:
    """A record query's rows (in answer order) and how to render them."""

    table: Table
    rows: list[int]
    shape: Shape
    columns: list[tuple[str, Getter]]  # flat (dotted header, getter) for Bulk CSV
    bulk_problem: str | None = None
    #: The selected fields (parents' included), for the page-size rules of _short_pages.
    selected: list[FieldDef] = dataclasses.field(default_factory=list)
    #: The child subqueries, in SELECT order.
    child_plans: list[ChildPlan] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class CountResult:
    total: int


QueryResult = RecordsResult | CountResult | AggregateResult


def _expand_fields(sobject: SObjectDef, item: SelectItem, query: Query) -> list[FieldRef]:
    assert isinstance(item.expr, FieldsCall)
    kind = item.expr.kind
    if kind in ("ALL", "CUSTOM") and (query.limit is None or query.limit > 200):
        raise SoqlError(
            "MALFORMED_QUERY",
            "The SOQL FIELDS function must have a LIMIT of at most 200",
            item.expr.offset,
        )
    fields = [f for f in sobject.fields if kind == "ALL" or (kind == "CUSTOM") == f.custom]
    return [FieldRef([f.name], item.expr.offset) for f in fields]


def execute_records(ctx: QueryContext, query: Query) -> RecordsResult:
    sobject = lookup_sobject(ctx, query)
    scope = Scope(ctx, sobject, query.alias)
    check_offset(query)
    shape = Shape(scope.table)
    columns: list[tuple[str, Getter]] = []
    seen: set[str] = set()
    bulk_problem: str | None = None
    selected: list[FieldDef] = []
    child_plans: list[ChildPlan] = []
    for item in query.select:
        if item.alias is not None:
            raise SoqlError(
                "MALFORMED_QUERY", f"unexpected token: '{item.alias}'", item.alias_offset
            )
        expr = item.expr
        if isinstance(expr, SubQuery):
            bulk_problem = "Parent-to-child relationship queries are not supported in Bulk API 2.0"
            plan = _child_plan(ctx, scope, expr, seen)
            shape.add_children(plan)
            child_plans.append(plan)
            continue
        refs = _expand_fields(sobject, item, query) if isinstance(expr, FieldsCall) else [expr]
        for ref in refs:
            if not isinstance(ref, FieldRef):
                raise SoqlError(
                    "MALFORMED_QUERY",
                    "Field must be grouped or aggregated: " + ref.text,
                    ref.offset,
                )
            resolved = scope.resolve(ref)
            dotted = ".".join(resolved.path)
            if dotted.lower() in seen:
                raise SoqlError(
                    "MALFORMED_QUERY", f"duplicate field selected: {dotted}", ref.offset
                )
            seen.add(dotted.lower())
            if resolved.field.type == "address":
                bulk_problem = "Compound fields are not supported in Bulk API 2.0"
            shape.add_path(resolved.path, _path_getters(scope, ref, resolved), resolved.field)
            columns.append((dotted, resolved.getter))
            selected.append(resolved.field)
    rows = base_rows(ctx, scope, query)
    rows = sort_rows(rows, order_keys(scope, query))
    rows = window(rows, query.limit, query.offset)
    if query.offset:
        bulk_problem = bulk_problem or "OFFSET is not supported in Bulk API 2.0"
    return RecordsResult(scope.table, rows, shape, columns, bulk_problem, selected, child_plans)


def _path_getters(scope: Scope, ref: FieldRef, resolved: Resolved) -> list[Any]:
    """Per path step: (parent-row getter, parent table) pairs, then the field getter."""
    path = scope.strip_prefix(ref.path)
    table = scope.table
    steps: list[Any] = []
    for segment in path[:-1]:
        reference = table.sobject.reference_by_relationship(segment)
        assert reference is not None
        parent = scope.ctx.store.tables[reference.reference_to[0].lower()]
        steps.append((parent_row_getter(table, reference, parent), parent))
        table = parent
    steps.append(column_getter(table, resolved.field))
    return steps


def _child_plan(ctx: QueryContext, scope: Scope, sub: SubQuery, seen: set[str]) -> ChildPlan:
    inner = sub.query
    relationship = scope.sobject.child_relationship(inner.sobject)
    if relationship is None:
        raise SoqlError(
            "INVALID_TYPE",
            f"Didn't understand relationship '{inner.sobject}' in FROM part of query call. "
            + CUSTOM_RELATIONSHIP_HINT,
            inner.sobject_offset,
        )
    if relationship.name.lower() in seen:
        raise SoqlError(
            "MALFORMED_QUERY",
            f"duplicate field selected: {relationship.name}",
            inner.sobject_offset,
        )
    seen.add(relationship.name.lower())
    if inner.count_only or inner.group_by:
        raise SoqlError("MALFORMED_QUERY", "unexpected token: 'COUNT'", inner.sobject_offset)
    child_sobject = ctx.store.schema.get(relationship.child_sobject)
    assert child_sobject is not None
    child_scope = Scope(ctx, child_sobject, inner.alias)
    shape = Shape(child_scope.table)
    child_seen: set[str] = set()
    for item in inner.select:
        refs = (
            _expand_fields(child_sobject, item, inner)
            if isinstance(item.expr, FieldsCall)
            else [item.expr]
        )
        for ref in refs:
            if not isinstance(ref, FieldRef):
                raise SoqlError(
                    "MALFORMED_QUERY", "unexpected token: '('", getattr(ref, "offset", 0)
                )
            resolved = child_scope.resolve(ref)
            dotted = ".".join(resolved.path).lower()
            if dotted in child_seen:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    f"duplicate field selected: {'.'.join(resolved.path)}",
                    ref.offset,
                )
            child_seen.add(dotted)
            shape.add_path(resolved.path, _path_getters(child_scope, ref, resolved), resolved.field)
    predicate = compile_condition(ctx, child_scope, inner.where) if inner.where else None
    return ChildPlan(
        relationship.name,
        child_scope.table,
        relationship.field,
        predicate,
        order_keys(child_scope, inner),
        inner.limit,
        inner.offset,
        shape,
        ctx.include_deleted,
    )


def execute(
    store: Store, text: str, include_deleted: bool, today: datetime.date
) -> tuple[Query, QueryResult]:
    """Parse and run a SOQL query; SoqlError carries Salesforce's error for a bad one."""
    query = parse(text)
    ctx = QueryContext(store, include_deleted, today, execute_records, resolve_typeof)
    if query.count_only:
        sobject = lookup_sobject(ctx, query)
        scope = Scope(ctx, sobject, query.alias)
        check_offset(query)
        rows = window(base_rows(ctx, scope, query), query.limit, query.offset)
        return query, CountResult(len(rows))
    is_aggregate = bool(query.group_by) or any(
        isinstance(item.expr, AggregateCall) for item in query.select
    )
    if is_aggregate:
        return query, execute_aggregate(ctx, query)
    return query, execute_records(ctx, query)
