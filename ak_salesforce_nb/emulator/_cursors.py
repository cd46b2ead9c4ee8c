"""Query cursors (``nextRecordsUrl`` locators) and the JSON pages served from them.

A query is evaluated once; its row list is kept under a locator ``01g...`` so that any
page ``01g...-OFFSET`` can be served, in any order and in parallel, as Salesforce does.
Each user keeps at most ``max_open_cursors`` (Salesforce: 10, the oldest is released)
and a cursor idle for 15 minutes expires.

Every ``nextRecordsUrl`` names the ``query`` resource, also for a ``queryAll`` (Salesforce
documents that form, and serves the locator under both ``query/`` and ``queryAll/``).
A page may hold fewer records than the batch size: see ``_short_pages``.

A child subquery's nested ``nextRecordsUrl`` (a parent with more than 200 children) is a
cursor of its own over that parent's children, served by the same queryMore route. Those
are kept apart, up to ``MAX_CHILD_CURSORS`` per user, so that one page of parents with
many children does not release the query's own cursor.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import OrderedDict

from ._ids import random_id
from ._query import RecordsResult
from ._query_shape import CHILD_BATCH, ChildPager, Shape
from ._store import Table

__all__ = [
    "Cursor",
    "CursorStore",
    "batch_size_from_header",
    "encode_json",
    "encode_page",
    "next_records_url",
]

IDLE_TIMEOUT = 15 * 60.0
DEFAULT_BATCH = 2000
MIN_BATCH = 200
MAX_BATCH = 2000
MAX_CHILD_CURSORS = 10_000

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
        self._children: OrderedDict[str, Cursor] = OrderedDict()

    def open(self, owner: str, result: RecordsResult, batch_size: int) -> Cursor:
        return self._open(self._cursors, self.max_per_user, owner, result, batch_size)

    def open_children(self, owner: str, result: RecordsResult) -> Cursor:
        """A cursor over one parent's child rows (its first batch is already inline)."""
        return self._open(self._children, MAX_CHILD_CURSORS, owner, result, CHILD_BATCH)

    def child_pager(self, owner: str, version: str) -> ChildPager:
        """What a page's child subqueries call to page a parent's children."""

        def pager(table: Table, rows: list[int], shape: Shape) -> str:
            cursor = self.open_children(owner, RecordsResult(table, rows, shape, []))
            return next_records_url(version, cursor.locator, CHILD_BATCH)

        return pager

    def _open(
        self,
        cursors: OrderedDict[str, Cursor],
        cap: int,
        owner: str,
        result: RecordsResult,
        batch_size: int,
    ) -> Cursor:
        self._expire()
        cursor = Cursor(random_id("01g")[:18], owner, result, batch_size, time.monotonic())
        cursors[cursor.locator] = cursor
        mine = [c.locator for c in cursors.values() if c.owner == owner]
        for locator in mine[: max(0, len(mine) - cap)]:
            del cursors[locator]
        return cursor

    def get(self, locator: str) -> Cursor | None:
        self._expire()
        for cursors in (self._cursors, self._children):
            cursor = cursors.get(locator)
            if cursor is not None:
                cursor.last_used = time.monotonic()
                cursors.move_to_end(locator)
                return cursor
        return None

    def _expire(self) -> None:
        limit = time.monotonic() - IDLE_TIMEOUT
        for cursors in (self._cursors, self._children):
            for locator in [k for k, c in cursors.items() if c.last_used < limit]:
                del cursors[locator]


def batch_size_from_header(header: str | None) -> int:
    """``Sforce-Query-Options: batchSize=N``, clamped to 200..2000 (it is only a hint)."""
    if not header:
        return DEFAULT_BATCH
    for option in header.split(","):
        name, _, value = option.partition("=")
        if name.strip().lower() == "batchsize" and value.strip().isdigit():
            return min(MAX_BATCH, max(MIN_BATCH, int(value.strip())))
    return DEFAULT_BATCH


def next_records_url(version: str, locator: str, offset: int) -> str:
    """``/services/data/vXX.X/query/01g...-OFFSET``: the form Salesforce answers, for
    ``query`` and ``queryAll`` alike."""
    return f"/services/data/v{version}/query/{locator}-{offset}"


def encode_page(
    result: RecordsResult,
    start: int,
    size: int,
    version: str,
    locator: str | None,
    pager: ChildPager | None = None,
) -> bytes:
    """One page of a query result as Salesforce's JSON QueryResult (``size`` records
    from ``start``); ``pager`` opens the cursors of child subqueries longer than one
    batch."""
    rows = result.rows[start : start + size]
    end = start + len(rows)
    total = len(result.rows)
    shape = result.shape
    shape.bind(version, pager)
    next_url = ""
    if end < total:
        assert locator is not None, "a page short of the end needs a cursor"
        next_url = f'"nextRecordsUrl":"{next_records_url(version, locator, end)}",'
    records = ",".join(shape.encode_rows(rows))
    done = "true" if end >= total else "false"
    text = f'{{"totalSize":{total},"done":{done},{next_url}"records":[{records}]}}'
    return text.encode("utf-8")


def encode_json(value: object) -> bytes:
    return _encoder.encode(value).encode("utf-8")
