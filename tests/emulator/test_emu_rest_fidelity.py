"""REST API paths, pages and metadata as real clients use them (issue 16).

Each test names the Salesforce behaviour it pins: repeated slashes, short pages, the
``queryAll`` locator form, retired and unknown versions, ``Allow`` and HEAD.
"""

from __future__ import annotations

import datetime
import email.utils
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator
from ak_salesforce_nb.emulator._short_pages import LONG_TEXT_PAGE, PAGE_BUDGET, row_width

from .helpers import VERSION, get_token, http_client

BASE = f"/services/data/v{VERSION}"


@pytest.fixture
def raw(emu: RunningEmulator, token: dict[str, Any]) -> Iterator[httpx.Client]:
    """An authenticated client rooted at the instance URL (paths written out in full)."""
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    with http_client(emu.url, headers=headers) as http:
        yield http


@pytest.fixture(scope="module")
def small() -> Iterator[RunningEmulator]:
    """A writable org of its own whose seeded records are years old (replication tests
    see only this module's writes)."""
    config = EmulatorConfig(accounts=20, seed=4, anchor_date=datetime.date(2024, 1, 10))
    with start_emulator(config) as emu:
        yield emu


@pytest.fixture
def small_api(small: RunningEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {get_token(small)['access_token']}"}
    with http_client(small.url, headers=headers) as http:
        yield http


def _error(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert isinstance(body, list) and len(body) == 1, body
    error: dict[str, Any] = body[0]
    return error


def _follow(client: httpx.Client, first: dict[str, Any]) -> list[dict[str, Any]]:
    pages = [first]
    while not pages[-1]["done"]:
        pages.append(client.get(pages[-1]["nextRecordsUrl"]).json())
    return pages


# -- repeated slashes ---------------------------------------------------------------------


def test_repeated_slashes_are_served_as_single_ones(
    raw: httpx.Client, emu: RunningEmulator
) -> None:
    """What a client builds from an instance URL ending in ``/``."""
    soql = "SELECT Id, Name FROM Account ORDER BY Id LIMIT 5"
    plain = raw.get(f"{BASE}/query", params={"q": soql})
    doubled = raw.get(f"{emu.url}/{BASE}/query", params={"q": soql})  # //services/...
    inner = raw.get(f"{emu.url}/services//data/v{VERSION}//query/", params={"q": soql})
    assert doubled.request.url.raw_path.startswith(b"//services/data")
    assert plain.status_code == doubled.status_code == inner.status_code == 200
    assert plain.json() == doubled.json() == inner.json()
    # Errors keep their JSON shape, and the version list answers without a token.
    assert _error(raw.get(f"{emu.url}/{BASE}/nothing"), 404)["errorCode"] == "NOT_FOUND"
    with http_client(emu.url) as anonymous:
        assert anonymous.get(f"{emu.url}//services/data/").json()[0]["version"] == "31.0"


def test_repeated_slashes_carry_bodies_to_the_handler(
    small: RunningEmulator, small_api: httpx.Client
) -> None:
    """Writes too: the body reaches the handler of the single-slash path, parsed once."""
    created = small_api.post(f"{small.url}/{BASE}/sobjects/Account/", json={"Name": "Slashes"})
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]
    assert small_api.get(f"{BASE}/sobjects/Account/{record_id}").json()["Name"] == "Slashes"
    patched = small_api.patch(
        f"{small.url}//{BASE}//sobjects/Account/{record_id}", json={"Name": "Slashes 2"}
    )
    assert patched.status_code == 204
    assert small_api.get(f"{BASE}/sobjects/Account/{record_id}").json()["Name"] == "Slashes 2"
    assert small_api.delete(f"{small.url}//{BASE}/sobjects/Account/{record_id}").status_code == 204


# -- short pages and the locator form -----------------------------------------------------


def test_relationship_pages_count_children_toward_the_batch(raw: httpx.Client) -> None:
    soql = "SELECT Id, (SELECT Id FROM Contacts) FROM Account ORDER BY Id"
    first = raw.get(f"{BASE}/query", params={"q": soql}).json()
    pages = _follow(raw, first)
    assert len(pages) > 1
    for page in pages[:-1]:
        records = page["records"]
        inline = sum(len((r["Contacts"] or {"records": []})["records"]) for r in records)
        # Parents stop once parents plus inline children reach the 2,000 batch.
        assert len(records) < 2000 <= len(records) + inline
        without_last = records[:-1]
        inline_before = sum(
            len((r["Contacts"] or {"records": []})["records"]) for r in without_last
        )
        assert len(without_last) + inline_before < 2000
    ids = [r["Id"] for p in pages for r in p["records"]]
    assert len(ids) == len(set(ids)) == first["totalSize"]


def test_wide_rows_give_short_pages_of_a_predictable_size(raw: httpx.Client) -> None:
    account = {f["name"]: f for f in raw.get(f"{BASE}/sobjects/Account/describe").json()["fields"]}
    user = {f["name"]: f for f in raw.get(f"{BASE}/sobjects/User/describe").json()["fields"]}
    assert account["Description"]["type"] == "textarea" and account["Description"]["length"] > 4000
    soql = "SELECT Id, Name, Description, Owner.Name, Owner.Email FROM Account ORDER BY Id"
    first = raw.get(f"{BASE}/query", params={"q": soql}).json()
    # attributes 80 + Id 18 + the declared text lengths, long text counted as 4,000.
    width = 80 + 18 + account["Name"]["length"] + 4000
    width += user["Name"]["length"] + user["Email"]["length"]
    size = PAGE_BUDGET // width
    assert LONG_TEXT_PAGE < size < 2000
    assert len(first["records"]) == size and first["nextRecordsUrl"].endswith(f"-{size}")
    pages = _follow(raw, first)
    assert {len(p["records"]) for p in pages[:-1]} == {size}  # the same width on every page
    assert sum(len(p["records"]) for p in pages) == first["totalSize"]
    narrow = raw.get(f"{BASE}/query", params={"q": "SELECT Id, Name FROM Account"}).json()
    assert len(narrow["records"]) == min(2000, narrow["totalSize"])
    assert row_width([]) == 80


def test_forced_short_pages_cut_every_page_after_the_first(
    raw: httpx.Client, emu: RunningEmulator
) -> None:
    emu.config.short_pages = True
    headers = {"Sforce-Query-Options": "batchSize=200"}
    first = raw.get(f"{BASE}/query", params={"q": "SELECT Id FROM Contact"}, headers=headers)
    pages = _follow(raw, first.json())
    sizes = [len(p["records"]) for p in pages]
    assert sizes[0] == 200 and all(100 < s <= 200 for s in sizes[:-1]) and min(sizes) < 200
    assert len(set(sizes[:-1])) > 2  # varying cuts
    ids = [r["Id"] for p in pages for r in p["records"]]
    assert len(ids) == len(set(ids)) == pages[0]["totalSize"]
    # Any page of the locator stays addressable by offset, with the same cut.
    locator = pages[0]["nextRecordsUrl"].rsplit("-", 1)[0]
    again = raw.get(f"{locator}-200", headers=headers).json()
    assert again["records"] == pages[1]["records"]


def test_query_all_next_records_url_names_query_and_both_forms_answer(
    raw: httpx.Client,
) -> None:
    first = raw.get(f"{BASE}/queryAll", params={"q": "SELECT Id FROM Contact"}).json()
    url = first["nextRecordsUrl"]
    assert url.startswith(f"{BASE}/query/01g") and url.endswith("-2000")
    as_query = raw.get(url).json()
    as_query_all = raw.get(url.replace("/query/", "/queryAll/")).json()
    assert as_query == as_query_all and as_query["records"]


# -- versions -----------------------------------------------------------------------------


def test_retired_versions_are_gone_and_unknown_ones_not_found(raw: httpx.Client) -> None:
    for version in ("7.0", "20.0", "21.0", "30.0"):
        for resource in ("limits", "query?q=SELECT+Id+FROM+Account", "sobjects/Account", "x"):
            error = _error(raw.get(f"/services/data/v{version}/{resource}"), 410)
            assert error["errorCode"] == "GONE" and version in error["message"]
    for version in ("6.0", "69.0", "99.0"):
        error = _error(raw.get(f"/services/data/v{version}/limits"), 404)
        assert error == {
            "message": "The requested resource does not exist",
            "errorCode": "NOT_FOUND",
        }
    versions = [v["version"] for v in raw.get("/services/data").json()]
    assert versions[0] == "31.0" and "30.0" not in versions and versions[-1] == "68.0"
    for version in versions:
        assert raw.get(f"/services/data/v{version}/limits").status_code == 200


def test_the_orgs_release_can_be_set(raw: httpx.Client, emu: RunningEmulator) -> None:
    """Winter '27 is 68.0: an org on that release lists it and serves it."""
    emu.config.latest_api_version = "68.0"
    versions = raw.get("/services/data").json()
    assert versions[-1] == {"label": "Winter '27", "url": "/services/data/v68.0", "version": "68.0"}
    assert versions[-3]["label"] == "Spring '26" and len(versions) == 68 - 31 + 1
    assert raw.get("/services/data/v68.0/limits").status_code == 200
    assert _error(raw.get("/services/data/v69.0/limits"), 404)["errorCode"] == "NOT_FOUND"
    for bad in ("68.5", "30.0", "v68", "latest"):
        with pytest.raises(ValueError, match="latest_api_version"):
            EmulatorConfig(latest_api_version=bad).validate()


# -- Allow and HEAD -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "allowed"),
    [
        ("/limits", "POST", "HEAD,GET"),
        ("/query?q=SELECT+Id+FROM+Account", "DELETE", "HEAD,GET"),
        ("/sobjects", "PUT", "HEAD,GET"),
        ("/sobjects/Account", "PATCH", "HEAD,GET,POST"),
        ("/sobjects/Account/describe", "POST", "HEAD,GET"),
        ("/sobjects/Account/001000000000000AAA", "POST", "HEAD,GET,PATCH,DELETE"),
        ("/composite/sobjects", "PUT", None),
    ],
)
def test_method_not_allowed_lists_the_allowed_ones(
    raw: httpx.Client, path: str, method: str, allowed: str | None
) -> None:
    answer = raw.request(method, BASE + path)
    error = _error(answer, 405)
    assert error["errorCode"] == "METHOD_NOT_ALLOWED"
    listed = answer.headers["allow"]
    assert error["message"] == f"HTTP Method '{method}' not allowed. Allowed are {listed}"
    assert method not in listed.split(",")
    if allowed is not None:
        assert listed == allowed


