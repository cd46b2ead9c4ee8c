"""SOQL features analysts use, over REST: toLabel(), FORMAT(), convertCurrency(), date
functions, GROUP BY ROLLUP/CUBE with GROUPING(), TYPEOF, semi- and anti-joins, and the
errors Salesforce answers for what it refuses.

Expected figures are computed here from plain queries of the same org, not copied from
the emulator's answers, so a wrong aggregation or label fails the test.
"""

from __future__ import annotations

import collections
import datetime
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator

from .helpers import VERSION, get_token, http_client


def records(api: httpx.Client, soql: str) -> list[dict[str, Any]]:
    """Every record of a query, following nextRecordsUrl."""
    answer = api.get("/query", params={"q": soql})
    assert answer.status_code == 200, answer.text
    page = answer.json()
    found: list[dict[str, Any]] = list(page["records"])
    while not page["done"]:
        page = api.get(page["nextRecordsUrl"].split(f"/v{VERSION}", 1)[1]).json()
        found += page["records"]
    return found


def error_of(api: httpx.Client, soql: str) -> dict[str, Any]:
    answer = api.get("/query", params={"q": soql})
    assert answer.status_code == 400, answer.text
    (error,) = answer.json()
    assert set(error) == {"message", "errorCode"}
    return dict(error)


def test_tolabel_answers_labels_where_values_differ(api: httpx.Client) -> None:
    rows = records(api, "SELECT Id, Status__c, toLabel(Status__c) label FROM Project__c")
    labels = {"planned": "Planned", "in_progress": "In Progress", "on_hold": "On Hold"}
    labels["done"] = "Done"
    assert rows and all(r["label"] == labels[r["Status__c"]] for r in rows)
    unaliased = records(api, "SELECT toLabel(Status__c) FROM Project__c LIMIT 5")
    assert {r["Status__c"] for r in unaliased} <= set(labels.values())
    # Multi-select picklists: each value labelled, the order kept.
    phases = records(api, "SELECT toLabel(Phases__c) FROM Project__c WHERE Phases__c != null")
    assert any(r["Phases__c"] == "Discovery;Build;Roll-out" for r in phases)
    # In WHERE, toLabel() compares the label.
    by_label = records(api, "SELECT Id FROM Project__c WHERE toLabel(Status__c) = 'In Progress'")
    by_value = records(api, "SELECT Id FROM Project__c WHERE Status__c = 'in_progress'")
    assert by_label and {r["Id"] for r in by_label} == {r["Id"] for r in by_value}
    # A standard picklist whose labels differ (Event.ShowAs).
    shown = records(
        api, "SELECT ShowAs, toLabel(ShowAs) shown FROM Event WHERE ShowAs = 'OutOfOffice'"
    )
    assert shown and {r["shown"] for r in shown} == {"Out of Office"}


def test_tolabel_refuses_fields_that_are_not_picklists(api: httpx.Client) -> None:
    error = error_of(api, "SELECT toLabel(Name) FROM Account")
    assert error["errorCode"] == "INVALID_FIELD" and "toLabel" in error["message"]
    assert "ERROR at Row:1:Column:8" in error["message"]


def test_format_writes_en_us_text(api: httpx.Client) -> None:
    soql = (
        "SELECT Amount, FORMAT(Amount) amt, CloseDate, FORMAT(CloseDate) close, "
        "FORMAT(CreatedDate) created FROM Opportunity WHERE Amount > 1000 LIMIT 20"
    )
    for row in records(api, soql):
        assert row["amt"] == f"${row['Amount']:,.2f}"
        day = datetime.date.fromisoformat(row["CloseDate"])
        assert row["close"] == f"{day.month}/{day.day}/{day.year}"
        assert row["created"].endswith(("AM", "PM")) and ", " in row["created"]
    (total,) = records(api, "SELECT FORMAT(SUM(Amount)) total, SUM(Amount) raw FROM Opportunity")
    assert total["total"] == f"${total['raw']:,.2f}"


def test_convert_currency_is_refused_in_a_single_currency_org(api: httpx.Client) -> None:
    error = error_of(api, "SELECT convertCurrency(Amount) FROM Opportunity")
    assert error["errorCode"] == "INVALID_FIELD" and "multi-currency" in error["message"]
    missing = error_of(api, "SELECT Id FROM CurrencyType")
    assert missing["errorCode"] == "INVALID_TYPE"
    iso_amount = error_of(api, "SELECT Id FROM Opportunity WHERE Amount > USD5000")
    assert iso_amount["errorCode"] == "INVALID_FIELD"


@pytest.fixture(scope="module")
def multi_currency() -> Iterator[RunningEmulator]:
    with start_emulator(EmulatorConfig(accounts=80, seed=5, multi_currency=True)) as emu:
        yield emu


