"""SOQL semantics: resolve a parsed query against the schema, run it over the tables.

A query is compiled once into closures over table columns (field getters, WHERE
predicates, ORDER BY keys, a record "shape" that builds the JSON record of a row), then
evaluated once; the resulting row list is what a query cursor pages through.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

from ._ids import to15
from ._schema import FieldDef, SObjectDef
from ._soql_dates import date_range
from ._soql_parser import (
    LIKE_PERCENT,
    LIKE_UNDERSCORE,
    AggregateCall,
    BoolOp,
    Comparison,
    Condition,
    FieldRef,
    FieldsCall,
    Literal,
    Not,
    Query,
    SelectItem,
    SoqlError,
    SubQuery,
    parse,
)
from ._store import Store, Table
from ._values import format_datetime, parse_datetime

Getter = Callable[[int], Any]
Predicate = Callable[[int], bool]

_CUSTOM_FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the "
    "custom field name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)
_CUSTOM_RELATIONSHIP_HINT = (
    "If you are attempting to use a custom relationship, be sure to append the '__r' "
    "after the custom relationship name. Please reference your WSDL or the describe call "
    "for the appropriate names."
)
_CUSTOM_OBJECT_HINT = (
    "If you are attempting to use a custom object, be sure to append the '__c' after the "
    "entity name. Please reference your WSDL or the describe call for the appropriate names."
)
MAX_OFFSET = 2000
_json_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def invalid_type(name: str, offset: int | None) -> SoqlError:
    return SoqlError(
        "INVALID_TYPE", f"sObject type '{name}' is not supported. {_CUSTOM_OBJECT_HINT}", offset
    )


@dataclasses.dataclass
class Resolved:
    """A field path resolved against a table: how to read it from a row of that table."""

    field: FieldDef
    path: list[str]  # canonical spelling, relationship names then the field name
    getter: Getter


class _Context:
    def __init__(self, store: Store, include_deleted: bool, today: datetime.date) -> None:
        self.store = store
        self.include_deleted = include_deleted
        self.today = today


def _parent_row_getter(table: Table, reference: FieldDef, parent: Table) -> Getter:
    refs = table.columns[reference.name]
    index = parent.index
    deleted = parent.columns.get("IsDeleted")

    def parent_row(row: int) -> int | None:
        ref = refs[row]
        if ref is None:
            return None
        parent_row_number = index.get(ref[:15])
        if parent_row_number is None or (deleted is not None and deleted[parent_row_number]):
            return None
        return parent_row_number

    return parent_row


def _column_getter(table: Table, f: FieldDef) -> Getter:
    if f.type == "address":
        parts = [(key, table.columns[name]) for key, name in f.components]

        def address(row: int) -> Any:
            values = {key: column[row] for key, column in parts}
            if all(v is None for v in values.values()):
                return None
            return {
                "city": values["city"],
                "country": values["country"],
                "geocodeAccuracy": None,
                "latitude": None,
                "longitude": None,
                "postalCode": values["postalCode"],
                "state": values["state"],
                "street": values["street"],
            }

        return address
    return table.columns[f.name].__getitem__


def _compose(first: Getter, then: Getter) -> Getter:
    def composed(row: int) -> Any:
        next_row = first(row)
        return None if next_row is None else then(next_row)

    return composed


class _Scope:
    """Name resolution for one FROM object (and its alias)."""

    def __init__(self, ctx: _Context, sobject: SObjectDef, alias: str | None) -> None:
        self.ctx = ctx
        self.sobject = sobject
        self.table = ctx.store.tables[sobject.name.lower()]
        self.alias = alias

    def strip_prefix(self, path: list[str]) -> list[str]:
        head = path[0].lower()
        if len(path) > 1 and (
            (self.alias is not None and head == self.alias.lower())
            or (
                head == self.sobject.name.lower()
                and not self.sobject.reference_by_relationship(head)
            )
        ):
            return path[1:]
        return path

    def resolve(self, ref: FieldRef) -> Resolved:
        path = self.strip_prefix(ref.path)
        table = self.table
        sobject = self.sobject
        canonical: list[str] = []
        row_getter: Getter | None = None
        for segment in path[:-1]:
            reference = sobject.reference_by_relationship(segment)
            if reference is None:
                raise SoqlError(
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{segment}' in field path. "
                    + _CUSTOM_RELATIONSHIP_HINT,
                    ref.offset,
                )
            parent = self.ctx.store.tables[reference.reference_to[0].lower()]
            step = _parent_row_getter(table, reference, parent)
            row_getter = step if row_getter is None else _compose(row_getter, step)
            canonical.append(reference.relationship_name or segment)
            table = parent
            sobject = parent.sobject
        f = sobject.field(path[-1])
        if f is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{path[-1]}' on entity '{sobject.name}'. {_CUSTOM_FIELD_HINT}",
                ref.offset,
            )
        canonical.append(f.name)
        getter = _column_getter(table, f)
        if row_getter is not None:
            getter = _compose(row_getter, getter)
        return Resolved(f, canonical, getter)


# ----------------------------------------------------------------------------- shapes


def value_encoder(f: FieldDef) -> Callable[[Any], str]:
    """A fast JSON encoder for one field's values (text, number, boolean or address)."""
    if f.type == "boolean":
        return lambda v: "null" if v is None else ("true" if v else "false")
    if f.is_number:
        return lambda v: "null" if v is None else repr(v)
    if f.type == "address":
        return lambda v: "null" if v is None else _json_encoder.encode(v)
    return lambda v: "null" if v is None else encode_basestring(v)


