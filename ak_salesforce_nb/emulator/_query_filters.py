"""WHERE: SOQL conditions compiled into predicates over row numbers.

Literals are checked against the field's type (with Salesforce's error wording) and
converted once: text compares case-insensitively, ids by their 15-character form, dates
and date-times as their sortable text, date literals as half-open ranges.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

from ._ids import to15
from ._query_functions import CURRENCY_RATES, date_function, date_function_output
from ._query_scope import Getter, Predicate, QueryContext, Scope, normalizer
from ._schema import FieldDef
from ._soql_dates import date_range
from ._soql_parser import (
    LIKE_PERCENT,
    LIKE_UNDERSCORE,
    AggregateCall,
    BoolOp,
    Comparison,
    Condition,
    DateFunction,
    FieldRef,
    FunctionField,
    Literal,
    Not,
    Query,
    SoqlError,
    SubQuery,
)
from ._values import format_datetime, parse_datetime

__all__ = ["Value", "base_rows", "compare", "compile_condition", "convert"]


def _type_error(f: FieldDef, literal: Literal) -> SoqlError:
    quoted = f.is_text
    kind = {
        "boolean": "boolean",
        "int": "integer",
        "double": "double",
        "currency": "double",
        "percent": "double",
        "date": "date",
        "datetime": "dateTime",
        "id": "id",
        "reference": "id",
    }.get(f.type, "string")
    return SoqlError(
        "INVALID_FIELD",
        f"value of filter criterion for field '{f.name}' must be of type {kind} and should "
        f"{'' if quoted else 'not '}be enclosed in quotes",
        literal.offset,
    )


def _like_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    for c in pattern:
        if c == "%":
            parts.append(".*")
        elif c == "_":
            parts.append(".")
        elif c == LIKE_PERCENT:
            parts.append("%")
        elif c == LIKE_UNDERSCORE:
            parts.append("_")
        else:
            parts.append(re.escape(c))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _plain(value: str) -> str:
    return value.replace(LIKE_PERCENT, "%").replace(LIKE_UNDERSCORE, "_")


class Value:
    """A literal converted to the field's comparable form; ``bounds`` for date literals."""

    def __init__(self, value: Any = None, bounds: tuple[str, str] | None = None) -> None:
        self.value = value
        self.bounds = bounds


def convert(ctx: QueryContext, f: FieldDef, literal: Literal) -> Value:
    kind = literal.kind
    if kind == "null":
        return Value(None)
    ftype = f.type
    if ftype in ("id", "reference"):
        if kind != "string":
            raise _type_error(f, literal)
        text = _plain(str(literal.value))
        id15 = to15(text)
        if id15 is None:
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {text}", literal.offset
            )
        return Value(id15)
    if f.is_text:
        if kind != "string":
            raise _type_error(f, literal)
        return Value(_plain(str(literal.value)).casefold())
    if ftype == "boolean":
        if kind != "boolean":
            raise _type_error(f, literal)
        return Value(literal.value)
    if f.is_number:
        if kind != "number":
            raise _type_error(f, literal)
        return Value(literal.value)
    if ftype in ("date", "datetime"):
        if kind == "date_literal":
            start, end = date_range(str(literal.value), literal.argument, ctx.today)
            if ftype == "date":
                return Value(bounds=(start.isoformat(), end.isoformat()))
            return Value(bounds=(_midnight(start), _midnight(end)))
        if ftype == "date" and kind == "date":
            return Value(str(literal.value))
        if ftype == "datetime" and kind == "datetime":
            moment = parse_datetime(str(literal.value))
            if moment is None:
                raise _type_error(f, literal)
            return Value(format_datetime(moment))
        raise _type_error(f, literal)
    raise SoqlError(
        "INVALID_FIELD", f"field '{f.name}' can not be filtered in a query call", literal.offset
    )


def _midnight(day: datetime.date) -> str:
    return day.isoformat() + "T00:00:00.000+0000"


def compare(operator: str, getter: Getter, target: Value) -> Predicate:
    if target.bounds is not None:
        low, high = target.bounds

        def within(row: int) -> bool:
            v = getter(row)
            return v is not None and low <= v < high

        if operator == "=":
            return within
        if operator == "!=":
            return lambda row: not within(row)
        bound_tests: dict[str, Callable[[Any], bool]] = {
            "<": lambda v: v < low,
            "<=": lambda v: v < high,
            ">": lambda v: v >= high,
            ">=": lambda v: v >= low,
        }
        test = bound_tests[operator]
        return lambda row: (v := getter(row)) is not None and test(v)
    value = target.value
    if operator == "=":
        return lambda row: getter(row) == value
    if operator == "!=":
        return lambda row: getter(row) != value
    if value is None:
        return lambda row: False
    tests: dict[str, Callable[[Any], bool]] = {
        "<": lambda v: v < value,
        "<=": lambda v: v <= value,
        ">": lambda v: v > value,
        ">=": lambda v: v >= value,
    }
    test = tests[operator]
    return lambda row: (v := getter(row)) is not None and test(v)


