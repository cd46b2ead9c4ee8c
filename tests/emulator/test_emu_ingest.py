"""Bulk API 2.0 ingest jobs against an org of this module's own, with raw httpx as a
foreign client would: job states, CSV rules, result files, aborts, shuffling, faults."""

from __future__ import annotations

import asyncio
import csv
import datetime
import gzip
import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator
from ak_salesforce_nb.emulator._ingest_run import SLICE
from ak_salesforce_nb.emulator._ingest_run import run_job as process_job
from ak_salesforce_nb.emulator._pubsub_schema import avro_decode
from ak_salesforce_nb.emulator._state import EmulatorState

from .helpers import get_token, http_client, queued_account_job, rest_client

FINAL = ("JobComplete", "Failed", "Aborted")


@pytest.fixture(scope="module")
def org() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(accounts=150, seed=5, bulk_job_delay=0.2)
    with start_emulator(config) as emu:
        yield emu


@pytest.fixture
def emu(org: RunningEmulator) -> Iterator[RunningEmulator]:
    """The module's org, its write-back switches and faults put back after the test."""
    yield org
    org.config.shuffle_results = False
    org.config.validation_rule_prefix = None
    org.config.bulk_job_delay = 0.2
    org.config.bulk_ingest_chunk_size = 10_000
    org.clear_faults()


@pytest.fixture(scope="module")
def rest(org: RunningEmulator) -> Iterator[httpx.Client]:
    with rest_client(org) as api:
        yield api


def run_job(
    rest: httpx.Client,
    data: str | bytes,
    operation: str = "insert",
    sobject: str = "Account",
    **options: str,
) -> dict[str, Any]:
    """Create, upload, close and wait for a job; its final info."""
    job = create(rest, operation, sobject, **options)
    upload(rest, job["id"], data)
    closed = rest.patch(f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    assert closed.status_code == 200, closed.text
    return wait(rest, job["id"])


def create(rest: httpx.Client, operation: str, sobject: str = "Account", **options: str) -> Any:
    answer = rest.post("/jobs/ingest", json={"object": sobject, "operation": operation, **options})
    assert answer.status_code == 200, answer.text
    return answer.json()


def upload(rest: httpx.Client, job_id: str, data: str | bytes) -> None:
    content = data.encode() if isinstance(data, str) else data
    answer = rest.put(
        f"/jobs/ingest/{job_id}/batches", content=content, headers={"Content-Type": "text/csv"}
    )
    assert answer.status_code == 201 and answer.content == b"", answer.text


def wait(rest: httpx.Client, job_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info: dict[str, Any] = rest.get(f"/jobs/ingest/{job_id}").json()
        if info["state"] in FINAL:
            return info
        time.sleep(0.03)
    raise AssertionError(f"job {job_id} did not finish")


def results(rest: httpx.Client, job_id: str, kind: str, delimiter: str = ",") -> list[list[str]]:
    answer = rest.get(f"/jobs/ingest/{job_id}/{kind}/")
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(answer.text, newline=""), delimiter=delimiter))


def query(rest: httpx.Client, soql: str, resource: str = "query") -> list[dict[str, Any]]:
    answer = rest.get(f"/{resource}", params={"q": soql})
    assert answer.status_code == 200, answer.text
    records: list[dict[str, Any]] = answer.json()["records"]
    return records


