"""Processing a Bulk API 2.0 ingest job: read its CSV, then write its rows chunk by chunk.

The task runs on the serving loop, as every other write does, so the store needs no
locks: each chunk (``bulk_ingest_chunk_size`` rows, Salesforce's 10,000) is written in
one go, and between chunks the task sleeps so that the job's chunks are spread over
``bulk_job_delay`` seconds. That leaves room for polls, queries and an abort, which stops
the job before its next chunk: what was written stays written, the rest is unprocessed.
The org writes one chunk of any job at a time, first come first served
(`IngestJobs.processor`): a job of one chunk queued after another waits for it, and
the chunks of longer jobs take turns.

What fails the whole job (``Failed``, ``errorMessage``, nothing written): data in another
line ending than the job's, a header naming a field the object does not have (Salesforce:
``InvalidBatch : Field name not found : X``), no data at all. What fails one row: any
record-level error (the row's ``sf__Error``: ``CODE:message:FIELDS --``).

Rows that create records are created in one ``RecordService.create_columns`` call per
slice (or up to the next row that updates or deletes), given as the slice's columns,
with the outcomes and change events one-by-one creates would have had: a write costs
its checks, column by column, not a table append.

Header columns are field names (any case), or ``Relationship.IndexedField`` to set a
lookup by a parent's external id or other idLookup field (``Account.External_Id__c`` or
``ReportsTo.Email`` on Contact, ``Owner.Username``). A row's
empty field leaves the field alone (on insert: null), ``#N/A`` sets it to null.
"""

from __future__ import annotations

import asyncio
import collections
import csv
import dataclasses
import io
import itertools
import logging
import math
import operator
import time
from typing import Any, cast

from . import _pubsub_capture as changes
from ._bulk import DELIMITERS
from ._csv_values import coerce_csv, coerce_csv_column, error_text
from ._errors import ApiError
from ._ingest import IngestJob, Row
from ._records import ABSENT, Plans, check_upsert_key, is_id_lookup
from ._schema import FieldDef, Schema
from ._state import EmulatorState

__all__ = ["HeaderError", "Plan", "parse", "plan_columns", "run_job"]

log = logging.getLogger(__name__)
NULL = "#N/A"
#: Rows written between two chances for the loop to serve other requests.
SLICE = 200


class HeaderError(Exception):
    """The job's data cannot be processed at all; the message is the job's errorMessage."""


@dataclasses.dataclass(frozen=True)
class Column:
    """How one CSV column is written: to ``field``, or through ``relationship``."""

    index: int
    field: FieldDef
    #: For ``Relationship.Field`` columns: the relationship name and the parent's field.
    relationship: str | None = None
    parent_field: str | None = None


@dataclasses.dataclass
class Plan:
    """The columns of a job's header, resolved once for every row."""

    columns: list[Column]
    id_index: int | None
    key_index: int | None
    width: int

    @property
    def has_relationships(self) -> bool:
        """Whether a column sets a lookup by the parent's external id (its body is then
        built row by row: the foreign key depends on the value)."""
        return any(column.relationship is not None for column in self.columns)


def parse(job: IngestJob) -> tuple[list[str], list[Row]]:
    """(header, rows) of the uploaded CSV, or HeaderError for data that cannot be read."""
    if not job.data:
        raise HeaderError("InvalidBatch : No data was uploaded for this job")
    try:
        text = job.data.decode("utf-8")
    except UnicodeDecodeError:
        raise HeaderError("InvalidBatch : The data is not valid UTF-8") from None
    first_break = text.find("\n")
    if first_break > 0:
        crlf = text[first_break - 1] == "\r"
        if crlf != (job.line_ending == "CRLF"):
            raise HeaderError(
                "ClientInputError : LineEnding is invalid on user data. Current LineEnding "
                f"setting is {job.line_ending}"
            )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[job.column_delimiter])
    try:
        header = next(reader)
        # Tuples: the job keeps its rows, and tuples of texts are no work for the
        # cyclic garbage collector once seen (lists are traversed at every collection).
        rows: list[Row] = list(map(tuple, filter(None, reader)))
    except StopIteration:
        raise HeaderError("InvalidBatch : No data was uploaded for this job") from None
    except csv.Error as error:
        raise HeaderError(f"InvalidBatch : Failed to parse CSV: {error}") from None
    return header, rows