def _escape_braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


@dataclasses.dataclass
class _ChildPlan:
    key: str
    table: Table
    lookup_field: str
    predicate: Predicate | None
    order: list[tuple[Getter, bool, bool]]
    limit: int | None
    offset: int | None
    shape: Shape
    include_deleted: bool

    def encode(self, parent_id: str) -> str:
        """The nested QueryResult of a parent's children, or ``null`` when there are none."""
        rows = self.table.children_by_parent(self.lookup_field).get(parent_id[:15])
        if not rows:
            return "null"
        if not self.include_deleted:
            rows = [r for r in rows if not self.table.is_deleted(r)]
        if self.predicate is not None:
            predicate = self.predicate
            rows = [r for r in rows if predicate(r)]
        rows = _window(_sorted(rows, self.order), self.limit, self.offset)
        if not rows:
            return "null"
        records = ",".join(self.shape.encode_rows(rows))
        return f'{{"totalSize":{len(rows)},"done":true,"records":[{records}]}}'


class Shape:
    """How to write the JSON records of rows of one table (nested parents and children).

    Records are written as text: each selected column is encoded for the whole page with
    a type-specific encoder, then one ``str.format`` template per record joins them. This
    is several times faster than building dicts and running ``json.dumps``.
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        self.type_name = table.sobject.name
        self.ids = table.columns["Id"]
        # (key, kind, callable, nested, encoder): kind 0 = field, 1 = parent, 2 = children
        self.items: list[tuple[str, int, Any, Any, Any]] = []
        self.url_prefix = ""
        self.template = ""

    def add_path(self, path: list[str], getters: list[Any], f: FieldDef) -> None:
        """Add one selected field; ``getters`` has a (parent-row getter, table) per hop."""
        if len(path) == 1:
            self.items.append((path[0], 0, getters[0], None, value_encoder(f)))
            return
        for key, kind, _, nested, _ in self.items:
            if kind == 1 and key == path[0]:
                nested.add_path(path[1:], getters[1:], f)
                return
        row_getter, parent_table = getters[0]
        nested_shape = Shape(parent_table)
        self.items.append((path[0], 1, row_getter, nested_shape, None))
        nested_shape.add_path(path[1:], getters[1:], f)

    def add_children(self, plan: _ChildPlan) -> None:
        self.items.append((plan.key, 2, None, plan, None))

    def bind(self, version: str) -> None:
        """Fix the API version used in ``attributes.url``, and the record template."""
        self.url_prefix = f"/services/data/v{version}/sobjects/{self.type_name}/"
        statics = ['{"attributes":{"type":' + encode_basestring(self.type_name) + ',"url":"']
        statics.append('"}')
        for key, kind, _, nested, _ in self.items:
            statics[-1] += "," + encode_basestring(key) + ":"
            statics.append("")
            if kind == 1:
                nested.bind(version)
            elif kind == 2:
                nested.shape.bind(version)
        statics[-1] += "}"
        self.template = "{}".join(_escape_braces(piece) for piece in statics)

    def encode_rows(self, rows: list[int]) -> list[str]:
        ids = self.ids
        prefix = self.url_prefix
        columns: list[list[str]] = [[prefix + ids[r] for r in rows]]
        for _, kind, function, nested, encode in self.items:
            if kind == 0:
                columns.append(list(map(encode, map(function, rows))))
            elif kind == 1:
                parents = list(map(function, rows))
                encoded = iter(nested.encode_rows([p for p in parents if p is not None]))
                columns.append(["null" if p is None else next(encoded) for p in parents])
            else:
                columns.append([nested.encode(ids[r]) for r in rows])
        template = self.template.format
        return [template(*values) for values in zip(*columns, strict=True)]


# ----------------------------------------------------------------------------- filters


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


class _Value:
    """A literal converted to the field's comparable form; ``bounds`` for date literals."""

    def __init__(self, value: Any = None, bounds: tuple[str, str] | None = None) -> None:
        self.value = value
        self.bounds = bounds


