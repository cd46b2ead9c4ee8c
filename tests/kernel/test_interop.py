"""Importing an org from the Salesforce CLI and exporting an auth URL for CI.

A fake ``sf`` on PATH answers ``sf org display --target-org X --verbose --json`` as the
real one does (shapes from @salesforce/plugin-org), with an auth URL whose refresh token
the emulator really issued; the import redeems it against the emulator.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._auth_url import format_auth_url
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.emulator import RunningEmulator
from tests.emulator.helpers import get_token

CLIENT_ID = "demo-client-id"
CLIENT_SECRET = "demo-client-secret"


class FakeCli:
    """Writes an ``sf`` executable answering one fixed way, and reads back its argv."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.calls = folder / "calls.jsonl"

    def answer(self, stdout: str, exit_code: int = 0) -> None:
        script = self.folder / "sf"
        script.write_text(
            f"#!{sys.executable}\n"
            "import json, sys\n"
            f"with open({str(self.calls)!r}, 'a') as f:\n"
            "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
            f"sys.stdout.write({stdout!r})\n"
            f"sys.exit({exit_code})\n"
        )
        script.chmod(0o755)

    def answer_json(self, body: dict[str, Any], exit_code: int = 0) -> None:
        self.answer(json.dumps(body, indent=2), exit_code)

    def argv(self) -> list[list[str]]:
        return [json.loads(line) for line in self.calls.read_text().splitlines()]


@pytest.fixture
def sf_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return FakeCli(folder)


@pytest.fixture
def cli_auth_url(emu: RunningEmulator) -> str:
    token = get_token(emu)
    return format_auth_url(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=token["refresh_token"],
        instance_url=emu.url,
    )


def display_answer(auth_url: str | None, emu: RunningEmulator) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": "00Dxx0000001gPLEAY",
        "apiVersion": "63.0",
        "accessToken": "00Dxx0000001gPL!AQ0AQFakeAccessToken",
        "instanceUrl": emu.url,
        "username": "ada@example.com",
        "clientId": CLIENT_ID,
        "connectedStatus": "Connected",
        "alias": "my-alias",
    }
    if auth_url is not None:
        result["sfdxAuthUrl"] = auth_url
    return {
        "status": 0,
        "result": result,
        "warnings": [
            "This command will expose sensitive information that allows for subsequent "
            "activity using your current authenticated session."
        ],
    }


def test_import_saves_a_connected_org_that_sessions_use(
    sf_cli: FakeCli, cli_auth_url: str, emu: RunningEmulator, store_path: Path
) -> None:
    sf_cli.answer_json(display_answer(cli_auth_url, emu))
    record = aksf.import_sf_cli("my-alias", name="prod")
    assert sf_cli.argv() == [["org", "display", "--target-org", "my-alias", "--verbose", "--json"]]
    assert (record.name, record.state, record.username) == ("prod", "connected", "ada@example.com")
    assert record.login_url == emu.url
    assert cli_auth_url.split(":")[3] not in repr(record)
    with aksf.session("prod") as sf:
        assert sf.source == "store"
        emu.expire_access_tokens()
        assert len(sf.query("SELECT Id FROM Account LIMIT 2")) == 2
    # …and the auth URL exported for CI is the CLI's, with a warning.
    with pytest.warns(aksf.SecretWarning):
        assert str(aksf.export_auth_url("prod")) == cli_auth_url


def test_the_alias_is_the_default_name(
    sf_cli: FakeCli, cli_auth_url: str, emu: RunningEmulator, store_path: Path
) -> None:
    sf_cli.answer_json(display_answer(cli_auth_url, emu))
    assert aksf.import_sf_cli("my-alias").name == "my-alias"
    with pytest.raises(aksf.ConfigurationError, match="cannot be a connection name"):
        aksf.import_sf_cli("ada@example.com")
    assert len(sf_cli.argv()) == 1  # the CLI is not asked when the name cannot work


def test_cli_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(aksf.SalesforceCliError, match=r"not installed or not on PATH"):
        aksf.import_sf_cli("my-alias")


def test_unknown_org(sf_cli: FakeCli, store_path: Path) -> None:
    sf_cli.answer_json(
        {
            "status": 1,
            "name": "NamedOrgNotFoundError",
            "message": "No authorization information found for nope.",
            "exitCode": 1,
            "context": "OrgDisplay",
        },
        exit_code=1,
    )
    with pytest.raises(aksf.SalesforceCliError) as info:
        aksf.import_sf_cli("nope")
    text = str(info.value)
    assert "NamedOrgNotFoundError: No authorization information found for nope." in text
    assert "sf org login web --alias nope" in text
    assert ConnectionStore(store_path).find_connection("nope") is None


def test_org_without_a_refresh_token(
    sf_cli: FakeCli, emu: RunningEmulator, store_path: Path
) -> None:
    sf_cli.answer_json(display_answer(None, emu))
    with pytest.raises(aksf.SalesforceCliError, match="no refresh token for 'my-alias'") as info:
        aksf.import_sf_cli("my-alias")
    assert "FakeAccessToken" not in str(info.value)


def test_output_that_is_not_json_is_never_echoed(sf_cli: FakeCli, store_path: Path) -> None:
    sf_cli.answer("Warning: token 5Aep861SECRETLOOKING was here\n", exit_code=2)
    with pytest.raises(aksf.SalesforceCliError, match="not JSON") as info:
        aksf.import_sf_cli("my-alias")
    assert "5Aep861SECRETLOOKING" not in str(info.value)


def test_a_refused_refresh_token_saves_nothing(
    sf_cli: FakeCli, emu: RunningEmulator, store_path: Path
) -> None:
    revoked = format_auth_url(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token="5Aep861NoLongerValid",
        instance_url=emu.url,
    )
    sf_cli.answer_json(display_answer(revoked, emu))
    with pytest.raises(aksf.CredentialsRefused) as info:
        aksf.import_sf_cli("my-alias", name="prod")
    assert info.value.setting == "the auth URL of 'my-alias' in the Salesforce CLI"
    assert "5Aep861NoLongerValid" not in str(info.value)
    assert ConnectionStore(store_path).find_connection("prod") is None


def test_export_needs_a_connected_connection(store_path: Path) -> None:
    with pytest.raises(aksf.ConnectionNotFound):
        aksf.export_auth_url("absent")
