"""The explorer's edit mode against the emulator: edit cells, see the diff, write back,
get the result frame; and an accessible name on every control."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.kernel._explorer import Explorer
from tests.explore.conftest import authorize_store


@pytest.fixture
def explorer(emu: RunningEmulator, store_path: Path) -> Iterator[Explorer]:
    authorize_store(emu, store_path)
    with aksf.session("prod", progress=False) as sf, Explorer("prod", session=sf) as ex:
        yield ex


def test_edit_diff_and_write_back(explorer: Explorer) -> None:
    ex = explorer
    ex.select_object("Account")
    ex.set_fields(["Id", "Name", "Industry", "NumberOfEmployees", "CreatedDate"])
    ex.limit = 3
    rows = ex.preview()
    with pytest.raises(KeyError):
        ex.set_cell(0, "Name", "x")  # not in edit mode yet
    ex.edit()
    assert ex.edit_button.value
    assert (0, "CreatedDate") not in ex.cells  # read-only fields are not cells
    ex.set_cell(0, "Industry", "Energy")
    ex.set_cell(2, "NumberOfEmployees", "")
    ex.set_cell(1, "Name", rows.Name[1])  # typed back as it was: no change
    diff = ex.diff
    assert list(diff.field) == ["Industry", "NumberOfEmployees"]
    assert list(diff.Id) == [rows.Id[0], rows.Id[2]]
    ex._show_diff()
    assert "<ins>Energy</ins>" in ex.diff_box.value
    assert ex.write_button.description == "Write back (2)"
    assert ex.changes == [
        {"Id": rows.Id[0], "Industry": "Energy"},
        {"Id": rows.Id[2], "NumberOfEmployees": None},
    ]
    result = ex.write_back()
    assert list(result.success) == [True, True]
    assert list(result.columns) == [
        "success",
        "id",
        "created",
        "error_code",
        "error_message",
        "error_fields",
    ]
    assert ex.diff.empty and ex.write_button.description == "Write back"
    after = ex.session.query(
        f"SELECT Id, Industry, NumberOfEmployees FROM Account WHERE Id IN "
        f"('{rows.Id[0]}', '{rows.Id[2]}') ORDER BY Id"
    ).set_index("Id")
    assert after.loc[rows.Id[0], "Industry"] == "Energy"
    assert after.NumberOfEmployees.isna().loc[rows.Id[2]]


def test_a_failed_row_keeps_its_edit_and_shows_why(explorer: Explorer) -> None:
    ex = explorer
    ex.select_object("Account")
    ex.set_fields(["Id", "Tier__c"])
    ex.limit = 1
    ex.preview()
    ex.edit()
    ex.set_cell(0, "Tier__c", "Platinum")  # not a value of the restricted picklist
    result = ex.write_back()
    assert result.error_code[0] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert "1 failed" in ex.message.value
    assert len(ex.diff) == 1


def test_edit_needs_the_id_and_a_preview(explorer: Explorer) -> None:
    ex = explorer
    with pytest.raises(ValueError, match="Preview"):
        ex.edit()
    ex.select_object("Account")
    ex.set_fields(["Name"])
    ex.preview()
    with pytest.raises(ValueError, match="Id"):
        ex.edit()
    ex.edit_button.value = True  # from the widget: the reason shows, the toggle goes back
    assert not ex.edit_button.value and "Id" in ex.message.value


def test_every_control_has_an_accessible_name(explorer: Explorer) -> None:
    ex = explorer
    ex.select_object("Account")
    ex.set_fields(["Id", "Name"])
    ex.limit = 2
    ex.preview()
    ex.edit()
    controls = ex.controls()
    assert len(controls) > 10
    unnamed = [w for w in controls if not (w.description or w.tooltip)]
    assert unnamed == []
    assert "aria-label='SOQL query'" in ex.soql_box.value
