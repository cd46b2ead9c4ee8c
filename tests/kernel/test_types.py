"""Every Salesforce field type gets one column type, whichever path fetched the rows.

A fake org (`httpx.MockTransport`) describes an object with one field of each scalar
Salesforce type and answers the same three rows as REST JSON and as a Bulk API 2.0 CSV
result. The sync REST query, the async one and the Bulk query must give the pinned
dtype for every field, in pandas and in polars, and the same values.

Compound types (address, location, complexvalue) are left out: REST sends them as
nested objects (flattened to dotted columns) and Bulk API 2.0 refuses them.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import httpx
import pandas as pd
import polars as pl
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.kernel import _bulk
from ak_salesforce_nb.kernel._types import FIELD_KINDS, type_pandas, type_polars

INSTANCE = "https://acme.my.salesforce.com"
OBJECT = "Typed__c"
JOB = "750000000000001AAA"

# Salesforce field type → (pandas dtype, polars dtype). "text" is the library's own text
# type (object or str in pandas, String in polars). pandas' datetime unit varies by
# version, so dates are pinned by kind and zone.
EXPECTED: dict[str, tuple[str, Any]] = {
    "int": ("Int64", pl.Int64),
    "long": ("Int64", pl.Int64),
    "double": ("Float64", pl.Float64),
    "currency": ("Float64", pl.Float64),
    "percent": ("Float64", pl.Float64),
    "boolean": ("boolean", pl.Boolean),
    "date": ("date", pl.Date),
    "datetime": ("datetime UTC", pl.Datetime("us", "UTC")),
    "anyType": ("text", pl.String),
    "base64": ("text", pl.String),
    "combobox": ("text", pl.String),
    "datacategorygroupreference": ("text", pl.String),
    "email": ("text", pl.String),
    "encryptedstring": ("text", pl.String),
    "id": ("text", pl.String),
    "json": ("text", pl.String),
    "multipicklist": ("text", pl.String),
    "phone": ("text", pl.String),
    "picklist": ("text", pl.String),
    "reference": ("text", pl.String),
    "string": ("text", pl.String),
    "textarea": ("text", pl.String),
    "time": ("text", pl.String),
    "url": ("text", pl.String),
}

# Three records as REST's JSON gives them; the CSV below is the same rows as Bulk API
# writes them (booleans as true/false, datetimes with Z, empty for null).
ROWS: list[dict[str, Any]] = [
    {
        "int": 42,
        "long": 2**40 + 1,
        "double": 2.5,
        "currency": 1500000.0,
        "percent": 12.5,
        "boolean": True,
        "date": "2024-01-31",
        "datetime": "2024-01-31T12:30:00.000+0000",
        "anyType": "anything",
        "base64": f"/services/data/v63.0/sobjects/{OBJECT}/a00000000000001AAA/base64",
        "combobox": "Other",
        "datacategorygroupreference": "Products",
        "email": "ada@example.com",
        "encryptedstring": "****1234",
        "id": "a00000000000001AAA",
        "json": '{"a": 1}',
        "multipicklist": "Red;Blue",
        "phone": "0123 456 789",
        "picklist": "Hot",
        "reference": "00500000000000AAAA",
        "string": "007",
        "textarea": "two\nlines",
        "time": "13:45:00.000Z",
        "url": "https://example.com/a",
    },
    dict.fromkeys(EXPECTED),
    {
        "int": -7,
        "long": -3,
        "double": 0.0,
        "currency": -1.25,
        "percent": 100.0,
        "boolean": False,
        "date": "1999-12-31",
        "datetime": "2000-01-01T00:00:00.000+0000",
        "anyType": "x",
        "base64": "",
        "combobox": "A",
        "datacategorygroupreference": "B",
        "email": "b@example.com",
        "encryptedstring": "****",
        "id": "a00000000000003AAA",
        "json": "[]",
        "multipicklist": "Red",
        "phone": "1",
        "picklist": "Cold",
        "reference": "00500000000000BBBB",
        "string": "NA",
        "textarea": "t",
        "time": "00:00:00.000Z",
        "url": "https://example.com/b",
    },
]
ROWS[1]["id"] = "a00000000000002AAA"  # every record has its id
ROWS[2]["base64"] = ROWS[0]["base64"]


def _csv_value(sf_type: str, value: Any) -> str:
    if value is None:
        return ""
    if sf_type == "boolean":
        return "true" if value else "false"
    if sf_type == "datetime":
        return str(value).replace("+0000", "Z")
    return str(value)


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(EXPECTED))
    for row in rows:
        writer.writerow([_csv_value(t, row[t]) for t in EXPECTED])
    return out.getvalue().encode()


def _describe() -> dict[str, Any]:
    return {
        "name": OBJECT,
        "fields": [
            {"name": sf_type, "type": sf_type, "relationshipName": None, "referenceTo": []}
            for sf_type in EXPECTED
        ],
    }


def _json(body: Any) -> httpx.Response:
    return httpx.Response(
        200, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )


class FakeOrg:
    """The few endpoints a REST and a Bulk query of `OBJECT` use, answering `rows`."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def __call__(self, request: httpx.Request) -> httpx.Response:
        base = "/services/data/v63.0/"
        assert request.url.host == urlsplit(INSTANCE).hostname
        assert request.url.path.startswith(base), request.url.path
        rest = request.url.path[len(base) :]
        if rest == "query":
            assert OBJECT in parse_qs(request.url.query.decode())["q"][0]
            records = [{"attributes": {"type": OBJECT}, **row} for row in self.rows]
            return _json({"totalSize": len(records), "done": True, "records": records})
        if rest == f"sobjects/{OBJECT}/describe":
            return _json(_describe())
        if rest == "jobs/query" and request.method == "POST":
            return _json({"id": JOB, "object": OBJECT, "state": "UploadComplete"})
        if rest == f"jobs/query/{JOB}":
            return _json({"id": JOB, "state": "JobComplete", "numberRecordsProcessed": 3})
        if rest == f"jobs/query/{JOB}/results":
            headers = {
                "Content-Type": "text/csv",
                "Sforce-Locator": "null",
                "Sforce-NumberOfRecords": str(len(self.rows)),
            }
            return httpx.Response(200, content=_csv(self.rows), headers=headers)
        return httpx.Response(404, json=[{"errorCode": "NOT_FOUND", "message": rest}])


