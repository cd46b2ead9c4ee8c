"""The rows of a write, whatever they came as, and the result frame that answers them.

A write takes a pandas DataFrame, a polars DataFrame, a list of dicts (records), or for
a delete a list/Series of ids. `read_rows` turns any of them into columns of plain
Python values (one list per column, the input's row order), remembering the pandas
index. `result_frame` builds the answer: one row per input row, in the input's order,
with the input's index (pandas) — or a polars frame for a polars input:

====================  ==============================================================
``success``           bool: the row was written
``id``                the record's Id (the new one for an insert), else null
``created``           True when the row created a record (insert, upsert), else False;
                      null when the row failed
``error_code``        Salesforce's status code (``REQUIRED_FIELD_MISSING``…), else null
``error_message``     its message, else null
``error_fields``      the fields it names (a list, empty when none)
====================  ==============================================================
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._write_values import MISSING

__all__ = ["RESULT_COLUMNS", "Outcomes", "Rows", "read_rows", "result_frame"]

RESULT_COLUMNS = ("success", "id", "created", "error_code", "error_message", "error_fields")


@dataclasses.dataclass
class Rows:
    """A write's input as columns of Python values."""

    columns: list[str]
    values: list[list[Any]]
    length: int
    #: The pandas index to give the result (None: 0…n-1).
    index: Any = None
    engine: str = "pandas"

    def column(self, name: str) -> list[Any]:
        return self.values[self.columns.index(name)]


def _check_names(columns: Sequence[Any]) -> list[str]:
    names = [str(c) for c in columns]
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            raise ValueError(f"The column {name!r} appears twice (field names ignore case).")
        seen.add(name.lower())
    return names


def _from_records(records: Sequence[Any]) -> Rows:
    if all(isinstance(r, str) for r in records):  # a list of ids (delete)
        return Rows(["Id"], [list(records)], len(records), engine="records")
    columns: dict[str, None] = {}
    for number, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise TypeError(
                f"Row {number} is a {type(record).__name__}, not a dict: pass a DataFrame, "
                "a list of dicts, or (to delete) a list of ids."
            )
        for key in record:
            columns.setdefault(str(key), None)
    names = _check_names(list(columns))
    values = [[r.get(name, MISSING) for r in records] for name in names]
    return Rows(names, values, len(records), engine="records")


def read_rows(data: Any) -> Rows:
    """`data` as `Rows` (see the module docstring); TypeError for anything else."""
    kind = type(data)
    module = kind.__module__.split(".", 1)[0]
    if module == "pandas" and kind.__name__ == "DataFrame":
        names = _check_names(list(data.columns))
        values = [data.iloc[:, i].tolist() for i in range(data.shape[1])]
        return Rows(names, values, len(data), index=data.index, engine="pandas")
    if module == "pandas" and kind.__name__ in ("Series", "Index"):
        return Rows(["Id"], [list(data.tolist())], len(data), index=getattr(data, "index", None))
    if module == "polars" and kind.__name__ == "DataFrame":
        names = _check_names(list(data.columns))
        values = [data.get_column(c).to_list() for c in data.columns]
        return Rows(names, values, data.height, engine="polars")
    if module == "polars" and kind.__name__ == "Series":
        return Rows(["Id"], [data.to_list()], data.len(), engine="polars")
    if isinstance(data, Mapping):
        return _from_records([data])
    if isinstance(data, (list, tuple)):
        return _from_records(data)
    raise TypeError(
        f"Cannot write a {kind.__name__}: pass a pandas or polars DataFrame, a list of "
        "dicts, or (to delete) a list of ids."
    )


class Outcomes:
    """The outcome of every row of a write, filled in as answers arrive (any order)."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.success: list[bool] = [False] * length
        self.id: list[str | None] = [None] * length
        self.created: list[bool | None] = [None] * length
        self.error_code: list[str | None] = [None] * length
        self.error_message: list[str | None] = [None] * length
        # () until a row fails: one shared empty tuple, not an empty list per row.
        self.error_fields: list[Sequence[str]] = [()] * length
        #: Rows that have an answer.
        self.answered: list[bool] = [False] * length

    def succeed(self, row: int, record_id: str | None, created: bool | None) -> None:
        self.success[row] = True
        self.id[row] = record_id or None
        self.created[row] = created
        self.error_code[row] = self.error_message[row] = None
        self.error_fields[row] = ()
        self.answered[row] = True

    def succeed_many(self, answers: Iterable[tuple[int, str | None, bool | None]]) -> None:
        """`succeed` for each (row, record id, created) of `answers` (a result file's
        lines: one loop, not a call per row)."""
        success, ids, created, codes = self.success, self.id, self.created, self.error_code
        messages, fields, answered = self.error_message, self.error_fields, self.answered
        for row, record_id, was_created in answers:
            success[row] = True
            ids[row] = record_id or None
            created[row] = was_created
            codes[row] = messages[row] = None
            fields[row] = ()
            answered[row] = True

    def fail(
        self,
        row: int,
        code: str,
        message: str,
        fields: Iterable[str] = (),
        record_id: str | None = None,
    ) -> None:
        self.success[row] = False
        self.id[row] = record_id or None
        self.created[row] = None
        self.error_code[row] = code
        self.error_message[row] = message
        self.error_fields[row] = list(fields)
        self.answered[row] = True

    @property
    def succeeded(self) -> int:
        return sum(self.success)

    @property
    def failed(self) -> int:
        return self.length - self.succeeded

    def codes(self) -> dict[str, int]:
        """How many rows failed with each error code."""
        found: dict[str, int] = {}
        for code in self.error_code:
            if code:
                found[code] = found.get(code, 0) + 1
        return found


def result_frame(outcomes: Outcomes, rows: Rows) -> Any:
    """The result frame (see the module docstring)."""
    if rows.engine == "polars":
        import polars as pl

        return pl.DataFrame(
            {
                "success": pl.Series(outcomes.success, dtype=pl.Boolean),
                "id": pl.Series(outcomes.id, dtype=pl.String),
                "created": pl.Series(outcomes.created, dtype=pl.Boolean),
                "error_code": pl.Series(outcomes.error_code, dtype=pl.String),
                "error_message": pl.Series(outcomes.error_message, dtype=pl.String),
                "error_fields": pl.Series(
                    [list(f) if f else [] for f in outcomes.error_fields], dtype=pl.List(pl.String)
                ),
            }
        )
    import pandas as pd

    index = rows.index if rows.index is not None else pd.RangeIndex(rows.length)
    return pd.DataFrame(
        {
            "success": pd.Series(outcomes.success, index=index, dtype=bool),
            "id": pd.Series(outcomes.id, index=index, dtype=object),
            "created": pd.Series(outcomes.created, index=index, dtype="boolean"),
            "error_code": pd.Series(outcomes.error_code, index=index, dtype=object),
            "error_message": pd.Series(outcomes.error_message, index=index, dtype=object),
            "error_fields": pd.Series(
                [list(f) if f else [] for f in outcomes.error_fields], index=index, dtype=object
            ),
        },
        index=index,
    )
