"""From Salesforce's JSON records to flat rows and DataFrames.

A record's `attributes` go; a parent relationship becomes dotted columns
(``Account.Name``, ``Account.Owner.Name``); a child subquery stays a list of rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["flatten_record", "records_to_frame", "strip_attributes"]


def strip_attributes(value: Any) -> Any:
    """The record without `attributes`, nested parents and child results included."""
    if isinstance(value, dict):
        if "records" in value and "totalSize" in value and "done" in value:
            return [strip_attributes(r) for r in value["records"]]
        return {k: strip_attributes(v) for k, v in value.items() if k != "attributes"}
    return value


def flatten_record(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        name = prefix + key
        if isinstance(value, dict):
            if "records" in value and "totalSize" in value:
                row[name] = [flatten_record(r) for r in value["records"]]
            else:
                row.update(flatten_record(value, name + "."))
        else:
            row[name] = value
    return row


_PANDAS_DTYPES = {
    "int": "Int64",
    "double": "Float64",
    "currency": "Float64",
    "percent": "Float64",
    "boolean": "boolean",
}


def records_to_frame(
    rows: Iterable[Mapping[str, Any]],
    *,
    field_types: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A DataFrame of flat rows, typed by `field_types` (column → Salesforce field type)."""
    import pandas as pd

    frame: pd.DataFrame = pd.DataFrame.from_records(list(rows))
    # A parent that is null on some rows shows as a bare column next to its dotted ones.
    for column in list(frame.columns):
        if (
            any(str(c).startswith(f"{column}.") for c in frame.columns)
            and frame[column].isna().all()
        ):
            frame = frame.drop(columns=[column])
    if field_types:
        for column, sf_type in field_types.items():
            if column not in frame.columns:
                continue
            try:
                if sf_type == "date":
                    frame[column] = pd.to_datetime(
                        frame[column], format="%Y-%m-%d", errors="coerce"
                    )
                elif sf_type == "datetime":
                    frame[column] = pd.to_datetime(frame[column], utc=True, errors="coerce")
                elif sf_type in _PANDAS_DTYPES:
                    frame[column] = frame[column].astype(_PANDAS_DTYPES[sf_type])  # type: ignore[call-overload]
            except (TypeError, ValueError):
                continue  # leave a column we cannot type as Salesforce sent it
    return frame