def test_head_answers_the_headers_of_get_without_a_body(
    raw: httpx.Client, emu: RunningEmulator
) -> None:
    for path in ("/limits", "/sobjects/Account/describe", "/query?q=SELECT+Id+FROM+User"):
        got = raw.get(BASE + path)
        head = raw.head(BASE + path)
        assert head.status_code == got.status_code == 200
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["sforce-limit-info"].startswith("api-usage=")
        if "limits" not in path:  # the usage count in /limits moves between the calls
            assert head.headers["content-length"] == got.headers["content-length"]
    assert raw.head("/services/data").status_code == 200
    assert raw.head(f"{BASE}/nothing").status_code == 404
    missing = raw.head(f"{BASE}/sobjects/Account/001000000000000AAA")
    assert missing.status_code == 404 and missing.content == b""
    with http_client(emu.url) as anonymous:
        assert anonymous.head(f"{BASE}/limits").status_code == 401


# -- column metadata (columns=true) -------------------------------------------------------

#: The keys of every column, as salesforcecli/plugin-data's recorded answers show them.
COLUMN_KEYS = {
    "aggregate",
    "apexType",
    "booleanType",
    "columnName",
    "custom",
    "displayName",
    "foreignKeyName",
    "insertable",
    "joinColumns",
    "numberType",
    "textType",
    "updatable",
}


