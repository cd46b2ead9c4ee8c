"""The connect form's Python side, with the real store, server extension and emulator.

Outside a kernel, ipywidgets uses a dummy comm; clicks and the labextension's custom
messages are delivered the way the comm would deliver them.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import ipywidgets
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._environment import ENV_ALLOWED_LOGIN_HOSTS, ENV_LABEXTENSION
from ak_salesforce_nb.core._store import ConnectionStore
from tests.conftest import CLIENT_SECRET, Flow


def fill(form: Any, emu_url: str, secret: str = CLIENT_SECRET) -> None:
    form.client_id.value = "demo-client-id"
    form.login_host.value = "custom"
    form.custom_url.value = emu_url
    form.client_secret.value = secret


async def finish_in_browser(flow: Flow, start_url: str) -> Any:
    state = dict(parse_qsl(urlsplit(start_url).query))["state"]
    params = await flow.salesforce(await flow.start(state))
    return await flow.callback(params)


async def wait_for(form: Any, state: str, timeout: float = 5.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        form.watcher.check()
        if form.state == state:
            return time.monotonic() - started
        time.sleep(0.01)
    raise AssertionError(f"form stayed {form.state}, wanted {state}")


async def test_form_connects_through_the_server(flow: Flow, store_path: Path) -> None:
    form = aksf.connect("prod", enhanced=False)
    assert form.state == "not_configured"
    fill(form, flow.emu.url)
    assert form.client_secret.value == ""  # taken out of the widget at once
    start_url = form.authorize()
    assert start_url is not None and start_url.startswith("/")
    assert "oauth/start/salesforce?state=" in start_url
    assert form.state == "waiting"
    assert "Open Salesforce" in form.link.value
    page = await finish_in_browser(flow, start_url)
    assert page.code == 200
    await wait_for(form, "connected")
    assert "ada@example.com" in form.details.value
    assert form.link.value == ""
    assert "Connected as ada@example.com" in form.status.value
    assert not form.disconnect_button.disabled
    assert "Test passed" in form.test()
    form.close()


async def test_watcher_sees_the_callback_quickly(flow: Flow) -> None:
    """The delay from the callback's store write to the form changing, with the real
    watcher: an asyncio task on the running loop, as in a kernel."""
    form = aksf.connect("prod", enhanced=False, watch_interval=0.05)
    fill(form, flow.emu.url)
    start_url = form.authorize()
    assert start_url
    assert form.watcher.running
    await finish_in_browser(flow, start_url)
    written = time.monotonic()
    while form.state != "connected" and time.monotonic() - written < 5:
        await asyncio.sleep(0.005)
    delay = time.monotonic() - written
    print(f"callback → form delay: {delay * 1000:.0f} ms")
    assert form.state == "connected"
    assert delay < 0.5
    form.close()
    assert not form.watcher.running


def test_inline_validation_before_anything_is_sent(store_path: Path) -> None:
    form = aksf.connect("prod", enhanced=False)
    assert form.authorize() is None
    assert "Client ID is required" in form.validation.value
    form.client_id.value = "abc"
    assert form.authorize() is None
    assert "Client Secret is required" in form.validation.value
    form.client_secret.value = "s3cret"
    form.login_host.value = "custom"
    form.custom_url.value = "http://not-loopback.example.com"
    assert form.authorize() is None
    assert "https" in form.validation.value
    assert ConnectionStore(store_path).find_connection("prod") is None
    form.close()


async def test_error_is_shown_with_what_to_do(flow: Flow) -> None:
    form = aksf.connect("prod", enhanced=False)
    fill(form, flow.emu.url, secret="wrong-secret")
    start_url = form.authorize()
    assert start_url
    page = await finish_in_browser(flow, start_url)
    assert page.code == 400
    await wait_for(form, "error")
    assert "invalid_client" in form.status.value
    assert "Client Secret is wrong" in form.status.value
    form.close()


async def test_rerun_shows_current_state(flow: Flow) -> None:
    await flow.connect("prod")
    form = aksf.connect("prod", enhanced=False)
    assert form.state == "connected"
    assert form.client_id.value == "demo-client-id"
    assert form.custom_url.value == flow.emu.url
    assert "stored" in form.client_secret.placeholder
    assert form.authorize_button.description == "Re-authorize"
    form.close()


async def test_disconnect_revokes_and_forgets(flow: Flow) -> None:
    await flow.connect("prod")
    form = aksf.connect("prod", enhanced=False)
    before = flow.emu.stats["revocations"]
    form.disconnect()
    assert flow.emu.stats["revocations"] == before + 1
    assert form.state == "ready"
    with pytest.raises(aksf.NotConnected):
        aksf.session("prod")
    form.close()


async def test_enhanced_bridge_protocol(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_LABEXTENSION, "1")
    form = aksf.connect("prod")
    assert form.bridge is not None
    sent: list[dict[str, Any]] = []
    form.bridge.send = lambda content, buffers=None: sent.append(content)
    # The view reports the page's callback URL; the form shows it.
    form.bridge.page_callback_urls = ["http://127.0.0.1:8888/a%40b/oauth/redirect/salesforce"]
    assert form.callback_url() == "http://127.0.0.1:8888/a%40b/oauth/redirect/salesforce"
    assert "under the Authorize button" in form.callback.value
    # Authorize clicked with an empty form: the view is told to close its popup.
    form._on_bridge_message(form.bridge, {"event": "authorize-clicked"}, None)
    assert sent == [{"command": "close-popup"}]
    fill(form, flow.emu.url)
    form._on_bridge_message(form.bridge, {"event": "authorize-clicked"}, None)
    assert form.bridge.start_url.startswith("/") and "state=" in form.bridge.start_url
    state = dict(parse_qsl(urlsplit(form.bridge.start_url).query))["state"]
    form._on_bridge_message(form.bridge, {"event": "popup-closed"}, None)
    assert "closed before finishing" in form.status.value
    params = await flow.salesforce(await flow.start(state))
    await flow.callback(params)
    form._on_bridge_message(form.bridge, {"event": "oauth-result", "state": "connected"}, None)
    assert form.state == "connected"  # at once, without waiting for the watcher
    assert form.bridge.start_url == ""
    form.close()


async def test_widget_state_holds_no_secret_or_token(flow: Flow, store_path: Path) -> None:
    form = aksf.connect("prod", enhanced=False)
    fill(form, flow.emu.url)
    start_url = form.authorize()
    assert start_url
    await finish_in_browser(flow, start_url)
    await wait_for(form, "connected")
    form.test()
    state = json.dumps(ipywidgets.Widget.get_manager_state(drop_defaults=False))
    tokens = ConnectionStore(store_path).get_tokens("prod")
    assert tokens is not None
    assert CLIENT_SECRET not in state
    assert tokens.access_token not in state
    assert str(tokens.refresh_token) not in state
    assert repr(form).startswith("<ConnectForm 'prod' connected")
    form.close()


def test_disconnect_while_waiting_drops_the_sign_in(store_path: Path) -> None:
    """Disconnect before the callback: the waiting sign-in's link stops working and the
    connection is ready to authorize again (there are no tokens to revoke)."""
    form = aksf.connect("prod", enhanced=False)
    fill(form, "https://login.salesforce.com")
    form.login_host.value = "https://login.salesforce.com"
    start_url = form.authorize()
    assert start_url is not None and form.state == "waiting"
    state = dict(parse_qsl(urlsplit(start_url).query))["state"]
    form.disconnect()
    assert form.state == "ready"
    with pytest.raises(aksf.AuthorizationStateError):
        ConnectionStore(store_path).check_pending(state)
    form.close()


def test_login_hosts_follow_the_servers_rule(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The form refuses what the server's REST API refuses, and accepts what the
    server's admin allowed (exported to the kernel), before anything is stored."""
    form = aksf.connect("prod", enhanced=False)
    fill(form, "https://login.example.org")
    assert form.authorize() is None
    assert "not a Salesforce login host" in form.validation.value
    form.custom_url.value = "https://\u2113ogin.salesforce.com"  # SCRIPT SMALL L: a look-alike
    assert form.authorize() is None
    assert ConnectionStore(store_path).find_connection("prod") is None
    monkeypatch.setenv(ENV_ALLOWED_LOGIN_HOSTS, "login.example.org")
    form.custom_url.value = "https://login.example.org"
    form.client_secret.value = CLIENT_SECRET
    assert form.authorize() is not None
    record = ConnectionStore(store_path).get_connection("prod")
    assert record.login_url == "https://login.example.org"
    form.close()
