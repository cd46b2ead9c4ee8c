"""Connections an administrator sets up once, under a plain Jupyter server: users see them,
click Authorize, and never see, paste or receive the secret; they cannot change them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._environment import ENV_PRESETS
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.emulator import RunningEmulator
from tests.badge.helpers import until
from tests.conftest import CLIENT_ID, CLIENT_SECRET, Flow

pytestmark = pytest.mark.usefixtures("emu")


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "admin" / "salesforce-team.secret"
    path.parent.mkdir()
    path.write_text(CLIENT_SECRET + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def env_presets(monkeypatch: pytest.MonkeyPatch, emulator: RunningEmulator) -> None:
    """A preset from the environment (a Docker image's way), beside the configured ones."""
    monkeypatch.setenv(
        ENV_PRESETS,
        json.dumps({"from-env": {"client_id": CLIENT_ID, "login_url": emulator.url}}),
    )


@pytest.fixture
def jp_server_config(
    store_path: Path, secret_file: Path, emulator: RunningEmulator, env_presets: None
) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"ak_salesforce_nb": True}},
        "SalesforceOAuth": {
            "store_path": str(store_path),
            "http_timeout": 5.0,
            "presets": {
                "team": {
                    "client_id": CLIENT_ID,
                    "login_url": emulator.url,
                    "scopes": "api refresh_token",
                    "client_secret_file": str(secret_file),
                },
                # A public client: PKCE only, no secret anywhere.
                "public": {"client_id": CLIENT_ID, "login_url": emulator.url},
            },
        },
    }


async def authorize(flow: Flow, name: str) -> Any:
    state = await flow.begin(name)
    return await flow.callback(await flow.salesforce(await flow.start(state)))


async def test_users_see_presets_and_authorize_without_a_secret(
    flow: Flow, store_path: Path
) -> None:
    listing = await flow.api()
    assert listing.code == 200
    assert CLIENT_SECRET not in listing.body.decode()
    connections = {c["name"]: c for c in json.loads(listing.body)["connections"]}
    assert set(connections) == {"team", "public", "from-env"}
    team = connections["team"]
    assert (team["preset"], team["state"], team["has_client_secret"]) == (True, "ready", True)
    assert "administrator" in team["message"]
    assert (connections["public"]["has_client_secret"], connections["public"]["state"]) == (
        False,
        "ready",
    )

    # The user only clicks Authorize: the server sends the admin's secret to Salesforce
    # (the emulator refuses a token request without the right one).
    page = await authorize(flow, "team")
    assert page.code == 200, page.body
    assert CLIENT_SECRET not in page.body.decode()
    record = await flow.get("team")
    assert (record["state"], record["username"], record["preset"]) == (
        "connected",
        "ada@example.com",
        True,
    )
    assert CLIENT_SECRET not in json.dumps(record)
    # Sealed in the user's own store, like any secret.
    store = ConnectionStore(store_path)
    assert store.get_client_secret("team") == CLIENT_SECRET
    assert CLIENT_SECRET.encode() not in store_path.read_bytes()


async def test_a_public_client_preset_sends_no_secret(flow: Flow) -> None:
    # Negative control: an org that requires the secret refuses this preset's exchange.
    page = await authorize(flow, "public")
    assert page.code == 400
    assert "invalid_client" in page.body.decode()
    flow.emu.config.require_client_secret = False
    flow.emu.config.require_pkce = True
    try:
        page = await authorize(flow, "public")
        assert page.code == 200, page.body
        assert (await flow.get("public"))["state"] == "connected"
    finally:
        flow.emu.config.require_client_secret = True


async def test_users_cannot_change_or_delete_a_preset(flow: Flow) -> None:
    before = await flow.get("team")
    for change in (
        {"client_id": "other-app"},
        {"client_secret": "mine"},
        {"login_url": "https://login.salesforce.com"},
        {"scopes": "api"},
    ):
        response = await flow.api("team", method="PUT", body=change)
        assert response.code == 409, (change, response.body)
        message = json.loads(response.body)["message"]
        assert "set up by your administrator" in message
    assert await flow.get("team") == before
    # Sending the preset's own values back changes nothing and is no error.
    same = {k: before[k] for k in ("client_id", "login_url", "scopes")}
    assert (await flow.api("team", method="PUT", body=same)).code == 200
    deleted = await flow.api("team", method="DELETE")
    assert deleted.code == 409
    assert "Disconnect" in json.loads(deleted.body)["message"]

    # Disconnect signs out and keeps the preset for next time.
    assert (await authorize(flow, "team")).code == 200
    out = await flow.api("team", "disconnect", method="POST")
    assert out.code == 200
    record = json.loads(out.body)
    assert (record["state"], record["has_tokens"], record["preset"]) == ("ready", False, True)
    assert flow.emu.stats["revocations"] >= 1


async def test_the_connect_form_shows_a_preset_read_only(flow: Flow, store_path: Path) -> None:
    await flow.api()  # the server is up, its presets applied
    form = aksf.connect("team", enhanced=False, check_interval=None)
    try:
        assert form.record is not None and form.record.preset
        for control in (form.client_id, form.login_host, form.custom_url, form.scopes):
            assert control.disabled
        assert form.client_secret.layout.display == "none"
        assert form.client_id.value == CLIENT_ID
        assert form.custom_url.value == flow.emu.url
        assert "set up by your administrator" in form.title.value
        start_url = form.authorize()  # no secret asked for
        assert start_url, form.validation.value
        page = await flow.callback(
            await flow.salesforce(await flow.start(start_url.rsplit("state=", 1)[1]))
        )
        assert page.code == 200
        await until(lambda: form.state == "connected")
        # Nothing of the secret in any widget's state (what a notebook saves).
        for widget in (*form.widget.children, *form.buttons.children, form.widget):
            assert CLIENT_SECRET not in json.dumps(widget.get_state(), default=str)
    finally:
        form.close()
