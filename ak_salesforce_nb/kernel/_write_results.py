"""Salesforce's answers to a write, put back on the rows they belong to.

sObject Collections answer in request order: the i-th result is the i-th record sent.

Bulk API 2.0 answers with three CSV files (successful, failed, unprocessed) whose order
Salesforce does not promise, each line echoing the fields of the input line it answers.
So a line is matched to its row by what the row sent:

0. when every row of the job sent its own key (an Id or external id no other row of the
   job sent), by the echoed key alone: then only the key, ``sf__Id`` and
   ``sf__Created``/``sf__Error`` columns of a file are read (a third of the memory of
   reading every echoed field); lines it cannot place go on to the steps below;
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
import csv
import io
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, overload

from ._write_frames import Outcomes
from ._write_values import CSV_NULL

__all__ = [
    "NOT_PROCESSED",
    "RESULT_MISSING",
    "Matcher",
    "RowKeys",
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


class RowKeys(Sequence[Key]):
    """The CSV fields rows sent, held as the columns they were built in: a row's tuple
    is made only when asked (by the matching steps after step 0, which rarely run), so a
    large write allocates no object per row here (and wakes no full garbage collection
    of a big heap)."""

    def __init__(self, columns: Sequence[Sequence[str]]) -> None:
        self.columns = columns
        self._length = len(columns[0]) if columns else 0

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> Key: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Key]: ...
    def __getitem__(self, index: int | slice) -> Key | Sequence[Key]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        if not -self._length <= index < self._length:
            raise IndexError(index)
        return tuple(column[index] for column in self.columns)

    def column(self, number: int) -> Sequence[str]:
        """Every row's field `number`, without making the rows' tuples."""
        return self.columns[number]


class Matcher:
    """Puts the lines of Bulk result files back on the rows of one job (module docstring).

    `keys` are the CSV fields each row sent (in `names` order; a `RowKeys` holds them as
    columns), `rows` the rows' numbers in the whole write, `key_column` the position of
    the Id or external id in `names`.
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
        self._taken = [False] * len(keys)
        self._full_built = False
        # Key → its row's position; twins (rare: `rounds` keeps them in separate jobs) put
        # their later positions in `_twins`. One int a row, not a queue object a row.
        # Built when first needed: step 0 places every line of the usual write.
        self._full: dict[Key, int] = {}
        self._twins: dict[Key, collections.deque[int]] = {}
        #: Step 0's index (the key sent → position), when every row sent its own key.
        self.keyed: dict[str, int] | None = None
        if key_column is not None:
            column = (
                keys.column(key_column)
                if isinstance(keys, RowKeys)
                else [key[key_column] for key in keys]
            )
            sent = map(_normal, column)
            index = dict(zip(map(self._key, sent), range(len(keys)), strict=True))
            if len(index) == len(keys) and "" not in index:
                self.keyed = index

    @property
    def key_name(self) -> str | None:
        return None if self.key_column is None else self.names[self.key_column]

    def _build_full(self) -> None:
        if self._full_built:
            return
        self._full_built = True
        for position, key in enumerate(self.keys):
            normal = _normal_key(key)
            if self._full.setdefault(normal, position) != position:
                self._twins.setdefault(normal, collections.deque()).append(position)

    def match_keys(self, echoed: Sequence[str]) -> tuple[list[int], list[int], list[int]]:
        """Step 0: the line numbers placed and their rows (two lists of ints: no object a
        line) for lines whose echoed key names an untaken row, and the numbers of the
        lines it could not place."""
        assert self.keyed is not None
        keyed, taken, rows, normalize = self.keyed, self._taken, self.rows, self._key
        numbers: list[int] = []
        placed: list[int] = []
        unplaced: list[int] = []
        # "" is never a key of `keyed`, so a blank echo finds no row.
        for number, position in enumerate(map(keyed.get, map(normalize, echoed))):
            if position is None or taken[position]:
                unplaced.append(number)
            else:
                taken[position] = True
                numbers.append(number)
                placed.append(rows[position])
        return numbers, placed, unplaced

    def _take_full(self, normal: Key) -> int | None:
        """The first untaken row sending exactly `normal`, now taken; None if none."""
        self._build_full()
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
    def rounds(keys: Sequence[Hashable], limit: int) -> list[int]:
        """Which job round each row goes to: the n-th row with the same fields as an
        earlier one goes to round n (at most ``limit - 1``), so twins never share a job."""
        if len(set(keys)) == len(keys):
            return [0] * len(keys)  # the usual case: no twins
        seen: dict[Hashable, int] = {}
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


def _header(body: bytes) -> list[str]:
    first = body.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8-sig")
    return next(csv.reader([first]), [])


def _read_csv(
    body: bytes, usecols: Sequence[str] | None = None
) -> tuple[list[str], list[list[str]]]:
    """The header and the columns (text, exactly as written) of a result file (only
    `usecols`, if given)."""
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
        usecols=list(usecols) if usecols is not None else None,
    )
    header = [str(c) for c in frame.columns]
    return header, [frame.iloc[:, i].tolist() for i in range(frame.shape[1])]


_OUTCOME_COLUMNS = ("sf__id", "sf__created", "sf__error")


def _pairs(matcher: Matcher, body: bytes) -> tuple[list[int], list[int], dict[str, list[str]], int]:
    """The line numbers of a result file placed and their rows, its outcome columns by
    lowered name, and its number of lines: step 0 on the key and outcome columns when it
    applies, the whole file read only for what step 0 leaves."""
    header = _header(body) if body.strip() else []
    lowered = {name.lower(): name for name in header}
    key_name = matcher.key_name
    numbers: list[int] = []
    placed: list[int] = []
    todo: list[int] | None = None  # line numbers left for steps 1-3 (None: every line)
    if matcher.keyed is not None and key_name is not None and key_name.lower() in lowered:
        wanted = [lowered[n] for n in (*_OUTCOME_COLUMNS, key_name.lower()) if n in lowered]
        names, columns = _read_csv(body, wanted)
        by_name = {n.lower(): c for n, c in zip(names, columns, strict=True)}
        count = len(columns[0]) if columns else 0
        numbers, placed, todo = matcher.match_keys(by_name[key_name.lower()] if count else [])
        outcome = {n: by_name[n] for n in _OUTCOME_COLUMNS if n in by_name}
        if not todo:
            return numbers, placed, outcome, count
    names, columns = _read_csv(body)
    count = len(columns[0]) if columns else 0
    by_name = {n.lower(): c for n, c in zip(names, columns, strict=True)}
    blank = [""] * count
    sent = [by_name.get(n.lower(), blank) for n in matcher.names]
    lines = list(zip(*sent, strict=True))
    left = list(range(count)) if todo is None else todo
    for found, row in matcher.match([lines[n] for n in left]):
        numbers.append(left[found])
        placed.append(row)
    return numbers, placed, {n: by_name[n] for n in _OUTCOME_COLUMNS if n in by_name}, count


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
    numbers, placed, outcome, count = _pairs(matcher, body)
    if not count:
        return 0
    blank = [""] * count
    ids = outcome.get("sf__id", blank)
    created_column = outcome.get("sf__created", blank)
    errors = outcome.get("sf__error", blank)
    if kind == "successful":
        inserted = operation == "insert"
        outcomes.succeed_many(
            (row, ids[number], inserted or created_column[number].strip().lower() == "true")
            for number, row in zip(numbers, placed, strict=True)
        )
        return count
    for number, row in zip(numbers, placed, strict=True):
        record_id = ids[number] or None
        if kind == "failed":
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
