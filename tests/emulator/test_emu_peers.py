"""Clients nobody here wrote must work unchanged against the emulator.

simple-salesforce builds ``https://`` URLs from the instance URL, so its emulator serves
TLS (a throw-away CA made by the ``tls_files`` fixture); the requests session trusts that
CA through the ordinary ``session.verify`` setting. authlib drives the OAuth flow. The
fixtures (``tls_emulator``, ``https``, ``sf``) live in this folder's conftest.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session

from ak_salesforce_nb.emulator import RunningEmulator

from .helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, browser_code, query_params


def test_authlib_code_flow_with_pkce_and_refresh(
    tls_emulator: RunningEmulator, https: requests.Session
) -> None:
    token_url = f"{tls_emulator.url}/services/oauth2/token"
    with OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        scope="api refresh_token",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    ) as oauth:
        oauth.verify, oauth.trust_env = https.verify, False
        verifier = "x" * 64
        url, state = oauth.create_authorization_url(
            f"{tls_emulator.url}/services/oauth2/authorize", code_verifier=verifier
        )
        assert "code_challenge=" in url and "code_challenge_method=S256" in url
        callback = browser_code(https, url)
        assert query_params(callback)["state"] == state
        token = oauth.fetch_token(
            token_url, authorization_response=callback, code_verifier=verifier
        )
        assert token["token_type"] == "Bearer" and token["instance_url"] == tls_emulator.url
        first_access = token["access_token"]
        refreshed = oauth.refresh_token(token_url)
        assert refreshed["access_token"] != first_access
        assert refreshed["refresh_token"] == token["refresh_token"]  # kept by authlib
        info = oauth.get(f"{tls_emulator.url}/services/oauth2/userinfo").json()
        assert info["preferred_username"] == "ada@example.com"


def test_query_all_with_pagination_and_describe(sf: Any) -> None:
    result = sf.query_all("SELECT Id, Name, Account.Name FROM Contact")
    assert result["totalSize"] == 2500 == len({r["Id"] for r in result["records"]})
    first = sf.query("SELECT Id FROM Contact")
    assert first["done"] is False and len(first["records"]) == 2000
    assert sf.api_usage["api-usage"].total == 15000  # parsed from Sforce-Limit-Info
    names = {s["name"] for s in sf.describe()["sobjects"]}
    assert {"Account", "Contact", "Opportunity"} <= names
    assert sf.Account.describe()["name"] == "Account"
    assert sf.Account.metadata()["objectDescribe"]["keyPrefix"] == "001"
    assert sf.is_sandbox() is False
    assert sf.limits()["DailyApiRequests"]["Max"] == 15000


def test_crud_and_upsert(sf: Any) -> None:
    created = sf.Account.create({"Name": "Peer Client Inc.", "Industry": "Media"})
    assert created["success"] is True
    record_id = created["id"]
    assert sf.Account.get(record_id)["Name"] == "Peer Client Inc."
    assert sf.Account.update(record_id, {"Rating": "Warm"}) == 204
    assert sf.Account.get(record_id)["Rating"] == "Warm"
    assert sf.Account.upsert("External_Id__c/PEER-1", {"Name": "Peer Upsert"}) == 201
    assert sf.Account.upsert("External_Id__c/PEER-1", {"Rating": "Hot"}) == 200
    assert sf.Account.get_by_custom_id("External_Id__c", "PEER-1")["Rating"] == "Hot"
    assert sf.Account.delete(record_id) == 204
    deleted = sf.query_all(f"SELECT Id FROM Account WHERE Id = '{record_id}'", include_deleted=True)
    assert deleted["totalSize"] == 1


def test_bulk2_query(sf: Any) -> None:
    pages = list(
        sf.bulk2.Account.query("SELECT Id, Name, Owner.Name FROM Account", max_records=400, wait=0)
    )
    assert len(pages) == 3
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    assert len(rows) >= 1000 and rows[0].keys() == {"Id", "Name", "Owner.Name"}


def test_bulk2_insert_and_upsert_with_their_result_files(sf: Any) -> None:
    inserted = sf.bulk2.Account.insert(
        records=[{"Name": "Peer Bulk One", "Industry": "Media"}, {"Name": "", "Industry": "x"}],
        wait=0.05,
    )
    assert len(inserted) == 1
    assert inserted[0]["numberRecordsProcessed"] == 2
    assert inserted[0]["numberRecordsFailed"] == 1 and inserted[0]["numberRecordsTotal"] == 2
    job_id = inserted[0]["job_id"]
    good = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_successful_records(job_id))))
    assert good[0]["sf__Created"] == "true" and good[0]["Name"] == "Peer Bulk One"
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_failed_records(job_id))))
    assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    unprocessed = sf.bulk2.Account.get_unprocessed_records(job_id)
    header_only = list(csv.reader(io.StringIO(unprocessed)))
    assert len(header_only) == 1 and sorted(header_only[0]) == ["Industry", "Name"]

    upserted = sf.bulk2.Account.upsert(
        records=[
            {"External_Id__c": "EXT-000001", "Rating": "Warm"},
            {"External_Id__c": "PEER-BULK-2", "Name": "Peer Bulk Two"},
        ],
        external_id_field="External_Id__c",
        wait=0.05,
    )
    assert upserted[0]["numberRecordsFailed"] == 0
    results = sf.bulk2.Account.get_successful_records(upserted[0]["job_id"])
    rows = csv.DictReader(io.StringIO(results))
    created = {row["External_Id__c"]: row["sf__Created"] for row in rows}
    assert created == {"EXT-000001": "false", "PEER-BULK-2": "true"}
    rating = sf.query("SELECT Rating FROM Account WHERE External_Id__c = 'EXT-000001'")
    assert rating["records"][0]["Rating"] == "Warm"


def test_composite_sobjects_through_restful(sf: Any) -> None:
    created = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "Peer Collection"},
                {"attributes": {"type": "Account"}, "Tier__c": "Gold"},
            ],
        },
    )
    assert created[0]["success"] is True and created[1]["success"] is False
    assert created[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    record_id = created[0]["id"]
    updated = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={"records": [{"attributes": {"type": "Account"}, "id": record_id, "Rating": "Hot"}]},
    )
    assert updated == [{"id": created[0]["id"], "success": True, "errors": []}]
    fetched = sf.restful(
        "composite/sobjects/Account", params={"ids": created[0]["id"], "fields": "Name,Rating"}
    )
    assert fetched[0]["Rating"] == "Hot"
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": created[0]["id"]})
    assert deleted == [{"id": created[0]["id"], "success": True, "errors": []}]


# -- the bigger org: new objects, a custom object, SOSL, child subqueries with paging

NEW_OBJECTS = (
    "Lead",
    "Campaign",
    "Case",
    "Task",
    "Event",
    "Product2",
    "Pricebook2",
    "PricebookEntry",
    "OpportunityLineItem",
    "Project__c",
)


def test_new_objects_query_describe_and_crud(sf: Any) -> None:
    for name in NEW_OBJECTS:
        result = sf.query(f"SELECT Id FROM {name} LIMIT 5")
        assert result["done"] is True, name
        assert 0 < result["totalSize"] == len(result["records"]) <= 5, name
        assert all(r["attributes"]["type"] == name for r in result["records"])
    lead = sf.Lead.describe()
    types = {f["name"]: f["type"] for f in lead["fields"]}
    assert (
        types["Email"] == "email"
        and types["Status"] == "picklist"
        and types["Address"] == "address"
    )
    project = sf.Project__c.describe()
    assert project["custom"] is True
    lookup = next(f for f in project["fields"] if f["name"] == "Account__c")
    assert lookup["relationshipName"] == "Account__r" and lookup["referenceTo"] == ["Account"]
    account_id = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    created = sf.Project__c.create(
        {"Name": "Peer Project", "Account__c": account_id, "Status__c": "in_progress"}
    )
    fetched = sf.query(
        "SELECT Name, toLabel(Status__c), Account__r.Id FROM Project__c "
        f"WHERE Id = '{created['id']}'"
    )["records"][0]
    assert fetched["Status__c"] == "In Progress" and fetched["Account__r"]["Id"] == account_id
    assert sf.Project__c.delete(created["id"]) == 204
    rollup = sf.query(
        "SELECT Status, COUNT(Id) n, GROUPING(Status) g FROM Case GROUP BY ROLLUP(Status)"
    )
    total = sf.query("SELECT COUNT() FROM Case")["totalSize"]
    assert rollup["records"][-1]["g"] == 1 and rollup["records"][-1]["n"] == total


def test_sosl_through_simple_salesforce(sf: Any) -> None:
    found = sf.search("FIND {Robotics} IN NAME FIELDS RETURNING Account(Id, Name), Contact(Name)")
    records = found["searchRecords"]
    expected = sf.query_all("SELECT Id, Name FROM Account WHERE Name LIKE '%Robotics%'")
    assert records and {r["Id"] for r in records} == {r["Id"] for r in expected["records"]}
    quick = sf.quick_search("Robotics")
    assert {r["Id"] for r in records} <= {r["Id"] for r in quick["searchRecords"]}
    parameterized = sf.restful(
        "parameterizedSearch/",
        params={"q": "Robotics", "sobject": "Account", "Account.fields": "Id,Name"},
    )
    assert {r["Id"] for r in parameterized["searchRecords"]} == {r["Id"] for r in records}


def test_child_subquery_paging_through_query_all(sf: Any) -> None:
    """2,500 contacts page through query_all; each carries its tasks (nested pages followed)."""
    result = sf.query_all("SELECT Id, (SELECT Id, Subject FROM Tasks) FROM Contact")
    assert result["totalSize"] == 2500 == len(result["records"])
    seen = 0
    for contact in result["records"]:
        tasks = contact["Tasks"]
        if tasks is None:
            continue
        seen += len(tasks["records"])
        while not tasks["done"]:
            tasks = sf.query_more(tasks["nextRecordsUrl"], identifier_is_url=True)
            seen += len(tasks["records"])
    expected = sf.query("SELECT COUNT() FROM Task WHERE WhoId IN (SELECT Id FROM Contact)")
    assert seen == expected["totalSize"] > 0
