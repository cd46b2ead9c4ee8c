"""Batch creates (``RecordService.create_many``) give every row the outcome a one-by-one
``create`` gives it, and Bulk API ingest rows written that way are visible to REST
queries, Bulk queries and Change Data Capture as before."""

from __future__ import annotations

import asyncio
import csv
import datetime
import io
import time
from typing import Any

import pytest

from ak_salesforce_nb.emulator import EmulatorConfig, start_emulator
from ak_salesforce_nb.emulator._csv_values import coerce_csv
from ak_salesforce_nb.emulator._errors import ApiError
from ak_salesforce_nb.emulator._ingest_run import run_job as run_ingest
from ak_salesforce_nb.emulator._pubsub_schema import avro_decode
from ak_salesforce_nb.emulator._state import EmulatorState
from ak_salesforce_nb.emulator._store import Table

from .helpers import contents, get_token, http_client, queued_account_job, reference_upsert
from .test_emu_ingest import results, run_job

#: Written at the moment of the write, so they differ between two runs.


def org() -> EmulatorState:
    state = EmulatorState(EmulatorConfig(accounts=30, seed=7))
    state.config.validation_rule_prefix = "REJECT"
    return state


def outcome(result: str | ApiError) -> Any:
    if isinstance(result, str):
        return result
    return (type(result).__name__, result.status, result.error_code, result.message, result.fields)


def one_by_one(state: EmulatorState, table: Table, bodies: list[dict[str, Any]]) -> list[Any]:
    user = state.store.users.columns["Id"][0]
    outcomes: list[Any] = []
    for body in bodies:
        try:
            outcomes.append(state.records.create(table, body, user, coerce_csv))
        except ApiError as error:
            outcomes.append(error)
    return outcomes


def batched(state: EmulatorState, table: Table, bodies: list[dict[str, Any]]) -> list[Any]:
    user = state.store.users.columns["Id"][0]
    return list(state.records.create_many(table, bodies, user, coerce_csv))


def mixed_accounts(existing_key: str) -> list[dict[str, Any]]:
    """Every kind of row failure, rows that pass, and rows that depend on earlier ones."""
    return [
        {"External_Id__c": "CM-0"},  # REQUIRED_FIELD_MISSING (takes no row lock)
        {"Name": "Locked A"},  # UNABLE_TO_LOCK_ROW
        {"Name": "Locked B"},  # UNABLE_TO_LOCK_ROW
        {"Name": "Fine 1", "External_Id__c": "CM-1", "Tier__c": "Gold"},
        {"Name": "Bad tier", "Tier__c": "Tin"},  # restricted picklist
        {"Name": "REJECT me"},  # the validation rule
        {"Name": "Dup existing", "External_Id__c": existing_key},  # DUPLICATE_VALUE
        {"Name": "Dup in batch", "External_Id__c": "cm-1"},  # duplicates row 3, any case
        {"Name": "Bad number", "NumberOfEmployees": "many"},  # wrong type for the field
        {"Name": "Unknown", "Nope__c": "x"},  # INVALID_FIELD
        {"Name": "Read only", "CreatedDate": "2024-01-01T00:00:00.000Z"},
        {"Name": "x" * 300},  # STRING_TOO_LONG
        {"Name": "Bad owner", "OwnerId": "001000000000000AAA"},  # id of another object
        {"Name": "Bad region", "Regions__c": "EMEA;Mars"},  # restricted multi-select
        {"Name": "Child", "Parent": {"External_Id__c": "CM-1"}},  # parent created above
        {"Name": "Fine 2", "External_Id__c": "CM-2", "NumberOfEmployees": "12"},
        {"Name": "Dup after a flush", "External_Id__c": "CM-2"},
        {"Name": "Orphan", "Parent": {"External_Id__c": "CM-404"}},  # no such parent
        {"Name": "Fine 3", "External_Id__c": "CM-3"},
    ]


