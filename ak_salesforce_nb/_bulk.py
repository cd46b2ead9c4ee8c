"""Bulk API 2.0 query jobs, streamed into a DataFrame.

Create the job, poll it with backoff until it completes, then fetch the CSV result pages
(`Sforce-Locator` chains them) and parse them once, typed like a REST query. Ctrl-C while
waiting or fetching aborts the job at Salesforce before the interrupt goes on.
"""

from __future__ import annotations

import io
import re
import time
from typing import TYPE_CHECKING, Any

from ._api_errors import raise_for_salesforce_error
from ._exceptions import BulkJobFailed
from ._progress import make_progress

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["run_bulk_query"]

_FROM = re.compile(r"\bFROM\s+([A-Za-z0-9_]+)", re.IGNORECASE)


def _job_path(job_id: str = "") -> str:
    return "jobs/query" + (f"/{job_id}" if job_id else "")


def _wait(session: Session, job_id: str, *, poll_interval: float, timeout: float) -> dict[str, Any]:
    delay = poll_interval
    deadline = time.monotonic() + timeout
    while True:
        info: dict[str, Any] = session.get(_job_path(job_id))
        state = info.get("state")
        if state == "JobComplete":
            return info
        if state in ("Failed", "Aborted"):
            raise BulkJobFailed(
                f"Bulk query job {job_id} ended {state}: "
                f"{info.get('errorMessage') or 'no reason given'}",
                error_code=str(state).upper(),
                method="GET",
                url=session._url(_job_path(job_id)),
            )
        if time.monotonic() > deadline:
            raise BulkJobFailed(
                f"Bulk query job {job_id} did not finish within {timeout:g} s (state {state}).",
                error_code="TIMEOUT",
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 5.0)


def _fetch_csv(
    session: Session, job_id: str, *, max_records: int | None, total: int, progress: bool | None
) -> bytes:
    chunks: list[bytes] = []
    locator: str | None = None
    bar = make_progress(total, enabled=progress, label="Bulk results")
    try:
        while True:
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
            raise_for_salesforce_error(response)
            body = response.content
            if chunks:
                # Every page repeats the header row; keep the first only.
                newline = body.find(b"\n")
                body = body[newline + 1 :] if newline >= 0 else b""
            chunks.append(body)
            bar.advance(int(response.headers.get("Sforce-NumberOfRecords", "0") or 0))
            locator = response.headers.get("Sforce-Locator")
            if not locator or locator == "null":
                break
    finally:
        bar.close()
    return b"".join(chunks)


def _typed_pandas(session: Session, data: bytes, sobject: str | None) -> Any:
    """Parse the CSV as text, then type each column from describe, as REST results are."""
    import pandas as pd

    if not data.strip():
        return pd.DataFrame()
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_values=[""])
    types = session._field_types(sobject, list(frame.columns)) if sobject else {}
    for column, sf_type in types.items():
        values = frame[column]
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
) -> Any:
    """Run `soql` as a Bulk API 2.0 query job and return its rows as a DataFrame."""
    job: dict[str, Any] = session.post(
        _job_path(), json={"operation": "queryAll" if include_deleted else "query", "query": soql}
    )
    job_id = str(job["id"])
    try:
        info = _wait(session, job_id, poll_interval=poll_interval, timeout=timeout)
        total = int(info.get("numberRecordsProcessed") or 0)
        data = _fetch_csv(
            session,
            job_id,
            max_records=max_records,
            total=total,
            progress=progress if progress is not None else session.progress,
        )
    except KeyboardInterrupt:
        try:
            session.patch(_job_path(job_id), json={"state": "Aborted"})
        finally:
            raise
    if engine == "polars":
        import polars as pl

        return (
            pl.read_csv(io.BytesIO(data), infer_schema_length=10_000)
            if data.strip()
            else pl.DataFrame()
        )
    match = _FROM.search(soql)
    return _typed_pandas(session, data, match.group(1) if match else None)
