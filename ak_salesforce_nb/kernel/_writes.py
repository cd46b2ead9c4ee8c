"""Write a DataFrame back: insert, update, upsert, delete, hard delete.

    result = sf.upsert("Account", df, external_id="External_Id__c")
    df[~result.success]                  # the rows to fix, with result.error_message

The result has one row per input row, in the input's order and with its index (see
`_write_frames`); a partial failure returns it (``raise_on_error=True`` raises
`WriteFailed` instead, carrying it). The steps:

1. the input becomes columns of values (`_write_frames.read_rows`);
2. describe says which field each column is (`_write_fields.plan_write`); a column that
   no write could accept stops the write before anything is sent;
3. ``dry_run=True`` stops here, answering what describe can tell per row (unknown and
   read-only fields, required fields missing, values of the wrong type, duplicate keys);
4. more than `confirm_above` rows in an interactive notebook ask for a yes first;
5. up to `write_threshold` rows (2,000, Salesforce's advice for synchronous calls) go
   through sObject Collections, more through Bulk API 2.0 (``method=`` forces one;
   hard deletes are Bulk only; ``all_or_none`` is Collections only);
6. transient failures are retried (`_retry`), every row's answer is put back in place.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any, Literal

from ..core._exceptions import (
    InvalidField,
    SalesforceError,
    WriteCancelled,
    WriteFailed,
    WriteInterrupted,
)
from ._progress import make_progress
from ._retry import RetryPolicy
from ._session_base import DEFAULT_CONFIRM_ABOVE, DEFAULT_WRITE_THRESHOLD
from ._write_bulk import run_bulk
from ._write_collections import run_collections
from ._write_fields import KEYED_OPERATIONS, Operation, Plan, plan_write
from ._write_frames import Outcomes, Rows, read_rows, result_frame
from ._write_job import WriteJob
from ._write_results import NOT_PROCESSED
from ._write_values import check_value, is_null

__all__ = [
    "DEFAULT_CONFIRM_ABOVE",
    "DEFAULT_WRITE_THRESHOLD",
    "WriteCancelled",
    "WriteFailed",
    "WriteInterrupted",
    "WriteMethod",
    "dry_run_outcomes",
    "write",
]

WriteMethod = Literal["auto", "collections", "bulk"]
_METHODS = ("auto", "collections", "bulk")


# -- describe-only checks (dry run) --------------------------------------------------


def _duplicate_message(plan: Plan) -> str:
    if plan.operation == "upsert":
        return "Duplicate external id specified: {}"
    return "Duplicate id in list: {}"


def dry_run_outcomes(plan: Plan, rows: Rows) -> Outcomes:
    """What describe can tell about each row, without sending anything: the first
    problem of each row as Salesforce would word it, success for the rest."""
    outcomes = Outcomes(rows.length)
    if plan.problems:
        first = plan.problems[0]
        fields = [f for p in plan.problems for f in p.fields]
        message = " ".join(p.message for p in plan.problems)
        for row in range(rows.length):
            outcomes.fail(row, first.code, message, fields)
        return outcomes
    columns = [(c, rows.column(c.column)) for c in plan.columns]
    required = {id(c) for c in plan.required_columns}
    key_values = rows.column(plan.key) if plan.key else None
    seen: set[str] = set()
    for row in range(rows.length):
        problem: tuple[str, str, list[str]] | None = None
        if key_values is not None:
            key = key_values[row]
            if is_null(key):
                name = "Id" if plan.operation in KEYED_OPERATIONS else str(plan.key)
                problem = (
                    "MISSING_ARGUMENT",
                    f"{name} not specified in an {plan.operation} call",
                    [name],
                )
            elif str(key) in seen:
                problem = ("DUPLICATE_VALUE", _duplicate_message(plan).format(key), [])
            else:
                seen.add(str(key))
        for column, values in columns:
            if problem is not None:
                break
            value = values[row]
            if id(column) in required and is_null(value):
                problem = (
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{column.name}]",
                    [column.name],
                )
            elif column.field is not None:
                found = check_value(value, column.field)
                if found is not None:
                    problem = (found[0], found[1], [column.name])
        if problem is not None:
            outcomes.fail(row, *problem)
        else:
            record_id = (
                str(key_values[row]) if plan.operation in KEYED_OPERATIONS and key_values else None
            )
            outcomes.succeed(
                row, record_id, None if plan.operation in ("insert", "upsert") else False
            )
    return outcomes


# -- asking first -------------------------------------------------------------------


def interactive() -> bool:
    """Whether a person can answer: an IPython kernel whose frontend takes input (a
    notebook, not nbclient/papermill, not a script)."""
    module = sys.modules.get("IPython")
    if module is None:
        return False
    shell = module.get_ipython()
    if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
        return False
    return bool(getattr(getattr(shell, "kernel", None), "_allow_stdin", False))


def _ask(question: str, answer: Callable[[str], str] | None) -> bool:
    reply = (answer or input)(question)
    return reply.strip().lower() in ("y", "yes")


# -- the write ------------------------------------------------------------------------


def _refuse(plan: Plan) -> SalesforceError:
    first = plan.problems[0]
    fields = [f for p in plan.problems for f in p.fields]
    message = " ".join(p.message for p in plan.problems)
    message += " Nothing was written (dry_run=True shows this per row)."
    cls = InvalidField if first.code == "INVALID_FIELD" else SalesforceError
    return cls(message, error_code=first.code, fields=fields)


def _summary(operation: str, sobject: str, outcomes: Outcomes) -> str:
    codes = ", ".join(f"{n:,} {code}" for code, n in sorted(outcomes.codes().items()))
    return (
        f"{operation} of {sobject}: {outcomes.failed:,} of {outcomes.length:,} rows failed "
        f"({codes}). The result frame is on this exception's .result."
    )


def write(
    session: Any,
    operation: Operation,
    sobject: str,
    data: Any,
    *,
    external_id: str | None = None,
    method: WriteMethod = "auto",
    all_or_none: bool = False,
    dry_run: bool = False,
    raise_on_error: bool = False,
    progress: bool | None = None,
    confirm: bool | None = None,
    threshold: int | None = None,
    parallel: int | None = None,
    job_rows: int | None = None,
    retry: RetryPolicy | None = None,
    timeout: float = 3600.0,
    poll_interval: float = 0.05,
    answer: Callable[[str], str] | None = None,
) -> Any:
    """Write `data` to `sobject` (see the module docstring); the result frame."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(_METHODS)}, not {method!r}")
    if operation == "hardDelete" and method == "collections":
        raise ValueError("hard_delete runs only through Bulk API 2.0: leave method='auto'.")
    if job_rows is not None and job_rows < 1:
        raise ValueError(f"job_rows must be 1 or more, not {job_rows!r}")
    if all_or_none and (method == "bulk" or operation == "hardDelete"):
        raise ValueError(
            "all_or_none is an sObject Collections option; Bulk API 2.0 has none. "
            "Use method='collections' (or 'auto')."
        )
    rows = read_rows(data)
    describe_of: Callable[[str], Mapping[str, Any]] = session.describe
    plan = plan_write(
        sobject,
        operation,
        rows.columns,
        session.describe(sobject),
        external_id=external_id,
        describe_of=describe_of,
    )
    if any(p.code == "INVALID_FIELD" for p in plan.problems):
        # A field added since describe was cached: look again before refusing.
        plan = plan_write(
            sobject,
            operation,
            rows.columns,
            session.describe(sobject, refresh=True),
            external_id=external_id,
            describe_of=describe_of,
        )
    if dry_run:
        return result_frame(dry_run_outcomes(plan, rows), rows)
    if plan.problems:
        raise _refuse(plan)
    outcomes = Outcomes(rows.length)
    if rows.length == 0:
        return result_frame(outcomes, rows)
    limit = (
        threshold
        if threshold is not None
        else getattr(session, "write_threshold", DEFAULT_WRITE_THRESHOLD)
    )
    bulk = (
        method == "bulk"
        or operation == "hardDelete"
        or (method == "auto" and rows.length > limit and not all_or_none)
    )
    engine = "Bulk API 2.0" if bulk else "sObject Collections"
    above = getattr(session, "confirm_above", DEFAULT_CONFIRM_ABOVE)
    if confirm or (confirm is None and rows.length > above and interactive()):
        question = (
            f"{operation} {rows.length:,} rows of {sobject} on {session.name!r} "
            f"({engine})? Type yes to write: "
        )
        if not _ask(question, answer):
            raise WriteCancelled(f"Nothing was written: the {operation} was not confirmed.")
    show = progress if progress is not None else getattr(session, "progress", None)
    bar = make_progress(rows.length, enabled=show, label=f"{operation} {sobject}")
    job = WriteJob(
        session=session,
        plan=plan,
        rows=rows,
        outcomes=outcomes,
        policy=retry or RetryPolicy(),
        progress=bar,
        all_or_none=all_or_none,
        parallel=max(1, parallel or getattr(session, "parallel_pages", 4)),
        poll_interval=poll_interval,
        timeout=timeout,
    )
    if job_rows is not None:
        job.part_rows = job_rows
    everything = range(rows.length)
    try:
        if bulk:
            run_bulk(job, everything)
        else:
            run_collections(job, everything)
    except KeyboardInterrupt:
        _not_processed(outcomes, "the write was interrupted")
        result = result_frame(outcomes, rows)
        session.last_write = result
        done = sum(1 for code in outcomes.error_code if code != NOT_PROCESSED)
        jobs = f" (Bulk jobs {', '.join(job.job_ids)} aborted)" if job.job_ids else ""
        raise WriteInterrupted(
            f"{operation} of {sobject} interrupted{jobs}: Salesforce processed {done:,} of "
            f"{rows.length:,} rows ({outcomes.succeeded:,} written); the rest are "
            f"{NOT_PROCESSED}. The result frame is on this exception's .result and on "
            "the session's .last_write.",
            result=result,
        ) from None
    finally:
        bar.close()
    _not_processed(outcomes, "it was never sent")
    result = result_frame(outcomes, rows)
    session.last_write = result
    if raise_on_error and outcomes.failed:
        first = next((c for c in outcomes.error_code if c), "")
        raise WriteFailed(_summary(operation, sobject, outcomes), result=result, error_code=first)
    return result


def _not_processed(outcomes: Outcomes, why: str) -> None:
    for row in range(outcomes.length):
        if not outcomes.success[row] and outcomes.error_code[row] is None:
            outcomes.fail(row, NOT_PROCESSED, f"Not processed: {why}. It was not written.")
