"""Bulk API 2.0 query jobs, streamed into a typed DataFrame.

    frame = sf.bulk_query("SELECT Id, Name, CreatedDate FROM Account")

1. ``POST jobs/query`` creates the job; ``GET jobs/query/ID`` is polled with backoff
   (from `poll_interval`, 1.5 times longer each poll, at most 5 s apart, by tenacity
   through `_retry.poll`) until it is JobComplete; a poll that fails in transit is sent again.
   Failed or Aborted raise `BulkJobFailed` with Salesforce's ``errorMessage``; past
   `timeout` the job is aborted and `BulkJobFailed` raised.
2. The CSV result pages are chained by their ``Sforce-Locator`` header, so the next page
   is requested as soon as a page's headers arrive, on a helper thread, while this thread
   parses the page before: download and parsing overlap.
3. Every column is parsed as text (so ids, zip codes and phone numbers keep their
   zeros), empty → NA, number fields straight into numbers, then typed from describe
   exactly like a REST result (the table is in `_types`).

Ctrl-C while the job runs or its pages download aborts the job at Salesforce
(``PATCH {"state": "Aborted"}``; a job already complete is deleted instead, dropping its
stored results), then the KeyboardInterrupt goes on.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import csv
import io
import re
import time
import warnings
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from ..core._exceptions import BulkJobFailed, SalesforceError
from ._progress import make_progress
from ._retry import call_with_retries, poll
from ._types import import_polars, pandas_read_dtypes, type_pandas, type_polars

__all__ = ["BulkSession", "bulk_capable", "run_bulk_query"]


class BulkSession(Protocol):
    """What a Bulk API query needs of a session (`Session` is one)."""

    @property
    def progress(self) -> bool | None: ...

    def get(self, path: str, **kwargs: Any) -> Any: ...
    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any: ...
    def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any: ...
    def delete(self, path: str, /, **kwargs: Any) -> Any: ...
    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response: ...
    def url(self, path: str) -> str: ...
    def field_types(self, sobject: str | None, columns: Iterable[str]) -> dict[str, str]: ...


def bulk_capable(soql: str) -> bool:
    """Whether Bulk API 2.0 can run `soql`: it refuses subqueries and aggregates, which
    stay on REST."""
    text = "".join(soql.upper().split())
    return "(SELECT" not in text and not any(
        word in text for word in ("GROUPBY", "COUNT(", "SUM(", "AVG(", "MIN(", "MAX(")
    )


MAX_POLL_INTERVAL = 5.0
_FINAL_STATES = frozenset({"JobComplete", "Failed", "Aborted"})
_FROM = re.compile(r"\bFROM\s+([A-Za-z0-9_]+)", re.IGNORECASE)


def _job_path(job_id: str = "") -> str:
    return "jobs/query" + (f"/{job_id}" if job_id else "")


# -- the job ----------------------------------------------------------------------------


def _create(session: BulkSession, soql: str, include_deleted: bool) -> dict[str, Any]:
    body = {
        "operation": "queryAll" if include_deleted else "query",
        "query": soql,
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    }
    job: dict[str, Any] = session.post(_job_path(), json=body)
    return job


def _failed(
    session: BulkSession, job_id: str, info: dict[str, Any], why: str = ""
) -> BulkJobFailed:
    state = str(info.get("state") or "")
    reason = why or str(info.get("errorMessage") or "") or "Salesforce gave no reason"
    return BulkJobFailed(
        f"Bulk API query job {job_id} ended {state}: {reason}",
        error_code=state.upper() if not why else "TIMEOUT",
        method="GET",
        url=session.url(_job_path(job_id)),
        errors=[{"message": reason, "errorCode": state, "fields": []}],
    )


def _wait(
    session: BulkSession, job_id: str, *, poll_interval: float, timeout: float
) -> dict[str, Any]:
    """Poll until the job is final; its last info. Raises `BulkJobFailed` unless complete.

    The polling (and the retrying of a poll that failed in transit) is tenacity's
    (`_retry.poll`, `_retry.call_with_retries`)."""

    def fetch() -> dict[str, Any]:
        info: dict[str, Any] = call_with_retries(lambda: session.get(_job_path(job_id)))
        return info

    info = poll(
        fetch,
        lambda answer: answer.get("state") in _FINAL_STATES,
        first=poll_interval,
        maximum=MAX_POLL_INTERVAL,
        timeout=timeout,
        sleep=lambda seconds: time.sleep(seconds),  # looked up at call time (tests replace it)
    )
    state = info.get("state")
    if state == "JobComplete":
        return info
    if state in ("Failed", "Aborted"):
        raise _failed(session, job_id, info)
    _abort(session, job_id)
    raise _failed(
        session,
        job_id,
        {"state": "Aborted"},
        f"it did not complete within {timeout:g} s (last state {state}), so it was "
        "aborted. Pass a longer timeout= for a long job.",
    )


def _abort(session: BulkSession, job_id: str) -> None:
    """Abort the job; a job that already completed is deleted (its results dropped)."""
    try:
        session.patch(_job_path(job_id), json={"state": "Aborted"})
    except SalesforceError:
        with contextlib.suppress(SalesforceError):
            session.delete(_job_path(job_id))


# -- the result pages ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Page:
    body: bytes
    records: int
    locator: str | None


def _fetch_page(
    session: BulkSession, job_id: str, locator: str | None, max_records: int | None
) -> _Page:
    params: dict[str, Any] = {}
    if max_records:
        params["maxRecords"] = max_records
    if locator:
        params["locator"] = locator
    response = call_with_retries(
        lambda: session.send(
            "GET", _job_path(job_id) + "/results", params=params, headers={"Accept": "text/csv"}
        )
    )
    following = response.headers.get("Sforce-Locator")
    return _Page(
        body=response.content,
        records=int(response.headers.get("Sforce-NumberOfRecords") or 0),
        locator=None if not following or following == "null" else following,
    )


def _pages(
    session: BulkSession, job_id: str, max_records: int | None
) -> Generator[_Page, None, None]:
    """Every result page in order, the next one downloading while the caller parses."""
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="aksf-bulk")
    try:
        future: concurrent.futures.Future[_Page] | None = pool.submit(
            _fetch_page, session, job_id, None, max_records
        )
        while future is not None:
            page = future.result()
            future = (
                pool.submit(_fetch_page, session, job_id, page.locator, max_records)
                if page.locator
                else None
            )
            yield page
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


# -- parsing ----------------------------------------------------------------------------


def _concat_pandas(frames: list[Any]) -> Any:
    import pandas as pd

    if not frames:
        return pd.DataFrame()
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _concat_polars(frames: list[Any]) -> Any:
    import polars as pl

    if not frames:
        return pl.DataFrame()
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical")


def _header(body: bytes) -> list[str]:
    """The column names of a CSV result page (its first line)."""
    first = body.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8")
    return next(csv.reader([first]), [])


# Only an empty field is missing ("NA" is a real value); a line holding only spaces is a
# record (a one-column result whose value is blank), not a blank line to skip.
_READ_OPTIONS: dict[str, Any] = {
    "keep_default_na": False,
    "na_values": [""],
    "skip_blank_lines": False,
    "engine": "c",
}


def _parse_pandas(body: bytes, types: dict[str, str] | None = None) -> Any:
    """A page as a DataFrame: numeric columns parsed as numbers (far faster than
    converting text afterwards), the rest as text; only an empty field is missing
    ("NA" is a real value)."""
    import pandas as pd

    numeric = pandas_read_dtypes(types)
    if numeric:
        dtypes: Any = collections.defaultdict(lambda: str, numeric)
        # A value that is not a number, or past int64: read as text, typed afterwards.
        # (A lossy cast only warns before it fails: make it fail at once, quietly.)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            with contextlib.suppress(ValueError, TypeError, OverflowError, RuntimeWarning):
                return pd.read_csv(io.BytesIO(body), dtype=dtypes, **_READ_OPTIONS)
    return pd.read_csv(io.BytesIO(body), dtype=str, **_READ_OPTIONS)


def _parse_polars(body: bytes, types: dict[str, str] | None = None) -> Any:
    import polars as pl

    del types  # polars casts after reading (see `type_polars`), which is already fast
    # Salesforce quotes every field, a null too (`""`): only an empty field is missing.
    return pl.read_csv(io.BytesIO(body), infer_schema=False, null_values=[""])


# -- the whole query ----------------------------------------------------------------------


def run_bulk_query(
    session: BulkSession,
    soql: str,
    *,
    include_deleted: bool = False,
    engine: str = "pandas",
    max_records: int | None = None,
    poll_interval: float = 0.05,
    progress: bool | None = None,
    timeout: float = 3600.0,
    typed: bool = True,
) -> Any:
    """Run `soql` as a Bulk API 2.0 query job; its whole result as a DataFrame.

    `max_records` caps the rows per result page (Salesforce picks otherwise);
    `timeout` bounds the wait for the job, in seconds; `typed=False` keeps every column
    as text. See the module docstring.
    """
    if engine not in ("pandas", "polars"):
        raise ValueError(f"engine must be 'pandas' or 'polars', not {engine!r}")
    if engine == "polars":
        import_polars()  # before the job is created: say how to install it, not fail later
    parse = _parse_polars if engine == "polars" else _parse_pandas
    job = _create(session, soql, include_deleted)
    job_id = str(job["id"])
    sobject = str(job.get("object") or "")
    if not sobject:
        match = _FROM.search(soql)
        sobject = match.group(1) if match else ""
    frames: list[Any] = []
    types: dict[str, str] | None = None
    try:
        info = _wait(session, job_id, poll_interval=poll_interval, timeout=timeout)
        total = int(info.get("numberRecordsProcessed") or 0)
        show = progress if progress is not None else session.progress
        bar = make_progress(total, enabled=show, label="Bulk query")
        try:
            for page in _pages(session, job_id, max_records):
                if not page.body.strip():
                    continue
                if types is None:  # typed from the first page's header, for every page
                    columns = _header(page.body)
                    types = session.field_types(sobject, columns) if typed else {}
                frames.append(parse(page.body, types))
                bar.advance(page.records)
        finally:
            bar.close()
    except KeyboardInterrupt:
        _abort(session, job_id)
        raise
    if engine == "polars":
        return type_polars(_concat_polars(frames), types)
    return type_pandas(_concat_pandas(frames), types)