def _columns(raw: httpx.Client, soql: str) -> dict[str, Any]:
    answer = raw.get(f"{BASE}/query", params={"q": soql, "columns": "true"})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert set(body) == {"columnMetadata", "entityName", "groupBy", "idSelected", "keyPrefix"}
    assert "records" not in body

    def check(columns: list[dict[str, Any]]) -> None:
        for column in columns:
            assert set(column) == COLUMN_KEYS
            check(column["joinColumns"])

    check(body["columnMetadata"])
    return body


def test_column_metadata_of_fields_parents_and_children(raw: httpx.Client) -> None:
    body = _columns(
        raw,
        "SELECT Id, Name, AnnualRevenue, Owner.Name, Owner.Email, "
        "(SELECT LastName FROM Contacts) FROM Account",
    )
    assert (body["entityName"], body["keyPrefix"], body["idSelected"]) == ("Account", "001", True)
    assert body["groupBy"] is False
    by_name = {c["columnName"]: c for c in body["columnMetadata"]}
    assert list(by_name) == ["Id", "Name", "AnnualRevenue", "Owner", "Contacts"]
    assert by_name["Id"]["apexType"] == "Id" and by_name["Id"]["insertable"] is False
    assert by_name["Name"]["textType"] is True and by_name["Name"]["updatable"] is True
    assert by_name["AnnualRevenue"]["numberType"] is True
    owner = by_name["Owner"]
    assert owner["foreignKeyName"] == "OwnerId" and owner["apexType"] is None
    assert [c["columnName"] for c in owner["joinColumns"]] == ["Name", "Email"]
    contacts = by_name["Contacts"]
    assert contacts["aggregate"] is True and contacts["foreignKeyName"] is None
    assert [c["columnName"] for c in contacts["joinColumns"]] == ["LastName"]
    # Two hops: one column per relationship, nested.
    deep = _columns(raw, "SELECT Account.Owner.Name, Account.Name FROM Contact")
    (account,) = deep["columnMetadata"]
    assert account["foreignKeyName"] == "AccountId" and deep["idSelected"] is False
    assert [c["columnName"] for c in account["joinColumns"]] == ["Owner", "Name"]
    assert account["joinColumns"][0]["joinColumns"][0]["columnName"] == "Name"


