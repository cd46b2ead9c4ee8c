"""Bulk API 2.0 queries against the emulator: results, types, failures, Ctrl-C, 100,000 rows."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.kernel import _bulk

from .conftest import BIG_ROWS, authorize_store

TYPED = (
    "SELECT Id, FirstName, Email, Birthdate, IsDeleted, CreatedDate, Account.Name, "
    "Account.AnnualRevenue, Account.NumberOfEmployees FROM Contact"
)


@pytest.fixture
def sf(emu: RunningEmulator, store_path: Path) -> Iterator[aksf.Session]:
    authorize_store(emu, store_path)
    delay = emu.config.bulk_job_delay
    with aksf.session("prod", progress=False) as session:
        yield session
    emu.config.bulk_job_delay = delay


def jobs(sf: aksf.Session) -> dict[str, str]:
    """Every query job of the org: id → state."""
    return {job["id"]: job["state"] for job in sf.get("jobs/query")["records"]}


def bulk_jobs_created(sf: aksf.Session) -> int:
    return int(10_000 - sf.limits()["DailyBulkV2QueryJobs"]["Remaining"])


def test_bulk_result_equals_the_rest_result(sf: aksf.Session) -> None:
    soql = TYPED + " ORDER BY Id"
    rest = sf.query(soql)
    bulk = sf.bulk_query(soql, max_records=200)  # several result pages
    assert len(bulk) == 750
    pd.testing.assert_frame_equal(rest, bulk)
    assert dict(bulk.dtypes.astype(str)) == {
        "Id": "str",
        "FirstName": "str",
        "Email": "str",
        "Birthdate": "datetime64[us]",
        "IsDeleted": "boolean",
        "CreatedDate": "datetime64[us, UTC]",
        "Account.Name": "str",
        "Account.AnnualRevenue": "Float64",
        "Account.NumberOfEmployees": "Int64",
    }
    assert bulk["Email"].isna().any()  # empty CSV fields are missing values


def test_result_pages_read_in_parallel(
    sf: aksf.Session, emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without max_records the pages come from resultPages' links (8 pages of 100 here,
    4 at a time, gzip-compressed), never from the locator chain, and join in order."""
    soql = TYPED + " ORDER BY Id"
    rest = sf.query(soql)
    fetched: list[str] = []
    fetch_link = _bulk._fetch_link

    def counted(session: Any, link: str) -> Any:
        fetched.append(link)
        return fetch_link(session, link)

    def no_locators(*args: Any) -> Any:
        raise AssertionError("the locator chain was used")

    encodings: list[str | None] = []
    send = sf.send

    def recorded(method: str, path: str, **kwargs: Any) -> Any:
        response = send(method, path, **kwargs)
        if "/results" in path:
            encodings.append(response.headers.get("content-encoding"))
        return response

    monkeypatch.setattr(_bulk, "_fetch_link", counted)
    monkeypatch.setattr(_bulk, "_fetch_page", no_locators)
    monkeypatch.setattr(sf, "send", recorded)
    size = emu.config.bulk_result_page_size
    emu.config.bulk_result_page_size = 100
    try:
        bulk = sf.bulk_query(soql)
    finally:
        emu.config.bulk_result_page_size = size
    assert len(fetched) == 8 and len(set(fetched)) == 8
    assert encodings == ["gzip"] * 8  # the session asks for gzip, Salesforce sends it
    pd.testing.assert_frame_equal(rest, bulk)


