"""``sobjects/X/updated`` and ``sobjects/X/deleted``: the data replication resources.

Salesforce's rules (REST API Developer Guide, "sObject Get Updated/Deleted"; SOAP API's
``getUpdated()``/``getDeleted()``):

- ``start`` and ``end`` are UTC date-times; their seconds are dropped (12:30:15 is
  12:30:00). ``start`` must come before ``end``, and be no more than 30 days ago;
  otherwise ``INVALID_REPLICATION_DATE``.
- Updated records are those whose ``SystemModstamp`` falls in the span (created or
  changed), deleted ones those deleted in it (with their ``deletedDate``), at most
  600,000 ids (``EXCEEDED_ID_LIMIT``).
- ``latestDateCovered`` is the end of the span actually covered: ``end``, or now when
  ``end`` is in the future. Deleted records also answer ``earliestDateAvailable``, the
  oldest moment the recycle bin still knows about (here: 15 days ago); a ``start``
  before it is refused.

The emulator's own writes and deletes feed both: seeded records are older than 30 days
unless the org's anchor date is today.
"""

from __future__ import annotations

import datetime
from typing import Any

from ._errors import ApiError
from ._store import Table
from ._values import format_datetime
from ._web_base import ApiHandler

__all__ = ["DeletedHandler", "UpdatedHandler", "replication_span"]

UTC = datetime.timezone.utc
MAX_AGE = datetime.timedelta(days=30)
RECYCLE_BIN_AGE = datetime.timedelta(days=15)
MAX_IDS = 600_000


def _bad_date(message: str) -> ApiError:
    return ApiError(400, "INVALID_REPLICATION_DATE", message)


def _parse(name: str, text: str | None) -> datetime.datetime:
    if text is None or not text.strip():
        raise ApiError(400, "MISSING_ARGUMENT", f"The '{name}' parameter is required")
    cleaned = text.strip().replace(" ", "+")  # an unencoded '+' arrives as a space
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    elif len(cleaned) > 5 and cleaned[-5] in "+-" and cleaned[-4:].isdigit():
        cleaned = cleaned[:-2] + ":" + cleaned[-2:]  # +0000 -> +00:00
    try:
        moment = datetime.datetime.fromisoformat(cleaned)
    except ValueError:
        raise _bad_date(
            f"'{text}' is not a valid date-time for '{name}': use ISO 8601, e.g. "
            "2024-05-06T00:00:00+00:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def replication_span(
    start_text: str | None,
    end_text: str | None,
    now: datetime.datetime,
    earliest: datetime.datetime,
) -> tuple[datetime.datetime, datetime.datetime]:
    """(start, latest covered) of a request, or the error Salesforce answers."""
    start = _parse("start", start_text)
    end = _parse("end", end_text)
    if start >= end:
        raise _bad_date("startDate must chronologically precede endDate")
    if start < now - MAX_AGE:
        raise _bad_date("startDate cannot be more than 30 days ago")
    if start < earliest:
        raise _bad_date(
            f"startDate must be on or after earliestDateAvailable: {format_datetime(earliest)}"
        )
    return start, min(end, now)


def _stamps(table: Table) -> list[Any]:
    column = table.columns.get("SystemModstamp") or table.columns.get("LastModifiedDate")
    if column is None:
        raise ApiError(
            400,
            "INVALID_TYPE_FOR_OPERATION",
            f"entity type {table.sobject.name} does not support replication",
        )
    return column


class _ReplicationHandler(ApiHandler):
    def span(self, earliest: datetime.datetime) -> tuple[str, str]:
        """(start, latest covered) as Salesforce's date-time text."""
        now = datetime.datetime.now(UTC)
        start, latest = replication_span(
            self.get_query_argument("start", None),
            self.get_query_argument("end", None),
            now,
            earliest,
        )
        return format_datetime(start), format_datetime(latest)


class UpdatedHandler(_ReplicationHandler):
    """``sobjects/X/updated?start=&end=``: ids of the records created or changed."""

    def get(self, version: str, sobject: str) -> None:
        del version
        table = self.state.records.table(sobject)
        stamps = _stamps(table)
        low, latest = self.span(datetime.datetime.min.replace(tzinfo=UTC))
        ids = table.columns["Id"]
        found = [
            ids[row]
            for row in table.live_rows()
            if stamps[row] is not None and low <= stamps[row] < latest
        ]
        if len(found) > MAX_IDS:
            raise ApiError(400, "EXCEEDED_ID_LIMIT", "record limit reached. narrow the date span")
        self.send_json({"ids": found, "latestDateCovered": latest})


class DeletedHandler(_ReplicationHandler):
    """``sobjects/X/deleted?start=&end=``: the records deleted, with when."""

    def get(self, version: str, sobject: str) -> None:
        del version
        table = self.state.records.table(sobject)
        stamps = _stamps(table)
        earliest = (datetime.datetime.now(UTC) - RECYCLE_BIN_AGE).replace(second=0, microsecond=0)
        low, latest = self.span(earliest)
        ids = table.columns["Id"]
        deleted = [
            {"id": ids[row], "deletedDate": stamps[row]}
            for row in range(len(table))
            if table.is_deleted(row) and stamps[row] is not None and low <= stamps[row] < latest
        ]
        if len(deleted) > MAX_IDS:
            raise ApiError(400, "EXCEEDED_ID_LIMIT", "record limit reached. narrow the date span")
        self.send_json(
            {
                "deletedRecords": deleted,
                "earliestDateAvailable": format_datetime(earliest),
                "latestDateCovered": latest,
            }
        )
