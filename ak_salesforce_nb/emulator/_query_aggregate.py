"""Aggregate queries: GROUP BY (with ROLLUP/CUBE), HAVING, and the aggregate functions.

Rows come back as ``AggregateResult`` records; unaliased aggregates, date functions and
``GROUPING()`` calls are named ``expr0``, ``expr1``... in select order, and a grouped
relationship field by its last name part. ``GROUP BY ROLLUP(a, b)`` adds a subtotal row
after each ``a`` group and a grand total last; ``CUBE`` adds the subtotals of every
combination. In those rows the rolled-up columns are null and ``GROUPING(a)`` is 1.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable
from typing import Any

from ._query_filters import Value, base_rows, compare, convert
from ._query_functions import date_function, format_value
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
    DateFunction,
    FieldRef,
    FormatAggregate,
    FunctionField,
    GroupingCall,
    Literal,
    Not,
    Query,
    SoqlError,
)

__all__ = ["AggregateResult", "execute_aggregate"]

#: Types Salesforce refuses in GROUP BY (describe's ``groupable: false``).
_NOT_GROUPABLE = frozenset({"double", "currency", "percent", "textarea", "address", "datetime"})


@dataclasses.dataclass
class AggregateResult:
    """The AggregateResult records of an aggregate query (never paged)."""

    records: list[dict[str, Any]]


@dataclasses.dataclass
class _Group:
    """One output row: the grouped values, its rows, and which columns are rolled up."""

    display: list[Any]
    rows: list[int]
    rolled: frozenset[int] = frozenset()


@dataclasses.dataclass
class _GroupColumn:
    key: str  # what select items and ORDER BY match (lower-cased)
    name: str  # the answer's column name when selected as a plain field
    getter: Getter
    normalize: Callable[[Any], Any]
    field: FieldDef


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


def _date_key(scope: Scope, call: DateFunction) -> tuple[str, Getter, FieldDef]:
    assert call.argument is not None
    resolved = scope.resolve(call.argument)
    apply = date_function(call.function, resolved.field, call.offset)
    raw = resolved.getter
    output = FieldDef(call.function, "date" if call.function == "DAY_ONLY" else "int", call.text)
    key = f"{call.function}({'.'.join(resolved.path)})".lower()

    def getter(row: int) -> Any:
        return apply(raw(row))

    return key, getter, output


def _group_columns(scope: Scope, query: Query) -> list[_GroupColumn]:
    columns: list[_GroupColumn] = []
    for item in query.group_by:
        if isinstance(item, DateFunction):
            key, getter, output = _date_key(scope, item)
            columns.append(_GroupColumn(key, item.function, getter, lambda v: v, output))
            continue
        if not isinstance(item, FieldRef):
            raise SoqlError(
                "MALFORMED_QUERY",
                f"Grouped field should not be aggregated: {item.text}",
                item.offset,
            )
        plain = FieldRef(item.path, item.offset)
        resolved = scope.resolve(plain)
        if resolved.field.type in _NOT_GROUPABLE:
            raise SoqlError(
                "INVALID_FIELD",
                f"field '{resolved.field.name}' can not be grouped in a query call",
                item.offset,
            )
        columns.append(
            _GroupColumn(
                ".".join(resolved.path).lower(),
                resolved.path[-1],
                resolved.getter,
                normalizer(resolved.field),
                resolved.field,
            )
        )
    return columns


def _levels(count: int, kind: str | None) -> list[frozenset[int]]:
    """Which group columns each level rolls up: none first, then ROLLUP's or CUBE's sets."""
    if kind is None:
        return [frozenset()]
    if kind == "ROLLUP":
        return [frozenset(range(keep, count)) for keep in range(count, -1, -1)]
    levels: list[frozenset[int]] = [frozenset()]
    for size in range(1, count + 1):
        levels += [frozenset(c) for c in itertools.combinations(range(count), size)]
    return levels


def _grouped(columns: list[_GroupColumn], rows: list[int], kind: str | None) -> list[_Group]:
    """The groups of ``rows`` in Salesforce's order: each ROLLUP subtotal after its groups."""
    detail: dict[tuple[Any, ...], _Group] = {}
    for row in rows:
        display = [c.getter(row) for c in columns]
        key = tuple(c.normalize(v) for c, v in zip(columns, display, strict=True))
        group = detail.get(key)
        if group is None:
            detail[key] = _Group(display, [row])
        else:
            group.rows.append(row)

    def natural(group: _Group) -> Any:
        return tuple((0, 0) if v is None else (1, v) for v in group.display)

    details = sorted(detail.values(), key=natural)
    if kind is None:
        if not columns and not details:
            return [_Group([], [])]
        return details
    count = len(columns)
    totals: dict[frozenset[int], dict[tuple[Any, ...], _Group]] = {}
    for level in _levels(count, kind)[1:]:
        by_key: dict[tuple[Any, ...], _Group] = {}
        for group in details:
            key = tuple(None if i in level else natural(group)[i] for i in range(count))
            total = by_key.get(key)
            if total is None:
                shown = [None if i in level else v for i, v in enumerate(group.display)]
                by_key[key] = _Group(shown, list(group.rows), level)
            else:
                total.rows.extend(group.rows)
        if not by_key and len(level) == count:
            by_key[()] = _Group([None] * count, [], level)
        totals[level] = by_key
    ordered: list[_Group] = []
    # ROLLUP order: a group's details, then its subtotal, ..., the grand total last.
    rollup_levels = [frozenset(range(keep, count)) for keep in range(count - 1, -1, -1)]
    emitted: set[tuple[frozenset[int], tuple[Any, ...]]] = set()
    for position, group in enumerate(details):
        ordered.append(group)
        following = details[position + 1] if position + 1 < len(details) else None
        for level in rollup_levels:
            if len(level) == count:
                continue
            kept = count - len(level)
            prefix = natural(group)[:kept]
            if following is not None and natural(following)[:kept] == prefix:
                break
            key = tuple(prefix) + (None,) * len(level)
            if (level, key) not in emitted and key in totals.get(level, {}):
                ordered.append(totals[level][key])
                emitted.add((level, key))
    for level, by_key in totals.items():
        if level in rollup_levels and len(level) < count:
            continue
        if len(level) == count:
            continue
        ordered += [g for k, g in sorted(by_key.items(), key=lambda e: natural(e[1]))]
    ordered += list(totals[frozenset(range(count))].values())
    return ordered


