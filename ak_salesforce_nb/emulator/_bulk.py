"""Bulk API 2.0 query jobs: their life cycle and their CSV result pages.

A job's query runs when the job is created (so its results are a snapshot); the state
seen by clients moves UploadComplete -> InProgress -> JobComplete as time passes, over
``bulk_job_delay`` seconds, without any timer: the state is computed when asked.

Like Salesforce, which writes a job's result files while the job is in progress and then
serves them, the CSV lines are rendered once, on a worker thread started with the job,
and result pages are slices of them: a page costs a join, not a rendering.
"""

from __future__ import annotations

import base64
import concurrent.futures
import dataclasses
import datetime
import re
import time
from typing import Any

from ._errors import ApiError, not_found
from ._ids import random_id
from ._query import RecordsResult
from ._values import csv_text, format_datetime, now_datetime

__all__ = ["BulkJobs", "CsvLines", "QueryJob", "render_csv"]

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
DEFAULT_MAX_RECORDS = 50_000
FINAL_STATES = ("JobComplete", "Failed", "Aborted")
# One worker: rendering is CPU-bound Python, more threads would only share the GIL.
_RENDERER = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="emulator-bulk-csv")


@dataclasses.dataclass(frozen=True)
class CsvLines:
    """A job's result as CSV text: the header line and one line per record, each ended."""

    header: str
    lines: list[str]


def _csv_column(values: list[Any], delimiter: str) -> list[str]:
    """One column's values as CSV fields, quoted only where CSV needs it."""
    texts = [v if type(v) is str else csv_text(v) for v in values]
    special = re.compile("[" + re.escape(delimiter) + '"\r\n]')
    if special.search("".join(texts)) is None:
        return texts  # the usual case: one scan of the whole column, nothing to quote
    return ['"' + text.replace('"', '""') + '"' if special.search(text) else text for text in texts]


def render_csv(result: RecordsResult, delimiter: str, line_ending: str) -> CsvLines:
    """Every record of `result` as a CSV line, column by column (several times faster than
    `csv.writer` row by row; also quotes a lone CR, which `csv.writer` leaves bare)."""
    rows = result.rows
    header = delimiter.join(_csv_column([name for name, _ in result.columns], delimiter))
    columns = [_csv_column(list(map(getter, rows)), delimiter) for _, getter in result.columns]
    if len(columns) == 1:
        # A lone blank field would make a blank line, which CSV readers skip: quote it.
        columns = [['"' + text + '"' if not text.strip() else text for text in columns[0]]]
    lines = [delimiter.join(values) + line_ending for values in zip(*columns, strict=True)]
    return CsvLines(header + line_ending, lines)


