"""Name resolution for SOQL: field paths against the schema, and fast row getters.

A resolved field becomes a getter (row number -> value) built from the table's column
lists; relationship hops (``Account.Owner.Name``) compose parent-row lookups by id.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from typing import Any, Protocol

from ._query_functions import CURRENCY_RATES, format_value
from ._schema import FieldDef, NameFieldDef, SObjectDef
from ._soql_parser import FieldRef, FunctionField, Query, SoqlError, TypeOf
from ._store import Store, Table

__all__ = [
    "CUSTOM_RELATIONSHIP_HINT",
    "DerivedField",
    "Getter",
    "MatchedRows",
    "Predicate",
    "QueryContext",
    "Resolved",
    "Scope",
    "check_offset",
    "column_getter",
    "lookup_sobject",
    "normalized",
    "normalizer",
    "parent_row_getter",
]

Getter = Callable[[int], Any]
Predicate = Callable[[int], bool]

CUSTOM_FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the "
    "custom field name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)
CUSTOM_RELATIONSHIP_HINT = (
    "If you are attempting to use a custom relationship, be sure to append the '__r' "
    "after the custom relationship name. Please reference your WSDL or the describe call "
    "for the appropriate names."
)
CUSTOM_OBJECT_HINT = (
    "If you are attempting to use a custom object, be sure to append the '__c' after the "
    "entity name. Please reference your WSDL or the describe call for the appropriate names."
)
MAX_OFFSET = 2000


def invalid_type(name: str, offset: int | None) -> SoqlError:
    return SoqlError(
        "INVALID_TYPE", f"sObject type '{name}' is not supported. {CUSTOM_OBJECT_HINT}", offset
    )


@dataclasses.dataclass(frozen=True)
class DerivedField(FieldDef):
    """A selected value computed from a stored field (toLabel, FORMAT, convertCurrency, TYPEOF).

    It stands where the stored field would (``type`` is the type of its values), so record
    queries shape, encode and filter it like any field; ``column_getter`` applies
    ``transform`` to the ``source`` column, or asks ``make_getter`` for the whole row.
    """

    source: FieldDef | None = None
    transform: Callable[[Any], Any] | None = None
    #: (table) -> row getter, for values that read more than one column.
    make_getter: Callable[[Table], Getter] | None = None
    #: A JSON encoder for the values (TYPEOF's nested records), bound to the API version.
    encoder: Any = None


@dataclasses.dataclass
class Resolved:
    """A field path resolved against a table: how to read it from a row of that table."""

    field: FieldDef
    path: list[str]  # canonical spelling, relationship names then the field name
    getter: Getter


class MatchedRows(Protocol):
    """What a nested record query (a semi-join) hands back: the rows of one table.

    `_query.RecordsResult` is one; naming only what a semi-join reads keeps this module
    below `_query` (which builds on it) instead of importing it back.
    """

    @property
    def table(self) -> Table: ...

    @property
    def rows(self) -> list[int]: ...


class QueryContext:
    """What a query runs against: the store, queryAll or not, and "today" for TODAY."""

    def __init__(
        self,
        store: Store,
        include_deleted: bool,
        today: datetime.date,
        run_records: Callable[[QueryContext, Query], MatchedRows],
        resolve_typeof: Callable[[Scope, TypeOf], Resolved] | None = None,
    ) -> None:
        self.store = store
        self.include_deleted = include_deleted
        self.today = today
        #: Runs a nested record query (semi-joins); `_query` passes its own runner in.
        self.run_records = run_records
        #: Resolves ``TYPEOF`` (which builds record shapes, and `_query_shape` builds on
        #: this module): `_query` passes `_query_typeof.resolve_typeof` in.
        self.resolve_typeof = resolve_typeof


def polymorphic_parent(parent: Table, reference: FieldDef) -> Table:
    """The table a hop over ``reference`` lands in: the Name view for What/Who lookups."""
    if reference.polymorphic and parent.owner is not None:
        return parent.owner.name_table()
    return parent


def parent_row_getter(table: Table, reference: FieldDef, parent: Table) -> Getter:
    refs = table.columns[reference.name]
    parent = polymorphic_parent(parent, reference)
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

    if parent.sobject.name == "Name":
        # Shape.add_path reads this to write What/Who records from the Name view.
        parent_row.name_table = parent  # type: ignore[attr-defined]
    return parent_row


def column_getter(table: Table, f: FieldDef) -> Getter:
    if isinstance(f, NameFieldDef) and table.sobject.name != "Name" and table.owner is not None:
        table = table.owner.name_table()  # reached through What/Who: the Name view's column
    if isinstance(f, DerivedField):
        if f.make_getter is not None:
            return f.make_getter(table)
        assert f.source is not None
        assert f.transform is not None
        stored = column_getter(table, f.source)
        transform = f.transform

        def derived(row: int) -> Any:
            return transform(stored(row))

        return derived
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


def compose(first: Getter, then: Getter) -> Getter:
    def composed(row: int) -> Any:
        next_row = first(row)
        return None if next_row is None else then(next_row)

    return composed


class Scope:
    """Name resolution for one FROM object (and its alias)."""

    def __init__(self, ctx: QueryContext, sobject: SObjectDef, alias: str | None) -> None:
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
        if isinstance(ref, TypeOf):
            if self.ctx.resolve_typeof is None:
                raise SoqlError("MALFORMED_QUERY", "TYPEOF is not supported here", ref.offset)
            return self.ctx.resolve_typeof(self, ref)
        if isinstance(ref, FunctionField):
            plain = self.resolve(FieldRef(ref.path, ref.offset))
            derived = derive_function(self.ctx, plain.field, ref)
            path = plain.path if ref.alias is None else [*plain.path[:-1], ref.alias]
            getter = column_getter(self.final_table(ref), derived)
            if len(plain.path) > 1:
                getter = compose(self.hops_getter(ref), getter)
            return Resolved(derived, path, getter)
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
                    + CUSTOM_RELATIONSHIP_HINT,
                    ref.offset,
                )
            parent = polymorphic_parent(
                self.ctx.store.tables[reference.reference_to[0].lower()], reference
            )
            step = parent_row_getter(table, reference, parent)
            row_getter = step if row_getter is None else compose(row_getter, step)
            canonical.append(reference.relationship_name or segment)
            table = parent
            sobject = parent.sobject
        f = sobject.field(path[-1])
        if f is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{path[-1]}' on entity '{sobject.name}'. {CUSTOM_FIELD_HINT}",
                ref.offset,
            )
        canonical.append(f.name)
        getter = column_getter(table, f)
        if row_getter is not None:
            getter = compose(row_getter, getter)
        return Resolved(f, canonical, getter)

    def hops(self, ref: FieldRef) -> list[tuple[Getter, Table]]:
        """Per relationship hop of ``ref``: (parent-row getter, parent table)."""
        steps: list[tuple[Getter, Table]] = []
        table = self.table
        for segment in self.strip_prefix(ref.path)[:-1]:
            reference = table.sobject.reference_by_relationship(segment)
            if reference is None:
                raise SoqlError(
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{segment}' in field path. "
                    + CUSTOM_RELATIONSHIP_HINT,
                    ref.offset,
                )
            parent = polymorphic_parent(
                self.ctx.store.tables[reference.reference_to[0].lower()], reference
            )
            steps.append((parent_row_getter(table, reference, parent), parent))
            table = parent
        return steps

    def final_table(self, ref: FieldRef) -> Table:
        steps = self.hops(ref)
        return steps[-1][1] if steps else self.table

    def hops_getter(self, ref: FieldRef) -> Getter:
        getter: Getter | None = None
        for step, _ in self.hops(ref):
            getter = step if getter is None else compose(getter, step)
        assert getter is not None
        return getter

    def path_steps(self, ref: FieldRef, resolved: Resolved) -> list[Any]:
        """What ``Shape.add_path`` takes: the hops, then the field's getter on its table."""
        steps: list[Any] = list(self.hops(ref))
        steps.append(column_getter(self.final_table(ref), resolved.field))
        return steps