def _normalizer(f: FieldDef) -> Callable[[Any], Any]:
    if f.type in ("id", "reference"):
        return lambda v: None if v is None else v[:15]
    if f.is_text:
        return lambda v: None if v is None else v.casefold()
    return lambda v: v


def _convert(ctx: _Context, f: FieldDef, literal: Literal) -> _Value:
    kind = literal.kind
    if kind == "null":
        return _Value(None)
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
        return _Value(id15)
    if f.is_text:
        if kind != "string":
            raise _type_error(f, literal)
        return _Value(_plain(str(literal.value)).casefold())
    if ftype == "boolean":
        if kind != "boolean":
            raise _type_error(f, literal)
        return _Value(literal.value)
    if f.is_number:
        if kind != "number":
            raise _type_error(f, literal)
        return _Value(literal.value)
    if ftype in ("date", "datetime"):
        if kind == "date_literal":
            start, end = date_range(str(literal.value), literal.argument, ctx.today)
            if ftype == "date":
                return _Value(bounds=(start.isoformat(), end.isoformat()))
            return _Value(bounds=(_midnight(start), _midnight(end)))
        if ftype == "date" and kind == "date":
            return _Value(str(literal.value))
        if ftype == "datetime" and kind == "datetime":
            moment = parse_datetime(str(literal.value))
            if moment is None:
                raise _type_error(f, literal)
            return _Value(format_datetime(moment))
        raise _type_error(f, literal)
    raise SoqlError(
        "INVALID_FIELD", f"field '{f.name}' can not be filtered in a query call", literal.offset
    )


def _midnight(day: datetime.date) -> str:
    return day.isoformat() + "T00:00:00.000+0000"


def _compare(operator: str, getter: Getter, target: _Value) -> Predicate:
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


def _compile_condition(ctx: _Context, scope: _Scope, condition: Condition) -> Predicate:
    if isinstance(condition, BoolOp):
        parts = [_compile_condition(ctx, scope, item) for item in condition.items]
        if condition.operator == "AND":
            return lambda row: all(p(row) for p in parts)
        return lambda row: any(p(row) for p in parts)
    if isinstance(condition, Not):
        inner = _compile_condition(ctx, scope, condition.item)
        return lambda row: not inner(row)
    return _compile_comparison(ctx, scope, condition)


def _compile_comparison(ctx: _Context, scope: _Scope, comparison: Comparison) -> Predicate:
    if isinstance(comparison.left, AggregateCall):
        raise SoqlError(
            "MALFORMED_QUERY",
            "Aggregate functions are not allowed in the WHERE clause",
            comparison.left.offset,
        )
    resolved = scope.resolve(comparison.left)
    f = resolved.field
    normalize = _normalizer(f)
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
        converted = [_convert(ctx, f, literal) for literal in value]
        singles = {c.value for c in converted if c.bounds is None}
        ranged = [_compare("=", getter, c) for c in converted if c.bounds is not None]

        def member(row: int) -> bool:
            v = getter(row)
            return v in singles or any(test(row) for test in ranged)

        return member if operator == "IN" else (lambda row: not member(row))
    if operator in ("INCLUDES", "EXCLUDES"):
        raise SoqlError(
            "INVALID_QUERY_FILTER_OPERATOR",
            f"invalid operator on {f.type} field: {operator}",
            comparison.offset,
        )
    assert isinstance(value, Literal)
    target = _convert(ctx, f, value)
    if f.type == "address":
        raise SoqlError(
            "INVALID_FIELD", f"field '{f.name}' can not be filtered in a query call", value.offset
        )
    return _compare(operator, getter, target)


