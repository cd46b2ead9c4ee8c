"""`sf.report`, `sf.reports` and the report frames, against an emulator with 6,000 Contacts
and 3,600 Opportunities (past Salesforce's 2,000 detail rows per run), plus units of the
factMap flattening on Salesforce's documented shapes.

Every expectation is computed from SOQL on the same org, never from the report code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator
from ak_salesforce_nb.kernel._report_frames import (
    ReportShape,
    flatten_aggregates,
    flatten_details,
)
from ak_salesforce_nb.kernel._reports import (
    PartialReportWarning,
    ReportError,
    choose_split_column,
    combine_logic,
)

from .conftest import authorize_store

ACCOUNTS = 2400  # 6,000 Contacts, 3,600 Opportunities


@pytest.fixture(scope="module")
def report_emu() -> Iterator[RunningEmulator]:
    with start_emulator(EmulatorConfig(accounts=ACCOUNTS, auto_approve=True)) as emu:
        yield emu


@pytest.fixture
def sf(report_emu: RunningEmulator, store_path: Path) -> Iterator[aksf.Session]:
    authorize_store(report_emu, store_path)
    with aksf.session("prod", progress=False) as session:
        yield session


def api_calls(emu: RunningEmulator) -> int:
    return int(emu.stats["api_requests"])


# -- against the emulator -------------------------------------------------------------


def test_tabular_report_past_2000_rows(
    sf: aksf.Session, report_emu: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = sf.report("All Contacts")
    contacts = sf.query("SELECT FirstName, LastName, Email, Account.Name FROM Contact")
    assert len(contacts) == 6000
    assert len(frame) == 6000
    assert list(frame.columns) == [
        "First Name",
        "Last Name",
        "Account Name",
        "Title",
        "Email",
        "Created Date",
    ]
    expected = Counter(
        zip(contacts["FirstName"], contacts["LastName"], contacts["Email"].fillna("-"), strict=True)
    )
    got = Counter(
        zip(frame["First Name"], frame["Last Name"], frame["Email"].fillna("-"), strict=True)
    )
    assert got == expected
    assert "datetime64" in str(frame["Created Date"].dtype)
    info = frame.attrs["report"]
    assert info["complete"] is True and info["split_on"] == "CONTACT_ID"
    assert info["rows"] == info["total_rows"] == 6000
    # The first run (cut at 2,000), then 2,000 + 2,000 + 2,000 rows in ranges of the
    # record Id: unique, so no run for ties and none for empty values.
    assert info["runs"] == 4
    assert "2,000" in info["note"] and "CONTACT_ID" in info["note"]
    assert info["columns"]["Account Name"] == "ACCOUNT.NAME"
    assert info["note"] in capsys.readouterr().out


def test_summary_report_keeps_its_groupings(sf: aksf.Session) -> None:
    frame = sf.report("Opportunities by Stage")
    assert list(frame.columns[:2]) == ["Stage", "Type"]
    assert frame.attrs["report"]["format"] == "SUMMARY"
    expected = sf.query("SELECT StageName, COUNT(Id) n FROM Opportunity GROUP BY StageName")
    assert len(frame) == int(expected["n"].sum()) == 3600
    assert frame.groupby("Stage").size().to_dict() == dict(
        zip(expected["StageName"], expected["n"], strict=True)
    )
    # Rows come in the report's grouping order (the Stage picklist), not alphabetically.
    stages = [
        p["value"]
        for f in sf.describe("Opportunity")["fields"]
        if f["name"] == "StageName"
        for p in f["picklistValues"]
    ]
    seen = list(dict.fromkeys(frame["Stage"]))
    assert seen == [s for s in stages if s in set(seen)]
    amounts = sf.query("SELECT SUM(Amount) total FROM Opportunity")
    assert frame["Amount"].sum() == pytest.approx(float(amounts["total"][0]))


def test_matrix_report_has_down_and_across_columns(sf: aksf.Session) -> None:
    frame = sf.report("Pipeline by Stage and Type", labels=False)
    assert list(frame.columns) == ["STAGE_NAME", "TYPE", "OPPORTUNITY_NAME", "AMOUNT"]
    rows = sf.query("SELECT StageName, Type FROM Opportunity WHERE Amount > 0")
    assert len(frame) == len(rows) > 2000
    expected = Counter(zip(rows["StageName"], rows["Type"].fillna("-"), strict=True))
    got = Counter(zip(frame["STAGE_NAME"], frame["TYPE"].fillna("-"), strict=True))
    assert got == expected


def test_date_grouping_periods_survive_the_split(sf: aksf.Session) -> None:
    frame = sf.report("Opportunities by Close Month")
    assert frame.attrs["report"]["runs"] > 1
    months = frame["Close Date"]
    assert (months.dt.day == 1).all()
    rows = sf.query("SELECT CloseDate FROM Opportunity")
    expected = Counter(d.strftime("%Y-%m") for d in rows["CloseDate"])
    assert Counter(m.strftime("%Y-%m") for m in months) == expected
    assert str(frame["Won"].dtype) == "boolean"


def test_aggregates(sf: aksf.Session, report_emu: RunningEmulator) -> None:
    before = api_calls(report_emu)
    totals = sf.report("Opportunities by Stage", aggregates=True)
    assert list(totals.columns) == [
        "Stage",
        "Type",
        "Subtotal",
        "Sum of Amount",
        "Average of Amount",
        "Record Count",
    ]
    grand = totals.iloc[-1]
    assert bool(grand["Subtotal"]) and pd.isna(grand["Stage"]) and grand["Record Count"] == 3600
    stages = totals[totals["Subtotal"] & totals["Stage"].notna()]
    expected = sf.query("SELECT StageName, SUM(Amount) s FROM Opportunity GROUP BY StageName")
    sums = dict(zip(expected["StageName"], expected["s"], strict=True))
    for _, row in stages.iterrows():
        assert row["Sum of Amount"] == pytest.approx(float(sums[row["Stage"]]))
    leaves = totals[~totals["Subtotal"]]
    assert leaves["Record Count"].sum() == 3600
    # One describe, one name lookup, one run: aggregates never need the split.
    assert api_calls(report_emu) - before <= 4


def test_runtime_filters_by_label_lists_and_async(sf: aksf.Session) -> None:
    frame = sf.report(
        "All Contacts",
        filters=[("Lead Source", "in", ["Web", "Phone Inquiry"]), ("TITLE", "startswith", "VP")],
        mode="async",
    )
    expected = sf.query(
        "SELECT Id FROM Contact WHERE LeadSource IN ('Web', 'Phone Inquiry') AND Title LIKE 'VP%'"
    )
    assert 0 < len(frame) == len(expected)
    assert frame.attrs["report"]["mode"] == "async" and frame.attrs["report"]["runs"] == 1
    either = sf.report(
        "All Contacts",
        filters=[("Title", "=", "CFO"), ("Last Name", "contains", "son")],
        boolean_filter="1 OR 2",
    )
    expected = sf.query("SELECT Id FROM Contact WHERE Title = 'CFO' OR LastName LIKE '%son%'")
    assert len(either) == len(expected)


def test_saved_logic_and_runtime_filters_combine(sf: aksf.Session) -> None:
    saved = sf.report("Accounts by Industry")
    expected = sf.query(
        "SELECT Id FROM Account WHERE Type IN ('Customer - Direct', 'Customer - Channel') "
        "OR Rating = 'Hot'"
    )
    assert len(saved) == len(expected)
    narrowed = sf.report("Accounts by Industry", filters=[("Employees", ">=", 1000)])
    expected = sf.query(
        "SELECT Id FROM Account WHERE (Type IN ('Customer - Direct', 'Customer - Channel') "
        "OR Rating = 'Hot') AND NumberOfEmployees >= 1000"
    )
    assert 0 < len(narrowed) == len(expected) < len(saved)
    assert narrowed.attrs["report"]["boolean_filter"] == "(1 OR 2) AND (3)"


def test_names_ids_and_close_matches(sf: aksf.Session) -> None:
    listed = sf.reports()
    assert {"Id", "Name", "DeveloperName", "FolderName", "Format"} <= set(listed.columns)
    assert len(listed) == 7
    row = listed[listed["Name"] == "Open Pipeline"].iloc[0]
    by_id = sf.report(row["Id"])
    by_developer_name = sf.report("Open_Pipeline")
    assert len(by_id) == len(by_developer_name) > 0
    assert list(sf.reports("pipeline")["Name"]) == ["Open Pipeline", "Pipeline by Stage and Type"]
    recent = sf.reports(recent=True)
    assert set(recent["Id"]) == set(listed["Id"])
    with pytest.raises(ReportError, match=r"No report is named 'All Contact'.*'All Contacts'"):
        sf.report("All Contact")
    with pytest.raises(ReportError, match=r"has no column 'Stag'.*Stage"):
        sf.report("Open Pipeline", filters=[("Stag", "=", "Prospecting")])


def test_salesforce_errors_pass_through(sf: aksf.Session) -> None:
    with pytest.raises(aksf.SalesforceError) as caught:
        sf.report("Open Pipeline", filters=[("Amount", ">", "lots")])
    assert caught.value.error_code == "BAD_REQUEST" and "number" in caught.value.message
    with pytest.raises(aksf.SalesforceError) as missing:
        sf.report("00OHs00000zzzzzZZZ")
    assert missing.value.status_code == 404


def test_partial_results_warn(sf: aksf.Session, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.warns(PartialReportWarning, match=r"PARTIAL: 2,000 of 6,000 rows.*split=False"):
        cut = sf.report("All Contacts", split=False)
    assert len(cut) == 2000 and cut.attrs["report"]["complete"] is False
    # A column the Reports API cannot range over (a checkbox takes no greaterThan): the
    # first run's rows and a warning saying why.
    with pytest.warns(PartialReportWarning, match=r"reading in ranges of CLOSED failed"):
        failed = sf.report("Opportunities by Stage", split_on="Closed")
    assert len(failed) == 2000 and failed.attrs["report"]["complete"] is False
    assert "PARTIAL" not in capsys.readouterr().out


def test_split_on_a_date_column_with_ties(sf: aksf.Session) -> None:
    """A non-unique split column: rows sharing a cut run's last value are read by their
    own run, rows without a value by a final one, and none twice."""
    frame = sf.report("All Contacts", split_on="BIRTHDATE", labels=False)
    info = frame.attrs["report"]
    assert info["complete"] is True and info["split_on"] == "BIRTHDATE"
    assert len(frame) == 6000
    contacts = sf.query("SELECT Email, FirstName, LastName FROM Contact")
    assert Counter(zip(frame["FIRST_NAME"], frame["LAST_NAME"], strict=True)) == Counter(
        zip(contacts["FirstName"], contacts["LastName"], strict=True)
    )


# -- units on Salesforce's documented shapes ------------------------------------------

MATRIX: dict[str, Any] = {
    "allData": True,
    "factMap": {
        "0!0": {
            "aggregates": [{"label": "$10.00", "value": 10.0}, {"label": "1", "value": 1}],
            "rows": [
                {
                    "dataCells": [
                        {"label": "Acme", "value": "006000000000001AAA"},
                        {"label": "$10.00", "value": {"amount": 10.0, "currency": "USD"}},
                        {"label": "1/31/2024", "value": "2024-01-31"},
                    ]
                }
            ],
        },
        "0!1": {
            "aggregates": [{"label": "-", "value": None}, {"label": "0", "value": 0}],
            "rows": [],
        },
        "0!T": {"aggregates": [{"label": "$10.00", "value": 10.0}, {"label": "1", "value": 1}]},
        "1!0": {
            "aggregates": [{"label": "-", "value": None}, {"label": "0", "value": 0}],
            "rows": [],
        },
        "1!1": {
            "aggregates": [{"label": "$5.50", "value": 5.5}, {"label": "1", "value": 1}],
            "rows": [
                {
                    "dataCells": [
                        {"label": "Globex", "value": "006000000000002AAA"},
                        {"label": "$5.50", "value": 5.5},
                        {"label": "-", "value": None},
                    ]
                }
            ],
        },
        "1!T": {"aggregates": [{"label": "$5.50", "value": 5.5}, {"label": "1", "value": 1}]},
        "T!0": {"aggregates": [{"label": "$10.00", "value": 10.0}, {"label": "1", "value": 1}]},
        "T!1": {"aggregates": [{"label": "$5.50", "value": 5.5}, {"label": "1", "value": 1}]},
        "T!T": {"aggregates": [{"label": "$15.50", "value": 15.5}, {"label": "2", "value": 2}]},
    },
    "groupingsAcross": {
        "groupings": [
            {"groupings": [], "key": "0", "label": "2024", "value": "2024-01-01"},
            {"groupings": [], "key": "1", "label": "2025", "value": "2025-01-01"},
        ]
    },
    "groupingsDown": {
        "groupings": [
            {"groupings": [], "key": "0", "label": "Prospecting", "value": "Prospecting"},
            {"groupings": [], "key": "1", "label": "Closed Won", "value": "Closed Won"},
        ]
    },
    "reportExtendedMetadata": {
        "aggregateColumnInfo": {
            "s!AMOUNT": {"dataType": "currency", "label": "Sum of Amount"},
            "RowCount": {"dataType": "int", "label": "Record Count"},
        },
        "detailColumnInfo": {
            "OPPORTUNITY_NAME": {"dataType": "string", "label": "Opportunity Name"},
            "AMOUNT": {"dataType": "currency", "label": "Amount"},
            "CLOSE_DATE": {"dataType": "date", "label": "Close Date"},
        },
        "groupingColumnInfo": {
            "STAGE_NAME": {"dataType": "picklist", "groupingLevel": 0, "label": "Stage"},
            "CLOSE_DATE": {"dataType": "date", "groupingLevel": 0, "label": "Close Date"},
        },
    },
    "reportMetadata": {
        "aggregates": ["s!AMOUNT", "RowCount"],
        "detailColumns": ["OPPORTUNITY_NAME", "AMOUNT", "CLOSE_DATE"],
        "groupingsAcross": [{"name": "CLOSE_DATE", "dateGranularity": "Year"}],
        "groupingsDown": [{"name": "STAGE_NAME", "dateGranularity": "None"}],
        "reportFormat": "MATRIX",
    },
}


def test_matrix_fact_map_flattens_with_both_groupings() -> None:
    shape = ReportShape.of(MATRIX)
    frame = flatten_details(MATRIX, shape)
    assert list(frame.columns) == [
        "STAGE_NAME",
        "CLOSE_DATE",
        "OPPORTUNITY_NAME",
        "AMOUNT",
        "CLOSE_DATE (detail)",
    ]
    assert frame["STAGE_NAME"].tolist() == ["Prospecting", "Closed Won"]
    assert [d.year for d in frame["CLOSE_DATE"]] == [2024, 2025]
    assert frame["OPPORTUNITY_NAME"].tolist() == ["Acme", "Globex"]  # labels, not the Ids
    assert frame["AMOUNT"].tolist() == [10.0, 5.5]  # {amount, currency} or a bare number
    assert str(frame["AMOUNT"].dtype) == "Float64"
    assert pd.isna(frame["CLOSE_DATE (detail)"][1])
    totals = flatten_aggregates(MATRIX, shape)
    assert len(totals) == 9 and totals.iloc[-1]["RowCount"] == 2
    assert totals["Subtotal"].tolist() == [False, False, True, False, False, True, True, True, True]


def test_split_column_and_logic_choices() -> None:
    columns = {
        "ACCOUNT_ID": ("Account ID", "id"),
        "CONTACT_ID": ("Contact ID", "id"),
        "CREATED_DATE": ("Created Date", "datetime"),
    }
    assert choose_split_column(columns, "ContactList") == "CONTACT_ID"
    assert choose_split_column(columns, "Other") == "ACCOUNT_ID"
    assert choose_split_column({"CREATED_DATE": ("Created", "datetime")}, "X") == "CREATED_DATE"
    assert choose_split_column({"NAME": ("Name", "string")}, "X") is None
    assert combine_logic(None, 2, None, 1) is None  # no logic anywhere: every filter holds
    assert combine_logic(None, 2, "1 OR 2", 2) == "(1 AND 2) AND (3 OR 4)"
    assert combine_logic("1 OR 2", 2, "1 OR 2", 2) == "(1 OR 2) AND (3 OR 4)"
    assert combine_logic(None, 0, "1 OR 2", 2) == "1 OR 2"
    assert combine_logic("1 OR 2", 2, None, 0) == "1 OR 2"


# -- the explorer's Reports tab --------------------------------------------------------


def test_explorer_reports_tab(sf: aksf.Session, report_emu: RunningEmulator) -> None:
    from ak_salesforce_nb.kernel._explorer import Explorer

    with Explorer("prod", session=sf) as explorer:
        tab = explorer.reports_tab
        assert explorer.tabs.titles == ("Objects", "Reports")
        assert not tab.loaded and tab.report_list.options == ()
        explorer.tabs.selected_index = 1  # showing the tab reads the list, once
        assert tab.loaded and len(tab.report_list.options) == 7
        before = api_calls(report_emu)
        explorer.tabs.selected_index = 0
        explorer.tabs.selected_index = 1
        assert api_calls(report_emu) == before
        assert tab.filter("pipeline") == ["Open Pipeline", "Pipeline by Stage and Type"]
        tab.search.value = "contacts"
        assert [label.split(" · ")[0] for label, _ in tab.report_list.options] == [
            "All Contacts",
            "Contacts by Lead Source",
        ]
        tab.report_list.value = tab.report_list.options[0][1]  # a click on "All Contacts"
        assert tab.report_name == "All Contacts"
        assert tab.python_code == "df = sf.report('All Contacts')"
        assert "sf.report(&#x27;All Contacts&#x27;)" in tab.python_box.value
        frame = tab.preview()
        assert len(frame) == 6000 and tab.frame is frame
        assert "6,000 rows" in tab.info.value
        tab.select("Open_Pipeline")
        assert tab.report_name == "Open Pipeline"
        assert tab.preview(filters=[("Amount", ">", "lots")]) is None
        assert "BAD_REQUEST" in tab.last_error and "BAD_REQUEST" in tab.info.value
        with pytest.raises(ValueError, match="No report 'Nope'"):
            tab.select("Nope")
        state = str([w.get_state() for w in explorer.all_widgets()])
        assert sf.tokens.current().access_token not in state


def test_a_refused_split_column_falls_back_to_the_next(
    report_emu: RunningEmulator, store_path: Path
) -> None:
    """An org that refuses ranges of Id (a 400 for greaterThan on CONTACT_ID), in front of
    the emulator: the rows are read in ranges of Created Date instead."""
    authorize_store(report_emu, store_path)
    refused: list[str] = []
    with httpx.Client(timeout=60) as upstream:

        def org(request: httpx.Request) -> httpx.Response:
            body = request.content.decode() if request.content else ""
            if '"column": "CONTACT_ID", "operator": "greaterThan"' in body.replace(
                '":"', '": "'
            ).replace('","', '", "'):
                refused.append(body)
                return httpx.Response(
                    400,
                    json=[{"errorCode": "BAD_REQUEST", "message": "Invalid filter operator."}],
                )
            answer = upstream.request(
                request.method, request.url, headers=request.headers, content=request.content
            )
            return httpx.Response(
                answer.status_code, headers=answer.headers, content=answer.content
            )

        with aksf.session("prod", progress=False, transport=httpx.MockTransport(org)) as sf:
            frame = sf.report("All Contacts", quiet=True)
    assert refused
    info = frame.attrs["report"]
    assert info["complete"] is True and info["split_on"] == "CREATED_DATE"
    assert len(frame) == 6000 and "CREATED_DATE" in info["note"]


def test_note_is_html_and_text_in_a_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a kernel the note is a display with text and (escaped) HTML; elsewhere a line."""
    import IPython
    import IPython.display

    from ak_salesforce_nb.kernel import _reports

    shown: list[tuple[Any, dict[str, Any]]] = []

    class Kernelish:
        kernel = object()

    monkeypatch.setattr(IPython, "get_ipython", lambda: Kernelish())
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append((obj, kw)))
    _reports._show_note("All <Contacts>: 6,000 rows read in 4 runs.")
    ((bundle, options),) = shown
    assert options == {"raw": True}
    assert bundle["text/plain"] == "All <Contacts>: 6,000 rows read in 4 runs."
    assert "All &lt;Contacts&gt;" in bundle["text/html"]