SOQL = f"SELECT {', '.join(EXPECTED)} FROM {OBJECT}"


@pytest.fixture
def fake_store(store_path: Path) -> Path:
    """A store whose "prod" connection holds (fake) tokens for `INSTANCE`."""
    store = ConnectionStore(store_path)
    store.save_settings(
        "prod",
        client_id="fake-client-id",
        client_secret="fake-secret",
        login_url="https://login.salesforce.com",
        scopes="api refresh_token",
    )
    store.record_authorized(
        "prod",
        access_token="fake-access",
        refresh_token="fake-refresh",
        instance_url=INSTANCE,
        issued_at="0",
        identity={"username": "ada@example.com"},
    )
    return store_path


@pytest.fixture
def org() -> FakeOrg:
    return FakeOrg(ROWS)


@pytest.fixture
def sf(fake_store: Path, org: FakeOrg) -> Iterator[aksf.Session]:
    transport = httpx.MockTransport(org)
    with aksf.session("prod", transport=transport, progress=False, api_version="63.0") as s:
        yield s


def _pandas_kind(dtype: Any) -> str:
    if isinstance(dtype, pd.DatetimeTZDtype):
        return f"datetime {dtype.tz}"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "date"
    if str(dtype) in ("Int64", "Float64", "boolean"):
        return str(dtype)
    if pd.api.types.is_string_dtype(dtype):
        return "text"
    return str(dtype)


def _async_query(org: FakeOrg, engine: Literal["pandas", "polars"]) -> Any:
    async def run() -> Any:
        transport = httpx.MockTransport(org)
        async with aksf.async_session("prod", transport=transport, api_version="63.0") as s:
            return await s.query(SOQL, engine=engine)

    return asyncio.run(run())


def test_the_table_names_every_typed_salesforce_type() -> None:
    """The pinned table and the package's own agree on which types are typed."""
    typed = {t for t, (pandas, _) in EXPECTED.items() if pandas != "text"}
    assert typed == set(FIELD_KINDS)


