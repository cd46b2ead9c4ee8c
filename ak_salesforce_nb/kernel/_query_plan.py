"""How to fetch every page of a query, shared by the sync and async sessions.

Salesforce's `nextRecordsUrl` is ``…/query/<locator>-<offset>``, and a live locator
answers any offset. So after the first page we can ask for several next pages at once
instead of one after another. Each page is checked against the plan (its size and its
own `nextRecordsUrl`); on any surprise we fall back to following `nextRecordsUrl`.

Salesforce may answer fewer records than the batch size ("based on the size and complexity
of records queried"; children count toward the batch). The stride is therefore the first
page's length, not the batch asked for, and a later page shorter than planned is such a
surprise: rows are never skipped, only the parallelism ends. tests/kernel/test_short_pages.py
runs this against the emulator's short pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["PagePlan", "plan_pages"]

_LOCATOR = re.compile(r"^(?P<prefix>.+/query(?:All)?/[^/?#]+)-(?P<offset>\d+)$")


@dataclass(frozen=True)
class PagePlan:
    prefix: str
    batch: int
    total: int

    def offsets(self) -> range:
        return range(self.batch, self.total, self.batch)

    def url(self, offset: int) -> str:
        return f"{self.prefix}-{offset}"

    def expected_next(self, offset: int) -> str | None:
        following = offset + self.batch
        return self.url(following) if following < self.total else None

    def page_fits(self, offset: int, page: dict[str, Any]) -> bool:
        size = min(self.batch, self.total - offset)
        return len(page.get("records", ())) == size and page.get("nextRecordsUrl") == (
            self.expected_next(offset)
        )


def plan_pages(first: dict[str, Any]) -> PagePlan | None:
    """A plan for the remaining pages, or None when they must be followed one by one."""
    next_url = first.get("nextRecordsUrl")
    if not next_url or first.get("done", True):
        return None
    match = _LOCATOR.match(str(next_url))
    batch = len(first.get("records", ()))
    total = int(first.get("totalSize", 0))
    if not match or batch <= 0 or int(match["offset"]) != batch or total <= batch:
        return None
    return PagePlan(prefix=match["prefix"], batch=batch, total=total)
