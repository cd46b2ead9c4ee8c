"""Writing query records as JSON text: nested parents, child subqueries, attributes."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

from ._query_order import sort_rows, window
from ._query_scope import DerivedField, Getter, Predicate
from ._schema import FieldDef
from ._store import Table

__all__ = ["CHILD_BATCH", "ChildPager", "ChildPlan", "NameShape", "Shape"]

#: Child rows a parent carries inline (Salesforce returns about 200 and a nested locator).
CHILD_BATCH = 200

#: Opens a cursor over a parent's child rows; returns the ``nextRecordsUrl`` of row 200.
ChildPager = Callable[["Table", list[int], "Shape"], str]

_json_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def value_encoder(f: FieldDef) -> Callable[[Any], str]:
    """A fast JSON encoder for one field's values (text, number, boolean or address)."""
    if isinstance(f, DerivedField) and f.encoder is not None:
        encoder: Callable[[Any], str] = f.encoder
        return encoder
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
class ChildPlan:
    key: str
    table: Table
    lookup_field: str
    predicate: Predicate | None
    order: list[tuple[Getter, bool, bool]]
    limit: int | None
    offset: int | None
    shape: Shape
    include_deleted: bool
    pager: ChildPager | None = None

    def encode(self, parent_id: str) -> str:
        """The nested QueryResult of a parent's children, or ``null`` when there are none.

        As on a real org, a parent with more than ``CHILD_BATCH`` children carries the
        first batch with ``done: false`` and a ``nextRecordsUrl`` served by queryMore.
        """
        rows = self.table.children_by_parent(self.lookup_field).get(parent_id[:15])
        if not rows:
            return "null"
        if not self.include_deleted:
            rows = [r for r in rows if not self.table.is_deleted(r)]
        elif self.table.purged:
            rows = [r for r in rows if r not in self.table.purged]
        if self.predicate is not None:
            predicate = self.predicate
            rows = [r for r in rows if predicate(r)]
        rows = window(sort_rows(rows, self.order), self.limit, self.offset)
        if not rows:
            return "null"
        total = len(rows)
        if total > CHILD_BATCH and self.pager is not None:
            next_url = self.pager(self.table, rows, self.shape)
            records = ",".join(self.shape.encode_rows(rows[:CHILD_BATCH]))
            return (
                f'{{"totalSize":{total},"done":false,'
                f'"nextRecordsUrl":{encode_basestring(next_url)},"records":[{records}]}}'
            )
        records = ",".join(self.shape.encode_rows(rows))
        return f'{{"totalSize":{total},"done":true,"records":[{records}]}}'


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
        name_table = getattr(row_getter, "name_table", None)
        nested_shape = NameShape(name_table) if name_table is not None else Shape(parent_table)
        self.items.append((path[0], 1, row_getter, nested_shape, None))
        nested_shape.add_path(path[1:], getters[1:], f)

    def add_children(self, plan: ChildPlan) -> None:
        self.items.append((plan.key, 2, None, plan, None))

    def bind(self, version: str, pager: ChildPager | None = None) -> None:
        """Fix the API version used in ``attributes.url``, the record template, and how
        child subqueries open cursors for the children beyond the first batch."""
        self.url_prefix = f"/services/data/v{version}/sobjects/{self.type_name}/"
        statics = ['{"attributes":{"type":' + encode_basestring(self.type_name) + ',"url":"']
        statics.append('"}')
        for key, kind, _, nested, encoder in self.items:
            statics[-1] += "," + encode_basestring(key) + ":"
            statics.append("")
            if kind == 0 and hasattr(encoder, "bind"):  # TYPEOF: records of several types
                encoder.bind(version, pager)
            if kind == 1:
                nested.bind(version, pager)
            elif kind == 2:
                nested.pager = pager
                nested.shape.bind(version, pager)
        statics[-1] += "}"
        self.template = "{}".join(_escape_braces(piece) for piece in statics)

    def record_urls(self, rows: list[int]) -> list[str]:
        ids = self.ids
        prefix = self.url_prefix
        return [prefix + ids[r] for r in rows]

    def encode_rows(self, rows: list[int]) -> list[str]:
        ids = self.ids
        columns: list[list[str]] = [self.record_urls(rows)]
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


class NameShape(Shape):
    """A What/Who record: ``attributes.type`` is ``Name``, the url names the real type."""

    def bind(self, version: str, pager: ChildPager | None = None) -> None:
        super().bind(version, pager)
        self.version_prefix = f"/services/data/v{version}/sobjects/"

    def record_urls(self, rows: list[int]) -> list[str]:
        types = self.table.columns["Type"]
        prefix = self.version_prefix
        return [f"{prefix}{types[r]}/{self.ids[r]}" for r in rows]
