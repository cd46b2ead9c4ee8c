"""Writes through Bulk API 2.0 ingest jobs, every row's outcome put back in place.

For each part of the rows (`WriteJob.part_rows` rows, Salesforce's own 10,000-record
chunk, in a CSV of at most `WriteJob.part_bytes`, its 100 MB advice for its 150 MB limit),
one job, several at once (`WriteJob.parallel`), so that building the next CSV and
matching the last results overlap with Salesforce's work:

1. ``POST jobs/ingest`` ``{object, operation, externalIdFieldName, contentType: CSV,
   lineEnding: LF}``;
2. ``PUT`` the CSV to the job's ``contentUrl``, then ``PATCH {"state": "UploadComplete"}``;
3. ``GET jobs/ingest/ID`` polled with backoff (tenacity, `_retry.poll`), moving the
   progress bar by ``numberRecordsProcessed``/``numberRecordsFailed``, until JobComplete,
   Failed or Aborted;
4. ``successfulResults/``, ``failedResults/`` and ``unprocessedrecords/`` matched back
   to their rows (`_write_results.Matcher`: the result files are in no particular order);
   a file the job's counts say is empty is not asked for.

Rows sending exactly the same fields go to separate jobs (`Matcher.rounds`), so that even
twins get their own outcome. Rows that failed with ``UNABLE_TO_LOCK_ROW`` are sent again
in a new job after a jittered wait, within the retry policy's attempts.

Ctrl-C aborts every job still running at Salesforce (``PATCH {"state": "Aborted"}``),
collects what Salesforce did process, marks the rest ``NOT_PROCESSED`` and raises
`WriteInterrupted` (a KeyboardInterrupt) carrying the result frame.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import operator
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx

from ..core._exceptions import SalesforceError
from ._futures import wait_interruptibly
from ._retry import RETRYABLE_ROW_CODES, call_with_retries, poll
from ._write_fields import KEYED_OPERATIONS
from ._write_job import WriteJob
from ._write_results import (
    NOT_PROCESSED,
    RESULT_MISSING,
    Matcher,
    RowKeys,
    apply_bulk_file,
)
from ._write_values import CSV_NULL

__all__ = ["MAX_ROUNDS", "BulkRun", "csv_body", "run_bulk"]

#: Jobs at most that twins (rows sending the same fields) are spread over.
MAX_ROUNDS = 8
_FINAL = frozenset({"JobComplete", "Failed", "Aborted"})
_RESULT_FILES = (
    ("successful", "successfulResults/"),
    ("failed", "failedResults/"),
    ("unprocessed", "unprocessedrecords/"),
)


def _path(job_id: str = "", tail: str = "") -> str:
    return "jobs/ingest" + (f"/{job_id}" if job_id else "") + (f"/{tail}" if tail else "")


def _empty_file(kind: str, info: dict[str, Any], rows: int) -> bool:
    """Whether a complete job's counts say its `kind` result file has no line (one
    request fewer: every row processed leaves nothing unprocessed, no failure leaves the
    failed file empty). Without both counts, every file is read."""
    processed, failed = info.get("numberRecordsProcessed"), info.get("numberRecordsFailed")
    if info.get("state") != "JobComplete" or processed is None or failed is None:
        return False
    processed, failed = int(processed), int(failed)
    if kind == "unprocessed":
        return processed >= rows
    if kind == "failed":
        return failed == 0
    return processed == failed


@dataclasses.dataclass
class _Part:
    """The rows of one job; their CSV text is built by the worker that sends it."""

    rows: list[int]


def _quoted(texts: list[str]) -> list[str]:
    """One column's CSV fields, quoted as `csv.writer`'s QUOTE_MINIMAL would: only a
    field holding a comma, a quote, a CR or an LF (one scan of the column decides the
    usual case, where no field needs it)."""
    joined = "".join(texts)
    if "," not in joined and '"' not in joined and "\n" not in joined and "\r" not in joined:
        return texts
    return [
        '"' + text.replace('"', '""') + '"'
        if ("," in text or '"' in text or "\n" in text or "\r" in text)
        else text
        for text in texts
    ]


def csv_body(names: Sequence[str], columns: Sequence[list[str]]) -> bytes:
    """The CSV upload: the header and one line per row, built column by column (several
    times faster than `csv.writer` row by row, and read back identically by it)."""
    quoted = [_quoted(column) for column in columns]
    if len(quoted) == 1:
        # A line of one empty field would be a blank line, which CSV readers skip.
        quoted = [[text or '""' for text in quoted[0]]]
    lines = [",".join(_quoted(list(names)))]
    lines.extend(map(",".join, zip(*quoted, strict=True)))
    return ("\n".join(lines) + "\n").encode("utf-8")


class BulkRun:
    """The Bulk API side of one write: its parts, their jobs, Ctrl-C.

    A row's CSV fields are computed by the worker that sends its part and dropped once
    the part's results are matched, so a large write never holds every row's text at
    once (a retry computes them again).
    """

    def __init__(self, job: WriteJob) -> None:
        self.job = job
        self.names = [c.name for c in job.plan.columns]
        self.columns = job.column_values()
        self.key_column = next(
            (i for i, c in enumerate(job.plan.columns) if c.column == job.plan.key), None
        )
        self.cancelled = threading.Event()
        self._running: dict[str, bool] = {}  # job id → final
        self._lock = threading.Lock()
        # One part's CSV is built at a time: the work is CPU-bound under the GIL, so
        # workers building together would all finish late, where one after another the
        # first job starts as soon as its own CSV is ready.
        self._building = threading.Lock()

    # -- the CSV parts -------------------------------------------------------------

    def texts(self, rows: Sequence[int]) -> list[list[str]]:
        """The CSV fields of `rows`, column by column."""
        return [c.converter.texts([values[r] for r in rows]) for c, values in self.columns]

    def _keys_unique(self, rows: Sequence[int]) -> bool:
        """Whether every row names its own record (an Id or external id no other row
        names, as Salesforce compares them), so rows can go to any job."""
        if self.key_column is None:
            return False
        column, values = self.columns[self.key_column]
        texts = column.converter.texts([values[r] for r in rows])
        # `map` over the str methods: a third of a set comprehension's time at 100k rows.
        if self.job.operation in KEYED_OPERATIONS:
            seen = set(map(operator.itemgetter(slice(15)), texts))
        else:
            seen = set(map(str.casefold, map(str.strip, texts)))
        return len(seen) == len(texts) and not seen & {"", CSV_NULL.casefold()}

    def _rounds(self, rows: Sequence[int]) -> list[int]:
        """`Matcher.rounds` on the rows' fields, one slice of rows at a time (a row's
        fields as a hash: a rare collision only sends a row to a job of its own)."""
        step = self.job.part_rows
        digests: list[int] = []
        for start in range(0, len(rows), step):
            digests.extend(map(hash, zip(*self.texts(rows[start : start + step]), strict=True)))
        return Matcher.rounds(digests, MAX_ROUNDS)

    def parts(self, rows: Sequence[int]) -> list[_Part]:
        """The jobs to run for `rows`: twins in separate rounds, each round in parts of
        `WriteJob.part_rows` (so the first job is processing while the next one's CSV is
        built, and each job's results are matched while later jobs run). Rows that name
        the same record stay in one job, where Salesforce reports the duplicate, instead
        of racing each other from two."""
        unique = self._keys_unique(rows)
        if unique:  # rows naming different records cannot be twins: one round
            groups = [list(rows)]
        else:
            grouped: dict[int, list[int]] = {}
            for row, number in zip(rows, self._rounds(rows), strict=True):
                grouped.setdefault(number, []).append(row)
            groups = [grouped[number] for number in sorted(grouped)]
        split = unique or self.job.operation == "insert"
        found: list[_Part] = []
        for group in groups:
            step = self.job.part_rows if split else len(group)
            found.extend(_Part(group[start : start + step]) for start in range(0, len(group), step))
        return found

    # -- one job ---------------------------------------------------------------------

    def _send(self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any) -> Any:
        response = call_with_retries(
            lambda: self.job.session.send(method, path, **kwargs),
            idempotent=idempotent,
            policy=self.job.policy,
        )
        return response

    def _create(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "object": self.job.sobject,
            "operation": self.job.operation,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }
        if self.job.operation == "upsert":
            key = next(c for c in self.job.plan.columns if c.column == self.job.plan.key)
            body["externalIdFieldName"] = key.name
        info: dict[str, Any] = self._send("POST", _path(), json=body).json()
        return info

    def _upload(self, info: dict[str, Any], body: bytes) -> None:
        url = str(info.get("contentUrl") or _path(str(info["id"]), "batches"))
        if url.startswith("services/"):
            url = "/" + url
        # Not repeated after a broken connection: a second upload could add the rows twice.
        self._send("PUT", url, idempotent=False, content=body, headers={"Content-Type": "text/csv"})
        self._send("PATCH", _path(str(info["id"])), json={"state": "UploadComplete"})

    def _sleep(self, seconds: float) -> None:
        # Ctrl-C wakes the pollers at once; after it, polls stay a little apart.
        if self.cancelled.wait(seconds):
            time.sleep(min(seconds, 0.2))

    def _wait(self, job_id: str, part: _Part, shown: list[int]) -> dict[str, Any]:
        def fetch() -> dict[str, Any]:
            info: dict[str, Any] = self._send("GET", _path(job_id)).json()
            done = min(len(part.rows), int(info.get("numberRecordsProcessed") or 0))
            failed = min(done, int(info.get("numberRecordsFailed") or 0))
            self.job.report(done - shown[0], failed - shown[1])
            shown[0], shown[1] = done, failed
            return info

        info = poll(
            fetch,
            lambda answer: answer.get("state") in _FINAL,
            first=self.job.poll_interval,
            maximum=self.job.max_poll_interval,
            timeout=self.job.timeout,
            sleep=self._sleep,
            proportional=0.15,  # seen at most 15% late: a write's caller is waiting
        )
        if info.get("state") not in _FINAL:  # timed out: stop it, keep what it did
            self.abort(job_id)
            info = self._send("GET", _path(job_id)).json()
        return dict(info)

    def _results(self, job_id: str, part: _Part, keys: RowKeys, info: dict[str, Any]) -> None:
        outcomes = self.job.outcomes
        state = str(info.get("state") or "")
        reason = ""
        if state == "Aborted":
            reason = f"job {job_id} was aborted"
        elif state == "Failed":
            reason = f"job {job_id} failed: {info.get('errorMessage') or 'no reason given'}"
        matcher = Matcher(
            self.names,
            keys,
            part.rows,
            key_column=self.key_column,
            id_key=self.job.operation in KEYED_OPERATIONS,
        )
        for kind, tail in _RESULT_FILES:
            if _empty_file(kind, info, len(part.rows)):
                continue
            response = self._send("GET", _path(job_id, tail), headers={"Accept": "text/csv"})
            apply_bulk_file(
                outcomes,
                matcher,
                response.content,
                kind=kind,
                operation=self.job.operation,
                reason=reason,
            )
        for row in part.rows:
            if outcomes.answered[row]:
                continue
            if state == "JobComplete":
                outcomes.fail(
                    row,
                    RESULT_MISSING,
                    f"Salesforce's result files for job {job_id} have no line for this row, so "
                    "its outcome is unknown; check the record before sending it again.",
                )
            else:
                outcomes.fail(row, NOT_PROCESSED, f"Not processed: {reason}.")

    def _fail_part(self, part: _Part, error: BaseException, job_id: str | None) -> None:
        if isinstance(error, SalesforceError):
            code, message, fields = error.error_code or "UNKNOWN_ERROR", error.message, error.fields
        else:
            code, message, fields = (
                "CONNECTION_FAILED",
                f"Salesforce could not be reached ({type(error).__name__})"
                + (f" for job {job_id}" if job_id else "")
                + "; this row was not written.",
                [],
            )
        for row in part.rows:
            if not self.job.outcomes.answered[row]:
                self.job.outcomes.fail(row, code, message, fields)

    def run_part(self, part: _Part) -> None:
        """One job for `part`: build its CSV, create, upload, wait, results; never raises
        Salesforce's or the network's errors (they become the rows' outcomes)."""
        outcomes = self.job.outcomes
        for row in part.rows:
            outcomes.answered[row] = False
        if self.cancelled.is_set():
            for row in part.rows:
                outcomes.fail(row, NOT_PROCESSED, "Not sent: the write was interrupted.")
            self.job.report(len(part.rows), len(part.rows))
            return
        with self._building:
            columns = self.texts(part.rows)
            body = csv_body(self.names, columns)
        if len(body) > self.job.part_bytes and len(part.rows) > 1:
            del body, columns  # past Salesforce's upload limit: two jobs, one after the other
            half = len(part.rows) // 2
            self.run_part(_Part(part.rows[:half]))
            self.run_part(_Part(part.rows[half:]))
            return
        keys = RowKeys(columns)
        shown = [0, 0]
        job_id: str | None = None
        try:
            info = self._create()
            job_id = str(info["id"])
            with self._lock:
                self.job.job_ids.append(job_id)
                self._running[job_id] = False
            if self.cancelled.is_set():
                self.abort(job_id)
            else:
                self._upload(info, body)
            del body
            final = self._wait(job_id, part, shown)
            with self._lock:
                self._running[job_id] = True
            self._results(job_id, part, keys, final)
        except (SalesforceError, httpx.TransportError) as error:
            self._fail_part(part, error, job_id)
        finally:
            failed = sum(1 for r in part.rows if not outcomes.success[r])
            self.job.report(len(part.rows) - shown[0], failed - shown[1])

    # -- Ctrl-C ------------------------------------------------------------------------

    def abort(self, job_id: str) -> None:
        """Abort the job at Salesforce (an error here, e.g. already complete, is moot)."""
        with contextlib.suppress(SalesforceError, httpx.TransportError):
            self.job.session.send("PATCH", _path(job_id), json={"state": "Aborted"})

    def abort_running(self) -> list[str]:
        """Abort every job not known to be final; their ids."""
        self.cancelled.set()
        with self._lock:
            running = [job_id for job_id, final in self._running.items() if not final]
        for job_id in running:
            self.abort(job_id)
        return running

    # -- the whole write -----------------------------------------------------------------

    def run_parts(self, parts: list[_Part]) -> None:
        workers = max(1, min(self.job.parallel, len(parts)))
        pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="aksf-ingest")
        futures = [pool.submit(self.run_part, part) for part in parts]
        try:
            wait_interruptibly(futures)
        except KeyboardInterrupt:
            self.abort_running()
            # The workers see their jobs end Aborted and fetch what was processed.
            concurrent.futures.wait(futures, timeout=120)
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def run_bulk(job: WriteJob, rows: Sequence[int]) -> BulkRun:
    """Write `rows` (positions in the input) through Bulk API 2.0 ingest jobs."""
    run = BulkRun(job)
    pending = list(rows)
    for attempt in range(1, max(1, job.policy.attempts) + 1):
        run.run_parts(run.parts(pending))
        pending = [r for r in pending if job.outcomes.error_code[r] in RETRYABLE_ROW_CODES]
        if not pending or attempt == job.policy.attempts:
            break
        job.policy.sleep(job.policy.delay(attempt))
        job.report(-len(pending), -len(pending))
    return run