@pytest.fixture
def mc_api(multi_currency: RunningEmulator) -> Iterator[httpx.Client]:
    token = get_token(multi_currency)
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    with http_client(f"{multi_currency.url}/services/data/v{VERSION}", headers=headers) as http:
        yield http


def test_convert_currency_in_a_multi_currency_org(mc_api: httpx.Client) -> None:
    currencies = records(mc_api, "SELECT IsoCode, ConversionRate, IsCorporate FROM CurrencyType")
    rates = {r["IsoCode"]: r["ConversionRate"] for r in currencies}
    assert rates["USD"] == 1.0 and set(rates) == {"USD", "EUR", "GBP", "JPY"}
    soql = (
        "SELECT CurrencyIsoCode, Amount, convertCurrency(Amount) usd, FORMAT(Amount) shown "
        "FROM Opportunity WHERE Amount != null"
    )
    rows = records(mc_api, soql)
    assert {r["CurrencyIsoCode"] for r in rows} == set(rates)
    for row in rows:
        assert row["usd"] == pytest.approx(row["Amount"] / rates[row["CurrencyIsoCode"]], abs=0.01)
        assert row["shown"].startswith(row["CurrencyIsoCode"] + " ")
        if row["CurrencyIsoCode"] != "USD":
            assert row["shown"].endswith(f"(USD {row['usd']:,.2f})")
    described = mc_api.get("/sobjects/Opportunity/describe").json()
    iso = next(f for f in described["fields"] if f["name"] == "CurrencyIsoCode")
    assert iso["type"] == "picklist" and {p["value"] for p in iso["picklistValues"]} == set(rates)
    # Amounts with an ISO code compare in the corporate currency, whatever the record's.
    over = records(mc_api, "SELECT Id FROM Opportunity WHERE Amount > EUR100000.50")
    threshold = 100000.50 / rates["EUR"]
    assert {r["Id"] for r in over} == {
        r["Id"]
        for r in records(mc_api, "SELECT Id, Amount, CurrencyIsoCode FROM Opportunity")
        if r["Amount"] is not None and r["Amount"] / rates[r["CurrencyIsoCode"]] > threshold
    }
    assert 0 < len(over) < len(rows)
    # convertCurrency() is not allowed in WHERE.
    error = error_of(mc_api, "SELECT Id FROM Opportunity WHERE convertCurrency(Amount) > 10")
    assert error["errorCode"] == "MALFORMED_QUERY"


def test_date_functions_group_and_filter(api: httpx.Client) -> None:
    opportunities = records(api, "SELECT CloseDate, Amount FROM Opportunity")
    expected = collections.Counter(int(r["CloseDate"][:4]) for r in opportunities)
    soql = (
        "SELECT CALENDAR_YEAR(CloseDate) year, COUNT(Id) n, SUM(Amount) FROM Opportunity "
        "GROUP BY CALENDAR_YEAR(CloseDate) ORDER BY CALENDAR_YEAR(CloseDate)"
    )
    rows = records(api, soql)
    assert [(r["year"], r["n"]) for r in rows] == sorted(expected.items())
    assert all("expr0" in r for r in rows)  # the unaliased SUM
    year = rows[-1]["year"]
    quarters = records(
        api,
        "SELECT CALENDAR_QUARTER(CloseDate), COUNT(Id) FROM Opportunity "
        f"WHERE CALENDAR_YEAR(CloseDate) = {year} GROUP BY CALENDAR_QUARTER(CloseDate)",
    )
    by_quarter = collections.Counter(
        (int(r["CloseDate"][5:7]) - 1) // 3 + 1
        for r in opportunities
        if r["CloseDate"].startswith(str(year))
    )
    assert {r["expr0"]: r["expr1"] for r in quarters} == dict(by_quarter)
    months = records(
        api,
        "SELECT CALENDAR_MONTH(CloseDate) m, FISCAL_YEAR(CloseDate) fy, COUNT(Id) n "
        "FROM Opportunity GROUP BY CALENDAR_MONTH(CloseDate), FISCAL_YEAR(CloseDate)",
    )
    assert sum(r["n"] for r in months) == len(opportunities)
    days = records(
        api,
        "SELECT DAY_ONLY(CreatedDate) day, COUNT(Id) n FROM Account "
        "GROUP BY DAY_ONLY(CreatedDate) ORDER BY DAY_ONLY(CreatedDate) DESC LIMIT 3",
    )
    assert [r["day"] for r in days] == sorted((r["day"] for r in days), reverse=True)
    hours = records(
        api,
        "SELECT HOUR_IN_DAY(StartDateTime) h, COUNT(Id) n FROM Event "
        "WHERE HOUR_IN_DAY(StartDateTime) >= 12 GROUP BY HOUR_IN_DAY(StartDateTime)",
    )
    events = records(api, "SELECT StartDateTime FROM Event")
    assert sum(r["n"] for r in hours) == sum(int(e["StartDateTime"][11:13]) >= 12 for e in events)
    weeks = records(
        api,
        "SELECT WEEK_IN_YEAR(CloseDate) w, COUNT(Id) FROM Opportunity "
        "GROUP BY WEEK_IN_YEAR(CloseDate)",
    )
    assert all(1 <= r["w"] <= 53 for r in weeks)


