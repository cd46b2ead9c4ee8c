"""sObject Collections (``/composite/sobjects``): create, update, upsert, delete and
retrieve up to 200 records in one request, each with its own result, in request order.

What Salesforce does, and so this does:

- a request that cannot be read as records (not JSON objects, an unknown field, a value
  of the wrong JSON type, no ``attributes.type``, more than 200 records) fails whole
  with 400 and an error array; otherwise the answer is 200 with one result per record:
  ``{"id", "success", "errors": [{"statusCode", "message", "fields"}]}`` (upsert adds
  ``created``; a record that was never saved has no ``id``);
- ``allOrNone``: when any record fails, every write of the request is undone; the failed
  records keep their own errors and the others fail with
  ``ALL_OR_NONE_OPERATION_ROLLED_BACK``;
- creates may mix sObject types, processed in chunks of consecutive records of one type
  (at most 10 chunks); an upsert names its type and external id field in the URL.

Change Data Capture events are emitted once the request is committed, one transaction.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from . import _pubsub_capture as changes
from ._errors import ApiError, BodyError, not_found
from ._ids import to15
from ._schema import FieldDef
from ._state import EmulatorState
from ._store import Table

__all__ = [
    "MAX_RECORDS",
    "MAX_RETRIEVE",
    "Collections",
    "error_entry",
]

MAX_RECORDS = 200
MAX_RETRIEVE = 2000
MAX_CHUNKS = 10
ROLLED_BACK = (
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
)


def error_entry(error: ApiError) -> dict[str, Any]:
    """One element of a result's ``errors``."""
    return {"statusCode": error.error_code, "message": error.message, "fields": error.fields or []}


def too_many(limit: int = MAX_RECORDS) -> ApiError:
    return ApiError(
        400,
        "EXCEEDED_ID_LIMIT",
        f"record limit reached. cannot submit more than {limit} records into this call",
    )


@dataclasses.dataclass
class Outcome:
    """What happened to one record of the request."""

    id: str | None = None
    error: ApiError | None = None
    created: bool = False
    #: For the change event once committed: "created" | "updated" | "deleted".
    change: str | None = None
    table: Table | None = None
    row: int | None = None
    before: dict[str, Any] | None = None


def _all_or_none(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BodyError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of boolean from {type(value).__name__} value {value}",
    )


def _records_of(body: Any) -> tuple[list[Any], bool]:
    if not isinstance(body, dict):
        raise BodyError(
            400,
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of SObjectCollectionRequest or request may be "
            "missing a required field",
        )
    records = body.get("records")
    if not isinstance(records, list):
        raise BodyError(400, "JSON_PARSER_ERROR", "The records property of the request is required")
    if len(records) > MAX_RECORDS:
        raise too_many()
    return records, _all_or_none(body.get("allOrNone"))