def one_error(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert isinstance(body, list) and len(body) == 1, body
    error: dict[str, Any] = body[0]
    return error


def test_insert_job_life_cycle_and_result_files(rest: httpx.Client) -> None:
    job = create(rest, "insert", lineEnding="LF", columnDelimiter="COMMA", contentType="CSV")
    assert job["state"] == "Open" and job["id"].startswith("750") and len(job["id"]) == 18
    assert job["contentUrl"] == f"services/data/v66.0/jobs/ingest/{job['id']}/batches"
    assert job["object"] == "Account" and job["operation"] == "insert"
    assert job["apiVersion"] == 66.0 and job["concurrencyMode"] == "Parallel"
    assert "externalIdFieldName" not in job
    data = "Name,Industry,NumberOfEmployees\nLife One,Media,10\nLife Two,Banking,x\n,Retail,5\n"
    upload(rest, job["id"], data)
    second = rest.put(f"/jobs/ingest/{job['id']}/batches", content=data.encode())
    error = one_error(second, 400)
    assert error["errorCode"] == "BULK_API_ERROR"
    assert "Found multiple contents for job" in error["message"]
    closed = rest.patch(f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).json()
    assert closed["state"] == "UploadComplete"
    states = set()
    while (info := rest.get(f"/jobs/ingest/{job['id']}").json())["state"] not in FINAL:
        states.add(info["state"])
        time.sleep(0.02)
    assert states <= {"UploadComplete", "InProgress"} and states
    assert info["state"] == "JobComplete" and info["jobType"] == "V2Ingest"
    assert info["numberRecordsProcessed"] == 3 and info["numberRecordsFailed"] == 2
    assert info["totalProcessingTime"] >= 0 and info["retries"] == 0
    good = results(rest, job["id"], "successfulResults")
    assert good[0] == ["sf__Id", "sf__Created", "Name", "Industry", "NumberOfEmployees"]
    assert good[1][1:] == ["true", "Life One", "Media", "10"] and good[1][0].startswith("001")
    bad = results(rest, job["id"], "failedResults")
    assert bad[0] == ["sf__Id", "sf__Error", "Name", "Industry", "NumberOfEmployees"]
    assert sorted(row[1] for row in bad[1:]) == [
        "INVALID_TYPE_ON_FIELD_IN_RECORD:Employees: value not of required type: x:"
        "NumberOfEmployees --",
        "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
    ]
    assert all(row[0] == "" for row in bad[1:])
    assert results(rest, job["id"], "unprocessedrecords") == [
        ["Name", "Industry", "NumberOfEmployees"]
    ]
    assert query(rest, f"SELECT Name FROM Account WHERE Id = '{good[1][0]}'")[0]["Name"] == (
        "Life One"
    )
    # Visible to a Bulk API query as well.
    bulk = rest.post(
        "/jobs/query",
        json={"operation": "query", "query": "SELECT Id FROM Account WHERE Name = 'Life One'"},
    ).json()
    for _ in range(100):
        if rest.get(f"/jobs/query/{bulk['id']}").json()["state"] == "JobComplete":
            break
        time.sleep(0.02)
    rows = rest.get(f"/jobs/query/{bulk['id']}/results").text.splitlines()
    assert rows == ['"Id"', f'"{good[1][0]}"']  # every field quoted, as Salesforce sends it
    listed = rest.get("/jobs/ingest").json()
    assert listed["done"] is True and job["id"] in {r["id"] for r in listed["records"]}
    assert rest.delete(f"/jobs/ingest/{job['id']}").status_code == 204
    assert one_error(rest.get(f"/jobs/ingest/{job['id']}"), 404)["errorCode"] == "NOT_FOUND"


def test_csv_rules_for_every_field_type(rest: httpx.Client) -> None:
    header = (
        "External_Id__c,Name,Tier__c,Regions__c,Customer_Since__c,Last_Review__c,"
        "Is_Partner__c,Score__c,AnnualRevenue,NumberOfEmployees,Description\n"
    )
    first = run_job(
        rest,
        header + 'RULE-1,"Rules, Inc.",Gold,AMER;EMEA,2020-02-29,2024-05-06T07:08:09.123+02:00,'
        'yes,1.5E2,1234567.89,42,"Line one\nline ""two"""\n'
        "RULE-2,Rules Two,Silver,APAC,2021-01-01,2024-01-01T00:00:00Z,0,0.1,1,1,plain\n",
        "upsert",
        externalIdFieldName="External_Id__c",
    )
    assert first["numberRecordsFailed"] == 0, results(rest, first["id"], "failedResults")
    fields = (
        "Name, Tier__c, Regions__c, Customer_Since__c, Last_Review__c, Is_Partner__c, "
        "Score__c, AnnualRevenue, NumberOfEmployees, Description"
    )
    one = query(rest, f"SELECT {fields} FROM Account WHERE External_Id__c = 'RULE-1'")[0]
    assert one["Name"] == "Rules, Inc." and one["Regions__c"] == "AMER;EMEA"
    assert one["Customer_Since__c"] == "2020-02-29"
    assert one["Last_Review__c"] == "2024-05-06T05:08:09.123+0000"  # stored in UTC
    assert one["Is_Partner__c"] is True and one["Score__c"] == 150.0
    assert one["AnnualRevenue"] == 1234567.89 and one["NumberOfEmployees"] == 42
    assert one["Description"] == 'Line one\nline "two"'
    # Empty leaves a field alone, #N/A empties it; errors fail only their row.
    second = run_job(
        rest,
        "External_Id__c,Tier__c,Regions__c,Score__c,Description,Customer_Since__c,Is_Partner__c\n"
        "RULE-1,,#N/A,#N/A,,,\n"
        "RULE-2,Platinum,,,,,\n"
        "RULE-2,,AMER;MARS,,,,\n",
        "upsert",
        externalIdFieldName="External_Id__c",
    )
    assert second["numberRecordsProcessed"] == 3 and second["numberRecordsFailed"] == 2
    errors = sorted(row[1] for row in results(rest, second["id"], "failedResults")[1:])
    assert errors == [
        "DUPLICATE_VALUE:Duplicate external id specified: RULE-2:External_Id__c --",
        "DUPLICATE_VALUE:Duplicate external id specified: RULE-2:External_Id__c --",
    ]
    one = query(rest, f"SELECT {fields} FROM Account WHERE External_Id__c = 'RULE-1'")[0]
    assert one["Tier__c"] == "Gold" and one["Description"] == 'Line one\nline "two"'
    assert one["Regions__c"] is None and one["Score__c"] is None
    bad = run_job(
        rest,
        "External_Id__c,Tier__c,Regions__c,Customer_Since__c,Last_Review__c,Is_Partner__c\n"
        "RULE-2,Platinum,,,,\n"
        "RULE-3,,AMER;MARS,,,\n"
        "RULE-4,,,2020-13-01,,\n"
        "RULE-5,,,05/06/2024,,\n"
        "RULE-6,,,,yesterday,\n"
        "RULE-7,,,,,maybe\n",
        "upsert",
        externalIdFieldName="External_Id__c",
    )
    failed = {row[2]: row[1] for row in results(rest, bad["id"], "failedResults")[1:]}
    assert failed["RULE-2"] == (
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Tier: bad value for restricted picklist "
        "field: Platinum:Tier__c --"
    )
    assert failed["RULE-3"].startswith("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Regions: ")
    for key in ("RULE-4", "RULE-5", "RULE-6", "RULE-7"):
        assert failed[key].startswith("INVALID_TYPE_ON_FIELD_IN_RECORD:"), failed[key]
    # RULE-3..7 had no Name and would need one: but the type errors come first, per field.
    assert len(failed) == 6


def test_relationship_column_by_external_id(rest: httpx.Client) -> None:
    info = run_job(
        rest,
        "LastName,Account.External_Id__c,Email\n"
        "Child One,EXT-000005,one@example.com\n"
        "Child Two,NOPE-1,two@example.com\n"
        "Child Three,,not-an-email\n",
        sobject="Contact",
    )
    owner = run_job(rest, "LastName,OwnerId\nWrong Owner,001Hs0000000001IAA\n", sobject="Contact")
    assert results(rest, owner["id"], "failedResults")[1][1] == (
        "FIELD_INTEGRITY_EXCEPTION:Owner ID: id value of incorrect type: 001Hs0000000001IAA:"
        "OwnerId --"
    )
    taken = run_job(rest, "Name,External_Id__c\nCopycat,EXT-000001\n")
    assert results(rest, taken["id"], "failedResults")[1][1].startswith(
        "DUPLICATE_VALUE:duplicate value found: External_Id__c duplicates value on record "
        "with id: 001"
    )
    good = results(rest, info["id"], "successfulResults")
    assert good[0][:3] == ["sf__Id", "sf__Created", "LastName"] and len(good) == 2
    linked = query(rest, f"SELECT Account.External_Id__c FROM Contact WHERE Id = '{good[1][0]}'")
    assert linked[0]["Account"]["External_Id__c"] == "EXT-000005"
    errors = sorted(row[1] for row in results(rest, info["id"], "failedResults")[1:])
    assert errors[0].startswith("INVALID_EMAIL_ADDRESS:")
    assert errors[1] == (
        "INVALID_FIELD:Foreign key external ID: NOPE-1 not found for field External_Id__c in "
        "entity Account:--"
    )


def test_relationship_columns_by_id_lookup_fields(rest: httpx.Client) -> None:
    """Salesforce names a parent by any indexed field: an external id, or a standard field
    describe marks idLookup (``Owner.Username``; ``Contact.Email``, which two contacts may
    share: then the row fails with DUPLICATE_EXTERNAL_ID)."""
    users = query(rest, "SELECT Id, Username, Email FROM User ORDER BY Username LIMIT 1")
    user = users[0]
    lookups = {
        f["name"]: f["idLookup"]
        for f in rest.get("/sobjects/User/describe").json()["fields"]
        if f["name"] in ("Username", "Email", "FirstName")
    }
    assert lookups == {"Username": True, "Email": True, "FirstName": False}
    one = "lookup.once@example.com"
    twice = "lookup.twice@example.com"
    made = run_job(
        rest,
        f"LastName,Email\nOnce,{one}\nTwice A,{twice}\nTwice B,{twice.upper()}\n",
        sobject="Contact",
    )
    assert made["numberRecordsFailed"] == 0
    owned = run_job(
        rest,
        f"Name,Owner.Username\nLookup Owned,{user['Username'].upper()}\nLookup Nobody,no@x.org\n",
    )
    good = results(rest, owned["id"], "successfulResults")
    saved = query(rest, f"SELECT OwnerId FROM Account WHERE Id = '{good[1][0]}'")
    assert saved[0]["OwnerId"] == user["Id"]
    assert results(rest, owned["id"], "failedResults")[1][1] == (
        "INVALID_FIELD:Foreign key external ID: no@x.org not found for field Username in "
        "entity User:--"
    )
    cases = run_job(
        rest,
        f"Subject,Contact.Email\nLookup Case One,{one.upper()}\nLookup Case Two,{twice}\n",
        sobject="Case",
    )
    linked = results(rest, cases["id"], "successfulResults")
    assert [row[2] for row in linked[1:]] == ["Lookup Case One"]
    contact = query(rest, f"SELECT ContactId, Contact.Email FROM Case WHERE Id = '{linked[1][0]}'")
    assert contact[0]["Contact"]["Email"] == one
    failed = results(rest, cases["id"], "failedResults")[1][1]
    assert failed.startswith(
        "DUPLICATE_EXTERNAL_ID:Email: more than one record found for external id field: [003"
    )
    rest_owned = rest.post(
        "/sobjects/Account", json={"Name": "Lookup REST", "Owner": {"Username": user["Username"]}}
    )
    assert rest_owned.status_code == 201, rest_owned.text
    saved = query(rest, f"SELECT OwnerId FROM Account WHERE Id = '{rest_owned.json()['id']}'")
    assert saved[0]["OwnerId"] == user["Id"]


def test_numbers_past_a_fields_size_fail_their_row(rest: httpx.Client) -> None:
    """A number needing more integer digits than the field has (precision - scale, an
    int's digits) fails with NUMBER_OUTSIDE_VALID_RANGE, in a bulk job's column as in a
    REST body; the row's neighbours are written."""
    info = run_job(
        rest,
        "Name,AnnualRevenue,NumberOfEmployees\n"
        "Range Fits,123456789012345678,99999999\n"
        "Range Revenue,1e21,5\n"
        "Range Staff,10,100000000\n",
    )
    good = results(rest, info["id"], "successfulResults")
    assert [row[2] for row in good[1:]] == ["Range Fits"]
    failed = {row[2]: row[1] for row in results(rest, info["id"], "failedResults")[1:]}
    assert failed == {
        "Range Revenue": "NUMBER_OUTSIDE_VALID_RANGE:Annual Revenue: value outside of valid "
        "range on numeric field: 1.0E21:AnnualRevenue --",
        "Range Staff": "NUMBER_OUTSIDE_VALID_RANGE:Employees: value outside of valid range "
        "on numeric field: 100000000:NumberOfEmployees --",
    }
    created = rest.post(
        "/sobjects/Opportunity",
        json={
            "Name": "Range",
            "StageName": "Prospecting",
            "CloseDate": "2025-01-31",
            "Amount": 1e16,
        },
    )
    assert one_error(created, 400) == {
        "message": "Amount: value outside of valid range on numeric field: 1.0E16",
        "errorCode": "NUMBER_OUTSIDE_VALID_RANGE",
        "fields": ["Amount"],
    }


@pytest.mark.parametrize(
    ("delimiter", "char", "line_ending", "newline"),
    [("PIPE", "|", "CRLF", "\r\n"), ("TAB", "\t", "LF", "\n"), ("SEMICOLON", ";", "CRLF", "\r\n")],
)
def test_delimiters_and_line_endings(
    rest: httpx.Client, delimiter: str, char: str, line_ending: str, newline: str
) -> None:
    data = newline.join([char.join(["Name", "Regions__c"]), char.join(["Delim", '"AMER;EMEA"'])])
    info = run_job(rest, data + newline, columnDelimiter=delimiter, lineEnding=line_ending)
    assert info["state"] == "JobComplete" and info["columnDelimiter"] == delimiter
    text = rest.get(f"/jobs/ingest/{info['id']}/successfulResults").text
    assert text.endswith(newline) and text.count(newline) == 2
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=char))
    assert rows[0] == ["sf__Id", "sf__Created", "Name", "Regions__c"]
    assert rows[1][2:] == ["Delim", "AMER;EMEA"]
    other = "\r\n" if newline == "\n" else "\n"
    mismatch = run_job(
        rest, f"Name{other}x{other}", columnDelimiter=delimiter, lineEnding=line_ending
    )
    assert mismatch["state"] == "Failed"
    assert mismatch["errorMessage"] == (
        "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting "
        f"is {line_ending}"
    )


