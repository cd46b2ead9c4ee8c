"""The bigger org: sales and service objects, a custom object with ``__c``/``__r`` names,
picklists whose labels differ from their values, the Organization fields clients read,
and multi-currency as a switch. Seed data must be deterministic and consistent.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator
from ak_salesforce_nb.emulator._schema import build_schema
from ak_salesforce_nb.emulator._state import EmulatorState

from .helpers import VERSION, get_token, http_client
from .test_emu_soql_features import records

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


def describe(api: httpx.Client, name: str) -> dict[str, Any]:
    answer = api.get(f"/sobjects/{name}/describe")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def field(described: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in described["fields"] if f["name"] == name)


def test_global_describe_lists_the_new_objects(api: httpx.Client) -> None:
    listed = {s["name"]: s for s in api.get("/sobjects").json()["sobjects"]}
    assert set(NEW_OBJECTS) <= set(listed)
    assert listed["Project__c"]["custom"] is True and listed["Lead"]["custom"] is False
    assert listed["Lead"]["keyPrefix"] == "00Q" and listed["Case"]["keyPrefix"] == "500"
    assert "CurrencyType" not in listed  # a single-currency org by default


def test_every_new_object_is_queryable_and_seeded(api: httpx.Client) -> None:
    for name in NEW_OBJECTS:
        answer = api.get("/query", params={"q": f"SELECT COUNT() FROM {name}"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["totalSize"] > 0, name
    # The shared org has 1,000 accounts: half as many leads and cases.
    count = api.get("/query", params={"q": "SELECT COUNT() FROM Lead"}).json()["totalSize"]
    assert count == 500


def test_custom_object_lookup_and_child_relationship(api: httpx.Client) -> None:
    project = describe(api, "Project__c")
    lookup = field(project, "Account__c")
    assert lookup["type"] == "reference" and lookup["referenceTo"] == ["Account"]
    assert lookup["relationshipName"] == "Account__r" and lookup["custom"] is True
    assert field(project, "Budget__c")["type"] == "currency"
    assert field(project, "Phases__c")["type"] == "multipicklist"
    account = describe(api, "Account")
    children = {
        (r["relationshipName"], r["childSObject"], r["field"])
        for r in account["childRelationships"]
    }
    assert ("Projects__r", "Project__c", "Account__c") in children
    assert ("Tasks", "Task", "WhatId") in children and ("Cases", "Case", "AccountId") in children
    rows = records(
        api,
        "SELECT Id, Name, (SELECT Name, Account__r.Name FROM Projects__r) FROM Account "
        "WHERE Id IN (SELECT Account__c FROM Project__c)",
    )
    assert rows
    for row in rows:
        for child in row["Projects__r"]["records"]:
            assert child["Account__r"]["Name"] == row["Name"]
    projects = records(api, "SELECT Account__c FROM Project__c WHERE Account__c != null")
    assert sum(r["Projects__r"]["totalSize"] for r in rows) == len(projects)


def test_polymorphic_lookups_and_line_items(api: httpx.Client) -> None:
    task = describe(api, "Task")
    what = field(task, "WhatId")
    assert what["relationshipName"] == "What" and len(what["referenceTo"]) >= 4
    assert set(field(task, "WhoId")["referenceTo"]) == {"Contact", "Lead"}
    opportunity = describe(api, "Opportunity")
    line_items = next(
        r
        for r in opportunity["childRelationships"]
        if r["relationshipName"] == "OpportunityLineItems"
    )
    assert line_items["cascadeDelete"] is True
    items = records(
        api,
        "SELECT Quantity, UnitPrice, Discount, TotalPrice, PricebookEntry.UnitPrice, "
        "PricebookEntry.Product2.Name, Name FROM OpportunityLineItem LIMIT 100",
    )
    for item in items:
        discount = (item["Discount"] or 0) / 100
        assert item["TotalPrice"] == pytest.approx(
            item["Quantity"] * item["UnitPrice"] * (1 - discount)
        )
        assert item["PricebookEntry"]["Product2"]["Name"] == item["Name"]
    # A case belongs to its contact's account.
    cases = records(api, "SELECT AccountId, Contact.AccountId FROM Case WHERE ContactId != null")
    assert cases and all(c["AccountId"] == c["Contact"]["AccountId"] for c in cases)


def test_picklist_values_carry_labels_and_defaults() -> None:
    schema = build_schema()
    project = schema.get("Project__c")
    assert project is not None
    status = project.field("Status__c")
    assert status is not None
    entries = status.picklist_entries()
    assert {
        "value": "in_progress",
        "label": "In Progress",
        "active": True,
        "defaultValue": False,
        "validFor": None,
    } in entries
    assert [e["value"] for e in entries if e["defaultValue"]] == ["planned"]
    lead = schema.get("Lead")
    assert lead is not None
    lead_status = lead.field("Status")
    assert lead_status is not None and lead_status.picklist_default == "Open - Not Contacted"


def test_organization_has_the_fields_clients_select(api: httpx.Client) -> None:
    (org,) = records(
        api,
        "SELECT Id, Name, TrialExpirationDate, IsSandbox, InstanceName, OrganizationType, "
        "NamespacePrefix, DefaultLocaleSidKey, LanguageLocaleKey, TimeZoneSidKey, "
        "FiscalYearStartMonth, Country, IsReadOnly FROM Organization",
    )
    assert org["IsSandbox"] is False and org["TrialExpirationDate"] is None
    assert org["OrganizationType"] == "Developer Edition" and org["InstanceName"]
    assert org["DefaultLocaleSidKey"] == "en_US" and org["FiscalYearStartMonth"] == 1
    assert org["NamespacePrefix"] is None and org["IsReadOnly"] is False


def test_seed_data_is_deterministic_and_consistent() -> None:
    anchor = datetime.date(2025, 3, 1)
    first = EmulatorState(EmulatorConfig(accounts=60, seed=4, anchor_date=anchor)).store
    second = EmulatorState(EmulatorConfig(accounts=60, seed=4, anchor_date=anchor)).store
    other = EmulatorState(EmulatorConfig(accounts=60, seed=5, anchor_date=anchor)).store
    for name in ("lead", "case", "task", "event", "project__c", "opportunitylineitem"):
        assert first.tables[name].columns == second.tables[name].columns, name
    assert first.tables["lead"].columns["Name"] != other.tables["lead"].columns["Name"]
    # Converted leads point at a contact and its account; open ones at nothing.
    leads = first.tables["lead"].columns
    contacts = first.tables["contact"]
    for converted, contact, account in zip(
        leads["IsConverted"], leads["ConvertedContactId"], leads["ConvertedAccountId"], strict=True
    ):
        if not converted:
            assert contact is None and account is None
            continue
        assert contacts.columns["AccountId"][contacts.row_of(contact)] == account


@pytest.fixture(scope="module")
def org() -> Iterator[RunningEmulator]:
    with start_emulator(EmulatorConfig(accounts=40, seed=9)) as emu:
        yield emu


@pytest.fixture
def writer(org: RunningEmulator) -> Iterator[httpx.Client]:
    token = get_token(org)
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    with http_client(f"{org.url}/services/data/v{VERSION}", headers=headers) as http:
        yield http


def test_creating_new_objects_applies_salesforce_defaults(writer: httpx.Client) -> None:
    created = writer.post(
        "/sobjects/Lead",
        json={"LastName": "Noether", "FirstName": "Emmy", "Company": "Erlangen Labs"},
    )
    assert created.status_code == 201, created.text
    lead = writer.get(f"/sobjects/Lead/{created.json()['id']}").json()
    assert lead["Name"] == "Emmy Noether" and lead["Status"] == "Open - Not Contacted"
    case = writer.post("/sobjects/Case", json={"Subject": "Broken widget"})
    assert case.status_code == 201, case.text
    stored = writer.get(f"/sobjects/Case/{case.json()['id']}").json()
    assert stored["Status"] == "New" and stored["Priority"] == "Medium" and stored["CaseNumber"]
    closing = writer.patch(f"/sobjects/Case/{case.json()['id']}", json={"Status": "Closed"})
    assert closing.status_code == 204, closing.text
    closed = writer.get(f"/sobjects/Case/{case.json()['id']}").json()
    assert closed["IsClosed"] is True and closed["ClosedDate"]
    opportunity = records(writer, "SELECT Id FROM Opportunity LIMIT 1")[0]["Id"]
    task = writer.post(
        "/sobjects/Task",
        json={"Subject": "Call", "WhatId": opportunity, "WhoId": created.json()["id"]},
    )
    assert task.status_code == 201, task.text
    task_id = task.json()["id"]
    (stored_task,) = records(writer, f"SELECT WhatId, Status FROM Task WHERE Id = '{task_id}'")
    assert stored_task["WhatId"] == opportunity and stored_task["Status"] == "Not Started"
    user = records(writer, "SELECT Id FROM User LIMIT 1")[0]["Id"]
    refused = writer.post("/sobjects/Task", json={"Subject": "Call", "WhatId": user})
    assert (
        refused.status_code == 400 and refused.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    )
    bad_status = writer.post("/sobjects/Project__c", json={"Name": "P", "Status__c": "In Progress"})
    assert bad_status.status_code == 400  # a restricted picklist stores values, not labels
    assert bad_status.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_multi_currency_is_a_switch() -> None:
    single = EmulatorState(EmulatorConfig(accounts=10))
    multi = EmulatorState(EmulatorConfig(accounts=10, multi_currency=True))
    assert single.schema.get("CurrencyType") is None
    assert multi.schema.get("CurrencyType") is not None
    opportunity = multi.schema.get("Opportunity")
    user = multi.schema.get("User")
    assert opportunity is not None and opportunity.field("CurrencyIsoCode") is not None
    assert user is not None and user.field("CurrencyIsoCode") is None
    codes = set(multi.store.tables["opportunity"].columns["CurrencyIsoCode"])
    assert codes == {"USD", "EUR", "GBP", "JPY"}


def test_the_command_line_switches_multi_currency_on() -> None:
    from ak_salesforce_nb.emulator.__main__ import build_parser, config_from_args

    assert config_from_args(build_parser().parse_args([])).multi_currency is False
    config = config_from_args(build_parser().parse_args(["--multi-currency"]))
    assert config.multi_currency is True
