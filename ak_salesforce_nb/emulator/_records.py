"""Record writes and reads with Salesforce's validation errors (unknown or read-only
fields, required fields, bad ids, restricted picklists, duplicates, a validation rule...).

One service for every API that writes: sObject Rows, sObject Collections and Bulk API 2.0
ingest all create, update, upsert and delete through it, so a record is checked the same
way whichever door it came through. Each write either raises ApiError having changed
nothing, or completes; all-or-none across records is the caller's transaction.
``create_many`` creates many records with the outcome each would have had alone,
checking them one by one but inserting the ones that pass in one batch;
``create_columns`` (Bulk API ingest) does the same for bodies given as columns,
checking them column by column (the same outcomes, a fraction of the CPU).

Values come in JSON form (``coerce_input``) or, for Bulk API CSV, as text converted by
the caller's ``coerce`` function; a JSON value of the wrong type raises BodyError
(Salesforce cannot deserialize the request), a CSV text of the wrong type fails its row.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any

from ._config import EmulatorConfig
from ._errors import ApiError, BodyError, not_found
from ._faults import FaultPlan, unable_to_lock_row
from ._ids import to15
from ._schema import STAGES, FieldDef
from ._store import Store, Table
from ._values import CoercionError, coerce_input, now_datetime

#: Converts an input value for a field to its stored form (raises to refuse it).
Coerce = Callable[[FieldDef, Any], Any]
#: A batch's bodies' key sets -> (key, field) of each key that names a field, once the
#: keys passed the unknown/read-only checks (those depend on the keys alone).
Plans = dict[tuple[str, ...], list[tuple[str, FieldDef]]]
#: Unique/external-id field -> folded value -> position among a batch's rows still to
#: be inserted (``create_many``): duplicates are checked against those rows too.
Pending = dict[str, dict[str, int]]
#: Converts a column of input values (none null): (stored values, position -> error),
#: exactly as the per-value ``Coerce`` would (``coerce_csv_column`` for Bulk API CSV).
CoerceColumn = Callable[[FieldDef, list[Any]], tuple[list[Any], dict[int, ApiError]]]


class _Absent:
    """The type of ``ABSENT``."""

    def __repr__(self) -> str:
        return "ABSENT"


#: In a column given to ``create_columns``: the body leaves the field out (a Bulk API CSV
#: row's empty field), where None sets it to null.
ABSENT: Any = _Absent()

__all__ = [
    "ABSENT",
    "ID_LOOKUP_FIELDS",
    "CoerceColumn",
    "Plans",
    "RecordService",
    "check_upsert_key",
    "is_id_lookup",
]

#: Standard fields that describe marks ``idLookup`` besides ids and external ids (describe
#: reads ``is_id_lookup`` too): a parent can be named by them in a relationship (Bulk API
#: ``ReportsTo.Email`` / ``Owner.Username`` columns, JSON ``{"Owner": {"Username": ...}}``).
ID_LOOKUP_FIELDS = frozenset({"Email", "Username"})


def check_upsert_key(f: FieldDef, key: str, duplicates: set[str]) -> None:
    """A Bulk upsert row's key (either Bulk API): MISSING_ARGUMENT when it is empty (an
    upsert on Id may leave it empty: a plain insert), DUPLICATE_VALUE when it is one of
    the batch's repeated keys (``duplicates``, casefolded), whose rows all fail."""
    if not key and f.type != "id":
        raise ApiError(400, "MISSING_ARGUMENT", f"{f.name} not specified", [f.name])
    if key.casefold() in duplicates:
        raise ApiError(400, "DUPLICATE_VALUE", f"Duplicate external id specified: {key}", [f.name])


def is_id_lookup(f: FieldDef) -> bool:
    """Whether a field can name a parent record by value (Salesforce: "an indexed field":
    the Id, an external id, or a standard field whose ``idLookup`` is true)."""
    return f.type == "id" or f.external_id or f.name in ID_LOOKUP_FIELDS


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_STAGE_PROBABILITY = dict(STAGES)
#: Objects whose new records get fields computed from others (``_derive``): a batch of
#: them is created body by body. Keep it in step with ``_derive``: an object given a rule
#: there must be named here, or ``create_columns`` would skip the rule.
_DERIVING = frozenset({"Contact", "User", "Lead", "Opportunity", "Case", "Task"})
_CUSTOM_FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the "
    "custom field name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)


def no_such_column(name: str, sobject: str) -> ApiError:
    return ApiError(
        400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'. {_CUSTOM_FIELD_HINT}"
    )


def _external_id_missing(segment: str) -> ApiError:
    return not_found(f"Provided external ID field does not exist or is not accessible: {segment}")


def _duplicate_value(field_name: str, other_id: str) -> ApiError:
    return ApiError(
        400,
        "DUPLICATE_VALUE",
        f"duplicate value found: {field_name} duplicates value on record with id: {other_id}",
        [],
    )


def _rule_failed(name_field: FieldDef, prefix: str) -> ApiError:
    """The org's validation rule (``validation_rule_prefix``) refusing a record's name."""
    return ApiError(
        400,
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        f"{name_field.label} must not start with '{prefix}' (validation rule Reject_Test_Names).",
        [],
    )


def _json_value(f: FieldDef, value: Any) -> Any:
    try:
        return coerce_input(f, value)
    except CoercionError as error:
        raise BodyError(400, "JSON_PARSER_ERROR", str(error)) from None


