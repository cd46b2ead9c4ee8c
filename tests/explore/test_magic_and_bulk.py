"""`%%soql`, Bulk API 2.0 and the bridges, against the emulator."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ak_salesforce_nb as aksf
from tests.conftest import Flow


@pytest.fixture
def shell() -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "ak_salesforce_nb")
    yield ip
    ip.user_ns.pop("_soql", None)


async def test_cell_magic_binds_and_stores(flow: Flow, shell: Any) -> None:
    await flow.connect("prod")
    shell.user_ns["industry"] = "Energy"
    frame = shell.run_cell_magic(
        "soql", "-c prod -o energy", "SELECT Name, Industry FROM Account WHERE Industry = :industry"
    )
    assert len(frame) > 0
    assert set(frame["Industry"]) == {"Energy"}
    assert shell.user_ns["energy"] is frame
    line = shell.run_line_magic("soql", "SELECT COUNT(Id) n FROM Account")
    assert int(line["n"].iloc[0]) == 300
    assert shell.user_ns["_soql"] is line


async def test_injection_is_bound_as_data(flow: Flow, shell: Any) -> None:
    await flow.connect("prod")
    shell.user_ns["name"] = "x' OR Name != '"
    frame = shell.run_cell_magic("soql", "-c prod", "SELECT Id FROM Account WHERE Name = :name")
    assert len(frame) == 0


async def test_magic_error_shows_salesforce_message(
    flow: Flow, shell: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    await flow.connect("prod")
    result = shell.run_cell_magic("soql", "-c prod", "SELECT Nope__c FROM Account")
    assert result is None
    err = capsys.readouterr().err
    assert "INVALID_FIELD" in err
    assert "Nope__c" in err


async def test_quoted_names_round_trip(flow: Flow) -> None:
    await flow.connect("prod")
    from ak_salesforce_nb._soql_params import bind

    with aksf.session("prod") as sf:

        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(
            st.text(
                alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30
            ).filter(lambda s: s.strip() == s and s)
        )
        def round_trip(name: str) -> None:
            record_id = sf.Account.create({"Name": name})
            try:
                found = sf.query(bind("SELECT Id FROM Account WHERE Name = :n", {"n": name}))
                assert found["Id"].tolist() == [record_id]
            finally:
                sf.Account.delete(record_id)

        round_trip()


async def test_bulk_query_matches_rest(flow: Flow) -> None:
    await flow.connect("prod")
    soql = "SELECT Id, Name, AnnualRevenue, NumberOfEmployees, CreatedDate FROM Account"
    with aksf.session("prod") as sf:
        bulk = sf.bulk_query(soql, max_records=120, progress=False)
        rest = sf.query(soql, progress=False)
    assert len(bulk) == len(rest) == 300
    assert sorted(bulk["Id"]) == sorted(rest["Id"])
    assert str(bulk["AnnualRevenue"].dtype) == "Float64"
    assert str(bulk["NumberOfEmployees"].dtype) == "Int64"
    assert "datetime64" in str(bulk["CreatedDate"].dtype)


async def test_bulk_failure_is_an_exception(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf, pytest.raises(aksf.SalesforceError):
        sf.bulk_query("SELECT COUNT(Id) FROM Account", progress=False)


async def test_auto_switches_to_bulk_past_threshold(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod", bulk_threshold=100) as sf:
        jobs = flow.emu.stats["api_requests"]
        frame = sf.query("SELECT Id FROM Account", method="auto", progress=False)
    assert len(frame) == 300
    assert flow.emu.stats["api_requests"] > jobs


async def test_polars_engine(flow: Flow) -> None:
    import polars as pl

    await flow.connect("prod")
    with aksf.session("prod") as sf:
        frame = sf.query("SELECT Id, Name FROM Account LIMIT 10", engine="polars")
        bulk = sf.bulk_query("SELECT Id, Name FROM Account", engine="polars", progress=False)
    assert isinstance(frame, pl.DataFrame) and frame.height == 10
    assert isinstance(bulk, pl.DataFrame) and bulk.height == 300


async def test_to_simple_salesforce_shares_instance_and_token(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        peer = sf.to_simple_salesforce()
        token = sf.tokens.current()
    assert peer.session_id == token.access_token
    assert flow.emu.url.split("://")[1] in peer.base_url
