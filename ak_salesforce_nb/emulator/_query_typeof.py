"""``TYPEOF``: the fields of a polymorphic relationship's record, chosen by its type.

``SELECT TYPEOF What WHEN Account THEN Name, Phone WHEN Opportunity THEN Amount ELSE Name
END FROM Task`` answers, per task, the What record with the fields of its WHEN branch (or
ELSE), under the relationship's name and with that record's own ``attributes``.
"""

from __future__ import annotations

from typing import Any

from ._query_scope import DerivedField, Resolved, Scope, column_getter
from ._query_shape import ChildPager, Shape
from ._soql_parser import FieldRef, SoqlError, TypeOf
from ._store import Store

__all__ = ["TypeOfEncoder", "resolve_typeof"]


class TypeOfEncoder:
    """Writes the JSON of the record an id points at, with its type's selected fields."""

    def __init__(self, store: Store, shapes: dict[str, Shape]) -> None:
        self.store = store
        self.shapes = shapes

    def bind(self, version: str, pager: ChildPager | None = None) -> None:
        for shape in self.shapes.values():
            shape.bind(version, pager)

    def __call__(self, value: Any) -> str:
        if value is None:
            return "null"
        table = self.store.table_for_id(value)
        if table is None:
            return "null"
        shape = self.shapes.get(table.sobject.name)
        row = table.row_of(value)
        if shape is None or row is None or table.is_deleted(row):
            return "null"
        return shape.encode_rows([row])[0]


def _shape(scope: Scope, sobject_name: str, fields: list[FieldRef], shown_as: str) -> Shape:
    sobject = scope.ctx.store.schema.get(sobject_name)
    assert sobject is not None
    inner = Scope(scope.ctx, sobject, None)
    shape = Shape(inner.table)
    seen: set[str] = set()
    for ref in fields:
        name_field = sobject.name_field
        if (
            shown_as == "Name"
            and len(ref.path) == 1
            and ref.path[0].lower() == "name"
            and sobject.field("Name") is None
            and name_field is not None
        ):
            # The Name entity's Name is each type's name field (a Case's CaseNumber).
            shape.add_path(["Name"], [column_getter(inner.table, name_field)], name_field)
            continue
        if len(ref.path) == 1 and sobject.field(ref.path[0]) is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{ref.path[0]}' on entity '{shown_as}'. If you are attempting "
                "to use a custom field, be sure to append the '__c' after the custom field name. "
                "Please reference your WSDL or the describe call for the appropriate names.",
                ref.offset,
            )
        resolved = inner.resolve(ref)
        dotted = ".".join(resolved.path).lower()
        if dotted in seen:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"duplicate field selected: {'.'.join(resolved.path)}",
                ref.offset,
            )
        seen.add(dotted)
        shape.add_path(resolved.path, inner.path_steps(ref, resolved), resolved.field)
    return shape


def resolve_typeof(scope: Scope, ref: TypeOf) -> Resolved:
    """A TYPEOF select item as a field whose JSON is the referenced record's."""
    path = scope.strip_prefix(ref.path)
    reference = scope.sobject.reference_by_relationship(path[0]) if len(path) == 1 else None
    if reference is None or reference.relationship_name is None:
        raise SoqlError(
            "INVALID_FIELD",
            f"Didn't understand relationship '{ref.text}' in field path. TYPEOF takes the "
            "name of a polymorphic relationship, such as What or Who.",
            ref.offset,
        )
    targets = {t.lower(): t for t in reference.reference_to}
    shapes: dict[str, Shape] = {}
    for type_name, offset, fields in ref.whens:
        target = targets.get(type_name.lower())
        if target is None:
            raise SoqlError(
                "INVALID_TYPE",
                f"Invalid sObject type '{type_name}' in TYPEOF for '{reference.relationship_name}'",
                offset,
            )
        if target in shapes:
            raise SoqlError("MALFORMED_QUERY", f"duplicate WHEN type: {type_name}", offset)
        shapes[target] = _shape(scope, target, fields, target)
    if ref.otherwise:
        for target in reference.reference_to:
            if target not in shapes:
                shapes[target] = _shape(scope, target, ref.otherwise, "Name")
    encoder = TypeOfEncoder(scope.ctx.store, shapes)
    derived = DerivedField(
        reference.relationship_name,
        "reference",
        reference.label,
        length=18,
        source=reference,
        transform=lambda value: value,
        encoder=encoder,
    )
    return Resolved(derived, [reference.relationship_name], column_getter(scope.table, derived))