def compile_condition(ctx: QueryContext, scope: Scope, condition: Condition) -> Predicate:
    if isinstance(condition, BoolOp):
        if condition.operator == "OR":
            for item in condition.items:
                if isinstance(item, Comparison) and isinstance(item.value, SubQuery):
                    raise SoqlError(
                        "MALFORMED_QUERY",
                        "Semi join sub-selects are not allowed with the 'OR' operator",
                        item.offset,
                    )
        parts = [compile_condition(ctx, scope, item) for item in condition.items]
        if condition.operator == "AND":
            return lambda row: all(p(row) for p in parts)
        return lambda row: any(p(row) for p in parts)
    if isinstance(condition, Not):
        inner = compile_condition(ctx, scope, condition.item)
        return lambda row: not inner(row)
    return _compile_comparison(ctx, scope, condition)


def _compile_date_function(
    ctx: QueryContext, scope: Scope, comparison: Comparison, call: DateFunction
) -> Predicate:
    """``WHERE CALENDAR_YEAR(CloseDate) = 2025``: integers (DAY_ONLY: dates) compared."""
    assert call.argument is not None
    resolved = scope.resolve(call.argument)
    apply = date_function(call.function, resolved.field, call.offset)
    raw = resolved.getter
    output = FieldDef(call.text, date_function_output(call.function), call.text)

    def getter(row: int) -> Any:
        return apply(raw(row))

    operator = comparison.operator
    value = comparison.value
    if operator in ("IN", "NOT IN") and isinstance(value, list):
        wanted = {convert(ctx, output, literal).value for literal in value}
        if operator == "IN":
            return lambda row: getter(row) in wanted
        return lambda row: getter(row) not in wanted
    if not isinstance(value, Literal) or operator in ("LIKE", "INCLUDES", "EXCLUDES"):
        raise SoqlError(
            "INVALID_QUERY_FILTER_OPERATOR",
            f"invalid operator on {output.type} field: {operator}",
            comparison.offset,
        )
    return compare(operator, getter, convert(ctx, output, value))


def _compile_comparison(ctx: QueryContext, scope: Scope, comparison: Comparison) -> Predicate:
    if isinstance(comparison.left, DateFunction):
        return _compile_date_function(ctx, scope, comparison, comparison.left)
    if isinstance(comparison.left, FunctionField) and comparison.left.function != "TOLABEL":
        raise SoqlError(
            "MALFORMED_QUERY",
            f"{comparison.left.text} can not be used in the WHERE clause",
            comparison.left.offset,
        )
    if isinstance(comparison.left, AggregateCall):
        raise SoqlError(
            "MALFORMED_QUERY",
            "Aggregate functions are not allowed in the WHERE clause",
            comparison.left.offset,
        )
    resolved = scope.resolve(comparison.left)
    f = resolved.field
    normalize = normalizer(f)
    raw = resolved.getter

    def getter(row: int) -> Any:
        return normalize(raw(row))

    operator = comparison.operator
    value = comparison.value
    if operator == "LIKE":
        if not isinstance(value, Literal) or value.kind != "string" or not f.is_text:
            if isinstance(value, Literal) and value.kind == "null":
                return lambda row: False
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on {f.type} field: LIKE",
                comparison.offset,
            )
        regex = _like_regex(str(value.value))
        return lambda row: (v := raw(row)) is not None and regex.fullmatch(v) is not None
    if operator in ("IN", "NOT IN"):
        if isinstance(value, SubQuery):
            ids = _semi_join_ids(ctx, value, f)
            if operator == "IN":
                return lambda row: getter(row) in ids
            return lambda row: getter(row) not in ids
        assert isinstance(value, list)
        converted = [convert(ctx, f, literal) for literal in value]
        singles = {c.value for c in converted if c.bounds is None}
        ranged = [compare("=", getter, c) for c in converted if c.bounds is not None]

        def member(row: int) -> bool:
            v = getter(row)
            return v in singles or any(test(row) for test in ranged)

        return member if operator == "IN" else (lambda row: not member(row))
    if operator in ("INCLUDES", "EXCLUDES"):
        if f.type != "multipicklist" or not isinstance(value, list):
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on {f.type} field: {operator}",
                comparison.offset,
            )
        return _compile_includes(f, getter, operator, value)
    assert isinstance(value, Literal)
    if value.kind == "currency":
        return _compile_currency(ctx, scope, comparison, f, value)
    target = convert(ctx, f, value)
    if f.type == "address":
        raise SoqlError(
            "INVALID_FIELD", f"field '{f.name}' can not be filtered in a query call", value.offset
        )
    return compare(operator, getter, target)


