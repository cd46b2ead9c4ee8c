"""Writes against the real emulator on loopback: shuffled result files, seeded failures,
every field type both ways, both sides of the threshold, faults, Ctrl-C, polars."""

from __future__ import annotations

import datetime
import signal
import threading
import time
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator
from ak_salesforce_nb.kernel._retry import RetryPolicy
from ak_salesforce_nb.kernel._writes import WriteInterrupted
from tests.explore.conftest import authorize_store

FAST = RetryPolicy(attempts=5, initial=0.05, maximum=0.2)


@pytest.fixture(scope="module")
def org() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(
        accounts=50,
        auto_approve=True,
        bulk_job_delay=0.1,
        shuffle_results=True,
        validation_rule_prefix="FAIL",
    )
    with start_emulator(config) as emu:
        yield emu


@pytest.fixture
def sf(org: RunningEmulator, store_path: Path) -> Iterator[aksf.Session]:
    authorize_store(org, store_path)
    with aksf.session("prod", progress=False) as session:
        yield session
    org.clear_faults()
    org.config.bulk_job_delay = 0.1
    org.config.bulk_ingest_chunk_size = 10_000


def frame(tag: str, n: int, *, fail_every: int = 0) -> pd.DataFrame:
    names = [
        f"FAIL {tag} {i}" if fail_every and i % fail_every == 3 else f"{tag} {i}" for i in range(n)
    ]
    data = pd.DataFrame(
        {
            "Name": names,
            "External_Id__c": [f"{tag}-{i}" for i in range(n)],
            "NumberOfEmployees": range(n),
        }
    )
    data.index = pd.Index([f"{tag}{i}" for i in range(n)])
    return data


def stored(sf: aksf.Session, tag: str) -> pd.DataFrame:
    found = sf.query(
        f"SELECT Id, Name, External_Id__c, NumberOfEmployees FROM Account "
        f"WHERE External_Id__c LIKE '{tag}-%'"
    )
    return found.set_index("Id") if len(found) else found


