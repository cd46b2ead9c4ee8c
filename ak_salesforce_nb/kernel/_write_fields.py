"""Which field each column of a write is, from describe: the write's plan.

A column is a field of the object (any case: ``industry`` is ``Industry``) or a parent
named by one of its external ids (``Account.External_Id__c``: the Contact's AccountId is
the Account whose External_Id__c is that value). Columns are sent under the canonical
names describe gives.

What describe says cannot work is a `Problem` for every row: a column that is no field
(``INVALID_FIELD``), a field that cannot be written by this operation
(``INVALID_FIELD_FOR_INSERT_UPDATE``), a required field without a column on insert
(``REQUIRED_FIELD_MISSING``). A real write refuses to start over them (nothing could
succeed); a dry run reports them per row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from ._write_values import Converter, converter_for

__all__ = [
    "KEYED_OPERATIONS",
    "FieldColumn",
    "Operation",
    "Plan",
    "Problem",
    "plan_write",
]

Operation = Literal["insert", "update", "upsert", "delete", "hardDelete"]
#: Operations whose rows name their record by Id.
KEYED_OPERATIONS = frozenset({"update", "delete", "hardDelete"})
_DELETES = frozenset({"delete", "hardDelete"})


@dataclasses.dataclass(frozen=True)
class Problem:
    """What Salesforce would answer for every row: its error code, message and fields."""

    code: str
    message: str
    fields: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class FieldColumn:
    """One column of the input and the field it writes."""

    column: str
    name: str
    field: Mapping[str, Any] | None
    converter: Converter
    #: For a relationship column: the lookup field (AccountId) and the parent object.
    reference: Mapping[str, Any] | None = None
    target: str | None = None

    @property
    def relationship(self) -> str | None:
        return self.name.split(".", 1)[0] if self.reference is not None else None


@dataclasses.dataclass
class Plan:
    """The columns of a write, what is wrong with them, and the key column."""

    sobject: str
    operation: Operation
    columns: list[FieldColumn]
    problems: list[Problem]
    #: The column naming each row's record: Id (update, delete), the external id
    #: (upsert), None (insert).
    key: str | None
    #: Non-nillable fields among the columns (a null there is REQUIRED_FIELD_MISSING).
    required_columns: list[FieldColumn] = dataclasses.field(default_factory=list)


def _by_name(describe: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(f["name"]).lower(): f for f in describe.get("fields", [])}


def _by_relationship(describe: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        str(f["relationshipName"]).lower(): f
        for f in describe.get("fields", [])
        if f.get("relationshipName") and f.get("referenceTo")
    }


def _writable(field: Mapping[str, Any], operation: Operation) -> bool:
    if operation == "insert":
        return bool(field.get("createable"))
    if operation == "update":
        return bool(field.get("updateable"))
    # An upsert creates or updates: a field either can do is accepted (Salesforce
    # reports the rows where it cannot).
    return bool(field.get("createable") or field.get("updateable"))


def _is_key_field(field: Mapping[str, Any]) -> bool:
    return bool(field.get("externalId") or field.get("idLookup") or field.get("type") == "id")


def _required_on_create(field: Mapping[str, Any]) -> bool:
    return (
        bool(field.get("createable"))
        and not field.get("nillable", True)
        and not field.get("defaultedOnCreate")
    )


def _key_column(
    sobject: str,
    operation: Operation,
    columns: Sequence[str],
    fields: Mapping[str, Mapping[str, Any]],
    external_id: str | None,
) -> str | None:
    """The key column's name as the input spells it; ValueError if there is none."""
    lowered = {c.lower(): c for c in columns}
    if operation in KEYED_OPERATIONS:
        if "id" not in lowered:
            what = "ids" if operation in _DELETES else "an Id column naming each record"
            raise ValueError(
                f"{operation} of {sobject} needs {what}; the columns are {list(columns)}."
            )
        return lowered["id"]
    if operation == "upsert":
        if not external_id:
            raise ValueError(
                f"upsert of {sobject} needs external_id=: the field that matches rows to "
                "records (an External ID field, or Id)."
            )
        field = fields.get(external_id.lower())
        if field is None or not _is_key_field(field):
            raise ValueError(
                f"{external_id!r} is not an External ID field of {sobject}, so upsert cannot "
                "match rows by it."
            )
        if external_id.lower() not in lowered:
            raise ValueError(
                f"upsert by {external_id} needs a column {external_id!r}; the columns are "
                f"{list(columns)}."
            )
        return lowered[external_id.lower()]
    return None