def execute_aggregate(ctx: QueryContext, query: Query) -> AggregateResult:
    sobject = lookup_sobject(ctx, query)
    scope = Scope(ctx, sobject, query.alias)
    check_offset(query)
    columns = _group_columns(scope, query)
    group_keys = [c.key for c in columns]

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

    def group_position(key: str, shown: str, offset: int) -> int:
        if key not in group_keys:
            raise SoqlError(
                "MALFORMED_QUERY", f"Field must be grouped or aggregated: {shown}", offset
            )
        return group_keys.index(key)

    # Output columns: (key, reader of a _Group).
    outputs: list[tuple[str, Callable[[_Group], Any]]] = []
    expr_number = 0

    def next_name(alias: str | None) -> str:
        nonlocal expr_number
        if alias is not None:
            return alias
        expr_number += 1
        return f"expr{expr_number - 1}"

    for item in query.select:
        expr = item.expr
        if isinstance(expr, GroupingCall):
            assert expr.argument is not None
            resolved = scope.resolve(expr.argument)
            position = group_position(
                ".".join(resolved.path).lower(), resolved.path[-1], expr.offset
            )
            if query.group_kind is None:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    "GROUPING() can only be used with GROUP BY ROLLUP or CUBE",
                    expr.offset,
                )
            outputs.append((next_name(item.alias), _rolled_flag(position)))
        elif isinstance(expr, DateFunction):
            key, _, _ = _date_key(scope, expr)
            position = group_position(key, expr.text, expr.offset)
            outputs.append((next_name(item.alias), _display_reader(position)))
        elif isinstance(expr, AggregateCall):
            getter, f = aggregate_getter(expr)
            name = next_name(item.alias)
            outputs.append((name, _aggregate_reader(expr, getter, f)))
        elif isinstance(expr, FunctionField):
            resolved = scope.resolve(FieldRef(expr.path, expr.offset))
            position = group_position(
                ".".join(resolved.path).lower(), resolved.path[-1], expr.offset
            )
            field = resolved.field
            if expr.function == "TOLABEL":
                transform: Callable[[Any], Any] = field.label_of
            elif expr.function == "FORMAT" and expr.inner is None:
                transform = functools.partial(format_value, field)
            else:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    f"{expr.text} can not be used with GROUP BY",
                    expr.offset,
                )
            name = expr.alias or item.alias or resolved.path[-1]
            outputs.append((name, _display_reader(position, transform)))
        elif isinstance(expr, FieldRef):
            resolved = scope.resolve(expr)
            position = group_position(
                ".".join(resolved.path).lower(), resolved.path[-1], expr.offset
            )
            outputs.append((item.alias or resolved.path[-1], _display_reader(position)))
        else:
            raise SoqlError("MALFORMED_QUERY", "unexpected token: '('", getattr(expr, "offset", 0))
    if query.group_kind is not None and len(columns) > 3:
        raise SoqlError(
            "MALFORMED_QUERY",
            f"GROUP BY {query.group_kind} takes at most 3 fields",
            query.group_by[3].offset,
        )
    rows = base_rows(ctx, scope, query)
    groups = _grouped(columns, rows, query.group_kind)

    def value_of(call: AggregateCall, group_rows: list[int]) -> Any:
        getter, f = aggregate_getter(call)
        if getter is None:
            return len(group_rows)
        return _aggregate(call.function, [getter(r) for r in group_rows], bool(f and f.is_text))

    if query.having is not None:
        having = _compile_having(ctx, scope, query.having, group_keys, value_of)
        groups = [g for g in groups if having(g.display, g.rows)]
    groups = _sort_groups(scope, query, groups, group_keys, value_of)
    groups = groups[query.offset or 0 :]
    if query.limit is not None:
        groups = groups[: query.limit]
    records: list[dict[str, Any]] = []
    for group in groups:
        record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
        for key, read in outputs:
            record[key] = read(group)
        records.append(record)
    return AggregateResult(records)


