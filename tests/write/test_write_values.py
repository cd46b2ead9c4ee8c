"""Values as Salesforce reads them (JSON and Bulk CSV), error texts, and the matching of
shuffled Bulk result lines back to their rows."""

from __future__ import annotations

import datetime
import decimal
import zoneinfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ak_salesforce_nb.kernel._write_results import Matcher, parse_sf_error
from ak_salesforce_nb.kernel._write_values import CSV_NULL, MISSING, Converter, check_value

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("sf_type", "value", "text", "json"),
    [
        ("double", 0.1 + 0.2, "0.30000000000000004", 0.30000000000000004),
        ("double", 0.1, "0.1", 0.1),
        ("double", np.float32(0.1), "0.1", 0.1),
        ("currency", 1e20, "100000000000000000000", 100000000000000000000),
        ("currency", decimal.Decimal("12.50"), "12.50", "12.50"),
        ("currency", 5.0, "5", 5),
        ("int", 42.0, "42", 42),
        ("int", np.int64(7), "7", 7),
        ("int", "12", "12", 12),
        ("boolean", True, "true", True),
        ("boolean", np.bool_(False), "false", False),
        ("boolean", "FALSE", "false", False),
        ("date", datetime.date(2024, 1, 31), "2024-01-31", "2024-01-31"),
        ("date", pd.Timestamp("2024-01-31"), "2024-01-31", "2024-01-31"),
        (
            "datetime",
            datetime.datetime(2024, 1, 31, 13, 0, 0, 123456, tzinfo=PARIS),
            "2024-01-31T12:00:00.123Z",
            "2024-01-31T12:00:00.123Z",
        ),
        (
            "datetime",
            pd.Timestamp("2024-06-01 08:30", tz="US/Eastern"),
            "2024-06-01T12:30:00.000Z",
            "2024-06-01T12:30:00.000Z",
        ),
        (
            "datetime",
            datetime.datetime(2024, 1, 31, 12),
            "2024-01-31T12:00:00.000Z",
            "2024-01-31T12:00:00.000Z",
        ),
        (
            "datetime",
            "2024-01-31T12:00:00.000+0000",
            "2024-01-31T12:00:00.000Z",
            "2024-01-31T12:00:00.000Z",
        ),
        ("time", datetime.time(9, 30), "09:30:00.000Z", "09:30:00.000Z"),
        ("multipicklist", ["a", "b"], "a;b", "a;b"),
        ("multipicklist", {"b", "a"}, "a;b", "a;b"),
        ("string", 'O\'Brien, "Jr"', 'O\'Brien, "Jr"', 'O\'Brien, "Jr"'),
        ("string", 2024, "2024", "2024"),
        ("reference", "001000000000001AAA", "001000000000001AAA", "001000000000001AAA"),
    ],
)
def test_values_are_sent_exactly(sf_type: str, value: object, text: str, json: object) -> None:
    converter = Converter(sf_type)
    assert converter.text(value) == text
    assert converter.json(value) == json
    assert type(converter.json(value)) is type(json)


@pytest.mark.parametrize("null", [None, float("nan"), pd.NA, pd.NaT, np.nan, ""])
@pytest.mark.parametrize("sf_type", ["string", "int", "double", "date", "datetime", "boolean"])
def test_nulls_are_hash_na_in_csv_and_null_in_json(null: object, sf_type: str) -> None:
    converter = Converter(sf_type)
    assert converter.text(null) == CSV_NULL
    assert converter.json(null) is None


def test_a_missing_key_leaves_the_field_alone() -> None:
    converter = Converter("string")
    assert converter.text(MISSING) == ""
    assert converter.json(MISSING) is MISSING


def test_values_that_do_not_fit_are_found_before_sending() -> None:
    number = {"name": "NumberOfEmployees", "label": "Employees", "type": "int"}
    assert check_value(1.5, number) == (
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "Employees: value not of required type: 1.5",
    )
    assert check_value("12", number) is None
    assert check_value(True, number) is not None
    day = {"name": "Founded__c", "type": "date"}
    assert check_value(pd.Timestamp("2024-01-31 10:00"), day) is not None
    picklist = {
        "name": "Industry",
        "type": "picklist",
        "restrictedPicklist": True,
        "picklistValues": [{"value": "Energy", "active": True}],
    }
    assert check_value("Energy", picklist) is None
    assert check_value("Oil", picklist)[0] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"  # type: ignore[index]
    text = {"name": "Code", "type": "string", "length": 3}
    assert check_value("abcd", text)[0] == "STRING_TOO_LONG"  # type: ignore[index]
    lookup = {"name": "AccountId", "type": "reference"}
    assert check_value("not an id", lookup)[0] == "MALFORMED_ID"  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
            ("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"]),
        ),
        (
            "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--",
            ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []),
        ),
        (
            "DUPLICATE_VALUE:duplicate value found: A:B,C --",
            ("DUPLICATE_VALUE", "duplicate value found: A", ["B", "C"]),
        ),
        ("something odd", ("UNKNOWN_ERROR", "something odd", [])),
    ],
)
def test_sf_error_texts(text: str, expected: tuple[str, str, list[str]]) -> None:
    assert parse_sf_error(text) == expected


