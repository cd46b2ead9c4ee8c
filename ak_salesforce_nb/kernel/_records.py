"""From Salesforce's JSON records to flat rows and DataFrames.

A record's `attributes` go; a parent relationship becomes dotted columns
(``Account.Name``, ``Account.Owner.Name``); a child subquery stays a list of rows.

`RecordColumns` gathers a query's pages column by column: records of one query share
their fields, so a column is one list comprehension over a page instead of a dict per
record, several times faster for the big results `Session.query` reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._types import import_polars, type_pandas, type_polars

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "RecordColumns",
    "flatten_record",
    "records_to_frame",
    "sobject_of",
]


def sobject_of(page: Mapping[str, Any]) -> str | None:
    """The sObject type of a query page's records (None for a page without records)."""
    records = page.get("records") or []
    if records:
        return str(records[0].get("attributes", {}).get("type") or "") or None
    return None


def _is_child_result(value: Mapping[str, Any]) -> bool:
    """A child subquery's nested QueryResult (as opposed to a parent record)."""
    return "records" in value and "totalSize" in value


def flatten_record(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        name = prefix + key
        if isinstance(value, dict):
            if _is_child_result(value):
                row[name] = [flatten_record(r) for r in value["records"]]
            else:
                row.update(flatten_record(value, name + "."))
        else:
            row[name] = value
    return row


class _Irregular(Exception):
    """A page whose records do not share their fields (never seen from Salesforce)."""


class RecordColumns:
    """Flat columns (name → values) of the records of a query's pages, in order.

    Gives what `flatten_record` gives row by row: a parent that is null on a row leaves
    its bare name as a column (None there), which `records_to_frame` drops when the
    parent's dotted columns exist.
    """

    def __init__(self) -> None:
        self.data: dict[str, list[Any]] = {}
        self.length = 0

    def add(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Append one page's records."""
        if not records:
            return
        start = self.length
        page: dict[str, list[Any]] = {}
        try:
            _page_columns(list(records), "", page)
        except _Irregular:  # row by row is exact whatever the records hold
            page = {}
            for offset, record in enumerate(records):
                for name, value in flatten_record(record).items():
                    column = page.setdefault(name, [])
                    column.extend([None] * (offset - len(column)))
                    column.append(value)
        for name, values in page.items():
            self.data.setdefault(name, [None] * start).extend(values)
        self.length = start + len(records)
        for column in self.data.values():
            if len(column) < self.length:
                column.extend([None] * (self.length - len(column)))

    def frame(self, field_types: Mapping[str, str] | None = None) -> pd.DataFrame:
        """The columns as a typed pandas DataFrame (see `records_to_frame`)."""
        import pandas as pd

        if not self.data:
            return records_to_frame([], field_types=field_types)
        return _typed_frame(pd.DataFrame(self.ordered()), field_types)

    def polars_frame(self, field_types: Mapping[str, str] | None = None) -> Any:
        """The columns as a polars DataFrame, typed like `frame`'s."""
        pl = import_polars()
        if not self.length:
            return pl.DataFrame()
        # Not strict: a column may mix ints and floats (JSON numbers), or hold child rows.
        frame = pl.DataFrame(self.ordered(), strict=False)
        # A parent that is null on some rows shows as a bare all-null column next to its
        # dotted ones (as in records_to_frame): drop it.
        bare = [
            c
            for c in frame.columns
            if frame.schema[c] == pl.Null and any(o.startswith(f"{c}.") for o in frame.columns)
        ]
        return type_polars(frame.drop(bare), field_types)

    def ordered(self) -> dict[str, list[Any]]:
        """The columns in the query's order: a parent's dotted columns stand where the
        parent first appeared, wherever the pages broke (a parent null on a whole first
        page shows up as a bare column before its dotted ones arrive)."""
        first: dict[str, int] = {}
        for index, name in enumerate(self.data):
            first.setdefault(name.split(".", 1)[0], index)
        names = sorted(self.data, key=lambda name: first[name.split(".", 1)[0]])
        return {name: self.data[name] for name in names}


def _page_columns(
    records: list[Any], prefix: str, out: dict[str, list[Any]], nulls: bool = False
) -> None:
    """The columns of `records` (None where a parent is null, if `nulls`) into `out`;
    raises `_Irregular` when the records do not share their fields."""
    present = [r for r in records if r is not None] if nulls else records
    first = present[0]
    width = len(first)
    if any(len(r) != width for r in present):
        raise _Irregular
    for key in first:
        if key == "attributes":
            continue
        name = prefix + key
        try:
            if nulls:
                values = [None if r is None else r[key] for r in records]
            else:
                values = [r[key] for r in records]
        except (KeyError, TypeError):
            raise _Irregular from None
        nested = [v for v in values if isinstance(v, dict)]
        if not nested:
            out[name] = values
        elif len(nested) + values.count(None) != len(values):
            raise _Irregular  # a mapping on some rows, a scalar on others
        elif any(_is_child_result(v) for v in nested):
            if not all(_is_child_result(v) for v in nested):
                raise _Irregular  # child results on some rows, a parent on others
            out[name] = [
                None if v is None else [flatten_record(c) for c in v["records"]] for v in values
            ]
        else:
            if len(nested) < len(values):  # the bare parent column of rows where it is null
                out[name] = [None] * len(values)
            _page_columns(values, name + ".", out, nulls=len(nested) < len(values))


def records_to_frame(
    rows: Iterable[Mapping[str, Any]],
    *,
    field_types: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A DataFrame of flat rows, typed by `field_types` (column → Salesforce field type)."""
    import pandas as pd

    return _typed_frame(pd.DataFrame.from_records(list(rows)), field_types)


def _typed_frame(frame: pd.DataFrame, field_types: Mapping[str, str] | None) -> pd.DataFrame:
    # A parent that is null on some rows shows as a bare column next to its dotted ones.
    for column in list(frame.columns):
        if (
            any(str(c).startswith(f"{column}.") for c in frame.columns)
            and frame[column].isna().all()
        ):
            frame = frame.drop(columns=[column])
    return type_pandas(frame, field_types)
