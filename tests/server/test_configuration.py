"""`--SalesforceOAuth.x` flags reach the extension, and the public URL shapes the callback."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from ak_salesforce_nb.core import _environment as _server_settings
from ak_salesforce_nb.server._app import SalesforceOAuth
from ak_salesforce_nb.server._state import STATE_KEY
from tests.conftest import Flow, connection_body


@pytest.fixture
def jp_argv() -> list[str]:
    return [
        "--SalesforceOAuth.public_url=https://jupyter.example.com/team/",
        "--SalesforceOAuth.state_ttl=120",
        "--SalesforceOAuth.default_scopes=api refresh_token id",
        "--SalesforceOAuth.allowed_login_hosts=login.example.com",
        "--SalesforceOAuth.allowed_login_hosts=*.corp.example",
    ]


async def test_flags_configure_the_extension(flow: Flow, jp_serverapp: Any) -> None:
    # jupyter-server keeps the ExtensionApp it linked under the extension's name.
    app = jp_serverapp.web_app.settings["ak_salesforce_nb"]
    assert isinstance(app, SalesforceOAuth)
    assert app.state_ttl == 120
    state = jp_serverapp.web_app.settings[STATE_KEY]
    assert state.config is app
    assert state.defaults.allowed_login_hosts == ("login.example.com", "*.corp.example")
    # ... and the kernels it starts read the same list.
    assert _server_settings.ENV_ALLOWED_LOGIN_HOSTS in os.environ
    assert (
        os.environ[_server_settings.ENV_ALLOWED_LOGIN_HOSTS] == "login.example.com,*.corp.example"
    )
    created = await flow.create("prod", scopes=None)
    assert created["scopes"] == "api refresh_token id"
    listing = json.loads((await flow.api()).body)
    assert listing["callback_url"] == "https://jupyter.example.com/team/oauth/redirect/salesforce"
    assert listing["defaults"] == {
        "login_url": "https://login.salesforce.com",
        "scopes": "api refresh_token id",
    }
    response = await flow.api("prod", "authorize", method="POST")
    data = json.loads(response.body)
    assert data["callback_url"] == "https://jupyter.example.com/team/oauth/redirect/salesforce"
    assert 110 < data["expires_at"] - time.time() <= 120


async def test_allowed_login_hosts_widen_the_policy(flow: Flow, store_path: Path) -> None:
    """A host the admin allowed (exactly, or under a pattern) is accepted and the start
    handler sends the browser there; other hosts stay refused, naming the setting."""
    for host in ("login.example.com", "sso.corp.example"):
        created = await flow.create(host.split(".")[0], login_url=f"https://{host}")
        assert created["login_url"] == f"https://{host}"
        location = await flow.start(await flow.begin(host.split(".")[0]))
        assert location.startswith(f"https://{host}/services/oauth2/authorize?")
    for host in ("example.com", "corp.example", "login.example.com.evil.example"):
        response = await flow.api(
            "other", method="PUT", body=connection_body(flow.emu, login_url=f"https://{host}")
        )
        assert response.code == 400, response.body
        assert "c.SalesforceOAuth.allowed_login_hosts" in json.loads(response.body)["message"]
    assert (await flow.api("other")).code == 404


@pytest.mark.parametrize(
    "jp_argv",
    [
        [
            "--SalesforceOAuth.api_version=61.0",
            "--SalesforceOAuth.default_login_url=https://test.salesforce.com",
            "--SalesforceOAuth.default_scopes=api refresh_token id",
            "--SalesforceOAuth.state_ttl=120",
        ]
    ],
)
async def test_kernels_follow_the_server_settings(flow: Flow, jp_serverapp: Any) -> None:
    """What a kernel started by this server reads back: the form starts with the server's
    login host and scopes, its sign-in links last the server's TTL, and sessions use the
    server's API version (each overridable in the cell)."""
    import ak_salesforce_nb as aksf

    form = aksf.connect("new", enhanced=False)
    try:
        assert form.login_host.value == "https://test.salesforce.com"
        assert form.scopes.value == "api refresh_token id"
        form.client_id.value = "some-client"
        form.client_secret.value = "some-secret"
        start_url = form.authorize()
        assert start_url is not None
        pending = form.store.get_pending(start_url.rsplit("state=", 1)[1])
        assert pending is not None
        assert pending.expires_at - pending.created_at == pytest.approx(120)
    finally:
        form.close()
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        assert sf.api_version == "61.0"
        assert sf.base_path == "/services/data/v61.0/"
        sf.limits()  # the emulator serves v61.0 too
    with aksf.session("prod", api_version="63.0") as sf:
        assert sf.api_version == "63.0"
    # The server's own address, for the form's first callback URL hint.
    await asyncio.sleep(0)  # the server exports it once its loop runs
    server = _server_settings.server_url()
    assert server.endswith(jp_serverapp.base_url)
    fresh = aksf.connect("another", enhanced=False)
    try:
        assert f"{server}oauth/redirect/salesforce" in fresh.callback.value
        assert "otherwise the same path" in fresh.callback.value
    finally:
        fresh.close()


def test_unusable_settings_fall_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from ak_salesforce_nb.core import _environment as settings

    monkeypatch.setenv(settings.ENV_API_VERSION, "sixty")
    monkeypatch.setenv(settings.ENV_DEFAULT_LOGIN_URL, "javascript:alert(1)")
    monkeypatch.setenv(settings.ENV_DEFAULT_SCOPES, "<b>")
    monkeypatch.setenv(settings.ENV_STATE_TTL, "nan")
    monkeypatch.setenv(settings.ENV_SERVER_URL, "file:///etc")
    assert settings.api_version() == "63.0"
    assert settings.default_login_url() == "https://login.salesforce.com"
    assert settings.default_scopes() == "api refresh_token"
    assert settings.state_ttl() == 600
    assert settings.server_url() == ""
