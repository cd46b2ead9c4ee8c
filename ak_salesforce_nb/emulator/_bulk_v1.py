"""Bulk API 1.0 (``/services/async/vXX.X/job``): jobs, batches and their results.

Peer clients still send their bulk work here: simple-salesforce's ``sf.bulk.<Object>``
(JSON jobs, JSON batches) and jsforce's ``conn.bulk`` (XML job info, CSV batches); XML
batches (``<sObjects>``) are taken too. A job is created ``Open``, takes batches (each at
most 10,000 records, or one SOQL query for ``query``/``queryAll``), and is ``Closed`` (no
more batches) or ``Aborted`` (queued batches become ``NotProcessed``). Each batch goes
``Queued`` → ``InProgress`` → ``Completed`` (or ``Failed`` with a ``stateMessage`` when
its data as a whole cannot be read), spread over the emulator's ``bulk_job_delay`` so
that clients really poll.

This module holds the jobs and batches (the state keeps them); ``_bulk_v1_run``
processes batches and renders their results, ``_bulk_v1_xml`` reads and writes the XML,
``_web_bulk_v1`` has the (thin) handlers.
"""

from __future__ import annotations

import asyncio
import collections
import csv
import dataclasses
import io
import json
import time
from typing import Any

from ._bulk import job_head
from ._bulk_v1_xml import XmlRequestError, parse_records
from ._ids import random_id
from ._query import RecordsResult
from ._schema import FieldDef
from ._store import Store, Table
from ._values import now_datetime

__all__ = [
    "DAILY_BATCHES",
    "MAX_RECORDS",
    "OPERATIONS",
    "BulkV1Error",
    "V1Batch",
    "V1Job",
    "V1Jobs",
]

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete", "query", "queryAll")
CONTENT_TYPES = ("JSON", "CSV", "XML")
#: Records a batch may hold (Salesforce's Bulk API 1.0 limit).
MAX_RECORDS = 10_000
#: Batches an org may add in 24 hours (Bulk API 1.0 batches and 2.0 ingest chunks).
DAILY_BATCHES = 15_000
#: A CSV field that sets its field to null.
NULL = "#N/A"
FINAL_BATCH_STATES = ("Completed", "Failed", "NotProcessed")


class BulkV1Error(Exception):
    """An error answer of Bulk API 1.0: ``exceptionCode`` and ``exceptionMessage``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclasses.dataclass
class V1Batch:
    """One batch: its data, where it is in its life, and what happened to each record."""

    id: str
    job_id: str
    created_date: str
    state: str = "Queued"
    state_message: str | None = None
    modstamp: str = ""
    processed: int = 0
    failed: int = 0
    #: The request body as sent (``GET .../request`` answers it).
    data: bytes = b""
    #: The records as sent (dicts of field values), or the SOQL text of a query batch.
    records: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    soql: str = ""
    #: One result per record, in the batch's order (write batches).
    results: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: The query's answer (query batches), and the ids of its result files.
    query: RecordsResult | None = None
    result_ids: list[str] = dataclasses.field(default_factory=list)
    started_at: float | None = None
    finished_at: float | None = None
    #: The processing task (kept so that it is not collected while it runs).
    task: asyncio.Task[None] | None = None

    def set_state(self, state: str, message: str | None = None) -> None:
        self.state = state
        self.modstamp = now_datetime()
        if message is not None:
            self.state_message = message
        if state in FINAL_BATCH_STATES and self.finished_at is None:
            self.finished_at = time.time()

    def info(self) -> dict[str, Any]:
        """The BatchInfo, in Salesforce's element order."""
        processing_ms = 0
        if self.started_at is not None:
            processing_ms = int(1000 * ((self.finished_at or time.time()) - self.started_at))
        return {
            "id": self.id,
            "jobId": self.job_id,
            "state": self.state,
            "stateMessage": self.state_message,
            "createdDate": self.created_date,
            "systemModstamp": self.modstamp,
            "numberRecordsProcessed": self.processed,
            "numberRecordsFailed": self.failed,
            "totalProcessingTime": processing_ms,
            "apiActiveProcessingTime": processing_ms,
            "apexProcessingTime": 0,
        }


@dataclasses.dataclass
class V1Job:
    """One job: what it does, to which object, in which content type, and its batches."""

    id: str
    operation: str
    table: Table
    external_id: FieldDef | None
    content_type: str
    concurrency_mode: str
    created_by_id: str
    created_date: str
    api_version: str
    state: str = "Open"
    modstamp: str = ""
    batches: dict[str, V1Batch] = dataclasses.field(default_factory=dict)

    @property
    def object(self) -> str:
        return self.table.sobject.name

    @property
    def is_query(self) -> bool:
        return self.operation in ("query", "queryAll")

    def info(self) -> dict[str, Any]:
        """The JobInfo, in Salesforce's element order, with the batch counts."""
        counts = collections.Counter(batch.state for batch in self.batches.values())
        processing = sum(batch.info()["totalProcessingTime"] for batch in self.batches.values())
        external_id = None if self.external_id is None else self.external_id.name
        info = job_head(self, self.modstamp, self.state, external_id)
        info.update(
            {
                "concurrencyMode": self.concurrency_mode,
                "contentType": self.content_type,
                "numberBatchesQueued": counts["Queued"],
                "numberBatchesInProgress": counts["InProgress"],
                "numberBatchesCompleted": counts["Completed"],
                "numberBatchesFailed": counts["Failed"],
                "numberBatchesTotal": len(self.batches),
                "numberRecordsProcessed": sum(b.processed for b in self.batches.values()),
                "numberRetries": 0,
                "apiVersion": float(self.api_version),
                "numberRecordsFailed": sum(b.failed for b in self.batches.values()),
                "totalProcessingTime": processing,
                "apiActiveProcessingTime": processing,
                "apexProcessingTime": 0,
            }
        )
        return info

    def batch(self, batch_id: str) -> V1Batch:
        batch = self.batches.get(batch_id)
        if batch is None:
            raise BulkV1Error("InvalidBatch", f"Invalid batch id: {batch_id}")
        return batch


