"""Bulk API 1.0 (``/services/async/66.0/job``) as peer clients use it, unchanged.

simple-salesforce's ``sf.bulk.<Object>`` sends JSON jobs and batches with the
``X-SFDC-Session`` header and polls each batch; jsforce's ``conn.bulk`` sends XML job
info and CSV batches and reads XML answers and CSV results (its flavour is pinned here
with raw requests; jsforce 3.10 itself was run against the emulator by hand: load
insert/update/upsert/delete, query, a bad field and a bad session all behaved). XML
batches and results, which older tools send, are pinned with raw requests too.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator
from ak_salesforce_nb.emulator._pubsub_schema import avro_decode

from .helpers import get_token, http_client

NS = "http://www.force.com/2009/06/asyncapi/dataload"


def _with_job_delay(emu: RunningEmulator, seconds: float) -> Iterator[RunningEmulator]:
    """`emu` with batches taking `seconds`, its own delay back afterwards."""
    saved = emu.config.bulk_job_delay
    emu.config.bulk_job_delay = seconds
    yield emu
    emu.config.bulk_job_delay = saved


@pytest.fixture
def fast(tls_emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    """Batches done by the first poll: simple-salesforce sleeps 5 s between write polls."""
    yield from _with_job_delay(tls_emulator, 0.0)


class Raw:
    """Raw Bulk API 1.0 requests, as a client nobody here wrote sends them."""

    def __init__(self, emu: RunningEmulator, https: requests.Session, token: str) -> None:
        self.base = f"{emu.url}/services/async/66.0/"
        self.https = https
        self.token = token

    def send(
        self, method: str, path: str, body: str | bytes | None = None, kind: str | None = None
    ) -> requests.Response:
        headers = {"X-SFDC-Session": self.token}
        if kind is not None:
            headers["Content-Type"] = kind
        return self.https.request(method, self.base + path, data=body, headers=headers, timeout=30)

    def wait(self, job_id: str, batch_id: str, kind: str | None = None) -> list[str]:
        """Poll a batch until it is done; the states seen, in order."""
        seen: list[str] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            answer = self.send("GET", f"job/{job_id}/batch/{batch_id}", kind=kind)
            state = (
                answer.json()["state"] if kind else answer.text.split("<state>")[1].split("<")[0]
            )
            if not seen or seen[-1] != state:
                seen.append(state)
            if state in ("Completed", "Failed", "NotProcessed"):
                return seen
            time.sleep(0.02)
        raise AssertionError(f"batch {batch_id} still {seen[-1]}")


@pytest.fixture
def raw(tls_emulator: RunningEmulator, https: requests.Session, sf: Any) -> Raw:
    return Raw(tls_emulator, https, sf.session_id)


def test_writes_through_simple_salesforce_in_batch_order(sf: Any, fast: RunningEmulator) -> None:
    del fast
    records = [
        {"Name": "V1 One", "NumberOfEmployees": 5},
        {"Industry": "Media"},  # no Name: fails, in its place
        {"Name": "V1 Three", "External_Id__c": "V1-3"},
    ]
    inserted = sf.bulk.Account.insert(records, batch_size=2)  # two batches
    assert [r["success"] for r in inserted] == [True, False, True]
    assert inserted[1] == {
        "success": False,
        "created": False,
        "id": None,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Name]",
                "fields": ["Name"],
            }
        ],
    }
    one, three = inserted[0]["id"], inserted[2]["id"]
    assert inserted[0]["created"] is True and one.startswith("001") and len(one) == 18
    assert sf.Account.get(one)["NumberOfEmployees"] == 5

    updated = sf.bulk.Account.update(
        [{"Id": one, "Rating": "Hot"}, {"Id": "001000000000000AAA", "Rating": "Hot"}]
    )
    assert updated[0] == {"success": True, "created": False, "id": one, "errors": []}
    assert updated[1]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert sf.Account.get(one)["Rating"] == "Hot"

    upserted = sf.bulk.Account.upsert(
        [
            {"External_Id__c": "V1-3", "Rating": "Warm"},
            {"External_Id__c": "V1-4", "Name": "V1 Four"},
            {"Name": "No key"},
            {"External_Id__c": "V1-5", "Name": "Twice"},
            {"External_Id__c": "v1-5", "Name": "Twice again"},
        ],
        "External_Id__c",
    )
    assert [(r["success"], r["created"]) for r in upserted[:2]] == [(True, False), (True, True)]
    assert upserted[0]["id"] == three
    assert upserted[2]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert [r["errors"][0]["statusCode"] for r in upserted[3:]] == ["DUPLICATE_VALUE"] * 2
    assert sf.Account.get(three)["Rating"] == "Warm"

    deleted = sf.bulk.Account.delete([{"Id": one}, {"Id": one}])
    assert deleted[0]["success"] is True
    assert deleted[1]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    hard = sf.bulk.Account.hard_delete([{"Id": three}])
    assert hard == [{"success": True, "created": False, "id": three, "errors": []}]
    left = sf.query_all(f"SELECT Id FROM Account WHERE Id IN ('{one}', '{three}')", True)
    assert [r["Id"] for r in left["records"]] == [one]  # the hard-deleted one is gone


def test_detailed_results_join_the_batch_request(sf: Any, fast: RunningEmulator) -> None:
    del fast
    results = sf.bulk.Account.insert(
        [{"Name": "V1 Detailed"}, {"Industry": "Media"}], include_detailed_results=True
    )
    assert results[0]["Name"] == "V1 Detailed" and results[0]["success"] is True
    assert results[1]["Industry"] == "Media" and results[1]["success"] is False


def test_query_and_query_all_give_dates_as_epoch_millis(sf: Any, fast: RunningEmulator) -> None:
    del fast
    created = sf.Account.create({"Name": "V1 Query"})["id"]
    soql = f"SELECT Id, Name, CreatedDate, Owner.Name FROM Account WHERE Id = '{created}'"
    rest = sf.query(soql)["records"][0]
    bulk = sf.bulk.Account.query(soql, wait=0.05)
    assert len(bulk) == 1
    record = bulk[0]
    assert record["attributes"]["type"] == "Account" and record["Id"] == created
    assert record["Owner"]["Name"] == rest["Owner"]["Name"]
    moment = time.strptime(rest["CreatedDate"][:19], "%Y-%m-%dT%H:%M:%S")
    assert isinstance(record["CreatedDate"], int)
    assert record["CreatedDate"] // 1000 == int(time.mktime(moment) - time.timezone)

    sf.Account.delete(created)
    live = sf.bulk.Account.query(f"SELECT Id FROM Account WHERE Id = '{created}'", wait=0.05)
    assert live == []
    every = sf.bulk.Account.query_all(
        f"SELECT Id, IsDeleted FROM Account WHERE Id = '{created}'", wait=0.05
    )
    assert every[0]["IsDeleted"] is True
    many = sf.bulk.Contact.query("SELECT Id FROM Contact", wait=0.05)
    assert len(many) == len({r["Id"] for r in many}) == 2500


def test_parents_by_external_id_and_dates_round_trip(sf: Any, fast: RunningEmulator) -> None:
    del fast
    sf.Account.create({"Name": "V1 Parent", "External_Id__c": "V1-PARENT"})
    inserted = sf.bulk.Contact.insert(
        [
            {"LastName": "V1 Child", "Account": {"External_Id__c": "V1-PARENT"}},
            {"LastName": "V1 Orphan", "Account": {"External_Id__c": "V1-NOBODY"}},
        ]
    )
    assert inserted[0]["success"] is True
    assert inserted[1]["errors"] == [
        {
            "statusCode": "INVALID_FIELD",
            "message": "Foreign key external ID: V1-NOBODY not found for field External_Id__c "
            "in entity Account",
            "fields": [],
        }
    ]
    child = inserted[0]["id"]
    assert sf.Contact.get(child)["AccountId"] is not None
    # A date read as epoch millis is written back as the same date.
    sf.Contact.update(child, {"Birthdate": "2001-02-03"})
    read = sf.bulk.Contact.query(
        f"SELECT Id, Birthdate FROM Contact WHERE Id = '{child}'", wait=0.05
    )
    assert read[0]["Birthdate"] == 981158400000  # 2001-02-03T00:00:00Z
    sf.Contact.update(child, {"Birthdate": None})
    sf.bulk.Contact.update([{"Id": child, "Birthdate": read[0]["Birthdate"]}])
    assert sf.Contact.get(child)["Birthdate"] == "2001-02-03"


def test_failed_query_batch_raises_with_its_state_message(sf: Any, fast: RunningEmulator) -> None:
    del fast
    from simple_salesforce.exceptions import SalesforceGeneralError

    with pytest.raises(SalesforceGeneralError) as failure:
        sf.bulk.Account.query("SELECT Id, Nope FROM Account", wait=0.05)
    assert "InvalidBatch : Failed to process query: INVALID_FIELD" in str(failure.value)


@pytest.fixture
def slow(tls_emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    """Batches that take a while: each state lasts long enough to be seen by a poll."""
    yield from _with_job_delay(tls_emulator, 0.8)


def test_batch_states_are_polled_and_counted(raw: Raw, slow: RunningEmulator) -> None:
    del slow
    json_type = "application/json"
    job = raw.send(
        "POST",
        "job",
        '{"operation": "insert", "object": "Account", "contentType": "JSON"}',
        json_type,
    )
    assert job.status_code == 201
    info = job.json()
    assert info["state"] == "Open" and info["contentType"] == "JSON"
    assert info["id"].startswith("750") and info["numberBatchesTotal"] == 0
    batch = raw.send("POST", f"job/{info['id']}/batch", '[{"Name": "V1 Polled"}]', json_type)
    assert batch.status_code == 201
    batch_info = batch.json()
    assert batch_info["state"] == "Queued" and batch_info["jobId"] == info["id"]
    seen = raw.wait(info["id"], batch_info["id"], json_type)
    assert seen == ["Queued", "InProgress", "Completed"]
    listing = raw.send("GET", f"job/{info['id']}/batch", kind=json_type).json()
    assert [b["id"] for b in listing["batchInfo"]] == [batch_info["id"]]
    assert listing["batchInfo"][0]["numberRecordsProcessed"] == 1
    closed = raw.send("POST", f"job/{info['id']}", '{"state": "Closed"}', json_type).json()
    assert closed["state"] == "Closed"
    assert (closed["numberBatchesCompleted"], closed["numberRecordsProcessed"]) == (1, 1)
    late = raw.send("POST", f"job/{info['id']}/batch", '[{"Name": "Late"}]', json_type)
    assert late.status_code == 400 and late.json()["exceptionCode"] == "InvalidJobState"
    # A GET without a content type answers in the job's own (JSON) content type.
    assert raw.send("GET", f"job/{info['id']}").json()["state"] == "Closed"


def test_abort_leaves_queued_batches_not_processed(raw: Raw, slow: RunningEmulator) -> None:
    del slow
    json_type = "application/json"
    body = '{"operation": "insert", "object": "Account", "contentType": "JSON"}'
    job = raw.send("POST", "job", body, json_type).json()
    batch = raw.send("POST", f"job/{job['id']}/batch", '[{"Name": "V1 Never"}]', json_type)
    aborted = raw.send("POST", f"job/{job['id']}", '{"state": "Aborted"}', json_type).json()
    assert aborted["state"] == "Aborted"
    time.sleep(0.3)  # past the time the batch would have started
    info = raw.send("GET", f"job/{job['id']}/batch/{batch.json()['id']}", kind=json_type)
    assert info.json()["state"] == "NotProcessed"
    assert raw.send("GET", f"job/{job['id']}", kind=json_type).json()["state"] == "Aborted"


def test_batch_limits_and_bad_data_fail_the_batch(raw: Raw, fast: RunningEmulator) -> None:
    del fast
    json_type = "application/json"
    body = '{"operation": "insert", "object": "Account", "contentType": "JSON"}'
    job = raw.send("POST", "job", body, json_type).json()
    too_many = "[" + ",".join(['{"Name": "x"}'] * 10_001) + "]"
    big = raw.send("POST", f"job/{job['id']}/batch", too_many, json_type).json()
    unknown = raw.send("POST", f"job/{job['id']}/batch", '[{"Nope__c": 1}]', json_type).json()
    for batch, message in (
        (
            big,
            "InvalidBatch : Exceeded number of records : 10001. "
            "Number of records should be less than or equal to 10000",
        ),
        (unknown, "InvalidBatch : Field name not found : Nope__c"),
    ):
        assert raw.wait(job["id"], batch["id"], json_type)[-1] == "Failed"
        info = raw.send("GET", f"job/{job['id']}/batch/{batch['id']}", kind=json_type).json()
        assert info["stateMessage"] == message and info["numberRecordsProcessed"] == 0
        results = raw.send("GET", f"job/{job['id']}/batch/{batch['id']}/result", kind=json_type)
        assert results.status_code == 400
        assert results.json() == {
            "exceptionCode": "InvalidBatch",
            "exceptionMessage": "Records not processed",
        }
    broken = raw.send("POST", f"job/{job['id']}/batch", "[{", json_type)
    assert broken.status_code == 400 and broken.json()["exceptionCode"] == "InvalidBatch"
    unknown_job = raw.send("GET", "job/750000000000000AAA", kind=json_type)
    assert unknown_job.json()["exceptionCode"] == "InvalidJob"
    bad_object = raw.send("POST", "job", '{"operation": "insert", "object": "Nope"}', json_type)
    assert bad_object.status_code == 400 and bad_object.json() == {
        "exceptionCode": "InvalidEntity",
        "exceptionMessage": "Entity 'Nope' is not supported by the Bulk API.",
    }


def test_a_bad_session_is_invalid_session_id_in_json_and_xml(
    tls_emulator: RunningEmulator, https: requests.Session, sf: Any
) -> None:
    url = f"{tls_emulator.url}/services/async/66.0/job"
    body = '{"operation": "insert", "object": "Account", "contentType": "JSON"}'
    as_json = https.post(
        url, data=body, headers={"X-SFDC-Session": "nope", "Content-Type": "application/json"}
    )
    assert as_json.status_code == 400
    assert as_json.json() == {
        "exceptionCode": "InvalidSessionId",
        "exceptionMessage": "Invalid session id",
    }
    as_xml = https.post(url, data="<jobInfo/>", headers={"Content-Type": "application/xml"})
    assert as_xml.status_code == 400
    assert as_xml.headers["Content-Type"].startswith("application/xml")
    assert "<exceptionCode>InvalidSessionId</exceptionCode>" in as_xml.text
    assert f'<error xmlns="{NS}">' in as_xml.text
    # A Bearer token is taken too.
    bearer = https.post(
        url,
        data=body,
        headers={"Authorization": f"Bearer {sf.session_id}", "Content-Type": "application/json"},
    )
    assert bearer.status_code == 201 and bearer.json()["state"] == "Open"


def _xml_job(raw: Raw, operation: str, extra: str = "", sobject: str = "Account") -> str:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="{NS}">'
        f"<operation>{operation}</operation><object>{sobject}</object>{extra}"
        "<contentType>CSV</contentType></jobInfo>"
    )
    answer = raw.send("POST", "job", body, "application/xml; charset=utf-8")
    assert answer.status_code == 201, answer.text
    assert answer.headers["Content-Type"].startswith("application/xml")
    assert f'<jobInfo xmlns="{NS}"><id>750' in answer.text
    assert "<state>Open</state>" in answer.text and "<contentType>CSV</contentType>" in answer.text
    return answer.text.split("<id>")[1].split("<")[0]


def _batch_id(answer: requests.Response) -> str:
    assert answer.status_code == 201, answer.text
    assert "<batchInfo" in answer.text and "<state>Queued</state>" in answer.text
    return answer.text.split("<id>")[1].split("<")[0]


def test_xml_jobs_with_csv_batches_as_jsforce_sends_them(raw: Raw, fast: RunningEmulator) -> None:
    del fast
    job = _xml_job(raw, "upsert", "<externalIdFieldName>External_Id__c</externalIdFieldName>")
    data = 'External_Id__c,Name,Rating\nV1-CSV-1,"CSV, One",Hot\nV1-CSV-2,,Warm\n'
    batch = _batch_id(raw.send("POST", f"job/{job}/batch", data, "text/csv"))
    assert raw.wait(job, batch)[-1] == "Completed"
    results = raw.send("GET", f"job/{job}/batch/{batch}/result")
    assert results.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(results.text)))
    assert rows[0] == ["Id", "Success", "Created", "Error"]
    assert rows[1][1:] == ["true", "true", ""] and rows[1][0].startswith("001")
    assert rows[2] == [
        "",
        "false",
        "false",
        "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
    ]
    listing = raw.send("GET", f"job/{job}/batch")
    assert f'<batchInfoList xmlns="{NS}"><batchInfo><id>{batch}</id>' in listing.text
    closed = raw.send(
        "POST", f"job/{job}", f'<jobInfo xmlns="{NS}"><state>Closed</state></jobInfo>', "text/xml"
    )
    assert "<state>Closed</state>" in closed.text

    query_job = _xml_job(raw, "query")
    soql = "SELECT Id, Name, Rating FROM Account WHERE External_Id__c = 'V1-CSV-1'"
    query_batch = _batch_id(raw.send("POST", f"job/{query_job}/batch", soql, "text/csv"))
    assert raw.wait(query_job, query_batch)[-1] == "Completed"
    result_list = raw.send("GET", f"job/{query_job}/batch/{query_batch}/result")
    assert f'<result-list xmlns="{NS}"><result>752' in result_list.text
    result_id = result_list.text.split("<result>")[1].split("<")[0]
    page = raw.send("GET", f"job/{query_job}/batch/{query_batch}/result/{result_id}")
    assert page.headers["Content-Type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(page.text))) == [
        ["Id", "Name", "Rating"],
        [rows[1][0], "CSV, One", "Hot"],
    ]


def test_csv_columns_name_parents_and_null_fields(raw: Raw, fast: RunningEmulator) -> None:
    del fast
    accounts = _xml_job(raw, "insert")
    data = "Name,External_Id__c,Rating\nV1 CSV Parent,V1-CSV-PARENT,Hot\n"
    batch = _batch_id(raw.send("POST", f"job/{accounts}/batch", data, "text/csv"))
    assert raw.wait(accounts, batch)[-1] == "Completed"
    parent = list(
        csv.reader(io.StringIO(raw.send("GET", f"job/{accounts}/batch/{batch}/result").text))
    )[1][0]
    contacts = _xml_job(raw, "insert", sobject="Contact")
    data = "LastName,Account.External_Id__c\nV1 CSV Child,V1-CSV-PARENT\n"
    batch = _batch_id(raw.send("POST", f"job/{contacts}/batch", data, "text/csv"))
    assert raw.wait(contacts, batch)[-1] == "Completed"
    results = raw.send("GET", f"job/{contacts}/batch/{batch}/result").text
    child = list(csv.reader(io.StringIO(results)))[1]
    assert child[1:3] == ["true", "true"]
    updates = _xml_job(raw, "update")
    data = f"Id,Rating,Name\n{parent},#N/A,\n"  # #N/A nulls Rating, an empty Name is left
    batch = _batch_id(raw.send("POST", f"job/{updates}/batch", data, "text/csv"))
    assert raw.wait(updates, batch)[-1] == "Completed"
    query = _xml_job(raw, "query", sobject="Contact")
    soql = f"SELECT Account.Name, Account.Rating FROM Contact WHERE Id = '{child[0]}'"
    batch = _batch_id(raw.send("POST", f"job/{query}/batch", soql, "text/csv"))
    assert raw.wait(query, batch)[-1] == "Completed"
    listing = raw.send("GET", f"job/{query}/batch/{batch}/result").text
    result_id = listing.split("<result>")[1].split("<")[0]
    page = raw.send("GET", f"job/{query}/batch/{batch}/result/{result_id}").text
    assert list(csv.reader(io.StringIO(page))) == [
        ["Account.Name", "Account.Rating"],
        ["V1 CSV Parent", ""],
    ]


def test_writes_publish_change_events_with_bulk_origin() -> None:
    config = EmulatorConfig(accounts=20, pubsub=True, bulk_job_delay=0.0)
    with start_emulator(config) as emu:
        token = get_token(emu)["access_token"]
        headers = {"X-SFDC-Session": token, "Content-Type": "application/json"}
        with http_client(f"{emu.url}/services/async/66.0", headers=headers) as bulk:
            job = bulk.post(
                "/job",
                json={
                    "operation": "upsert",
                    "object": "Account",
                    "externalIdFieldName": "External_Id__c",
                    "contentType": "JSON",
                },
            ).json()
            records = [
                {"External_Id__c": "EXT-000001", "Name": "Renamed"},
                {"External_Id__c": "CDC-V1", "Name": "Made"},
                {"Name": "No key"},  # fails: no event
            ]
            batch = bulk.post(f"/job/{job['id']}/batch", json=records).json()
            for _ in range(200):
                info = bulk.get(f"/job/{job['id']}/batch/{batch['id']}").json()
                if info["state"] == "Completed":
                    break
                time.sleep(0.01)
            assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (3, 1)
        bus = emu.pubsub_server.bus
        schema = bus.change_schemas["account"]
        events, _ = bus.read(0, bus.topics["/data/AccountChangeEvent"], 100)
        headers_seen = [avro_decode(schema, e.payload)["ChangeEventHeader"] for e in events]
    assert [h["changeType"] for h in headers_seen] == ["UPDATE", "CREATE"]
    assert {h["changeOrigin"] for h in headers_seen} == {"com/salesforce/api/bulkapi/66.0"}
    assert headers_seen[0]["transactionKey"] == headers_seen[1]["transactionKey"]


def test_xml_batches_and_results(raw: Raw, fast: RunningEmulator) -> None:
    del fast
    extra = "<externalIdFieldName>External_Id__c</externalIdFieldName>"
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="{NS}">'
        f"<operation>upsert</operation><object>Account</object>{extra}"
        "<contentType>XML</contentType></jobInfo>"
    )
    job = raw.send("POST", "job", body, "application/xml").text.split("<id>")[1].split("<")[0]
    records = (
        f'<sObjects xmlns="{NS}">'
        "<sObject><External_Id__c>V1-XML-1</External_Id__c><Name>XML &amp; Co</Name>"
        "<NumberOfEmployees>12</NumberOfEmployees></sObject>"
        "<sObject><External_Id__c>V1-XML-2</External_Id__c><Rating>Hot</Rating></sObject>"
        "</sObjects>"
    )
    batch = _batch_id(raw.send("POST", f"job/{job}/batch", records, "application/xml"))
    assert raw.wait(job, batch)[-1] == "Completed"
    results = raw.send("GET", f"job/{job}/batch/{batch}/result").text
    first = results.split("<result>")[1]
    assert first.startswith("<id>001") and first.endswith(
        "<success>true</success><created>true</created></result>"
    )
    assert (
        "<result><errors><fields>Name</fields><message>Required fields are missing: [Name]"
        "</message><statusCode>REQUIRED_FIELD_MISSING</statusCode></errors>"
        "<success>false</success><created>false</created></result></results>"
    ) in results
    nulls = (
        f'<sObjects xmlns="{NS}"><sObject><External_Id__c>V1-XML-1</External_Id__c>'
        "<fieldsToNull>NumberOfEmployees</fieldsToNull></sObject></sObjects>"
    )
    batch = _batch_id(raw.send("POST", f"job/{job}/batch", nulls, "application/xml"))
    assert raw.wait(job, batch)[-1] == "Completed"
    assert "<created>false</created>" in raw.send("GET", f"job/{job}/batch/{batch}/result").text

    body = body.replace("upsert", "query").replace(extra, "")
    query = raw.send("POST", "job", body, "application/xml").text.split("<id>")[1].split("<")[0]
    soql = (
        "SELECT Name, NumberOfEmployees, Owner.Name FROM Account WHERE External_Id__c = 'V1-XML-1'"
    )
    batch = _batch_id(raw.send("POST", f"job/{query}/batch", soql, "application/xml"))
    assert raw.wait(query, batch)[-1] == "Completed"
    listing = raw.send("GET", f"job/{query}/batch/{batch}/result").text
    result_id = listing.split("<result>")[1].split("<")[0]
    page = raw.send("GET", f"job/{query}/batch/{batch}/result/{result_id}")
    assert page.headers["Content-Type"].startswith("application/xml")
    assert (
        '<records xsi:type="sObject"><type>Account</type><Name>XML &amp; Co</Name>'
        '<NumberOfEmployees xsi:nil="true"/><Owner xsi:type="sObject"><type>User</type>'
    ) in page.text


def test_other_async_paths_answer_in_bulk_api_shape_not_html(raw: Raw) -> None:
    unknown = raw.send("GET", "jobs", kind="application/json")
    assert unknown.status_code == 404
    assert unknown.json()["exceptionCode"] == "InvalidUrl"
    as_xml = raw.send("POST", "job/750x/unknown", "<x/>", kind="application/xml")
    assert as_xml.status_code == 404
    assert "<exceptionCode>InvalidUrl</exceptionCode>" in as_xml.text
    # The common slip of writing the REST API's "v" before the version.
    versioned = raw.https.get(
        raw.base.replace("/66.0/", "/v66.0/") + "job",
        headers={"X-SFDC-Session": raw.token, "Content-Type": "application/json"},
        timeout=30,
    )
    assert versioned.status_code == 400
    assert versioned.json()["exceptionCode"] == "InvalidVersion"
