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

sObject Tree (``POST /composite/tree/X``, what ``sf data import tree`` sends) creates
nested parent-child records in one transaction: root records of type X, each with its
children under a child relationship name (``"Contacts": {"records": [...]}``), every
record naming a ``referenceId``. Records are created level by level (the roots, then
the second level...), in request order within a level, a child's lookup set to its
parent's new id; the answer lists ``{referenceId, id}`` in that order (201). If any
record fails, nothing is kept: 400 with ``hasErrors`` and only the failing records'
``{referenceId, errors}``. At most 200 records, 5 levels and 5 types a request.
"""

from __future__ import annotations

import dataclasses
import re
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
    "TreeAnswer",
    "error_entry",
]

MAX_RECORDS = 200
MAX_RETRIEVE = 2000
MAX_CHUNKS = 10
MAX_TREE_RECORDS = 200
MAX_TREE_LEVELS = 5
MAX_TREE_TYPES = 5
#: A reference id: starts with a letter or digit, then letters, digits or underscores.
_REFERENCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")
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


@dataclasses.dataclass
class _TreeNode:
    """One record of an sObject Tree request, where it sits, and its outcome."""

    reference_id: Any
    table: Table
    fields: dict[str, Any]
    level: int
    parent: _TreeNode | None = None
    #: The lookup field of this record that points at ``parent``.
    parent_field: str | None = None
    id: str | None = None


#: (HTTP status, body) of an sObject Tree answer.
TreeAnswer = tuple[int, dict[str, Any]]


def _tree_error(message: str) -> BodyError:
    return BodyError(400, "INVALID_INPUT", message)


def _tree_failure(nodes_and_errors: list[tuple[Any, ApiError]]) -> TreeAnswer:
    results = [
        {"referenceId": reference_id, "errors": [error_entry(error)]}
        for reference_id, error in nodes_and_errors
    ]
    return 400, {"hasErrors": True, "results": results}


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

    # -- sObject Tree

    def tree(self, sobject: str, body: Any) -> TreeAnswer:
        """Create the trees of ``body`` (roots of type ``sobject``) in one transaction."""
        root = self.records.table(sobject)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise BodyError(
                400,
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of SObjectTreeRequest or request may be missing "
                "a required field",
            )
        nodes: list[_TreeNode] = []
        self._tree_nodes(body["records"], root, None, None, 1, nodes)
        if len(nodes) > MAX_TREE_RECORDS:
            raise _tree_error(
                f"Exceeded max limit of records: {MAX_TREE_RECORDS}; this request has {len(nodes)}"
            )
        if len({id(node.table) for node in nodes}) > MAX_TREE_TYPES:
            raise _tree_error(f"Exceeded max limit of different types: {MAX_TREE_TYPES}")
        bad_references = self._bad_references(nodes)
        if bad_references:
            return _tree_failure(bad_references)
        failures: list[tuple[Any, ApiError]] = []

        def outcomes() -> list[Outcome]:
            done: list[Outcome] = []
            for level in range(1, MAX_TREE_LEVELS + 1):
                for node in (n for n in nodes if n.level == level):
                    fields = dict(node.fields)
                    if node.parent is not None and node.parent_field is not None:
                        fields[node.parent_field] = node.parent.id
                    try:
                        node.id = self.records.create(node.table, fields, self.user_id)
                    except BodyError:
                        raise
                    except ApiError as error:
                        failures.append((node.reference_id, error))
                        done.append(Outcome(error=error))
                        continue
                    row = node.table.row_of(node.id)
                    done.append(Outcome(id=node.id, change="created", table=node.table, row=row))
                if failures:  # the levels below this one are not attempted
                    break
            return done

        self._run(outcomes, all_or_none=True)
        if failures:
            return _tree_failure(failures)
        ordered = sorted(nodes, key=lambda node: node.level)  # stable: request order kept
        results = [{"referenceId": node.reference_id, "id": node.id} for node in ordered]
        return 201, {"hasErrors": False, "results": results}

    def _tree_nodes(
        self,
        records: list[Any],
        table: Table,
        parent: _TreeNode | None,
        parent_field: str | None,
        level: int,
        nodes: list[_TreeNode],
    ) -> None:
        """Flatten a records collection of the tree (depth first, request order)."""
        if level > MAX_TREE_LEVELS:
            raise _tree_error(f"Exceeded max depth of the sObject tree: {MAX_TREE_LEVELS} levels")
        for record in records:
            if self._table_of(record) is not table:
                raise _tree_error(
                    f"The records of this collection must be of type {table.sobject.name}"
                )
            attributes = record["attributes"]
            fields: dict[str, Any] = {}
            children: list[tuple[Any, Table, str]] = []
            for key, value in record.items():
                if key == "attributes":
                    continue
                relationship = (
                    table.sobject.child_relationship(key) if isinstance(value, dict) else None
                )
                if relationship is None:
                    fields[key] = value
                    continue
                child_table = self.records.table(relationship.child_sobject)
                child_records = value.get("records")
                if not isinstance(child_records, list):
                    raise _tree_error(f"The {key} property needs a records collection")
                children.append((child_records, child_table, relationship.field))
            node = _TreeNode(attributes.get("referenceId"), table, fields, level, parent)
            node.parent_field = parent_field
            nodes.append(node)
            for child_records, child_table, field in children:
                self._tree_nodes(child_records, child_table, node, field, level + 1, nodes)

    @staticmethod
    def _bad_references(nodes: list[_TreeNode]) -> list[tuple[Any, ApiError]]:
        """Missing, malformed and repeated reference ids (each instance of a repeat)."""
        counts: dict[Any, int] = {}
        for node in nodes:
            if isinstance(node.reference_id, str):
                counts[node.reference_id] = counts.get(node.reference_id, 0) + 1
        bad: list[tuple[Any, ApiError]] = []
        for node in nodes:
            reference = node.reference_id
            if not isinstance(reference, str) or not reference:
                error = ApiError(
                    400, "INVALID_INPUT", "Include a reference ID for each record in the request."
                )
            elif not _REFERENCE_ID.fullmatch(reference):
                error = ApiError(
                    400,
                    "INVALID_INPUT",
                    f"Invalid reference ID: {reference}. A reference ID starts with a letter "
                    "or a digit and has only letters, digits and underscores.",
                )
            elif counts[reference] > 1:
                error = ApiError(
                    400,
                    "INVALID_INPUT",
                    f"Duplicate ReferenceId provided in the request: {reference}",
                )
            else:
                continue
            bad.append((reference, error))
        return bad

    @staticmethod
    def _save_result(outcome: Outcome) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if outcome.id is not None:
            result["id"] = outcome.id
        result["success"] = outcome.error is None
        result["errors"] = [] if outcome.error is None else [error_entry(outcome.error)]
        return result
