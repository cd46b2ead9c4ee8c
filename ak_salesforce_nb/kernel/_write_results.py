"""Salesforce's answers to a write, put back on the rows they belong to.

sObject Collections answer in request order: the i-th result is the i-th record sent.

Bulk API 2.0 answers with three CSV files (successful, failed, unprocessed) whose order
Salesforce does not promise, each line echoing the fields of the input line it answers.
So a line is matched to its row by what the row sent:

1. by every field sent, exactly (``#N/A`` and an empty field count as the same). Rows
   that sent exactly the same fields cannot be told apart by any answer; the writer
   sends such twins in separate jobs (`Matcher.rounds`), so within one job every row's
   fields are unique and the match is exact;
2. for a line that step 1 could not place (Salesforce is known to echo some fields
   blank), by the key alone: the Id (its first 15 characters, so a 15-character Id sent
   matches an 18-character echo) or the external id;
3. then by the fields the line does echo, blank ones left out.

A row no line answers gets ``RESULT_MISSING``: its outcome is unknown (never guessed).
"""

from __future__ import annotations

import collections
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._write_frames import Outcomes
from ._write_values import CSV_NULL

__all__ = [
    "NOT_PROCESSED",
    "RESULT_MISSING",
    "Matcher",
    "apply_bulk_file",
    "apply_collection_results",
    "collection_error",
    "parse_sf_error",
]

#: Error code of a row Salesforce did not process (an aborted or failed job).
NOT_PROCESSED = "NOT_PROCESSED"
#: Error code of a row no answer mentions: its outcome is unknown.
RESULT_MISSING = "RESULT_MISSING"
# Past this many comparisons, step 3 is skipped (the rows stay RESULT_MISSING).
_WILDCARD_BUDGET = 5_000_000

Key = tuple[str, ...]


def parse_sf_error(text: str) -> tuple[str, str, list[str]]:
    """``sf__Error`` → (code, message, fields).

    Salesforce writes ``CODE:message:Field1,Field2 --`` (``REQUIRED_FIELD_MISSING:Required
    fields are missing: [Name]:Name --``); the message may hold colons itself.
    """
    text = text.strip()
    code, colon, rest = text.partition(":")
    if not colon or not code.replace("_", "").isalnum() or code.upper() != code:
        return "UNKNOWN_ERROR", text, []
    rest = rest.strip()
    if rest.endswith("--"):
        rest = rest[:-2].rstrip()
        message, _, fields = rest.rpartition(":")
        if not _:
            return code, rest, []
        names = [f.strip() for f in fields.split(",") if f.strip()]
        return code, message.strip(), names
    return code, rest, []


def collection_error(errors: Sequence[Mapping[str, Any]]) -> tuple[str, str, list[str]]:
    """The code, message and fields of a record's ``errors`` (several joined)."""
    if not errors:
        return "UNKNOWN_ERROR", "Salesforce reported a failure without a reason.", []
    first = errors[0]
    code = str(first.get("statusCode") or first.get("errorCode") or "UNKNOWN_ERROR")
    message = "; ".join(str(e.get("message") or "") for e in errors)
    fields: list[str] = []
    for error in errors:
        for name in error.get("fields") or ():
            if str(name) not in fields:
                fields.append(str(name))
    return code, message, fields


def apply_collection_results(
    outcomes: Outcomes,
    rows: Sequence[int],
    results: Sequence[Mapping[str, Any]],
    *,
    operation: str,
) -> None:
    """Record one sObject Collections answer (request order) for `rows`."""
    for row, item in zip(rows, results, strict=False):
        if item.get("success"):
            created = operation == "insert" or bool(item.get("created"))
            outcomes.succeed(row, item.get("id"), created)
        else:
            code, message, fields = collection_error(item.get("errors") or [])
            outcomes.fail(row, code, message, fields, record_id=item.get("id"))
    for row in rows[len(results) :]:
        outcomes.fail(row, RESULT_MISSING, "Salesforce's answer has no result for this row.")


def _normal(value: str) -> str:
    return "" if value == CSV_NULL else value


def _normal_key(key: Key) -> Key:
    """`key` with ``#N/A`` as "" (the same tuple when it has none: no copy)."""
    return tuple(_normal(v) for v in key) if CSV_NULL in key else key


def _id_key(value: str) -> str:
    return value[:15]


