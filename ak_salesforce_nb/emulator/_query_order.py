"""ORDER BY, LIMIT and OFFSET over row lists (SOQL sorts nulls first by default)."""

from __future__ import annotations

from typing import Any

from ._query_scope import Getter, Scope, normalized
from ._soql_parser import AggregateCall, Query, SoqlError

__all__ = ["order_keys", "sort_rows", "window"]


def sort_rows(rows: list[int], order: list[tuple[Getter, bool, bool]]) -> list[int]:
    if not order:
        return rows
    rows = list(rows)
    for getter, descending, nulls_last in reversed(order):
        nulls_low = (not nulls_last) != descending
        null_key = (0, 0) if nulls_low else (2, 0)

        def key(row: int, getter: Getter = getter, null_key: tuple[int, int] = null_key) -> Any:
            v = getter(row)
            return null_key if v is None else (1, v)

        rows.sort(key=key, reverse=descending)
    return rows


def window(rows: list[int], limit: int | None, offset: int | None) -> list[int]:
    if offset:
        rows = rows[offset:]
    if limit is not None:
        rows = rows[:limit]
    return rows


def order_keys(scope: Scope, query: Query) -> list[tuple[Getter, bool, bool]]:
    keys: list[tuple[Getter, bool, bool]] = []
    for item in query.order_by:
        if isinstance(item.expr, AggregateCall):
            raise SoqlError(
                "MALFORMED_QUERY",
                "Ordered field must be grouped or aggregated: " + item.expr.text,
                item.expr.offset,
            )
        resolved = scope.resolve(item.expr)
        if resolved.field.type in ("textarea", "address", "multipicklist"):
            raise SoqlError(
                "INVALID_FIELD",
                f"field '{resolved.field.name}' can not be sorted in a query call",
                item.expr.offset,
            )
        keys.append((normalized(resolved), item.descending, item.nulls_last))
    return keys
