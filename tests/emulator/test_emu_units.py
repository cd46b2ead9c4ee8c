"""Unit tests of the emulator's tornado-free pieces: ids, SOQL syntax, date literals, data."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ak_salesforce_nb.emulator import EmulatorConfig
from ak_salesforce_nb.emulator._data import populate
from ak_salesforce_nb.emulator._ids import IdAllocator, to15, to18
from ak_salesforce_nb.emulator._schema import build_schema
from ak_salesforce_nb.emulator._soql_dates import date_range
from ak_salesforce_nb.emulator._soql_parser import SoqlError, parse
from ak_salesforce_nb.emulator._store import Store


def test_18_character_ids_follow_salesforce_checksum() -> None:
    # The example from Salesforce's documentation of the 18-character id.
    assert to18("001D000000IqhSL") == "001D000000IqhSLIAZ"
    assert to15("001D000000IqhSLIAZ") == "001D000000IqhSL"
    # 18-character ids are case-insensitive: the suffix restores the case.
    assert to15("001d000000iqhsliaz") == "001D000000IqhSL"
    assert to15("001D000000IqhSL") == "001D000000IqhSL"
    assert to15("not-an-id") is None
    assert to15("001D000000IqhSL!!!") is None


def test_allocated_ids_are_sequential_valid_and_unique() -> None:
    allocator = IdAllocator("003")
    ids = allocator.allocate_many(5000) + [allocator.allocate() for _ in range(3)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 18 and i.startswith("003") and to18(i[:15]) == i for i in ids)


def test_soql_string_escapes() -> None:
    query = parse(r"SELECT Id FROM Account WHERE Name = 'O\'Brien \\ \"x\" \n \u00e9'")
    assert query.where is not None
    assert query.where.value.value == 'O\'Brien \\ "x" \n é'  # type: ignore[union-attr]


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40))
def test_soql_string_literals_round_trip(text: str) -> None:
    escaped = (
        text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    )
    query = parse(f"SELECT Id FROM Account WHERE Name = '{escaped}'")
    assert query.where.value.value == text  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "column", "detail"),
    [
        ("SELECT Id FROM", 15, "unexpected token: <EOF>"),
        ("SELECT FROM Account", 8, "unexpected token: 'FROM'"),
        ("SELECT Id FROM Account WHERE", 29, "unexpected token: <EOF>"),
        ("SELECT Id FROM Account WHERE Name = 'a' AND Id = 'b' OR Id = 'c'", 54, "'OR'"),
        ("SELECT Id FROM Account LIMIT x", 30, "unexpected token: 'x'"),
        ("SELECT Id FROM Account WHERE Name = 'abc", 41, "unexpected token: <EOF>"),
        (r"SELECT Id FROM Account WHERE Name = 'a\x'", 37, "Illegal character sequence"),
    ],
)
def test_malformed_queries_point_at_the_problem(text: str, column: int, detail: str) -> None:
    with pytest.raises(SoqlError) as caught:
        parse(text)
    assert caught.value.error_code == "MALFORMED_QUERY"
    message = caught.value.message(text)
    assert f"ERROR at Row:1:Column:{column}\n" in message
    assert detail in message
    lines = message.split("\n")
    assert lines[1] == text and lines[2] == " " * (column - 1) + "^"


def test_error_rows_count_lines() -> None:
    text = "SELECT Id\nFROM Account\nWHERE Name = 5 5"
    with pytest.raises(SoqlError) as caught:
        parse(text)
    assert "ERROR at Row:3:Column:16" in caught.value.message(text)


def test_date_literals() -> None:
    today = datetime.date(2024, 6, 15)  # a Saturday
    day = datetime.timedelta(days=1)
    assert date_range("TODAY", None, today) == (today, today + day)
    assert date_range("THIS_WEEK", None, today) == (
        datetime.date(2024, 6, 9),
        datetime.date(2024, 6, 16),
    )
    assert date_range("LAST_N_DAYS", 30, today) == (today - 30 * day, today + day)
    assert date_range("THIS_QUARTER", None, today) == (
        datetime.date(2024, 4, 1),
        datetime.date(2024, 7, 1),
    )
    assert date_range("LAST_MONTH", None, today) == (
        datetime.date(2024, 5, 1),
        datetime.date(2024, 6, 1),
    )
    assert date_range("NEXT_N_MONTHS", 7, today)[1] == datetime.date(2025, 2, 1)
    assert date_range("LAST_YEAR", None, today) == (
        datetime.date(2023, 1, 1),
        datetime.date(2024, 1, 1),
    )


def _store(seed: int) -> Store:
    config = EmulatorConfig(accounts=40, seed=seed, anchor_date=datetime.date(2024, 1, 1))
    store = Store(build_schema())
    populate(store, config)
    return store


def test_generated_data_is_deterministic_and_related() -> None:
    first, again, other = _store(5), _store(5), _store(6)
    accounts = first.tables["account"]
    assert accounts.columns == again.tables["account"].columns
    assert accounts.columns["Name"] != other.tables["account"].columns["Name"]
    assert len(accounts) == 40
    assert len(first.tables["contact"]) == 100
    assert len(first.tables["opportunity"]) == 60
    account_ids = set(accounts.columns["Id"])
    contact_accounts = {a for a in first.tables["contact"].columns["AccountId"] if a}
    assert contact_accounts <= account_ids
    user_ids = set(first.users.columns["Id"])
    assert set(accounts.columns["OwnerId"]) <= user_ids
    assert first.users.columns["Name"][0] == "Ada Lovelace"
    assert first.org_id.startswith("00D") and len(first.org_id) == 18