def test_unknown_column_fails_the_job_and_writes_nothing(rest: httpx.Client) -> None:
    info = run_job(rest, "Name,Nope__c\nNever Written,1\nNor This,2\n")
    assert info["state"] == "Failed" and info["numberRecordsProcessed"] == 0
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Nope__c"
    assert results(rest, info["id"], "unprocessedrecords") == [
        ["Name", "Nope__c"],
        ["Never Written", "1"],
        ["Nor This", "2"],
    ]
    assert results(rest, info["id"], "successfulResults") == [
        ["sf__Id", "sf__Created", "Name", "Nope__c"]
    ]
    assert query(rest, "SELECT Id FROM Account WHERE Name = 'Never Written'") == []
    bom = run_job(rest, "\ufeffName\nWith Bom\n")
    assert bom["errorMessage"] == "InvalidBatch : Field name not found : \ufeffName"
    empty = create(rest, "insert")
    rest.patch(f"/jobs/ingest/{empty['id']}", json={"state": "UploadComplete"})
    assert wait(rest, empty["id"])["state"] == "Failed"


def test_update_delete_and_hard_delete(rest: httpx.Client) -> None:
    made = results(
        rest,
        run_job(rest, "Name\nDoomed One\nDoomed Two\nKept Three\n")["id"],
        "successfulResults",
    )
    one, two, three = (row[0] for row in made[1:])
    contact = query(rest, "SELECT Id FROM Contact LIMIT 1")[0]["Id"]
    updated = run_job(
        rest,
        "Id,Name,Rating\n"
        f"{three},Kept Renamed,Hot\n"
        f"{contact},Wrong Type,\n"
        "garbage,Bad,\n"
        ",No Id,\n"
        "001Hs00000zzzzzAAA,Ghost,\n",
        "update",
    )
    assert updated["numberRecordsFailed"] == 4
    ok = results(rest, updated["id"], "successfulResults")
    assert ok[1][:2] == [three, "false"]
    failed = {row[3]: row for row in results(rest, updated["id"], "failedResults")[1:]}
    assert failed["Wrong Type"][1] == (
        f"MALFORMED_ID:Account ID: id value of incorrect type: {contact}:Id --"
    )
    assert failed["Bad"][1] == "MALFORMED_ID:malformed id garbage:--"
    assert failed["No Id"][1] == "MISSING_ARGUMENT:Id not specified in an update call:--"
    assert failed["Ghost"][1] == "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--"
    assert query(rest, f"SELECT Rating FROM Account WHERE Id = '{three}'")[0]["Rating"] == "Hot"

    soft = run_job(rest, f"Id\n{one}\n{one[:15]}\n", "delete")
    assert soft["numberRecordsFailed"] == 1  # the same record twice: already deleted
    again = results(rest, soft["id"], "failedResults")[1]
    assert again[:2] == [one, "ENTITY_IS_DELETED:entity is deleted:--"]
    binned = query(rest, f"SELECT IsDeleted FROM Account WHERE Id = '{one}'", "queryAll")
    assert [r["IsDeleted"] for r in binned] == [True]
    hard = run_job(rest, f"Id\n{two}\n", "hardDelete")
    assert hard["numberRecordsFailed"] == 0 and hard["operation"] == "hardDelete"
    assert query(rest, f"SELECT Id FROM Account WHERE Id = '{two}'", "queryAll") == []
    assert rest.get(f"/sobjects/Account/{two}").status_code == 404


