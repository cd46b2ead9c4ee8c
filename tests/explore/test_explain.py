"""Query plans (`sf.explain`, ``%%soql --explain``, ``method="auto"``) and the API usage
line under ``%%soql`` cells."""

from __future__ import annotations

from typing import Any

import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.kernel._explain import QueryPlan, parse_api_usage
from tests.conftest import Flow

# The answer of Salesforce's REST API Developer Guide ("Get Feedback on Query
# Performance"), with the note of its second example.
DOCUMENTED = {
    "plans": [
        {
            "cardinality": 1,
            "fields": [],
            "leadingOperationType": "TableScan",
            "notes": [
                {
                    "description": "Not considering filter for optimization because unindexed",
                    "fields": ["IsDeleted"],
                    "tableEnumOrId": "Merchandise__c",
                }
            ],
            "relativeCost": 0.65,
            "sobjectCardinality": 3,
            "sobjectType": "Merchandise__c",
        },
        {
            "cardinality": 1,
            "fields": ["CreatedDate"],
            "leadingOperationType": "Index",
            "notes": [],
            "relativeCost": 0.0,
            "sobjectCardinality": 3,
            "sobjectType": "Merchandise__c",
        },
    ]
}


def test_plan_is_cheapest_first_with_its_table() -> None:
    plan = QueryPlan.from_answer("SELECT Id FROM Merchandise__c", DOCUMENTED)
    assert plan.leading_operation == "Index" and plan.cardinality == 1
    assert plan.warnings == []  # the cheapest plan uses an index
    frame = plan.frame()
    assert list(frame["leading_operation"]) == ["Index", "TableScan"]
    assert "unindexed" in frame["notes"][1]
    assert "<table" in plan._repr_html_() and "Merchandise__c" in repr(plan)


def test_table_scan_gets_a_plain_warning_and_html_is_escaped() -> None:
    scan = {"plans": [dict(DOCUMENTED["plans"][0], sobjectType="<b>Account</b>")]}
    plan = QueryPlan.from_answer("SELECT Id FROM Account WHERE Name LIKE '%<x>%'", scan)
    assert plan.warnings[0].startswith("This query reads every <b>Account</b> record")
    assert any("unindexed" in w for w in plan.warnings)
    page = plan._repr_html_()
    assert "<b>Account</b>" not in page and "&lt;x&gt;" in page


def test_api_usage_header() -> None:
    usage = parse_api_usage("api-usage=12000/15000")
    assert usage is not None and usage.share == 0.8
    assert str(usage) == "API usage today: 12,000 of 15,000 requests (80.0%)"
    assert parse_api_usage("per-app-api-usage=1/2(appName=x)") is None
    assert parse_api_usage("") is None


# -- against the emulator ---------------------------------------------------------------------


async def test_explain_against_the_emulator(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        by_id = sf.explain("SELECT Name FROM Account WHERE Id = '001000000000001AAA'")
        assert by_id.leading_operation == "Index" and by_id.warnings == []
        scan = sf.explain("SELECT Name FROM Account WHERE Description LIKE '%x%'")
        assert scan.leading_operation == "TableScan"
        assert scan.warnings and "table scan" in scan.warnings[0]


async def test_auto_method_uses_the_plan_to_go_bulk(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod", bulk_threshold=10) as sf:
        calls: list[str] = []
        sf._http.event_hooks["request"].append(lambda r: calls.append(str(r.url)))
        frame = sf.query("SELECT Id, Name FROM Account", method="auto")
        assert len(frame) > 10
        # Straight to Bulk API 2.0: no REST query page was fetched first.
        assert any("/jobs/query" in c for c in calls)
        assert not any("/query?q=" in c for c in calls)


async def test_magic_explain_and_usage_line(
    flow: Flow, shell: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    await flow.connect("prod")
    plan = shell.run_cell_magic("soql", "-c prod --explain", "SELECT Id FROM Account")
    assert isinstance(plan, QueryPlan)
    capsys.readouterr()
    shell.run_cell_magic("soql", "-c prod", "SELECT Id FROM Account LIMIT 1")
    out = capsys.readouterr()
    assert out.out.startswith("API usage today: ")
    magics = shell.magics_manager.registry["SoqlMagics"]
    magics.api_usage_warning = 0.0
    try:
        shell.run_cell_magic("soql", "-c prod", "SELECT Id FROM Account LIMIT 1")
    finally:
        magics.api_usage_warning = 0.8
    out = capsys.readouterr()
    assert "Warning: API usage today" in out.err and "daily limit" in out.err
    for session in magics.sessions.values():
        session.close()
    magics.sessions.clear()