def plan_columns(job: IngestJob, header: list[str], schema: Schema) -> Plan:
    """Resolve every header column against the job's object (HeaderError if unknown)."""
    sobject = job.table.sobject
    columns: list[Column] = []
    seen: set[str] = set()
    id_index: int | None = None
    key_index: int | None = None
    for index, name in enumerate(header):
        lowered = name.lower()
        if lowered in seen:
            raise HeaderError(f"InvalidBatch : Duplicate field name: {name}")
        seen.add(lowered)
        f = sobject.field(name)
        if f is not None:
            if f.type == "id":
                id_index = index
            else:
                columns.append(Column(index, f))
            if job.external_id is not None and f.name == job.external_id.name:
                key_index = index
            continue
        relationship, dot, parent_name = name.partition(".")
        reference = sobject.reference_by_relationship(relationship) if dot else None
        if reference is not None and reference.relationship_name is not None:
            parent = schema.get(reference.reference_to[0])
            parent_field = None if parent is None else parent.field(parent_name)
            if parent_field is not None and is_id_lookup(parent_field):
                columns.append(
                    Column(index, reference, reference.relationship_name, parent_field.name)
                )
                continue
        raise HeaderError(f"InvalidBatch : Field name not found : {name}")
    if job.external_id is not None and job.external_id.type == "id":
        key_index = id_index
    return Plan(columns, id_index, key_index, len(header))


def row_body(plan: Plan, row: Row) -> dict[str, Any]:
    """The record fields a CSV row sets (empty: untouched, ``#N/A``: null)."""
    body: dict[str, Any] = {}
    for column in plan.columns:
        text = row[column.index]
        if text == "":
            continue
        if column.relationship is None:
            body[column.field.name] = None if text == NULL else text
        elif text == NULL:
            body[column.field.name] = None
        else:
            assert column.parent_field is not None
            body[column.relationship] = {column.parent_field: text}
    return body


