"""Reports and Dashboards REST API of the emulator, over HTTP.

Expected figures come from SOQL queries on the same org (COUNT, SUM with GROUP BY), so a
report must agree with the records it reports on: row counts, sums, group order and keys,
the 2,000 detail-row cap with ``allData: false``, runtime filters and filter logic, async
instances, and Salesforce's errors for unknown ids and bad metadata.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from .test_emu_soql_features import records


def reports(api: httpx.Client) -> dict[str, str]:
    answer = api.get("/analytics/reports")
    assert answer.status_code == 200, answer.text
    listed = answer.json()
    for item in listed:
        assert item["url"].endswith(f"/analytics/reports/{item['id']}")
        assert item["describeUrl"] == item["url"] + "/describe"
        assert item["instancesUrl"] == item["url"] + "/instances"
    return {item["name"]: item["id"] for item in listed}


def run(api: httpx.Client, report_id: str, metadata: dict[str, Any] | None = None) -> Any:
    params = {"includeDetails": "true"}
    if metadata is None:
        answer = api.get(f"/analytics/reports/{report_id}", params=params)
    else:
        answer = api.post(
            f"/analytics/reports/{report_id}", params=params, json={"reportMetadata": metadata}
        )
    assert answer.status_code == 200, answer.text
    return answer.json()


def detail_count(body: dict[str, Any]) -> int:
    return sum(len(fact.get("rows", ())) for fact in body["factMap"].values())


def count(api: httpx.Client, soql: str) -> int:
    answer = api.get("/query", params={"q": soql})
    assert answer.status_code == 200, answer.text
    return int(answer.json()["totalSize"])


def bad_request(api: httpx.Client, report_id: str, metadata: Any) -> str:
    answer = api.post(f"/analytics/reports/{report_id}", json={"reportMetadata": metadata})
    assert answer.status_code == 400, answer.text
    (error,) = answer.json()
    assert error["errorCode"] == "BAD_REQUEST"
    return str(error["message"])


def test_report_object_is_queryable_and_matches_the_list(api: httpx.Client) -> None:
    rows = records(api, "SELECT Id, Name, DeveloperName, Format, FolderName FROM Report")
    listed = reports(api)
    assert {r["Name"]: r["Id"] for r in rows} == listed
    formats = {r["Format"] for r in rows}
    assert formats == {"Tabular", "Summary", "Matrix"}
    one = records(api, "SELECT Name, Format FROM Report WHERE DeveloperName = 'All_Contacts'")
    assert one == [
        {
            "attributes": one[0]["attributes"],
            "Name": "All Contacts",
            "Format": "Tabular",
        }
    ]
    described = api.get("/sobjects/Report/describe").json()
    assert described["createable"] is False and described["keyPrefix"] == "00O"
    created = api.post("/sobjects/Report", json={"Name": "Mine"})
    assert created.status_code >= 400


def test_tabular_report_caps_detail_rows_at_2000(api: httpx.Client) -> None:
    report_id = reports(api)["All Contacts"]
    body = run(api, report_id)
    total = count(api, "SELECT COUNT() FROM Contact")
    assert total > 2000
    assert body["allData"] is False
    assert list(body["factMap"]) == ["T!T"]
    fact = body["factMap"]["T!T"]
    assert len(fact["rows"]) == 2000
    assert fact["aggregates"] == [{"label": f"{total:,}", "value": total}]
    metadata = body["reportMetadata"]
    assert metadata["reportFormat"] == "TABULAR" and metadata["id"] == report_id
    info = body["reportExtendedMetadata"]["detailColumnInfo"]
    assert list(info) == metadata["detailColumns"]
    assert info["CREATED_DATE"]["dataType"] == "datetime"
    cells = fact["rows"][0]["dataCells"]
    assert len(cells) == len(metadata["detailColumns"])
    account = cells[metadata["detailColumns"].index("ACCOUNT.NAME")]
    # A name cell links to its record: the label is the name, the value the record's Id.
    if account["value"] is not None:
        assert account["value"].startswith("001") and account["label"] != account["value"]
    created = cells[metadata["detailColumns"].index("CREATED_DATE")]
    assert created["value"].endswith("Z") and "/" in created["label"]
    assert body["attributes"]["type"] == "Report"


def test_without_details_only_aggregates(api: httpx.Client) -> None:
    report_id = reports(api)["All Contacts"]
    answer = api.get(f"/analytics/reports/{report_id}")
    assert answer.status_code == 200
    body = answer.json()
    assert body["hasDetailRows"] is False
    assert "rows" not in body["factMap"]["T!T"]


def test_summary_report_groups_in_picklist_order_with_sums(api: httpx.Client) -> None:
    report_id = reports(api)["Opportunities by Stage"]
    body = run(api, report_id, {"groupingsDown": [{"name": "STAGE_NAME", "sortOrder": "Asc"}]})
    expected = {
        r["StageName"]: (r["expr0"], r["expr1"] or 0)
        for r in records(
            api, "SELECT StageName, COUNT(Id), SUM(Amount) FROM Opportunity GROUP BY StageName"
        )
    }
    groups = body["groupingsDown"]["groupings"]
    assert [g["key"] for g in groups] == [str(i) for i in range(len(groups))]
    described = api.get("/sobjects/Opportunity/describe").json()
    stage_order = [
        p["value"]
        for f in described["fields"]
        if f["name"] == "StageName"
        for p in f["picklistValues"]
    ]
    assert [g["value"] for g in groups] == [s for s in stage_order if s in expected]
    aggregates = body["reportMetadata"]["aggregates"]
    for group in groups:
        fact = body["factMap"][f"{group['key']}!T"]
        values = dict(zip(aggregates, (a["value"] for a in fact["aggregates"]), strict=True))
        rows, amount = expected[group["value"]]
        assert values["RowCount"] == rows
        assert values["s!AMOUNT"] == pytest.approx(amount)
    total = body["factMap"]["T!T"]
    assert total["rows"] == []
    assert dict(zip(aggregates, (a["value"] for a in total["aggregates"]), strict=True))[
        "RowCount"
    ] == sum(rows for rows, _ in expected.values())


def test_two_level_summary_keys(api: httpx.Client) -> None:
    body = run(api, reports(api)["Opportunities by Stage"])
    first = body["groupingsDown"]["groupings"][0]
    assert [g["key"] for g in first["groupings"]][:2] == ["0_0", "0_1"]
    fact_map = body["factMap"]
    assert "0!T" in fact_map and "0_0!T" in fact_map
    # Detail rows sit at the deepest level only; subtotals carry aggregates.
    assert fact_map["0!T"]["rows"] == []
    inner = sum(fact_map[f"{g['key']}!T"]["aggregates"][-1]["value"] for g in first["groupings"])
    assert fact_map["0!T"]["aggregates"][-1]["value"] == inner
    total = count(api, "SELECT COUNT() FROM Opportunity")
    assert detail_count(body) == min(total, 2000)
    assert body["allData"] is (total <= 2000)


def test_matrix_report_cells_and_totals(api: httpx.Client) -> None:
    body = run(api, reports(api)["Pipeline by Stage and Type"])
    down = body["groupingsDown"]["groupings"]
    across = body["groupingsAcross"]["groupings"]
    fact_map = body["factMap"]
    expected = {
        (r["StageName"], r["Type"]): r["expr0"]
        for r in records(
            api,
            "SELECT StageName, Type, COUNT(Id) FROM Opportunity WHERE Amount > 0 "
            "GROUP BY StageName, Type",
        )
    }
    for row in down:
        for column in across:
            cell = fact_map[f"{row['key']}!{column['key']}"]
            assert cell["aggregates"][-1]["value"] == expected.get(
                (row["value"], column["value"]), 0
            )
        assert f"{row['key']}!T" in fact_map
    for column in across:
        assert f"T!{column['key']}" in fact_map
    assert fact_map["T!T"]["aggregates"][-1]["value"] == sum(expected.values())
    info = body["reportExtendedMetadata"]["groupingColumnInfo"]
    assert info["STAGE_NAME"]["groupingLevel"] == 0 and info["TYPE"]["groupingLevel"] == 0


def test_date_grouping_by_month(api: httpx.Client) -> None:
    body = run(api, reports(api)["Opportunities by Close Month"])
    groups = body["groupingsDown"]["groupings"]
    values = [g["value"] for g in groups]
    assert values == sorted(values) and all(v.endswith("-01") for v in values)
    first = groups[0]
    year, month = first["value"][:4], int(first["value"][5:7])
    assert first["label"].endswith(year) and len(first["label"].split()) == 2
    assert (
        count(
            api,
            f"SELECT COUNT() FROM Opportunity WHERE CALENDAR_YEAR(CloseDate) = {year} "
            f"AND CALENDAR_MONTH(CloseDate) = {month}",
        )
        == body["factMap"]["0!T"]["aggregates"][-1]["value"]
    )


def test_runtime_filters_and_logic(api: httpx.Client) -> None:
    report_id = reports(api)["All Contacts"]
    body = run(
        api,
        report_id,
        {
            "reportFilters": [
                {"column": "LEAD_SOURCE", "operator": "equals", "value": "Web,Phone Inquiry"},
                {"column": "TITLE", "operator": "startsWith", "value": "VP"},
                {"column": "LAST_NAME", "operator": "contains", "value": "son"},
            ],
            "reportBooleanFilter": "1 AND (2 OR 3)",
        },
    )
    expected = count(
        api,
        "SELECT COUNT() FROM Contact WHERE LeadSource IN ('Web', 'Phone Inquiry') "
        "AND (Title LIKE 'VP%' OR LastName LIKE '%son%')",
    )
    assert 0 < expected < 2000
    assert body["allData"] is True
    assert detail_count(body) == expected == body["factMap"]["T!T"]["aggregates"][0]["value"]
    assert body["reportMetadata"]["reportBooleanFilter"] == "1 AND (2 OR 3)"


def test_saved_filters_are_honoured(api: httpx.Client) -> None:
    body = run(api, reports(api)["Open Pipeline"])
    expected = count(api, "SELECT COUNT() FROM Opportunity WHERE IsClosed = false AND Amount > 0")
    assert detail_count(body) == expected and body["allData"] is True


def test_sorting_and_id_ranges_walk_past_the_cap(api: httpx.Client) -> None:
    """What a client does to read more than 2,000 rows: sort by the Id and ask for the
    Ids after the last one seen, until allData."""
    report_id = reports(api)["All Contacts"]
    seen: list[str] = []
    last = None
    runs = 0
    while True:
        filters = (
            []
            if last is None
            else [{"column": "CONTACT_ID", "operator": "greaterThan", "value": last}]
        )
        body = run(
            api,
            report_id,
            {
                "detailColumns": ["CONTACT_ID", "LAST_NAME"],
                "reportFilters": filters,
                "sortBy": [{"sortColumn": "CONTACT_ID", "sortOrder": "Asc"}],
            },
        )
        runs += 1
        ids = [row["dataCells"][0]["value"] for row in body["factMap"]["T!T"]["rows"]]
        assert ids == sorted(ids)
        seen += ids
        if body["allData"]:
            break
        last = ids[-1]
    assert runs == 2
    assert sorted(seen) == sorted(r["Id"] for r in records(api, "SELECT Id FROM Contact"))


def test_async_instances(api: httpx.Client) -> None:
    report_id = reports(api)["Contacts by Lead Source"]
    started = api.post(
        f"/analytics/reports/{report_id}/instances",
        params={"includeDetails": "true"},
        json={
            "reportMetadata": {
                "reportFilters": [{"column": "LEAD_SOURCE", "operator": "equals", "value": "Web"}]
            }
        },
    )
    assert started.status_code == 200, started.text
    instance = started.json()
    assert instance["id"].startswith("0LG") and instance["status"] in ("New", "Running")
    listed = api.get(f"/analytics/reports/{report_id}/instances").json()
    assert instance["id"] in [i["id"] for i in listed]
    deadline = time.monotonic() + 10
    while True:
        body = api.get(f"/analytics/reports/{report_id}/instances/{instance['id']}").json()
        status = body["attributes"]["status"]
        assert status in ("New", "Running", "Success")
        if status == "Success":
            break
        assert body["factMap"] == {}
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert body["attributes"]["type"] == "ReportInstance"
    expected = count(api, "SELECT COUNT() FROM Contact WHERE LeadSource = 'Web'")
    assert detail_count(body) == expected and body["allData"] is True
    assert [g["value"] for g in body["groupingsDown"]["groupings"]] == ["Web"]
    gone = api.delete(f"/analytics/reports/{report_id}/instances/{instance['id']}")
    assert gone.status_code == 204
    missing = api.get(f"/analytics/reports/{report_id}/instances/{instance['id']}")
    assert missing.status_code == 404


def test_errors(api: httpx.Client) -> None:
    report_id = reports(api)["All Contacts"]
    for path in (
        "/analytics/reports/00OHs00000zzzzzZZZ",
        "/analytics/reports/nonsense",
        "/analytics/reports/00OHs00000zzzzzZZZ/describe",
    ):
        answer = api.get(path)
        assert answer.status_code == 404
        assert answer.json() == [
            {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
        ]
    assert "NOPE" in bad_request(
        api, report_id, {"reportFilters": [{"column": "NOPE", "operator": "equals", "value": "x"}]}
    )
    assert "lessThen" in bad_request(
        api,
        report_id,
        {"reportFilters": [{"column": "EMAIL", "operator": "lessThen", "value": "x"}]},
    )
    assert (
        "contains"
        not in bad_request(
            api,
            report_id,
            {"reportFilters": [{"column": "CREATED_DATE", "operator": "contains", "value": "x"}]},
        ).split(": use")[1]
    )
    assert "2" in bad_request(
        api,
        report_id,
        {
            "reportFilters": [{"column": "EMAIL", "operator": "equals", "value": "x"}],
            "reportBooleanFilter": "1 AND 2",
        },
    )
    assert "number" in bad_request(
        api,
        reports(api)["Open Pipeline"],
        {"reportFilters": [{"column": "AMOUNT", "operator": "greaterThan", "value": "lots"}]},
    )
    assert "grouping" in bad_request(api, report_id, {"groupingsDown": [{"name": "TITLE"}]})
    missing_body = api.post(f"/analytics/reports/{report_id}", json={})
    assert missing_body.status_code == 400


def test_describe(api: httpx.Client) -> None:
    report_id = reports(api)["Opportunities by Stage"]
    body = api.get(f"/analytics/reports/{report_id}/describe").json()
    assert set(body) == {"reportMetadata", "reportExtendedMetadata", "reportTypeMetadata"}
    columns = body["reportTypeMetadata"]["categories"][0]["columns"]
    assert columns["AMOUNT"]["dataType"] == "currency"
    assert body["reportMetadata"]["groupingsDown"][0]["name"] == "STAGE_NAME"
    info = body["reportExtendedMetadata"]["aggregateColumnInfo"]
    assert info["s!AMOUNT"]["label"] == "Sum of Amount"


def test_analytics_is_in_the_resource_list(api: httpx.Client) -> None:
    resources = api.get("").json()
    assert resources["analytics"].endswith("/analytics")
    answer = api.get("/analytics")
    assert answer.status_code == 200
    assert answer.json()["reports"] == resources["analytics"] + "/reports"