def test_before_api_58_the_locator_chain(
    emu: RunningEmulator, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An org (or a session) before API 58.0 has no resultPages: locators, same frame."""
    authorize_store(emu, store_path)

    def no_links(*args: Any) -> Any:
        raise AssertionError("resultPages was used before API 58.0")

    monkeypatch.setattr(_bulk, "_fetch_link", no_links)
    with aksf.session("prod", progress=False, api_version="57.0") as old:
        soql = TYPED + " ORDER BY Id"
        pd.testing.assert_frame_equal(old.query(soql), old.bulk_query(soql))


def test_bulk_with_polars_equals_rest_with_polars(sf: aksf.Session) -> None:
    import polars as pl
    from polars.testing import assert_frame_equal

    soql = TYPED + " ORDER BY Id"
    rest = sf.query(soql, engine="polars")
    bulk = sf.bulk_query(soql, engine="polars", max_records=300)
    assert isinstance(bulk, pl.DataFrame)
    assert bulk.schema["Birthdate"] == pl.Date
    assert bulk.schema["CreatedDate"] == pl.Datetime("us", "UTC")
    assert bulk.schema["IsDeleted"] == pl.Boolean
    assert bulk.schema["Account.NumberOfEmployees"] == pl.Int64
    assert_frame_equal(rest, bulk)


def test_text_stays_text(sf: aksf.Session) -> None:
    frame = sf.bulk_query("SELECT Id, NumberOfEmployees FROM Account LIMIT 5", typed=False)
    assert str(frame["NumberOfEmployees"].dtype) == "str"
    assert frame["NumberOfEmployees"].dropna().map(type).eq(str).all()


def test_empty_result_keeps_its_columns(sf: aksf.Session) -> None:
    frame = sf.bulk_query("SELECT Id, Name FROM Account WHERE Name = 'nobody at all'")
    assert len(frame) == 0
    assert list(frame.columns) == ["Id", "Name"]


def test_include_deleted(sf: aksf.Session) -> None:
    record_id = sf.Account.create({"Name": "Deleted for bulk"})
    sf.Account.delete(record_id)
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Id = '{record_id}'"
    assert len(sf.bulk_query(soql)) == 0
    assert sf.bulk_query(soql, include_deleted=True)["IsDeleted"].tolist() == [True]


def test_failed_job_raises_with_salesforce_reason(sf: aksf.Session) -> None:
    with pytest.raises(aksf.BulkJobFailed) as info:
        sf.bulk_query("SELECT COUNT(Id) FROM Account")
    assert "ended Failed" in str(info.value)
    assert "Aggregate queries are not supported" in info.value.message
    assert info.value.error_code == "FAILED"


def test_a_query_salesforce_refuses_fails_at_once(sf: aksf.Session) -> None:
    with pytest.raises(aksf.InvalidField, match="Nope__c"):
        sf.bulk_query("SELECT Nope__c FROM Account")


class _InterruptingClock:
    """Stands in for the `time` module in `_bulk`: Ctrl-C arrives during the first wait."""

    monotonic = staticmethod(time.monotonic)

    @staticmethod
    def sleep(seconds: float) -> None:
        raise KeyboardInterrupt


def test_ctrl_c_while_the_job_runs_aborts_it(
    sf: aksf.Session, emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.config.bulk_job_delay = 60.0
    before = jobs(sf)
    monkeypatch.setattr(_bulk, "time", _InterruptingClock)
    with pytest.raises(KeyboardInterrupt):
        sf.bulk_query("SELECT Id FROM Account")
    (new,) = set(jobs(sf)) - set(before)
    assert jobs(sf)[new] == "Aborted"


def test_ctrl_c_while_downloading_deletes_the_finished_job(
    sf: aksf.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = jobs(sf)

    def interrupted(body: bytes, types: Any = None, *, typed: bool = False) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(_bulk, "_parse_pandas", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sf.bulk_query("SELECT Id FROM Account", max_records=100)
    # Complete jobs cannot be aborted; their stored results are deleted instead.
    assert set(jobs(sf)) == set(before)


def test_timeout_aborts_the_job(sf: aksf.Session, emu: RunningEmulator) -> None:
    emu.config.bulk_job_delay = 60.0
    before = jobs(sf)
    with pytest.raises(aksf.BulkJobFailed, match=r"did not complete within 0\.3 s") as info:
        sf.bulk_query("SELECT Id FROM Account", timeout=0.3)
    assert info.value.error_code == "TIMEOUT"
    (new,) = set(jobs(sf)) - set(before)
    assert jobs(sf)[new] == "Aborted"


def test_polling_backs_off(
    sf: aksf.Session, emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.config.bulk_job_delay = 1.0
    waits: list[float] = []

    class Clock:
        monotonic = staticmethod(time.monotonic)

        @staticmethod
        def sleep(seconds: float) -> None:
            waits.append(seconds)
            time.sleep(seconds)

    monkeypatch.setattr(_bulk, "time", Clock)
    started = time.monotonic()
    assert len(sf.bulk_query("SELECT Id FROM Account", poll_interval=0.05)) == 300
    seconds = time.monotonic() - started
    # Each wait is 15% of the time waited so far, from poll_interval on: a 1 s job is seen
    # at most ~15% late, for a bounded number of polls (not one every 0.05 s).
    assert waits[0] == 0.05 and min(waits) == 0.05
    assert all(b >= a for a, b in itertools.pairwise(waits))
    assert waits[-1] == pytest.approx(_bulk.POLL_SHARE * sum(waits), rel=0.5)
    assert waits[-1] > 0.1
    assert 8 <= len(waits) <= 18
    assert seconds < 1.0 * (1 + _bulk.POLL_SHARE) + 0.5


def test_describes_are_fetched_while_the_job_runs(sf: aksf.Session, emu: RunningEmulator) -> None:
    """The describes typing needs (the object's and its relationships') are asked for
    while the job runs, once each, before its first result page."""
    emu.config.bulk_job_delay = 0.5
    calls: list[str] = []
    sf._http.event_hooks["request"].append(lambda request: calls.append(request.url.path))
    frame = sf.bulk_query(TYPED)
    describes = [i for i, path in enumerate(calls) if path.endswith("/describe")]
    pages = [i for i, path in enumerate(calls) if path.endswith("/results")]
    polls = [i for i, path in enumerate(calls) if path.split("/")[-2:-1] == ["query"]]
    assert [calls[i].split("/")[-2] for i in describes] == ["Contact", "Account"]
    assert max(describes) < min(pages) and max(describes) < max(polls)
    assert str(frame["Account.AnnualRevenue"].dtype) == "Float64"
    assert str(frame["CreatedDate"].dtype) == "datetime64[us, UTC]"


def test_a_header_unlike_the_select_list_is_typed_from_it(sf: aksf.Session) -> None:
    """A select list spelled in other case than the header (or with functions) is typed
    from the header, with the describes already cached."""
    frame = sf.bulk_query("SELECT id, NUMBEROFEMPLOYEES, CreatedDate FROM Account")
    assert len(frame) == 300
    assert str(frame[frame.columns[1]].dtype) == "Int64"
    assert str(frame["CreatedDate"].dtype) == "datetime64[us, UTC]"


def test_selected_fields() -> None:
    assert _bulk.selected_fields(
        "select Id, Owner.Name,\n toLabel(Industry), FORMAT(AnnualRevenue) amount ,"
        " Account.Owner.Email FROM Contact WHERE Name = 'x, y'"
    ) == ["Id", "Owner.Name", "Account.Owner.Email"]
    assert _bulk.selected_fields("SELECT COUNT() FROM Account") == []
    assert _bulk.selected_fields("not soql") == []


def test_progress_bar_counts_the_records(
    sf: aksf.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    sf.bulk_query("SELECT Id FROM Account", max_records=100, progress=True)
    assert "Bulk query: 300 / 300 records" in capsys.readouterr().err


def test_auto_uses_bulk_past_the_threshold(emu: RunningEmulator, store_path: Path) -> None:
    authorize_store(emu, store_path)
    with aksf.session("prod", bulk_threshold=100, progress=False) as sf:
        before = bulk_jobs_created(sf)
        small = sf.query("SELECT Id FROM Account LIMIT 50", method="auto")
        assert bulk_jobs_created(sf) == before
        big = sf.query("SELECT Id, Name FROM Account", method="auto")
        assert bulk_jobs_created(sf) == before + 1
        # A child subquery cannot run in Bulk API 2.0: it stays on REST.
        nested = sf.query("SELECT Id, (SELECT Id FROM Contacts) FROM Account", method="auto")
        assert bulk_jobs_created(sf) == before + 1
    assert (len(small), len(big), len(nested)) == (50, 300, 300)


@pytest.mark.slow
def test_one_hundred_thousand_rows(big_emu: RunningEmulator, big_store: Path) -> None:
    """100,000 Contacts through Bulk API 2.0: every row once, typed, nulls as NA."""
    soql = (
        "SELECT Id, FirstName, LastName, Email, Birthdate, IsDeleted, CreatedDate, "
        "Account.Name, Account.AnnualRevenue FROM Contact"
    )
    with aksf.session("prod", progress=False) as sf:
        started = time.perf_counter()
        frame = sf.bulk_query(soql)
        seconds = time.perf_counter() - started
        no_email = sf.count("SELECT COUNT() FROM Contact WHERE Email = null")
        no_account = sf.count("SELECT COUNT() FROM Contact WHERE AccountId = null")
        sample = sf.query(soql + " ORDER BY Id LIMIT 2000")
    print(f"\nbulk_query: {BIG_ROWS:,} rows in {seconds:.2f} s")
    assert len(frame) == BIG_ROWS
    assert frame["Id"].is_unique
    assert int(frame["Email"].isna().sum()) == no_email > 0
    assert int(frame["Account.Name"].isna().sum()) == no_account > 0
    assert str(frame["Birthdate"].dtype) == "datetime64[us]"
    assert str(frame["CreatedDate"].dtype) == "datetime64[us, UTC]"
    assert str(frame["Account.AnnualRevenue"].dtype) == "Float64"
    head = frame.sort_values("Id").head(2000).reset_index(drop=True)
    pd.testing.assert_frame_equal(head, sample[list(frame.columns)])


@pytest.mark.slow
def test_one_hundred_thousand_rows_auto_and_polars(
    big_emu: RunningEmulator, big_store: Path
) -> None:
    import polars as pl

    soql = "SELECT Id, Email, Birthdate, CreatedDate FROM Contact"
    with aksf.session("prod", progress=False) as sf:
        before = bulk_jobs_created(sf)
        frame = sf.query(soql, method="auto")  # 100,000 > bulk_threshold (50,000)
        assert bulk_jobs_created(sf) == before + 1
        polar = sf.bulk_query(soql, engine="polars")
    assert len(frame) == polar.height == BIG_ROWS
    assert polar.schema["Birthdate"] == pl.Date
    assert polar["Email"].null_count() == int(frame["Email"].isna().sum())


def test_pages_parse_every_record_and_any_number() -> None:
    """A one-column page whose values are blank keeps every row; an int past int64 or a
    value that is not a number falls back to text instead of failing the query."""
    body = b'Name\n" "\nx\n""\n"  "\n'
    frame = _bulk._parse_pandas(body)
    assert frame["Name"].tolist()[:2] == [" ", "x"] and len(frame) == 4
    huge = _bulk._parse_pandas(b"N\n-9223372036854775809\n99999999999999999999\n", {"N": "int"})
    assert huge["N"].tolist() == ["-9223372036854775809", "99999999999999999999"]
    typed = _bulk._parse_pandas(b"N,R\n1,2.5\n,\n", {"N": "int", "R": "double"})
    assert str(typed["N"].dtype) == "Int64" and str(typed["R"].dtype) == "Float64"
    assert typed["N"].isna().tolist() == [False, True]


def test_pages_typed_apart_join_as_if_typed_together() -> None:
    """Each page is typed on its own thread; the joined result is what typing after
    joining gives, also when the pages typed differently (a long past int64 on one)."""
    types = {"N": "long", "D": "datetime", "B": "boolean"}
    header = b"N,D,B\n"
    first = b'1,2024-01-01T00:00:00.000Z,true\n"",,\n'
    for second, same_types in [
        (b"7,2024-01-02T10:00:00.000Z,false\n", True),
        (b"99999999999999999999,2024-01-02T10:00:00.000Z,false\n", False),
    ]:
        bodies = [header + first, header + second]
        pages = [_bulk._parse_pandas(body, types, typed=True) for body in bodies]
        assert (str(pages[1]["N"].dtype) == "Int64") is same_types
        joined = _bulk.type_pandas(_bulk._concat_pandas(pages), types)
        after = _bulk.type_pandas(
            _bulk._concat_pandas([_bulk._parse_pandas(body, types) for body in bodies]), types
        )
        pd.testing.assert_frame_equal(joined, after)
        assert str(joined["D"].dtype) == "datetime64[us, UTC]"
        assert joined["B"].tolist()[:2] == [True, pd.NA] and str(joined["B"].dtype) == "boolean"
        if same_types:
            whole = _bulk._parse_pandas(header + first + second, types, typed=True)
            pd.testing.assert_frame_equal(joined, whole)
            assert str(joined["N"].dtype) == "Int64"
