"""Describe and sObject rows (CRUD, upsert) on an org of this module's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator

from .helpers import get_token, http_client, rest_client


@pytest.fixture(scope="module")
def rest(writable_emulator: RunningEmulator) -> Iterator[httpx.Client]:
    with rest_client(writable_emulator) as api:
        yield api


def error_of(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert isinstance(body, list) and len(body) == 1, body
    error: dict[str, Any] = body[0]
    return error


def test_global_describe(rest: httpx.Client) -> None:
    body = rest.get("/sobjects").json()
    assert body["encoding"] == "UTF-8" and body["maxBatchSize"] == 200
    by_name = {s["name"]: s for s in body["sobjects"]}
    account = by_name["Account"]
    assert account["keyPrefix"] == "001" and account["labelPlural"] == "Accounts"
    assert account["queryable"] and account["createable"] and account["deletable"]
    assert account["custom"] is False
    assert account["urls"]["describe"] == "/services/data/v66.0/sobjects/Account/describe"
    assert by_name["User"]["createable"] is False
    assert {"Contact", "Opportunity", "Organization"} <= set(by_name)


def test_sobject_describe(rest: httpx.Client) -> None:
    describe = rest.get("/sobjects/Account/describe").json()
    assert describe["name"] == "Account" and describe["keyPrefix"] == "001"
    fields = {f["name"]: f for f in describe["fields"]}
    assert fields["Id"]["type"] == "id" and fields["Id"]["createable"] is False
    assert fields["Name"]["nillable"] is False and fields["Name"]["nameField"] is True
    assert fields["Name"]["type"] == "string" and fields["Name"]["length"] == 255
    assert fields["AnnualRevenue"]["type"] == "currency"
    assert fields["NumberOfEmployees"]["type"] == "int"
    assert fields["Website"]["type"] == "url" and fields["Phone"]["type"] == "phone"
    assert fields["BillingAddress"]["type"] == "address"
    assert fields["BillingCity"]["compoundFieldName"] == "BillingAddress"
    owner = fields["OwnerId"]
    assert owner["type"] == "reference" and owner["referenceTo"] == ["User"]
    assert owner["relationshipName"] == "Owner"
    industry = fields["Industry"]
    assert industry["type"] == "picklist"
    assert {
        "active": True,
        "defaultValue": False,
        "label": "Banking",
        "validFor": None,
        "value": "Banking",
    } in industry["picklistValues"]
    ext = fields["External_Id__c"]
    assert ext["externalId"] and ext["unique"] and ext["custom"]
    children = {r["relationshipName"]: r for r in describe["childRelationships"]}
    assert children["Contacts"]["childSObject"] == "Contact"
    assert children["Contacts"]["field"] == "AccountId"
    assert children["Opportunities"]["cascadeDelete"] is True
    opportunity = {
        f["name"]: f for f in rest.get("/sobjects/Opportunity/describe").json()["fields"]
    }
    assert opportunity["Probability"]["type"] == "percent"
    assert opportunity["CloseDate"]["type"] == "date"
    assert opportunity["IsWon"]["type"] == "boolean" and opportunity["IsWon"]["calculated"]
    assert opportunity["StageName"]["nillable"] is False
    assert error_of(rest.get("/sobjects/Nope/describe"), 404)["errorCode"] == "NOT_FOUND"


def test_create_get_update_delete(rest: httpx.Client) -> None:
    created = rest.post(
        "/sobjects/Account/",
        json={
            "Name": "Emulated Corp",
            "Industry": "Energy",
            "AnnualRevenue": 1234.5,
            "NumberOfEmployees": 12,
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert list(body) == ["id", "success", "errors"]
    assert body["success"] is True and body["errors"] == []
    record_id = body["id"]
    assert record_id.startswith("001") and len(record_id) == 18

    record = rest.get(f"/sobjects/Account/{record_id}").json()
    assert record["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v66.0/sobjects/Account/{record_id}",
    }
    assert record["Name"] == "Emulated Corp" and record["AnnualRevenue"] == 1234.5
    assert record["IsDeleted"] is False and record["OwnerId"].startswith("005")
    assert record["CreatedDate"].endswith("+0000") and record["Website"] is None
    subset = rest.get(f"/sobjects/Account/{record_id[:15]}", params={"fields": "Name,Industry"})
    assert subset.json() == {
        "attributes": record["attributes"],
        "Name": "Emulated Corp",
        "Industry": "Energy",
    }
    bad_field = rest.get(f"/sobjects/Account/{record_id}", params={"fields": "Name,Nope"})
    assert error_of(bad_field, 400)["errorCode"] == "INVALID_FIELD"

    updated = rest.patch(
        f"/sobjects/Account/{record_id}", json={"Industry": "Retail", "Website": None}
    )
    assert updated.status_code == 204 and updated.content == b""
    again = rest.get(f"/sobjects/Account/{record_id}").json()
    assert again["Industry"] == "Retail" and again["LastModifiedDate"] >= record["LastModifiedDate"]
    query = rest.get("/query", params={"q": f"SELECT Name FROM Account WHERE Id = '{record_id}'"})
    assert query.json()["totalSize"] == 1

    recent = rest.get("/sobjects/Account").json()
    assert recent["objectDescribe"]["name"] == "Account"
    assert recent["recentItems"][0]["Id"] == record_id

    deleted = rest.delete(f"/sobjects/Account/{record_id}")
    assert deleted.status_code == 204
    assert error_of(rest.get(f"/sobjects/Account/{record_id}"), 404)["errorCode"] == "NOT_FOUND"
    assert (
        error_of(rest.delete(f"/sobjects/Account/{record_id}"), 404)["errorCode"]
        == "ENTITY_IS_DELETED"
    )
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Id = '{record_id}'"
    assert rest.get("/query", params={"q": soql}).json()["totalSize"] == 0
    all_rows = rest.get("/queryAll", params={"q": soql}).json()
    assert all_rows["records"][0]["IsDeleted"] is True


def test_delete_cascades_to_contacts(rest: httpx.Client) -> None:
    account_id = rest.post("/sobjects/Account", json={"Name": "Parent Co"}).json()["id"]
    contact = rest.post(
        "/sobjects/Contact", json={"LastName": "Child", "FirstName": "Kim", "AccountId": account_id}
    )
    assert contact.status_code == 201
    contact_id = contact.json()["id"]
    assert rest.get(f"/sobjects/Contact/{contact_id}").json()["Name"] == "Kim Child"
    rest.delete(f"/sobjects/Account/{account_id}")
    soql = f"SELECT Id FROM Contact WHERE Id = '{contact_id}' AND IsDeleted = true"
    assert rest.get("/queryAll", params={"q": soql}).json()["totalSize"] == 1


def test_opportunity_derived_fields(rest: httpx.Client) -> None:
    created = rest.post(
        "/sobjects/Opportunity",
        json={
            "Name": "Big deal",
            "StageName": "Closed Won",
            "CloseDate": "2024-05-01",
            "Amount": "2500",
        },
    )
    assert created.status_code == 201, created.text
    record = rest.get(f"/sobjects/Opportunity/{created.json()['id']}").json()
    assert record["IsClosed"] is True and record["IsWon"] is True
    assert record["Probability"] == 100.0 and record["Amount"] == 2500.0


def test_upsert_by_external_id(rest: httpx.Client, writable_emulator: RunningEmulator) -> None:
    created = rest.patch("/sobjects/Account/External_Id__c/NEW-1", json={"Name": "Upserted"})
    assert created.status_code == 201
    body = created.json()
    assert body["success"] is True and body["created"] is True and body["errors"] == []
    updated = rest.patch("/sobjects/Account/External_Id__c/new-1", json={"Rating": "Hot"})
    assert updated.status_code == 200
    assert updated.json() == {"id": body["id"], "success": True, "errors": [], "created": False}
    fetched = rest.get("/sobjects/Account/External_Id__c/NEW-1").json()
    assert fetched["Rating"] == "Hot" and fetched["Name"] == "Upserted"
    # Before API 46.0 an update answers 204 without a body, a creation has no "created".
    token = rest.headers["Authorization"]
    with http_client(
        f"{writable_emulator.url}/services/data/v45.0", headers={"Authorization": token}
    ) as old:
        assert (
            old.patch("/sobjects/Account/External_Id__c/NEW-1", json={"Rating": "Cold"}).status_code
            == 204
        )
        created_old = old.patch("/sobjects/Account/External_Id__c/NEW-2", json={"Name": "Old API"})
        assert created_old.status_code == 201 and "created" not in created_old.json()
    missing_field = rest.patch("/sobjects/Account/Name/x", json={"Name": "y"})
    assert error_of(missing_field, 404) == {
        "message": "Provided external ID field does not exist or is not accessible: Name",
        "errorCode": "NOT_FOUND",
    }
    # A lookup set through the parent's external id.
    contact = rest.post(
        "/sobjects/Contact", json={"LastName": "Linked", "Account": {"External_Id__c": "NEW-1"}}
    )
    assert contact.status_code == 201
    assert rest.get(f"/sobjects/Contact/{contact.json()['id']}").json()["AccountId"] == body["id"]


@pytest.mark.parametrize(
    ("body", "status", "code", "fields"),
    [
        ({"Industry": "Energy"}, 400, "REQUIRED_FIELD_MISSING", ["Name"]),
        ({"Name": None}, 400, "REQUIRED_FIELD_MISSING", ["Name"]),
        ({"Name": "x", "Nope__c": 1}, 400, "INVALID_FIELD", None),
        (
            {"Name": "x", "CreatedDate": "2020-01-01T00:00:00Z"},
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["CreatedDate"],
        ),
        ({"Name": "x", "Id": "001Hs0000000001IAA"}, 400, "INVALID_FIELD_FOR_INSERT_UPDATE", ["Id"]),
        ({"Name": "x", "NumberOfEmployees": "many"}, 400, "JSON_PARSER_ERROR", None),
        ({"Name": "x" * 256}, 400, "STRING_TOO_LONG", ["Name"]),
        (
            {"Name": "x", "OwnerId": "001Hs0000000001IAA"},
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            ["OwnerId"],
        ),
        ({"Name": "x", "OwnerId": "not-an-id"}, 400, "MALFORMED_ID", ["OwnerId"]),
        ({"Name": "x", "External_Id__c": "EXT-000001"}, 400, "DUPLICATE_VALUE", []),
        ([{"Name": "x"}], 400, "JSON_PARSER_ERROR", None),
    ],
)
def test_create_errors(
    rest: httpx.Client, body: Any, status: int, code: str, fields: list[str] | None
) -> None:
    error = error_of(rest.post("/sobjects/Account/", json=body), status)
    assert error["errorCode"] == code, error
    if fields is not None:
        assert error["fields"] == fields
    if code == "REQUIRED_FIELD_MISSING":
        assert error["message"] == "Required fields are missing: [Name]"
    if code == "INVALID_FIELD":
        assert error["message"] == "No such column 'Nope__c' on sobject of type Account"


def test_record_id_errors(rest: httpx.Client) -> None:
    contact_id = rest.get("/query", params={"q": "SELECT Id FROM Contact LIMIT 1"}).json()[
        "records"
    ][0]["Id"]
    wrong_type = rest.patch(f"/sobjects/Account/{contact_id}", json={"Name": "x"})
    error = error_of(wrong_type, 400)
    assert error["errorCode"] == "MALFORMED_ID" and contact_id in error["message"]
    missing = rest.get("/sobjects/Account/001Hs000000ZZZZ")
    assert error_of(missing, 404)["errorCode"] == "NOT_FOUND"
    garbage = error_of(rest.get("/sobjects/Account/hello"), 404)
    assert (
        garbage["message"]
        == "Provided external ID field does not exist or is not accessible: hello"
    )
    assert (
        error_of(rest.post("/sobjects/Nope", json={"Name": "x"}), 404)["errorCode"] == "NOT_FOUND"
    )
    empty = rest.post(
        "/sobjects/Account", content=b"", headers={"Content-Type": "application/json"}
    )
    assert error_of(empty, 400)["errorCode"] == "JSON_PARSER_ERROR"
    broken = rest.post(
        "/sobjects/Account", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert error_of(broken, 400)["errorCode"] == "JSON_PARSER_ERROR"
    user = rest.get("/query", params={"q": "SELECT Id FROM User LIMIT 1"}).json()["records"][0][
        "Id"
    ]
    assert (
        error_of(rest.delete(f"/sobjects/User/{user}"), 400)["errorCode"]
        == "INVALID_TYPE_FOR_OPERATION"
    )


def test_extra_objects_in_the_global_describe() -> None:
    with start_emulator(EmulatorConfig(accounts=1, extra_objects=1200)) as emu:
        token = get_token(emu)
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        with http_client(f"{emu.url}/services/data/v66.0", headers=headers) as api:
            sobjects = api.get("/sobjects").json()["sobjects"]
            # Only the synthetic objects: the org has custom objects of its own too.
            custom = [s for s in sobjects if s["custom"] and s["name"].startswith("Custom_")]
            assert len(custom) == 1200
            assert custom[0]["name"] == "Custom_0001__c" and custom[-1]["name"] == "Custom_1200__c"
            assert len({s["keyPrefix"] for s in sobjects}) == len(sobjects)
            describe = api.get("/sobjects/Custom_0042__c/describe").json()
            assert {f["name"] for f in describe["fields"]} >= {
                "Id",
                "Name",
                "Amount__c",
                "Account__c",
            }
            created = api.post("/sobjects/Custom_0042__c", json={"Name": "one", "Amount__c": 5})
            assert created.status_code == 201
            rows = api.get(
                "/query", params={"q": "SELECT Name, Amount__c FROM Custom_0042__c"}
            ).json()
            assert rows["records"][0]["Amount__c"] == 5.0
