"""Binding Python values into SOQL: quoting is data, never code."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from ak_salesforce_nb import ConfigurationError
from ak_salesforce_nb._soql_params import bind, placeholders, soql_literal


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", "'plain'"),
        ("O'Brien", "'O\\'Brien'"),
        ("back\\slash", "'back\\\\slash'"),
        ("line\nbreak\ttab", "'line\\nbreak\\ttab'"),
        ('say "hi"', "'say \\\"hi\\\"'"),
        ("ünïcødé ✓", "'ünïcødé ✓'"),
        (42, "42"),
        (-1.5, "-1.5"),
        (decimal.Decimal("10.50"), "10.50"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (dt.date(2024, 1, 31), "2024-01-31"),
        (dt.datetime(2024, 1, 31, 12, 0, 0), "2024-01-31T12:00:00Z"),
        (
            dt.datetime(2024, 1, 31, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2024-01-31T12:00:00Z",
        ),
        (["a", "b'c"], "('a', 'b\\'c')"),
        ((1, 2), "(1, 2)"),
    ],
)
def test_literals(value: object, literal: str) -> None:
    assert soql_literal(value) == literal


@pytest.mark.parametrize("bad", [float("nan"), [], object(), {"a": 1}])
def test_unbindable_values_name_the_placeholder(bad: object) -> None:
    with pytest.raises(ConfigurationError, match=":v"):
        bind("SELECT Id FROM Account WHERE Name = :v", {"v": bad})


def test_placeholders_inside_strings_are_text() -> None:
    soql = "SELECT Id FROM Account WHERE Name = ':v' AND Industry = :v AND X = 'it\\'s :v'"
    assert placeholders(soql) == ["v"]
    assert bind(soql, {"v": "E"}) == (
        "SELECT Id FROM Account WHERE Name = ':v' AND Industry = 'E' AND X = 'it\\'s :v'"
    )


def test_missing_variable_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="define a variable 'who'"):
        bind("SELECT Id FROM User WHERE Name = :who", {})


def test_date_literals_are_not_placeholders() -> None:
    soql = "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:30"
    assert bind(soql, {}) == soql
