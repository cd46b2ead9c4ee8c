"""Bulk API 2.0 ingest jobs: their life cycle, job info and result files.

A job is created ``Open``; its CSV arrives in one ``PUT .../batches`` (a second upload is
refused, as Salesforce refuses it); ``PATCH {"state": "UploadComplete"}`` queues it, and
the processing task (``_ingest_run``) moves it ``InProgress`` and then ``JobComplete``
(or ``Failed`` when the data as a whole cannot be read), writing records chunk by chunk;
``PATCH {"state": "Aborted"}`` stops it between chunks. Each processed row ends in the
successful or the failed result file; rows never processed are the unprocessed ones.

Result files are CSV in the job's delimiter and line ending, every field quoted:
``sf__Id,sf__Created`` (successful) or ``sf__Id,sf__Error`` (failed) and then the row's
columns as uploaded. Salesforce does not keep them in input order; with the emulator's
``shuffle_results`` switch on, neither does this (a fixed order per job and file).
"""

from __future__ import annotations

import asyncio
import dataclasses
import operator
import random
import time
from collections.abc import Sequence
from typing import Any

from ._bulk import DELIMITERS, LINE_ENDINGS, format_datetime_at, job_head
from ._errors import ApiError, not_found
from ._ids import random_id
from ._schema import FieldDef
from ._store import Table
from ._values import now_datetime

__all__ = [
    "FINAL_STATES",
    "OPERATIONS",
    "IngestJob",
    "IngestJobs",
    "ResultRows",
    "Row",
    "render_csv_file",
]

#: A row of a job's CSV: its field texts (a tuple once parsed).
Row = Sequence[str]

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
FINAL_STATES = ("JobComplete", "Failed", "Aborted")
#: States from which a job may be deleted (Salesforce's documented list).
DELETABLE_STATES = ("UploadComplete", "JobComplete", "Aborted", "Failed")


def invalid_job(message: str) -> ApiError:
    return ApiError(400, "INVALIDJOB", message)


def invalid_state(message: str) -> ApiError:
    return ApiError(400, "INVALIDJOBSTATE", message)


@dataclasses.dataclass
class IngestJob:
    """One ingest job, its data, and what happened to each of its rows."""

    id: str
    operation: str
    table: Table
    external_id: FieldDef | None
    created_by_id: str
    created: float
    created_date: str
    column_delimiter: str
    line_ending: str
    api_version: str
    state: str = "Open"
    modstamp: str = ""
    data: bytes | None = None
    error_message: str | None = None
    #: The header as uploaded and the rows (lists of field texts), once parsed.
    header: list[str] | None = None
    rows: list[Row] = dataclasses.field(default_factory=list)
    #: Row index -> (sf__Id, sf__Created) for successes, (sf__Id, sf__Error) for failures.
    successes: dict[int, tuple[str, str]] = dataclasses.field(default_factory=dict)
    failures: dict[int, tuple[str, str]] = dataclasses.field(default_factory=dict)
    #: Rows the job got to (processed), in processing order.
    processed: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    task: asyncio.Task[None] | None = None
    #: Held while a chunk is written: an abort waits for it, so that once a job says
    #: Aborted its result files no longer change (Salesforce finishes started batches).
    chunk_lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)

    @property
    def object(self) -> str:
        return self.table.sobject.name

    @property
    def content_url(self) -> str:
        return f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"

    def touch(self) -> None:
        self.modstamp = now_datetime()

    def set_state(self, state: str) -> None:
        self.state = state
        self.touch()
        if state in FINAL_STATES and self.finished_at is None:
            self.finished_at = time.time()

    def brief(self) -> dict[str, Any]:
        """The job as the create, close and abort answers describe it."""
        external_id = None if self.external_id is None else self.external_id.name
        info = job_head(self, self.modstamp, self.state, external_id)
        info.update(
            {
                "concurrencyMode": "Parallel",
                "contentType": "CSV",
                "apiVersion": float(self.api_version),
                "contentUrl": self.content_url,
                "lineEnding": self.line_ending,
                "columnDelimiter": self.column_delimiter,
            }
        )
        return info

    def info(self) -> dict[str, Any]:
        """The job as ``GET jobs/ingest/ID`` describes it, with its counts and times."""
        info = self.brief()
        del info["contentUrl"]
        processing_ms = 0
        if self.started_at is not None:
            processing_ms = int(1000 * ((self.finished_at or time.time()) - self.started_at))
        info.update(
            {
                "jobType": "V2Ingest",
                "contentUrl": self.content_url,
                "numberRecordsProcessed": self.processed,
                "numberRecordsFailed": len(self.failures),
                "retries": 0,
                "totalProcessingTime": processing_ms,
                "apiActiveProcessingTime": processing_ms,
                "apexProcessingTime": 0,
            }
        )
        if self.state == "Failed" and self.error_message:
            info["errorMessage"] = self.error_message
        return info

    def listing_entry(self) -> dict[str, Any]:
        info = self.brief()
        del info["contentUrl"]
        info["jobType"] = "V2Ingest"
        return info

    # -- result files

    def result_file(self, kind: str, shuffle: bool) -> str:
        """``successfulResults``, ``failedResults`` or ``unprocessedrecords`` as CSV text
        (call ``result_rows`` on the loop and ``render_result`` anywhere, for a job that is
        still being written)."""
        return self.render_result(*self.result_rows(kind, shuffle))

    def result_rows(self, kind: str, shuffle: bool) -> tuple[list[str], ResultRows | str]:
        """(header, rows) of a result file as they stand (the raw upload for the
        unprocessed records of data that could never be read).

        Only a snapshot of the outcomes is taken here (the job may still be writing);
        the lines are built by ``render_result``, off the loop."""
        if kind == "unprocessedrecords":
            if self.header is None:  # never parsed: the upload as it came
                return [], (self.data or b"").decode("utf-8", "replace")
            done = self.successes.keys() | self.failures.keys()
            left = [index for index in range(len(self.rows)) if index not in done]
            return self.header, ResultRows(self.rows, left)
        header = list(self.header or [])
        if kind == "successfulResults":
            columns = ["sf__Id", "sf__Created"]
            outcomes = self.successes
        else:
            columns = ["sf__Id", "sf__Error"]
            outcomes = self.failures
        indexes = sorted(outcomes)
        firsts = list(map(outcomes.__getitem__, indexes))
        seed = f"{self.id}:{kind}" if shuffle else None
        return columns + header, ResultRows(self.rows, indexes, firsts, seed)

    def render_result(self, header: list[str], rows: ResultRows | str) -> str:
        if isinstance(rows, str):
            return rows
        delimiter = DELIMITERS[self.column_delimiter]
        return rows.render(header, delimiter, LINE_ENDINGS[self.line_ending])