class V1Jobs:
    """The org's Bulk API 1.0 jobs, by id."""

    def __init__(self) -> None:
        self.jobs: dict[str, V1Job] = {}

    def create(self, spec: dict[str, Any], version: str, user_id: str, store: Store) -> V1Job:
        """A new Open job from a JobInfo request (JSON object or parsed XML)."""
        operation = str(spec.get("operation") or "")
        if operation not in OPERATIONS:
            raise BulkV1Error(
                "InvalidJob", f"Invalid value for operation: {operation or 'missing'}"
            )
        name = str(spec.get("object") or "")
        table = store.table(name) if name else None
        if table is None:
            raise BulkV1Error("InvalidEntity", f"Entity '{name}' is not supported by the Bulk API.")
        content_type = str(spec.get("contentType") or "XML").upper()
        if content_type not in CONTENT_TYPES:
            raise BulkV1Error("InvalidJob", f"Invalid value for contentType: {content_type}")
        mode = spec.get("concurrencyMode")
        concurrency = "Serial" if mode in (1, "1", "Serial") else "Parallel"
        external_id = None
        if operation == "upsert":
            key = str(spec.get("externalIdFieldName") or "")
            if not key:
                raise BulkV1Error(
                    "InvalidJob", "External ID was blank for upsert; specify externalIdFieldName"
                )
            external_id = table.sobject.field(key)
            if external_id is None or not (external_id.external_id or external_id.type == "id"):
                raise BulkV1Error(
                    "InvalidJob",
                    f"The field {key} is not an External ID or indexed field for "
                    f"{table.sobject.name}",
                )
        now = now_datetime()
        job = V1Job(
            id=random_id("750"),
            operation=operation,
            table=table,
            external_id=external_id,
            content_type=content_type,
            concurrency_mode=concurrency,
            created_by_id=user_id,
            created_date=now,
            api_version=version,
            modstamp=now,
        )
        self.jobs[job.id] = job
        return job

    def get(self, job_id: str) -> V1Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise BulkV1Error("InvalidJob", f"Invalid job id: {job_id}")
        return job

    @staticmethod
    def change_state(job: V1Job, wanted: str) -> V1Job:
        """Close or abort a job; an aborted job's queued batches are NotProcessed."""
        if wanted == "Closed" and job.state in ("Open", "Closed"):
            job.state = "Closed"
        elif wanted == "Aborted" and job.state in ("Open", "Closed"):
            job.state = "Aborted"
            for batch in job.batches.values():
                if batch.state == "Queued":
                    batch.set_state("NotProcessed")
        else:
            raise BulkV1Error(
                "InvalidJobState",
                f"Invalid state: {wanted or 'missing'}; job {job.id} is {job.state}",
            )
        job.modstamp = now_datetime()
        return job

    @staticmethod
    def add_batch(job: V1Job, data: bytes, batches_used: int) -> V1Batch:
        """A new Queued batch of the job from a request body (records or SOQL)."""
        if batches_used >= DAILY_BATCHES:
            raise BulkV1Error(
                "ExceededQuota", f"Exceeded max number of batches: {DAILY_BATCHES} in 24 hours"
            )
        if job.state != "Open":
            raise BulkV1Error("InvalidJobState", f"Job {job.id} is not open: it is {job.state}")
        now = now_datetime()
        batch = V1Batch(
            id=random_id("751"), job_id=job.id, created_date=now, modstamp=now, data=data
        )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BulkV1Error("InvalidBatch", "The batch is not valid UTF-8") from None
        if job.is_query:
            batch.soql = text.strip()
            if not batch.soql:
                raise BulkV1Error("InvalidBatch", "The query batch is empty")
        elif job.content_type == "JSON":
            batch.records = _json_records(text)
        elif job.content_type == "CSV":
            batch.records = _csv_records(text)
        else:
            try:
                batch.records = parse_records(data)
            except XmlRequestError as error:
                raise BulkV1Error("InvalidBatch", str(error)) from None
        job.batches[batch.id] = batch
        job.modstamp = now
        return batch


def _json_records(text: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise BulkV1Error(
            "InvalidBatch", f"Failed to parse JSON: {error.args[0] if error.args else error}"
        ) from None
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise BulkV1Error("InvalidBatch", "The batch must be a JSON array of records")
    return value


def _csv_records(text: str) -> list[dict[str, Any]]:
    """CSV rows as records: an empty field leaves its field alone, ``#N/A`` nulls it,
    ``Relationship.Field`` columns name a parent by an idLookup field."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
        rows = [row for row in reader if row]
    except StopIteration:
        raise BulkV1Error("InvalidBatch", "The batch has no header row") from None
    except csv.Error as error:
        raise BulkV1Error("InvalidBatch", f"Failed to parse CSV: {error}") from None
    records: list[dict[str, Any]] = []
    for row in rows:
        record: dict[str, Any] = {}
        for name, text_value in zip(header, row, strict=False):
            if text_value == "":
                continue
            value = None if text_value == NULL else text_value
            relationship, dot, parent_field = name.partition(".")
            if dot and value is not None:
                record[relationship] = {parent_field: value}
            else:
                record[name] = value
        records.append(record)
    return records