class ChunkWriter:
    """Writes the rows of one chunk and records each row's outcome on the job."""

    def __init__(self, state: EmulatorState, job: IngestJob, plan: Plan) -> None:
        self.state = state
        self.records = state.records
        self.job = job
        self.plan = plan
        self.table = job.table
        self.user_id = job.created_by_id
        self.origin = changes.bulk_origin_of(job.api_version)
        self.capturing = False
        self.transaction = changes.ChangeTransaction()
        self.duplicates: set[str] = set()
        #: The id of the record the current row writes to, once known (its sf__Id).
        self.current_id = ""
        #: Rows to create, as (row index, CSV row), written together by ``_flush``.
        self.creates: list[tuple[int, Row]] = []
        self._index = 0
        self._row: Row = ()
        #: The job's update key sets, resolved once (updates stay one by one: each one
        #: sees the ones before it).
        self.update_plans: Plans = {}

    def start_chunk(self, rows: list[Row]) -> None:
        """A chunk begins: one transaction for its change events, its duplicate keys."""
        self.capturing = changes.capturing(self.state)
        self.transaction = changes.ChangeTransaction()
        self.duplicates = self._duplicate_keys(rows)

    def write(self, start: int, rows: list[Row]) -> None:
        """Write rows ``start``, ``start + 1``... of the job (part of the current chunk).

        Rows that create records are gathered and created in one batch
        (``RecordService.create_columns``) when the slice ends, or before any other kind
        of write, so every row sees the org exactly as one-by-one writes would have left
        it. Rows that plainly create a record (the bulk of an insert or upsert job) are
        recognised column-wise by ``_other_rows`` and gathered a run at a time; the
        others take the general path, one by one.
        """
        others = self._other_rows(rows)
        done = 0
        for position in [*others, len(rows)]:
            if position > done:  # a run of plain creates
                run = rows[done:position]
                self.creates.extend(zip(range(start + done, start + position), run, strict=True))
                self.job.processed += position - done
            if position < len(rows):
                self._write_one(start + position, rows[position])
            done = position + 1
        self._flush()

    def _write_one(self, index: int, row: Row) -> None:
        """Write row ``index`` of the job and record its outcome (a create: by ``_flush``)."""
        job, plan = self.job, self.plan
        self._index, self._row = index, row
        known_id = self.current_id = ""
        try:
            if len(row) != plan.width:
                raise ApiError(
                    400,
                    "INVALID_FIELD",
                    f"The row has {len(row)} fields where the header has {plan.width}",
                    [],
                )
            outcome = self._write_row(row)
        except ApiError as error:
            known_id = self.current_id or self._given_id(row)
            job.failures[index] = (known_id, error_text(error))
        else:
            if outcome is not None:  # None: a create, written by _flush
                known_id, created = outcome
                job.successes[index] = (known_id, "true" if created else "false")
        job.processed += 1

    def _other_rows(self, rows: list[Row]) -> list[int]:
        """Positions of the slice's rows that do not plainly create a record, found
        column-wise as ``_write_row`` decides it. A plain create is an insert row of the
        header's width without an Id, or an upsert row of that width whose external id
        is given, not repeated in the chunk and not a live record's (a record the slice
        creates cannot have it: two rows of a chunk with one key both fail). Other
        operations and upserts by Id take the general path for every row."""
        job, plan, table = self.job, self.plan, self.table
        width, id_index, key_index = plan.width, plan.id_index, plan.key_index
        every = list(range(len(rows)))
        if job.operation not in ("insert", "upsert"):
            return every
        others = {p for p, size in enumerate(map(len, rows)) if size != width}
        if job.operation == "insert":
            if id_index is not None:
                others.update(
                    p
                    for p, row in enumerate(rows)
                    if p not in others and row[id_index] not in ("", NULL)
                )
            return sorted(others)
        f = job.external_id
        if f is None or f.type == "id" or key_index is None:
            return every
        keys = [row[key_index] if len(row) == width else "" for row in rows]
        if "" in keys or NULL in keys:
            others.update(p for p, key in enumerate(keys) if key in ("", NULL))
        folded = list(map(str.casefold, keys))
        if self.duplicates:
            others.update(p for p, key in enumerate(folded) if key in self.duplicates)
        found = list(map(table.unique_indexes[f.name].get, folded))
        if found.count(None) != len(found):
            others.update(
                p for p, row in enumerate(found) if row is not None and not table.is_deleted(row)
            )
        return sorted(others)

    def _flush(self) -> None:
        """Create the gathered rows in one batch; record each one's outcome and change
        event (in row order, in the chunk's transaction, as single creates did)."""
        if not self.creates:
            return
        creates, self.creates = self.creates, []
        job, table = self.job, self.table
        outcomes = self._create_rows([row for _, row in creates])
        # Whole columns at C speed: a slice's rows mostly succeed.
        created = list(map(isinstance, outcomes, itertools.repeat(str)))
        if not all(created):
            for position in itertools.compress(range(len(created)), map(operator.not_, created)):
                (index, row), error = creates[position], outcomes[position]
                assert isinstance(error, ApiError)
                job.failures[index] = (self._given_id(row), error_text(error))
        ids = cast(list[str], list(itertools.compress(outcomes, created)))
        indexes = itertools.compress(map(operator.itemgetter(0), creates), created)
        flags = zip(ids, itertools.repeat("true"), strict=False)  # (sf__Id, sf__Created)
        job.successes.update(zip(indexes, flags, strict=True))
        if self.capturing:
            for record_id in ids:
                changes.created(
                    self.state, table, record_id, self.user_id, self.origin, self.transaction
                )

    def _create_rows(self, rows: list[Row]) -> list[str | ApiError]:
        """Create records from CSV rows: given as the rows' columns (empty: ABSENT,
        ``#N/A``: None), or as one body per row when a column sets a lookup."""
        plan, records = self.plan, self.records
        if plan.has_relationships:
            bodies = [row_body(plan, row) for row in rows]
            return records.create_many(self.table, bodies, self.user_id, coerce_csv)
        columns = [_column_values([row[c.index] for row in rows]) for c in plan.columns]
        return records.create_columns(
            self.table,
            [c.field for c in plan.columns],
            columns,
            len(rows),
            self.user_id,
            coerce_csv,
            coerce_csv_column,
        )

    def _given_id(self, row: Row) -> str:
        """The sf__Id of a failed row: the id it names, if it names a record's."""
        index = self.plan.id_index
        if index is None or index >= len(row) or self.job.operation == "insert":
            return ""
        return self.records.known_id(self.table, row[index]) or ""

    def _duplicate_keys(self, rows: list[Row]) -> set[str]:
        """External ids that occur more than once in the chunk (those rows all fail)."""
        key_index = self.plan.key_index
        if self.job.operation != "upsert" or key_index is None:
            return set()
        keys = [row[key_index] for row in rows if key_index < len(row)]
        if "" in keys or NULL in keys:
            keys = [key for key in keys if key and key != NULL]
        folded = list(map(str.casefold, keys))
        if len(set(folded)) == len(folded):  # the usual case: every key once
            return set()
        return {key for key, times in collections.Counter(folded).items() if times > 1}

    def _write_row(self, row: Row) -> tuple[str, bool] | None:
        """Write one row; (record id, created), None for a create left to ``_flush``, or
        ApiError."""
        operation, table, records, plan = self.job.operation, self.table, self.records, self.plan
        if operation in ("delete", "hardDelete"):
            table, row_number = records.locate_live(table, self._id_of(row))
            records.delete(table, row_number, hard=operation == "hardDelete")
            if self.capturing:
                changes.deleted(
                    self.state, table, row_number, self.user_id, self.origin, self.transaction
                )
            record_id: str = table.columns["Id"][row_number]
            return record_id, False
        if operation == "insert":
            if plan.id_index is not None and row[plan.id_index] not in ("", NULL):
                raise ApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", [])
            self._create()
            return None
        if operation == "update":
            table, row_number = records.locate_live(table, self._id_of(row))
            return self._update(row_number, row_body(plan, row)), False
        return self._upsert(row)

    def _create(self) -> None:
        """Gather the current row's create for the batch (``_flush``); its body is
        ``row_body`` of the row (an upsert's key column sets the key it was found by)."""
        self.creates.append((self._index, self._row))

    def _update(self, row_number: int, body: dict[str, Any]) -> str:
        self._flush()  # the rows before this one are written first, as they came
        state, table = self.state, self.table
        self.current_id = table.columns["Id"][row_number]
        before = changes.snapshot(state, table, row_number) if self.capturing else None
        self.records.update(table, row_number, body, self.user_id, coerce_csv, self.update_plans)
        if self.capturing:
            changes.updated(
                state, table, row_number, before, self.user_id, self.origin, self.transaction
            )
        record_id: str = table.columns["Id"][row_number]
        return record_id

    def _upsert(self, row: Row) -> tuple[str, bool] | None:
        f = self.job.external_id
        assert f is not None
        index = self.plan.key_index
        key = "" if index is None else row[index]
        if key == NULL:
            key = ""
        check_upsert_key(f, key, self.duplicates)
        if not key:  # upsert on Id without an id: a plain insert
            self._create()
            return None
        existing = self.records.find_external(self.table, f, key)
        if existing is not None:
            body = row_body(self.plan, row)
            body.pop(f.name, None)
            return self._update(existing, body), False
        if f.type == "id":
            raise ApiError(400, "NOT_FOUND", f"Provided Id does not exist: {key}", [])
        self._create()  # the key column sets f to the key
        return None

    def _id_of(self, row: Row) -> str:
        index = self.plan.id_index
        value = "" if index is None else row[index]
        if value in ("", NULL):
            verb = "update" if self.job.operation == "update" else "delete"
            raise ApiError(400, "MISSING_ARGUMENT", f"Id not specified in an {verb} call", [])
        return value