@dataclasses.dataclass(frozen=True)
class ResultRows:
    """A snapshot of a result file's lines: the uploaded rows they report (``indexes``
    into ``rows``, in input order), for the success and failure files the two fields
    written before each row's own (``firsts``: sf__Id and sf__Created or sf__Error), and
    the seed of the shuffle that puts the lines in file order (None: input order)."""

    rows: list[Row]
    indexes: list[int]
    firsts: list[tuple[str, str]] | None = None
    seed: str | None = None

    def render(self, header: list[str], delimiter: str, line_ending: str) -> str:
        """The file's text: what ``render_csv_file`` writes for these lines, faster.

        Each line is joined in input order (the order the rows sit in memory) by
        ``str.join`` mapped at C speed, and only the finished lines are shuffled, with
        the seed and so the order of a shuffle of the lines as lists: picking rows or
        fields in shuffled order is several times slower on large files (every access a
        cache miss). Quotes are doubled as ``render_csv_file`` doubles them, only when
        some value has one."""
        selected = [self.rows[index] for index in self.indexes]
        firsts = self.firsts
        separator = '"' + delimiter + '"'
        if firsts is None:
            joined = list(map(separator.join, selected))
        else:  # each line's fields: its two first ones and the row's, joined at once
            lines = map(operator.add, firsts, map(tuple, selected))  # tuple(a tuple): itself
            joined = list(map(separator.join, lines))
        end = '"' + line_ending
        body = (end + '"').join(self._ordered(joined))
        # Without quotes in the values, the body's quotes are the separators' (2 per
        # field but a line's last) and the line breaks' (2 each); any more need doubling,
        # line by line, as render_csv_file doubles them.
        fields = sum(map(len, selected)) + (0 if firsts is None else 2 * len(firsts))
        plain_quotes = 2 * (fields - len(joined)) + 2 * max(len(joined) - 1, 0)
        if not all(selected) or body.count('"') != plain_quotes:
            rows = (
                selected
                if firsts is None
                else [[*first, *row] for first, row in zip(firsts, selected, strict=True)]
            )
            return render_csv_file(header, self._ordered(rows), delimiter, line_ending)
        head = render_csv_file(header, [], delimiter, line_ending)
        return head + '"' + body + end if joined else head

    def _ordered(self, lines: list[Any]) -> list[Any]:
        """Lines (in input order) in file order: shuffled in place when asked (a fixed
        order per job and file: the seed names both)."""
        if self.seed is not None and len(lines) > 1:
            random.Random(self.seed).shuffle(lines)
        return lines


