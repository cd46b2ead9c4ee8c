"""Bulk API 2.0 query jobs, streamed into a typed DataFrame.

    frame = sf.bulk_query("SELECT Id, Name, CreatedDate FROM Account")

1. ``POST jobs/query`` creates the job; ``GET jobs/query/ID`` is polled (by tenacity,
   through `_retry.poll`) until it is JobComplete, each wait `POLL_SHARE` (15%) of the
   time waited so far, at least `poll_interval` and at most `MAX_POLL_INTERVAL` (5 s)
   apart: the end of the job is seen at most ~15% late (a 0.3 s job: 0.05 s; the 1.5x
   series this replaces saw it up to a third late), for a bounded number of API calls,
   which count against the org's daily limit: ~7 polls for a 0.3 s job, ~16 for 1 s, ~28
   for 5 s, ~46 for a 60 s job (the 1.5x series: 23), then 12 a minute. A poll that fails
   in transit is sent again. Failed or Aborted raise `BulkJobFailed` with Salesforce's
   ``errorMessage``; past `timeout` the job is aborted and `BulkJobFailed` raised.
   While the job runs, a helper thread fetches the describes that typing needs (the
   object's, and those of the relationships in the select list), so they are in the
   session's cache when the first page comes.
2. The CSV result pages (gzip-compressed: httpx asks for it and inflates them) come from
   ``GET jobs/query/ID/resultPages`` (API 58.0+): its links are downloaded
   `parallel_pages` at a time (the session's setting) on helper threads, each page parsed
   there too, and the pages joined in order. Before 58.0, when the resource is missing,
   or with `max_records`, the pages are chained by their ``Sforce-Locator`` header
   instead: the next one downloads while this thread parses the one before.
3. Every column is parsed as text (so ids, zip codes and phone numbers keep their
   zeros), empty → NA, number fields straight into numbers by pandas' C parser, then
   typed from describe exactly like a REST result (the table is in `_types`): each page
   on its helper thread, and the joined frame once more (a no-op for a column every
   page typed alike, and a conversion for one they did not).

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
import threading
import time
import warnings
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

import httpx

from ..core._exceptions import BulkJobFailed, SalesforceError
from ._types import import_polars, pandas_read_dtypes, type_pandas, type_polars

# `_retry` (tenacity) and `_progress` are imported where used: after the job is created,
# while it runs, instead of before the first request.

__all__ = ["BulkSession", "bulk_capable", "run_bulk_query"]

_T = TypeVar("_T")


def _retried(call: Callable[[], _T]) -> _T:
    """`_retry.call_with_retries`, its module (and tenacity) loaded on first use."""
    from ._retry import call_with_retries

    return call_with_retries(call)


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
#: Each wait between polls, as a share of the time waited so far (see the docstring).
POLL_SHARE = 0.15
_FINAL_STATES = frozenset({"JobComplete", "Failed", "Aborted"})
_FROM = re.compile(r"\bFROM\s+([A-Za-z0-9_]+)", re.IGNORECASE)
_SELECT_LIST = re.compile(r"^\s*SELECT\s+(.*?)\s+FROM\s", re.IGNORECASE | re.DOTALL)
_FIELD_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def selected_fields(soql: str) -> list[str]:
    """The plain field paths of `soql`'s select list (``Name``, ``Owner.Name``), in order;
    functions, aliases and anything else left out (they are typed from the header)."""
    match = _SELECT_LIST.match(soql)
    if match is None:
        return []
    items = (item.strip() for item in match.group(1).split(","))
    return [item for item in items if _FIELD_PATH.fullmatch(item)]


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
    (`_retry.poll`, `_retry.call_with_retries`), each wait `POLL_SHARE` of the time
    waited so far (see the module docstring for the number of polls)."""
    from ._retry import poll

    def fetch() -> dict[str, Any]:
        info: dict[str, Any] = _retried(lambda: session.get(_job_path(job_id)))
        return info

    info = poll(
        fetch,
        lambda answer: answer.get("state") in _FINAL_STATES,
        first=poll_interval,
        maximum=MAX_POLL_INTERVAL,
        timeout=timeout,
        sleep=lambda seconds: time.sleep(seconds),  # looked up at call time (tests replace it)
        proportional=POLL_SHARE,
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
    response = _retried(
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


RESULT_PAGES_VERSION = 58.0


def _result_links(session: BulkSession, job_id: str) -> list[str] | None:
    """Every result page's link from ``resultPages`` (five an answer, followed by
    ``nextRecordsUrl``), or None where the org does not serve it (API before 58.0)."""
    try:
        version = float(str(getattr(session, "api_version", "0")))
    except ValueError:
        version = 0.0
    if version < RESULT_PAGES_VERSION:
        return None
    links: list[str] = []
    path = _job_path(job_id) + "/resultPages"
    while path:
        try:
            answer = _retried(partial(session.get, path))
        except SalesforceError as error:
            if error.status_code in (404, 405, 501) and not links:
                return None  # not served here: the caller follows the locator chain
            raise
        if not isinstance(answer, dict):
            return None
        for page in answer.get("resultPages") or answer.get("resultChunks") or []:
            link = (
                (page.get("resultLink") or page.get("resultUrl"))
                if isinstance(page, dict)
                else None
            )
            if isinstance(link, str) and link:
                links.append(link)
        following = answer.get("nextRecordsUrl") or answer.get("nextRecordUrl")
        path = "" if answer.get("done", True) or not following else str(following)
    return links or None


def _fetch_link(session: BulkSession, link: str) -> _Page:
    response = _retried(lambda: session.send("GET", link, headers={"Accept": "text/csv"}))
    return _Page(
        body=response.content,
        records=int(response.headers.get("Sforce-NumberOfRecords") or 0),
        locator=None,
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


def _read_pandas(body: bytes, types: dict[str, str] | None) -> Any:
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


def _parse_pandas(body: bytes, types: dict[str, str] | None = None, *, typed: bool = False) -> Any:
    """A page as a DataFrame: numeric columns parsed as numbers (far faster than
    converting text afterwards), the rest as text; only an empty field is missing
    ("NA" is a real value). `typed`: the other columns typed too (`type_pandas`)."""
    frame = _read_pandas(body, types)
    return type_pandas(frame, types) if typed else frame


def _parse_polars(body: bytes, types: dict[str, str] | None = None, *, typed: bool = False) -> Any:
    """A page as a polars DataFrame of text. Typed only once joined (`type_polars` casts
    in parallel, off the GIL, and text pages always join), whatever `typed` says."""
    import polars as pl

    del types, typed
    # Salesforce quotes every field, a null too (`""`): only an empty field is missing.
    return pl.read_csv(io.BytesIO(body), infer_schema=False, null_values=[""])


# -- the whole query ----------------------------------------------------------------------


class _Typing:
    """The column types of the result, from the header of whichever page comes first
    (one describe walk, whatever the number of threads asking).

    `ahead` starts the walk for the select list's fields on a helper thread while the job
    runs: when the header names the same columns (the usual case), its answer is used;
    otherwise the header's walk finds the describes in the session's cache."""

    def __init__(self, session: BulkSession, sobject: str, typed: bool) -> None:
        self.session = session
        self.sobject = sobject
        self.typed = typed
        self.types: dict[str, str] | None = None
        self.lock = threading.Lock()
        self.early: tuple[list[str], concurrent.futures.Future[dict[str, str]]] | None = None

    def ahead(self, pool: concurrent.futures.Executor, soql: str) -> None:
        fields = selected_fields(soql) if self.typed else []
        if fields:
            self.early = fields, pool.submit(self.session.field_types, self.sobject, fields)

    def _early_types(self, columns: list[str]) -> dict[str, str] | None:
        if self.early is None:
            return None
        fields, future = self.early
        try:
            found = future.result()  # also: the describes are cached before asking again
        except Exception:  # typing is a nicety: the header's walk tries again
            return None
        return found if fields == columns else None

    def of(self, body: bytes) -> dict[str, str]:
        with self.lock:
            if self.types is None:
                columns = _header(body)
                early = self._early_types(columns)
                if not self.typed:
                    self.types = {}
                elif early is not None:
                    self.types = early
                else:
                    self.types = self.session.field_types(self.sobject, columns)
            return self.types


def _parallel_frames(
    session: BulkSession,
    links: list[str],
    parse: Any,
    typing: _Typing,
    workers: int,
    advance: Any,
) -> list[Any]:
    """Each link downloaded, parsed and typed on a helper thread, at most `workers` at
    once (so at most that many pages wait in memory); the frames in the links' order."""

    def load(link: str) -> tuple[int, Any]:
        page = _fetch_link(session, link)
        if not page.body.strip():
            return page.records, None
        return page.records, parse(page.body, typing.of(page.body), typed=True)

    frames: list[Any] = []
    pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="aksf-bulk")
    try:
        pending = collections.deque(pool.submit(load, link) for link in links[:workers])
        following = iter(links[workers:])
        while pending:
            records, frame = pending.popleft().result()
            link = next(following, None)
            if link is not None:
                pending.append(pool.submit(load, link))
            if frame is not None:
                frames.append(frame)
            advance(records)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return frames


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

    `max_records` caps the rows per result page (Salesforce picks otherwise; given, the
    pages are read one after another by locator); `timeout` bounds the wait for the job,
    in seconds; `typed=False` keeps every column as text. See the module docstring.
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
    typing = _Typing(session, sobject, typed)
    helper = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="aksf-bulk-describe")
    try:
        typing.ahead(helper, soql)
        info = _wait(session, job_id, poll_interval=poll_interval, timeout=timeout)
        total = int(info.get("numberRecordsProcessed") or 0)
        show = progress if progress is not None else session.progress
        from ._progress import make_progress

        bar = make_progress(total, enabled=show, label="Bulk query")
        try:
            links = None if max_records else _result_links(session, job_id)
            if links is not None:
                workers = max(1, int(getattr(session, "parallel_pages", 4) or 1))
                frames = _parallel_frames(session, links, parse, typing, workers, bar.advance)
            else:
                for page in _pages(session, job_id, max_records):
                    if page.body.strip():
                        frames.append(parse(page.body, typing.of(page.body), typed=True))
                    bar.advance(page.records)
        finally:
            bar.close()
    except KeyboardInterrupt:
        _abort(session, job_id)
        raise
    finally:
        helper.shutdown(wait=False, cancel_futures=True)
    types = typing.types
    if engine == "polars":
        return type_polars(_concat_polars(frames), types)
    return type_pandas(_concat_pandas(frames), types)
