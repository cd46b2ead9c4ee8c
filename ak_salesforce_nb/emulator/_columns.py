"""``query?q=...&columns=true``: the columns of a query's answer, without its records.

Salesforce's own tools ask for this before a query (the CLI's ``sf data query`` builds
its table from it). The shape, as recorded in salesforcecli/plugin-data's tests::

    {"columnMetadata": [{"aggregate": false, "apexType": "String", "booleanType": false,
      "columnName": "Name", "custom": false, "displayName": "Name",
      "foreignKeyName": null, "insertable": true, "joinColumns": [],
      "numberType": false, "textType": true, "updatable": true}, ...],
     "entityName": "Account", "groupBy": false, "idSelected": true, "keyPrefix": "001"}

A parent field (``Owner.Name``) is a column named after the relationship, with the
lookup as ``foreignKeyName`` and the parent's fields as ``joinColumns``; a child subquery
is an ``aggregate`` column named after the relationship whose ``joinColumns`` are the
child's columns; an aggregate function is an ``aggregate`` column named by its alias or
``exprN``, displayed as ``avg(Amount)``.
"""

from __future__ import annotations

import datetime
from typing import Any

from ._query import execute, execute_records
from ._query_scope import QueryContext, Scope, lookup_sobject
from ._schema import FieldDef, SObjectDef
from ._soql_parser import AggregateCall, FieldRef, FieldsCall, Query, SelectItem, SubQuery
from ._store import Store

__all__ = ["APEX_TYPES", "column_metadata"]

#: Describe field type -> the Apex type Salesforce names in column metadata.
APEX_TYPES = {
    "id": "Id",
    "reference": "Id",
    "boolean": "Boolean",
    "int": "Integer",
    "double": "Double",
    "currency": "Decimal",
    "percent": "Double",
    "date": "Date",
    "datetime": "Datetime",
    "time": "Time",
    "address": "Address",
    "location": "Location",
    "base64": "Blob",
}
_NUMBERS = frozenset({"int", "double", "currency", "percent"})
_NOT_TEXT = frozenset({"id", "reference", "boolean", "address", "location", "base64", "date"})
_NOT_TEXT |= {"datetime", "time"} | _NUMBERS

Column = dict[str, Any]


def _column(
    name: str,
    display: str,
    *,
    apex_type: str | None = None,
    aggregate: bool = False,
    number: bool = False,
    text: bool = False,
    boolean: bool = False,
    custom: bool = False,
    foreign_key: str | None = None,
    insertable: bool = False,
    updatable: bool = False,
) -> Column:
    return {
        "aggregate": aggregate,
        "apexType": apex_type,
        "booleanType": boolean,
        "columnName": name,
        "custom": custom,
        "displayName": display,
        "foreignKeyName": foreign_key,
        "insertable": insertable,
        "joinColumns": [],
        "numberType": number,
        "textType": text,
        "updatable": updatable,
    }


def _field_column(f: FieldDef, name: str | None = None) -> Column:
    return _column(
        name or f.name,
        name or f.name,
        apex_type=APEX_TYPES.get(f.type, "String"),
        number=f.type in _NUMBERS,
        text=f.type not in _NOT_TEXT,
        boolean=f.type == "boolean",
        custom=f.custom,
        insertable=f.createable and not f.calculated,
        updatable=f.updateable and not f.calculated,
    )


class _Columns:
    """Builds the column list of one (sub)query."""

    def __init__(self, ctx: QueryContext, sobject: SObjectDef, query: Query) -> None:
        self.ctx = ctx
        self.sobject = sobject
        self.query = query
        self.scope = Scope(ctx, sobject, query.alias)
        self.columns: list[Column] = []
        self.expressions = 0

    def build(self) -> list[Column]:
        for item in self.query.select:
            self._item(item)
        return self.columns

    def _item(self, item: SelectItem) -> None:
        expr = item.expr
        if isinstance(expr, SubQuery):
            self._subquery(expr)
        elif isinstance(expr, FieldsCall):
            for f in self.sobject.fields:
                if expr.kind == "ALL" or (expr.kind == "CUSTOM") == f.custom:
                    self.columns.append(_field_column(f))
        elif isinstance(expr, AggregateCall):
            self._aggregate(expr, item.alias)
        elif isinstance(expr, FieldRef):
            self._field(expr, item.alias or getattr(expr, "alias", None))

    def _field(self, ref: FieldRef, alias: str | None) -> None:
        resolved = self.scope.resolve(ref)
        path = resolved.path
        if len(path) == 1:
            self.columns.append(_field_column(resolved.field, alias))
            return
        siblings = self.columns
        sobject = self.sobject
        for segment in path[:-1]:
            reference = sobject.reference_by_relationship(segment)
            parent = next(
                (c for c in siblings if c["columnName"] == segment and c["apexType"] is None),
                None,
            )
            if parent is None:
                parent = _column(
                    segment, segment, foreign_key=reference.name if reference else None
                )
                siblings.append(parent)
            siblings = parent["joinColumns"]
            target = None
            if reference is not None and reference.reference_to:
                table = self.ctx.store.table(reference.reference_to[0])
                target = table.sobject if table is not None else None
            sobject = target or sobject
        siblings.append(_field_column(resolved.field, alias))

    def _aggregate(self, call: AggregateCall, alias: str | None) -> None:
        if alias is None:
            name = f"expr{self.expressions}"
            self.expressions += 1
        else:
            name = alias
        f = self.scope.resolve(call.argument).field if call.argument is not None else None
        function = call.function.upper()
        if function in ("COUNT", "COUNT_DISTINCT"):
            apex, number = "Integer", True
        elif function == "AVG":
            apex, number = "Double", True
        elif f is not None:
            apex, number = APEX_TYPES.get(f.type, "String"), f.type in _NUMBERS
        else:
            apex, number = None, False
        argument = call.argument.text if call.argument is not None else ""
        self.columns.append(
            _column(
                name,
                f"{function.lower()}({argument})",
                apex_type=apex,
                aggregate=True,
                number=number,
                text=apex == "String",
            )
        )

    def _subquery(self, sub: SubQuery) -> None:
        relationship = self.sobject.child_relationship(sub.query.sobject)
        if relationship is None:  # execute() has already refused the query
            return
        child = self.ctx.store.schema.get(relationship.child_sobject)
        assert child is not None
        column = _column(relationship.name, relationship.name, aggregate=True)
        column["joinColumns"] = _Columns(self.ctx, child, sub.query).build()
        self.columns.append(column)


def column_metadata(
    store: Store, text: str, include_deleted: bool, today: datetime.date
) -> dict[str, Any]:
    """The ``columns=true`` answer for ``text``; SoqlError for a query Salesforce refuses
    (the query is checked exactly as when it runs)."""
    query, _ = execute(store, text, include_deleted, today)
    ctx = QueryContext(store, include_deleted, today, execute_records)
    sobject = lookup_sobject(ctx, query)
    columns = [] if query.count_only else _Columns(ctx, sobject, query).build()
    return {
        "columnMetadata": columns,
        "entityName": sobject.name,
        "groupBy": bool(query.group_by),
        "idSelected": any(c["columnName"] == "Id" for c in columns),
        "keyPrefix": sobject.key_prefix,
    }