def render_csv_file(
    header: Sequence[str], rows: Sequence[Sequence[str]], delimiter: str, line_ending: str
) -> str:
    """A result file: every field quoted, the job's delimiter and line ending (a line
    joined at once, quotes doubled only in lines that have one: several times faster
    than `csv.writer` for a 100,000-line file)."""
    separator = '"' + delimiter + '"'
    end = '"' + line_ending

    def line(values: Sequence[str]) -> str:
        if '"' in "".join(values):
            values = [value.replace('"', '""') for value in values]
        return '"' + separator.join(values) + end

    return "".join([line(header), *map(line, rows)])


class IngestJobs:
    """All ingest jobs of the org, by id (query jobs live in ``BulkJobs``)."""

    def __init__(self) -> None:
        self.jobs: dict[str, IngestJob] = {}
        self._processor: asyncio.Lock | None = None

    def processor(self) -> asyncio.Lock:
        """The org's ingest processor, held while a chunk of a job is written (made on the
        serving loop, on first use).

        Chunks are written one at a time, in the order they ask for it (an asyncio lock
        serves its waiters first come, first served), as work queues at Salesforce: of
        jobs of one chunk (10,000 rows), the one queued first completes first and its
        results can be read while later ones are written, instead of every running job
        finishing together at the end; longer jobs' chunks take turns. It costs no
        throughput: the writing is one thread's work either way.
        """
        if self._processor is None:
            self._processor = asyncio.Lock()
        return self._processor

    def create(
        self,
        body: Any,
        version: str,
        user_id: str,
        table_of: Any,
        external_field_of: Any,
    ) -> IngestJob:
        """Validate a create-job body; ``table_of(name)`` and ``external_field_of(table,
        name)`` resolve the object and external id field (raising ApiError when unknown)."""
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize the request body")
        operation = body.get("operation")
        if operation not in OPERATIONS:
            raise invalid_job(f"Invalid operation: {operation}")
        name = body.get("object")
        if not isinstance(name, str) or not name:
            raise invalid_job("The object property is required for ingest jobs")
        table: Table = table_of(name)
        external_id: FieldDef | None = None
        field_name = body.get("externalIdFieldName")
        if operation == "upsert":
            if not isinstance(field_name, str) or not field_name:
                raise invalid_job("The externalIdFieldName property is required for upsert jobs")
            external_id = external_field_of(table, field_name)
        delimiter = body.get("columnDelimiter") or "COMMA"
        if delimiter not in DELIMITERS:
            raise invalid_job(f"Invalid column delimiter: {delimiter}")
        line_ending = body.get("lineEnding") or "LF"
        if line_ending not in LINE_ENDINGS:
            raise invalid_job(f"Invalid line ending: {line_ending}")
        content_type = body.get("contentType") or "CSV"
        if content_type != "CSV":
            raise invalid_job(f"Invalid content type: {content_type}")
        now = time.time()
        job = IngestJob(
            id=random_id("750"),
            operation=operation,
            table=table,
            external_id=external_id,
            created_by_id=user_id,
            created=now,
            created_date=format_datetime_at(now),
            column_delimiter=delimiter,
            line_ending=line_ending,
            api_version=version,
        )
        job.modstamp = job.created_date
        self.jobs[job.id] = job
        return job

    def get(self, job_id: str) -> IngestJob:
        job = self.jobs.get(job_id)
        if job is None:
            raise not_found()
        return job

    def upload(self, job_id: str, data: bytes) -> None:
        job = self.get(job_id)
        if job.data is not None:
            raise ApiError(
                400,
                "BULK_API_ERROR",
                f"Found multiple contents for job: <{job.id}>, please 'Close' / 'Abort' / "
                "'Delete' the current Job then create a new Job and make sure you only do "
                "'PUT' once on a given Job.",
            )
        if job.state != "Open":
            raise invalid_state(
                f"Data can only be uploaded to an Open job; this one is {job.state}"
            )
        job.data = data
        job.touch()

    def close(self, job_id: str) -> IngestJob:
        """``UploadComplete``: the job is queued (the caller starts its processing)."""
        job = self.get(job_id)
        if job.state != "Open":
            raise invalid_state(f"Invalid state transition from {job.state} to UploadComplete")
        job.set_state("UploadComplete")
        return job

    def abort(self, job_id: str) -> IngestJob:
        job = self.get(job_id)
        if job.state in FINAL_STATES:
            raise invalid_state("Aborting already Completed Job not allowed")
        job.set_state("Aborted")
        return job

    def delete(self, job_id: str) -> None:
        job = self.get(job_id)
        if job.state not in DELETABLE_STATES:
            raise invalid_state(
                f"A job in state {job.state} cannot be deleted; it must be UploadComplete, "
                "JobComplete, Aborted or Failed"
            )
        if job.task is not None:
            job.task.cancel()
        del self.jobs[job_id]

    def listing(self) -> dict[str, Any]:
        return {
            "done": True,
            "records": [job.listing_entry() for job in self.jobs.values()],
            "nextRecordsUrl": None,
        }
