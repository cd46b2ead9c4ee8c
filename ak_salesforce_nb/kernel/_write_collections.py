"""Writes through sObject Collections: 200 records a request, requests in parallel.

=========== ===================================================================
insert      ``POST composite/sobjects``             ``{"allOrNone", "records"}``
update      ``PATCH composite/sobjects``            (each record carries its Id)
upsert      ``PATCH composite/sobjects/{Object}/{ExternalIdField}``
delete      ``DELETE composite/sobjects?ids=…&allOrNone=…``
=========== ===================================================================

Salesforce answers each request with one result per record, in request order.
``allOrNone`` is Salesforce's, per request: with more than 200 rows the requests go one
at a time and stop at the first that fails (its rows rolled back, the rows after it
``NOT_PROCESSED``); the requests before it stay written, as they would anywhere.

A request that fails as a whole (after the retries of `_retry`) gives its error to each
of its rows; rows that failed with ``UNABLE_TO_LOCK_ROW`` are sent again after a jittered
wait, within the retry policy's attempts.
"""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from ..core._exceptions import SalesforceError
from ._futures import wait_interruptibly
from ._retry import RETRYABLE_ROW_CODES, call_with_retries
from ._write_job import WriteJob
from ._write_results import NOT_PROCESSED, apply_collection_results
from ._write_values import MISSING

__all__ = ["COLLECTION_SIZE", "run_collections"]

#: Records per sObject Collections request (Salesforce's maximum).
COLLECTION_SIZE = 200
_ROLLED_BACK = "ALL_OR_NONE_OPERATION_ROLLED_BACK"


def _record(job: WriteJob, columns: list[tuple[Any, list[Any]]], row: int) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": job.sobject}}
    for column, values in columns:
        value = column.converter.json(values[row])
        if value is MISSING:
            continue
        if column.reference is None:
            record[column.name] = value
        elif value is None:
            record[str(column.reference["name"])] = None
        else:
            parent_field = column.name.split(".", 1)[1]
            record[str(column.relationship)] = {
                "attributes": {"type": column.target},
                parent_field: value,
            }
    return record


def _request(job: WriteJob, rows: Sequence[int]) -> tuple[str, str, dict[str, Any]]:
    """Method, path and keyword arguments of the request for `rows`."""
    flag = "true" if job.all_or_none else "false"
    if job.operation == "delete":
        ids = job.rows.column(job.plan.columns[0].column)
        text = ",".join(str(ids[row]) for row in rows)
        return "DELETE", "composite/sobjects", {"params": {"ids": text, "allOrNone": flag}}
    columns = job.column_values()
    body = {"allOrNone": job.all_or_none, "records": [_record(job, columns, r) for r in rows]}
    content = json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
    kwargs = {"content": content, "headers": {"Content-Type": "application/json"}}
    if job.operation == "insert":
        return "POST", "composite/sobjects", kwargs
    if job.operation == "update":
        return "PATCH", "composite/sobjects", kwargs
    key = next(c for c in job.plan.columns if c.column == job.plan.key)
    return "PATCH", f"composite/sobjects/{quote(job.sobject)}/{quote(key.name)}", kwargs


def _fail_all(job: WriteJob, rows: Sequence[int], error: BaseException) -> None:
    if isinstance(error, SalesforceError):
        code, message, fields = error.error_code or "UNKNOWN_ERROR", error.message, error.fields
    elif isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        code, message, fields = (
            "CONNECTION_FAILED",
            f"Salesforce could not be reached ({type(error).__name__}); nothing was written.",
            [],
        )
    else:
        code, message, fields = (
            "OUTCOME_UNKNOWN",
            f"The connection broke after the request was sent ({type(error).__name__}): "
            "Salesforce may or may not have written these rows. Check before sending "
            "them again.",
            [],
        )
    for row in rows:
        job.outcomes.fail(row, code, message, fields)


def _send(job: WriteJob, rows: Sequence[int]) -> None:
    """One request for `rows`; their outcomes recorded (never raises Salesforce's or the
    network's errors: they become the rows' outcomes)."""
    method, path, kwargs = _request(job, rows)
    idempotent = job.operation != "insert"
    try:
        response = call_with_retries(
            lambda: job.session.send(method, path, **kwargs),
            idempotent=idempotent,
            policy=job.policy,
        )
        results = response.json()
    except (SalesforceError, httpx.TransportError) as error:
        _fail_all(job, rows, error)
    else:
        if not isinstance(results, list):
            results = []
        apply_collection_results(job.outcomes, rows, results, operation=job.operation)
    failed = sum(1 for row in rows if not job.outcomes.success[row])
    job.report(len(rows), failed)


def _chunks(rows: Sequence[int]) -> list[list[int]]:
    return [list(rows[i : i + COLLECTION_SIZE]) for i in range(0, len(rows), COLLECTION_SIZE)]


def _send_all(job: WriteJob, rows: Sequence[int]) -> None:
    chunks = _chunks(rows)
    if job.all_or_none and len(chunks) > 1:
        for number, chunk in enumerate(chunks):
            _send(job, chunk)
            if not all(job.outcomes.success[r] for r in chunk):
                later = [r for c in chunks[number + 1 :] for r in c]
                for row in later:
                    job.outcomes.fail(
                        row,
                        NOT_PROCESSED,
                        "Not sent: an earlier request of this all-or-none write failed "
                        "(Salesforce's allOrNone holds within one request of 200 rows).",
                    )
                job.report(len(later), len(later))
                return
        return
    if len(chunks) == 1 or job.parallel <= 1:
        for chunk in chunks:
            _send(job, chunk)
        return
    with concurrent.futures.ThreadPoolExecutor(
        job.parallel, thread_name_prefix="aksf-write"
    ) as pool:
        futures = [pool.submit(_send, job, chunk) for chunk in chunks]
        try:
            wait_interruptibly(futures)
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _retryable(job: WriteJob, rows: Sequence[int]) -> list[int]:
    """Rows to send again: those locked, and (all-or-none) the rows rolled back with them."""
    codes = job.outcomes.error_code
    locked = [r for r in rows if codes[r] in RETRYABLE_ROW_CODES]
    if not locked or not job.all_or_none:
        return locked
    return [r for r in rows if codes[r] in RETRYABLE_ROW_CODES or codes[r] == _ROLLED_BACK]


def run_collections(job: WriteJob, rows: Sequence[int]) -> None:
    """Write `rows` (positions in the input) through sObject Collections."""
    pending = list(rows)
    for attempt in range(1, max(1, job.policy.attempts) + 1):
        _send_all(job, pending)
        pending = _retryable(job, pending)
        if not pending or attempt == job.policy.attempts:
            return
        job.policy.sleep(job.policy.delay(attempt))
        job.report(-len(pending), -len(pending))
