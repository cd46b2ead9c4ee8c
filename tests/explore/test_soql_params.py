"""Binding Python values into SOQL: quoting is data, never code.

The round trip through a real SOQL reader uses the emulator's tokenizer, which was written
separately from the Salesforce documentation: a literal we build must read back as the
very value we bound.
"""

from __future__ import annotations

import datetime as dt
import decimal
import fractions

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ak_salesforce_nb import ConfigurationError
from ak_salesforce_nb.emulator._soql_parser import tokenize
from ak_salesforce_nb.kernel._soql_params import (
    SoqlParameterError,
    bind,
    bind_query,
    find_placeholders,
    placeholders,
    soql_literal,
)

PARIS = dt.timezone(dt.timedelta(hours=1))


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", "'plain'"),
        ("O'Brien", "'O\\'Brien'"),
        ("back\\slash", "'back\\\\slash'"),
        ("line\nbreak\ttab\rret", "'line\\nbreak\\ttab\\rret'"),
        ('say "hi"', "'say \\\"hi\\\"'"),
        ("bell\b feed\f", "'bell\\b feed\\f'"),
        ("nul\x00 del\x7f", "'nul\\u0000 del\\u007f'"),
        ("ünïcødé ✓ 😀", "'ünïcødé ✓ 😀'"),
        ("100% _done_", "'100% _done_'"),  # not LIKE-escaped: wildcards stay wildcards
        ("x' OR Name != '", "'x\\' OR Name != \\''"),
        ("", "''"),
        (42, "42"),
        (-7, "-7"),
        (np.int64(5), "5"),
        (-1.5, "-1.5"),
        (1e-05, "0.00001"),
        (1e20, "100000000000000000000"),
        (-0.0, "0"),
        (np.float32(1.5), "1.5"),
        (fractions.Fraction(1, 4), "0.25"),
        (decimal.Decimal("10.50"), "10.50"),
        (decimal.Decimal("1E+3"), "1000"),
        (True, "true"),
        (False, "false"),
        (np.bool_(True), "true"),
        (None, "null"),
        (dt.date(2024, 1, 31), "2024-01-31"),
        (dt.date(5, 1, 2), "0005-01-02"),
        (dt.datetime(2024, 1, 31, 12, 0, 0), "2024-01-31T12:00:00Z"),  # naive = UTC
        (dt.datetime(2024, 1, 31, 12, 0, 0, 123456), "2024-01-31T12:00:00.123Z"),
        (
            dt.datetime(2024, 1, 31, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2024-01-31T12:00:00Z",
        ),
        (pd.Timestamp("2024-01-31 00:30", tz="Europe/Paris"), "2024-01-30T23:30:00Z"),
        (["a", "b'c"], "('a', 'b\\'c')"),
        ((1, 2), "(1, 2)"),
        ({"b", "a"}, "('a', 'b')"),
        (frozenset({3, 1}), "(1, 3)"),
        ((None, True, dt.date(2024, 2, 29)), "(null, true, 2024-02-29)"),
        (pd.Series(["x", "y"]), "('x', 'y')"),
        (np.array([1, 2]), "(1, 2)"),
        (range(3), "(0, 1, 2)"),
    ],
)
def test_literals(value: object, literal: str) -> None:
    assert soql_literal(value) == literal


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (float("nan"), "cannot express"),
        (float("inf"), "cannot express"),
        (decimal.Decimal("NaN"), "cannot express"),
        (pd.NaT, "use None for null"),
        ([], "empty"),
        (set(), "empty"),
        ([[1]], "holds a value of type list"),
        ([object()], "holds a value of type object"),
        (object(), "type object"),
        ({"a": 1}, "type dict"),
        (b"bytes", "type bytes"),
        (pd.DataFrame({"a": [1]}), "type DataFrame"),
        (pd.NA, "type NAType"),
        (1 + 2j, "type complex"),
    ],
)
def test_unbindable_values_name_the_placeholder(bad: object, why: str) -> None:
    with pytest.raises(SoqlParameterError, match=":v") as info:
        bind("SELECT Id FROM Account WHERE Name = :v", {"v": bad})
    assert why in str(info.value)
    assert info.value.name == "v"
    assert info.value.offset == len("SELECT Id FROM Account WHERE Name = ")
    assert isinstance(info.value, ConfigurationError)


def test_missing_variable_is_a_clear_error() -> None:
    with pytest.raises(SoqlParameterError, match="define a variable 'who'") as info:
        bind("SELECT Id FROM User WHERE Name = :who", {})
    assert info.value.offset == 33


def test_placeholders_inside_strings_are_text() -> None:
    soql = "SELECT Id FROM Account WHERE Name = ':v' AND Industry = :v AND X = 'it\\'s :v'"
    assert placeholders(soql) == ["v"]
    assert bind(soql, {"v": "E"}) == (
        "SELECT Id FROM Account WHERE Name = ':v' AND Industry = 'E' AND X = 'it\\'s :v'"
    )


