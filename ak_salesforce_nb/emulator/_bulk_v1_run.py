"""Processing Bulk API 1.0 batches, and rendering their results.

A batch is Queued for a quarter of ``bulk_job_delay``, then InProgress (its work done at
once, on the serving loop like every other write), then Completed or Failed at the
delay's end, so that clients really poll. Writes go record by record, in the batch's
order, through `RecordService` (the validation and status codes of REST and Bulk API
2.0); a batch naming a field its object does not have fails whole, as Salesforce's does
(``InvalidBatch : Field name not found : X``). Queries run on the SOQL engine; their
JSON results give dates and date-times as epoch milliseconds, as Salesforce's do.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import json
import time
from typing import Any

from . import _pubsub_capture as changes
from ._bulk import render_header, render_lines
from ._bulk_v1 import MAX_RECORDS, BulkV1Error, V1Batch, V1Job
from ._csv_values import coerce_csv
from ._errors import ApiError
from ._ids import random_id
from ._query import CountResult, RecordsResult, execute
from ._records import check_upsert_key, is_id_lookup
from ._schema import Schema
from ._soql_parser import SoqlError
from ._state import EmulatorState
from ._values import format_datetime

__all__ = ["query_csv", "query_records", "run_batch", "write_results_csv"]


async def run_batch(state: EmulatorState, job: V1Job, batch: V1Batch) -> None:
    """Process a batch over ``bulk_job_delay`` seconds: Queued for a quarter of it, then
    InProgress (the work is done at once), then Completed or Failed at its end."""
    delay = max(0.0, state.config.bulk_job_delay)
    await asyncio.sleep(delay / 4)
    if batch.state != "Queued":
        return  # the job was aborted while the batch waited
    batch.started_at = time.time()
    batch.set_state("InProgress")
    await asyncio.sleep(0)
    try:
        if job.is_query:
            _run_query(state, job, batch)
        else:
            _run_writes(state, job, batch)
    except BulkV1Error as error:
        message = f"{error.code} : {error.message}"
        await asyncio.sleep(delay * 3 / 4)
        batch.set_state("Failed", message)
        return
    await asyncio.sleep(delay * 3 / 4)
    batch.set_state("Completed")


def _run_query(state: EmulatorState, job: V1Job, batch: V1Batch) -> None:
    include_deleted = job.operation == "queryAll"
    try:
        _, result = execute(state.store, batch.soql, include_deleted, state.today())
    except SoqlError as error:
        raise BulkV1Error(
            "InvalidBatch",
            f"Failed to process query: {error.error_code}: {error.message(batch.soql)}",
        ) from None
    if isinstance(result, CountResult) or not isinstance(result, RecordsResult):
        raise BulkV1Error(
            "InvalidBatch",
            "Failed to process query: FUNCTIONALITY_NOT_ENABLED: "
            "Aggregate Relationships not supported in Bulk Query",
        )
    if result.bulk_problem is not None:
        raise BulkV1Error("InvalidBatch", f"Failed to process query: {result.bulk_problem}")
    if result.table is not job.table:
        raise BulkV1Error(
            "InvalidBatch",
            f"Failed to process query: the query's object {result.table.sobject.name} "
            f"is not the job's object {job.object}",
        )
    batch.query = result
    batch.processed = len(result.rows)
    batch.result_ids = [random_id("752")]


def _run_writes(state: EmulatorState, job: V1Job, batch: V1Batch) -> None:
    records = batch.records
    if len(records) > MAX_RECORDS:
        raise BulkV1Error(
            "InvalidBatch",
            f"Exceeded number of records : {len(records)}. Number of records should be "
            f"less than or equal to {MAX_RECORDS}",
        )
    _check_fields(state.schema, job, records)
    coerce = None if job.content_type == "JSON" else coerce_csv  # CSV, XML: texts
    writer = _Writer(state, job, coerce, records)
    batch.results = [writer.write(record) for record in records]
    batch.processed = len(records)
    batch.failed = sum(1 for result in batch.results if not result["success"])


def _check_fields(schema: Schema, job: V1Job, records: list[dict[str, Any]]) -> None:
    """Every field the batch names must be the object's (else the batch fails whole,
    as Salesforce fails it: ``InvalidBatch : Field name not found : X``)."""
    sobject = job.table.sobject
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    for name in names:
        if name == "attributes" or sobject.field(name) is not None:
            continue
        reference = sobject.reference_by_relationship(name)
        if reference is not None and reference.relationship_name is not None:
            parent = schema.get(reference.reference_to[0])
            values = [r[name] for r in records if isinstance(r.get(name), dict)]
            if parent is not None and all(
                all((f := parent.field(k)) is not None and is_id_lookup(f) for k in v)
                for v in values
            ):
                continue
        raise BulkV1Error("InvalidBatch", f"Field name not found : {name}")


class _Writer:
    """Writes a batch's records one by one through RecordService, with their change
    events (one transaction a batch, ``changeOrigin`` Bulk API's)."""

    def __init__(
        self, state: EmulatorState, job: V1Job, coerce: Any, batch: list[dict[str, Any]]
    ) -> None:
        self.state = state
        self.records = state.records
        self.job = job
        self.capturing = changes.capturing(state)
        self.transaction = changes.ChangeTransaction()
        self.origin = changes.bulk_origin_of(job.api_version)
        self.table = job.table
        self.user_id = job.created_by_id
        self.extra: dict[str, Any] = {} if coerce is None else {"coerce": coerce}
        #: External ids named by more than one record of the batch (those records fail).
        self.duplicates: set[str] = set()
        f = job.external_id
        if f is not None:
            keys = [_key_text(r, f.name).casefold() for r in batch]
            counts = collections.Counter(key for key in keys if key)
            self.duplicates = {key for key, times in counts.items() if times > 1}

    def write(self, record: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in record.items() if k != "attributes"}
        if not self.extra:  # JSON: dates may come back as the epoch millis queries give
            self._dates_from_millis(body)
        try:
            record_id, created = self._write(body)
        except ApiError as error:
            return {
                "success": False,
                "created": False,
                "id": None,
                "errors": [
                    {
                        "statusCode": error.error_code,
                        "message": error.message,
                        "fields": list(error.fields or []),
                    }
                ],
            }
        return {"success": True, "created": created, "id": record_id, "errors": []}

    def _dates_from_millis(self, body: dict[str, Any]) -> None:
        sobject = self.table.sobject
        for key, value in body.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                f = sobject.field(key)
                if f is not None and f.type in ("date", "datetime"):
                    moment = datetime.datetime.fromtimestamp(value / 1000, datetime.timezone.utc)
                    body[key] = (
                        moment.date().isoformat() if f.type == "date" else format_datetime(moment)
                    )

    def _write(self, body: dict[str, Any]) -> tuple[str, bool]:
        operation, records, table = self.job.operation, self.records, self.table
        if operation == "insert":
            if _given_id(body):
                raise ApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", [])
            body.pop(_id_key(body) or "Id", None)
            return self._create(body), True
        if operation in ("delete", "hardDelete"):
            owner, row = records.locate_live(table, self._id_of(body))
            record_id = str(owner.columns["Id"][row])
            records.delete(owner, row, hard=operation == "hardDelete")
            if self.capturing:
                changes.deleted(self.state, owner, row, self.user_id, self.origin, self.transaction)
            return record_id, False
        if operation == "update":
            owner, row = records.locate_live(table, self._id_of(body))
            body.pop(_id_key(body) or "Id", None)
            before = changes.snapshot(self.state, owner, row) if self.capturing else None
            records.update(owner, row, body, self.user_id, **self.extra)
            self._updated(row, before)
            return str(owner.columns["Id"][row]), False
        return self._upsert(body)

    def _create(self, body: dict[str, Any]) -> str:
        record_id = self.records.create(self.table, body, self.user_id, **self.extra)
        if self.capturing:
            changes.created(
                self.state, self.table, record_id, self.user_id, self.origin, self.transaction
            )
        return record_id

    def _updated(self, row: int, before: Any) -> None:
        if self.capturing:
            changes.updated(
                self.state, self.table, row, before, self.user_id, self.origin, self.transaction
            )

    def _upsert(self, body: dict[str, Any]) -> tuple[str, bool]:
        f = self.job.external_id
        assert f is not None
        key_name = next((k for k in body if k.lower() == f.name.lower()), f.name)
        key_text = _key_text(body, f.name)
        records, table = self.records, self.table
        check_upsert_key(f, key_text, self.duplicates)
        if not key_text:  # upsert on Id without an id: a plain insert
            body.pop(key_name, None)
            return self._create(body), True
        existing = records.find_external(table, f, key_text) if self.capturing else None
        before = None if existing is None else changes.snapshot(self.state, table, existing)
        try:
            created, record_id = records.upsert(
                table, f, key_text, body, self.user_id, **self.extra
            )
        except ApiError as error:
            if error.status == 404 and f.type == "id":
                raise ApiError(
                    400, "NOT_FOUND", f"Provided Id does not exist: {key_text}", []
                ) from None
            raise
        if created and self.capturing:
            changes.created(
                self.state, table, record_id, self.user_id, self.origin, self.transaction
            )
        elif existing is not None:
            self._updated(existing, before)
        return record_id, created

    def _id_of(self, body: dict[str, Any]) -> str:
        value = _given_id(body)
        if not value:
            verb = "update" if self.job.operation == "update" else "delete"
            raise ApiError(400, "MISSING_ARGUMENT", f"Id not specified in an {verb} call", [])
        return value


def _key_text(body: dict[str, Any], name: str) -> str:
    """The text of a record's field ``name`` (any case), "" when absent or null."""
    value = next((v for k, v in body.items() if k.lower() == name.lower()), None)
    return "" if value is None or isinstance(value, dict) else str(value)


def _id_key(body: dict[str, Any]) -> str | None:
    return next((k for k in body if k.lower() == "id"), None)


def _given_id(body: dict[str, Any]) -> str:
    key = _id_key(body)
    value = None if key is None else body.get(key)
    return "" if value is None else str(value)


# -- query results


def query_records(schema: Schema, job: V1Job, batch: V1Batch, epoch: bool) -> list[Any]:
    """A query batch's records as REST writes them; ``epoch``: with dates and date-times
    as epoch milliseconds, as Bulk API 1.0's JSON gives them."""
    result = batch.query
    assert result is not None
    shape = result.shape
    shape.bind(job.api_version)
    records = json.loads("[" + ",".join(shape.encode_rows(result.rows)) + "]")
    if not epoch:
        return records  # type: ignore[no-any-return]
    return [_epoch_dates(schema, record) for record in records]


def _epoch_dates(schema: Schema, record: Any) -> Any:
    if not isinstance(record, dict):
        return record
    attributes = record.get("attributes")
    sobject = schema.get(attributes.get("type", "")) if isinstance(attributes, dict) else None
    for key, value in record.items():
        if isinstance(value, dict):
            record[key] = _epoch_dates(schema, value)
        elif isinstance(value, str) and sobject is not None:
            f = sobject.field(key)
            if f is not None and f.type in ("date", "datetime"):
                record[key] = _epoch_millis(value)
    return record


def _epoch_millis(text: str) -> int | str:
    try:
        if len(text) == 10:
            moment = datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc)
        else:
            moment = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return text
    return int(moment.timestamp() * 1000)


def query_csv(batch: V1Batch) -> str:
    """A query batch's records as CSV (every field quoted, as Salesforce writes it)."""
    result = batch.query
    assert result is not None
    if not result.rows:
        return "Records not found for this query"
    return render_header(result, ",", "\n") + "".join(render_lines(result, ",", "\n"))


def write_results_csv(batch: V1Batch) -> str:
    """A write batch's results as CSV: ``"Id","Success","Created","Error"``."""
    out = ['"Id","Success","Created","Error"\n']
    for result in batch.results:
        error = ""
        if result["errors"]:
            e = result["errors"][0]
            fields = "".join(f"{name} " for name in e["fields"])
            error = f"{e['statusCode']}:{e['message']}:{fields}--"
        values = [
            result["id"] or "",
            "true" if result["success"] else "false",
            "true" if result["created"] else "false",
            error,
        ]
        out.append(",".join('"' + v.replace('"', '""') + '"' for v in values) + "\n")
    return "".join(out)
