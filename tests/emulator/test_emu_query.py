"""REST query/queryAll: SOQL semantics, record shapes, errors, cursors and pagination.

Expected answers are computed in Python from the whole table fetched once, so the SOQL
engine is checked against an independent evaluation rather than against itself.
"""

from __future__ import annotations

import datetime
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.emulator._soql_dates import FISCAL_LITERALS, date_range

from .helpers import get_token, http_client

ACCOUNT_FIELDS = (
    "Id, Name, Industry, Rating, AnnualRevenue, NumberOfEmployees, Website, CreatedDate, "
    "OwnerId, Owner.Name, ParentId, Type"
)


def fetch_all(api: httpx.Client, soql: str, resource: str = "query") -> dict[str, Any]:
    """Run a query and follow nextRecordsUrl; return the first page with all records."""
    answer = api.get(f"/{resource}", params={"q": soql})
    assert answer.status_code == 200, answer.text
    first: dict[str, Any] = answer.json()
    records = list(first["records"])
    page = first
    while not page["done"]:
        page = api.get(page["nextRecordsUrl"].split("/v66.0", 1)[1]).json()
        records += page["records"]
    first["records"] = records
    return first


def error_of(answer: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert isinstance(body, list) and len(body) == 1
    error: dict[str, Any] = body[0]
    return error


@pytest.fixture(scope="module")
def accounts(shared_emulator: RunningEmulator) -> list[dict[str, Any]]:
    token = get_token(shared_emulator)
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    with http_client(f"{shared_emulator.url}/services/data/v66.0", headers=headers) as api:
        records: list[dict[str, Any]] = fetch_all(api, f"SELECT {ACCOUNT_FIELDS} FROM Account")[
            "records"
        ]
    assert len(records) == 1000
    return records


def ids(records: list[dict[str, Any]]) -> list[str]:
    return [r["Id"] for r in records]


def q_ids(api: httpx.Client, soql: str) -> list[str]:
    return ids(fetch_all(api, soql)["records"])


def test_versions_and_resources(client: httpx.Client, api: httpx.Client) -> None:
    versions = client.get("/services/data/").json()
    assert versions[0] == {"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}
    assert versions[-1] == {"label": "Winter '27", "url": "/services/data/v68.0", "version": "68.0"}
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    assert [v["version"] for v in versions] == [f"{n}.0" for n in range(31, 69)]
    resources = api.get("/").json()
    assert resources["sobjects"] == "/services/data/v66.0/sobjects"
    assert resources["query"] == "/services/data/v66.0/query"


def test_authentication_and_unknown_paths(emu: RunningEmulator, api: httpx.Client) -> None:
    with http_client(emu.url) as anonymous:
        for path in (
            "/services/data/v66.0/query?q=SELECT+Id+FROM+Account",
            "/services/data/v66.0/x",
        ):
            answer = anonymous.get(path)
            assert error_of(answer, 401) == {
                "message": "Session expired or invalid",
                "errorCode": "INVALID_SESSION_ID",
            }
    token = api.headers["Authorization"]
    with http_client(emu.url, headers={"Authorization": token}) as other:
        for path in ("/services/data/v69.0/limits", "/services/data/v66.0/nothing/here"):
            assert error_of(other.get(path), 404) == {
                "message": "The requested resource does not exist",
                "errorCode": "NOT_FOUND",
            }
        # Retired versions (7.0-30.0) are gone, whatever the resource.
        for path in ("/services/data/v20.0/limits", "/services/data/v30.0/nothing/here"):
            assert error_of(other.get(path), 410)["errorCode"] == "GONE"


def _usage(answer: httpx.Response) -> int:
    match = re.fullmatch(r"api-usage=(\d+)/15000", answer.headers["sforce-limit-info"])
    assert match, answer.headers
    return int(match[1])


def test_usage_header_counts_calls(api: httpx.Client) -> None:
    first = api.get("/limits")
    second = api.get("/limits")
    used = [_usage(answer) for answer in (first, second)]
    assert used[1] == used[0] + 1
    limits = second.json()
    assert limits["DailyApiRequests"] == {"Max": 15000, "Remaining": 15000 - used[1]}
    for name in ("DailyBulkV2QueryJobs", "DataStorageMB", "FileStorageMB"):
        assert set(limits[name]) == {"Max", "Remaining"}


def test_record_shape_and_parent_relationships(api: httpx.Client, emu: RunningEmulator) -> None:
    answer = api.get(
        "/query",
        params={
            "q": "SELECT Id, Name, Owner.Name, Owner.Email, Parent.Name FROM Account "
            "ORDER BY Id LIMIT 60"
        },
    ).json()
    assert answer["totalSize"] == 60 and answer["done"] is True and "nextRecordsUrl" not in answer
    record = answer["records"][0]
    assert list(record) == ["attributes", "Id", "Name", "Owner", "Parent"]
    assert record["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v66.0/sobjects/Account/{record['Id']}",
    }
    assert re.fullmatch(r"001[0-9A-Za-z]{15}", record["Id"])
    owner = record["Owner"]
    assert list(owner) == ["attributes", "Name", "Email"]
    assert owner["attributes"]["type"] == "User"
    assert record["Parent"] is None
    with_parent = [r for r in answer["records"] if r["Parent"] is not None]
    assert with_parent and with_parent[0]["Parent"]["Name"]
    # The API version of the request shows in attributes.url.
    with http_client(emu.url, headers=api.headers) as other:
        old = other.get(
            "/services/data/v52.0/query", params={"q": "SELECT Id FROM Account LIMIT 1"}
        )
    assert old.json()["records"][0]["attributes"]["url"].startswith("/services/data/v52.0/")


def test_two_level_parent_and_child_subquery(api: httpx.Client) -> None:
    contacts = api.get(
        "/query",
        params={
            "q": "SELECT Name, Account.Name, Account.Owner.Name FROM Contact "
            "WHERE AccountId != null LIMIT 3"
        },
    ).json()["records"]
    assert contacts[0]["Account"]["Owner"]["attributes"]["type"] == "User"
    assert contacts[0]["Account"]["Owner"]["Name"]
    orphan = api.get(
        "/query", params={"q": "SELECT Account.Name FROM Contact WHERE AccountId = null LIMIT 1"}
    ).json()["records"][0]
    assert orphan["Account"] is None

    parents = api.get(
        "/query",
        params={
            "q": "SELECT Name, (SELECT LastName, Email FROM Contacts ORDER BY LastName), "
            "(SELECT Name FROM Opportunities WHERE StageName = 'Closed Won') "
            "FROM Account ORDER BY Name LIMIT 50"
        },
    ).json()["records"]
    children = [p["Contacts"] for p in parents if p["Contacts"] is not None]
    assert children
    nested = children[0]
    assert set(nested) == {"totalSize", "done", "records"} and nested["done"] is True
    assert nested["totalSize"] == len(nested["records"])
    assert nested["records"][0]["attributes"]["type"] == "Contact"
    names = [c["LastName"].casefold() for c in nested["records"]]
    assert names == sorted(names)
    assert any(p["Opportunities"] is None for p in parents)
    # The nested counts agree with a direct query.
    account = next(p for p in parents if p["Contacts"] is not None)
    direct = api.get(
        "/query",
        params={
            "q": "SELECT COUNT() FROM Contact "
            f"WHERE AccountId = '{account['attributes']['url'][-18:]}'"
        },
    ).json()
    assert direct["totalSize"] == account["Contacts"]["totalSize"]


def test_count_and_aggregates(api: httpx.Client, accounts: list[dict[str, Any]]) -> None:
    count = api.get(
        "/query", params={"q": "SELECT COUNT() FROM Account WHERE Rating = 'Hot'"}
    ).json()
    assert count == {
        "totalSize": sum(1 for a in accounts if a["Rating"] == "Hot"),
        "done": True,
        "records": [],
    }
    grouped = api.get(
        "/query",
        params={
            "q": "SELECT Industry, COUNT(Id), SUM(AnnualRevenue) total, MAX(NumberOfEmployees) "
            "FROM Account GROUP BY Industry"
        },
    ).json()
    rows = grouped["records"]
    assert grouped["totalSize"] == len(rows) == len({a["Industry"] for a in accounts})
    assert list(rows[0]) == ["attributes", "Industry", "expr0", "total", "expr1"]
    assert rows[0]["attributes"] == {"type": "AggregateResult"}
    banking = next(r for r in rows if r["Industry"] == "Banking")
    members = [a for a in accounts if a["Industry"] == "Banking"]
    assert banking["expr0"] == len(members)
    assert banking["total"] == pytest.approx(sum(a["AnnualRevenue"] or 0 for a in members))
    assert banking["expr1"] == max(a["NumberOfEmployees"] or 0 for a in members)

    having = api.get(
        "/query",
        params={
            "q": "SELECT Industry, COUNT(Id) n FROM Account GROUP BY Industry "
            "HAVING COUNT(Id) > 30 ORDER BY COUNT(Id) DESC"
        },
    ).json()["records"]
    counts = [r["n"] for r in having]
    assert counts == sorted(counts, reverse=True) and all(n > 30 for n in counts)

    owners = api.get(
        "/query", params={"q": "SELECT Owner.Name, COUNT(Id) FROM Account GROUP BY Owner.Name"}
    ).json()["records"]
    assert sum(r["expr0"] for r in owners) == 1000 and "Name" in owners[0]

    overall = api.get(
        "/query", params={"q": "SELECT COUNT(Id), AVG(AnnualRevenue), MIN(Name) FROM Account"}
    ).json()["records"]
    revenues = [a["AnnualRevenue"] for a in accounts if a["AnnualRevenue"] is not None]
    assert overall[0]["expr0"] == 1000
    assert overall[0]["expr1"] == pytest.approx(sum(revenues) / len(revenues))
    assert overall[0]["expr2"] == min((a["Name"] for a in accounts), key=str.casefold)

    ungrouped = api.get(
        "/query", params={"q": "SELECT Name, COUNT(Id) FROM Account GROUP BY Industry"}
    )
    error = error_of(ungrouped)
    assert (
        error["errorCode"] == "MALFORMED_QUERY"
        and "Field must be grouped or aggregated: Name" in error["message"]
    )


def _revenue(a: dict[str, Any]) -> float:
    """Annual revenue with null as NaN, which fails every comparison like SOQL's null."""
    value = a["AnnualRevenue"]
    return float("nan") if value is None else float(value)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Industry = 'banking'", lambda a: (a["Industry"] or "").lower() == "banking"),
        ("Industry != 'Banking'", lambda a: a["Industry"] != "Banking"),
        ("Industry = null", lambda a: a["Industry"] is None),
        (
            "Industry != null AND Rating = 'Hot'",
            lambda a: a["Industry"] is not None and a["Rating"] == "Hot",
        ),
        ("AnnualRevenue > 100000000", lambda a: _revenue(a) > 1e8),
        ("AnnualRevenue <= 5000000", lambda a: _revenue(a) <= 5e6),
        (
            "AnnualRevenue < 5000000.5 OR AnnualRevenue = null",
            lambda a: a["AnnualRevenue"] is None or _revenue(a) < 5000000.5,
        ),
        ("NumberOfEmployees >= 2500", lambda a: (a["NumberOfEmployees"] or 0) >= 2500),
        (
            "Industry IN ('Banking', 'Retail', 'Nope')",
            lambda a: a["Industry"] in ("Banking", "Retail"),
        ),
        (
            "Industry NOT IN ('Banking', 'Retail')",
            lambda a: a["Industry"] not in ("Banking", "Retail"),
        ),
        (
            "NOT (Industry = 'Banking' OR Rating = 'Cold')",
            lambda a: not (a["Industry"] == "Banking" or a["Rating"] == "Cold"),
        ),
        (
            "(Rating = 'Hot' OR Rating = 'Warm') AND (NOT Industry LIKE 'B%')",
            lambda a: (
                a["Rating"] in ("Hot", "Warm") and not (a["Industry"] or "").lower().startswith("b")
            ),
        ),
        ("Name LIKE 'acme%'", lambda a: a["Name"].lower().startswith("acme")),
        ("Name LIKE '%Labs%'", lambda a: "labs" in a["Name"].lower()),
        (
            "Website LIKE 'https://www._cme%'",
            lambda a: bool(re.match(r"https://www\..cme", a["Website"] or "")),
        ),
        (
            "CreatedDate > 2023-01-01T00:00:00Z",
            lambda a: a["CreatedDate"] > "2023-01-01T00:00:00.000+0000",
        ),
        (
            "CreatedDate < 2023-01-01T02:00:00+02:00",
            lambda a: a["CreatedDate"] < "2023-01-01T00:00:00.000+0000",
        ),
        ("ParentId != null", lambda a: a["ParentId"] is not None),
        ("Owner.Name = 'ada lovelace'", lambda a: a["Owner"]["Name"] == "Ada Lovelace"),
    ],
)
def test_where(
    api: httpx.Client, accounts: list[dict[str, Any]], where: str, expected: Any
) -> None:
    got = q_ids(api, f"SELECT Id FROM Account WHERE {where}")
    want = [a["Id"] for a in accounts if expected(a)]
    assert got == want
    assert 0 < len(want) < 1000