@pytest.mark.parametrize(("tag", "rows"), [("coll", 1500), ("bulk", 2600)])
def test_insert_on_both_sides_of_the_threshold_aligns_with_seeded_failures(
    sf: aksf.Session, tag: str, rows: int
) -> None:
    data = frame(tag, rows, fail_every=10)
    result = sf.insert("Account", data)
    assert result.index.equals(data.index)
    failed = data.Name.str.startswith("FAIL")
    assert (result.success == ~failed).all()
    assert set(result.error_code[failed]) == {"FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    records = stored(sf, tag)
    assert len(records) == (~failed).sum()
    written = result[result.success]
    assert list(records.loc[written.id, "Name"]) == list(data.Name[result.success])
    jobs = sf.get("jobs/ingest")["records"]
    assert any(j["object"] == "Account" for j in jobs) == (tag == "bulk") or tag == "coll"


@pytest.mark.parametrize("method", ["collections", "bulk"])
def test_every_field_type_goes_and_comes_back_exactly(sf: aksf.Session, method: str) -> None:
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    data = pd.DataFrame(
        {
            "Name": [f"types {method} 1", f"types {method} 2"],
            "External_Id__c": [f"types-{method}-1", f"types-{method}-2"],
            "Tier__c": ["Gold", None],
            "Regions__c": [["EMEA", "APAC"], None],
            "Customer_Since__c": [datetime.date(2020, 2, 29), None],
            "Last_Review__c": [
                datetime.datetime(2024, 3, 31, 12, 30, 15, 250000, tzinfo=paris),
                None,
            ],
            "Is_Partner__c": [True, False],
            "Score__c": [0.1 + 0.2, None],
            "NumberOfEmployees": pd.array([12, None], dtype="Int64"),
            "AnnualRevenue": [1234567.0, None],
        }
    )
    result = sf.insert("Account", data, method=method)
    assert result.success.all(), result.error_message.tolist()
    back = sf.query(
        "SELECT Id, Tier__c, Regions__c, Customer_Since__c, Last_Review__c, Is_Partner__c, "
        f"Score__c, NumberOfEmployees, AnnualRevenue FROM Account WHERE Id IN ('{result.id[0]}', "
        f"'{result.id[1]}') ORDER BY Name"
    )
    first, second = back.iloc[0], back.iloc[1]
    assert first.Tier__c == "Gold" and sorted(first.Regions__c.split(";")) == ["APAC", "EMEA"]
    assert first.Customer_Since__c == pd.Timestamp("2020-02-29")
    assert first.Last_Review__c == pd.Timestamp("2024-03-31T10:30:15.250Z")
    assert bool(first.Is_Partner__c) and first.NumberOfEmployees == 12
    assert first.Score__c == pytest.approx(0.3) and first.AnnualRevenue == 1234567
    assert pd.isna(second.Tier__c) and pd.isna(second.Customer_Since__c)
    assert pd.isna(second.Last_Review__c) and pd.isna(second.NumberOfEmployees)


@pytest.mark.parametrize("method", ["collections", "bulk"])
def test_update_upsert_and_delete_align_on_shuffled_results(sf: aksf.Session, method: str) -> None:
    tag = f"ud{method}"
    made = sf.insert("Account", frame(tag, 300))
    ids = list(made.id)
    ids[7] = "001000000000000AAA"  # no such record
    changes = pd.DataFrame({"Id": ids, "NumberOfEmployees": [None] * 150 + list(range(150))})
    updated = sf.update("Account", changes, method=method)
    assert list(updated.success) == [i != 7 for i in range(300)]
    assert updated.error_code[7] in (
        "INVALID_CROSS_REFERENCE_KEY",
        "ENTITY_IS_DELETED",
        "NOT_FOUND",
    )
    records = stored(sf, tag)
    assert records.NumberOfEmployees.isna().sum() == 149  # row 7 failed, so kept its number
    upsert = frame(tag, 320).assign(Name=lambda f: f.Name + " v2")
    upserted = sf.upsert("Account", upsert, external_id="External_Id__c", method=method)
    assert upserted.success.all()
    assert list(upserted.created) == [False] * 300 + [True] * 20
    assert list(upserted.id[:300]) == list(made.id)
    contacts = pd.DataFrame(
        {"LastName": ["Hopper", "Lovelace"], "Account.External_Id__c": [f"{tag}-5", f"{tag}-310"]}
    )
    linked = sf.Contact.insert(contacts, method=method)
    assert linked.success.all()
    parents = sf.query(
        f"SELECT Id, AccountId FROM Contact WHERE Id IN ('{linked.id[0]}', '{linked.id[1]}')"
    ).set_index("Id")
    assert parents.loc[linked.id[0], "AccountId"] == made.id.iloc[5]
    assert parents.loc[linked.id[1], "AccountId"] == upserted.id.iloc[310]
    gone = sf.delete("Account", upserted.id[:100], method=method)
    assert gone.success.all()
    assert len(stored(sf, tag)) == 220
    hard = sf.hard_delete("Account", upserted[["id"]].rename(columns={"id": "Id"}).iloc[100:])
    assert hard.success.all() and len(stored(sf, tag)) == 0


def test_bad_values_fail_their_own_rows(sf: aksf.Session) -> None:
    data = pd.DataFrame(
        {"Name": ["ok pick", "bad pick", "no name"], "Tier__c": ["Gold", "Platinum", "Gold"]}
    )
    data.loc[2, "Name"] = None
    for method in ("collections", "bulk"):
        result = sf.insert("Account", data, method=method)
        assert list(result.success) == [True, False, False], method
        assert result.error_code[1] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
        assert result.error_code[2] == "REQUIRED_FIELD_MISSING"
        checked = sf.insert("Account", data, dry_run=True)
        assert list(checked.error_code) == list(result.error_code)


def test_polars_in_polars_out(sf: aksf.Session) -> None:
    data = pl.DataFrame({"Name": ["pl 1", "FAIL pl 2"], "Score__c": [1.5, None]})
    for method in ("collections", "bulk"):
        result = sf.insert("Account", data, method=method)
        assert isinstance(result, pl.DataFrame)
        assert result["success"].to_list() == [True, False]


def test_transient_faults_and_locked_rows_are_retried(
    sf: aksf.Session, org: RunningEmulator
) -> None:
    org.inject_fault("unavailable", 2, "composite/sobjects")
    result = sf.insert("Account", frame("fault", 5), retry=FAST)
    assert result.success.all()
    org.inject_fault("request_limit", 1, "jobs/ingest")
    org.lock_rows(3)
    bulk = sf.insert("Account", frame("lock", 40), method="bulk", retry=FAST)
    assert bulk.success.all()
    assert len(stored(sf, "lock")) == 40


@pytest.mark.parametrize("job_rows", [None, 500])
def test_ctrl_c_mid_job_aborts_it_and_reports_what_was_written(
    sf: aksf.Session, org: RunningEmulator, job_rows: int | None
) -> None:
    org.config.bulk_job_delay = 3.0
    org.config.bulk_ingest_chunk_size = 200
    main = threading.main_thread().ident or 0

    def interrupt_once_a_chunk_is_written() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            jobs = [j for j in sf.get("jobs/ingest")["records"] if j["state"] == "InProgress"]
            if jobs and int(sf.get(f"jobs/ingest/{jobs[0]['id']}")["numberRecordsProcessed"]) > 0:
                signal.pthread_kill(main, signal.SIGINT)
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=interrupt_once_a_chunk_is_written)
    watcher.start()
    try:
        with pytest.raises(WriteInterrupted, match="aborted") as caught:
            sf.insert("Account", frame(f"ctrlc{job_rows}", 3000), method="bulk", job_rows=job_rows)
    finally:
        watcher.join()
    result = caught.value.result
    written = int(result.success.sum())
    assert 0 < written < 3000
    assert set(result.error_code[~result.success]) == {"NOT_PROCESSED"}
    assert len(stored(sf, f"ctrlc{job_rows}")) == written
    assert set(stored(sf, f"ctrlc{job_rows}").index) == set(result.id[result.success])
    job = next(j for j in sf.get("jobs/ingest")["records"] if j["state"] == "Aborted")
    assert job["object"] == "Account"


