"""`sf.search(sosl)` and the ``%%sosl`` magic: against the emulator's SOSL search, and on
Salesforce's documented ``searchRecords`` shape through `httpx.MockTransport`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.kernel._search import (
    SearchResult,
    returning_clause,
    returning_objects,
    search_frames,
)

from .conftest import authorize_store


@pytest.fixture
def sf(emu: RunningEmulator, store_path: Path) -> Iterator[aksf.Session]:
    authorize_store(emu, store_path)
    with aksf.session("prod", progress=False) as session:
        yield session


@pytest.fixture
def sosl_shell(shell: Any) -> Iterator[Any]:
    """The shell, its magics' sessions closed after the test."""
    yield shell
    for registry_name in ("SoqlMagics", "SoslMagics"):
        magics = shell.magics_manager.registry.get(registry_name)
        sessions = getattr(magics, "sessions", {})
        for session in sessions.values():
            session.close()
        sessions.clear()


def words(text: str | None, word: str) -> bool:
    return text is not None and re.search(rf"(?<!\w){word}(?!\w)", text, re.I) is not None


def test_search_against_the_emulator(sf: aksf.Session) -> None:
    found = sf.search(
        "FIND {Robotics} IN NAME FIELDS "
        "RETURNING Account(Name, Industry, AnnualRevenue, CreatedDate), Contact(Name), Lead"
    )
    assert isinstance(found, SearchResult)
    assert list(found) == ["Account", "Contact", "Lead"]
    accounts = sf.query("SELECT Name FROM Account WHERE Name LIKE '%Robotics%'")
    expected = sorted(n for n in accounts["Name"] if words(n, "robotics"))
    assert expected and sorted(found["Account"]["Name"]) == expected
    assert list(found["Account"].columns) == ["Name", "Industry", "AnnualRevenue", "CreatedDate"]
    assert str(found["Account"]["AnnualRevenue"].dtype) == "Float64"
    assert "datetime64" in str(found["Account"]["CreatedDate"].dtype)
    # Objects named in RETURNING without a hit are there, empty, with their fields.
    assert len(found["Contact"]) == 0 and len(found["Lead"]) == 0
    assert list(found["Contact"].columns) == ["Name"]
    assert found.total == len(expected)
    joined = found.frame()
    assert list(joined.columns[:2]) == ["Object", "Name"] and len(joined) == len(expected)
    html = found._repr_html_()
    assert "Account" in html and f"{len(expected)} rows" in html
    assert "SOSL search" in repr(found)


def test_search_errors_are_salesforce_errors(sf: aksf.Session) -> None:
    with pytest.raises(aksf.SalesforceError) as caught:
        sf.search("FIND Robotics RETURNING Account")
    assert caught.value.status_code == 400 and caught.value.error_code


# -- documented shapes, no emulator ------------------------------------------------------

# Salesforce's REST API Developer Guide, "Search for a String" (API 37.0 and later).
DOCUMENTED = {
    "searchRecords": [
        {
            "attributes": {
                "type": "Account",
                "url": "/services/data/v66.0/sobjects/Account/001D000000IqhSLIAZ",
            },
            "Id": "001D000000IqhSLIAZ",
            "Name": "Acme",
            "Owner": {
                "attributes": {"type": "User", "url": "/services/data/v66.0/sobjects/User/005"},
                "Name": "Ada Lovelace",
            },
        },
        {
            "attributes": {
                "type": "Contact",
                "url": "/services/data/v66.0/sobjects/Contact/003D000000QV9n2IAD",
            },
            "Id": "003D000000QV9n2IAD",
            "Name": "Acme Admin",
        },
        {
            "attributes": {
                "type": "Account",
                "url": "/services/data/v66.0/sobjects/Account/001D000000IomazIAB",
            },
            "Id": "001D000000IomazIAB",
            "Name": "Acme Labs",
            "Owner": None,
        },
    ]
}


def mock_session(store_path: Path, answer: Any, seen: list[httpx.Request]) -> aksf.Session:
    """A session on a store holding fake tokens, its calls answered by `answer`."""
    from ak_salesforce_nb.core._store import ConnectionStore

    store = ConnectionStore(store_path)
    store.save_settings(
        "mock",
        client_id="fake-client-id",
        client_secret="fake-secret",
        login_url="https://login.salesforce.com",
        scopes="api refresh_token",
    )
    store.record_authorized(
        "mock",
        access_token="fake-access",
        refresh_token="fake-refresh",
        instance_url="https://mock.my.salesforce.com",
        issued_at="0",
        identity={"username": "ada@example.com"},
    )

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer)

    return aksf.session(
        "mock", transport=httpx.MockTransport(respond), progress=False, api_version="63.0"
    )