def test_where_on_ids_booleans_and_date_literals(
    api: httpx.Client, accounts: list[dict[str, Any]]
) -> None:
    first = accounts[0]
    assert q_ids(api, f"SELECT Id FROM Account WHERE Id = '{first['Id'][:15]}'") == [first["Id"]]
    assert q_ids(api, f"SELECT Id FROM Account WHERE OwnerId = '{first['OwnerId'].lower()}'") == [
        a["Id"] for a in accounts if a["OwnerId"] == first["OwnerId"]
    ]
    closed = fetch_all(api, "SELECT IsWon, StageName FROM Opportunity WHERE IsClosed = true")
    assert all(r["StageName"].startswith("Closed") for r in closed["records"])
    assert {r["IsWon"] for r in closed["records"]} == {True, False}

    today = datetime.datetime.now(datetime.timezone.utc).date()
    cutoff = (today - datetime.timedelta(days=1000)).isoformat() + "T00:00:00.000+0000"
    recent = q_ids(api, "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:1000")
    assert recent == [a["Id"] for a in accounts if a["CreatedDate"] >= cutoff]
    assert q_ids(api, "SELECT Id FROM Account WHERE CreatedDate = TOMORROW") == []
    assert q_ids(api, "SELECT Id FROM Account WHERE CreatedDate < TODAY") == ids(accounts)
    births = fetch_all(api, "SELECT Birthdate FROM Contact WHERE Birthdate < 1970-01-01")["records"]
    assert births and all(b["Birthdate"] < "1970-01-01" for b in births)
    future = fetch_all(api, "SELECT CloseDate FROM Opportunity WHERE CloseDate >= 2024-06-15")
    assert all(r["CloseDate"] >= "2024-06-15" for r in future["records"])


