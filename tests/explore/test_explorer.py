"""The explorer's Python side, driven without a browser: by its methods, and by setting its
widgets' values the way the browser would."""

from __future__ import annotations

import html
import statistics
import time
from pathlib import Path

import pandas as pd
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.emulator import RunningEmulator
from tests.conftest import Flow

from .conftest import authorize_store


async def test_explorer_builds_and_previews_a_query(flow: Flow) -> None:
    await flow.connect("prod")
    explorer = aksf.explore("prod")
    assert "Account" in explorer.filter("acc")
    explorer.select_object("Account")
    assert explorer.record_count == 300
    assert "300 records" in explorer.info.value
    owner = next(f for f in explorer.field_table if f["name"] == "OwnerId")
    assert owner == {
        "label": owner["label"],
        "name": "OwnerId",
        "type": "reference",
        "relationship": "Owner",
        "references": "User",
    }
    assert explorer.selected_fields == ["Id", "Name"]  # a useful start
    explorer.set_fields(["Id", "name", "Industry"])
    explorer.where = "Industry = 'Energy'"
    explorer.limit = 5
    assert explorer.soql == (
        "SELECT Id, Name, Industry FROM Account WHERE Industry = 'Energy' LIMIT 5"
    )
    assert explorer.python_code == (
        "import ak_salesforce_nb as aksf\n\n"
        "sf = aksf.session('prod')\n"
        "df = sf.query("
        "\"SELECT Id, Name, Industry FROM Account WHERE Industry = 'Energy' LIMIT 5\")"
    )
    # The read-only boxes hold the same text, escaped, in a readonly textarea.
    assert "readonly" in explorer.soql_box.value
    assert "Industry = &#x27;Energy&#x27;" in explorer.soql_box.value
    frame = explorer.preview()
    assert isinstance(frame, pd.DataFrame) and 0 < len(frame) <= 5
    assert set(frame["Industry"]) == {"Energy"}
    assert list(frame.columns) == ["Id", "Name", "Industry"]
    assert "rows" in explorer.message.value
    assert explorer.frame is frame
    explorer.close()


async def test_the_python_line_reproduces_the_preview(flow: Flow) -> None:
    await flow.connect("prod")
    explorer = aksf.explore("prod")
    explorer.select_object("Contact")
    explorer.set_fields(["LastName", "Email", "Birthdate"])
    explorer.where = "Email != null AND LastName LIKE 'S%'"
    explorer.limit = 7
    preview = explorer.preview()
    namespace: dict[str, object] = {}
    exec(explorer.python_code, namespace)  # noqa: S102 - what a user pastes into a cell
    pd.testing.assert_frame_equal(namespace["df"], preview)
    namespace["sf"].close()  # type: ignore[attr-defined]
    explorer.close()


async def test_widgets_drive_it_like_a_browser(flow: Flow) -> None:
    await flow.connect("prod")
    explorer = aksf.explore("prod")
    explorer.search.value = "opp"  # typing in the search box
    # Objects whose name holds the text (the org's objects, case-insensitively).
    assert explorer.object_list.options == ("Opportunity", "OpportunityLineItem")
    explorer.object_list.value = "Opportunity"  # clicking the object
    assert explorer.object_name == "Opportunity"
    with aksf.session("prod") as sf:
        assert explorer.record_count == sf.count("SELECT COUNT() FROM Opportunity")
    explorer.field_list.value = ("Id", "StageName", "Amount")  # ticking fields
    explorer.field_list.value = ("Id", "StageName", "Amount", "CloseDate")
    assert explorer.selected_fields == ["Id", "StageName", "Amount", "CloseDate"]
    explorer.where_box.value = "Amount > 0"
    explorer.limit_box.value = 3
    assert html.escape(explorer.soql) in explorer.soql_box.value
    explorer.preview_button.click()
    assert "3 rows" in explorer.message.value
    # A filter that hides the chosen object keeps the choice.
    explorer.search.value = "acc"
    assert explorer.object_name == "Opportunity"
    explorer.close()


async def test_errors_show_in_the_widget(flow: Flow) -> None:
    await flow.connect("prod")
    explorer = aksf.explore("prod")
    explorer.select_object("Account")
    explorer.where = "Nope__c = 1"
    assert explorer.preview() is None
    lines = explorer.last_error.splitlines()
    assert lines[0].startswith("InvalidField (INVALID_FIELD): No such column 'Nope__c'")
    assert lines[2].index("^") - lines[1].index("SELECT") == explorer.soql.index("Nope__c")
    assert "Nope__c" in explorer.message.value
    with pytest.raises(ValueError, match="no field Bogus"):
        explorer.set_fields(["Id", "Bogus"])
    with pytest.raises(ValueError, match="no queryable object named 'Nothing'"):
        explorer.select_object("Nothing")
    with pytest.raises(ValueError, match="limit"):
        explorer.limit = 0
    explorer.close()


def test_a_thousand_objects_stay_responsive(
    wide_emu: RunningEmulator, wide_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """1,200 extra custom objects: filtering and picking take milliseconds."""
    started = time.perf_counter()
    explorer = aksf.explore("prod")
    opened = time.perf_counter() - started
    assert len(explorer.objects) > 1200
    # Every keystroke re-filters: time a realistic typing sequence.
    timings = []
    for text in ["", "c", "cu", "cus", "custom_0", "custom_07", "custom_077", "x", "zzz", ""]:
        started = time.perf_counter()
        found = explorer.filter(text)
        timings.append(time.perf_counter() - started)
        assert len(explorer.object_list.options) == min(len(found), explorer.list_size)
    assert explorer.list_size == 200
    assert "200 of 1,2" in explorer.list_note.value  # bounded, and says so
    assert explorer.filter("Custom_0777")[0] == "Custom_0777__c"
    assert explorer.filter("custom 0777") == ["Custom_0777__c"]  # labels match too
    picks = []
    for name in ["Custom_0001__c", "Custom_0600__c", "Custom_1200__c", "Account"]:
        started = time.perf_counter()
        explorer.select_object(name)
        picks.append(time.perf_counter() - started)
        assert explorer.object_name == name and explorer.fields
    started = time.perf_counter()
    explorer.select_object("Custom_0600__c")  # describe is cached: only COUNT() goes out
    again = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\nexplorer on {len(explorer.objects):,} objects: open {opened * 1000:.0f} ms, "
            f"filter median {statistics.median(timings) * 1000:.2f} ms "
            f"(max {max(timings) * 1000:.2f} ms), select median "
            f"{statistics.median(picks) * 1000:.1f} ms, select again {again * 1000:.1f} ms"
        )
    explorer.close()
    assert max(timings) < 0.05
    assert statistics.median(picks) < 1.0


def test_no_secret_in_widget_state(emu: RunningEmulator, store_path: Path) -> None:
    """What a saved notebook keeps of the widgets holds no token and no secret."""
    authorize_store(emu, store_path)
    with aksf.session("prod") as sf:
        store = sf.store
    tokens = store.get_tokens("prod")
    assert tokens is not None
    secrets = [
        tokens.access_token,
        tokens.refresh_token or "",
        store.get_client_secret("prod") or "",
    ]
    with aksf.explore("prod") as explorer:
        explorer.select_object("Account")
        explorer.preview()
        state = str([w.get_state() for w in explorer.all_widgets()])
        text = state + repr(explorer) + explorer.python_code
    assert len(state) > 1000  # the state really holds the explorer's content
    assert all(secret and secret not in text for secret in secrets)
