"""How many records one REST query page holds: the batch size, or fewer, as on Salesforce.

Salesforce documents that a page "can be lower than the max or what's set in the
request, based on the size and complexity of records queried", that "child objects
count toward the number of records for the batch size", and that a query selecting two or
more custom long text fields gets pages of at most 200. A client must therefore follow
``nextRecordsUrl`` rather than assume full pages. The emulator's rule, deterministic so
that a test can predict it:

1. **Long text**: two or more custom long text fields (textarea longer than 255)
   selected at the top level: at most 200 records a page.
2. **Wide rows**: a page holds about ``PAGE_BUDGET`` declared characters. A record's width
   is the sum of the declared widths of its selected fields (parents' fields included,
   texts counted up to 4,000); rows wider than 2,000 characters get
   ``max(200, PAGE_BUDGET // width)`` records a page. Narrow rows get the full batch.
3. **Child subqueries**: every child a parent carries inline (up to 200 per
   relationship) counts toward the batch, so a page ends once parents plus their inline
   children reach it (at least one parent a page).
4. **Forced** (``EmulatorConfig.short_pages`` / ``--short-pages``): on top of the rules,
   every page after the first is cut by a varying, offset-derived amount, between none
   and half the batch. The first page stays full, so a client that plans the remaining
   pages from it meets pages shorter than planned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._query_order import sort_rows, window
from ._query_shape import CHILD_BATCH

if TYPE_CHECKING:
    from ._query import RecordsResult
    from ._query_shape import ChildPlan
    from ._schema import FieldDef

__all__ = ["LONG_TEXT_PAGE", "PAGE_BUDGET", "page_length", "row_width"]

#: Declared characters a page holds (2,000 records of 2,000 characters).
PAGE_BUDGET = 4_000_000
#: Page size with two or more custom long text fields, and the floor of the width rule.
LONG_TEXT_PAGE = 200
_TEXT_CAP = 4000
_RECORD_OVERHEAD = 80  # "attributes" with its type and url
_FIXED_WIDTHS = {
    "id": 18,
    "reference": 18,
    "boolean": 5,
    "int": 11,
    "double": 20,
    "currency": 20,
    "percent": 20,
    "date": 10,
    "datetime": 28,
    "time": 13,
    "address": 300,
    "location": 60,
}


def _field_width(f: FieldDef) -> int:
    fixed = _FIXED_WIDTHS.get(f.type)
    if fixed is not None:
        return fixed
    return min(f.length or 255, _TEXT_CAP)


def row_width(fields: list[FieldDef]) -> int:
    """Declared characters of one record selecting ``fields``."""
    return _RECORD_OVERHEAD + sum(_field_width(f) for f in fields)


def _is_long_text(f: FieldDef) -> bool:
    return f.custom and f.type == "textarea" and f.length > 255


def _inline_children(plan: ChildPlan, parent_id: str) -> int:
    """How many children ``plan`` writes inline for a parent (as ``ChildPlan.encode``)."""
    rows = plan.table.children_by_parent(plan.lookup_field).get(parent_id[:15])
    if not rows:
        return 0
    if not plan.include_deleted:
        rows = [r for r in rows if not plan.table.is_deleted(r)]
    elif plan.table.purged:
        rows = [r for r in rows if r not in plan.table.purged]
    if plan.predicate is not None:
        predicate = plan.predicate
        rows = [r for r in rows if predicate(r)]
    if plan.limit is None and not plan.offset:
        return min(len(rows), CHILD_BATCH)
    return min(len(window(sort_rows(rows, plan.order), plan.limit, plan.offset)), CHILD_BATCH)


def _forced_cut(start: int, batch: int) -> int:
    """0 for the first page; afterwards a varying amount below half the batch."""
    if start == 0 or batch < 2:
        return 0
    return (start * 7919 // batch) % (batch // 2)


def page_length(result: RecordsResult, start: int, batch: int, forced: bool = False) -> int:
    """Records of the page of ``result`` starting at row ``start`` (at least one, unless
    the result is exhausted)."""
    remaining = len(result.rows) - start
    if remaining <= 0:
        return 0
    size = batch
    if sum(1 for f in result.selected if _is_long_text(f)) >= 2:
        size = min(size, LONG_TEXT_PAGE)
    width = row_width(result.selected)
    if width * size > PAGE_BUDGET:
        size = min(size, max(LONG_TEXT_PAGE, PAGE_BUDGET // width))
    if forced:
        size -= _forced_cut(start, size)
    size = max(1, min(size, remaining))
    if result.child_plans:
        ids = result.table.columns["Id"]
        counted = 0
        for index, row in enumerate(result.rows[start : start + size]):
            counted += 1 + sum(_inline_children(p, ids[row]) for p in result.child_plans)
            if counted >= batch:
                return index + 1
    return size
