"""Query cursors (``nextRecordsUrl`` locators) and the JSON pages served from them.

A query is evaluated once; its row list is kept under a locator ``01g...`` so that any
page ``01g...-OFFSET`` can be served, in any order and in parallel, as Salesforce does.
Each user keeps at most ``max_open_cursors`` (Salesforce: 10, the oldest is released)
and a cursor idle for 15 minutes expires.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import OrderedDict

from ._ids import random_id
from ._query import RecordsResult

__all__ = ["Cursor", "CursorStore", "batch_size_from_header", "encode_json", "encode_page"]

IDLE_TIMEOUT = 15 * 60.0
DEFAULT_BATCH = 2000
MIN_BATCH = 200
MAX_BATCH = 2000

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


@dataclasses.dataclass
class Cursor:
    locator: str
    owner: str
    result: RecordsResult
    batch_size: int
    last_used: float


class CursorStore:
    def __init__(self, max_per_user: int) -> None:
        self.max_per_user = max_per_user
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()

    def open(self, owner: str, result: RecordsResult, batch_size: int) -> Cursor:
        self._expire()
        cursor = Cursor(random_id("01g")[:18], owner, result, batch_size, time.monotonic())
        self._cursors[cursor.locator] = cursor
        mine = [c.locator for c in self._cursors.values() if c.owner == owner]
        for locator in mine[: max(0, len(mine) - self.max_per_user)]:
            del self._cursors[locator]
        return cursor

    def get(self, locator: str) -> Cursor | None:
        self._expire()
        cursor = self._cursors.get(locator)
        if cursor is not None:
            cursor.last_used = time.monotonic()
            self._cursors.move_to_end(locator)
        return cursor

    def _expire(self) -> None:
        limit = time.monotonic() - IDLE_TIMEOUT
        for locator in [k for k, c in self._cursors.items() if c.last_used < limit]:
            del self._cursors[locator]


def batch_size_from_header(header: str | None) -> int:
    """``Sforce-Query-Options: batchSize=N``, clamped to 200..2000 (it is only a hint)."""
    if not header:
        return DEFAULT_BATCH
    for option in header.split(","):
        name, _, value = option.partition("=")
        if name.strip().lower() == "batchsize" and value.strip().isdigit():
            return min(MAX_BATCH, max(MIN_BATCH, int(value.strip())))
    return DEFAULT_BATCH


def encode_page(
    result: RecordsResult,
    start: int,
    size: int,
    version: str,
    resource: str,
    locator: str | None,
) -> bytes:
    """One page of a query result as Salesforce's JSON QueryResult."""
    rows = result.rows[start : start + size]
    end = start + len(rows)
    total = len(result.rows)
    shape = result.shape
    shape.bind(version)
    next_url = ""
    if end < total:
        next_url = f'"nextRecordsUrl":"/services/data/v{version}/{resource}/{locator}-{end}",'
    records = ",".join(shape.encode_rows(rows))
    done = "true" if end >= total else "false"
    text = f'{{"totalSize":{total},"done":{done},{next_url}"records":[{records}]}}'
    return text.encode("utf-8")


def encode_json(value: object) -> bytes:
    return _encoder.encode(value).encode("utf-8")