def test_date_functions_need_a_group_by_and_a_date_field(api: httpx.Client) -> None:
    ungrouped = error_of(api, "SELECT CALENDAR_YEAR(CloseDate) FROM Opportunity")
    assert ungrouped["errorCode"] == "MALFORMED_QUERY"
    wrong_type = error_of(
        api, "SELECT CALENDAR_YEAR(Name), COUNT(Id) FROM Account GROUP BY CALENDAR_YEAR(Name)"
    )
    assert wrong_type["errorCode"] == "MALFORMED_QUERY" and "Name" in wrong_type["message"]


def test_group_by_rollup_adds_subtotals_and_a_grand_total(api: httpx.Client) -> None:
    cases = records(api, "SELECT Status, Priority FROM Case")
    soql = (
        "SELECT Status, Priority, COUNT(Id) n, GROUPING(Status) gs, GROUPING(Priority) gp "
        "FROM Case GROUP BY ROLLUP(Status, Priority)"
    )
    rows = records(api, soql)
    details = [r for r in rows if r["gs"] == 0 and r["gp"] == 0]
    subtotals = [r for r in rows if r["gs"] == 0 and r["gp"] == 1]
    totals = [r for r in rows if r["gs"] == 1]
    assert {(r["Status"], r["Priority"]): r["n"] for r in details} == dict(
        collections.Counter((c["Status"], c["Priority"]) for c in cases)
    )
    assert {r["Status"]: r["n"] for r in subtotals} == dict(
        collections.Counter(c["Status"] for c in cases)
    )
    assert len(totals) == 1 and totals[0]["n"] == len(cases) and rows[-1] is not None
    assert rows[-1]["gs"] == 1 and rows[-1]["Status"] is None and rows[-1]["Priority"] is None
    # Each status's subtotal follows its detail rows.
    for position, row in enumerate(rows[:-1]):
        if row["gp"] == 1:
            assert rows[position - 1]["Status"] == row["Status"]


def test_group_by_cube_has_every_combination(api: httpx.Client) -> None:
    cases = records(api, "SELECT Status, Priority FROM Case")
    rows = records(
        api,
        "SELECT Status, Priority, COUNT(Id) n, GROUPING(Status) gs, GROUPING(Priority) gp "
        "FROM Case GROUP BY CUBE(Status, Priority)",
    )
    by_priority = {r["Priority"]: r["n"] for r in rows if r["gs"] == 1 and r["gp"] == 0}
    assert by_priority == dict(collections.Counter(c["Priority"] for c in cases))
    assert [r["n"] for r in rows if r["gs"] == 1 and r["gp"] == 1] == [len(cases)]
    error = error_of(api, "SELECT Status, GROUPING(Status) FROM Case GROUP BY Status")
    assert error["errorCode"] == "MALFORMED_QUERY" and "ROLLUP" in error["message"]


def test_typeof_answers_each_type_with_its_fields(api: httpx.Client) -> None:
    soql = (
        "SELECT Id, WhatId, TYPEOF What WHEN Account THEN Name, Phone "
        "WHEN Opportunity THEN Name, StageName ELSE Name END FROM Task WHERE WhatId != null"
    )
    rows = records(api, soql)
    kinds = collections.Counter(r["What"]["attributes"]["type"] for r in rows if r["What"])
    assert {"Account", "Opportunity", "Case", "Campaign", "Project__c"} <= set(kinds)
    for row in rows:
        what = row["What"]
        assert what["attributes"]["url"].endswith("/" + row["WhatId"])
        fields = set(what) - {"attributes"}
        expected = {
            "Account": {"Name", "Phone"},
            "Opportunity": {"Name", "StageName"},
        }.get(what["attributes"]["type"], {"Name"})
        assert fields == expected
    case_row = next(r for r in rows if r["What"]["attributes"]["type"] == "Case")
    (case,) = records(api, f"SELECT CaseNumber FROM Case WHERE Id = '{case_row['WhatId']}'")
    assert case_row["What"]["Name"] == case["CaseNumber"]  # the Name entity's Name
    who = records(
        api,
        "SELECT TYPEOF Who WHEN Lead THEN Company WHEN Contact THEN Email END FROM Event "
        "WHERE WhoId != null LIMIT 50",
    )
    assert who
    for row in who:
        kind = row["Who"]["attributes"]["type"]
        assert set(row["Who"]) - {"attributes"} == {"Lead": {"Company"}, "Contact": {"Email"}}[kind]