def test_date_literals_with_a_large_n_widen_the_range(
    api: httpx.Client, accounts: list[dict[str, Any]]
) -> None:
    """`sf data query ... LAST_N_DAYS:3000` answered 500 UNKNOWN_EXCEPTION: every range
    was computed for each literal, and LAST_N_YEARS:3000 is before year 1. A range past
    the calendar's ends now only widens; nothing fails."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    cutoff = (today - datetime.timedelta(days=3000)).isoformat() + "T00:00:00.000+0000"
    got = q_ids(api, "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:3000")
    assert got == [a["Id"] for a in accounts if a["CreatedDate"] >= cutoff] and got
    for literal in ("LAST_N_DAYS:100000000", "LAST_N_YEARS:5000", "LAST_N_MONTHS:99999"):
        assert q_ids(api, f"SELECT Id FROM Account WHERE CreatedDate = {literal}") == ids(accounts)
    for literal in ("N_YEARS_AGO:5000", "N_DAYS_AGO:100000000", "NEXT_N_WEEKS:100000000"):
        assert q_ids(api, f"SELECT Id FROM Account WHERE CreatedDate = {literal}") == []
    late = fetch_all(api, "SELECT COUNT() FROM Opportunity WHERE CloseDate < NEXT_N_YEARS:9000")
    every = fetch_all(api, "SELECT COUNT() FROM Opportunity")
    assert late["totalSize"] == every["totalSize"] > 0


def test_fiscal_date_literals_are_their_calendar_twins() -> None:
    """The org's fiscal year is the calendar year, so THIS_FISCAL_QUARTER is THIS_QUARTER
    and so on (jsforce's SfDate offers them). The parser accepts them once the neutral
    word list (ak_salesforce_nb/_soql_words.py) names them."""
    today = datetime.date(2024, 8, 20)
    assert date_range("THIS_FISCAL_QUARTER", None, today) == (
        datetime.date(2024, 7, 1),
        datetime.date(2024, 10, 1),
    )
    assert date_range("LAST_FISCAL_YEAR", None, today) == (
        datetime.date(2023, 1, 1),
        datetime.date(2024, 1, 1),
    )
    assert date_range("N_FISCAL_QUARTERS_AGO", 2, today) == (
        datetime.date(2024, 1, 1),
        datetime.date(2024, 4, 1),
    )
    for fiscal, calendar in FISCAL_LITERALS.items():
        for n in (None, 1, 3):
            assert date_range(fiscal, n, today) == date_range(calendar, n, today)


def test_fiscal_date_literals_in_a_query_select_as_their_calendar_twins(api: httpx.Client) -> None:
    found = 0
    for fiscal, calendar in (
        ("THIS_FISCAL_YEAR", "THIS_YEAR"),
        ("LAST_N_FISCAL_QUARTERS:12", "LAST_N_QUARTERS:12"),
        ("N_FISCAL_YEARS_AGO:1", "N_YEARS_AGO:1"),
        ("NEXT_N_FISCAL_YEARS:3", "NEXT_N_YEARS:3"),
    ):
        for soql in (
            "SELECT Id FROM Account WHERE CreatedDate = {}",
            "SELECT Id FROM Opportunity WHERE CloseDate = {}",
        ):
            wanted = q_ids(api, soql.format(calendar))
            assert q_ids(api, soql.format(fiscal)) == wanted
            found += len(wanted)
    assert found  # the literals select records, not just nothing alike


def test_includes_and_excludes_on_a_multi_select_picklist(
    writable_emulator: RunningEmulator,
) -> None:
    """INCLUDES/EXCLUDES were refused on every field ("invalid operator on multipicklist
    field"). Salesforce: each string is a set of values all selected (';' is AND), the
    list is OR, values compare case-insensitively; EXCLUDES keeps what INCLUDES leaves."""
    token = get_token(writable_emulator)
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    chosen = {"MSP-a": "AMER;EMEA", "MSP-b": "EMEA", "MSP-c": "APAC;LATAM", "MSP-d": None}
    with http_client(f"{writable_emulator.url}/services/data/v66.0", headers=headers) as api:
        for name, regions in chosen.items():
            made = api.post("/sobjects/Account", json={"Name": name, "Regions__c": regions})
            assert made.status_code == 201, made.text

        def names(condition: str) -> list[str]:
            soql = f"SELECT Name FROM Account WHERE Name LIKE 'MSP-%' AND {condition}"
            return sorted(r["Name"] for r in fetch_all(api, soql + " ORDER BY Name")["records"])

        assert names("Regions__c INCLUDES ('EMEA')") == ["MSP-a", "MSP-b"]
        assert names("Regions__c INCLUDES ('emea;amer')") == ["MSP-a"]
        assert names("Regions__c INCLUDES ('AMER;EMEA', 'latam')") == ["MSP-a", "MSP-c"]
        assert names("Regions__c INCLUDES ('AMER;APAC')") == []
        assert names("Regions__c EXCLUDES ('EMEA')") == ["MSP-c", "MSP-d"]
        assert names("Regions__c EXCLUDES ('AMER;EMEA', 'APAC')") == ["MSP-b", "MSP-d"]
        assert names("Regions__c = 'EMEA'") == ["MSP-b"]
        for wrong, message in (
            ("Industry INCLUDES ('Media')", "invalid operator on picklist field: INCLUDES"),
            ("Name EXCLUDES ('x')", "invalid operator on string field: EXCLUDES"),
        ):
            error = error_of(
                api.get("/query", params={"q": f"SELECT Id FROM Account WHERE {wrong}"})
            )
            assert error["errorCode"] == "INVALID_QUERY_FILTER_OPERATOR"
            assert error["message"].endswith(message)
        number = error_of(
            api.get("/query", params={"q": "SELECT Id FROM Account WHERE Regions__c INCLUDES (1)"})
        )
        assert number["errorCode"] == "INVALID_FIELD"
        assert "value of filter criterion for field 'Regions__c'" in number["message"]


def test_string_literals_escapes_and_unicode(api: httpx.Client) -> None:
    def names(where: str) -> list[str]:
        return [
            r["Name"] for r in fetch_all(api, f"SELECT Name FROM Account WHERE {where}")["records"]
        ]

    assert set(names(r"Name = 'O\'Reilly & Sons'")) == {"O'Reilly & Sons"}
    assert set(names("Name = 'Smith, Jones & \\\"Partners\\\"'")) == {'Smith, Jones & "Partners"'}
    assert set(names(r"Name LIKE '100\% Pure Juice\_Co'")) == {"100% Pure Juice_Co"}
    assert names(r"Name LIKE '100\% Pure JuiceXCo'") == []
    assert set(names(r"Name LIKE 'Back\\slash%'")) == {"Back\\slash Industries"}
    assert set(names("Name = 'müller maschinenbau gmbh'")) == {"Müller Maschinenbau GmbH"}
    assert set(names("Name LIKE '東京%'")) == {"東京テクノロジー株式会社"}
    assert set(names(r"Name = 'Caf\u00e9 Ñandú S.A.'")) == {"Café Ñandú S.A."}


def test_order_by_limit_offset(api: httpx.Client, accounts: list[dict[str, Any]]) -> None:
    by_name = q_ids(api, "SELECT Id FROM Account ORDER BY Name, Id")
    assert by_name == [
        a["Id"] for a in sorted(accounts, key=lambda a: (a["Name"].casefold(), a["Id"]))
    ]

    def key(a: dict[str, Any]) -> Any:
        return (a["Website"] is None, (a["Website"] or "").casefold())

    desc_nulls_last = fetch_all(
        api, "SELECT Website FROM Account ORDER BY Website DESC NULLS LAST, Id"
    )
    websites = [r["Website"] for r in desc_nulls_last["records"]]
    present = [w for w in websites if w is not None]
    assert websites[: len(present)] == present and present == sorted(
        present, key=str.casefold, reverse=True
    )
    default_nulls = fetch_all(api, "SELECT Rating FROM Account ORDER BY Rating DESC")["records"]
    assert default_nulls[0]["Rating"] is None  # nulls sort first by default, in both directions
    multi = fetch_all(
        api,
        "SELECT Industry, AnnualRevenue FROM Account "
        "ORDER BY Industry ASC NULLS LAST, AnnualRevenue DESC",
    )
    rows = [(r["Industry"], r["AnnualRevenue"]) for r in multi["records"]]
    assert rows[-1][0] is None
    banking = [rev for industry, rev in rows if industry == "Banking"]
    assert [r for r in banking if r is not None] == sorted(
        (r for r in banking if r is not None), reverse=True
    )
    del key

    window = q_ids(api, "SELECT Id FROM Account ORDER BY Name, Id LIMIT 7 OFFSET 20")
    assert window == by_name[20:27]
    error = error_of(api.get("/query", params={"q": "SELECT Id FROM Account LIMIT 10 OFFSET 2001"}))
    assert error["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"


def test_semi_join_and_fields_function(api: httpx.Client) -> None:
    won = fetch_all(api, "SELECT AccountId FROM Opportunity WHERE StageName = 'Closed Won'")
    expected = sorted({r["AccountId"] for r in won["records"] if r["AccountId"]})
    got = q_ids(
        api,
        "SELECT Id FROM Account WHERE Id IN "
        "(SELECT AccountId FROM Opportunity WHERE StageName = 'Closed Won')",
    )
    assert sorted(got) == expected
    standard = api.get(
        "/query", params={"q": "SELECT FIELDS(STANDARD) FROM Account LIMIT 1"}
    ).json()
    assert (
        "External_Id__c" not in standard["records"][0]
        and "BillingAddress" in standard["records"][0]
    )
    error = error_of(api.get("/query", params={"q": "SELECT FIELDS(ALL) FROM Account"}))
    assert error["errorCode"] == "MALFORMED_QUERY"


@pytest.mark.parametrize(
    ("soql", "code", "column", "detail"),
    [
        (
            "SELECT Id, Nmae FROM Account",
            "INVALID_FIELD",
            12,
            "No such column 'Nmae' on entity 'Account'",
        ),
        (
            "SELECT Id FROM Account WHERE Foo__c = 1",
            "INVALID_FIELD",
            30,
            "No such column 'Foo__c' on entity 'Account'",
        ),
        (
            "SELECT Owner.Nope FROM Account",
            "INVALID_FIELD",
            8,
            "No such column 'Nope' on entity 'User'",
        ),
        (
            "SELECT Boss.Name FROM Account",
            "INVALID_FIELD",
            8,
            "Didn't understand relationship 'Boss' in field path",
        ),
        ("SELECT Id FROM Acount", "INVALID_TYPE", 16, "sObject type 'Acount' is not supported"),
        (
            "SELECT Id, (SELECT Id FROM Kids) FROM Account",
            "INVALID_TYPE",
            28,
            "Didn't understand relationship 'Kids'",
        ),
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY", 29, "unexpected token: <EOF>"),
        ("SELECT Id Name FROM Account", "MALFORMED_QUERY", 11, "unexpected token: 'Name'"),
        ("SELECT Id, Id FROM Account", "MALFORMED_QUERY", 12, "duplicate field selected: Id"),
        (
            "SELECT Id FROM Account WHERE Name = 5",
            "INVALID_FIELD",
            37,
            "must be of type string and should be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Account WHERE AnnualRevenue = '5'",
            "INVALID_FIELD",
            46,
            "must be of type double and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Account WHERE CreatedDate > 2020-01-01",
            "INVALID_FIELD",
            44,
            "must be of type dateTime",
        ),
        (
            "SELECT Id FROM Account WHERE Id = 'abc'",
            "INVALID_QUERY_FILTER_OPERATOR",
            35,
            "invalid ID field: abc",
        ),
    ],
)
def test_query_errors(api: httpx.Client, soql: str, code: str, column: int, detail: str) -> None:
    error = error_of(api.get("/query", params={"q": soql}))
    assert error["errorCode"] == code
    message = error["message"]
    assert message.startswith(
        f"\n{soql}\n{' ' * (column - 1)}^\nERROR at Row:1:Column:{column}\n"
    ), message
    assert detail in message


def test_missing_query_string(api: httpx.Client) -> None:
    assert error_of(api.get("/query"))["errorCode"] == "MALFORMED_QUERY"


def test_pagination_default_batch(api: httpx.Client) -> None:
    first = api.get("/query", params={"q": "SELECT Id, Name FROM Contact"}).json()
    assert first["totalSize"] == 2500 and first["done"] is False and len(first["records"]) == 2000
    match = re.fullmatch(
        r"/services/data/v66\.0/query/(01g[0-9A-Za-z]{15})-2000", first["nextRecordsUrl"]
    )
    assert match, first["nextRecordsUrl"]
    second = api.get(first["nextRecordsUrl"].split("/v66.0", 1)[1]).json()
    assert second["totalSize"] == 2500 and second["done"] is True and "nextRecordsUrl" not in second
    assert len(second["records"]) == 500
    assert len(set(ids(first["records"]) + ids(second["records"]))) == 2500


def test_batch_size_header_and_parallel_offsets(api: httpx.Client) -> None:
    headers = {"Sforce-Query-Options": "batchSize=500"}
    first = api.get(
        "/query", params={"q": "SELECT Id FROM Contact ORDER BY Name, Id"}, headers=headers
    ).json()
    assert len(first["records"]) == 500 and first["nextRecordsUrl"].endswith("-500")
    locator = first["nextRecordsUrl"].rsplit("/", 1)[1].split("-")[0]
    paths = [f"/query/{locator}-{offset}" for offset in range(500, 2500, 500)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        pages = list(pool.map(lambda p: api.get(p).json(), reversed(paths)))
    pages.reverse()
    all_ids = ids(first["records"]) + [i for page in pages for i in ids(page["records"])]
    assert len(all_ids) == 2500 == len(set(all_ids))
    assert all_ids == q_ids(api, "SELECT Id FROM Contact ORDER BY Name, Id")
    assert [page["done"] for page in pages] == [False, False, False, True]
    # Any offset of a live locator is served; clamped hint for tiny batch sizes.
    odd = api.get(f"/query/{locator}-1234").json()
    assert ids(odd["records"]) == all_ids[1234:1734]
    small = api.get(
        "/query",
        params={"q": "SELECT Id FROM Contact"},
        headers={"Sforce-Query-Options": "batchSize=10"},
    ).json()
    assert len(small["records"]) == 200


def test_invalid_locators(api: httpx.Client, emu: RunningEmulator) -> None:
    expected = {"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}
    assert error_of(api.get("/query/01gHs0000000001AAA-2000")) == expected
    first = api.get("/query", params={"q": "SELECT Id FROM Contact"}).json()
    locator = first["nextRecordsUrl"].rsplit("/", 1)[1].split("-")[0]
    assert error_of(api.get(f"/query/{locator}-99999")) == expected
    # Another user cannot read this user's cursor.
    bob = get_token(emu, "bob@example.com")
    with http_client(
        str(api.base_url), headers={"Authorization": f"Bearer {bob['access_token']}"}
    ) as other:
        assert error_of(other.get(f"/query/{locator}-2000")) == expected
    # Salesforce keeps 10 open cursors per user and releases the oldest.
    for _ in range(emu.config.max_open_cursors):
        api.get("/query", params={"q": "SELECT Id FROM Contact"})
    assert error_of(api.get(f"/query/{locator}-2000")) == expected