class RecordService:
    """Record operations on the store, for every API that reads or writes records.

    ``config`` supplies the org's validation rule (``validation_rule_prefix``, read at
    each write so a test may change it) and ``faults`` the armed row locks.
    """

    def __init__(
        self,
        store: Store,
        config: EmulatorConfig | None = None,
        faults: FaultPlan | None = None,
    ) -> None:
        self.store = store
        self.config = config or EmulatorConfig()
        self.faults = faults or FaultPlan()

    # -- lookups

    def table(self, sobject_name: str) -> Table:
        table = self.store.table(sobject_name)
        if table is None:
            raise not_found()
        return table

    def locate(self, table: Table, segment: str, allow_deleted: bool = False) -> int:
        """The row for an id in a URL, with Salesforce's errors for bad or unknown ids."""
        id15 = to15(segment)
        if id15 is None:
            raise _external_id_missing(segment)
        if not id15.startswith(table.sobject.key_prefix):
            raise ApiError(
                400,
                "MALFORMED_ID",
                f"{table.sobject.label} ID: id value of incorrect type: {segment}",
            )
        row = table.index.get(id15)
        if row is None:
            raise not_found()
        if table.is_deleted(row) and not allow_deleted:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
        return row

    def locate_live(self, table: Table | None, value: Any) -> tuple[Table, int]:
        """The live row of a record id given with a record to update or delete (sObject
        Collections, Bulk API), with the per-record errors of a bad, unknown or deleted
        one; ``table`` None accepts an id of any object."""
        text = value if isinstance(value, str) else str(value)
        id15 = to15(text)
        if id15 is None:
            raise ApiError(400, "MALFORMED_ID", f"malformed id {text}", [])
        owner = self.store.table_for_id(id15)
        if owner is None or (table is not None and owner is not table):
            expected = table or owner
            label = "Record" if expected is None else expected.sobject.label
            raise ApiError(
                400, "MALFORMED_ID", f"{label} ID: id value of incorrect type: {text}", ["Id"]
            )
        row = owner.index.get(id15)
        if row is None:
            raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
        if owner.is_deleted(row):
            raise ApiError(400, "ENTITY_IS_DELETED", "entity is deleted", [])
        return owner, row

    def known_id(self, table: Table | None, value: Any) -> str | None:
        """The 18-character id of the record (live or deleted) a value names, if any."""
        id15 = to15(value) if isinstance(value, str) else None
        owner = None if id15 is None else self.store.table_for_id(id15)
        if owner is None or id15 is None or (table is not None and owner is not table):
            return None
        row = owner.index.get(id15)
        return None if row is None else str(owner.columns["Id"][row])

    def external_field(self, table: Table, field_name: str) -> FieldDef:
        f = table.sobject.field(field_name)
        if f is None or not (f.external_id or f.type == "id"):
            raise _external_id_missing(field_name)
        return f

    def find_lookup(self, table: Table, f: FieldDef, value: str) -> int | None:
        """The live row an id lookup field's value names (case-insensitive), for a
        relationship by value: an id or unique field through its index, another idLookup
        field (Email) by a scan, failing with DUPLICATE_EXTERNAL_ID when several match."""
        if f.type == "id" or f.name in table.unique_indexes:
            return self.find_external(table, f, value)
        wanted = value.casefold()
        column = table.columns[f.name]
        rows = [
            row
            for row, stored in enumerate(column)
            if isinstance(stored, str) and stored.casefold() == wanted and not table.is_deleted(row)
        ]
        if len(rows) > 1:
            ids = ", ".join(str(table.columns["Id"][row]) for row in rows)
            raise ApiError(
                400,
                "DUPLICATE_EXTERNAL_ID",
                f"{f.label}: more than one record found for external id field: [{ids}]",
                [],
            )
        return rows[0] if rows else None

    def find_external(self, table: Table, f: FieldDef, value: str) -> int | None:
        if f.type == "id":
            id15 = to15(value)
            row = None if id15 is None else table.index.get(id15)
            return None if row is None or table.is_deleted(row) else row
        return table.find_unique(f.name, value)

    # -- reading

    def record(
        self, table: Table, row: int, version: str, fields_param: str | None = None
    ) -> dict[str, Any]:
        sobject = table.sobject
        if fields_param:
            selected: list[FieldDef] = []
            for name in fields_param.split(","):
                f = sobject.field(name.strip())
                if f is None:
                    raise no_such_column(name.strip(), sobject.name)
                selected.append(f)
        else:
            selected = list(sobject.fields)
        record_id = table.columns["Id"][row]
        record: dict[str, Any] = {
            "attributes": {
                "type": sobject.name,
                "url": f"/services/data/v{version}/sobjects/{sobject.name}/{record_id}",
            }
        }
        for f in selected:
            record[f.name] = self._value(table, row, f)
        return record

    @staticmethod
    def _value(table: Table, row: int, f: FieldDef) -> Any:
        if f.type != "address":
            return table.columns[f.name][row]
        parts = {key: table.columns[name][row] for key, name in f.components}
        if all(v is None for v in parts.values()):
            return None
        return {
            "city": parts["city"],
            "country": parts["country"],
            "geocodeAccuracy": None,
            "latitude": None,
            "longitude": None,
            "postalCode": parts["postalCode"],
            "state": parts["state"],
            "street": parts["street"],
        }

    def recent_items(self, table: Table, version: str) -> list[dict[str, Any]]:
        name_field = table.sobject.name_field
        items: list[dict[str, Any]] = []
        for row in reversed(table.recent):
            if table.is_deleted(row):
                continue
            record_id = table.columns["Id"][row]
            item: dict[str, Any] = {
                "attributes": {
                    "type": table.sobject.name,
                    "url": f"/services/data/v{version}/sobjects/{table.sobject.name}/{record_id}",
                },
                "Id": record_id,
            }
            if name_field is not None:
                item[name_field.name] = table.columns[name_field.name][row]
            items.append(item)
            if len(items) == 10:
                break
        return items

    # -- writing

    def _check_body(self, body: Any) -> dict[str, Any]:
        if isinstance(body, list):
            raise BodyError(
                400,
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of SObject from START_ARRAY value [ or request may "
                "be missing a required field",
            )
        if not isinstance(body, dict):
            raise BodyError(
                400,
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of SObject or request may be missing a required field",
            )
        return body

    def _values(
        self,
        table: Table,
        body: dict[str, Any],
        creating: bool,
        row: int | None = None,
        coerce: Coerce = _json_value,
        pending: Pending | None = None,
        plans: Plans | None = None,
    ) -> dict[str, Any]:
        """Validated, stored-form values from a request body (``plans``: the key sets
        of a batch's bodies already resolved, which skips resolving them again)."""
        keys = tuple(body) if plans is not None else ()
        plan = None if plans is None else plans.get(keys)
        if plan is not None:
            return self._checked_values(
                table, [(f, body[key]) for key, f in plan], creating, row, coerce, pending
            )
        sobject = table.sobject
        resolved: list[tuple[FieldDef, Any]] = []
        direct: list[tuple[str, FieldDef]] | None = []
        for key, value in body.items():
            if key == "attributes":
                continue
            f = sobject.field(key)
            if f is None and isinstance(value, dict):
                reference = sobject.reference_by_relationship(key)
                if reference is not None:
                    resolved.append((reference, self._foreign_key(reference, value)))
                    direct = None  # the foreign key depends on the value: not a plan
                    continue
            if f is None:
                raise BodyError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{key}' on sobject of type {sobject.name}",
                )
            resolved.append((f, value))
            if direct is not None:
                direct.append((key, f))
        read_only = [
            f.name
            for f, _ in resolved
            if (creating and not f.createable) or (not creating and not f.updateable)
        ]
        if read_only:
            raise ApiError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the "
                "security settings of this field and verify that it is read/write for your "
                "profile or permission set.",
                read_only,
            )
        if plans is not None and direct is not None:
            plans[keys] = direct
        return self._checked_values(table, resolved, creating, row, coerce, pending)

    def _checked_values(
        self,
        table: Table,
        resolved: list[tuple[FieldDef, Any]],
        creating: bool,
        row: int | None,
        coerce: Coerce,
        pending: Pending | None,
    ) -> dict[str, Any]:
        """The stored form of resolved (field, value) pairs, each value checked."""
        sobject = table.sobject
        values: dict[str, Any] = {}
        for f, raw in resolved:
            value = coerce(f, raw)
            if value is not None:
                self._validate(table, f, value, row, pending)
                if f.type == "reference":
                    value = self._reference(f, value)
            values[f.name] = value
        missing = [
            f.name
            for f in sobject.required_fields
            if (values.get(f.name) is None if creating or f.name in values else False)
        ]
        if missing:
            raise _required_missing(missing)
        return values

    def _foreign_key(self, reference: FieldDef, value: dict[str, Any]) -> str | None:
        parent = self.store.table(reference.reference_to[0])
        assert parent is not None
        keys = [k for k in value if k != "attributes"]
        if len(keys) != 1:
            raise ApiError(
                400, "INVALID_FIELD", "Foreign key reference needs one external id field"
            )
        f = parent.sobject.field(keys[0])
        if f is None or not is_id_lookup(f):
            raise ApiError(
                400,
                "INVALID_FIELD",
                f"Field name provided, {keys[0]} is not an External ID or indexed field for "
                f"{parent.sobject.name}",
            )
        row = self.find_lookup(parent, f, str(value[keys[0]]))
        if row is None:
            raise ApiError(
                400,
                "INVALID_FIELD",
                f"Foreign key external ID: {value[keys[0]]} not found for field {f.name} in "
                f"entity {parent.sobject.name}",
            )
        parent_id: str = parent.columns["Id"][row]
        return parent_id

    def _validate(
        self, table: Table, f: FieldDef, value: Any, row: int | None, pending: Pending | None = None
    ) -> None:
        too_long = isinstance(value, str) and f.length and len(value) > f.length
        if too_long and f.type not in ("id", "reference"):
            raise ApiError(
                400,
                "STRING_TOO_LONG",
                f"{f.label}: data value too large: {value[:255]} (max length={f.length})",
                [f.name],
            )
        if f.type == "email" and not _EMAIL.match(value):
            raise ApiError(
                400, "INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}", [f.name]
            )
        limit = _numeric_limit(f)
        if limit is not None and _is_number(value) and abs(value) >= limit:
            raise _out_of_range(f, value)
        if f.restricted:
            chosen = value.split(";") if f.type == "multipicklist" else [value]
            allowed = set(f.picklist)
            for item in chosen:
                if item not in allowed:
                    raise ApiError(
                        400,
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f"{f.label}: bad value for restricted picklist field: {item}",
                        [f.name],
                    )
        if f.unique or f.external_id:
            other = table.find_unique(f.name, str(value))
            other_id = None
            if other is not None and other != row:
                other_id = table.columns["Id"][other]
            elif other is None and pending:
                # A row earlier in the same batch, not inserted yet: the id it will get.
                position = pending[f.name].get(str(value).casefold())
                if position is not None:
                    other_id = table.allocator.peek(position)
            if other_id is not None:
                raise _duplicate_value(f.name, other_id)

    def _reference(self, f: FieldDef, value: str) -> str:
        id15 = to15(value)
        target = self.store.table(f.reference_to[0])
        if f.polymorphic and id15 is not None:
            # WhatId/WhoId take an id of any of their types: the key prefix says which.
            by_prefix = self.store.table_for_id(id15)
            if by_prefix is not None and by_prefix.sobject.name in f.reference_to:
                target = by_prefix
        assert target is not None
        if id15 is None:
            raise ApiError(
                400, "MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name]
            )
        if not id15.startswith(target.sobject.key_prefix):
            # A real id of another object in a lookup: Salesforce's integrity check.
            raise ApiError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                f"{f.label}: id value of incorrect type: {value}",
                [f.name],
            )
        parent_row = target.index.get(id15)
        if parent_row is None or target.is_deleted(parent_row):
            raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
        parent_id: str = target.columns["Id"][parent_row]
        return parent_id

    @staticmethod
    def _derive(table: Table, values: dict[str, Any], row: int | None) -> None:
        """Fields Salesforce computes: Contact/User/Lead Name, Opportunity IsClosed/IsWon,
        Case/Task IsClosed, CaseNumber, and the default value of picklists. (An object
        given a rule here goes into ``_DERIVING`` too; ``_new_columns`` mirrors the rest
        of ``_complete_new`` for a column-wise batch.)"""
        name = table.sobject.name

        def current(field_name: str) -> Any:
            if field_name in values:
                return values[field_name]
            return None if row is None else table.columns[field_name][row]

        if name in ("Contact", "User", "Lead") and ("FirstName" in values or "LastName" in values):
            parts = [current("FirstName"), current("LastName")]
            values["Name"] = " ".join(p for p in parts if p)
        if name == "Opportunity" and "StageName" in values:
            stage = values["StageName"]
            values["IsClosed"] = bool(stage) and stage.startswith("Closed")
            values["IsWon"] = stage == "Closed Won"
            if row is None and values.get("Probability") is None:
                values["Probability"] = float(_STAGE_PROBABILITY.get(stage, 0))
        if row is None:
            # Picklists with a default value (Lead.Status, Case.Priority...) start with it.
            for field_name, default in table.picklist_defaults:
                if values.get(field_name) is None:
                    values[field_name] = default
            if name == "Case":
                values["CaseNumber"] = f"{len(table) + 1:08d}"
        if name in ("Task", "Case") and "Status" in values:
            values["IsClosed"] = values["Status"] in ("Completed", "Closed")
        if name == "Case" and "Status" in values and row is not None:
            closed = values["Status"] == "Closed"
            values["ClosedDate"] = (
                (table.columns["ClosedDate"][row] or now_datetime()) if closed else None
            )

    def _check_rules(self, table: Table, values: dict[str, Any], row: int | None) -> None:
        """The org's validation rule: no record named with ``validation_rule_prefix``."""
        prefix = self.config.validation_rule_prefix
        name_field = table.sobject.name_field
        if not prefix or name_field is None:
            return
        if name_field.name in values:
            name = values[name_field.name]
        else:
            name = None if row is None else table.columns[name_field.name][row]
        if isinstance(name, str) and name.startswith(prefix):
            raise _rule_failed(name_field, prefix)

    def _check_lock(self, table: Table, row: int | None) -> None:
        if self.faults.take_row_lock():
            raise unable_to_lock_row(None if row is None else table.columns["Id"][row])

    @staticmethod
    def _not_createable(table: Table) -> ApiError:
        return ApiError(
            400,
            "INVALID_TYPE_FOR_OPERATION",
            f"entity type cannot be inserted: {table.sobject.name}",
        )

    def create(self, table: Table, body: Any, user_id: str, coerce: Coerce = _json_value) -> str:
        if not table.sobject.createable:
            raise self._not_createable(table)
        values = self._values(table, self._check_body(body), creating=True, coerce=coerce)
        self._complete_new(table, values, user_id, now_datetime())
        self._check_rules(table, values, None)
        self._check_lock(table, None)
        values["Id"] = record_id = table.allocator.allocate()
        table.insert(values)  # every key names a column (compound fields are read-only)
        return record_id

    def create_many(
        self,
        table: Table,
        bodies: Sequence[Any],
        user_id: str,
        coerce: Coerce = _json_value,
    ) -> list[str | ApiError]:
        """Create records in one batch: for each body, its new record's id or the ApiError
        that ``create`` would have raised for it, as if they were created one by one.

        Every body goes through the same checks as ``create``, in order (a duplicate of a
        row earlier in the batch fails, an armed row lock fails the next surviving rows),
        then the rows that passed are inserted together: ids allocated in one call (the
        ones single creates would have given), one timestamp, one bulk append. A body
        that names this object in a lookup (a parent account in the same batch) sees the
        rows before it inserted first, as one-by-one creates would.
        """
        if not table.sobject.createable:
            return [self._not_createable(table) for _ in bodies]
        outcomes: list[str | ApiError] = []
        batch: list[dict[str, Any]] = []
        slots: list[int] = []
        pending: Pending = {name: {} for name in table.unique_indexes}
        self_lookups = self._self_lookup_keys(table)
        # Whether a body's keys (a CSV job's bodies share a few key sets) name a lookup
        # of this object: a body naming one sees the batch's rows before it inserted.
        names_lookup: dict[tuple[str, ...], bool] = {}
        plans: Plans = {}
        now = now_datetime()
        for body in bodies:
            if batch and self_lookups and isinstance(body, dict):
                keys = tuple(body)
                found = names_lookup.get(keys)
                if found is None:
                    found = names_lookup[keys] = any(k.lower() in self_lookups for k in keys)
                if found:
                    self._insert_batch(table, batch, slots, outcomes)
                    pending = {name: {} for name in table.unique_indexes}
            try:
                values = self._values(
                    table,
                    self._check_body(body),
                    creating=True,
                    coerce=coerce,
                    pending=pending,
                    plans=plans,
                )
                self._complete_new(table, values, user_id, now, offset=len(batch))
                self._check_rules(table, values, None)
                self._check_lock(table, None)
            except ApiError as error:
                outcomes.append(error)
                continue
            for name, index in pending.items():
                value = values.get(name)
                if value is not None:
                    index[str(value).casefold()] = len(batch)
            slots.append(len(outcomes))
            outcomes.append("")  # the id, once allocated
            batch.append(values)
        self._insert_batch(table, batch, slots, outcomes)
        return outcomes

    def create_columns(
        self,
        table: Table,
        fields: Sequence[FieldDef],
        columns: Sequence[list[Any]],
        count: int,
        user_id: str,
        coerce: Coerce,
        coerce_column: CoerceColumn | None = None,
    ) -> list[str | ApiError]:
        """``create_many`` for ``count`` bodies given as columns: body ``i`` sets field
        ``fields[c]`` to ``columns[c][i]`` unless that is ``ABSENT``, in ``fields`` order.
        The outcomes, and the rows written, are the ones ``create_many`` gives.

        A Bulk API job's 100,000 rows cost their checks column by column: each column is
        converted in one pass (``coerce_column``), screened for values that may fail a
        check (too long, not in a restricted picklist, taken by a record), and only those
        go through the per-value checks. One pass over the rows then puts each row's
        checks in ``create``'s order (what depends on the rows before it: duplicates in
        the batch, row locks), and the rows that pass are appended as whole columns.
        Batches this does not model (objects with derived fields, read-only or
        self-lookup columns) are created body by body by ``create_many``.
        """
        if not self._columns_fit(table, fields):
            bodies = [
                {f.name: column[i] for f, column in zip(fields, columns, strict=True)}
                for i in range(count)
            ]
            for body in bodies:
                for name in [name for name, value in body.items() if value is ABSENT]:
                    del body[name]
            return self.create_many(table, bodies, user_id, coerce)
        checked = [
            self._checked_column(table, f, column, count, coerce, coerce_column)
            for f, column in zip(fields, columns, strict=True)
        ]
        outcomes, survivors = self._row_outcomes(table, checked, count)
        if survivors:
            ids = table.allocator.allocate_many(len(survivors))
            table.insert_columns(self._new_columns(table, checked, survivors, count, ids, user_id))
            for row, record_id in zip(survivors, ids, strict=True):
                outcomes[row] = record_id
        return outcomes

    def _columns_fit(self, table: Table, fields: Sequence[FieldDef]) -> bool:
        """Whether ``create_columns`` models these bodies (else ``create_many`` does)."""
        sobject = table.sobject
        self_lookups = self._self_lookup_keys(table)
        name_field = sobject.name_field
        return (
            sobject.createable
            and sobject.name not in _DERIVING
            and len({f.name for f in fields}) == len(fields)
            and all(f.createable and f.name.lower() not in self_lookups for f in fields)
            and all(f.type != "address" for f in fields)
            and (name_field is None or name_field.picklist_default is None)
        )

    def _checked_column(
        self,
        table: Table,
        f: FieldDef,
        column: list[Any],
        count: int,
        coerce: Coerce,
        coerce_column: CoerceColumn | None,
    ) -> _CheckedColumn:
        """One column's stored values and the errors its values raise on their own (all
        of ``_validate`` but duplicates within the batch, which ``_row_outcomes`` sees)."""
        if ABSENT not in column and None not in column:
            rows: Sequence[int] = range(count)
            given = column
        else:
            rows = [
                i for i, value in enumerate(column) if value is not None and value is not ABSENT
            ]
            given = [column[i] for i in rows]
        if coerce_column is not None:
            values, errors = coerce_column(f, given)
        else:
            values, errors = _coerce_each(coerce, f, given)
        for position in self._suspects(table, f, values, errors):
            try:
                self._validate(table, f, values[position], None)
                if f.type == "reference":
                    values[position] = self._reference(f, values[position])
            except ApiError as error:
                errors[position] = error
        stored: list[Any] = values if len(values) == count else [None] * count
        if stored is not values:
            for row, value in zip(rows, values, strict=True):
                stored[row] = value
        row_errors = {rows[position]: error for position, error in errors.items()}
        for row in row_errors:
            stored[row] = None
        folded = _folded(stored) if f.unique or f.external_id else None
        return _CheckedColumn(f, stored, row_errors, folded)

    def _suspects(
        self, table: Table, f: FieldDef, values: list[Any], errors: dict[int, ApiError]
    ) -> list[int]:
        """Positions of the values that may fail ``_validate`` (or need ``_reference``):
        a superset, screened column-wise; the per-value checks decide."""
        found: list[int]
        if f.type == "reference":
            found = list(range(len(values)))
        else:
            found = _too_long(f, values)
            if f.type == "email":
                found += [
                    p
                    for p, value in enumerate(values)
                    if value is not None and not _EMAIL.match(value)
                ]
            if f.restricted:
                allowed = frozenset(f.picklist)
                found += [p for p, value in enumerate(values) if value not in allowed]
            limit = _numeric_limit(f)
            if limit is not None:
                found += _beyond(limit, values)
            if f.unique or f.external_id:
                found += self._taken(table, f, values)
        return sorted(p for p in set(found) if p not in errors and values[p] is not None)

    @staticmethod
    def _taken(table: Table, f: FieldDef, values: list[Any]) -> list[int]:
        """Positions of values a live record of the table already has (unique field)."""
        index: dict[Any, int] = table.unique_indexes[f.name]  # None (null) finds no row
        rows = list(map(index.get, _folded(values)))
        if rows.count(None) == len(rows):  # the usual case: all new values
            return []
        return [p for p, row in enumerate(rows) if row is not None and not table.is_deleted(row)]

    def _row_outcomes(
        self, table: Table, checked: list[_CheckedColumn], count: int
    ) -> tuple[list[str | ApiError], list[int]]:
        """Each row's first error in ``create``'s order (its columns' own errors and
        duplicates of rows before it in the batch, in column order; required fields; the
        validation rule; a row lock), and the rows that pass, in order."""
        first: dict[int, tuple[int, ApiError | None]] = {}
        for position in range(len(checked) - 1, -1, -1):
            for row, column_error in checked[position].errors.items():
                first[row] = (position, column_error)
        # A unique column whose values all differ cannot duplicate a row before it.
        unique = [
            (position, c.field.name, c.folded)
            for position, c in enumerate(checked)
            if c.folded is not None and _repeats(c.folded)
        ]
        pending: dict[str, dict[str, int]] = {name: {} for _, name, _ in unique}
        missing = self._missing_required(table, checked)
        rule_rows = self._rule_rows(table, checked)
        if not unique and not missing and not self.faults.pending()["locked_rows"]:
            return _outcomes_at_once(first, rule_rows, count)
        outcomes: list[str | ApiError] = [""] * count
        survivors: list[int] = []
        take_row_lock = self.faults.take_row_lock
        no_error: tuple[int, ApiError | None] = (len(checked), None)
        for row in range(count):
            stop, error = first.get(row, no_error)
            for position, name, folded in unique:
                if position >= stop:
                    break
                key = folded[row]
                taken = None if key is None else pending[name].get(key)
                if taken is not None:
                    error = _duplicate_value(name, table.allocator.peek(taken))
                    break
            if error is None:
                names = [n for n, rows in missing if rows is None or row in rows] if missing else []
                if names:
                    error = _required_missing(names)
                elif row in rule_rows:
                    error = rule_rows[row]
                elif take_row_lock():
                    error = unable_to_lock_row(None)
            if error is not None:
                outcomes[row] = error
                continue
            for _, name, folded in unique:
                key = folded[row]
                if key is not None:
                    pending[name][key] = len(survivors)
            survivors.append(row)
        return outcomes, survivors

    @staticmethod
    def _missing_required(
        table: Table, checked: list[_CheckedColumn]
    ) -> list[tuple[str, set[int] | None]]:
        """For each required field: the rows that leave it null (None: every row)."""
        by_name = {c.field.name: c for c in checked}
        missing: list[tuple[str, set[int] | None]] = []
        for f in table.sobject.required_fields:
            c = by_name.get(f.name)
            if c is None:
                missing.append((f.name, None))
            elif None in c.stored:
                missing.append((f.name, {row for row, v in enumerate(c.stored) if v is None}))
        return missing

    def _rule_rows(self, table: Table, checked: list[_CheckedColumn]) -> dict[int, ApiError]:
        """Rows whose name the org's validation rule refuses, with the error."""
        prefix = self.config.validation_rule_prefix
        name_field = table.sobject.name_field
        if not prefix or name_field is None:
            return {}
        names = next((c.stored for c in checked if c.field.name == name_field.name), [])
        try:  # a column of texts: at C speed
            flags = list(map(str.startswith, names, itertools.repeat(prefix)))
        except TypeError:  # nulls among them
            flags = [isinstance(name, str) and name.startswith(prefix) for name in names]
        refused = itertools.compress(range(len(names)), flags)
        return {row: _rule_failed(name_field, prefix) for row in refused}

    def _new_columns(
        self,
        table: Table,
        checked: list[_CheckedColumn],
        survivors: list[int],
        count: int,
        ids: list[str],
        user_id: str,
    ) -> dict[str, list[Any]]:
        """The surviving rows as whole columns, with what ``_complete_new`` adds to a new
        record of an object without derived fields: checkboxes never null, audit fields,
        owner, picklist defaults."""
        size = len(survivors)
        if size == count:
            columns = {c.field.name: c.stored for c in checked}
        else:
            columns = {c.field.name: list(map(c.stored.__getitem__, survivors)) for c in checked}
        now = now_datetime()
        for name in table.boolean_fields:
            _fill_nulls(columns, name, False, size)
        for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
            columns[name] = [now] * size
        columns["CreatedById"] = [user_id] * size
        columns["LastModifiedById"] = [user_id] * size
        if "OwnerId" in table.columns:
            _fill_nulls(columns, "OwnerId", user_id, size)
        for name, default in table.picklist_defaults:
            _fill_nulls(columns, name, default, size)
        columns["Id"] = ids
        return columns

    @staticmethod
    def _self_lookup_keys(table: Table) -> frozenset[str]:
        """Body keys (lower case) that point a new record at a record of its own object."""
        keys: set[str] = set()
        for f in table.sobject.fields:
            if f.type == "reference" and table.sobject.name in f.reference_to:
                keys.add(f.name.lower())
                if f.relationship_name:
                    keys.add(f.relationship_name.lower())
        return frozenset(keys)

    @staticmethod
    def _insert_batch(
        table: Table, batch: list[dict[str, Any]], slots: list[int], outcomes: list[str | ApiError]
    ) -> None:
        """Insert the batch's surviving rows and put their ids in their outcome slots."""
        if not batch:
            return
        ids = table.allocator.allocate_many(len(batch))
        for values, record_id, slot in zip(batch, ids, slots, strict=True):
            values["Id"] = record_id
            outcomes[slot] = record_id
        table.insert_many(batch)
        batch.clear()
        slots.clear()

    def _complete_new(
        self, table: Table, values: dict[str, Any], user_id: str, now: str, offset: int = 0
    ) -> None:
        """The values a new record gets beside its body's: checkboxes, audit fields,
        owner, derived fields (``offset``: rows of a batch before it, not inserted yet)."""
        for name in table.boolean_fields:  # a checkbox is never null
            if values.get(name) is None:
                values[name] = False
        values.update(
            {
                "CreatedDate": now,
                "CreatedById": user_id,
                "LastModifiedDate": now,
                "LastModifiedById": user_id,
                "SystemModstamp": now,
            }
        )
        if "OwnerId" in table.columns and values.get("OwnerId") is None:
            values["OwnerId"] = user_id
        self._derive(table, values, None)
        if offset and table.sobject.name == "Case":
            values["CaseNumber"] = f"{len(table) + offset + 1:08d}"

    def update(
        self,
        table: Table,
        row: int,
        body: Any,
        user_id: str,
        coerce: Coerce = _json_value,
        plans: Plans | None = None,
    ) -> None:
        """Update one record (``plans``: key sets resolved by earlier updates of a batch,
        kept by the caller, e.g. an ingest job, across its rows)."""
        if not table.sobject.updateable:
            raise ApiError(
                400,
                "INVALID_TYPE_FOR_OPERATION",
                f"entity type cannot be updated: {table.sobject.name}",
            )
        values = self._values(
            table, self._check_body(body), creating=False, row=row, coerce=coerce, plans=plans
        )
        self._derive(table, values, row)
        self._check_rules(table, values, row)
        self._check_lock(table, row)
        now = now_datetime()
        values.update({"LastModifiedDate": now, "LastModifiedById": user_id, "SystemModstamp": now})
        table.update(row, {k: v for k, v in values.items() if k in table.columns})

    def delete(self, table: Table, row: int, hard: bool = False) -> None:
        """Move a record to the recycle bin (``hard``: remove it for good)."""
        if not table.sobject.deletable:
            raise ApiError(
                400,
                "INVALID_TYPE_FOR_OPERATION",
                f"entity type cannot be deleted: {table.sobject.name}",
            )
        self._check_lock(table, row)
        now = now_datetime()
        table.update(row, {"IsDeleted": True, "SystemModstamp": now})
        if hard:
            table.purge(row)
        record_id = table.columns["Id"][row][:15]
        # Deleting an account deletes its contacts and opportunities, as in Salesforce.
        for relationship in table.sobject.child_relationships:
            if not relationship.cascade_delete:
                continue
            child = self.store.tables[relationship.child_sobject.lower()]
            for child_row in list(child.children_by_parent(relationship.field).get(record_id, [])):
                if not child.is_deleted(child_row):
                    child.update(child_row, {"IsDeleted": True, "SystemModstamp": now})
                    if hard:
                        child.purge(child_row)

    def upsert(
        self,
        table: Table,
        f: FieldDef,
        value: str,
        body: Any,
        user_id: str,
        coerce: Coerce = _json_value,
    ) -> tuple[bool, str]:
        """Create or update by external id; returns (created, record id)."""
        body = self._check_body(body)
        row = self.find_external(table, f, value)
        if row is not None:
            update_body = {k: v for k, v in body.items() if k.lower() != f.name.lower()}
            self.update(table, row, update_body, user_id, coerce)
            record_id: str = table.columns["Id"][row]
            return False, record_id
        if f.type == "id":
            raise not_found()
        create_body = {k: v for k, v in body.items() if k.lower() != f.name.lower()}
        create_body[f.name] = value
        return True, self.create(table, create_body, user_id, coerce)