def test_documented_shape_groups_by_object() -> None:
    found = search_frames(DOCUMENTED["searchRecords"], ["Account", "Contact", "Lead"])
    assert list(found) == ["Account", "Contact", "Lead"]
    accounts = found["Account"]
    assert list(accounts.columns) == ["Id", "Name", "Owner.Name"]
    assert accounts["Owner.Name"].tolist()[0] == "Ada Lovelace"
    assert pd.isna(accounts["Owner.Name"].tolist()[1])
    assert found["Contact"]["Name"].tolist() == ["Acme Admin"]
    assert len(found["Lead"]) == 0


def test_search_sends_the_sosl_and_reads_both_answer_shapes(store_path: Path) -> None:
    sosl = "FIND {Acme} RETURNING Account(Id, Name, Owner.Name), Contact(Id, Name)"
    for answer in (DOCUMENTED, DOCUMENTED["searchRecords"]):  # before 37.0: a bare list
        seen: list[httpx.Request] = []
        with mock_session(store_path, answer, seen) as sf:
            found = sf.search(sosl, typed=False)
        assert [len(found[n]) for n in ("Account", "Contact")] == [2, 1]
        (request,) = seen
        assert request.url.path == "/services/data/v63.0/search"
        assert request.url.params["q"] == sosl


def test_returning_clause_parse() -> None:
    assert returning_clause(
        "FIND {a} RETURNING Account(Id, Name WHERE Name != 'x, (y' ORDER BY Name LIMIT 3), Lead"
    ) == {"Account": ["Id", "Name"], "Lead": []}
    assert returning_objects(
        "FIND {a} IN ALL FIELDS RETURNING Account(Name, (x) WHERE a = 'b, c'), "
        "Contact, Lead(Id) LIMIT 5"
    ) == ["Account", "Contact", "Lead"]
    assert returning_objects("FIND {returning} IN NAME FIELDS") == []
    assert returning_objects("find {x} returning Custom__c ( Name ) with network = '1'") == [
        "Custom__c"
    ]


# -- %%sosl ------------------------------------------------------------------------------


def test_sosl_cell_magic(emu: RunningEmulator, store_path: Path, sosl_shell: Any) -> None:
    authorize_store(emu, store_path)
    result = sosl_shell.run_cell(
        "%%sosl -c prod -o hits\nFIND {Robotics} RETURNING Account(Name)\n"
    )
    assert result.success, result.error_in_exec
    hits = sosl_shell.user_ns["hits"]
    assert isinstance(hits, SearchResult) and result.result is hits
    assert len(hits["Account"]) > 0
    assert all(words(n, "robotics") for n in hits["Account"]["Name"])
    # The default variable, quiet mode, and the braces reaching Salesforce unexpanded
    # even with a Python variable of the same name around.
    sosl_shell.user_ns["Robotics"] = "not this"
    quiet = sosl_shell.run_cell("%%sosl -c prod -q\nFIND {Robotics} RETURNING Account(Name)\n")
    assert quiet.success and quiet.result is None
    assert len(sosl_shell.user_ns["_sosl"]["Account"]) == len(hits["Account"])


def test_sosl_magic_errors_are_text(
    emu: RunningEmulator, store_path: Path, sosl_shell: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    authorize_store(emu, store_path)
    result = sosl_shell.run_cell("%%sosl -c prod\nFIND Robotics RETURNING Account\n")
    assert not result.success
    out = capsys.readouterr()
    text = out.out + out.err
    assert "SalesforceError" in text and "Traceback" not in text
    empty = sosl_shell.run_cell("%%sosl -c prod\n\n")
    assert not empty.success


def test_magic_is_registered_with_the_extension(sosl_shell: Any) -> None:
    assert "sosl" in sosl_shell.magics_manager.magics["cell"]
    assert "sosl" in sosl_shell.magics_manager.magics["line"]
    assert {"SoqlMagics", "SoslMagics"} <= set(sosl_shell.magics_manager.registry)
