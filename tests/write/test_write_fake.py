"""Writes against a fake org at the transport: both engines, alignment, dry runs,
retries, the raw `delete(path)`, Ctrl-C."""

from __future__ import annotations

import signal
import threading
from typing import Any

import pandas as pd
import polars as pl
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.kernel._retry import RetryPolicy
from ak_salesforce_nb.kernel._writes import WriteFailed, WriteInterrupted

from .fake_org import FakeOrg

COLUMNS = ["success", "id", "created", "error_code", "error_message", "error_fields"]


def accounts(n: int, *, fail_every: int = 0, start: int = 0) -> pd.DataFrame:
    names = [
        f"FAIL {i}" if fail_every and i % fail_every == 0 else f"Account {i}"
        for i in range(start, start + n)
    ]
    frame = pd.DataFrame(
        {
            "Name": names,
            "NumberOfEmployees": range(start, start + n),
            "External_Id__c": [f"E{i}" for i in range(start, start + n)],
        }
    )
    frame.index = pd.Index([f"row{i}" for i in range(start, start + n)], name="key")
    return frame


def assert_aligned(org: FakeOrg, frame: pd.DataFrame, result: pd.DataFrame) -> None:
    """Every successful row's id is the record holding that row's Name."""
    assert list(result.columns) == COLUMNS
    assert result.index.equals(frame.index)
    for name, (ok, record_id) in zip(
        frame["Name"], zip(result.success, result.id, strict=True), strict=True
    ):
        if ok:
            assert org.records[record_id]["Name"] == name