def test_typeof_errors(api: httpx.Client) -> None:
    wrong_type = error_of(api, "SELECT TYPEOF What WHEN Contact THEN Name END FROM Task")
    assert wrong_type["errorCode"] == "INVALID_TYPE"
    unknown = error_of(api, "SELECT TYPEOF What WHEN Account THEN Nope END FROM Task")
    assert unknown["errorCode"] == "INVALID_FIELD"
    unfinished = error_of(api, "SELECT TYPEOF What WHEN Account THEN Name FROM Task")
    assert unfinished["errorCode"] == "MALFORMED_QUERY"


def test_semi_and_anti_joins(api: httpx.Client) -> None:
    contacts = records(api, "SELECT AccountId FROM Contact WHERE Title = 'CEO'")
    with_ceo = {c["AccountId"] for c in contacts if c["AccountId"]}
    semi = records(
        api,
        "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE Title = 'CEO')",
    )
    assert {r["Id"] for r in semi} == with_ceo
    accounts = {r["Id"] for r in records(api, "SELECT Id FROM Account")}
    with_projects = {
        r["Account__c"]
        for r in records(api, "SELECT Account__c FROM Project__c")
        if r["Account__c"]
    }
    anti = records(
        api, "SELECT Id FROM Account WHERE Id NOT IN (SELECT Account__c FROM Project__c)"
    )
    assert {r["Id"] for r in anti} == accounts - with_projects
    # A reference field on the left, and a semi-join inside a child subquery's parent query.
    cases = records(
        api,
        "SELECT Id FROM Case WHERE AccountId IN (SELECT Account__c FROM Project__c "
        "WHERE Status__c = 'done')",
    )
    assert isinstance(cases, list)
    refused = error_of(
        api, "SELECT Id FROM Account WHERE Name = 'x' OR Id IN (SELECT AccountId FROM Contact)"
    )
    assert refused["errorCode"] == "MALFORMED_QUERY" and "OR" in refused["message"]
    two_fields = error_of(
        api, "SELECT Id FROM Account WHERE Id IN (SELECT AccountId, Id FROM Contact)"
    )
    assert two_fields["errorCode"] == "MALFORMED_QUERY"


def test_unsupported_functions_answer_salesforce_errors(api: httpx.Client) -> None:
    for soql in (
        "SELECT DISTANCE(BillingAddress, GEOLOCATION(1, 2), 'mi') FROM Account",
        "SELECT NOPE(Name) FROM Account",
        "SELECT Name FROM Account GROUP BY ROLLUP(Name, Industry, Type, Rating)",
        "SELECT Id FROM Account GROUP BY Amount__x",
    ):
        error = error_of(api, soql)
        assert error["errorCode"] in ("MALFORMED_QUERY", "INVALID_FIELD"), error
        assert "ERROR at Row:1" in error["message"]


def test_polymorphic_relationship_fields_read_the_name_entity(api: httpx.Client) -> None:
    tasks = records(
        api,
        "SELECT WhatId, What.Name, What.Type, Who.Name FROM Task "
        "WHERE What.Type IN ('Opportunity', 'Case') ORDER BY What.Name",
    )
    assert tasks
    names = {r["Id"]: r["Name"] for r in records(api, "SELECT Id, Name FROM Opportunity")} | {
        r["Id"]: r["CaseNumber"] for r in records(api, "SELECT Id, CaseNumber FROM Case")
    }
    for task in tasks:
        what = task["What"]
        assert what["attributes"]["type"] == "Name"  # as Salesforce answers What/Who
        assert what["attributes"]["url"].endswith(f"/sobjects/{what['Type']}/{task['WhatId']}")
        assert what["Name"] == names[task["WhatId"]]
    shown = [t["What"]["Name"].casefold() for t in tasks]
    assert shown == sorted(shown)
    by_type = records(api, "SELECT What.Type, COUNT(Id) n FROM Task GROUP BY What.Type")
    total = records(api, "SELECT COUNT(Id) n FROM Task")[0]["n"]
    assert sum(r["n"] for r in by_type) == total and {r["Type"] for r in by_type} >= {"Account"}
    unknown = error_of(api, "SELECT What.Nope FROM Task")
    assert unknown["errorCode"] == "INVALID_FIELD" and "entity 'Name'" in unknown["message"]