def test_column_metadata_of_aggregates_and_counts(raw: httpx.Client) -> None:
    body = _columns(
        raw,
        "SELECT AccountId, AVG(Amount), COUNT(Id) n, MAX(CloseDate) FROM Opportunity "
        "GROUP BY AccountId",
    )
    assert body["groupBy"] is True and body["entityName"] == "Opportunity"
    columns = body["columnMetadata"]
    assert [(c["columnName"], c["displayName"], c["aggregate"]) for c in columns] == [
        ("AccountId", "AccountId", False),
        ("expr0", "avg(Amount)", True),
        ("n", "count(Id)", True),
        ("expr1", "max(CloseDate)", True),
    ]
    assert [c["apexType"] for c in columns] == ["Id", "Double", "Integer", "Date"]
    assert _columns(raw, "SELECT COUNT() FROM Account")["columnMetadata"] == []


def test_column_metadata_refuses_what_the_query_refuses(raw: httpx.Client) -> None:
    soql = "SELECT Nope FROM Account"
    plain = _error(raw.get(f"{BASE}/query", params={"q": soql}), 400)
    columns = _error(raw.get(f"{BASE}/query", params={"q": soql, "columns": "true"}), 400)
    assert plain == columns and plain["errorCode"] == "INVALID_FIELD"


# -- query plans (explain=) ---------------------------------------------------------------


def _plans(raw: httpx.Client, soql: str) -> list[dict[str, Any]]:
    answer = raw.get(f"{BASE}/query", params={"explain": soql})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"plans", "sourceQuery"} and body["sourceQuery"] == soql
    plans: list[dict[str, Any]] = body["plans"]
    keys = {
        "cardinality",
        "fields",
        "leadingOperationType",
        "notes",
        "relativeCost",
        "sobjectCardinality",
        "sobjectType",
    }
    for plan in plans:
        assert set(plan) == keys
        assert plan["leadingOperationType"] in ("Index", "TableScan", "Sharing", "Other")
    costs = [p["relativeCost"] for p in plans]
    assert costs == sorted(costs)  # cheapest first
    return plans