def _semi_join_ids(ctx: _Context, subquery: SubQuery, left_field: FieldDef) -> set[Any]:
    inner = subquery.query
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
    result = _execute_records(ctx, inner)
    select_item = inner.select[0].expr
    scope = _Scope(ctx, result.table.sobject, inner.alias)
    resolved = scope.resolve(select_item)
    if resolved.field.type not in ("id", "reference"):
        raise SoqlError(
            "INVALID_FIELD",
            "Semi join sub-selects must select an id or reference field",
            select_item.offset,
        )
    return {v[:15] for row in result.rows if (v := resolved.getter(row)) is not None}


# ----------------------------------------------------------------------------- ordering


def _sorted(rows: list[int], order: list[tuple[Getter, bool, bool]]) -> list[int]:
    if not order:
        return rows
    rows = list(rows)
    for getter, descending, nulls_last in reversed(order):
        nulls_low = (not nulls_last) != descending
        null_key = (0, 0) if nulls_low else (2, 0)

        def key(row: int, getter: Getter = getter, null_key: tuple[int, int] = null_key) -> Any:
            v = getter(row)
            return null_key if v is None else (1, v)

        rows.sort(key=key, reverse=descending)
    return rows


def _window(rows: list[int], limit: int | None, offset: int | None) -> list[int]:
    if offset:
        rows = rows[offset:]
    if limit is not None:
        rows = rows[:limit]
    return rows


def _order_keys(scope: _Scope, query: Query) -> list[tuple[Getter, bool, bool]]:
    keys: list[tuple[Getter, bool, bool]] = []
    for item in query.order_by:
        if isinstance(item.expr, AggregateCall):
            raise SoqlError(
                "MALFORMED_QUERY",
                "Ordered field must be grouped or aggregated: " + item.expr.text,
                item.expr.offset,
            )
        resolved = scope.resolve(item.expr)
        if resolved.field.type in ("textarea", "address", "multipicklist"):
            raise SoqlError(
                "INVALID_FIELD",
                f"field '{resolved.field.name}' can not be sorted in a query call",
                item.expr.offset,
            )
        keys.append((_normalized(resolved), item.descending, item.nulls_last))
    return keys


def _normalized(resolved: Resolved) -> Getter:
    """The field's comparable value: case-folded text, id15 ids, others as they are."""
    normalize = _normalizer(resolved.field)
    raw = resolved.getter

    def getter(row: int) -> Any:
        return normalize(raw(row))

    return getter


# ----------------------------------------------------------------------------- results


@dataclasses.dataclass
class RecordsResult:
    """A record query's rows (in answer order) and how to render them."""

    table: Table
    rows: list[int]
    shape: Shape
    columns: list[tuple[str, Getter]]  # flat (dotted header, getter) for Bulk CSV
    bulk_problem: str | None = None


@dataclasses.dataclass
class CountResult:
    total: int


@dataclasses.dataclass
class AggregateResult:
    records: list[dict[str, Any]]


QueryResult = RecordsResult | CountResult | AggregateResult


def _check_offset(query: Query) -> None:
    if query.offset is not None and query.offset > MAX_OFFSET:
        raise SoqlError(
            "NUMBER_OUTSIDE_VALID_RANGE",
            f"Maximum SOQL offset allowed is {MAX_OFFSET}",
            query.offset_position,
        )


def _base_rows(ctx: _Context, scope: _Scope, query: Query) -> list[int]:
    table = scope.table
    predicate = _compile_condition(ctx, scope, query.where) if query.where else None
    if ctx.include_deleted or not table.sobject.has_is_deleted:
        candidates: Any = range(len(table))
    else:
        candidates = table.live_rows()
    if predicate is None:
        return list(candidates)
    return [row for row in candidates if predicate(row)]