def test_a_backslash_before_the_closing_quote_does_not_end_the_literal() -> None:
    soql = "SELECT Id FROM A WHERE N = 'a\\\\' AND M = :m AND O = '\\\\:x'"
    assert placeholders(soql) == ["m"]


def test_unterminated_literal_holds_no_placeholder() -> None:
    assert placeholders("SELECT Id FROM A WHERE N = 'oops :v") == []


def test_date_literals_and_word_colons_are_not_placeholders() -> None:
    soql = "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:30 AND X = NEXT_N_WEEKS:n"
    assert bind(soql, {}) == soql


def test_placeholder_positions_and_names() -> None:
    soql = "SELECT Id FROM A WHERE (N = :a_1 OR M IN :_b)\nAND O=:c"
    found = find_placeholders(soql)
    assert [(p.name, soql[p.start : p.end]) for p in found] == [
        ("a_1", ":a_1"),
        ("_b", ":_b"),
        ("c", ":c"),
    ]


def test_the_same_placeholder_twice_binds_twice() -> None:
    assert bind("SELECT Id FROM A WHERE N = :v OR M = :v", {"v": 1}) == (
        "SELECT Id FROM A WHERE N = 1 OR M = 1"
    )


def test_offsets_map_back_to_the_source() -> None:
    source = "SELECT Id FROM A WHERE N = :n AND M IN :m AND O = 1"
    bound = bind_query(source, {"n": "a long value", "m": [1, 2, 3]})
    assert bound.text == "SELECT Id FROM A WHERE N = 'a long value' AND M IN (1, 2, 3) AND O = 1"
    # Copied text maps exactly; anywhere inside a bound value maps to its ':'.
    assert bound.source_offset(0) == 0
    assert bound.source_offset(bound.text.index("'a long")) == source.index(":n")
    assert bound.source_offset(bound.text.index("long")) == source.index(":n")
    assert bound.source_offset(bound.text.index("(1, 2")) == source.index(":m")
    assert bound.source_offset(bound.text.index("O = 1")) == source.index("O = 1")


# -- properties ---------------------------------------------------------------------------


def _read_back(literal: str) -> object:
    """The value a SOQL reader (the emulator's tokenizer) sees in `literal`."""
    tokens = tokenize(literal)
    assert [t.kind for t in tokens] == ["STRING", "EOF"], tokens
    return tokens[0].value


# Any text a Python str can carry to Salesforce: every code point but lone surrogates.
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@given(texts)
def test_any_string_reads_back_as_itself(value: str) -> None:
    assert _read_back(soql_literal(value)) == value


@given(texts, texts)
def test_a_bound_string_never_escapes_its_literal(value: str, other: str) -> None:
    soql = bind("SELECT Id FROM Account WHERE Name = :v AND Site = :w", {"v": value, "w": other})
    tokens = tokenize(soql)
    strings = [t.value for t in tokens if t.kind == "STRING"]
    # Exactly two string tokens, holding exactly our values: nothing leaked out as code.
    assert strings == [value, other]
    assert [t.text for t in tokens if t.kind != "STRING"] == [
        "SELECT", "Id", "FROM", "Account", "WHERE", "Name", "=", "AND", "Site", "=", "<EOF>"
    ]  # fmt: skip


@given(st.lists(st.one_of(texts, st.integers(), st.booleans(), st.none()), min_size=1))
def test_lists_bind_each_item(values: list[object]) -> None:
    tokens = tokenize(soql_literal(values))
    assert tokens[0].kind == "LPAREN" and tokens[-2].kind == "RPAREN"
    items = [t for t in tokens[1:-2] if t.kind != "COMMA"]
    assert len(items) == len(values)


@given(
    st.decimals(allow_nan=False, allow_infinity=False)
    | st.floats(allow_nan=False, allow_infinity=False)
)
def test_numbers_read_back_as_the_same_number(value: decimal.Decimal | float) -> None:
    literal = soql_literal(value)
    assert "e" not in literal.lower()
    assert decimal.Decimal(literal) == decimal.Decimal(
        repr(value) if isinstance(value, float) else value
    )


@given(st.datetimes(timezones=st.none() | st.timezones()))
def test_datetimes_are_utc_with_millisecond_precision(value: dt.datetime) -> None:
    literal = soql_literal(value)
    parsed = dt.datetime.fromisoformat(literal.replace("Z", "+00:00"))
    expected = value.replace(tzinfo=dt.timezone.utc) if value.utcoffset() is None else value
    assert abs(parsed - expected) < dt.timedelta(milliseconds=1)
    assert literal.endswith("Z")
