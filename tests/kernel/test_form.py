"""The connect form's Python side, with the real store, server extension and emulator.

Outside a kernel, ipywidgets uses a dummy comm; clicks and the labextension's custom
messages are delivered the way the comm would deliver them.
"""

from __future__ import annotations

import asyncio
import json
import time
from html import escape as html_escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import ipywidgets
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._environment import (
    ENV_ALLOWED_LOGIN_HOSTS,
    ENV_BASE_URL,
    ENV_LABEXTENSION,
    ENV_SERVER_URL,
)
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.kernel._flow_choice import choose_flow, notebook_host, probe_server
from tests.conftest import CLIENT_SECRET, Flow
from tests.kernel.flows import approve_link, open_verification_page


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
    form = aksf.connect("prod", enhanced=False, flow="server")
    assert form.authorize() is None
    assert "Client ID is required" in form.validation.value
    form.client_id.value = "abc"
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
    assert form.alternatives.layout.display == "none"  # drawn by JupyterLab: no detours
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
    form = aksf.connect("prod", enhanced=False, flow="server")
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
    form = aksf.connect("prod", enhanced=False, flow="server")
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


# -- where our server extension does not answer: the device and paste-back flows ---------


def _until(condition: Any, timeout: float = 15.0) -> None:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_without_a_server_the_form_offers_a_code_and_paste_back(store_path: Path) -> None:
    form = aksf.connect("prod", enhanced=False, check_interval=None)
    assert form.flow == "device"
    assert form.authorize_button.layout.display == "none"
    assert list(form.buttons.children)[:2] == [form.device_button, form.paste_button]
    assert form.device_button.button_style == "primary"
    assert "outside a Jupyter server" in form.flow_note.value
    assert "Enable for Device Flow" in form.callback.value
    assert "http://localhost:1717/OauthRedirect" in form.callback.value
    assert "YOUR-JUPYTER-HOST" not in form.callback.value
    form.close()


def test_the_reason_names_the_notebook_product(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "15.4")
    form = aksf.connect("prod", enhanced=False, check_interval=None)
    assert "runs in Databricks" in form.flow_note.value
    form.close()
    choice = choose_flow({"VSCODE_PID": "1"})
    assert (choice.flow, choice.server_available) == ("device", False)
    assert "in VS Code" in choice.reason
    assert notebook_host({}, {"google.colab": object()}) == "Google Colab"


def test_a_forced_flow_shows_only_its_controls(store_path: Path) -> None:
    server = aksf.connect("a", enhanced=False, check_interval=None, flow="server")
    assert server.flow == "server" and server.authorize_button.layout.display == ""
    assert server.alternatives.layout.display == "none" and server.flow_note.value == ""
    server.close()
    paste = aksf.connect("b", enhanced=False, check_interval=None, flow="paste")
    assert paste.buttons.children[0] is paste.paste_button
    assert paste.device_button not in paste.buttons.children
    assert "Enable for Device Flow" not in paste.callback.value
    paste.close()
    with pytest.raises(aksf.ConfigurationError, match="not a sign-in flow"):
        aksf.connect("c", flow="popup")


def test_device_flow_in_the_form(flows_emu: RunningEmulator, store_path: Path) -> None:
    form = aksf.connect("prod", enhanced=False, check_interval=None, flow="device")
    fill(form, flows_emu.url)
    codes = form.start_device()
    assert codes is not None, form.validation.value
    assert codes.user_code in form.device.code.value
    assert f"{flows_emu.url}/setup/connect" in form.device.code.value
    assert "valid for another 10:00" in form.device.countdown.value
    assert form.device.widget.layout.display == ""
    open_verification_page(codes.verification_uri, codes.user_code)
    _until(lambda: form.state == "connected")
    assert "Connected as ada@example.com" in form.status.value
    _until(lambda: form.device.widget.layout.display == "none")
    assert "connected as ada@example.com" in form.static_text()
    form.close()


def test_device_flow_cancel_and_not_enabled(flows_emu: RunningEmulator, store_path: Path) -> None:
    form = aksf.connect("prod", enhanced=False, check_interval=None)
    fill(form, flows_emu.url)
    assert form.authorize() == f"{flows_emu.url}/setup/connect"  # the device flow
    thread = form.device.thread
    assert thread is not None
    form.cancel()
    thread.join(5)
    assert not thread.is_alive()
    assert "Sign-in cancelled" in form.status.value
    assert form.state == "ready"
    flows_emu.config.device_flow = False
    assert form.start_device() is None
    assert "Enable for Device Flow" in form.validation.value
    assert "paste-back" in form.validation.value
    form.close()