def test_shuffled_lines_go_back_to_their_rows() -> None:
    keys = [(f"Name {i}", str(i)) for i in range(50)]
    rows = list(range(100, 150))
    matcher = Matcher(["Name", "Ext"], keys, rows, key_column=None, id_key=False)
    lines = list(reversed(keys))
    pairs = dict(matcher.match(lines))
    assert all(pairs[n] == 100 + (49 - n) for n in range(50))


def test_twins_go_to_separate_rounds_and_nulls_match_blank_echoes() -> None:
    keys = [("Acme", "#N/A"), ("Acme", "#N/A"), ("Beta", "x"), ("Acme", "#N/A")]
    assert Matcher.rounds(keys, 8) == [0, 1, 0, 2]
    assert Matcher.rounds(keys, 2) == [0, 1, 0, 1]
    matcher = Matcher(["Name", "Note"], keys[:1] + keys[2:3], [0, 2], key_column=None, id_key=False)
    assert sorted(matcher.match([("Beta", "x"), ("Acme", "")])) == [(0, 2), (1, 0)]


def test_twins_in_one_job_each_take_one_line() -> None:
    """Past the round limit twins share a job: each identical line takes one twin, in
    order, and a line too many is left unplaced."""
    keys = [("Acme", "1"), ("Beta", "2"), ("Acme", "1"), ("Acme", "1")]
    matcher = Matcher(["Name", "Ext"], keys, [10, 11, 12, 13], key_column=None, id_key=False)
    lines = [("Acme", "1"), ("Acme", "1"), ("Beta", "2"), ("Acme", "1"), ("Acme", "1")]
    assert matcher.match(lines) == [(0, 10), (1, 12), (2, 11), (3, 13)]


def test_rows_with_their_own_keys_are_placed_by_the_key_alone() -> None:
    """Step 0: every row sent its own external id, so a line is placed by its echoed key
    (other echoed fields need not even agree); a line echoing a blank key falls back to
    the whole line; a job whose rows share a key has no step 0."""
    from ak_salesforce_nb.kernel._write_frames import Outcomes
    from ak_salesforce_nb.kernel._write_results import apply_bulk_file

    keys = [(f"ext-{i}", f"Name {i}") for i in range(4)]
    matcher = Matcher(["Ext__c", "Name"], keys, [10, 11, 12, 13], key_column=0, id_key=False)
    assert matcher.keyed == {"ext-0": 0, "ext-1": 1, "ext-2": 2, "ext-3": 3}
    body = (
        b'"sf__Id","sf__Created","Ext__c","Name"\n'
        b'"001A","true","ext-3","echoed differently"\n'
        b'"001B","false","","Name 1"\n'
        b'"001C","true","ext-0","Name 0"\n'
    )
    outcomes = Outcomes(14)
    assert apply_bulk_file(outcomes, matcher, body, kind="successful", operation="upsert") == 3
    assert outcomes.id[13] == "001A" and outcomes.created[13] is True
    assert outcomes.id[11] == "001B" and outcomes.created[11] is False  # by its other field
    assert outcomes.id[10] == "001C" and not outcomes.answered[12]
    shared = Matcher(["Ext__c"], [("a",), ("a",)], [0, 1], key_column=0, id_key=False)
    assert shared.keyed is None


def test_a_line_echoed_with_blanks_is_placed_by_key_then_by_what_it_echoes() -> None:
    keys = [("001000000000001AAA", "One"), ("001000000000002AAA", "Two")]
    matcher = Matcher(["Id", "Name"], keys, [0, 1], key_column=0, id_key=True)
    # Salesforce echoed Name blank; the 15-character Id still names the row.
    assert matcher.match([("001000000000002", ""), ("", "One")]) == [(0, 1), (1, 0)]


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=50))
def test_a_float_column_gets_the_same_text_as_each_value_alone(values: list[float]) -> None:
    converter = Converter("currency")
    assert converter.texts(values) == [converter.text(v) for v in values]


def test_row_keys_hold_columns_and_match_like_tuples() -> None:
    from ak_salesforce_nb.kernel._write_results import RowKeys

    columns = [["e-1", "e-2", "e-3"], ["Acme", "Globex", ""]]
    keys = RowKeys(columns)
    tuples = [("e-1", "Acme"), ("e-2", "Globex"), ("e-3", "")]
    assert len(keys) == 3
    assert list(keys) == tuples
    assert keys[-1] == ("e-3", "") and keys[1:] == tuples[1:]
    assert keys.column(1) is columns[1]
    with pytest.raises(IndexError):
        keys[3]
    lines = [("e-3", ""), ("", "Acme"), ("e-2", "Globex")]
    for key_column in (0, None):
        held = Matcher(["Ext__c", "Name"], keys, [7, 8, 9], key_column=key_column, id_key=False)
        plain = Matcher(["Ext__c", "Name"], tuples, [7, 8, 9], key_column=key_column, id_key=False)
        assert (held.keyed is None) == (plain.keyed is None) == (key_column is None)
        assert sorted(held.match(lines)) == sorted(plain.match(lines)) == [(0, 9), (1, 7), (2, 8)]