def test_pandas_dtypes_are_the_same_through_rest_async_and_bulk(
    sf: aksf.Session, org: FakeOrg
) -> None:
    frames = {
        "rest": sf.query(SOQL),
        "async": _async_query(org, "pandas"),
        "bulk": sf.bulk_query(SOQL),
        "query(method='bulk')": sf.query(SOQL, method="bulk"),
    }
    for path, frame in frames.items():
        assert list(frame.columns) == list(EXPECTED), path
        kinds = {c: _pandas_kind(frame[c].dtype) for c in frame.columns}
        assert kinds == {t: pandas for t, (pandas, _) in EXPECTED.items()}, path
        assert dict(frame.dtypes.astype(str)) == dict(frames["rest"].dtypes.astype(str)), path
    rest, bulk = frames["rest"], frames["bulk"]
    typed = [t for t, (pandas, _) in EXPECTED.items() if pandas != "text"]
    pd.testing.assert_frame_equal(rest[typed], bulk[typed])
    pd.testing.assert_frame_equal(rest, frames["async"])
    # Text stays text as sent: leading zeros, "NA", line breaks.
    assert bulk["string"].tolist()[0::2] == ["007", "NA"]
    assert rest["textarea"][0] == bulk["textarea"][0] == "two\nlines"
    assert rest["long"].tolist() == bulk["long"].tolist() == [2**40 + 1, pd.NA, -3]


def test_polars_dtypes_are_the_same_through_rest_async_and_bulk(
    sf: aksf.Session, org: FakeOrg
) -> None:
    from polars.testing import assert_frame_equal

    frames = {
        "rest": sf.query(SOQL, engine="polars"),
        "async": _async_query(org, "polars"),
        "bulk": sf.bulk_query(SOQL, engine="polars"),
    }
    want = {t: polars for t, (_, polars) in EXPECTED.items()}
    for path, frame in frames.items():
        assert dict(frame.schema) == want, path
    assert_frame_equal(frames["rest"], frames["async"])
    typed = [t for t, (pandas, _) in EXPECTED.items() if pandas != "text"]
    assert_frame_equal(frames["rest"].select(typed), frames["bulk"].select(typed))


def test_a_column_of_nulls_is_typed_too(sf: aksf.Session, org: FakeOrg) -> None:
    """A result where a typed field is null on every row still gets the field's type
    (polars would otherwise leave it as its Null type), through either path."""
    org.rows = [ROWS[1]]
    for frame in (sf.query(SOQL, engine="polars"), sf.bulk_query(SOQL, engine="polars")):
        assert dict(frame.schema) == {t: polars for t, (_, polars) in EXPECTED.items()}
    for frame in (sf.query(SOQL), sf.bulk_query(SOQL)):
        assert str(frame["int"].dtype) == "Int64"
        assert _pandas_kind(frame["date"].dtype) == "date"


def test_a_column_that_will_not_convert_stays_as_it_came() -> None:
    """An "int" holding 1.5 or 1e20 is left as sent (pandas would truncate 1.5 to 1 and
    wrap 1e20 silently); a long past 2**53 keeps its digits; a value that is not of the
    field's type becomes missing, the same from REST's JSON and from Bulk's text."""
    text = pd.DataFrame(
        {
            "half": ["1.5", "2", None],
            "huge": ["99999999999999999999", "1", None],
            "long": ["9007199254740993", None, "-1"],
            "flag": ["true", "maybe", None],
        }
    )
    typed = type_pandas(
        text.copy(), {"half": "int", "huge": "int", "long": "long", "flag": "boolean"}
    )
    pd.testing.assert_series_equal(typed["half"], text["half"])  # as it came
    pd.testing.assert_series_equal(typed["huge"], text["huge"])
    assert typed["long"].tolist() == [9007199254740993, pd.NA, -1]
    assert typed["flag"].tolist() == [True, pd.NA, pd.NA]
    json_values = pd.DataFrame({"flag": [True, "maybe", None], "half": [1.5, 2.0, None]})
    typed = type_pandas(json_values, {"flag": "boolean", "half": "int"})
    assert typed["flag"].tolist() == [True, pd.NA, pd.NA]
    assert typed["half"].tolist()[:2] == [1.5, 2.0]
    polars = type_polars(
        pl.DataFrame({"half": [1.5, 2.0, None], "whole": [1.0, None, 3.0]}),
        {"half": "int", "whole": "int"},
    )
    assert dict(polars.schema) == {"half": pl.Float64, "whole": pl.Int64}


def test_a_bulk_page_with_a_lossy_number_is_read_as_text() -> None:
    """The CSV parser refuses 1.5 for an Int64 column (and warns first about 1e20); the
    page is read as text instead, and the warning never reaches the notebook."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # as a notebook shows them
        page = _bulk._parse_pandas(b"N,R\n1.5,2\n1e20,3.5\n", {"N": "int", "R": "double"})
    assert [str(w.message) for w in caught] == []
    assert page["N"].tolist() == ["1.5", "1e20"]
    assert type_pandas(page, {"N": "int", "R": "double"})["R"].tolist() == [2.0, 3.5]