def test_paste_back_in_the_form(flows_emu: RunningEmulator, store_path: Path) -> None:
    form = aksf.connect("prod", enhanced=False, check_interval=None)
    fill(form, flows_emu.url)
    link = form.start_paste()
    assert link is not None and form.paste.widget.layout.display == ""
    assert html_escape(link) in form.paste.link.value
    assert form.state == "waiting"
    form.paste.address.value = "not an address"  # as the frontend syncs a paste
    assert form.paste.address.value == ""  # taken out of the widget at once
    _until(lambda: "no sign-in answer" in form.paste.note.value)
    address = approve_link(link)
    code = dict(parse_qsl(urlsplit(address).query))["code"]
    form.paste.address.value = address
    assert form.paste.address.value == ""
    _until(lambda: form.state == "connected")
    assert form.paste.widget.layout.display == "none"
    state = json.dumps(ipywidgets.Widget.get_manager_state(drop_defaults=False))
    assert code not in state and code[:20] not in state
    form.close()


def test_paste_back_denied_and_public_client(flows_emu: RunningEmulator, store_path: Path) -> None:
    form = aksf.connect("pub", enhanced=False, check_interval=None, flow="paste")
    fill(form, flows_emu.url, secret="")  # a public client: no secret at all
    flows_emu.config.require_client_secret = False
    link = form.start_paste()
    assert link is not None
    state = dict(parse_qsl(urlsplit(link).query))["state"]
    denied = f"http://localhost:1717/OauthRedirect?error=access_denied&state={state}"
    assert form.submit_paste(denied) is None
    assert "choose Allow" in form.status.value and form.state == "error"
    form.start_paste()
    assert form.paste.flow is not None
    address = approve_link(form.paste.flow.link)
    record = form.submit_paste(address)
    assert record is not None and record.state == "connected"
    assert not record.has_client_secret
    form.close()


async def test_public_client_through_the_server_flow(flow: Flow) -> None:
    flow.emu.config.require_client_secret = False
    try:
        form = aksf.connect("prod", enhanced=False, flow="server", check_interval=None)
        fill(form, flow.emu.url, secret="")
        start_url = form.authorize()
        assert start_url, form.validation.value
        page = await finish_in_browser(flow, start_url)
        assert page.code == 200
        await wait_for(form, "connected")
        form.close()
    finally:
        flow.emu.config.require_client_secret = True


async def test_the_probe_keeps_the_server_flow_where_our_server_answers(flow: Flow) -> None:
    await flow.api()  # the server is up
    await asyncio.sleep(0)  # it exports its address once its loop runs
    form = aksf.connect("prod", enhanced=False, check_interval=None)
    assert form.flow == "server" and form._probe is not None
    await asyncio.to_thread(form._probe.done.wait, 10)
    assert form._probe.result is not None and form._probe.result.server_available
    assert form.flow == "server"
    assert form.alternatives.layout.display == ""  # the way out, for VS Code users
    form.close()


def test_the_probe_offers_the_other_flows_when_the_server_is_gone(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_BASE_URL, "/")
    monkeypatch.setenv(ENV_SERVER_URL, "http://127.0.0.1:9/")  # nothing listens there
    form = aksf.connect("prod", enhanced=False, check_interval=None)
    assert form.flow == "server"  # what the environment says, at once
    assert form._probe is not None and form._probe.done.wait(10)
    assert form.flow == "device"
    assert "does not answer" in form.flow_note.value
    assert form.authorize_button.layout.display == "none"
    form.close()


def test_probe_answers() -> None:
    def answering(status: int, body: str) -> httpx.MockTransport:
        return httpx.MockTransport(lambda request: httpx.Response(status, text=body))

    ours = '<main data-outcome="error">No authorization in progress</main>'
    assert probe_server("http://h:1/", transport=answering(400, ours))
    assert not probe_server("http://h:2/", transport=answering(404, "Not Found"))
    calls: list[int] = []

    def slow(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadTimeout("slow", request=request)

    assert not probe_server("http://h:3/", transport=httpx.MockTransport(slow), attempts=3)
    assert len(calls) == 3  # a timeout is tried again; a refusal is final


def test_output_carries_a_static_form(flows_emu: RunningEmulator, store_path: Path) -> None:
    form = aksf.connect("prod", enhanced=False, check_interval=None, flow="paste")
    bundle = form.mimebundle()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("Salesforce connection 'prod': not configured")
    assert "aksf-static" in bundle["text/html"]

    class Handle:
        def __init__(self) -> None:
            self.updates: list[dict[str, Any]] = []

        def update(self, data: dict[str, Any], raw: bool = False) -> None:
            self.updates.append(data)

    handle = Handle()
    form._display_handle = handle
    fill(form, flows_emu.url)
    link = form.start_paste()
    assert link is not None
    assert handle.updates == [] or "waiting" not in handle.updates[-1]["text/plain"]
    form.submit_paste(approve_link(link))
    last = handle.updates[-1]
    assert "connected as ada@example.com" in last["text/plain"]
    assert "ada@example.com" in last["text/html"] and flows_emu.url in last["text/plain"]
    tokens = ConnectionStore(store_path).get_tokens("prod")
    assert tokens is not None
    for data in handle.updates:
        text = json.dumps(data)
        assert CLIENT_SECRET not in text and tokens.access_token not in text
    form.close()
