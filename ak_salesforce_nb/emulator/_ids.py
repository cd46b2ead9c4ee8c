"""Salesforce record ids: 15-character case-sensitive ids and their 18-character form.

An 18-character id is the 15-character id plus a 3-character suffix that encodes which
letters are upper case, so that the id survives case-insensitive systems. Salesforce
accepts both forms everywhere and always answers with the 18-character form.
"""

from __future__ import annotations

import functools
import secrets

__all__ = ["IdAllocator", "base62", "random_id", "to15", "to18"]

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ALNUM = frozenset(BASE62)

# Memo of chunk -> suffix character: generated ids share most chunks, and computing the
# suffix character by character for 500,000 ids would dominate start-up time.
_chunk_memo: dict[str, str] = {}


_PAIRS = [a + b for a in BASE62 for b in BASE62]
_PAIR_COUNT = len(_PAIRS)
_PAIR_MASKS = [("A" <= p[0] <= "Z") | (("A" <= p[1] <= "Z") << 1) for p in _PAIRS]


def _chunk_char(chunk: str) -> str:
    char = _chunk_memo.get(chunk)
    if char is None:
        bits = 0
        for position, c in enumerate(chunk):
            if "A" <= c <= "Z":
                bits |= 1 << position
        char = _SUFFIX_ALPHABET[bits]
        if len(_chunk_memo) < 1_000_000:
            _chunk_memo[chunk] = char
    return char


def checksum(id15: str) -> str:
    """The 3-character suffix of a 15-character id."""
    return _chunk_char(id15[0:5]) + _chunk_char(id15[5:10]) + _chunk_char(id15[10:15])


def to18(id15: str) -> str:
    """The 18-character form of a 15-character id."""
    return id15 + checksum(id15)


def to15(value: str) -> str | None:
    """The canonical 15-character id for a 15- or 18-character id, or None if not an id.

    An 18-character id is case-insensitive: its suffix says which letters are upper case,
    so ``001ABC...`` written in any case maps back to the same record.
    """
    if len(value) == 15:
        return value if _ALNUM.issuperset(value) else None
    if len(value) != 18 or not _ALNUM.issuperset(value):
        return None
    restored: list[str] = []
    for chunk_index in range(3):
        suffix_char = value[15 + chunk_index].upper()
        bits = _SUFFIX_ALPHABET.find(suffix_char)
        if bits < 0:
            return None
        chunk = value[chunk_index * 5 : chunk_index * 5 + 5]
        for position, c in enumerate(chunk):
            restored.append(c.upper() if bits & (1 << position) else c.lower())
    return "".join(restored)


def base62(number: int, width: int) -> str:
    """``number`` in base 62, left-padded with zeros to ``width`` characters."""
    digits: list[str] = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    return "".join(reversed(digits)).rjust(width, "0")


class IdAllocator:
    """Hands out sequential 18-character ids for one key prefix (``001`` for Account...)."""

    # Characters 4-5 of a real id name the server pod; any fixed pair will do.
    POD = "Hs"

    def __init__(self, key_prefix: str, start: int = 1) -> None:
        self.key_prefix = key_prefix
        self._next = start

    def allocate(self) -> str:
        number = self._next
        self._next += 1
        return to18(self.key_prefix + self.POD + base62(number, 10))

    def peek(self, offset: int = 0) -> str:
        """The id that the ``offset``-th next allocation will hand out, without taking it
        (a batch write names a row it is about to insert before the batch's ids are
        allocated in one call)."""
        return to18(self.key_prefix + self.POD + base62(self._next + offset, 10))

    def allocate_many(self, count: int) -> list[str]:
        """``count`` ids in one call, the same ones ``count`` calls of ``allocate`` give."""
        start = self._next
        self._next += count
        if start + count > _PAIR_COUNT * _PAIR_COUNT:
            head = self.key_prefix + self.POD
            return [to18(head + base62(number, 10)) for number in range(start, start + count)]
        # Fast path for numbers below 62**4: the id is HEAD + "0" + two base-62 pairs, and
        # only the last 5-character chunk's checksum character varies. For each high
        # pair, the ids are its prefix plus precomputed tails (low pair, the fixed
        # checksum characters and the last one), joined by a mapped ``str.__add__``.
        head = self.key_prefix + self.POD + "00000"
        fixed = _chunk_char(head[:5]) + _chunk_char(head[5:10])
        ids: list[str] = []
        number, stop = start, start + count
        while number < stop:
            hi, lo = divmod(number, _PAIR_COUNT)
            end = min(stop - hi * _PAIR_COUNT, _PAIR_COUNT)
            tails = _tails(fixed, _PAIR_MASKS[hi])
            ids += map((head + "0" + _PAIRS[hi]).__add__, tails[lo:end])
            number += end - lo
        return ids


@functools.cache
def _tails(fixed: str, high_mask: int) -> tuple[str, ...]:
    """The last 6 characters of the ids whose high pair has upper-case mask
    ``high_mask``, for every low pair: the pair, ``fixed`` and the last checksum one."""
    return tuple(
        f"{pair}{fixed}{_SUFFIX_ALPHABET[(high_mask << 1) | (mask << 3)]}"
        for pair, mask in zip(_PAIRS, _PAIR_MASKS, strict=True)
    )


def random_id(key_prefix: str) -> str:
    """An unpredictable 18-character id (for query locators and job ids)."""
    body = "".join(secrets.choice(BASE62) for _ in range(12))
    return to18(key_prefix + body)