def _lookup_sobject(ctx: _Context, query: Query) -> SObjectDef:
    sobject = ctx.store.schema.get(query.sobject)
    if sobject is None:
        raise invalid_type(query.sobject, query.sobject_offset)
    return sobject


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


def _execute_records(ctx: _Context, query: Query) -> RecordsResult:
    sobject = _lookup_sobject(ctx, query)
    scope = _Scope(ctx, sobject, query.alias)
    _check_offset(query)
    shape = Shape(scope.table)
    columns: list[tuple[str, Getter]] = []
    seen: set[str] = set()
    bulk_problem: str | None = None
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
    rows = _base_rows(ctx, scope, query)
    rows = _sorted(rows, _order_keys(scope, query))
    rows = _window(rows, query.limit, query.offset)
    if query.offset:
        bulk_problem = bulk_problem or "OFFSET is not supported in Bulk API 2.0"
    return RecordsResult(scope.table, rows, shape, columns, bulk_problem)


def _path_getters(scope: _Scope, ref: FieldRef, resolved: Resolved) -> list[Any]:
    """Per path step: (parent-row getter, parent table) pairs, then the field getter."""
    path = scope.strip_prefix(ref.path)
    table = scope.table
    steps: list[Any] = []
    for segment in path[:-1]:
        reference = table.sobject.reference_by_relationship(segment)
        assert reference is not None
        parent = scope.ctx.store.tables[reference.reference_to[0].lower()]
        steps.append((_parent_row_getter(table, reference, parent), parent))
        table = parent
    steps.append(_column_getter(table, resolved.field))
    return steps


def _child_plan(ctx: _Context, scope: _Scope, sub: SubQuery, seen: set[str]) -> _ChildPlan:
    inner = sub.query
    relationship = scope.sobject.child_relationship(inner.sobject)
    if relationship is None:
        raise SoqlError(
            "INVALID_TYPE",
            f"Didn't understand relationship '{inner.sobject}' in FROM part of query call. "
            + _CUSTOM_RELATIONSHIP_HINT,
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
    child_scope = _Scope(ctx, child_sobject, inner.alias)
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
    predicate = _compile_condition(ctx, child_scope, inner.where) if inner.where else None
    return _ChildPlan(
        relationship.name,
        child_scope.table,
        relationship.field,
        predicate,
        _order_keys(child_scope, inner),
        inner.limit,
        inner.offset,
        shape,
        ctx.include_deleted,
    )


# ----------------------------------------------------------------------------- aggregates


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


def _execute_aggregate(ctx: _Context, query: Query) -> AggregateResult:
    sobject = _lookup_sobject(ctx, query)
    scope = _Scope(ctx, sobject, query.alias)
    _check_offset(query)
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
    rows = _base_rows(ctx, scope, query)
    normalizers = [_normalizer(r.field) for r in group_resolved]
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
    ctx: _Context,
    scope: _Scope,
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
        normalize = _normalizer(resolved.field)
        compare_value = _convert(ctx, resolved.field, value).value

        def evaluate(display: list[Any], rows: list[int]) -> Any:
            return normalize(display[position])

    operator = condition.operator
    predicate = _compare(operator, lambda holder: holder, _Value(compare_value))
    return lambda d, rows: predicate(evaluate(d, rows))


def _group_value(
    scope: _Scope,
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
    scope: _Scope,
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


# ----------------------------------------------------------------------------- entry point


def execute(
    store: Store, text: str, include_deleted: bool, today: datetime.date
) -> tuple[Query, QueryResult]:
    """Parse and run a SOQL query; SoqlError carries Salesforce's error for a bad one."""
    query = parse(text)
    ctx = _Context(store, include_deleted, today)
    if query.count_only:
        sobject = _lookup_sobject(ctx, query)
        scope = _Scope(ctx, sobject, query.alias)
        _check_offset(query)
        rows = _window(_base_rows(ctx, scope, query), query.limit, query.offset)
        return query, CountResult(len(rows))
    is_aggregate = bool(query.group_by) or any(
        isinstance(item.expr, AggregateCall) for item in query.select
    )
    if is_aggregate:
        return query, _execute_aggregate(ctx, query)
    return query, _execute_records(ctx, query)