def _column_values(texts: list[str]) -> list[Any]:
    """A CSV column as ``create_columns`` takes it: empty texts ABSENT, ``#N/A`` None."""
    if "" not in texts and NULL not in texts:
        return texts
    return [ABSENT if text == "" else None if text == NULL else text for text in texts]


async def run_job(state: EmulatorState, job: IngestJob) -> None:
    """Process an ``UploadComplete`` job until it is complete, failed or aborted."""
    config = state.config
    delay = max(0.0, config.bulk_job_delay)
    chunk_size = config.bulk_ingest_chunk_size
    start = time.monotonic()
    queued = delay / 4
    await asyncio.sleep(queued)
    if job.state != "UploadComplete":
        return  # aborted while queued
    job.started_at = time.time()
    job.set_state("InProgress")
    try:
        header, rows = parse(job)
        job.header, job.rows = header, rows
        writer = ChunkWriter(state, job, plan_columns(job, header, state.schema))
    except HeaderError as error:
        job.error_message = str(error)
        job.set_state("Failed")
        return
    chunks = max(1, math.ceil(len(rows) / chunk_size))
    try:
        for number in range(chunks):
            due = start + queued + (delay - queued) * number / chunks
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            first = number * chunk_size
            chunk = rows[first : first + chunk_size]
            async with state.ingest.processor():  # one chunk of any job at a time
                if job.state != "InProgress":
                    return  # aborted between chunks, or while waiting its turn
                async with job.chunk_lock:  # an abort waits for the chunk being written
                    writer.start_chunk(chunk)
                    for offset in range(0, len(chunk), SLICE):
                        # The loop serves other requests between slices of a chunk.
                        writer.write(first + offset, chunk[offset : offset + SLICE])
                        await asyncio.sleep(0)
            state.bulk_batches_used += 1
            job.touch()
        await asyncio.sleep(max(0.0, start + delay - time.monotonic()))
    except Exception:  # a bug here must not leave the job InProgress forever
        log.exception("ingest job %s failed", job.id)
        job.error_message = "InternalServerError : An unexpected error occurred"
        job.set_state("Failed")
        return
    if job.state == "InProgress":
        job.set_state("JobComplete")
