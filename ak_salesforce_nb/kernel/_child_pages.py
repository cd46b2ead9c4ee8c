"""Finding a page's child subqueries that Salesforce cut short, and completing them.

On a real org a parent record carries about 200 rows of each child subquery inline; the
rest sit behind the nested result's own ``nextRecordsUrl`` (``done: false``), a queryMore
locator of its own. A page without such a nested result is left alone (the common case:
one scan of its records, then the column-wise fast path). The fetching itself is the
sessions' job (threads for `Session`, tasks for `AsyncSession`); this module only finds
the chains to follow and writes what came back into the page, in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
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


def _dict_keys(records: Sequence[Any]) -> list[str] | None:
    """The keys under which some record holds a dict (a parent or a child result), found
    column by column at C speed; None when the records do not share their keys."""
    first = records[0]
    if not isinstance(first, Mapping):
        return None
    try:
        if len(set(map(len, records))) != 1:
            return None  # a record with keys the first one lacks
        # Same size, and (below) every key of the first present in each: the same keys.
        return [
            key
            for key in first
            if key != "attributes" and dict in set(map(type, map(itemgetter(key), records)))
        ]
    except (KeyError, TypeError):
        return None


def incomplete_children(records: Any) -> list[dict[str, Any]]:
    """The nested child results in `records` (at any depth) that still have rows to fetch."""
    pending: list[dict[str, Any]] = []
    if not records:
        return pending
    keys = _dict_keys(records)
    if keys is None:  # irregular records: look at every value
        nested_results = [n for r in records if isinstance(r, Mapping) for n in _nested_results(r)]
    else:  # only the columns holding dicts (none at all in the common, flat case)
        nested_results = [
            value
            for key in keys
            for value in map(itemgetter(key), records)
            if value.__class__ is dict and "records" in value and "totalSize" in value
        ]
    for nested in nested_results:
        if not nested.get("done", True) and nested.get("nextRecordsUrl"):
            pending.append(nested)
        pending += incomplete_children(nested.get("records"))  # children of children
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
