"""`%%soql` and `%soql` in IPython's real InteractiveShell, against the emulator."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._environment import ENV_STORE
from ak_salesforce_nb.emulator import RunningEmulator
from tests.conftest import Flow

from .conftest import authorize_store


def magics(shell: Any) -> Any:
    return shell.magics_manager.registry["SoqlMagics"]


@pytest.fixture(autouse=True)
def _close_sessions(shell: Any) -> Any:
    yield
    for session in magics(shell).sessions.values():
        session.close()
    magics(shell).sessions.clear()


def bulk_jobs(sf: aksf.Session) -> int:
    return int(10_000 - sf.limits()["DailyBulkV2QueryJobs"]["Remaining"])


def run_failing(shell: Any, capsys: pytest.CaptureFixture[str], cell: str) -> tuple[Any, str]:
    """Run `cell` as a notebook would; (the error, what the cell printed)."""
    result = shell.run_cell(cell)
    assert not result.success
    out = capsys.readouterr()
    return result.error_in_exec, out.out + out.err


# -- results --------------------------------------------------------------------------------


async def test_cell_magic_binds_stores_and_returns(flow: Flow, shell: Any) -> None:
    await flow.connect("prod")
    shell.user_ns["industry"] = "Energy"
    shell.user_ns["floor"] = 1_000_000.0
    frame = shell.run_cell_magic(
        "soql",
        "-c prod -o energy",
        "SELECT Name, Industry, AnnualRevenue, CreatedDate\n"
        "FROM Account\n"
        "WHERE Industry = :industry AND AnnualRevenue > :floor\n",
    )
    assert isinstance(frame, pd.DataFrame) and len(frame) > 0
    assert set(frame["Industry"]) == {"Energy"}
    assert (frame["AnnualRevenue"] > 1_000_000).all()
    assert str(frame["AnnualRevenue"].dtype) == "Float64"
    assert "datetime64" in str(frame["CreatedDate"].dtype)
    assert shell.user_ns["energy"] is frame
    assert "_soql" not in shell.user_ns


async def test_default_output_is_underscore_soql(flow: Flow, shell: Any) -> None:
    await flow.connect("prod")
    first = shell.run_cell_magic("soql", "-c prod", "SELECT Id FROM Account LIMIT 3")
    assert shell.user_ns["_soql"] is first
    second = shell.run_line_magic("soql", "-c prod SELECT Id, Name FROM Account LIMIT 2")
    assert shell.user_ns["_soql"] is second and len(second) == 2


async def test_cell_output_is_the_dataframe(flow: Flow, shell: Any) -> None:
    await flow.connect("prod")
    result = shell.run_cell("%%soql -c prod\nSELECT Id FROM Account LIMIT 4\n")
    assert result.success
    assert isinstance(result.result, pd.DataFrame) and len(result.result) == 4
    quiet = shell.run_cell("%%soql -c prod -q -o kept\nSELECT Id FROM Account LIMIT 4\n")
    assert quiet.success and quiet.result is None
    assert len(shell.user_ns["kept"]) == 4


async def test_injection_attempt_is_bound_as_data(flow: Flow, shell: Any) -> None:
    await flow.connect("prod")
    shell.user_ns["name"] = "x' OR Name != '"
    frame = shell.run_cell_magic("soql", "-c prod", "SELECT Id FROM Account WHERE Name = :name")
    assert len(frame) == 0
    # The same query pasted as text would return every row: the binding is what stopped it.
    everything = shell.run_cell_magic(
        "soql", "-c prod", "SELECT Id FROM Account WHERE Name = 'x' OR Name != ''"
    )
    assert len(everything) == 300


async def test_bound_names_find_exactly_their_record(flow: Flow, shell: Any) -> None:
    """A record named by hypothesis is found by ``Name = :v``, and only it."""
    await flow.connect("prod")
    names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
    examples = st.one_of(
        names,
        st.sampled_from(["O'Brien", "a\\b", 'q"q', "x' OR Name != '", "\\'", "line\nbreak", "%_"]),
    )
    with aksf.session("prod") as sf:

        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(examples)
        def round_trip(name: str) -> None:
            record_id = sf.Account.create({"Name": name})
            try:
                shell.user_ns["v"] = name
                found = shell.run_cell_magic(
                    "soql", "-c prod -o found", "SELECT Id, Name FROM Account WHERE Name = :v"
                )
                assert found["Id"].tolist() == [record_id]
                assert found["Name"].tolist() == [name]
            finally:
                sf.Account.delete(record_id)

        round_trip()


async def test_lists_dates_and_none_bind(flow: Flow, shell: Any) -> None:
    import datetime as dt

    await flow.connect("prod")
    shell.user_ns["kinds"] = ["Energy", "Banking"]
    shell.user_ns["since"] = dt.datetime(2000, 1, 1)  # naive: UTC
    shell.user_ns["nothing"] = None
    frame = shell.run_cell_magic(
        "soql",
        "-c prod",
        "SELECT Industry FROM Account WHERE Industry IN :kinds AND CreatedDate > :since "
        "AND Name != :nothing",
    )
    assert set(frame["Industry"]) == {"Energy", "Banking"}


async def test_line_magic_keeps_quotes_and_braces_verbatim(flow: Flow, shell: Any) -> None:
    await flow.connect("prod")
    shell.user_ns["b"] = "SHOULD NOT BE PASTED"
    frame = shell.run_line_magic("soql", "-c prod SELECT Id FROM Account WHERE Name = 'a{b}c $b'")
    assert len(frame) == 0  # no record has that name; and it was not an error
    result = shell.run_cell("n = %soql -c prod SELECT COUNT() FROM Account WHERE Name != 'it\\'s'")
    assert result.success
    assert shell.user_ns["n"] == 300


async def test_count_is_a_number_and_all_includes_deleted(flow: Flow, shell: Any) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        record_id = sf.Account.create({"Name": "Soon gone"})
        sf.Account.delete(record_id)
    shell.user_ns["rid"] = record_id
    assert shell.run_line_magic("soql", "-c prod SELECT COUNT() FROM Account") == 300
    live = shell.run_line_magic("soql", "-c prod SELECT COUNT() FROM Account WHERE Id = :rid")
    everything = shell.run_line_magic(
        "soql", "-c prod --all SELECT COUNT() FROM Account WHERE Id = :rid"
    )
    assert (live, everything) == (0, 1)
    rows = shell.run_cell_magic(
        "soql", "-c prod --all", "SELECT Id, IsDeleted FROM Account WHERE Id = :rid"
    )
    assert rows["IsDeleted"].tolist() == [True]


async def test_bulk_and_polars_options(flow: Flow, shell: Any) -> None:
    import polars as pl

    await flow.connect("prod")
    with aksf.session("prod") as sf:
        before = bulk_jobs(sf)
        frame = shell.run_cell_magic("soql", "-c prod --bulk", "SELECT Id, Name FROM Account")
        assert bulk_jobs(sf) == before + 1
        assert len(frame) == 300
        polar = shell.run_cell_magic(
            "soql", "-c prod --engine polars", "SELECT Id, CreatedDate FROM Account LIMIT 5"
        )
        assert bulk_jobs(sf) == before + 1
    assert isinstance(polar, pl.DataFrame) and polar.height == 5
    assert polar.schema["CreatedDate"] == pl.Datetime("us", "UTC")


async def test_trailing_semicolon_is_forgiven(flow: Flow, shell: Any) -> None:
    await flow.connect("prod")
    frame = shell.run_cell_magic("soql", "-c prod", "SELECT Id FROM Account LIMIT 2;\n\n")
    assert len(frame) == 2


# -- errors: text, with a caret, and the cell fails ------------------------------------------


async def test_invalid_field_points_at_the_column_in_the_cell(
    flow: Flow, shell: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    await flow.connect("prod")
    shell.user_ns["who"] = "a much longer bound value than its placeholder"
    error, text = run_failing(
        shell,
        capsys,
        "%%soql -c prod\n\nSELECT Id,\n  Name FROM Account WHERE Name = :who AND Nope__c = 1\n",
    )
    assert isinstance(error, aksf.InvalidField)
    assert "Traceback" not in text and "File " not in text
    lines = text.splitlines()
    assert lines[0].startswith("InvalidField (INVALID_FIELD): No such column 'Nope__c'")
    # The cell's own line (row 3 of the body after one blank line), caret under Nope__c.
    source_line = "  Name FROM Account WHERE Name = :who AND Nope__c = 1"
    assert lines[1] == f"   3 | {source_line}"
    assert lines[2].index("^") - len("     | ") == source_line.index("Nope__c")


async def test_malformed_query_points_at_the_token(
    flow: Flow, shell: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    await flow.connect("prod")
    error, text = run_failing(shell, capsys, "%%soql -c prod\nSELECT Id FORM Account\n")
    assert isinstance(error, aksf.MalformedQuery)
    lines = text.splitlines()
    assert lines[0].startswith("MalformedQuery (MALFORMED_QUERY):")
    assert lines[1] == "   1 | SELECT Id FORM Account"
    # The caret is under the column Salesforce names, and its text is not repeated.
    column = int(re.search(r"Row:1:Column:(\d+)", error.message)[1])  # type: ignore[index]
    assert lines[2].index("^") - len("     | ") == column - 1
    assert "ERROR at Row" not in text


async def test_a_missing_or_unbindable_variable_points_at_the_placeholder(
    flow: Flow, shell: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    await flow.connect("prod")
    error, text = run_failing(
        shell, capsys, "%%soql -c prod\nSELECT Id FROM Account\nWHERE Name = :undefined_name\n"
    )
    assert isinstance(error, aksf.ConfigurationError)
    lines = text.splitlines()
    assert "define a variable 'undefined_name'" in lines[0]
    assert lines[1] == "   2 | WHERE Name = :undefined_name"
    assert lines[2].index("^") - len("     | ") == len("WHERE Name = ")
    shell.user_ns["blob"] = b"\x00"
    _, text = run_failing(
        shell, capsys, "%%soql -c prod\nSELECT Id FROM Account WHERE Name = :blob"
    )
    assert "The value of :blob is a value of type bytes" in text


async def test_unknown_connection_says_how_to_create_it(
    flow: Flow, shell: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    await flow.connect("prod")
    error, text = run_failing(shell, capsys, "%%soql -c nowhere\nSELECT Id FROM Account\n")
    assert isinstance(error, aksf.ConnectionNotFound)
    assert text.strip().startswith("ConnectionNotFound: There is no Salesforce connection")
    assert "aksf.connect('nowhere')" in text


def test_usage_errors(shell: Any, store_path: Path) -> None:
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="cell body"):
        shell.run_cell_magic("soql", "SELECT Id", "FROM Account")
    with pytest.raises(UsageError, match="Nothing to run"):
        shell.run_cell_magic("soql", "", "  \n ")
    with pytest.raises(UsageError):
        shell.run_cell_magic("soql", "--engine arrow", "SELECT Id FROM Account")


# -- which connection, which session ----------------------------------------------------------


def test_default_connection_order(emu: RunningEmulator, store_path: Path, shell: Any) -> None:
    # Only one connection in the store: it is the default.
    authorize_store(emu, store_path, "only")
    assert len(shell.run_line_magic("soql", "SELECT Id FROM Account LIMIT 1")) == 1
    # Two connections and none named yet: "default" is used, and is absent.
    aksf.__dict__.pop("_last_connection", None)
    authorize_store(emu, store_path, "second")
    with pytest.raises(aksf.ConnectionNotFound, match="'default'"):
        shell.run_line_magic("soql", "SELECT Id FROM Account LIMIT 1")
    # Naming one with -c makes it the default for the next cells.
    shell.run_line_magic("soql", "-c second SELECT Id FROM Account LIMIT 1")
    frame = shell.run_line_magic("soql", "SELECT Id FROM Account LIMIT 2")
    assert len(frame) == 2
    assert [key[1] for key in magics(shell).sessions] == ["only", "second"]


def test_last_session_names_the_default(emu: RunningEmulator, store_path: Path, shell: Any) -> None:
    authorize_store(emu, store_path, "one")
    authorize_store(emu, store_path, "two")
    aksf.session("two").close()
    shell.run_line_magic("soql", "SELECT Id FROM Account LIMIT 1")
    assert [key[1] for key in magics(shell).sessions] == ["two"]


def test_one_session_per_connection_and_store(
    emu: RunningEmulator, store_path: Path, shell: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    authorize_store(emu, store_path, "prod")
    shell.run_line_magic("soql", "-c prod SELECT Id FROM Account LIMIT 1")
    shell.run_line_magic("soql", "-c prod SELECT Id FROM Account LIMIT 1")
    assert len(magics(shell).sessions) == 1
    (session,) = magics(shell).sessions.values()
    assert "Account" in session._describe_cache  # describe is reused across cells
    other = tmp_path / "other-store" / "store.sqlite3"
    monkeypatch.setenv(ENV_STORE, str(other))
    authorize_store(emu, other, "prod")
    shell.run_line_magic("soql", "-c prod SELECT Id FROM Account LIMIT 1")
    assert len(magics(shell).sessions) == 2
