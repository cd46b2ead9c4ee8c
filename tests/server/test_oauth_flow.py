"""The server extension end to end: our handlers ↔ the emulator, over real HTTP."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from ak_salesforce_nb.core._environment import ENV_BASE_URL, ENV_STORE
from tests.conftest import CLIENT_SECRET, Flow


async def test_full_code_flow_connects(flow: Flow, store_path: Path) -> None:
    created = await flow.create("prod")
    assert created["state"] == "ready"
    assert "client_secret" not in created
    state = await flow.begin("prod")
    assert (await flow.get("prod"))["state"] == "waiting"
    authorize_url = await flow.start(state)
    assert authorize_url.startswith(flow.emu.url + "/services/oauth2/authorize?")
    for part in (
        "response_type=code",
        "client_id=demo-client-id",
        "code_challenge=",
        "code_challenge_method=S256",
        f"state={state}",
        "scope=api+refresh_token",
    ):
        assert part in authorize_url
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in authorize_url
    assert "%2Fa%2540b%2Foauth%2Fredirect%2Fsalesforce" in authorize_url
    params = await flow.salesforce(authorize_url)
    assert params["state"] == state
    page = await flow.callback(params)
    assert page.code == 200
    body = page.body.decode()
    assert "Connected to Salesforce" in body
    assert "ak-salesforce-nb:oauth" in body and "BroadcastChannel" in body
    assert "window.location.origin" in body  # postMessage to our own origin only
    assert page.headers["Cache-Control"] == "no-store"
    assert "nonce-" in page.headers["Content-Security-Policy"]
    conn = await flow.get("prod")
    assert conn["state"] == "connected"
    assert conn["username"] == "ada@example.com"
    assert conn["organization_id"].startswith("00D")
    assert conn["instance_url"] == flow.emu.url
    assert conn["callback_url"].endswith("/a%40b/oauth/redirect/salesforce")
    # Nothing secret in the API answer, nor in clear text in the store file.
    text = json.dumps(conn)
    raw = store_path.read_bytes() + (
        Path(str(store_path) + "-wal").read_bytes()
        if Path(str(store_path) + "-wal").exists()
        else b""
    )
    assert CLIENT_SECRET not in text
    assert CLIENT_SECRET.encode() not in raw
    assert b"!AQ" not in raw  # Salesforce access tokens look like 00D…!AQ…


async def test_list_connections_and_env(flow: Flow, store_path: Path) -> None:
    await flow.create("a")
    await flow.create("b")
    response = await flow.api()
    data = json.loads(response.body)
    assert [c["name"] for c in data["connections"]] == ["a", "b"]
    assert data["callback_url"].endswith("/a%40b/oauth/redirect/salesforce")
    assert os.environ[ENV_STORE] == str(store_path)
    assert os.environ[ENV_BASE_URL] == "/a%40b/"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            {"client_id": "", "client_secret": "s", "login_url": "https://login.salesforce.com"},
            "Client ID is required",
        ),
        (
            {"client_id": "x", "client_secret": "s", "login_url": "http://evil.example.com"},
            "must use https",
        ),
        (
            {"client_id": "x", "client_secret": "s", "login_url": "javascript:alert(1)"},
            "not a web address",
        ),
        (
            {"client_id": "x", "client_secret": "s", "login_url": "https://a.my.salesforce.com/x"},
            "no path",
        ),
        ({"client_id": "x", "client_secret": "s", "scopes": 5}, "Scopes must be"),
    ],
)
async def test_put_refuses_bad_settings(flow: Flow, body: dict[str, Any], fragment: str) -> None:
    response = await flow.api("prod", method="PUT", body=body)
    assert response.code == 400
    assert fragment in json.loads(response.body)["message"]
    assert (await flow.api("prod")).code == 404


async def test_put_without_a_secret_is_a_public_client(flow: Flow) -> None:
    """An app that needs no Consumer Secret (PKCE only): ready to authorize."""
    body = {"client_id": "x", "client_secret": "", "login_url": "https://login.salesforce.com"}
    response = await flow.api("prod", method="PUT", body=body)
    assert response.code == 200, response.body
    assert json.loads(response.body)["state"] == "ready"


async def test_put_bad_json_and_scopes_list(flow: Flow) -> None:
    response = await flow.api("prod", method="PUT", body="{not json")
    assert response.code == 400
    created = await flow.create("prod", scopes=["api", "refresh_token", "id"])
    assert created["scopes"] == "api refresh_token id"


async def test_put_without_secret_keeps_it(flow: Flow) -> None:
    await flow.connect("prod")
    body = {"client_id": "demo-client-id", "login_url": flow.emu.url, "scopes": "api refresh_token"}
    response = await flow.api("prod", method="PUT", body=body)
    assert response.code == 200
    assert json.loads(response.body)["state"] == "connected"
    # A new authorization still works with the kept secret.
    state = await flow.begin("prod")
    params = await flow.salesforce(await flow.start(state))
    assert (await flow.callback(params)).code == 200


async def test_changing_client_id_forgets_tokens(flow: Flow) -> None:
    await flow.connect("prod")
    response = await flow.api(
        "prod", method="PUT", body={"client_id": "other", "login_url": flow.emu.url}
    )
    assert json.loads(response.body)["state"] == "ready"


async def test_delete_revokes_and_forgets(flow: Flow) -> None:
    await flow.connect("prod")
    before = flow.emu.stats["revocations"]
    response = await flow.api("prod", method="DELETE")
    assert response.code == 204
    assert flow.emu.stats["revocations"] == before + 1
    assert (await flow.api("prod")).code == 404
    assert (await flow.api("prod", method="DELETE")).code == 404


async def test_authorize_unknown_or_unconfigured(flow: Flow) -> None:
    assert (await flow.api("ghost", "authorize", method="POST")).code == 404


async def test_start_with_bad_state(flow: Flow) -> None:
    for params in ({}, {"state": "nope"}, {"state": "x" * 300}):
        response = await flow.open_start(params)
        assert response.code == 400
        assert "Location" not in response.headers


async def test_unauthenticated_requests_are_refused(
    jp_serverapp: Any, http_server_client: Any, jp_base_url: str
) -> None:
    base = f"{jp_base_url}"
    cases = [
        ("GET", "ak-salesforce/api/connections"),
        ("GET", "ak-salesforce/api/connections/prod"),
        ("PUT", "ak-salesforce/api/connections/prod"),
        ("DELETE", "ak-salesforce/api/connections/prod"),
        ("POST", "ak-salesforce/api/connections/prod/authorize"),
        ("GET", "oauth/start/salesforce?state=abc"),
    ]
    for method, path in cases:
        body = "{}" if method in ("PUT", "POST") else None
        with pytest.raises(HTTPClientError) as info:
            await http_server_client.fetch(
                base + path, method=method, body=body, follow_redirects=False
            )
        assert info.value.code in (302, 401, 403), (method, path, info.value.code)
    # The callback is the one exception, and without a valid state it does nothing.
    with pytest.raises(HTTPClientError) as info:
        await http_server_client.fetch(base + "oauth/redirect/salesforce?state=abc&code=x")
    assert info.value.code == 400


def _store_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    db = sqlite3.connect(path)
    try:
        return {
            table: sorted(db.execute(f"SELECT * FROM {table}").fetchall())
            for table in ("connections", "tokens", "pending")
        }
    finally:
        db.close()


async def test_unknown_state_changes_nothing(flow: Flow, store_path: Path) -> None:
    await flow.connect("prod")
    before = _store_rows(store_path)
    for params in (
        {"state": "forged", "code": "x"},
        {"code": "x"},
        {"state": ""},
        {"error": "access_denied"},
    ):
        page = await flow.callback(params)
        assert page.code == 400
        assert "Connected to Salesforce" not in page.body.decode()
    assert _store_rows(store_path) == before


async def test_replayed_state_is_refused(flow: Flow) -> None:
    await flow.create("prod")
    state = await flow.begin("prod")
    params = await flow.salesforce(await flow.start(state))
    assert (await flow.callback(params)).code == 200
    again = await flow.callback(params)
    assert again.code == 400
    assert "already used" in again.body.decode()
    assert (await flow.get("prod"))["state"] == "connected"


async def test_expired_state_is_refused(flow: Flow, store_path: Path) -> None:
    await flow.create("prod")
    state = await flow.begin("prod")
    params = await flow.salesforce(await flow.start(state))
    db = sqlite3.connect(store_path)
    db.execute("UPDATE pending SET expires_at = 0")
    db.commit()
    db.close()
    page = await flow.callback(params)
    assert page.code == 400
    assert "expired" in page.body.decode()
    conn = await flow.get("prod")
    assert conn["state"] == "ready"
    assert "not completed in time" in conn["message"]


async def test_denied_consent_with_html_payload(flow: Flow) -> None:
    await flow.create("prod")
    state = await flow.begin("prod")
    await flow.start(state)
    payload = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    page = await flow.callback(
        {"state": state, "error": "access_denied", "error_description": payload}
    )
    assert page.code == 400
    body = page.body.decode()
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(" in body
    conn = await flow.get("prod")
    assert conn["state"] == "error"
    assert conn["message"].startswith("Salesforce says: access_denied")
    assert "Authorize" in conn["message"]


async def test_missing_code(flow: Flow) -> None:
    await flow.create("prod")
    state = await flow.begin("prod")
    page = await flow.callback({"state": state})
    assert page.code == 400
    assert (await flow.get("prod"))["state"] == "error"


@pytest.mark.parametrize(
    ("fault", "fragment"),
    [
        ("500", "answered HTTP 500"),
        ("garbage", "not JSON"),
        ("bad_signature", "signature check"),
        ("invalid_grant", "invalid_grant"),
    ],
)
async def test_token_endpoint_faults(flow: Flow, fault: str, fragment: str) -> None:
    await flow.create("prod")
    state = await flow.begin("prod")
    params = await flow.salesforce(await flow.start(state))
    flow.emu.token_fault = fault
    page = await flow.callback(params)
    assert page.code in (400, 502)
    assert fragment in page.body.decode()
    conn = await flow.get("prod")
    assert conn["state"] == "error"
    assert fragment in conn["message"]
    # The flow works again once the fault is gone.
    flow.emu.token_fault = None
    state = await flow.begin("prod")
    params = await flow.salesforce(await flow.start(state))
    assert (await flow.callback(params)).code == 200


async def test_failed_reauthorization_keeps_working_tokens(flow: Flow, store_path: Path) -> None:
    await flow.connect("prod")
    db = sqlite3.connect(store_path)
    tokens_before = db.execute("SELECT access_token FROM tokens").fetchall()
    db.close()
    state = await flow.begin("prod")
    params = await flow.salesforce(await flow.start(state))
    flow.emu.token_fault = "500"
    await flow.callback(params)
    conn = await flow.get("prod")
    assert conn["state"] == "connected"
    assert "last authorization attempt failed" in conn["message"]
    db = sqlite3.connect(store_path)
    assert db.execute("SELECT access_token FROM tokens").fetchall() == tokens_before
    db.close()


async def test_code_exchanged_with_other_redirect_uri(flow: Flow) -> None:
    await flow.create("prod")
    state = await flow.begin("prod")
    await flow.start(state)
    code = flow.emu.authorize_code(
        client_id="demo-client-id", redirect_uri="http://localhost:1/oauth/redirect/salesforce"
    )
    page = await flow.callback({"state": state, "code": code})
    assert page.code == 400
    conn = await flow.get("prod")
    assert "redirect_uri_mismatch" in conn["message"]
    assert "/a%40b/oauth/redirect/salesforce" in conn["message"]


async def test_token_endpoint_down(flow: Flow) -> None:
    await flow.create("prod", login_url="http://127.0.0.1:9")  # discard port: nobody listens
    state = await flow.begin("prod")
    url = await flow.start(state)
    assert url.startswith("http://127.0.0.1:9/services/oauth2/authorize")
    page = await flow.callback({"state": state, "code": "whatever"})
    assert page.code == 502
    assert "Could not reach" in page.body.decode()


async def test_callback_refuses_post_without_traceback(flow: Flow) -> None:
    response = await flow.fetch(
        "oauth", "redirect", "salesforce", method="POST", body="", raise_error=False
    )
    assert response.code in (403, 405)
    assert "Traceback" not in response.body.decode()


async def test_a_secret_left_empty_for_an_app_that_needs_one_is_said_plainly(flow: Flow) -> None:
    """Saved as a public client, but the app requires its secret: the callback says what
    to enter, and nothing is stored as connected."""
    await flow.create("prod", client_secret="")
    state = await flow.begin("prod")
    params = await flow.salesforce(await flow.start(state))
    response = await flow.callback(params)
    assert response.code == 400
    assert b"requires its Client Secret" in response.body
    record = await flow.get("prod")
    assert record["state"] != "connected"
    assert "requires its Client Secret" in record["message"]