def test_upsert_created_flags_and_keys(rest: httpx.Client) -> None:
    info = run_job(
        rest,
        "External_Id__c,Name\nEXT-000010,Upd Ten\nKEY-NEW,New Key\n,No Key\n#N/A,Null Key\n",
        "upsert",
        externalIdFieldName="External_Id__c",
    )
    assert info["externalIdFieldName"] == "External_Id__c"
    created = {row[3]: row[1] for row in results(rest, info["id"], "successfulResults")[1:]}
    assert created == {"Upd Ten": "false", "New Key": "true"}
    missing = results(rest, info["id"], "failedResults")[1:]
    assert {row[1] for row in missing} == {
        "MISSING_ARGUMENT:External_Id__c not specified:External_Id__c --"
    }
    by_id = run_job(rest, "Id,Name\n,Fresh By Id\n", "upsert", externalIdFieldName="Id")
    assert results(rest, by_id["id"], "successfulResults")[1][1] == "true"


def test_result_files_shuffled_on_request(rest: httpx.Client, emu: RunningEmulator) -> None:
    rows = [f"SHUF-{n:03d},Shuffled {n:03d}" for n in range(300)]
    data = "External_Id__c,Name\n" + "\n".join(rows) + "\n"
    options = {"externalIdFieldName": "External_Id__c"}
    in_order = run_job(rest, data, "upsert", **options)
    names = [row[3] for row in results(rest, in_order["id"], "successfulResults")[1:]]
    assert names == [f"Shuffled {n:03d}" for n in range(300)]  # off: input order
    emu.config.shuffle_results = True
    shuffled = run_job(rest, data, "upsert", **options)
    first = results(rest, shuffled["id"], "successfulResults")
    again = results(rest, shuffled["id"], "successfulResults")
    names = [row[3] for row in first[1:]]
    assert first == again  # one file, one order
    assert names != sorted(names) and sorted(names) == [f"Shuffled {n:03d}" for n in range(300)]
    assert all(row[1] == "false" for row in first[1:])  # the second upsert updated them
    assert [row[3] for row in results(rest, in_order["id"], "successfulResults")[1:]] != (
        [f"Shuffled {n:03d}" for n in range(300)]
    )  # read when fetched: earlier jobs' files shuffle too