def test_same_outcomes_and_rows_as_one_by_one_creates() -> None:
    single, batch = org(), org()
    single_table, batch_table = single.store.table("Account"), batch.store.table("Account")
    assert single_table is not None and batch_table is not None
    existing_key = single_table.columns["External_Id__c"][0]
    assert existing_key
    bodies = mixed_accounts(existing_key)
    single.faults.lock_rows(2)
    batch.faults.lock_rows(2)
    expected = one_by_one(single, single_table, [dict(b) for b in bodies])
    got = batched(batch, batch_table, [dict(b) for b in bodies])
    assert [outcome(o) for o in got] == [outcome(o) for o in expected]
    codes = [o if isinstance(o, str) else o.error_code for o in got]
    assert codes.count("UNABLE_TO_LOCK_ROW") == 2 and codes.count("DUPLICATE_VALUE") == 3
    assert sum(isinstance(o, str) for o in got) == 4, codes
    # The duplicate inside the batch names the id the earlier row got.
    assert got[3] in got[7].message
    assert contents(batch_table) == contents(single_table)
    child = batch_table.row_of(got[14])
    assert child is not None and batch_table.columns["ParentId"][child] == got[3]


def test_derived_fields_of_a_batch_match() -> None:
    single, batch = org(), org()
    bodies = [{"Subject": f"Case {i}", "Status": "New"} for i in range(3)]
    bodies.insert(1, {"Subject": "Bad", "Priority": "Whenever"})
    tables = [s.store.table("Case") for s in (single, batch)]
    assert tables[0] is not None and tables[1] is not None
    expected = one_by_one(single, tables[0], bodies)
    got = batched(batch, tables[1], bodies)
    assert [outcome(o) for o in got] == [outcome(o) for o in expected]
    assert contents(tables[1]) == contents(tables[0])
    numbers = [tables[1].columns["CaseNumber"][r] for r in range(len(tables[1]))][-3:]
    assert len(set(numbers)) == 3


def test_a_batch_rolls_back_with_its_transaction() -> None:
    state = org()
    table = state.store.table("Account")
    assert table is not None
    before = contents(table)
    transaction = state.store.transaction()
    ids = batched(state, table, [{"Name": "Gone 1", "External_Id__c": "GONE-1"}, {"Name": "G2"}])
    assert all(isinstance(i, str) for i in ids) and table.row_of(ids[0]) is not None
    transaction.rollback()
    after = contents(table)
    assert after["columns"] == before["columns"] and after["index"] == before["index"]
    assert after["unique"] == before["unique"]
    assert table.find_unique("External_Id__c", "GONE-1") is None


def test_not_createable_object_fails_every_row() -> None:
    state = org()
    users = state.store.users
    got = batched(state, users, [{"LastName": "A"}, {"LastName": "B"}])
    assert [o.error_code for o in got] == ["INVALID_TYPE_FOR_OPERATION"] * 2


