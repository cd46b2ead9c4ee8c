"""sObject Collections (``/composite/sobjects``) against an org of this module's own,
with raw httpx as a foreign client would: shapes, order, allOrNone, errors, faults."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator
from ak_salesforce_nb.emulator._pubsub_schema import avro_decode

from .helpers import get_token, http_client, rest_client

ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
    "using AllOrNone header",
    "fields": [],
}


@pytest.fixture(scope="module")
def rest(writable_emulator: RunningEmulator) -> Iterator[httpx.Client]:
    with rest_client(writable_emulator) as api:
        yield api


@pytest.fixture
def org(writable_emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    """The module's org, with its write-back switches and faults put back afterwards."""
    yield writable_emulator
    writable_emulator.config.validation_rule_prefix = None
    writable_emulator.clear_faults()


def account(**fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Account"}, **fields}


def query(rest: httpx.Client, soql: str, resource: str = "query") -> list[dict[str, Any]]:
    answer = rest.get(f"/{resource}", params={"q": soql})
    assert answer.status_code == 200, answer.text
    records: list[dict[str, Any]] = answer.json()["records"]
    return records


def count(rest: httpx.Client, soql_filter: str) -> int:
    answer = rest.get("/query", params={"q": f"SELECT COUNT() FROM Account WHERE {soql_filter}"})
    total: int = answer.json()["totalSize"]
    return total


def one_error(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert isinstance(body, list) and len(body) == 1, body
    error: dict[str, Any] = body[0]
    assert set(error) <= {"message", "errorCode", "fields"}
    return error


def test_create_mixed_types_answers_in_request_order(rest: httpx.Client) -> None:
    answer = rest.post(
        "/composite/sobjects",
        json={
            "allOrNone": False,
            "records": [
                account(Name="Coll One", Tier__c="Gold", Regions__c="AMER;EMEA"),
                account(Name="Coll Two", Tier__c="Platinum"),
                {
                    "attributes": {"type": "Contact"},
                    "LastName": "Linked",
                    "Account": {"External_Id__c": "EXT-000002"},
                },
                account(Industry="Media"),
                account(Name="Coll Three", Customer_Since__c="2021-03-04"),
            ],
        },
    )
    assert answer.status_code == 200, answer.text
    first, second, contact, third, fourth = answer.json()
    assert set(first) == {"id", "success", "errors"} and first["success"] is True
    assert first["id"].startswith("001") and len(first["id"]) == 18 and first["errors"] == []
    assert second == {
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "message": "Tier: bad value for restricted picklist field: Platinum",
                "fields": ["Tier__c"],
            }
        ],
    }
    assert contact["success"] is True and contact["id"].startswith("003")
    assert third["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert third["errors"][0]["fields"] == ["Name"] and "id" not in third
    assert fourth["success"] is True
    saved = query(
        rest,
        "SELECT Name, Tier__c, Regions__c, Is_Partner__c FROM Account WHERE Name LIKE 'Coll %'",
    )
    assert sorted(r["Name"] for r in saved) == ["Coll One", "Coll Three"]
    one = next(r for r in saved if r["Name"] == "Coll One")
    assert one["Regions__c"] == "AMER;EMEA" and one["Is_Partner__c"] is False
    linked = query(rest, f"SELECT Account.External_Id__c FROM Contact WHERE Id = '{contact['id']}'")
    assert linked[0]["Account"]["External_Id__c"] == "EXT-000002"


def test_all_or_none_create_leaves_no_trace(rest: httpx.Client) -> None:
    records = [
        account(Name="Atomic A", External_Id__c="ATOM-1"),
        account(External_Id__c="ATOM-2"),  # no Name: fails
        account(Name="Atomic C"),
    ]
    answer = rest.post("/composite/sobjects", json={"allOrNone": True, "records": records})
    assert answer.status_code == 200
    first, second, third = answer.json()
    assert first == {"success": False, "errors": [ROLLED_BACK]}  # never existed: no id
    assert second["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert third == {"success": False, "errors": [ROLLED_BACK]}
    assert count(rest, "Name LIKE 'Atomic%'") == 0
    # The rolled-back record's external id is free again.
    again = rest.post("/composite/sobjects", json={"records": [records[0]]}).json()
    assert again[0]["success"] is True
    assert query(rest, "SELECT Name FROM Account WHERE External_Id__c = 'ATOM-1'") != []


def test_all_or_none_update_and_delete_are_undone(rest: httpx.Client) -> None:
    rows = query(rest, "SELECT Id, Name, Rating FROM Account WHERE Name != null LIMIT 2")
    good, other = rows
    answer = rest.patch(
        "/composite/sobjects",
        json={
            "allOrNone": True,
            "records": [
                account(id=good["Id"], Name="Renamed In Vain"),
                account(id=other["Id"], Tier__c="Diamond"),
            ],
        },
    )
    first, second = answer.json()
    assert first == {"id": good["Id"], "success": False, "errors": [ROLLED_BACK]}
    assert second["id"] == other["Id"]
    assert second["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert (
        query(rest, f"SELECT Name FROM Account WHERE Id = '{good['Id']}'")[0]["Name"]
        == (good["Name"])
    )
    deleted = rest.delete(
        "/composite/sobjects",
        params={"ids": f"{good['Id']},001Hs00000zzzzzAAA", "allOrNone": "true"},
    ).json()
    assert deleted[0] == {"id": good["Id"], "success": False, "errors": [ROLLED_BACK]}
    assert deleted[1]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert count(rest, f"Id = '{good['Id']}'") == 1  # still there


def test_whole_request_errors_write_nothing(rest: httpx.Client) -> None:
    too_many = [account(Name=f"Many {n}") for n in range(201)]
    error = one_error(rest.post("/composite/sobjects", json={"records": too_many}), 400)
    assert error["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert "cannot submit more than 200 records" in error["message"]
    error = one_error(
        rest.post(
            "/composite/sobjects",
            json={"records": [account(Name="Before Bad"), account(Name="x", Nmae="typo")]},
        ),
        400,
    )
    assert error == {
        "errorCode": "INVALID_FIELD",
        "message": "No such column 'Nmae' on sobject of type Account",
    }
    assert count(rest, "Name = 'Before Bad'") == 0
    error = one_error(
        rest.post(
            "/composite/sobjects",
            json={"records": [account(Name="Typed", NumberOfEmployees="many")]},
        ),
        400,
    )
    assert error["errorCode"] == "JSON_PARSER_ERROR"
    error = one_error(rest.post("/composite/sobjects", json={"records": [{"Name": "x"}]}), 400)
    assert error == {"errorCode": "INVALID_TYPE", "message": "Must send a concrete entity type."}
    error = one_error(
        rest.post("/composite/sobjects", json={"records": [{"attributes": {"type": "Nope"}}]}),
        400,
    )
    assert error["errorCode"] == "INVALID_TYPE"
    assert one_error(rest.post("/composite/sobjects", json=[]), 400)["errorCode"] == (
        "JSON_PARSER_ERROR"
    )
    chunky = [
        {"attributes": {"type": "Account" if n % 2 else "Contact"}, "LastName": "x"}
        for n in range(11)
    ]
    error = one_error(rest.post("/composite/sobjects", json={"records": chunky}), 400)
    assert error["errorCode"] == "EXCEEDED_MAX_TYPES_LIMIT"
    old = rest.post("/services/data/v41.0/composite/sobjects", json={"records": []})
    assert one_error(old, 404)["errorCode"] == "NOT_FOUND"


def test_update_reports_each_bad_id_and_stamps_the_good_ones(rest: httpx.Client) -> None:
    target = query(rest, "SELECT Id, LastModifiedDate, SystemModstamp FROM Account LIMIT 1")[0]
    contact_id = query(rest, "SELECT Id FROM Contact LIMIT 1")[0]["Id"]
    gone = rest.post("/composite/sobjects", json={"records": [account(Name="Soon Gone")]}).json()
    assert rest.delete(f"/sobjects/Account/{gone[0]['id']}").status_code == 204
    answer = rest.patch(
        "/composite/sobjects",
        json={
            "records": [
                account(Name="No Id"),
                account(id="not-an-id", Name="x"),
                account(id=contact_id, Name="x"),
                account(id="001Hs00000zzzzzAAA", Name="x"),
                account(id=gone[0]["id"], Name="x"),
                account(
                    Id=target["Id"][:15],
                    Last_Review__c="2024-05-06T07:08:09.250+02:00",
                    Score__c=12.25,
                ),
            ]
        },
    ).json()
    codes = [r["errors"][0]["statusCode"] if r["errors"] else None for r in answer]
    assert codes == [
        "MISSING_ARGUMENT",
        "MALFORMED_ID",
        "MALFORMED_ID",
        "INVALID_CROSS_REFERENCE_KEY",
        "ENTITY_IS_DELETED",
        None,
    ]
    assert answer[0]["errors"][0]["message"] == "Id not specified in an update call"
    assert answer[2]["errors"][0]["message"] == (
        f"Account ID: id value of incorrect type: {contact_id}"
    )
    assert answer[4]["id"] == gone[0]["id"]
    assert answer[5] == {"id": target["Id"], "success": True, "errors": []}  # 18 characters
    after = query(
        rest,
        "SELECT Last_Review__c, Score__c, LastModifiedDate, SystemModstamp FROM Account "
        f"WHERE Id = '{target['Id']}'",
    )[0]
    assert after["Last_Review__c"] == "2024-05-06T05:08:09.250+0000"
    assert after["Score__c"] == 12.25
    assert after["LastModifiedDate"] > target["LastModifiedDate"]
    assert after["SystemModstamp"] > target["SystemModstamp"]


def test_upsert_by_external_id(rest: httpx.Client) -> None:
    url = "/composite/sobjects/Account/External_Id__c"
    answer = rest.patch(
        url,
        json={
            "allOrNone": False,
            "records": [
                account(External_Id__c="EXT-000003", Rating="Hot"),
                account(External_Id__c="UPS-1", Name="Upserted New"),
                account(External_Id__c="dup-1", Name="First"),
                account(External_Id__c="DUP-1", Name="Second"),
                account(Name="Keyless"),
            ],
        },
    )
    assert answer.status_code == 200
    updated, created, dup_a, dup_b, keyless = answer.json()
    assert updated["created"] is False and updated["success"] is True
    assert set(updated) == {"id", "success", "errors", "created"}
    assert created["created"] is True and created["id"].startswith("001")
    for dup in (dup_a, dup_b):
        assert dup["success"] is False and dup["created"] is False
        assert dup["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
    assert keyless["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    rating = query(rest, "SELECT Rating FROM Account WHERE External_Id__c = 'EXT-000003'")
    assert rating[0]["Rating"] == "Hot"
    again = rest.patch(url, json={"records": [account(External_Id__c="ups-1", Name="Again")]})
    assert again.json()[0]["created"] is False and again.json()[0]["id"] == created["id"]
    wrong_type = rest.patch(
        url, json={"records": [{"attributes": {"type": "Contact"}, "External_Id__c": "x"}]}
    )
    assert one_error(wrong_type, 400)["errorCode"] == "INVALID_TYPE"
    not_external = rest.patch("/composite/sobjects/Account/Name", json={"records": []})
    assert one_error(not_external, 404)["errorCode"] == "NOT_FOUND"
    old = rest.patch("/services/data/v45.0/composite/sobjects/Account/External_Id__c", json={})
    assert old.status_code == 404


def test_delete_and_retrieve(rest: httpx.Client) -> None:
    made = rest.post(
        "/composite/sobjects",
        json={
            "records": [
                account(Name="Del A"),
                {"attributes": {"type": "Contact"}, "LastName": "Del C"},
                account(Name="Keep B"),
            ]
        },
    ).json()
    a_id, c_id, b_id = (r["id"] for r in made)
    answer = rest.delete("/composite/sobjects", params={"ids": f"{a_id},{c_id},bad"})
    assert answer.status_code == 200
    assert answer.json() == [
        {"id": a_id, "success": True, "errors": []},
        {"id": c_id, "success": True, "errors": []},
        {
            "success": False,
            "errors": [{"statusCode": "MALFORMED_ID", "message": "malformed id bad", "fields": []}],
        },
    ]
    again = rest.delete("/composite/sobjects", params={"ids": a_id}).json()
    assert again[0]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    bin_rows = query(rest, f"SELECT IsDeleted FROM Account WHERE Id = '{a_id}'", "queryAll")
    assert bin_rows[0]["IsDeleted"] is True
    fetched = rest.get(
        "/composite/sobjects/Account", params={"ids": f"{b_id},{a_id}", "fields": "Id,Name"}
    )
    assert fetched.status_code == 200
    kept, missing = fetched.json()
    assert kept["Name"] == "Keep B" and kept["attributes"]["type"] == "Account"
    assert set(kept) == {"attributes", "Id", "Name"} and missing is None
    posted = rest.post("/composite/sobjects/Account", json={"ids": [b_id], "fields": ["Name"]})
    assert posted.json()[0]["Name"] == "Keep B"
    no_fields = rest.get("/composite/sobjects/Account", params={"ids": b_id})
    assert one_error(no_fields, 400)["errorCode"] == "MISSING_ARGUMENT"
    too_many = rest.delete("/composite/sobjects", params={"ids": ",".join([b_id] * 201)})
    assert one_error(too_many, 400)["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_validation_rule_and_locked_rows(rest: httpx.Client, org: RunningEmulator) -> None:
    org.config.validation_rule_prefix = "REJECT"
    answer = rest.post(
        "/composite/sobjects",
        json={"records": [account(Name="REJECT me"), account(Name="Accept me")]},
    ).json()
    error = answer[0]["errors"][0]
    assert error["statusCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert "REJECT" in error["message"]
    assert answer[1]["success"] is True
    single = rest.post("/sobjects/Account", json={"Name": "REJECT single"})
    assert one_error(single, 400)["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    renamed = rest.patch(
        "/composite/sobjects", json={"records": [account(id=answer[1]["id"], Name="REJECT now")]}
    )
    assert renamed.json()[0]["errors"][0]["statusCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    org.config.validation_rule_prefix = None

    org.lock_rows(1)
    locked = rest.post(
        "/composite/sobjects",
        json={"records": [account(Name="Locked Out"), account(Name="Lock Free")]},
    ).json()
    assert locked[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert locked[1]["success"] is True
    assert org.pending_faults == {"locked_rows": 0}
    retried = rest.post("/composite/sobjects", json={"records": [account(Name="Locked Out")]})
    assert retried.json()[0]["success"] is True


def test_request_faults_are_counted_down(rest: httpx.Client, org: RunningEmulator) -> None:
    org.inject_fault("unavailable", count=2, path="/composite/")
    assert rest.get("/limits").status_code == 200  # another path: not affected
    for _ in range(2):
        error = one_error(rest.post("/composite/sobjects", json={"records": []}), 503)
        assert error["errorCode"] == "SERVER_UNAVAILABLE"
    assert rest.post("/composite/sobjects", json={"records": []}).json() == []
    org.inject_fault("request_limit")
    limited = rest.get("/limits")
    assert one_error(limited, 403)["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert limited.headers["Sforce-Limit-Info"].startswith("api-usage=")
    org.inject_fault("server_error")
    assert one_error(rest.get("/limits"), 500)["errorCode"] == "UNKNOWN_EXCEPTION"
    org.inject_fault("reset")
    with pytest.raises(httpx.TransportError):
        rest.get("/limits")
    assert rest.get("/limits").status_code == 200
    with pytest.raises(ValueError, match="unknown request fault"):
        org.inject_fault("flaky")


def test_change_events_once_committed() -> None:
    config = EmulatorConfig(accounts=20, pubsub=True, anchor_date=datetime.date(2024, 6, 15))
    with start_emulator(config) as emu:
        token = get_token(emu)
        with http_client(
            f"{emu.url}/services/data/v66.0",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        ) as api:
            bus = emu.pubsub_server.bus
            failed = api.post(
                "/composite/sobjects",
                json={"allOrNone": True, "records": [account(Name="Ghost"), account()]},
            )
            assert failed.json()[0]["errors"] == [ROLLED_BACK]
            assert emu.pubsub_events == 0  # nothing committed, nothing announced
            made = api.post(
                "/composite/sobjects",
                json={"records": [account(Name="Event A"), account(Name="Event B")]},
            ).json()
            update = [account(id=made[0]["id"], Rating="Hot")]
            api.patch("/composite/sobjects", json={"records": update})
            api.delete("/composite/sobjects", params={"ids": made[1]["id"]})
        schema = bus.change_schemas["account"]
        events, _ = bus.read(0, bus.topics["/data/AccountChangeEvent"], 100)
        decoded = [avro_decode(schema, e.payload) for e in events]
    headers = [d["ChangeEventHeader"] for d in decoded]
    assert [h["changeType"] for h in headers] == ["CREATE", "CREATE", "UPDATE", "DELETE"]
    assert headers[0]["transactionKey"] == headers[1]["transactionKey"]
    assert [h["sequenceNumber"] for h in headers[:2]] == [1, 2]
    assert headers[2]["transactionKey"] != headers[0]["transactionKey"]
    assert headers[0]["changeOrigin"] == "com/salesforce/api/rest/66.0"
    assert decoded[2]["Rating"] == "Hot" and decoded[0]["Name"] == "Event A"
    assert headers[3]["recordIds"] == [made[1]["id"]]


# -- sObject Tree (composite/tree/X): nested parent-child creates, all or nothing


def tree_record(sobject: str, reference: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": sobject, "referenceId": reference}, **fields}


def test_tree_creates_levels_in_order_and_links_children(rest: httpx.Client) -> None:
    """Salesforce's own example: two accounts with their contacts, field names in any
    case; the answer lists the roots first, then the second level, in request order."""
    body = {
        "records": [
            tree_record(
                "Account",
                "ref1",
                name="Tree Sample One",
                numberOfEmployees="100",
                Contacts={
                    "records": [
                        tree_record("Contact", "ref2", lastname="Smith", email="s@example.com"),
                        tree_record("Contact", "ref3", lastname="Evans"),
                    ]
                },
            ),
            tree_record("Account", "ref4", Name="Tree Sample Two"),
        ]
    }
    answer = rest.post("/composite/tree/Account", json=body)
    assert answer.status_code == 201, answer.text
    result = answer.json()
    assert result["hasErrors"] is False
    assert [r["referenceId"] for r in result["results"]] == ["ref1", "ref4", "ref2", "ref3"]
    ids = {r["referenceId"]: r["id"] for r in result["results"]}
    assert [ids[ref][:3] for ref in ("ref1", "ref4", "ref2", "ref3")] == [
        "001",
        "001",
        "003",
        "003",
    ]
    contacts = query(
        rest,
        "SELECT LastName, Email, AccountId, Account.NumberOfEmployees FROM Contact "
        f"WHERE Id IN ('{ids['ref2']}', '{ids['ref3']}') ORDER BY LastName",
    )
    assert [(c["LastName"], c["AccountId"]) for c in contacts] == [
        ("Evans", ids["ref1"]),
        ("Smith", ids["ref1"]),
    ]
    assert contacts[0]["Account"]["NumberOfEmployees"] == 100


def test_tree_failure_keeps_nothing_and_names_the_failing_record(rest: httpx.Client) -> None:
    body = {
        "records": [
            tree_record(
                "Account",
                "TreeBad1",
                Name="Tree Rolled Back",
                Contacts={
                    "records": [
                        tree_record("Contact", "TreeBad2", LastName="Fine"),
                        tree_record("Contact", "TreeBad3", LastName="Bad", Email="123"),
                    ]
                },
            )
        ]
    }
    answer = rest.post("/composite/tree/Account", json=body)
    assert answer.status_code == 400
    assert answer.json() == {
        "hasErrors": True,
        "results": [
            {
                "referenceId": "TreeBad3",
                "errors": [
                    {
                        "statusCode": "INVALID_EMAIL_ADDRESS",
                        "message": "Email: invalid email address: 123",
                        "fields": ["Email"],
                    }
                ],
            }
        ],
    }
    assert count(rest, "Name = 'Tree Rolled Back'") == 0
    assert query(rest, "SELECT Id FROM Contact WHERE LastName = 'Fine'") == []


def test_tree_reference_ids_and_whole_request_errors(rest: httpx.Client) -> None:
    repeated = rest.post(
        "/composite/tree/Account",
        json={
            "records": [
                tree_record("Account", "same", Name="Tree Dup A"),
                tree_record("Account", "same", Name="Tree Dup B"),
                {"attributes": {"type": "Account"}, "Name": "Tree No Reference"},
            ]
        },
    )
    assert repeated.status_code == 400 and repeated.json()["hasErrors"] is True
    results = repeated.json()["results"]
    assert [r["referenceId"] for r in results] == ["same", "same", None]
    assert {r["errors"][0]["statusCode"] for r in results} == {"INVALID_INPUT"}
    assert count(rest, "Name LIKE 'Tree Dup%' OR Name = 'Tree No Reference'") == 0

    unknown_field = rest.post(
        "/composite/tree/Account", json={"records": [tree_record("Account", "r1", Nope__c=1)]}
    )
    assert one_error(unknown_field, 400) == {
        "message": "No such column 'Nope__c' on sobject of type Account",
        "errorCode": "INVALID_FIELD",
    }  # the Salesforce CLI reads field and object out of this message
    wrong_root = rest.post(
        "/composite/tree/Account", json={"records": [tree_record("Contact", "r1", LastName="x")]}
    )
    assert one_error(wrong_root, 400)["errorCode"] == "INVALID_INPUT"
    too_many = [tree_record("Account", f"r{i}", Name=f"Tree Many {i}") for i in range(201)]
    assert one_error(rest.post("/composite/tree/Account", json={"records": too_many}), 400)
    assert count(rest, "Name LIKE 'Tree Many%'") == 0
    assert one_error(rest.post("/composite/tree/Nope", json={"records": []}), 404)
    assert one_error(rest.post("/composite/tree/Account", json=[]), 400)["errorCode"] == (
        "JSON_PARSER_ERROR"
    )