def test_explain_uses_indexes_on_id_name_and_lookups(raw: httpx.Client) -> None:
    count = raw.get(f"{BASE}/query", params={"q": "SELECT COUNT() FROM Contact"}).json()
    total = count["totalSize"]
    first = raw.get(f"{BASE}/query", params={"q": "SELECT Id, AccountId FROM Contact LIMIT 1"})
    record = first.json()["records"][0]
    by_id = _plans(raw, f"SELECT Name FROM Contact WHERE Id = '{record['Id']}'")
    assert by_id[0]["leadingOperationType"] == "Index" and by_id[0]["fields"] == ["Id"]
    assert by_id[0]["cardinality"] == 1 and by_id[0]["relativeCost"] < 0.01
    assert by_id[0]["notes"] == [] and by_id[0]["sobjectCardinality"] == total
    scan = by_id[-1]
    assert scan["leadingOperationType"] == "TableScan" and scan["cardinality"] == 1
    lookup = _plans(raw, f"SELECT Id FROM Contact WHERE AccountId = '{record['AccountId']}'")
    children = raw.get(
        f"{BASE}/query",
        params={"q": f"SELECT COUNT() FROM Contact WHERE AccountId = '{record['AccountId']}'"},
    ).json()["totalSize"]
    assert lookup[0]["fields"] == ["AccountId"] and lookup[0]["cardinality"] == children
    both = _plans(raw, "SELECT Id FROM Account WHERE Name = 'x' OR Id = '001000000000001AAA'")
    assert both[0]["leadingOperationType"] == "Index" and both[0]["fields"] == ["Name", "Id"]


def test_explain_scans_the_table_for_unindexed_and_unselective_filters(
    raw: httpx.Client,
) -> None:
    unindexed = _plans(raw, "SELECT Name FROM Account WHERE Description LIKE '%x%'")
    assert [p["leadingOperationType"] for p in unindexed] == ["TableScan"]
    assert {
        "description": "Not considering filter for optimization because unindexed",
        "fields": ["Description"],
        "tableEnumOrId": "Account",
    } in unindexed[0]["notes"]
    wildcard = _plans(raw, "SELECT Name FROM Account WHERE Name LIKE '%corp'")
    assert [p["leadingOperationType"] for p in wildcard] == ["TableScan"]
    assert "wildcard" in wildcard[0]["notes"][0]["description"]
    negative = _plans(raw, "SELECT Name FROM Account WHERE Name != 'x'")
    assert [p["leadingOperationType"] for p in negative] == ["TableScan"]
    # Every Account matches: the index is not selective (cost above 1), the scan wins.
    everything = _plans(raw, "SELECT Id FROM Account WHERE CreatedDate > 2000-01-01T00:00:00Z")
    assert [p["leadingOperationType"] for p in everything] == ["TableScan", "Index"]
    assert everything[1]["relativeCost"] > 1
    assert everything[0]["cardinality"] == everything[0]["sobjectCardinality"]


def test_explain_errors(raw: httpx.Client) -> None:
    bad = _error(raw.get(f"{BASE}/query", params={"explain": "SELECT Nope FROM Account"}), 400)
    assert bad["errorCode"] == "INVALID_FIELD"
    locator = raw.get(f"{BASE}/query", params={"explain": "01gHs0000000001AAA-2000"})
    assert _error(locator, 400)["errorCode"] == "MALFORMED_QUERY"
    for report_or_list_view in ("00O000000000001AAA", "00B000000000001"):
        answer = raw.get(f"{BASE}/query", params={"explain": report_or_list_view})
        assert _error(answer, 404)["errorCode"] == "NOT_FOUND"