@pytest.mark.parametrize("chunk_size", [3, 10_000])
def test_ingest_rows_visible_to_queries_and_change_events(chunk_size: int) -> None:
    config = EmulatorConfig(
        accounts=20,
        pubsub=True,
        bulk_job_delay=0.05,
        bulk_ingest_chunk_size=chunk_size,
        anchor_date=datetime.date(2024, 6, 15),
        validation_rule_prefix="REJECT",
    )
    lines = ["Name,External_Id__c,Industry"]
    for i in range(8):
        name = "REJECT row" if i == 2 else f"Batch {i}"
        key = "BM-1" if i == 5 else f"BM-{i}"  # row 5 duplicates row 1's key
        lines.append(f"{name},{key},Energy")
    with start_emulator(config) as emu:
        token = get_token(emu)
        with http_client(
            f"{emu.url}/services/data/v66.0",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        ) as api:
            info = run_job(api, "\n".join(lines) + "\n", "insert")
            assert info["numberRecordsProcessed"] == 8 and info["numberRecordsFailed"] == 2
            ok = results(api, info["id"], "successfulResults")[1:]
            failed = results(api, info["id"], "failedResults")[1:]
            assert sorted(row[0].split(":")[0] for row in (r[1:] for r in failed)) == [
                "DUPLICATE_VALUE",
                "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            ]
            by_key = {row[3]: row[0] for row in ok}
            assert sorted(by_key) == ["BM-0", "BM-1", "BM-3", "BM-4", "BM-6", "BM-7"]
            soql = "SELECT Id, External_Id__c FROM Account WHERE External_Id__c LIKE 'BM-%'"
            answer = api.get("/query", params={"q": soql})
            assert answer.status_code == 200, answer.text
            rest_rows = {r["External_Id__c"]: r["Id"] for r in answer.json()["records"]}
            assert rest_rows == by_key
            job = api.post("/jobs/query", json={"operation": "query", "query": soql}).json()
            deadline = time.monotonic() + 10
            while api.get(f"/jobs/query/{job['id']}").json()["state"] != "JobComplete":
                assert time.monotonic() < deadline
                time.sleep(0.02)
            page = api.get(f"/jobs/query/{job['id']}/results")
            bulk_rows = list(csv.DictReader(io.StringIO(page.text)))
            assert {r["External_Id__c"]: r["Id"] for r in bulk_rows} == by_key
        bus = emu.pubsub_server.bus
        schema = bus.change_schemas["account"]
        events, _ = bus.read(0, bus.topics["/data/AccountChangeEvent"], 100)
        decoded = [avro_decode(schema, e.payload) for e in events]
    headers = [d["ChangeEventHeader"] for d in decoded]
    assert [h["changeType"] for h in headers] == ["CREATE"] * 6
    # One event per created row, in row order, with the row's values.
    assert [h["recordIds"][0] for h in headers] == [by_key[k] for k in sorted(by_key)]
    assert [d["External_Id__c"] for d in decoded] == sorted(by_key)
    # One transaction per chunk, sequence numbers counting within it.
    keys = [h["transactionKey"] for h in headers]
    if chunk_size == 3:  # rows 0-2, 3-5, 6-7: 2, 2 and 2 created
        assert keys[0] == keys[1] != keys[2] == keys[3] != keys[4] == keys[5]
        assert [h["sequenceNumber"] for h in headers] == [1, 2, 1, 2, 1, 2]
    else:
        assert len(set(keys)) == 1
        assert [h["sequenceNumber"] for h in headers] == [1, 2, 3, 4, 5, 6]


def test_mixed_upsert_job_writes_what_row_by_row_writes_would() -> None:
    """Updates and creates interleaved, with locks, rule and type failures and duplicates:
    the batched runner gives each row the outcome row-by-row writes give it."""
    single, batch = org(), org()
    tables = [s.store.table("Account") for s in (single, batch)]
    assert tables[0] is not None and tables[1] is not None
    existing = [tables[0].columns["External_Id__c"][r] for r in range(3)]
    lines = [
        "External_Id__c,Name,NumberOfEmployees",
        "UP-1,New one,5",
        f"{existing[0]},Renamed,",  # update: the creates before it are written first
        "UP-2,Locked,",  # the armed row locks fall on this create and the next update
        f"{existing[1]},Renamed too,7",
        "UP-3,REJECT new,",
        f"{existing[2]},,lots",  # wrong type on an update
        "UP-4,Twice,",
        "up-4,Twice again,",  # both rows with this key fail
        "UP-5,,",  # required field missing on create
        "UP-6,Last,9",
    ]
    single.faults.lock_rows(2)
    batch.faults.lock_rows(2)
    header, *rows = csv.reader(lines)
    expected = reference_upsert(single, header, rows)
    job = queued_account_job(
        batch,
        ("\n".join(lines) + "\n").encode(),
        operation="upsert",
        external_id="External_Id__c",
    )
    asyncio.run(run_ingest(batch, job))
    assert job.state == "JobComplete"
    got = {**job.successes, **job.failures}
    assert got == expected
    assert sum(1 for text in expected.values() if text[1].startswith("UNABLE_TO_LOCK")) == 2
    assert contents(tables[1]) == contents(tables[0])