def _split_id(record: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(the record's id value or None, the record without ``attributes`` and id)."""
    record_id = None
    fields: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if key.lower() == "id":
            record_id = value
        else:
            fields[key] = value
    return record_id, fields


class Collections:
    """sObject Collections operations for one request at a time (on the serving loop)."""

    def __init__(self, state: EmulatorState, version: str, user_id: str) -> None:
        self.state = state
        self.records = state.records
        self.version = version
        self.user_id = user_id

    # -- shared plumbing

    def _table_of(self, record: Any) -> Table:
        if not isinstance(record, dict):
            raise BodyError(
                400,
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of SObject or request may be missing a required field",
            )
        attributes = record.get("attributes")
        type_name = attributes.get("type") if isinstance(attributes, dict) else None
        if not isinstance(type_name, str) or not type_name:
            raise ApiError(400, "INVALID_TYPE", "Must send a concrete entity type.")
        table = self.state.store.table(type_name)
        if table is None:
            raise ApiError(400, "INVALID_TYPE", f"sObject type '{type_name}' is not supported.")
        return table

    def _run(self, outcomes_of: Any, all_or_none: bool) -> list[Outcome]:
        """Run ``outcomes_of()`` in a transaction; roll back as allOrNone or a bad body says."""
        transaction = self.state.store.transaction()
        try:
            outcomes: list[Outcome] = outcomes_of()
        except BaseException:
            transaction.rollback()
            raise
        if all_or_none and any(o.error is not None for o in outcomes):
            transaction.rollback()
            rolled_back = ApiError(400, *ROLLED_BACK, [])
            for outcome in outcomes:
                if outcome.error is None:
                    outcome.error = rolled_back
                    outcome.created = False
                    if outcome.change == "created":
                        outcome.id = None  # it never existed
                outcome.change = None
            return outcomes
        transaction.commit()
        self._emit(outcomes)
        return outcomes

    def _emit(self, outcomes: list[Outcome]) -> None:
        origin = changes.origin_of(self.version)
        transaction = changes.ChangeTransaction()
        for o in outcomes:
            if o.change is None or o.table is None or o.row is None:
                continue
            if o.change == "created":
                assert o.id is not None
                changes.created(self.state, o.table, o.id, self.user_id, origin, transaction)
            elif o.change == "updated":
                changes.updated(
                    self.state, o.table, o.row, o.before, self.user_id, origin, transaction
                )
            else:
                changes.deleted(self.state, o.table, o.row, self.user_id, origin, transaction)

    @staticmethod
    def _chunks(tables: list[Table]) -> int:
        return sum(1 for i, t in enumerate(tables) if i == 0 or t is not tables[i - 1])

    # -- the operations

    def create(self, body: Any) -> list[dict[str, Any]]:
        records, all_or_none = _records_of(body)
        tables = [self._table_of(record) for record in records]
        if self._chunks(tables) > MAX_CHUNKS:
            raise ApiError(
                400,
                "EXCEEDED_MAX_TYPES_LIMIT",
                "Cannot have more than 10 chunks in a single operation. Please rearrange "
                "the data to reduce chunking.",
            )

        def outcomes() -> list[Outcome]:
            done: list[Outcome] = []
            for record, table in zip(records, tables, strict=True):
                record_id, fields = _split_id(record)
                try:
                    if record_id is not None:
                        raise ApiError(
                            400, "INVALID_FIELD", "cannot specify Id in an insert call", []
                        )
                    new_id = self.records.create(table, fields, self.user_id)
                except BodyError:
                    raise
                except ApiError as error:
                    done.append(Outcome(error=error))
                    continue
                row = table.row_of(new_id)
                done.append(Outcome(id=new_id, change="created", table=table, row=row))
            return done

        return [self._save_result(o) for o in self._run(outcomes, all_or_none)]

    def update(self, body: Any) -> list[dict[str, Any]]:
        records, all_or_none = _records_of(body)
        tables = [self._table_of(record) for record in records]

        def outcomes() -> list[Outcome]:
            done: list[Outcome] = []
            for record, table in zip(records, tables, strict=True):
                record_id, fields = _split_id(record)
                outcome = Outcome()
                try:
                    if record_id is None or record_id == "":
                        raise ApiError(
                            400, "MISSING_ARGUMENT", "Id not specified in an update call", []
                        )
                    outcome.id = self.records.known_id(table, record_id)
                    table, row = self.records.locate_live(table, record_id)
                    before = changes.snapshot(self.state, table, row)
                    self.records.update(table, row, fields, self.user_id)
                except BodyError:
                    raise
                except ApiError as error:
                    outcome.error = error
                else:
                    outcome.change, outcome.table, outcome.row = "updated", table, row
                    outcome.before = before
                done.append(outcome)
            return done

        return [self._save_result(o) for o in self._run(outcomes, all_or_none)]

    def upsert(self, sobject: str, field_name: str, body: Any) -> list[dict[str, Any]]:
        if float(self.version) < 46.0:
            raise not_found()
        table = self.records.table(sobject)
        f = self.records.external_field(table, field_name)
        records, all_or_none = _records_of(body)
        for record in records:
            if self._table_of(record) is not table:
                raise ApiError(
                    400,
                    "INVALID_TYPE",
                    f"Records of this request must be of type {table.sobject.name}",
                )
        keys = [self._external_value(record, f) for record in records]
        counts: dict[str, int] = {}
        for key in keys:
            if key:
                counts[key.casefold()] = counts.get(key.casefold(), 0) + 1

        def outcomes() -> list[Outcome]:
            done: list[Outcome] = []
            for record, key in zip(records, keys, strict=True):
                outcome = Outcome()
                _, fields = _split_id(record)
                try:
                    if not key and f.type != "id":
                        raise ApiError(400, "MISSING_ARGUMENT", f"{f.name} not specified", [f.name])
                    if key and counts[key.casefold()] > 1:
                        raise ApiError(
                            400,
                            "DUPLICATE_VALUE",
                            f"Duplicate external id specified: {key}",
                            [f.name],
                        )
                    existing = None if not key else self.records.find_external(table, f, key)
                    if existing is not None:
                        outcome.id = table.columns["Id"][existing]
                    before = (
                        None if existing is None else changes.snapshot(self.state, table, existing)
                    )
                    if key:
                        created, record_id = self.records.upsert(
                            table, f, key, fields, self.user_id
                        )
                    else:  # upsert on Id without an id: a plain insert
                        created = True
                        record_id = self.records.create(table, fields, self.user_id)
                except BodyError:
                    raise
                except ApiError as error:
                    outcome.error = error
                    done.append(outcome)
                    continue
                outcome.id, outcome.created, outcome.table = record_id, created, table
                outcome.row = table.row_of(record_id)
                outcome.change = "created" if created else "updated"
                outcome.before = before
                done.append(outcome)
            return done

        results = []
        for outcome in self._run(outcomes, all_or_none):
            result = self._save_result(outcome)
            result["created"] = outcome.created
            results.append(result)
        return results

    @staticmethod
    def _external_value(record: Any, f: FieldDef) -> str | None:
        if not isinstance(record, dict):
            return None
        for key, value in record.items():
            if key.lower() == f.name.lower():
                if value is None:
                    return None
                if isinstance(value, bool):
                    return "true" if value else "false"
                if isinstance(value, float) and value.is_integer():
                    return str(int(value))
                return str(value) if not isinstance(value, (dict, list)) else None
        return None

    def delete(self, ids_param: str | None, all_or_none_param: str | None) -> list[dict[str, Any]]:
        if not ids_param:
            raise ApiError(400, "MISSING_ARGUMENT", "The ids parameter is required")
        ids = [i.strip() for i in ids_param.split(",") if i.strip()]
        if len(ids) > MAX_RECORDS:
            raise too_many()
        all_or_none = _all_or_none(all_or_none_param)

        def outcomes() -> list[Outcome]:
            done: list[Outcome] = []
            for record_id in ids:
                outcome = Outcome()
                try:
                    outcome.id = self.records.known_id(None, record_id)
                    table, row = self.records.locate_live(None, record_id)
                    self.records.delete(table, row)
                except ApiError as error:
                    outcome.error = error
                else:
                    outcome.change, outcome.table, outcome.row = "deleted", table, row
                done.append(outcome)
            return done

        return [self._save_result(o) for o in self._run(outcomes, all_or_none)]

    def retrieve(
        self, sobject: str, ids: list[str], fields: list[str]
    ) -> list[dict[str, Any] | None]:
        """Records by id with the named fields (``null`` for an id not found)."""
        table = self.records.table(sobject)
        if not fields:
            raise ApiError(400, "MISSING_ARGUMENT", "The fields parameter is required")
        if not ids:
            raise ApiError(400, "MISSING_ARGUMENT", "The ids parameter is required")
        if len(ids) > MAX_RETRIEVE:
            raise too_many(MAX_RETRIEVE)
        selected = ",".join(fields)
        answer: list[dict[str, Any] | None] = []
        for record_id in ids:
            id15 = to15(record_id)
            if id15 is None or not id15.startswith(table.sobject.key_prefix):
                raise ApiError(
                    400,
                    "MALFORMED_ID",
                    f"{table.sobject.label} ID: id value of incorrect type: {record_id}",
                )
            row = table.index.get(id15)
            if row is None or table.is_deleted(row):
                answer.append(None)
            else:
                answer.append(self.records.record(table, row, self.version, selected))
        return answer

    @staticmethod
    def _save_result(outcome: Outcome) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if outcome.id is not None:
            result["id"] = outcome.id
        result["success"] = outcome.error is None
        result["errors"] = [] if outcome.error is None else [error_entry(outcome.error)]
        return result