def _rolled_flag(position: int) -> Callable[[_Group], Any]:
    """GROUPING(): 1 on the rows where the column at ``position`` is rolled up."""
    return lambda group: 1 if position in group.rolled else 0


def _display_reader(
    position: int, transform: Callable[[Any], Any] | None = None
) -> Callable[[_Group], Any]:
    if transform is None:
        return lambda group: group.display[position]
    convert_value = transform
    return lambda group: convert_value(group.display[position])


def _aggregate_reader(
    call: AggregateCall, getter: Getter | None, f: FieldDef | None
) -> Callable[[_Group], Any]:
    formatting = isinstance(call, FormatAggregate)

    def read(group: _Group) -> Any:
        if getter is None:
            value = len(group.rows)
        else:
            values = [getter(r) for r in group.rows]
            value = _aggregate(call.function, values, bool(f and f.is_text))
        if formatting and f is not None and call.function not in ("COUNT", "COUNT_DISTINCT"):
            return format_value(f, value)
        return value

    return read


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
    if isinstance(left, DateFunction):
        key, _, _ = _date_key(scope, left)
        if key not in group_keys:
            raise SoqlError(
                "MALFORMED_QUERY", f"Field must be grouped or aggregated: {left.text}", left.offset
            )
        date_position = group_keys.index(key)
        compare_value: Any = value.value

        def evaluate(display: list[Any], rows: list[int]) -> Any:
            return display[date_position]

    elif isinstance(left, AggregateCall):
        call = left
        target = value.value
        if value.kind not in ("number", "null"):
            raise SoqlError("MALFORMED_QUERY", "unexpected token in HAVING", value.offset)

        def evaluate(display: list[Any], rows: list[int]) -> Any:
            return value_of(call, rows)

        compare_value = target
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
) -> Callable[[_Group], Any]:
    """How to read an ORDER BY expression from a group."""
    if isinstance(expr, DateFunction):
        key, _, _ = _date_key(scope, expr)
        if key not in group_keys:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"Ordered field must be grouped or aggregated: {expr.text}",
                expr.offset,
            )
        date_position = group_keys.index(key)
        return lambda group: group.display[date_position]
    if isinstance(expr, AggregateCall):
        call = expr
        return lambda group: value_of(call, group.rows)
    resolved = scope.resolve(FieldRef(expr.path, expr.offset))
    dotted = ".".join(resolved.path).lower()
    if dotted not in group_keys:
        raise SoqlError(
            "MALFORMED_QUERY",
            f"Ordered field must be grouped or aggregated: {resolved.path[-1]}",
            expr.offset,
        )
    position = group_keys.index(dotted)
    return lambda group: group.display[position]


def _sort_groups(
    scope: Scope,
    query: Query,
    groups: list[_Group],
    group_keys: list[str],
    value_of: Callable[[AggregateCall, list[int]], Any],
) -> list[_Group]:
    groups = list(groups)
    for item in reversed(query.order_by):
        value = _group_value(scope, item.expr, group_keys, value_of)
        nulls_low = (not item.nulls_last) != item.descending
        null_key = (0, 0) if nulls_low else (2, 0)

        def key(
            group: _Group, value: Callable[[_Group], Any] = value, null_key: Any = null_key
        ) -> Any:
            v = value(group)
            if isinstance(v, str):
                v = v.casefold()
            return null_key if v is None else (1, v)

        groups.sort(key=key, reverse=item.descending)
    return groups