def test_abort_mid_job_keeps_what_was_written(rest: httpx.Client, emu: RunningEmulator) -> None:
    emu.config.bulk_ingest_chunk_size = 50
    emu.config.bulk_job_delay = 3.0
    data = "Name\n" + "\n".join(f"Abort {n:03d}" for n in range(500)) + "\n"
    job = create(rest, "insert")
    upload(rest, job["id"], data)
    rest.patch(f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    while rest.get(f"/jobs/ingest/{job['id']}").json()["numberRecordsProcessed"] < 50:
        time.sleep(0.02)
    aborted = rest.patch(f"/jobs/ingest/{job['id']}", json={"state": "Aborted"}).json()
    assert aborted["state"] == "Aborted"
    info = rest.get(f"/jobs/ingest/{job['id']}").json()
    processed = info["numberRecordsProcessed"]
    assert info["state"] == "Aborted" and 50 <= processed < 500 and processed % 50 == 0
    time.sleep(0.5)
    assert rest.get(f"/jobs/ingest/{job['id']}").json()["numberRecordsProcessed"] == processed
    done = results(rest, job["id"], "successfulResults")[1:]
    left = results(rest, job["id"], "unprocessedrecords")
    assert len(done) == processed and len(left) == 1 + 500 - processed
    assert {row[2] for row in done}.isdisjoint(row[0] for row in left[1:])
    count = rest.get(
        "/query", params={"q": "SELECT COUNT() FROM Account WHERE Name LIKE 'Abort %'"}
    ).json()["totalSize"]
    assert count == processed
    late = rest.patch(f"/jobs/ingest/{job['id']}", json={"state": "Aborted"})
    assert one_error(late, 400)["errorCode"] == "INVALIDJOBSTATE"


def test_job_request_errors(rest: httpx.Client) -> None:
    def create_error(body: dict[str, Any]) -> str:
        return str(one_error(rest.post("/jobs/ingest", json=body), 400)["errorCode"])

    assert create_error({"object": "Nope", "operation": "insert"}) == "INVALIDENTITY"
    assert create_error({"object": "Account", "operation": "merge"}) == "INVALIDJOB"
    assert create_error({"object": "Account", "operation": "upsert"}) == "INVALIDJOB"
    assert (
        create_error({"object": "Account", "operation": "upsert", "externalIdFieldName": "Name"})
        == "INVALIDJOB"
    )
    assert create_error({"object": "Account", "operation": "insert", "lineEnding": "CR"}) == (
        "INVALIDJOB"
    )
    assert create_error({"object": "Account", "operation": "insert", "contentType": "JSON"}) == (
        "INVALIDJOB"
    )
    job = create(rest, "insert")
    early = rest.get(f"/jobs/ingest/{job['id']}/successfulResults")
    assert one_error(early, 400)["errorCode"] == "INVALIDJOBSTATE"
    undeletable = rest.delete(f"/jobs/ingest/{job['id']}")
    assert one_error(undeletable, 400)["errorCode"] == "INVALIDJOBSTATE"
    bogus = rest.patch(f"/jobs/ingest/{job['id']}", json={"state": "JobComplete"})
    assert one_error(bogus, 400)["errorCode"] == "INVALIDJOBSTATE"
    aborted = rest.patch(f"/jobs/ingest/{job['id']}", json={"state": "Aborted"}).json()
    assert aborted["state"] == "Aborted"
    closed = rest.patch(f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    assert one_error(closed, 400)["errorCode"] == "INVALIDJOBSTATE"
    assert rest.get("/jobs/ingest/750000000000000AAA").status_code == 404
    old = rest.post("/services/data/v40.0/jobs/ingest", json={})
    assert one_error(old, 404)["errorCode"] == "NOT_FOUND"


def test_describe_and_limits_tell_the_truth(rest: httpx.Client) -> None:
    fields = {f["name"]: f for f in rest.get("/sobjects/Account/describe").json()["fields"]}
    assert fields["Tier__c"]["restrictedPicklist"] is True
    assert [v["value"] for v in fields["Tier__c"]["picklistValues"]] == ["Gold", "Silver", "Bronze"]
    assert fields["Regions__c"]["type"] == "multipicklist"
    assert fields["Regions__c"]["restrictedPicklist"] is True
    assert fields["Industry"]["restrictedPicklist"] is False
    assert fields["External_Id__c"]["externalId"] is True and fields["External_Id__c"]["unique"]
    assert fields["Customer_Since__c"]["type"] == "date"
    assert fields["Last_Review__c"]["type"] == "datetime"
    assert fields["Is_Partner__c"]["type"] == "boolean" and not fields["Is_Partner__c"]["nillable"]
    assert fields["Score__c"]["type"] == "double"
    assert fields["Name"]["nillable"] is False and fields["Name"]["createable"] is True

    def batches_left() -> int:
        remaining: int = rest.get("/limits").json()["DailyBulkApiBatches"]["Remaining"]
        return remaining

    before = batches_left()
    run_job(rest, "Name\nCounted\n")
    assert batches_left() == before - 1


def test_gzip_upload(rest: httpx.Client) -> None:
    job = create(rest, "insert")
    answer = rest.put(
        f"/jobs/ingest/{job['id']}/batches",
        content=gzip.compress(b"Name\nZipped Account\n"),
        headers={"Content-Type": "text/csv", "Content-Encoding": "gzip"},
    )
    assert answer.status_code == 201
    rest.patch(f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    assert wait(rest, job["id"])["numberRecordsProcessed"] == 1
    assert query(rest, "SELECT Id FROM Account WHERE Name = 'Zipped Account'") != []


def test_seeded_failures_and_faults(rest: httpx.Client, emu: RunningEmulator) -> None:
    emu.config.validation_rule_prefix = "REJECT"
    emu.lock_rows(2)
    info = run_job(rest, "Name\nLocked A\nLocked B\nREJECT this\nFine Row\n")
    assert info["numberRecordsFailed"] == 3
    errors = [row[1] for row in results(rest, info["id"], "failedResults")[1:]]
    assert sorted(e.split(":")[0] for e in errors) == [
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "UNABLE_TO_LOCK_ROW",
        "UNABLE_TO_LOCK_ROW",
    ]
    emu.inject_fault("unavailable", path="/jobs/ingest/")
    assert one_error(rest.get(f"/jobs/ingest/{info['id']}"), 503)["errorCode"] == (
        "SERVER_UNAVAILABLE"
    )
    assert rest.get(f"/jobs/ingest/{info['id']}").status_code == 200


def test_change_events_of_an_ingest_job() -> None:
    config = EmulatorConfig(
        accounts=20,
        pubsub=True,
        bulk_job_delay=0.1,
        bulk_ingest_chunk_size=2,
        anchor_date=datetime.date(2024, 6, 15),
    )
    with start_emulator(config) as emu:
        token = get_token(emu)
        with http_client(
            f"{emu.url}/services/data/v66.0",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        ) as api:
            info = run_job(
                api,
                "External_Id__c,Name\nEXT-000001,Renamed\nCDC-1,Made\nCDC-2,Made Too\n",
                "upsert",
                externalIdFieldName="External_Id__c",
            )
            assert info["numberRecordsFailed"] == 0
        bus = emu.pubsub_server.bus
        schema = bus.change_schemas["account"]
        events, _ = bus.read(0, bus.topics["/data/AccountChangeEvent"], 100)
        headers = [avro_decode(schema, e.payload)["ChangeEventHeader"] for e in events]
    assert [h["changeType"] for h in headers] == ["UPDATE", "CREATE", "CREATE"]
    assert {h["changeOrigin"] for h in headers} == {"com/salesforce/api/bulkapi/66.0"}
    # Chunks of two rows: the first two events share a transaction, the third has its own.
    assert headers[0]["transactionKey"] == headers[1]["transactionKey"]
    assert headers[2]["transactionKey"] != headers[0]["transactionKey"]
    assert [h["sequenceNumber"] for h in headers] == [1, 2, 1]


def test_jobs_are_written_first_come_first_served() -> None:
    """The org writes one chunk at a time, in the order the jobs asked: a job closed
    while another is being written waits its turn, so the first completes before the
    second has written more than a slice (instead of both finishing together, as two tasks
    sharing the loop slice by slice would)."""
    state = EmulatorState(EmulatorConfig(accounts=0, bulk_job_delay=0.0))
    data = ("Name\n" + "".join(f"Queue {i}\n" for i in range(3_000))).encode()
    jobs = [queued_account_job(state, data, job_id=f"75000000000000{n}AAA") for n in (1, 2)]
    seen: list[tuple[str, int]] = []  # the second job's progress when the first completed

    async def both() -> None:
        async def watch() -> None:
            while jobs[0].state != "JobComplete":
                await asyncio.sleep(0)
            seen.append((jobs[1].state, jobs[1].processed))

        await asyncio.gather(watch(), *(process_job(state, job) for job in jobs))

    asyncio.run(both())
    # At most the one slice the second job writes while the first takes its final turn.
    assert len(seen) == 1 and seen[0][0] == "InProgress" and seen[0][1] <= SLICE
    assert [(j.state, j.processed) for j in jobs] == [("JobComplete", 3_000)] * 2


def test_a_number_too_long_for_any_field_fails_its_row_not_the_job(rest: httpx.Client) -> None:
    huge = "9" * 5_000  # past the 4,300 digits Python turns into an int at once
    info = run_job(rest, f"Name,NumberOfEmployees\nHuge,{huge}\nSmall,12\n")
    assert info["state"] == "JobComplete"
    assert info["numberRecordsProcessed"] == 2 and info["numberRecordsFailed"] == 1
    failed = results(rest, info["id"], "failedResults")
    assert failed[1][1].startswith("INVALID_TYPE_ON_FIELD_IN_RECORD:Employees: value not of")
    assert failed[1][2] == "Huge"
