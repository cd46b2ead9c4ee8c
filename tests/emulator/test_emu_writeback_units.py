"""Units of the emulator's write-back: store transactions, CSV values, faults, results."""

from __future__ import annotations

import threading

import pytest

from ak_salesforce_nb.emulator import EmulatorConfig
from ak_salesforce_nb.emulator._csv_values import coerce_csv, error_text
from ak_salesforce_nb.emulator._errors import ApiError
from ak_salesforce_nb.emulator._faults import FaultPlan
from ak_salesforce_nb.emulator._ingest import render_csv_file
from ak_salesforce_nb.emulator._state import EmulatorState
from ak_salesforce_nb.emulator._values import now_datetime


@pytest.fixture(scope="module")
def state() -> EmulatorState:
    return EmulatorState(EmulatorConfig(accounts=30, seed=2))


def snapshot(state: EmulatorState) -> dict[str, object]:
    table = state.store.tables["account"]
    return {
        "rows": len(table),
        "columns": {name: list(column) for name, column in table.columns.items()},
        "index": dict(table.index),
        "unique": {name: dict(index) for name, index in table.unique_indexes.items()},
        "purged": set(table.purged),
        "contacts": list(state.store.tables["contact"].columns["IsDeleted"]),
    }


def test_rollback_undoes_inserts_updates_deletes_and_purges(state: EmulatorState) -> None:
    records, table = state.records, state.store.tables["account"]
    user = state.store.user_id("ada@example.com")
    before = snapshot(state)
    transaction = state.store.transaction()
    new_id = records.create(table, {"Name": "Temp", "External_Id__c": "TX-1"}, user)
    records.update(table, 0, {"External_Id__c": "TX-0", "Name": "Changed"}, user)
    records.delete(table, 1, hard=True)  # cascades to its contacts, and purges
    assert table.find_unique("External_Id__c", "tx-1") is not None
    assert table.row_of(table.columns["Id"][1]) is None  # purged: not found by id
    with pytest.raises(RuntimeError, match="already open"):
        state.store.transaction()
    transaction.rollback()
    assert snapshot(state) == before
    assert table.row_of(new_id) is None
    assert table.find_unique("External_Id__c", "TX-1") is None
    assert table.find_unique("External_Id__c", "EXT-000001") == 0
    kept = state.store.transaction()
    records.update(table, 2, {"Rating": "Hot"}, user)
    kept.commit()
    assert table.columns["Rating"][2] == "Hot"
    assert all(t.journal is None for t in state.store.all_tables())


@pytest.mark.parametrize(
    ("field", "text", "stored"),
    [
        ("Is_Partner__c", "TRUE", True),
        ("Is_Partner__c", "0", False),
        ("Is_Partner__c", "No", False),
        ("NumberOfEmployees", "-12", -12),
        ("Score__c", "1.5E3", 1500.0),
        ("AnnualRevenue", "0.1", 0.1),
        ("Customer_Since__c", "2024-02-29", "2024-02-29"),
        ("Last_Review__c", "2024-01-01T00:30:00-01:00", "2024-01-01T01:30:00.000+0000"),
        ("Last_Review__c", "2024-01-01T10:00:00.5Z", "2024-01-01T10:00:00.500+0000"),
        ("Last_Review__c", "2024-01-01T10:00:00+0530", "2024-01-01T04:30:00.000+0000"),
        ("Regions__c", "AMER;APAC", "AMER;APAC"),
        ("Name", " spaced ", " spaced "),
        ("Name", None, None),
    ],
)
def test_csv_text_to_stored_values(
    state: EmulatorState, field: str, text: str | None, stored: object
) -> None:
    f = state.schema.get("Account").field(field)  # type: ignore[union-attr]
    assert f is not None
    assert coerce_csv(f, text) == stored


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("Is_Partner__c", "maybe"),
        ("NumberOfEmployees", "1.5"),
        ("NumberOfEmployees", "12 "),
        ("Score__c", "NaN"),
        ("Score__c", "1,5"),
        ("Customer_Since__c", "2023-02-29"),
        ("Customer_Since__c", "2024-01-01T00:00:00Z"),
        ("Customer_Since__c", "01/02/2024"),
        ("Last_Review__c", "noon"),
    ],
)
def test_csv_texts_that_fail_their_row(state: EmulatorState, field: str, text: str) -> None:
    f = state.schema.get("Account").field(field)  # type: ignore[union-attr]
    assert f is not None
    with pytest.raises(ApiError) as caught:
        coerce_csv(f, text)
    assert caught.value.error_code == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    assert caught.value.fields == [field]
    assert caught.value.message == f"{f.label}: value not of required type: {text}"


def test_error_text_is_code_message_fields() -> None:
    message = "Required fields are missing: [Name]"
    missing = ApiError(400, "REQUIRED_FIELD_MISSING", message, ["Name"])
    assert error_text(missing) == f"REQUIRED_FIELD_MISSING:{message}:Name --"
    assert error_text(ApiError(400, "X", "m", ["A", "B"])) == "X:m:A B --"
    assert error_text(ApiError(400, "X", "m")) == "X:m:--"


def test_result_files_quote_every_field() -> None:
    text = render_csv_file(["sf__Id", "Name"], [["", 'a "b", c'], ["001", "x\ny"]], "|", "\r\n")
    assert text == '"sf__Id"|"Name"\r\n""|"a ""b"", c"\r\n"001"|"x\ny"\r\n'


def test_fault_plan_counts_down_by_path() -> None:
    plan = FaultPlan()
    plan.add_request_fault("unavailable", 2, path="/composite/")
    plan.add_request_fault("reset")
    assert plan.pending() == {"locked_rows": 0, "unavailable": 2, "reset": 1}
    first = plan.take_request_fault("/services/data/v66.0/composite/sobjects")
    assert first is not None and first.kind == "unavailable"
    assert first.error().status == 503
    other = plan.take_request_fault("/services/data/v66.0/limits")
    assert other is not None and other.kind == "reset"
    assert plan.take_request_fault("/services/data/v66.0/limits") is None
    assert plan.take_request_fault("/x/composite/y") is not None
    assert plan.take_request_fault("/x/composite/y") is None
    plan.lock_rows(2)
    assert [plan.take_row_lock() for _ in range(3)] == [True, True, False]
    with pytest.raises(ValueError, match="at least 1"):
        plan.add_request_fault("unavailable", 0)
    with pytest.raises(ValueError, match="negative"):
        plan.lock_rows(-1)


def test_row_locks_are_shared_safely_between_threads() -> None:
    plan = FaultPlan()
    plan.lock_rows(1000)
    taken: list[int] = []

    def worker() -> None:
        taken.append(sum(plan.take_row_lock() for _ in range(600)))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(taken) == 1000 and plan.pending()["locked_rows"] == 0


def test_now_is_salesforce_text_and_moves_forward() -> None:
    first = now_datetime()
    assert len(first) == 28 and first.endswith("+0000") and first[10] == "T"
    assert now_datetime() >= first