def _relationship_column(
    column: str,
    relationships: Mapping[str, Mapping[str, Any]],
    describe_of: Callable[[str], Mapping[str, Any]],
) -> FieldColumn | Problem:
    relationship, _, target_field = column.partition(".")
    reference = relationships.get(relationship.lower())
    if reference is None or "." in target_field:
        return Problem("INVALID_FIELD", f"No such column '{column}'.", (column,))
    target = str(reference["referenceTo"][0])
    parent = _by_name(describe_of(target)).get(target_field.lower())
    if parent is None or not _is_key_field(parent):
        return Problem(
            "INVALID_FIELD",
            f"{column}: {target} has no External ID field {target_field!r} to find the parent by.",
            (column,),
        )
    name = f"{reference['relationshipName']}.{parent['name']}"
    return FieldColumn(column, name, parent, converter_for(parent), reference, target)


def plan_write(
    sobject: str,
    operation: Operation,
    columns: Sequence[str],
    describe: Mapping[str, Any],
    *,
    external_id: str | None = None,
    describe_of: Callable[[str], Mapping[str, Any]],
) -> Plan:
    """The plan of writing `columns` to `sobject` (see the module docstring)."""
    fields = _by_name(describe)
    relationships = _by_relationship(describe)
    key = _key_column(sobject, operation, columns, fields, external_id)
    if operation in _DELETES:
        assert key is not None
        field = fields.get("id")
        return Plan(
            sobject, operation, [FieldColumn(key, "Id", field, converter_for(field))], [], key
        )
    planned: list[FieldColumn] = []
    problems: list[Problem] = []
    read_only: list[str] = []
    for column in columns:
        field = fields.get(column.lower())
        if field is None and "." in column:
            found = _relationship_column(column, relationships, describe_of)
            if isinstance(found, Problem):
                problems.append(found)
                continue
            if not _writable(found.reference or {}, operation):
                read_only.append(column)
            planned.append(found)
            continue
        if field is None:
            problems.append(
                Problem(
                    "INVALID_FIELD",
                    f"No such column '{column}' on sobject of type {sobject}",
                    (column,),
                )
            )
            continue
        is_id = str(field["name"]) == "Id"
        if not (is_id and operation in ("update", "upsert")) and not _writable(field, operation):
            read_only.append(str(field["name"]))
        planned.append(FieldColumn(column, str(field["name"]), field, converter_for(field)))
    if read_only:
        verb = {"insert": "create", "update": "update"}.get(operation, "create or update")
        problems.append(
            Problem(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to {verb} fields: {', '.join(read_only)}. They are read-only on "
                f"{sobject} for {operation}; drop those columns.",
                tuple(read_only),
            )
        )
    if operation == "insert":
        present = {c.name.lower() for c in planned} | {
            str(c.reference["name"]).lower() for c in planned if c.reference is not None
        }
        missing = [
            str(f["name"])
            for f in describe.get("fields", [])
            if _required_on_create(f) and str(f["name"]).lower() not in present
        ]
        if missing:
            problems.append(
                Problem(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    tuple(missing),
                )
            )
    required = [
        c
        for c in planned
        if c.field is not None
        and c.reference is None
        and not c.field.get("nillable", True)
        and c.name != "Id"
        and (c.field.get("createable") or c.field.get("updateable"))
        and c.field.get("type") != "boolean"
    ]
    return Plan(sobject, operation, planned, problems, key, required)
