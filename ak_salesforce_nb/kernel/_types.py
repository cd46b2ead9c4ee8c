"""Salesforce field types → DataFrame column types: the one table every result uses.

A REST query (`Session` or `AsyncSession`), a Bulk API 2.0 CSV result, pandas or polars:
each types its columns here, from the field types describe gives, so one field comes out
with one column type whichever way it was fetched.

==========================  ==============================  ============================
Salesforce type             pandas                          polars
==========================  ==============================  ============================
int, long                   Int64                           Int64
double, currency, percent   Float64                         Float64
boolean                     boolean                         Boolean
date                        datetime64                      Date
datetime                    datetime64, UTC                 Datetime("us", "UTC")
any other (id, string, …)   as parsed (text)                as parsed (String)
==========================  ==============================  ============================

REST sends JSON values (numbers, true/false, ISO text) and Bulk API sends CSV text; the
converters take either, and treat both alike: a value that is not of its field's type
becomes missing, and a column that cannot be converted at all (an "int" holding 1.5)
stays as it came. Typing is a nicety; it never fails a query.

`describe_field_types` says which Salesforce type each (dotted) column has, walking
relationships through describe; it does no I/O itself, so the sync and async sessions
share the walk and differ only in how they fetch a describe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal, TypeGuard

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FIELD_KINDS",
    "DescribeWalk",
    "Kind",
    "describe_field_types",
    "import_polars",
    "pandas_read_dtypes",
    "type_pandas",
    "type_polars",
]

#: What a typed column becomes, whatever the DataFrame library.
Kind = Literal["int", "float", "boolean", "date", "datetime"]

#: Salesforce field type (describe's ``type``) → the kind of column it becomes. Types not
#: listed (id, reference, string, picklist, textarea, email, phone, url, time, …) stay text.
FIELD_KINDS: Final[Mapping[str, Kind]] = MappingProxyType(
    {
        "int": "int",
        "long": "int",
        "double": "float",
        "currency": "float",
        "percent": "float",
        "boolean": "boolean",
        "date": "date",
        "datetime": "datetime",
    }
)

#: The nullable pandas dtypes of the number kinds (also what the CSV parser reads into).
_PANDAS_NUMBER_DTYPES: Final[Mapping[Kind, str]] = MappingProxyType(
    {"int": "Int64", "float": "Float64"}
)

# Bulk API writes booleans as text; REST's JSON true/false map to themselves.
_BOOLEANS: Final[Mapping[Any, bool]] = MappingProxyType(
    {"true": True, "false": False, True: True, False: False}
)
_DATE_FORMAT = "%Y-%m-%d"
# Salesforce writes 2024-01-31T12:00:00.000Z (REST, Bulk) or …000+0000 (REST).
_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%z"


def _kind_of(sf_type: str | None) -> Kind | None:
    """The kind of column a field of Salesforce type `sf_type` becomes (None: text)."""
    return FIELD_KINDS.get(sf_type or "")


# -- pandas ---------------------------------------------------------------------------


def pandas_read_dtypes(field_types: Mapping[str, str] | None) -> dict[str, str]:
    """Column → dtype for the columns the CSV parser can read straight into numbers
    (far faster than converting text afterwards)."""
    found: dict[str, str] = {}
    for column, sf_type in (field_types or {}).items():
        kind = _kind_of(sf_type)
        if kind is not None and kind in _PANDAS_NUMBER_DTYPES:
            found[column] = _PANDAS_NUMBER_DTYPES[kind]
    return found


def _require_whole(values: pd.Series[Any]) -> None:
    """Raise ValueError unless every value is a whole number that fits in an Int64
    (a nullable float cast to Int64 would silently truncate 1.5 and wrap 1e20)."""
    present = values.dropna().astype("float64")
    if not ((present % 1 == 0) & (present.abs() < 2.0**63)).all():
        raise ValueError("not whole numbers within int64")


def _pandas_column(values: pd.Series[Any], kind: Kind) -> pd.Series[Any]:
    import pandas as pd

    if kind in _PANDAS_NUMBER_DTYPES:
        dtype = _PANDAS_NUMBER_DTYPES[kind]
        if str(values.dtype) == dtype:
            return values  # the CSV parser read it so already
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            # Text (Bulk) or JSON values in an object column (REST): parsed into a
            # nullable dtype at once, so a long past 2**53 in the CSV keeps its digits.
            values = pd.to_numeric(values, errors="coerce", dtype_backend="numpy_nullable")
        if kind == "int" and not pd.api.types.is_integer_dtype(values.dtype):
            _require_whole(values)
        typed: pd.Series[Any] = values.astype(dtype)  # type: ignore[call-overload]
        return typed
    if kind == "boolean":
        if not pd.api.types.is_bool_dtype(values.dtype):
            values = values.map(_BOOLEANS)
        return values.astype("boolean")
    if kind == "date":
        return pd.to_datetime(values, format=_DATE_FORMAT, errors="coerce")
    return pd.to_datetime(values, utc=True, errors="coerce")


def type_pandas(frame: pd.DataFrame, field_types: Mapping[str, str] | None) -> pd.DataFrame:
    """`frame` with each column of `field_types` (column → Salesforce type) typed by
    `FIELD_KINDS`; a column that will not convert is left as it was."""
    for column, sf_type in (field_types or {}).items():
        kind = _kind_of(sf_type)
        if kind is None or column not in frame.columns:
            continue
        with contextlib.suppress(TypeError, ValueError, OverflowError):
            frame[column] = _pandas_column(frame[column], kind)
    return frame


# -- polars ---------------------------------------------------------------------------


def import_polars() -> Any:
    """The polars module, or an ImportError that says how to install it."""
    try:
        import polars
    except ImportError:
        raise ImportError(
            "polars is not installed: pip install 'ak_salesforce_nb[polars]'"
        ) from None
    return polars


def _polars_column(pl: Any, column: str, dtype: Any, kind: Kind) -> Any:
    col = pl.col(column)
    text = dtype == pl.String
    if kind == "int":
        return col.cast(pl.Int64, strict=False)
    if kind == "float":
        return col.cast(pl.Float64, strict=False)
    if kind == "boolean":
        if text:
            return col.replace_strict(
                {"true": True, "false": False}, default=None, return_dtype=pl.Boolean
            )
        return col.cast(pl.Boolean, strict=False)
    if kind == "date":
        if text:
            return col.str.to_date(_DATE_FORMAT, strict=False)
        return col.cast(pl.Date, strict=False)
    if text:
        return (
            col.str.replace(r"Z$", "+0000")
            .str.to_datetime(_DATETIME_FORMAT, strict=False)
            .dt.convert_time_zone("UTC")
        )
    return col.cast(pl.Datetime("us", "UTC"), strict=False)


def _whole(series: Any) -> bool:
    """Whether every value of a polars float Series is a whole number within Int64."""
    present = series.drop_nulls()
    return bool(((present % 1 == 0) & (present.abs() < 2.0**63)).all())


def type_polars(frame: Any, field_types: Mapping[str, str] | None) -> Any:
    """The polars `frame` with each column of `field_types` typed by `FIELD_KINDS`:
    text is parsed, other values (JSON numbers, booleans, all-null columns) are cast."""
    pl = import_polars()
    casts = []
    for column, sf_type in (field_types or {}).items():
        if column not in frame.columns:
            continue
        kind = _kind_of(sf_type)
        dtype = frame.schema[column]
        if kind is None:
            if dtype == pl.Null:  # a text field null on every row: still text
                casts.append(pl.col(column).cast(pl.String))
            continue
        if dtype not in (pl.String, pl.Null) and not dtype.is_numeric() and dtype != pl.Boolean:
            continue  # nested values (child rows): nothing a field type could say
        if kind == "int" and dtype.is_float() and not _whole(frame.get_column(column)):
            continue  # as in pandas: 1.5 is not truncated to 1
        casts.append(_polars_column(pl, column, dtype, kind))
    return frame.with_columns(casts) if casts else frame


# -- which type each column has -------------------------------------------------------

#: Yields the name of each object whose describe it needs, is sent that describe (None
#: when it could not be had), and returns column → Salesforce type.
DescribeWalk = Generator[str, "Mapping[str, Any] | None", dict[str, str]]


def _typable(sobject: str | None) -> TypeGuard[str]:
    """Whether a result of `sobject` has fields to type (aggregates have none)."""
    return bool(sobject) and sobject != "AggregateResult"


def _field_step(describe: Mapping[str, Any], path: list[str]) -> tuple[str | None, str | None]:
    """One hop of a dotted column through an object's describe: ``(type, None)`` for a
    field, ``(None, parent object)`` for a relationship to follow, ``(None, None)``."""
    fields = describe.get("fields", [])
    if len(path) == 1:
        for field in fields:
            if field["name"].lower() == path[0].lower():
                return str(field["type"]), None
        return None, None
    for field in fields:
        relationship = field.get("relationshipName") or ""
        if relationship.lower() == path[0].lower() and field.get("referenceTo"):
            return None, str(field["referenceTo"][0])
    return None, None


def describe_field_types(sobject: str | None, columns: Iterable[Any]) -> DescribeWalk:
    """The Salesforce type of each (dotted) column of a result of `sobject`, as far as
    describe tells (``Account.Owner.Name`` follows Account's Owner to User's Name).

    A generator that does no I/O: it yields an object name, and the caller sends back
    that object's describe (or None). Columns describe says nothing about are left out.
    """
    found: dict[str, str] = {}
    if not _typable(sobject):
        return found
    for column in columns:
        name, path = sobject, str(column).split(".")
        while True:
            describe = yield name
            if describe is None:
                break
            sf_type, parent = _field_step(describe, path)
            if parent is None:
                if sf_type:
                    found[column] = sf_type
                break
            name, path = parent, path[1:]
    return found
