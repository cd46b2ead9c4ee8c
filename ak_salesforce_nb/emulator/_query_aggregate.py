"""Aggregate queries: GROUP BY, HAVING, COUNT/COUNT_DISTINCT/SUM/AVG/MIN/MAX.

Rows come back as ``AggregateResult`` records; unaliased aggregates are named ``expr0``,
``expr1``... in select order, and a grouped relationship field by its last name part.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ._query_filters import Value, base_rows, compare, convert
from ._query_scope import (
    Getter,
    QueryContext,
    Scope,
    check_offset,
    lookup_sobject,
    normalizer,
)
from ._schema import FieldDef
from ._soql_parser import (
    AggregateCall,
    BoolOp,
    Condition,
    FieldRef,
    Literal,
    Not,
    Query,
    SoqlError,
)

__all__ = ["AggregateResult", "execute_aggregate"]


@dataclasses.dataclass
class AggregateResult:
    """The AggregateResult records of an aggregate query (never paged)."""

    records: list[dict[str, Any]]


def _aggregate(function: str, values: list[Any], is_text: bool) -> Any:
    present = [v for v in values if v is not None]
    if function == "COUNT":
        return len(present)
    if function == "COUNT_DISTINCT":
        return len({v.casefold() if is_text and isinstance(v, str) else v for v in present})
    if not present:
        return None
    if function == "SUM":
        return sum(present)
    if function == "AVG":
        return sum(present) / len(present)
    if function == "MIN":
        return min(present, key=lambda v: v.casefold() if is_text else v)
    return max(present, key=lambda v: v.casefold() if is_text else v)


def execute_aggregate(ctx: QueryContext, query: Query) -> AggregateResult:
    sobject = lookup_sobject(ctx, query)
    scope = Scope(ctx, sobject, query.alias)
    check_offset(query)
    group_resolved = [scope.resolve(ref) for ref in query.group_by]
    group_keys = [".".join(r.path).lower() for r in group_resolved]

    def aggregate_getter(call: AggregateCall) -> tuple[Getter | None, FieldDef | None]:
        if call.argument is None:
            return None, None
        resolved = scope.resolve(call.argument)
        if call.function in ("SUM", "AVG") and not resolved.field.is_number:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"field {resolved.field.name} does not support aggregate operator {call.function}",
                call.offset,
            )
        return resolved.getter, resolved.field

    # Output columns: (key, kind, detail): kind "group" -> index in group_by; "agg" -> call.
    outputs: list[tuple[str, str, Any]] = []
    expr_number = 0
    for item in query.select:
        expr = item.expr
        if isinstance(expr, AggregateCall):
            getter, f = aggregate_getter(expr)
            key = item.alias or f"expr{expr_number}"
            if item.alias is None:
                expr_number += 1
            outputs.append((key, "agg", (expr.function, getter, f)))
        elif isinstance(expr, FieldRef):
            resolved = scope.resolve(expr)
            dotted = ".".join(resolved.path).lower()
            if dotted not in group_keys:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    f"Field must be grouped or aggregated: {resolved.path[-1]}",
                    expr.offset,
                )
            outputs.append((item.alias or resolved.path[-1], "group", group_keys.index(dotted)))
        else:
            raise SoqlError("MALFORMED_QUERY", "unexpected token: '('", getattr(expr, "offset", 0))
    rows = base_rows(ctx, scope, query)
    normalizers = [normalizer(r.field) for r in group_resolved]
    groups: dict[tuple[Any, ...], tuple[list[Any], list[int]]] = {}
    for row in rows:
        display = [r.getter(row) for r in group_resolved]
        group_key = tuple(n(v) for n, v in zip(normalizers, display, strict=True))
        entry = groups.get(group_key)
        if entry is None:
            groups[group_key] = (display, [row])
        else:
            entry[1].append(row)
    if not group_resolved and not groups:
        groups[()] = ([], [])

    def value_of(call: AggregateCall, group_rows: list[int]) -> Any:
        getter, f = aggregate_getter(call)
        if getter is None:
            return len(group_rows)
        return _aggregate(call.function, [getter(r) for r in group_rows], bool(f and f.is_text))

    group_list = list(groups.items())
    if query.having is not None:
        having = _compile_having(ctx, scope, query.having, group_keys, value_of)
        group_list = [g for g in group_list if having(g[1][0], g[1][1])]
    group_list = _sort_groups(scope, query, group_list, group_keys, value_of)
    group_list = group_list[query.offset or 0 :]
    if query.limit is not None:
        group_list = group_list[: query.limit]
    records: list[dict[str, Any]] = []
    for _, (display, group_rows) in group_list:
        record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
        for key, kind, detail in outputs:
            if kind == "group":
                record[key] = display[detail]
            else:
                function, getter, f = detail
                values = [getter(r) for r in group_rows] if getter else []
                record[key] = (
                    len(group_rows)
                    if getter is None
                    else _aggregate(function, values, bool(f and f.is_text))
                )
        records.append(record)
    return AggregateResult(records)


def _compile_having(
    ctx: QueryContext,
    scope: Scope,
    condition: Condition,
    group_keys: list[str],
    value_of: Callable[[AggregateCall, list[int]], Any],
) -> Callable[[list[Any], list[int]], bool]:
    if isinstance(condition, BoolOp):
        parts = [
            _compile_having(ctx, scope, item, group_keys, value_of) for item in condition.items
        ]
        if condition.operator == "AND":
            return lambda d, rows: all(p(d, rows) for p in parts)
        return lambda d, rows: any(p(d, rows) for p in parts)
    if isinstance(condition, Not):
        inner = _compile_having(ctx, scope, condition.item, group_keys, value_of)
        return lambda d, rows: not inner(d, rows)
    left = condition.left
    value = condition.value
    if not isinstance(value, Literal) or condition.operator in ("LIKE", "INCLUDES", "EXCLUDES"):
        raise SoqlError("MALFORMED_QUERY", "unsupported HAVING condition", condition.offset)
    if isinstance(left, AggregateCall):
        call = left
        target = value.value
        if value.kind not in ("number", "null"):
            raise SoqlError("MALFORMED_QUERY", "unexpected token in HAVING", value.offset)

        def evaluate(display: list[Any], rows: list[int]) -> Any:
            return value_of(call, rows)

        compare_value: Any = target
    else:
        resolved = scope.resolve(left)
        dotted = ".".join(resolved.path).lower()
        if dotted not in group_keys:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"Field must be grouped or aggregated: {resolved.path[-1]}",
                left.offset,
            )
        position = group_keys.index(dotted)
        normalize = normalizer(resolved.field)
        compare_value = convert(ctx, resolved.field, value).value

        def evaluate(display: list[Any], rows: list[int]) -> Any:
            return normalize(display[position])

    operator = condition.operator
    predicate = compare(operator, lambda holder: holder, Value(compare_value))
    return lambda d, rows: predicate(evaluate(d, rows))


def _group_value(
    scope: Scope,
    expr: FieldRef | AggregateCall,
    group_keys: list[str],
    value_of: Callable[[AggregateCall, list[int]], Any],
) -> Callable[[Any], Any]:
    """How to read an ORDER BY expression from a (key, (display values, rows)) group."""
    if isinstance(expr, AggregateCall):
        call = expr
        return lambda entry: value_of(call, entry[1][1])
    resolved = scope.resolve(expr)
    dotted = ".".join(resolved.path).lower()
    if dotted not in group_keys:
        raise SoqlError(
            "MALFORMED_QUERY",
            f"Ordered field must be grouped or aggregated: {resolved.path[-1]}",
            expr.offset,
        )
    position = group_keys.index(dotted)
    return lambda entry: entry[1][0][position]


def _sort_groups(
    scope: Scope,
    query: Query,
    groups: list[Any],
    group_keys: list[str],
    value_of: Callable[[AggregateCall, list[int]], Any],
) -> list[Any]:
    def natural(entry: Any) -> Any:
        return tuple((0, 0) if v is None else (1, v) for v in entry[0])

    groups = sorted(groups, key=natural)
    for item in reversed(query.order_by):
        value = _group_value(scope, item.expr, group_keys, value_of)
        nulls_low = (not item.nulls_last) != item.descending
        null_key = (0, 0) if nulls_low else (2, 0)

        def key(entry: Any, value: Callable[[Any], Any] = value, null_key: Any = null_key) -> Any:
            v = value(entry)
            if isinstance(v, str):
                v = v.casefold()
            return null_key if v is None else (1, v)

        groups.sort(key=key, reverse=item.descending)
    return groups