def test_explain_a_report_as_the_query_it_runs(raw: httpx.Client) -> None:
    reports = {r["name"]: r for r in raw.get(f"{BASE}/analytics/reports").json()}
    report = reports["Open Pipeline"]
    answer = raw.get(f"{BASE}/query", params={"explain": report["id"]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["sourceQuery"] == report["id"]
    (scan,) = [p for p in body["plans"] if p["leadingOperationType"] == "TableScan"]
    assert scan["sobjectType"] == "Opportunity"
    open_ones = raw.get(
        f"{BASE}/query", params={"q": "SELECT COUNT() FROM Opportunity WHERE IsClosed = false"}
    ).json()["totalSize"]
    assert 0 < scan["cardinality"] <= open_ones < scan["sobjectCardinality"]


# -- the resource list --------------------------------------------------------------------


def test_every_advertised_resource_answers_json(raw: httpx.Client) -> None:
    resources = raw.get(f"{BASE}/").json()
    assert {"sobjects", "query", "queryAll", "limits", "composite", "identity"} <= set(resources)
    assert "tooling" not in resources  # not served, so not advertised
    for name, url in resources.items():
        answer = raw.get(url)
        assert answer.headers["content-type"].startswith("application/json"), (name, answer)
        body = answer.json()
        if answer.status_code != 200:
            # A resource that needs parameters (query without q): Salesforce's error list.
            assert answer.status_code == 400 and isinstance(body, list), (name, body)
            assert body[0]["errorCode"] and body[0]["message"]
    composite = raw.get(resources["composite"]).json()
    # What the emulator serves of Salesforce's list (tree, batch, sobjects, graph, ...).
    assert composite == {"tree": f"{BASE}/composite/tree", "sobjects": f"{BASE}/composite/sobjects"}
    listed = raw.get(composite["sobjects"])  # a write resource: GET is not one of its methods
    assert _error(listed, 405)["errorCode"] == "METHOD_NOT_ALLOWED"
    assert "POST" in listed.headers["allow"].split(",")
    tree = raw.get(composite["tree"] + "/Account")  # POST composite/tree/{sObject} only
    assert _error(tree, 405)["errorCode"] == "METHOD_NOT_ALLOWED"
    assert tree.headers["allow"] == "POST"
    # What the emulator does not serve answers Salesforce's JSON, never an HTML page.
    for path in ("/tooling/query?q=SELECT+Id+FROM+ApexClass", "/wave", "/jobs"):
        assert _error(raw.get(BASE + path), 404)["errorCode"] == "NOT_FOUND"


# -- replication: sobjects/X/updated and sobjects/X/deleted --------------------------------


def _stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def test_updated_and_deleted_follow_the_orgs_writes(small_api: httpx.Client) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = (
        _stamp(now - datetime.timedelta(minutes=2)),
        _stamp(now + datetime.timedelta(hours=1)),
    )
    span = {"start": start, "end": end}
    made = [
        small_api.post(f"{BASE}/sobjects/Contact", json={"LastName": f"Rep {i}"}).json()["id"]
        for i in range(3)
    ]
    assert (
        small_api.patch(f"{BASE}/sobjects/Contact/{made[1]}", json={"FirstName": "Ada"}).status_code
        == 204
    )
    assert small_api.delete(f"{BASE}/sobjects/Contact/{made[2]}").status_code == 204

    updated = small_api.get(f"{BASE}/sobjects/Contact/updated/", params=span)
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert set(body) == {"ids", "latestDateCovered"}
    assert sorted(body["ids"]) == sorted(made[:2])  # seeded records are years older
    covered = datetime.datetime.strptime(body["latestDateCovered"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert (
        now - datetime.timedelta(seconds=5)
        < covered
        <= datetime.datetime.now(datetime.timezone.utc)
    )

    deleted = small_api.get(f"{BASE}/sobjects/Contact/deleted/", params=span).json()
    assert set(deleted) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    assert [r["id"] for r in deleted["deletedRecords"]] == [made[2]]
    record = small_api.get(
        f"{BASE}/queryAll",
        params={"q": f"SELECT SystemModstamp FROM Contact WHERE Id = '{made[2]}'"},
    ).json()["records"][0]
    assert deleted["deletedRecords"][0]["deletedDate"] == record["SystemModstamp"]
    earliest = datetime.datetime.strptime(
        deleted["earliestDateAvailable"], "%Y-%m-%dT%H:%M:%S.%f%z"
    )
    assert earliest < now - datetime.timedelta(days=14)
    # Another object's span knows nothing of these writes; a span before them is empty.
    assert small_api.get(f"{BASE}/sobjects/Account/updated", params=span).json()["ids"] == []
    before = {
        "start": _stamp(now - datetime.timedelta(days=2)),
        "end": _stamp(now - datetime.timedelta(days=1)),
    }
    assert small_api.get(f"{BASE}/sobjects/Contact/updated", params=before).json()["ids"] == []


@pytest.mark.parametrize(
    ("resource", "span", "code"),
    [
        (
            "updated",
            {"start": "2030-01-02T00:00:00Z", "end": "2030-01-01T00:00:00Z"},
            "INVALID_REPLICATION_DATE",
        ),
        ("updated", {"start": "SAME", "end": "SAME"}, "INVALID_REPLICATION_DATE"),
        ("updated", {"start": "DAYS-31", "end": "NOW"}, "INVALID_REPLICATION_DATE"),
        ("deleted", {"start": "DAYS-20", "end": "NOW"}, "INVALID_REPLICATION_DATE"),
        ("updated", {"start": "yesterday", "end": "NOW"}, "INVALID_REPLICATION_DATE"),
        ("updated", {"end": "NOW"}, "MISSING_ARGUMENT"),
        ("deleted", {"start": "DAYS-1"}, "MISSING_ARGUMENT"),
    ],
)
def test_replication_span_errors(
    small_api: httpx.Client, resource: str, span: dict[str, str], code: str
) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    values = {
        "NOW": _stamp(now),
        "SAME": _stamp(now - datetime.timedelta(hours=1)),
        "DAYS-31": _stamp(now - datetime.timedelta(days=31)),
        "DAYS-20": _stamp(now - datetime.timedelta(days=20)),
        "DAYS-1": _stamp(now - datetime.timedelta(days=1)),
    }
    params = {k: values.get(v, v) for k, v in span.items()}
    error = _error(small_api.get(f"{BASE}/sobjects/Contact/{resource}", params=params), 400)
    assert error["errorCode"] == code and error["message"]


def test_replication_of_an_unknown_object(small_api: httpx.Client) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    span = {"start": _stamp(now - datetime.timedelta(hours=1)), "end": _stamp(now)}
    error = _error(small_api.get(f"{BASE}/sobjects/Nope__c/updated", params=span), 404)
    assert error["errorCode"] == "NOT_FOUND"
    answer = small_api.post(f"{BASE}/sobjects/Contact/updated", params=span)
    assert _error(answer, 405)["errorCode"] == "METHOD_NOT_ALLOWED"


# -- If-Modified-Since on describe ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/sobjects", "/sobjects/Account", "/sobjects/Account/describe"])
def test_describe_answers_304_when_metadata_is_unchanged(raw: httpx.Client, path: str) -> None:
    first = raw.get(BASE + path)
    assert first.status_code == 200
    last_modified = first.headers["last-modified"]
    changed = email.utils.parsedate_to_datetime(last_modified)
    assert changed <= datetime.datetime.now(datetime.timezone.utc)
    for since in (
        last_modified,
        email.utils.format_datetime(datetime.datetime.now(datetime.timezone.utc), usegmt=True),
    ):
        again = raw.get(BASE + path, headers={"If-Modified-Since": since})
        assert again.status_code == 304, again.text
        assert again.content == b"" and again.headers["last-modified"] == last_modified
    older = email.utils.format_datetime(changed - datetime.timedelta(seconds=1), usegmt=True)
    fresh = raw.get(BASE + path, headers={"If-Modified-Since": older})
    assert fresh.status_code == 200 and fresh.json() == first.json()
    garbled = raw.get(BASE + path, headers={"If-Modified-Since": "not a date"})
    assert garbled.status_code == 200
    # An unknown object is still an error, not a 304.
    if path != "/sobjects":
        missing = raw.get(
            BASE + path.replace("Account", "Nope__c"), headers={"If-Modified-Since": last_modified}
        )
        assert missing.status_code == 404


def test_a_soap_login_gets_a_soap_fault_naming_oauth_not_an_html_page(raw: httpx.Client) -> None:
    """jsforce's `conn.login(username, password)` posts a SOAP login and shows the fault's
    text; simple-salesforce reads `sf:exceptionCode`/`sf:exceptionMessage`."""
    login = (
        '<?xml version="1.0" encoding="utf-8" ?><env:Envelope '
        'xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body>'
        '<n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>ada@example.com'
        "</n1:username><n1:password>demo</n1:password></n1:login></env:Body></env:Envelope>"
    )
    answer = raw.post(
        f"/services/Soap/u/{VERSION}",
        content=login,
        headers={"Content-Type": "text/xml", "SOAPAction": "login"},
    )
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("text/xml")
    fault = ElementTree.fromstring(answer.text)  # noqa: S314 - our own emulator's answer
    sf = "{urn:fault.partner.soap.sforce.com}"
    assert fault.findtext(f".//{sf}exceptionCode") == "API_DISABLED_FOR_ORG"
    assert "OAuth 2.0" in (fault.findtext(f".//{sf}exceptionMessage") or "")
    assert (fault.findtext(".//faultstring") or "").startswith("API_DISABLED_FOR_ORG: ")
    assert raw.get("/services/Soap/c/60.0").status_code == 500  # any SOAP path, any method
