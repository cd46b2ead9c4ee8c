"""Transient faults a test can inject, to prove that a client retries what Salesforce
asks it to retry (and nothing else).

Two kinds, both counted down as they happen, both safe to arm from the test's thread
while the emulator's loop consumes them:

- request faults: the next N API requests (optionally only those whose path contains a
  given text) get ``503 SERVER_UNAVAILABLE``, ``403 REQUEST_LIMIT_EXCEEDED`` (the
  concurrent-request limit, which clears by itself), ``500 UNKNOWN_EXCEPTION``, or have
  their connection closed without an answer (``reset``);
- row locks: the next N record writes (a record of an sObject Collections request or a
  row of a Bulk API 2.0 ingest job) fail with ``UNABLE_TO_LOCK_ROW``, as when another
  transaction holds the record.
"""

from __future__ import annotations

import dataclasses
import threading

from ._errors import ApiError

__all__ = ["REQUEST_FAULTS", "FaultPlan", "RequestFault", "unable_to_lock_row"]

#: Kinds of request fault: what the faulty answer is.
REQUEST_FAULTS = ("unavailable", "request_limit", "server_error", "reset")


@dataclasses.dataclass
class RequestFault:
    """``count`` more requests whose path contains ``path`` get fault ``kind``."""

    kind: str
    count: int
    path: str = ""

    def error(self) -> ApiError:
        """The error answer of this fault (``reset`` has none: the handler drops the line)."""
        if self.kind == "unavailable":
            return ApiError(
                503,
                "SERVER_UNAVAILABLE",
                "The server is temporarily unable to service your request. Try again later.",
            )
        if self.kind == "request_limit":
            return ApiError(
                403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."
            )
        return ApiError(
            500,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact "
            "support: 1234567890-12345 (-1234567890)",
        )


def unable_to_lock_row(record_id: str | None) -> ApiError:
    """Salesforce's answer when another transaction holds the record."""
    suffix = f" or 1 records: {record_id}" if record_id else ""
    return ApiError(
        400,
        "UNABLE_TO_LOCK_ROW",
        f"unable to obtain exclusive access to this record{suffix}",
        [],
    )


class FaultPlan:
    """The armed faults of one emulator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RequestFault] = []
        self._locked_rows = 0

    def add_request_fault(self, kind: str, count: int = 1, path: str = "") -> None:
        if kind not in REQUEST_FAULTS:
            raise ValueError(f"unknown request fault {kind!r}; one of {REQUEST_FAULTS}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._requests.append(RequestFault(kind, count, path))

    def lock_rows(self, count: int) -> None:
        """The next ``count`` record writes fail with UNABLE_TO_LOCK_ROW."""
        if count < 0:
            raise ValueError("count must not be negative")
        with self._lock:
            self._locked_rows = count

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._locked_rows = 0

    def pending(self) -> dict[str, int]:
        """What is still armed: request fault kind -> count, and ``locked_rows``."""
        with self._lock:
            counts = {"locked_rows": self._locked_rows}
            for fault in self._requests:
                counts[fault.kind] = counts.get(fault.kind, 0) + fault.count
            return counts

    def take_request_fault(self, path: str) -> RequestFault | None:
        """The fault for a request to ``path``, counting it down (None: no fault)."""
        with self._lock:
            for fault in self._requests:
                if fault.path in path:
                    fault.count -= 1
                    if fault.count == 0:
                        self._requests.remove(fault)
                    return fault
        return None

    def take_row_lock(self) -> bool:
        """Whether this record write meets a locked row (counting it down)."""
        if not self._locked_rows:  # the usual case, read without the lock
            return False
        with self._lock:
            if self._locked_rows:
                self._locked_rows -= 1
                return True
        return False
