"""What both write engines (sObject Collections, Bulk API 2.0) work on: one `WriteJob`."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, Protocol

import httpx

from ._progress import Progress
from ._retry import RetryPolicy
from ._write_fields import FieldColumn, Plan
from ._write_frames import Outcomes, Rows

__all__ = ["Sender", "WriteJob"]


class Sender(Protocol):
    """What a write needs of a session (`Session` is one)."""

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response: ...


@dataclasses.dataclass
class WriteJob:
    """One write: the session, the plan, the input rows and every row's outcome so far."""

    session: Sender
    plan: Plan
    rows: Rows
    outcomes: Outcomes
    policy: RetryPolicy
    progress: Progress
    all_or_none: bool = False
    #: Requests (Collections) or jobs (Bulk) in flight at once.
    parallel: int = 4
    #: Bulk API: seconds of the first wait between polls, and the longest wait.
    poll_interval: float = 0.05
    max_poll_interval: float = 5.0
    #: Bulk API: seconds to wait for a job before aborting it.
    timeout: float = 3600.0
    #: Bulk API: rows of one job (Salesforce processes a job in chunks of 10,000 records,
    #: each counted as a batch against the org's daily limit, so this costs no more).
    part_rows: int = 10_000
    #: Bulk API: the largest CSV upload (Salesforce: 150 MB after base64, so 100 MB).
    part_bytes: int = 100_000_000
    #: Bulk API: jobs created (their ids), for the report and for Ctrl-C.
    job_ids: list[str] = dataclasses.field(default_factory=list)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    @property
    def operation(self) -> str:
        return self.plan.operation

    @property
    def sobject(self) -> str:
        return self.plan.sobject

    def column_values(self) -> list[tuple[FieldColumn, list[Any]]]:
        """Each planned column with its input values."""
        return [(c, self.rows.column(c.column)) for c in self.plan.columns]

    def report(self, done: int, failed: int) -> None:
        """Move the progress bar on by `done` rows, `failed` of them failed."""
        with self.lock:
            self.progress.advance(done, failed=failed)