@dataclasses.dataclass
class _CheckedColumn:
    """A column of a ``create_columns`` batch once its values are checked on their own:
    the stored value of each row (None: null, left out or failed), the rows' errors,
    and for a unique field each row's value as its index keys it."""

    field: FieldDef
    stored: list[Any]
    errors: dict[int, ApiError]
    folded: list[str | None] | None


def _coerce_each(
    coerce: Coerce, f: FieldDef, given: list[Any]
) -> tuple[list[Any], dict[int, ApiError]]:
    """``coerce`` applied to each value of a column (the default ``CoerceColumn``)."""
    values: list[Any] = []
    errors: dict[int, ApiError] = {}
    for position, value in enumerate(given):
        try:
            values.append(coerce(f, value))
        except ApiError as error:
            errors[position] = error
            values.append(None)
    return values, errors


def _folded(values: list[Any]) -> list[str | None]:
    """Each value as a unique index keys it (``str(value).casefold()``; None for null)."""
    try:  # a column of texts: at C speed
        return list(map(str.casefold, values))
    except TypeError:  # nulls (or numbers) among them
        return [None if value is None else str(value).casefold() for value in values]


def _outcomes_at_once(
    first: dict[int, tuple[int, ApiError | None]], rule_rows: dict[int, ApiError], count: int
) -> tuple[list[str | ApiError], list[int]]:
    """``_row_outcomes`` when no row depends on the rows before it (no value repeated in
    a unique column, no required field left null, no row lock armed): a row fails with
    its first column error, else with the validation rule."""
    failed: dict[int, ApiError] = {}
    for row, (_, error) in first.items():
        assert error is not None
        failed[row] = error
    for row, error in rule_rows.items():
        failed.setdefault(row, error)
    outcomes: list[str | ApiError] = [""] * count
    for row, error in failed.items():
        outcomes[row] = error
    survivors = [row for row in range(count) if row not in failed] if failed else list(range(count))
    return outcomes, survivors