@pytest.mark.parametrize("method", ["collections", "bulk"])
def test_insert_aligns_every_row_with_seeded_failures(
    sf: aksf.Session, org: FakeOrg, method: str
) -> None:
    org.shuffle = True
    frame = accounts(450, fail_every=7)
    result = sf.insert("Account", frame, method=method)
    assert_aligned(org, frame, result)
    failed = frame["Name"].str.startswith("FAIL")
    assert (~result.success == failed).all()
    assert set(result.error_code[failed]) == {"FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    assert result.created[~failed].all()
    assert result.error_fields[~failed].map(len).eq(0).all()
    assert len(org.records) == (~failed).sum()


def test_auto_picks_collections_up_to_the_threshold_and_bulk_past_it(
    sf: aksf.Session, org: FakeOrg
) -> None:
    sf.insert("Account", accounts(2000))
    assert not any("jobs/ingest" in path for _, path in org.requests)
    assert sum(1 for m, p in org.requests if p.endswith("composite/sobjects")) == 10
    sf.insert("Account", accounts(2001, start=5000))
    assert any("jobs/ingest" in path for _, path in org.requests)


def test_bulk_twins_get_their_own_outcomes(sf: aksf.Session, org: FakeOrg) -> None:
    org.shuffle = True
    frame = pd.DataFrame({"Name": ["Same", "Same", "Other", "Same"]})
    result = sf.insert("Account", frame, method="bulk")
    assert result.success.all()
    assert result.id.is_unique
    assert sum(1 for m, p in org.requests if m == "POST" and p.endswith("jobs/ingest")) == 3


def test_bulk_result_lines_with_blank_echoes_still_align(sf: aksf.Session, org: FakeOrg) -> None:
    before = sf.insert("Account", accounts(300))
    org.shuffle = True
    org.blank_echo = {"NumberOfEmployees"}
    update = pd.DataFrame({"Id": [i[:15] for i in before.id], "NumberOfEmployees": range(300)})
    result = sf.update("Account", update, method="bulk")
    assert result.success.all()
    assert [i[:15] for i in result.id] == list(update.Id)


def test_update_sets_nulls_and_leaves_missing_keys_alone(sf: aksf.Session, org: FakeOrg) -> None:
    made = sf.insert("Account", [{"Name": "A", "NumberOfEmployees": 5, "Industry": "Energy"}])
    record_id = made.id[0]
    sf.update("Account", [{"Id": record_id, "NumberOfEmployees": None}])
    assert org.records[record_id]["NumberOfEmployees"] is None
    assert org.records[record_id]["Industry"] == "Energy"
    sf.update("Account", [{"Id": record_id, "Industry": None}], method="bulk")
    assert org.records[record_id]["Industry"] is None
    assert org.records[record_id]["Name"] == "A"


@pytest.mark.parametrize("method", ["collections", "bulk"])
def test_upsert_says_what_it_created_and_links_parents_by_external_id(
    sf: aksf.Session, org: FakeOrg, method: str
) -> None:
    sf.insert("Account", accounts(3))
    frame = accounts(5).assign(Name=lambda f: f.Name + " v2")
    result = sf.upsert("Account", frame, external_id="External_Id__c", method=method)
    assert result.success.all()
    assert list(result.created) == [False, False, False, True, True]
    contacts = pd.DataFrame({"LastName": ["Lovelace"], "Account.External_Id__c": ["E4"]})
    linked = sf.Contact.insert(contacts, method=method)
    parent = result.id.iloc[4]
    assert org.records[linked.id[0]]["AccountId"] == parent


@pytest.mark.parametrize("method", ["collections", "bulk"])
def test_delete_by_ids_or_frame_and_hard_delete(
    sf: aksf.Session, org: FakeOrg, method: str
) -> None:
    made = sf.insert("Account", accounts(4))
    gone = sf.delete("Account", list(made.id[:2]), method=method)
    assert gone.success.all() and list(gone.id) == list(made.id[:2])
    again = sf.Account.delete(made[["id"]].rename(columns={"id": "Id"}), method=method)
    assert list(again.success) == [False, False, True, True]
    assert set(again.error_code[:2]) == {"ENTITY_IS_DELETED"}
    assert again.index.equals(made.index)
    assert org.records == {}


def test_hard_delete_is_bulk_only(sf: aksf.Session, org: FakeOrg) -> None:
    made = sf.insert("Account", accounts(2))
    result = sf.hard_delete("Account", made.id)
    assert result.success.all()
    assert any(p.endswith("jobs/ingest") for _, p in org.requests)
    with pytest.raises(ValueError, match=r"Bulk API 2\.0"):
        sf.hard_delete("Account", made.id, method="collections")


def test_raw_delete_of_a_path_still_works_and_a_wrong_mix_is_refused(
    sf: aksf.Session, org: FakeOrg
) -> None:
    assert sf.delete("sobjects/Account/001000000000001AAA") is None
    assert org.requests[-1] == (
        "DELETE",
        "/services/data/v63.0/sobjects/Account/001000000000001AAA",
    )
    with pytest.raises(TypeError, match="needs the records to delete"):
        sf.delete("Account")
    with pytest.raises(TypeError, match="a path takes no data"):
        sf.delete("sobjects/Account/001000000000001AAA", ["001000000000001AAA"])
    with pytest.raises(TypeError, match="write options"):
        sf.delete("sobjects/Account/001000000000001AAA", dry_run=True)
    # The one-record calls of SObject keep their meaning.
    assert sf.Account.delete("001000000000001AAA") is None


def test_polars_and_records_input(sf: aksf.Session, org: FakeOrg) -> None:
    frame = pl.DataFrame({"Name": ["P1", "FAIL P2"], "Active__c": [True, None]})
    result = sf.insert("Account", frame)
    assert isinstance(result, pl.DataFrame)
    assert result["success"].to_list() == [True, False]
    assert result["error_fields"].to_list() == [[], []]
    listed = sf.insert("Account", [{"Name": "R1"}, {"Name": "R2", "Industry": "Retail"}])
    assert list(listed.index) == [0, 1] and listed.success.all()
    assert "Industry" not in org.records[listed.id[0]]


def test_dry_run_writes_nothing_and_answers_per_row(sf: aksf.Session, org: FakeOrg) -> None:
    frame = pd.DataFrame(
        {
            "Name": ["ok", None, "fine", "x"],
            "NumberOfEmployees": [1, 2, 2.5, 3],
            "Industry": ["Energy", "Energy", "Energy", "Oil"],
        },
        index=[10, 11, 12, 13],
    )
    result = sf.insert("Account", frame, dry_run=True)
    assert list(result.success) == [True, False, False, False]
    assert list(result.error_code) == [
        None,
        "REQUIRED_FIELD_MISSING",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    ]
    assert result.error_fields[11] == ["Name"]
    unknown = sf.insert("Account", frame.assign(Nope__c=1, CreatedDate="x"), dry_run=True)
    assert set(unknown.error_code) == {"INVALID_FIELD"}
    assert {"Nope__c", "CreatedDate"} <= set(unknown.error_fields.iloc[0])
    missing = sf.insert("Account", pd.DataFrame({"Industry": ["Energy"]}), dry_run=True)
    assert missing.error_code[0] == "REQUIRED_FIELD_MISSING"
    twice = sf.update(
        "Account",
        pd.DataFrame({"Id": ["001000000000001AAA"] * 2, "Name": ["a", "b"]}),
        dry_run=True,
    )
    assert list(twice.error_code) == [None, "DUPLICATE_VALUE"]
    assert org.writes() == []


def test_a_write_that_cannot_work_stops_before_sending(sf: aksf.Session, org: FakeOrg) -> None:
    with pytest.raises(aksf.InvalidField, match="Nope__c"):
        sf.insert("Account", pd.DataFrame({"Name": ["a"], "Nope__c": [1]}))
    with pytest.raises(aksf.SalesforceError, match="read-only"):
        sf.update("Account", pd.DataFrame({"Id": ["001000000000001AAA"], "CreatedDate": ["x"]}))
    with pytest.raises(ValueError, match="needs an Id column"):
        sf.update("Account", pd.DataFrame({"Name": ["a"]}))
    with pytest.raises(ValueError, match="not an External ID field"):
        sf.upsert("Account", pd.DataFrame({"Name": ["a"]}), external_id="Name")
    with pytest.raises(ValueError, match="all_or_none is an sObject Collections option"):
        sf.insert("Account", accounts(3), method="bulk", all_or_none=True)
    with pytest.raises(TypeError, match="Cannot write a set"):
        sf.insert("Account", {"a"})
    assert org.writes() == []


def test_raise_on_error_carries_the_result(sf: aksf.Session) -> None:
    with pytest.raises(WriteFailed, match="1 of 3 rows failed") as caught:
        sf.insert("Account", accounts(3, fail_every=3), raise_on_error=True)
    assert list(caught.value.result.success) == [False, True, True]
    assert sf.last_write is caught.value.result


def test_all_or_none_rolls_back_a_request_and_stops(sf: aksf.Session, org: FakeOrg) -> None:
    frame = accounts(500)
    frame.loc["row250", "Name"] = "FAIL here"
    result = sf.insert("Account", frame, all_or_none=True)
    assert result.success[:200].all()
    assert result.error_code["row250"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert set(result.error_code[200:400].drop("row250")) == {"ALL_OR_NONE_OPERATION_ROLLED_BACK"}
    assert set(result.error_code[400:]) == {"NOT_PROCESSED"}
    assert len(org.records) == 200


@pytest.mark.parametrize("kind", ["503", "limit", "connect"])
def test_transient_request_failures_are_retried(
    sf: aksf.Session, org: FakeOrg, no_wait: RetryPolicy, waits: list[float], kind: str
) -> None:
    org.faults = [(kind, "composite/sobjects"), (kind, "composite/sobjects")]
    result = sf.insert("Account", accounts(3), retry=no_wait)
    assert result.success.all()
    assert len(waits) == 2 and 0.5 <= waits[0] <= 0.75 and 1.0 <= waits[1] <= 1.25


def test_retries_are_bounded_and_the_daily_limit_is_not_retried(
    sf: aksf.Session, org: FakeOrg, no_wait: RetryPolicy, waits: list[float]
) -> None:
    org.faults = [("503", "composite/sobjects")] * 5
    result = sf.insert("Account", accounts(2), retry=no_wait)
    assert set(result.error_code) == {"SERVER_UNAVAILABLE"} and len(waits) == 4
    waits.clear()
    org.faults = [("daily", "composite/sobjects")]
    result = sf.insert("Account", accounts(2), retry=no_wait)
    assert set(result.error_code) == {"REQUEST_LIMIT_EXCEEDED"} and waits == []


def test_a_reset_after_sending_is_not_resent_for_inserts_but_is_for_updates(
    sf: aksf.Session, org: FakeOrg, no_wait: RetryPolicy, waits: list[float]
) -> None:
    org.faults = [("reset", "composite/sobjects")]
    result = sf.insert("Account", accounts(2), retry=no_wait)
    assert set(result.error_code) == {"OUTCOME_UNKNOWN"} and waits == []
    made = sf.insert("Account", accounts(2))
    org.faults = [("reset", "composite/sobjects")]
    updated = sf.update("Account", pd.DataFrame({"Id": made.id, "Name": ["x", "y"]}), retry=no_wait)
    assert updated.success.all() and len(waits) == 1


@pytest.mark.parametrize("method", ["collections", "bulk"])
def test_locked_rows_are_sent_again(
    sf: aksf.Session, org: FakeOrg, no_wait: RetryPolicy, waits: list[float], method: str
) -> None:
    org.shuffle = True
    org.locked_rows = 3
    frame = accounts(10)
    result = sf.insert("Account", frame, method=method, retry=no_wait)
    assert result.success.all()
    assert_aligned(org, frame, result)
    assert len(org.records) == 10 and len(waits) == 1


def test_bulk_polls_with_backoff_and_reports_progress(
    sf: aksf.Session, org: FakeOrg, capsys: pytest.CaptureFixture[str]
) -> None:
    org.polls_in_progress = 3
    result = sf.insert(
        "Account", accounts(30, fail_every=10), method="bulk", progress=True, poll_interval=0.01
    )
    assert (~result.success).sum() == 3
    err = capsys.readouterr().err
    assert "insert Account: 30 / 30 records (3 failed)" in err


def test_ctrl_c_aborts_the_bulk_job_and_reports_what_was_processed(
    sf: aksf.Session, org: FakeOrg
) -> None:
    org.polls_in_progress = 10_000

    def interrupt(job_id: str) -> None:
        if org.jobs[job_id]["polls"] == 2:
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    org.on_poll = interrupt
    with pytest.raises(WriteInterrupted, match="aborted") as caught:
        sf.insert("Account", accounts(40), method="bulk", poll_interval=0.01)
    result = caught.value.result
    assert set(result.error_code) == {"NOT_PROCESSED"}
    assert [job["state"] for job in org.jobs.values()] == ["Aborted"]
    assert sf.last_write is result
    assert org.records == {}


def test_describe_of_an_unknown_object_raises(sf: aksf.Session) -> None:
    with pytest.raises(aksf.RecordNotFound):
        sf.insert("Nope", [{"Name": "x"}])


def test_confirmation_is_asked_when_forced_and_no_means_nothing_written(
    sf: aksf.Session, org: FakeOrg
) -> None:
    from ak_salesforce_nb.kernel._writes import WriteCancelled, write

    asked: list[str] = []

    def answer(question: str) -> str:
        asked.append(question)
        return "no"

    with pytest.raises(WriteCancelled):
        write(sf, "insert", "Account", accounts(3), confirm=True, answer=answer)
    assert "insert 3 rows of Account on 'prod' (sObject Collections)?" in asked[0]
    assert org.writes() == []
    result: Any = write(sf, "insert", "Account", accounts(3), confirm=True, answer=lambda q: "yes")
    assert result.success.all()


def test_async_session_writes_through_the_same_engine(
    store_path: Any, org: FakeOrg, sf: aksf.Session
) -> None:
    import asyncio

    import httpx

    async def run() -> tuple[Any, Any]:
        async with aksf.async_session(
            "prod", transport=httpx.MockTransport(org), api_version="63.0", progress=False
        ) as asf:
            made = await asf.insert("Account", accounts(3, fail_every=3))
            gone = await asf.delete("Account", list(made.id[made.success]))
            return made, gone

    made, gone = asyncio.run(run())
    assert list(made.success) == [False, True, True]
    assert gone.success.all() and org.records == {}


def test_result_files_the_job_counts_say_are_empty_are_not_asked_for(
    sf: aksf.Session, org: FakeOrg
) -> None:
    def files() -> list[str]:
        tails = ("successfulResults/", "failedResults/", "unprocessedrecords/")
        return sorted(
            next(t for t in tails if p.endswith(t)) for _, p in org.requests if p.endswith(tails)
        )

    clean = sf.insert("Account", accounts(30), method="bulk")
    assert clean.success.all()
    assert files() == ["successfulResults/"]
    org.requests.clear()
    mixed = sf.insert("Account", accounts(30, fail_every=10), method="bulk")
    assert (~mixed.success).sum() == 3
    assert files() == ["failedResults/", "successfulResults/"]