def encode_locator(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(locator + "=" * (-len(locator) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


@dataclasses.dataclass
class QueryJob:
    id: str
    operation: str
    object: str
    created_by_id: str
    created: float
    created_date: str
    query: str
    column_delimiter: str
    line_ending: str
    api_version: str
    delay: float
    result: RecordsResult | None
    failure: str | None = None
    aborted_at: str | None = None
    rendering: concurrent.futures.Future[CsvLines] | None = None

    def csv_lines(self) -> CsvLines:
        """The rendered result (waits for the renderer if a client is faster than it)."""
        assert self.rendering is not None, "only a job with a result is rendered"
        return self.rendering.result()

    def state(self, now: float) -> str:
        if self.aborted_at is not None:
            return "Aborted"
        elapsed = now - self.created
        if elapsed < self.delay / 2:
            return "UploadComplete"
        if elapsed < self.delay:
            return "InProgress"
        return "Failed" if self.failure else "JobComplete"

    def info(self, now: float, brief: bool = False) -> dict[str, Any]:
        state = self.state(now)
        finished = state in FINAL_STATES
        modstamp = self.created_date
        if finished:
            modstamp = self.aborted_at or format_datetime_at(self.created + self.delay)
        info: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by_id,
            "createdDate": self.created_date,
            "systemModstamp": modstamp,
            "state": state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
        }
        if brief:
            info["lineEnding"] = self.line_ending
            info["columnDelimiter"] = self.column_delimiter
            return info
        info.update(
            {
                "jobType": "V2Query",
                "lineEnding": self.line_ending,
                "columnDelimiter": self.column_delimiter,
                "numberRecordsProcessed": (
                    len(self.result.rows)
                    if self.result is not None and state == "JobComplete"
                    else 0
                ),
                "retries": 0,
                "totalProcessingTime": int(self.delay * 1000) if finished else 0,
                "isPkChunkingSupported": True,
            }
        )
        if state == "Failed":
            info["errorMessage"] = self.failure
        return info


def format_datetime_at(epoch: float) -> str:
    return format_datetime(datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc))


class BulkJobs:
    """All query jobs of the org, by id."""

    def __init__(self) -> None:
        self.jobs: dict[str, QueryJob] = {}

    def create(
        self,
        body: Any,
        version: str,
        user_id: str,
        delay: float,
        run_query: Any,
    ) -> QueryJob:
        """Validate a create-job body and run its query (``run_query(text, all_rows)``)."""
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize the request body")
        operation = body.get("operation")
        if operation not in ("query", "queryAll"):
            raise ApiError(400, "INVALIDJOB", f"Invalid operation: {operation}")
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ApiError(400, "INVALIDJOB", "The query property is required for query jobs")
        delimiter = body.get("columnDelimiter") or "COMMA"
        if delimiter not in DELIMITERS:
            raise ApiError(400, "INVALIDJOB", f"Invalid column delimiter: {delimiter}")
        line_ending = body.get("lineEnding") or "LF"
        if line_ending not in LINE_ENDINGS:
            raise ApiError(400, "INVALIDJOB", f"Invalid line ending: {line_ending}")
        content_type = body.get("contentType") or "CSV"
        if content_type != "CSV":
            raise ApiError(400, "INVALIDJOB", f"Invalid content type: {content_type}")
        sobject_name, result, problem = run_query(query, operation == "queryAll")
        job = QueryJob(
            id=random_id("750"),
            operation=operation,
            object=sobject_name,
            created_by_id=user_id,
            created=time.time(),
            created_date=now_datetime(),
            query=query,
            column_delimiter=delimiter,
            line_ending=line_ending,
            api_version=version,
            delay=delay,
            result=result,
            failure=(
                None
                if problem is None
                else f"InvalidBatch : Failed to process query: FUNCTIONALITY_NOT_ENABLED: {problem}"
            ),
        )
        if result is not None and problem is None:
            job.rendering = _RENDERER.submit(
                render_csv, result, DELIMITERS[delimiter], LINE_ENDINGS[line_ending]
            )
        self.jobs[job.id] = job
        return job

    def get(self, job_id: str) -> QueryJob:
        job = self.jobs.get(job_id)
        if job is None:
            raise not_found()
        return job

    def abort(self, job_id: str, body: Any) -> QueryJob:
        job = self.get(job_id)
        if not isinstance(body, dict) or body.get("state") != "Aborted":
            raise ApiError(
                400, "INVALIDJOBSTATE", "Only the state Aborted can be set on query jobs"
            )
        if job.state(time.time()) in FINAL_STATES:
            raise ApiError(400, "INVALIDJOBSTATE", "Aborting already Completed Job not allowed")
        job.aborted_at = now_datetime()
        if job.rendering is not None:
            job.rendering.cancel()  # a render not started yet never runs
        return job

    def delete(self, job_id: str) -> None:
        job = self.get(job_id)
        if job.state(time.time()) not in FINAL_STATES:
            raise ApiError(
                400, "INVALIDJOBSTATE", "The job must be complete, failed or aborted to be deleted"
            )
        del self.jobs[job_id]
        if job.rendering is not None:
            job.rendering.cancel()
        job.result = job.rendering = None  # its rows and CSV lines go with it

    def results(
        self, job_id: str, locator: str | None, max_records: str | None
    ) -> tuple[str, int, str]:
        """(CSV text, number of records, next locator or ``null``) for one result page."""
        job = self.get(job_id)
        state = job.state(time.time())
        if state != "JobComplete" or job.result is None:
            raise ApiError(
                400,
                "INVALIDJOBSTATE",
                f"Can't retrieve results of a query job in state {state}; "
                "wait until the state is JobComplete",
            )
        start = 0
        if locator:
            decoded = decode_locator(locator)
            if decoded is None or decoded > len(job.result.rows):
                raise ApiError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}")
            start = decoded
        size = DEFAULT_MAX_RECORDS
        if max_records:
            if not max_records.isdigit() or int(max_records) < 1:
                raise ApiError(400, "INVALIDPARAMETER", f"Invalid maxRecords: {max_records}")
            size = int(max_records)
        rendered = job.csv_lines()
        lines = rendered.lines[start : start + size]
        end = start + len(lines)
        next_locator = encode_locator(end) if end < len(rendered.lines) else "null"
        return rendered.header + "".join(lines), len(lines), next_locator

    def listing(self, now: float) -> dict[str, Any]:
        return {
            "done": True,
            "records": [job.info(now) for job in self.jobs.values()],
            "nextRecordsUrl": None,
        }