def _jobs_created_since(sf: aksf.Session, known: set[str]) -> list[dict[str, object]]:
    return [j for j in sf.get("jobs/ingest")["records"] if j["id"] not in known]


def test_a_write_in_several_jobs_aligns_every_row(sf: aksf.Session) -> None:
    known = {j["id"] for j in sf.get("jobs/ingest")["records"]}
    data = frame("parts", 1_300, fail_every=50)
    result = sf.upsert("Account", data, external_id="External_Id__c", method="bulk", job_rows=300)
    assert len(_jobs_created_since(sf, known)) == 5  # 300 + 300 + 300 + 300 + 100 rows
    assert list(result.index) == list(data.index)
    expected = ~data.Name.str.startswith("FAIL")
    assert (result.success == expected).all()
    assert set(result.error_code[~result.success]) == {"FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    saved = stored(sf, "parts")
    assert len(saved) == int(expected.sum())
    by_id = saved.loc[result.id[result.success]]
    assert list(by_id.External_Id__c) == list(data.External_Id__c[result.success])


def test_rows_naming_the_same_record_stay_in_one_job(sf: aksf.Session) -> None:
    known = {j["id"] for j in sf.get("jobs/ingest")["records"]}
    data = frame("dupes", 40)
    data.loc[data.index[35], "External_Id__c"] = "dupes-2"  # the same key as row 2
    result = sf.upsert("Account", data, external_id="External_Id__c", method="bulk", job_rows=10)
    assert len(_jobs_created_since(sf, known)) == 1
    assert list(result.error_code[~result.success]) == ["DUPLICATE_VALUE", "DUPLICATE_VALUE"]
    assert list(result.index[~result.success]) == ["dupes2", "dupes35"]
    assert result.success.sum() == 38


def test_job_rows_must_be_positive(sf: aksf.Session) -> None:
    with pytest.raises(ValueError, match="job_rows"):
        sf.insert("Account", frame("zero", 3), method="bulk", job_rows=0)
