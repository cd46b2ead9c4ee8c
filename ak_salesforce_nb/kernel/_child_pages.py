"""Finding a page's child subqueries that Salesforce cut short, and completing them.

On a real org a parent record carries about 200 rows of each child subquery inline; the
rest sit behind the nested result's own ``nextRecordsUrl`` (``done: false``), a queryMore
locator of its own. A page without such a nested result is left alone (the common case:
one scan of its records, then the column-wise fast path). The fetching itself is the
sessions' job (threads for `Session`, tasks for `AsyncSession`); this module only finds
the chains to follow and writes what came back into the page, in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["add_child_page", "incomplete_children"]


def _nested_results(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        value
        for key, value in record.items()
        if key != "attributes"
        and isinstance(value, dict)
        and "records" in value
        and "totalSize" in value
    ]


def incomplete_children(records: Any) -> list[dict[str, Any]]:
    """The nested child results in `records` (at any depth) that still have rows to fetch."""
    pending: list[dict[str, Any]] = []
    stack = list(records or ())
    while stack:
        record = stack.pop()
        if not isinstance(record, Mapping):
            continue
        for nested in _nested_results(record):
            if not nested.get("done", True) and nested.get("nextRecordsUrl"):
                pending.append(nested)
            stack.extend(nested.get("records") or ())
    return pending


def add_child_page(nested: dict[str, Any], page: Mapping[str, Any]) -> str | None:
    """Append one fetched page to `nested`; return the next URL to fetch, or None when done.

    When the chain ends, `nested` looks as if Salesforce had sent all its rows at once
    (``done: true``, no ``nextRecordsUrl``), which is what the record flattening expects.
    """
    nested.setdefault("records", []).extend(page.get("records") or ())
    next_url = page.get("nextRecordsUrl") if not page.get("done", True) else None
    if next_url:
        nested["nextRecordsUrl"] = next_url
        return str(next_url)
    nested.pop("nextRecordsUrl", None)
    nested["done"] = True
    return None
