"""Bulk API 2.0 query jobs, streamed into a typed DataFrame.

    frame = sf.bulk_query("SELECT Id, Name, CreatedDate FROM Account")

1. ``POST jobs/query`` creates the job; ``GET jobs/query/ID`` is polled with backoff
   (from `poll_interval`, 1.5 times longer each poll, at most 5 s apart) until it is JobComplete.
   Failed or Aborted raise `BulkJobFailed` with Salesforce's ``errorMessage``; past
   `timeout` the job is aborted and `BulkJobFailed` raised.
2. The CSV result pages are chained by their ``Sforce-Locator`` header, so the next page
   is requested as soon as a page's headers arrive, on a helper thread, while this thread
   parses the page before: download and parsing overlap.
3. Every column is parsed as text (so ids, zip codes and phone numbers keep their
   zeros), empty → NA, then typed from describe like a REST result: int → Int64,
   double/currency/percent → Float64, boolean → boolean, date → datetime64, datetime →
   datetime64 UTC (polars: Int64, Float64, Boolean, Date, Datetime UTC).

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
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core._exceptions import BulkJobFailed, SalesforceError
from ._api_errors import raise_for_salesforce_error
from ._progress import make_progress

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["run_bulk_query", "typed_pandas", "typed_polars"]

MAX_POLL_INTERVAL = 5.0
_FROM = re.compile(r"\bFROM\s+([A-Za-z0-9_]+)", re.IGNORECASE)
_FINAL_STATES = ("JobComplete", "Failed", "Aborted")


def _job_path(job_id: str = "") -> str:
    return "jobs/query" + (f"/{job_id}" if job_id else "")


# -- the job ----------------------------------------------------------------------------


def _create(session: Session, soql: str, include_deleted: bool) -> dict[str, Any]:
    body = {
        "operation": "queryAll" if include_deleted else "query",
        "query": soql,
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    }
    job: dict[str, Any] = session.post(_job_path(), json=body)
    return job


def _failed(session: Session, job_id: str, info: dict[str, Any], why: str = "") -> BulkJobFailed:
    state = str(info.get("state") or "")
    reason = why or str(info.get("errorMessage") or "") or "Salesforce gave no reason"
    return BulkJobFailed(
        f"Bulk API query job {job_id} ended {state}: {reason}",
        error_code=state.upper() if not why else "TIMEOUT",
        method="GET",
        url=session._url(_job_path(job_id)),
        errors=[{"message": reason, "errorCode": state, "fields": []}],
    )


def _wait(session: Session, job_id: str, *, poll_interval: float, timeout: float) -> dict[str, Any]:
    """Poll until the job is final; its last info. Raises `BulkJobFailed` unless complete."""
    delay = max(poll_interval, 0.001)
    deadline = time.monotonic() + timeout
    while True:
        info: dict[str, Any] = session.get(_job_path(job_id))
        state = info.get("state")
        if state == "JobComplete":
            return info
        if state in ("Failed", "Aborted"):
            raise _failed(session, job_id, info)
        if time.monotonic() + delay > deadline:
            _abort(session, job_id)
            raise _failed(
                session,
                job_id,
                {"state": "Aborted"},
                f"it did not complete within {timeout:g} s (last state {state}), so it was "
                "aborted. Pass a longer timeout= for a long job.",
            )
        time.sleep(delay)
        delay = min(delay * 1.5, MAX_POLL_INTERVAL)


def _abort(session: Session, job_id: str) -> None:
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
    session: Session, job_id: str, locator: str | None, max_records: int | None
) -> _Page:
    params: dict[str, Any] = {}
    if max_records:
        params["maxRecords"] = max_records
    if locator:
        params["locator"] = locator
    response = session._http.get(
        session._url(_job_path(job_id) + "/results"),
        params=params,
        headers={"Accept": "text/csv"},
    )
    info = response.headers.get("Sforce-Limit-Info")
    if info:
        session.last_limit_info = info
    raise_for_salesforce_error(response)
    following = response.headers.get("Sforce-Locator")
    return _Page(
        body=response.content,
        records=int(response.headers.get("Sforce-NumberOfRecords") or 0),
        locator=None if not following or following == "null" else following,
    )


def _pages(session: Session, job_id: str, max_records: int | None) -> Generator[_Page, None, None]:
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


# -- typing -----------------------------------------------------------------------------


def typed_pandas(frames: list[Any], types: dict[str, str]) -> Any:
    """One pandas DataFrame of the text `frames`, its columns typed by Salesforce type."""
    import pandas as pd

    if not frames:
        return pd.DataFrame()
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    for column, sf_type in types.items():
        if column not in frame.columns:
            continue
        values = frame[column]
        if sf_type in _NUMERIC_DTYPES and str(values.dtype) == _NUMERIC_DTYPES[sf_type]:
            continue  # the CSV parser typed it already
        try:
            if sf_type == "int":
                frame[column] = pd.to_numeric(values, errors="coerce").astype("Int64")
            elif sf_type in ("double", "currency", "percent"):
                frame[column] = pd.to_numeric(values, errors="coerce").astype("Float64")
            elif sf_type == "boolean":
                frame[column] = values.map({"true": True, "false": False}).astype("boolean")
            elif sf_type == "date":
                frame[column] = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
            elif sf_type == "datetime":
                frame[column] = pd.to_datetime(values, utc=True, errors="coerce")
        except (TypeError, ValueError):
            continue  # leave a column we cannot type as text
    return frame


def typed_polars(frames: list[Any], types: dict[str, str]) -> Any:
    """One polars DataFrame of the text `frames`, its columns typed by Salesforce type."""
    import polars as pl

    if not frames:
        return pl.DataFrame()
    frame = frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical")
    casts = []
    for column, sf_type in types.items():
        if column not in frame.columns:
            continue
        col = pl.col(column)
        if sf_type == "int":
            casts.append(col.cast(pl.Int64, strict=False))
        elif sf_type in ("double", "currency", "percent"):
            casts.append(col.cast(pl.Float64, strict=False))
        elif sf_type == "boolean":
            casts.append(
                col.replace_strict({"true": True, "false": False}, default=None).cast(pl.Boolean)
            )
        elif sf_type == "date":
            casts.append(col.str.to_date("%Y-%m-%d", strict=False))
        elif sf_type == "datetime":
            # Salesforce writes 2024-01-31T12:00:00.000Z or …000+0000.
            casts.append(
                col.str.replace(r"Z$", "+0000")
                .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False)
                .dt.convert_time_zone("UTC")
            )
    return frame.with_columns(casts) if casts else frame


# Salesforce types the C parser can read straight into nullable pandas dtypes.
_NUMERIC_DTYPES = {"int": "Int64", "double": "Float64", "currency": "Float64", "percent": "Float64"}


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

    numeric = {c: _NUMERIC_DTYPES[t] for c, t in (types or {}).items() if t in _NUMERIC_DTYPES}
    if numeric:
        dtypes: Any = collections.defaultdict(lambda: str, numeric)
        # A value that is not a number, or past int64: read as text, typed afterwards.
        with contextlib.suppress(ValueError, TypeError, OverflowError):
            return pd.read_csv(io.BytesIO(body), dtype=dtypes, **_READ_OPTIONS)
    return pd.read_csv(io.BytesIO(body), dtype=str, **_READ_OPTIONS)


def _parse_polars(body: bytes, types: dict[str, str] | None = None) -> Any:
    import polars as pl

    del types  # polars casts after reading (see `typed_polars`), which is already fast
    return pl.read_csv(io.BytesIO(body), infer_schema=False)


# -- the whole query ----------------------------------------------------------------------


def run_bulk_query(
    session: Session,
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
                    types = session._field_types(sobject, columns) if typed else {}
                frames.append(parse(page.body, types))
                bar.advance(page.records)
        finally:
            bar.close()
    except KeyboardInterrupt:
        _abort(session, job_id)
        raise
    types = types or {}
    return typed_polars(frames, types) if engine == "polars" else typed_pandas(frames, types)