class Matcher:
    """Puts the lines of Bulk result files back on the rows of one job (module docstring).

    `keys` are the CSV fields each row sent (in `names` order), `rows` the rows' numbers
    in the whole write, `key_column` the position of the Id or external id in `names`.
    """

    def __init__(
        self,
        names: Sequence[str],
        keys: Sequence[Key],
        rows: Sequence[int],
        *,
        key_column: int | None,
        id_key: bool,
    ) -> None:
        self.names = list(names)
        self.keys = keys
        self.rows = rows
        self.key_column = key_column
        self._key = _id_key if id_key else str.strip
        # Key → its row's position; twins (rare: `rounds` keeps them in separate jobs) put
        # their later positions in `_twins`. One int a row, not a queue object a row.
        self._full: dict[Key, int] = {}
        self._twins: dict[Key, collections.deque[int]] = {}
        for position, key in enumerate(keys):
            normal = _normal_key(key)
            if self._full.setdefault(normal, position) != position:
                self._twins.setdefault(normal, collections.deque()).append(position)
        self._taken = [False] * len(keys)

    def _take_full(self, normal: Key) -> int | None:
        """The first untaken row sending exactly `normal`, now taken; None if none."""
        position = self._full.pop(normal, None)
        if position is None or self._taken[position]:
            queue = self._twins.get(normal)
            position = None
            while queue:
                candidate = queue.popleft()
                if not self._taken[candidate]:
                    position = candidate
                    break
        if position is not None:
            self._taken[position] = True
        return position

    @staticmethod
    def rounds(keys: Sequence[Key], limit: int) -> list[int]:
        """Which job round each row goes to: the n-th row with the same fields as an
        earlier one goes to round n (at most ``limit - 1``), so twins never share a job."""
        if len(set(keys)) == len(keys):
            return [0] * len(keys)  # the usual case: no twins
        seen: dict[Key, int] = {}
        found: list[int] = []
        for key in keys:
            count = seen.get(key, 0)
            seen[key] = count + 1
            found.append(min(count, limit - 1))
        return found

    def _by_key(self, echoed: Key) -> int | None:
        if self.key_column is None:
            return None
        wanted = self._key(echoed[self.key_column])
        if not wanted:
            return None
        for position, key in enumerate(self.keys):
            if not self._taken[position] and self._key(key[self.key_column]) == wanted:
                return position
        return None

    def _by_echoed(self, echoed: Key, budget: list[int]) -> int | None:
        present = [(i, v) for i, v in enumerate(echoed) if v]
        for position, key in enumerate(self.keys):
            budget[0] -= 1
            if budget[0] < 0:
                return None
            if not self._taken[position] and all(_normal(key[i]) == v for i, v in present):
                return position
        return None

    def match(self, lines: Iterable[Key]) -> list[tuple[int, int]]:
        """(line number, row) pairs for the echoed `lines`; lines placed nowhere are left
        out (their rows stay unanswered)."""
        pairs: list[tuple[int, int]] = []
        unplaced: list[tuple[int, Key]] = []
        for number, echoed in enumerate(lines):
            normal = _normal_key(echoed)
            position = self._take_full(normal)
            if position is None:
                unplaced.append((number, normal))
            else:
                pairs.append((number, self.rows[position]))
        budget = [_WILDCARD_BUDGET]
        for number, normal in unplaced:
            found = self._by_key(normal)
            if found is None:
                found = self._by_echoed(normal, budget)
            if found is not None:
                self._taken[found] = True
                pairs.append((number, self.rows[found]))
        return pairs


def _read_csv(body: bytes) -> tuple[list[str], list[list[str]]]:
    """The header and the columns (text, exactly as written) of a result file."""
    if not body.strip():
        return [], []
    import pandas as pd

    # pandas' C reader: columns of text, far lighter than a list per line.
    frame = pd.read_csv(
        io.BytesIO(body),
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        encoding="utf-8-sig",
    )
    header = [str(c) for c in frame.columns]
    return header, [frame.iloc[:, i].tolist() for i in range(frame.shape[1])]


def apply_bulk_file(
    outcomes: Outcomes,
    matcher: Matcher,
    body: bytes,
    *,
    kind: str,
    operation: str,
    reason: str = "",
) -> int:
    """Record the lines of one result file (`kind`: ``successful``, ``failed`` or
    ``unprocessed``) on their rows; how many lines it had."""
    header, columns = _read_csv(body)
    count = len(columns[0]) if columns else 0
    if not count:
        return 0
    lowered = {name.lower(): i for i, name in enumerate(header)}
    blank = [""] * count
    sent = [columns[lowered[n.lower()]] if n.lower() in lowered else blank for n in matcher.names]
    ids = columns[lowered["sf__id"]] if "sf__id" in lowered else blank
    created_column = columns[lowered["sf__created"]] if "sf__created" in lowered else blank
    errors = columns[lowered["sf__error"]] if "sf__error" in lowered else blank
    for number, row in matcher.match(zip(*sent, strict=True)):
        record_id = ids[number] or None
        if kind == "successful":
            created = operation == "insert" or created_column[number].strip().lower() == "true"
            outcomes.succeed(row, record_id, created)
        elif kind == "failed":
            code, message, fields = parse_sf_error(errors[number])
            outcomes.fail(row, code, message, fields, record_id=record_id)
        else:
            outcomes.fail(
                row,
                NOT_PROCESSED,
                "Salesforce did not process this row"
                + (f": {reason}" if reason else "")
                + ". It was not written; send it again.",
            )
    return count
