"""Value pools for the generated org: column-wise draws that keep generation fast.

Shared by the core records (``_data``) and the sales and service records (``_data_sales``).
"""

from __future__ import annotations

import array
import datetime
import random
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from ._values import UTC, format_datetime

__all__ = ["Clock", "date_pool", "maybe_none", "parents_for", "pick"]

T = TypeVar("T")


def _indexes(rng: random.Random, size: int, count: int) -> Iterable[int]:
    """``count`` pseudo-random numbers below 65536 (below 256 when ``size`` fits a byte).

    Drawing raw bytes is several times faster than ``random.choices`` for the 500,000
    records of ``accounts=100000``; the slight modulo bias does not matter for sample data.
    """
    if size <= 256:
        return rng.randbytes(count)
    numbers = array.array("H", rng.randbytes(2 * count))
    if sys.byteorder == "big":  # same data on every platform
        numbers.byteswap()
    return numbers


def pick(rng: random.Random, pool: Sequence[T], count: int) -> list[T]:
    """``count`` values drawn from ``pool`` (with replacement)."""
    size = len(pool)
    return [pool[i % size] for i in _indexes(rng, size, count)]


def maybe_none(rng: random.Random, values: list[Any], fraction: float) -> list[Any]:
    """``values`` with about ``fraction`` of them replaced by None (deterministically)."""
    threshold = int(fraction * 256)
    return [
        None if b < threshold else v
        for v, b in zip(values, rng.randbytes(len(values)), strict=True)
    ]


class Clock:
    """Pre-formatted timestamps spread over the three years before the anchor date."""

    def __init__(self, rng: random.Random, anchor: datetime.date) -> None:
        end = datetime.datetime.combine(anchor, datetime.time(), tzinfo=UTC)
        start = end - datetime.timedelta(days=3 * 365)
        span = int((end - start).total_seconds())
        seconds = sorted(rng.randrange(span) for _ in range(4096))
        self.pool = [format_datetime(start + datetime.timedelta(seconds=s)) for s in seconds]

    def created_and_modified(self, rng: random.Random, count: int) -> tuple[list[str], list[str]]:
        """Creation times rising with the row (ids are issued in time order) and later edits."""
        size = len(self.pool)
        created_index = [i * size // max(count, 1) for i in range(count)]
        bumps = pick(rng, range(0, 400), count)
        created = [self.pool[i] for i in created_index]
        modified = [
            self.pool[min(size - 1, i + b)] for i, b in zip(created_index, bumps, strict=True)
        ]
        return created, modified


def date_pool(rng: random.Random, start: datetime.date, days: int, size: int = 2048) -> list[str]:
    return [(start + datetime.timedelta(days=rng.randrange(days))).isoformat() for _ in range(size)]


def parents_for(rng: random.Random, parent_ids: list[str], count: int, orphans: float) -> list[Any]:
    """Children spread evenly over the parents, in parent order, some without a parent."""
    if not parent_ids:
        return [None] * count
    parents = [parent_ids[i * len(parent_ids) // count] for i in range(count)]
    return maybe_none(rng, parents, orphans)