def _compile_includes(
    f: FieldDef, getter: Getter, operator: str, values: list[Literal]
) -> Predicate:
    """``Regions__c INCLUDES ('AMER;EMEA', 'APAC')``: each string is a set of values that
    must all be selected (``;`` is AND), the list is OR; EXCLUDES is its negation, so a
    record with nothing selected is excluded from INCLUDES and kept by EXCLUDES. Values
    compare case-insensitively, as picklist values do in SOQL."""
    wanted: list[frozenset[str]] = []
    for literal in values:
        if literal.kind != "string":
            raise _type_error(f, literal)
        chosen = frozenset(v.strip().casefold() for v in str(literal.value).split(";"))
        wanted.append(chosen - {""})

    def includes(row: int) -> bool:
        selected = getter(row)
        if not selected:
            return False
        have = frozenset(v.strip() for v in selected.split(";"))
        return any(group and group <= have for group in wanted)

    if operator == "INCLUDES":
        return includes
    return lambda row: not includes(row)


def _compile_currency(
    ctx: QueryContext, scope: Scope, comparison: Comparison, f: FieldDef, literal: Literal
) -> Predicate:
    """``Amount > USD5000``: both sides compared in the corporate currency (multi-currency)."""
    assert isinstance(literal.value, tuple)
    code: str = literal.value[0]
    amount: float = literal.value[1]
    path = scope.strip_prefix(comparison.left.path) if isinstance(comparison.left, FieldRef) else []
    codes = scope.table.columns.get("CurrencyIsoCode")
    if not ctx.store.multi_currency or f.type != "currency" or codes is None or len(path) != 1:
        raise _type_error(f, literal)
    if code not in CURRENCY_RATES:
        raise SoqlError("INVALID_FIELD", f"invalid currency code: {code}", literal.offset)
    raw = scope.table.columns[f.name]
    rates = CURRENCY_RATES

    def corporate(row: int) -> Any:
        value = raw[row]
        return None if value is None else value / rates.get(codes[row], 1.0)

    return compare(comparison.operator, corporate, Value(amount / rates[code]))


def _semi_join_ids(ctx: QueryContext, subquery: SubQuery, left_field: FieldDef) -> set[Any]:
    inner = subquery.query
    if inner.count_only or inner.group_by:
        raise SoqlError(
            "MALFORMED_QUERY",
            "Semi join sub-selects can not use aggregate functions or GROUP BY",
            subquery.offset,
        )
    if len(inner.select) != 1 or not isinstance(inner.select[0].expr, FieldRef):
        raise SoqlError(
            "MALFORMED_QUERY",
            "Semi join sub-selects must select exactly one id field",
            subquery.offset,
        )
    if left_field.type not in ("id", "reference"):
        raise SoqlError(
            "INVALID_FIELD",
            f"Field {left_field.name} must be an Id or a reference field for a semi join",
            subquery.offset,
        )
    result = ctx.run_records(ctx, inner)
    select_item = inner.select[0].expr
    scope = Scope(ctx, result.table.sobject, inner.alias)
    resolved = scope.resolve(select_item)
    if resolved.field.type not in ("id", "reference"):
        raise SoqlError(
            "INVALID_FIELD",
            "Semi join sub-selects must select an id or reference field",
            select_item.offset,
        )
    return {v[:15] for row in result.rows if (v := resolved.getter(row)) is not None}


def base_rows(ctx: QueryContext, scope: Scope, query: Query) -> list[int]:
    table = scope.table
    predicate = compile_condition(ctx, scope, query.where) if query.where else None
    if ctx.include_deleted or not table.sobject.has_is_deleted:
        candidates: Any = table.all_rows()
    else:
        candidates = table.live_rows()
    if predicate is None:
        return list(candidates)
    return [row for row in candidates if predicate(row)]