def _repeats(keys: list[str | None]) -> bool:
    """Whether a value (not null) occurs more than once."""
    given = len(keys) - keys.count(None)
    return len(set(keys)) - (given < len(keys)) < given


def _numeric_limit(f: FieldDef) -> float | None:
    """The smallest magnitude a number field cannot hold: 10 to the number of its integer
    digits (an int's ``digits``; ``precision - scale`` of a double, currency or percent);
    None for a field of another type or without a declared size."""
    if f.type == "int":
        return 10.0**f.digits if f.digits else None
    if f.type in ("double", "currency", "percent") and f.precision:
        return 10.0 ** (f.precision - f.scale)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _out_of_range(f: FieldDef, value: Any) -> ApiError:
    return ApiError(
        400,
        "NUMBER_OUTSIDE_VALID_RANGE",
        f"{f.label}: value outside of valid range on numeric field: {_java_number(value)}",
        [f.name],
    )


def _java_number(value: float) -> str:
    """A number as Salesforce's messages print it (Java's ``Double.toString``: plain
    between 10^-3 and 10^7, else ``1.2345E16``); an int as it is."""
    if isinstance(value, int):
        return str(value)
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)
    mantissa, _, exponent = f"{value!r}".partition("e")
    if not exponent:  # repr wrote it plainly (1e7 <= |value| < 1e16)
        exponent_value = len(mantissa.lstrip("-").split(".")[0]) - 1
        digits = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
        sign = "-" if value < 0 else ""
        mantissa = f"{sign}{digits[0]}.{digits[1:] or '0'}"
        return f"{mantissa}E{exponent_value}"
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}E{int(exponent)}"