def derive_function(ctx: QueryContext, f: FieldDef, ref: FunctionField) -> DerivedField:
    """The field toLabel(f), FORMAT(f), convertCurrency(f) or FORMAT(convertCurrency(f)) reads."""
    function = ref.function
    if function == "CONVERTCURRENCY" or ref.inner is not None:
        if not ctx.store.multi_currency:
            raise SoqlError(
                "INVALID_FIELD",
                "convertCurrency can only be used on currency fields in a multi-currency "
                "organization: " + f.name,
                ref.offset,
            )
        if f.type != "currency":
            raise SoqlError(
                "INVALID_FIELD",
                f"convertCurrency can only be used on currency fields: {f.name}",
                ref.offset,
            )
    if function == "TOLABEL":
        if f.type not in ("picklist", "multipicklist", "combobox") and f.name != "CurrencyIsoCode":
            raise SoqlError(
                "INVALID_FIELD",
                f"toLabel can only be used on picklist fields: {f.name}",
                ref.offset,
            )
        return DerivedField(
            f.name, "string", f.label, length=f.length, source=f, transform=f.label_of
        )
    converting = function == "CONVERTCURRENCY" or ref.inner is not None
    formatting = function == "FORMAT"
    if formatting and f.type not in ("currency", "double", "int", "percent", "date", "datetime"):
        formatting = False  # FORMAT() of other types answers the value as it is
    out_type = "string" if formatting else f.type

    def make_getter(table: Table) -> Getter:
        values = table.columns[f.name]
        codes = table.columns.get("CurrencyIsoCode")

        def read(row: int) -> Any:
            value = values[row]
            if value is None:
                return None
            code = codes[row] if codes is not None else None
            if converting and code is not None:
                value = round(value / CURRENCY_RATES.get(code, 1.0), 2)
                code = "USD"
            if formatting:
                return format_value(f, value, code)
            return value

        return read

    return DerivedField(
        f.name, out_type, f.label, length=f.length, scale=f.scale, source=f, make_getter=make_getter
    )


def normalizer(f: FieldDef) -> Callable[[Any], Any]:
    if f.type in ("id", "reference"):
        return lambda v: None if v is None else v[:15]
    if f.is_text:
        return lambda v: None if v is None else v.casefold()
    return lambda v: v


def normalized(resolved: Resolved) -> Getter:
    """The field's comparable value: case-folded text, id15 ids, others as they are."""
    normalize = normalizer(resolved.field)
    raw = resolved.getter

    def getter(row: int) -> Any:
        return normalize(raw(row))

    return getter


def check_offset(query: Query) -> None:
    if query.offset is not None and query.offset > MAX_OFFSET:
        raise SoqlError(
            "NUMBER_OUTSIDE_VALID_RANGE",
            f"Maximum SOQL offset allowed is {MAX_OFFSET}",
            query.offset_position,
        )


def lookup_sobject(ctx: QueryContext, query: Query) -> SObjectDef:
    sobject = ctx.store.schema.get(query.sobject)
    if sobject is None:
        raise invalid_type(query.sobject, query.sobject_offset)
    return sobject