def _beyond(limit: float, values: list[Any]) -> list[int]:
    """Positions of numbers at or past a number field's limit (screened at C speed)."""
    try:
        if max(map(abs, values), default=0) < limit:
            return []
    except TypeError:  # nulls among the values
        pass
    return [p for p, value in enumerate(values) if _is_number(value) and abs(value) >= limit]


def _too_long(f: FieldDef, values: list[Any]) -> list[int]:
    """Positions of text values longer than the field allows (not ids: ``_validate``
    leaves those to the id checks)."""
    if not f.length or f.type in ("id", "reference"):
        return []
    try:
        if max(map(len, values), default=0) <= f.length:
            return []
    except TypeError:  # numbers, booleans or nulls among the values
        pass
    return [p for p, value in enumerate(values) if isinstance(value, str) and len(value) > f.length]


def _required_missing(names: list[str]) -> ApiError:
    return ApiError(
        400,
        "REQUIRED_FIELD_MISSING",
        f"Required fields are missing: [{', '.join(names)}]",
        names,
    )


def _fill_nulls(columns: dict[str, list[Any]], name: str, value: Any, size: int) -> None:
    """Column ``name`` with its nulls (or the whole column, if absent) set to ``value``."""
    column = columns.get(name)
    if column is None:
        columns[name] = [value] * size
    elif None in column:
        columns[name] = [value if v is None else v for v in column]
