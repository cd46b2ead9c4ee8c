"""The OAuth 2.0 device flow as Salesforce speaks it, against the emulator on loopback.

Device side: ``POST /services/oauth2/token`` with ``response_type=device_code``, then polls
with ``grant_type=device&code=…``. User side: ``/setup/connect`` (code typed in or given as
``?user_code=``), login, Allow/Deny.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.emulator.__main__ import build_parser, config_from_args

from .helpers import CLIENT_ID, CLIENT_SECRET, authorize_params, browser_login, http_client

TOKEN = "/services/oauth2/token"


@pytest.fixture
def fast(emu: RunningEmulator) -> RunningEmulator:
    """The shared emulator with polling at any pace (restored by ``emu`` afterwards)."""
    emu.config.device_interval = 0
    return emu


def start(client: httpx.Client, scope: str | None = "api refresh_token", **extra: str) -> Any:
    data = {"response_type": "device_code", "client_id": CLIENT_ID, **extra}
    if scope is not None:
        data["scope"] = scope
    answer = client.post(TOKEN, data=data)
    assert answer.status_code == 200, answer.text
    return answer.json()


def poll(client: httpx.Client, device_code: str, **extra: str) -> httpx.Response:
    data = {"grant_type": "device", "client_id": CLIENT_ID, "code": device_code, **extra}
    return client.post(TOKEN, data=data)


def assert_error(answer: httpx.Response, error: str, description: str) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {"error": error, "error_description": description}


def approve_in_browser(emu: RunningEmulator, user_code: str, decision: str = "allow") -> str:
    """Open ``verification_uri?user_code=``, log in, decide; return the last page."""
    with http_client(emu.url) as browser:
        page = browser.get("/setup/connect", params={"user_code": user_code})
        assert page.status_code == 200 and 'id="Login"' in page.text, page.text
        page = browser.post(
            "/setup/connect",
            data={
                "step": "login",
                "user_code": user_code,
                "username": "ada@example.com",
                "password": "demo",
            },
        )
        assert page.status_code == 200 and 'id="oaapprove"' in page.text, page.text
        page = browser.post(
            "/setup/connect",
            data={"step": "consent", "user_code": user_code, "decision": decision},
        )
        assert page.status_code == 200
        return page.text


def test_device_code_answer_is_salesforces_four_fields(
    fast: RunningEmulator, client: httpx.Client
) -> None:
    fast.config.device_interval = 5
    answer = client.post(
        TOKEN, data={"response_type": "device_code", "client_id": CLIENT_ID, "scope": "api"}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["cache-control"] == "no-cache,no-store"
    body = answer.json()
    assert list(body) == ["device_code", "user_code", "verification_uri", "interval"]
    assert body["verification_uri"] == f"{fast.url}/setup/connect"
    assert body["interval"] == 5
    assert len(body["user_code"]) == 8 and body["user_code"].isalnum()
    assert body["user_code"].upper() == body["user_code"]
    assert len(body["device_code"]) > 40
    assert start(client)["device_code"] != body["device_code"]


def test_pending_then_approved_then_tokens_once(
    fast: RunningEmulator, client: httpx.Client
) -> None:
    device = start(client)
    assert_error(
        poll(client, device["device_code"]), "authorization_pending", "authorization pending"
    )
    done = approve_in_browser(fast, device["user_code"])
    assert 'id="result">Connected' in done
    answer = poll(client, device["device_code"])
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert list(token) == [
        "access_token",
        "refresh_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    ]
    assert token["scope"] == "api refresh_token"
    assert token["id"] == f"{fast.url}/id/{fast.org_id}/{fast.user_id()}"
    expected = base64.b64encode(
        hmac.new(
            CLIENT_SECRET.encode(), (token["id"] + token["issued_at"]).encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert token["signature"] == expected
    limits = client.get(
        "/services/data/v66.0/limits",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert limits.status_code == 200
    # Redeemed: the device code is spent.
    assert_error(poll(client, device["device_code"]), "invalid_grant", "invalid device code")
    # The refresh token works like any other (this app requires its secret to refresh).
    refreshed = client.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert refreshed.status_code == 200, refreshed.text


def test_code_typed_in_any_case_with_separators(fast: RunningEmulator) -> None:
    with http_client(fast.url) as client:
        device = start(client)
        form = client.get("/setup/connect")
        assert form.status_code == 200 and 'id="user_code"' in form.text
        typed = device["user_code"][:4].lower() + "-" + device["user_code"][4:].lower()
        page = client.post("/setup/connect", data={"step": "code", "user_code": typed})
        assert page.status_code == 200 and 'id="Login"' in page.text
        # A wrong password shows the login form again, with Salesforce's message.
        page = client.post(
            "/setup/connect",
            data={
                "step": "login",
                "user_code": device["user_code"],
                "username": "ada@example.com",
                "password": "nope",
            },
        )
        assert 'id="error"' in page.text and 'id="Login"' in page.text
        assert "check your username and password" in page.text


def test_unknown_code_shows_the_form_again(fast: RunningEmulator, client: httpx.Client) -> None:
    page = client.get("/setup/connect", params={"user_code": "NOPE2345"})
    assert page.status_code == 400
    assert 'id="error"' in page.text and "invalid or has expired" in page.text
    assert 'value="NOPE2345"' in page.text
    escaped = client.get("/setup/connect", params={"user_code": "<script>x</script>"})
    assert "<script>x" not in escaped.text and "&lt;script&gt;" in escaped.text


def test_a_logged_in_browser_goes_straight_to_consent(
    fast: RunningEmulator, client: httpx.Client
) -> None:
    # The same browser session as the code flow: logged in there, logged in here.
    browser_login(client, authorize_params(), username="bob@example.com", password="builder")
    device = start(client)
    page = client.get("/setup/connect", params={"user_code": device["user_code"]})
    assert 'id="oaapprove"' in page.text and "bob@example.com" in page.text
    client.post(
        "/setup/connect",
        data={"step": "consent", "user_code": device["user_code"], "decision": "allow"},
    )
    token = poll(client, device["device_code"]).json()
    assert token["id"].endswith(fast.user_id("bob@example.com"))


def test_denied(fast: RunningEmulator, client: httpx.Client) -> None:
    device = start(client)
    done = approve_in_browser(fast, device["user_code"], decision="deny")
    assert 'id="result">Access Denied' in done
    assert_error(
        poll(client, device["device_code"]), "access_denied", "end-user denied authorization"
    )
    assert_error(poll(client, device["device_code"]), "invalid_grant", "invalid device code")
    # A decided code cannot be decided again.
    page = client.get("/setup/connect", params={"user_code": device["user_code"]})
    assert page.status_code == 400


def test_slow_down_when_polling_faster_than_the_interval(
    emu: RunningEmulator, client: httpx.Client
) -> None:
    emu.config.device_interval = 1
    device = start(client)
    assert device["interval"] == 1
    first = poll(client, device["device_code"])
    assert first.json()["error"] == "authorization_pending"
    assert_error(poll(client, device["device_code"]), "slow_down", "polling too frequently")
    time.sleep(1.1)
    assert poll(client, device["device_code"]).json()["error"] == "authorization_pending"


def test_expired_code(fast: RunningEmulator, client: httpx.Client) -> None:
    fast.config.device_code_lifetime = 0.3
    device = start(client)
    time.sleep(0.4)
    assert_error(poll(client, device["device_code"]), "invalid_grant", "expired device code")
    page = client.get("/setup/connect", params={"user_code": device["user_code"]})
    assert page.status_code == 400 and "invalid or has expired" in page.text


def test_auto_approve_approves_when_the_page_opens_with_the_code(
    fast: RunningEmulator, client: httpx.Client
) -> None:
    fast.config.auto_approve = True
    device = start(client)
    assert poll(client, device["device_code"]).json()["error"] == "authorization_pending"
    page = client.get("/setup/connect", params={"user_code": device["user_code"]})
    assert page.status_code == 200 and 'id="result">Connected' in page.text
    token = poll(client, device["device_code"]).json()
    assert token["id"].endswith(fast.user_id())
    # Without the code, auto-approve still asks for it.
    assert 'id="user_code"' in client.get("/setup/connect").text


def test_device_flow_switched_off(fast: RunningEmulator, client: httpx.Client) -> None:
    device = start(client)
    fast.config.device_flow = False
    not_enabled = ("invalid_grant", "device flow is not enabled for the app")
    answer = client.post(TOKEN, data={"response_type": "device_code", "client_id": CLIENT_ID})
    assert_error(answer, *not_enabled)
    assert_error(poll(client, device["device_code"]), *not_enabled)


def test_client_checks(fast: RunningEmulator, client: httpx.Client) -> None:
    unknown = client.post(TOKEN, data={"response_type": "device_code", "client_id": "other"})
    assert_error(unknown, "invalid_client_id", "client identifier invalid")
    wrong = client.post(
        TOKEN,
        data={"response_type": "device_code", "client_id": CLIENT_ID, "client_secret": "x"},
    )
    assert_error(wrong, "invalid_client", "invalid client credentials")
    device = start(client, client_secret=CLIENT_SECRET)  # a secret, if sent, must be right
    assert_error(
        poll(client, device["device_code"], client_id="other"),
        "invalid_client_id",
        "client identifier invalid",
    )
    assert_error(
        poll(client, device["device_code"], client_secret="wrong"),
        "invalid_client",
        "invalid client credentials",
    )
    assert_error(poll(client, "NOT-A-CODE"), "invalid_grant", "invalid device code")
    missing = client.post(TOKEN, data={"grant_type": "device", "client_id": CLIENT_ID})
    assert_error(missing, "invalid_grant", "invalid device code")
    # The RFC 8628 grant URN is not Salesforce's dialect.
    urn = client.post(
        TOKEN,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": CLIENT_ID,
            "device_code": device["device_code"],
        },
    )
    assert_error(urn, "unsupported_grant_type", "grant type not supported")


def test_scope_without_refresh_token_and_default_scope(
    fast: RunningEmulator, client: httpx.Client
) -> None:
    fast.config.auto_approve = True
    device = start(client, scope="api")
    client.get("/setup/connect", params={"user_code": device["user_code"]})
    token = poll(client, device["device_code"]).json()
    assert token["scope"] == "api" and "refresh_token" not in token
    device = start(client, scope=None)
    client.get("/setup/connect", params={"user_code": device["user_code"]})
    token = poll(client, device["device_code"]).json()
    assert token["scope"] == "api refresh_token" and "refresh_token" in token


def test_multipart_requests_like_the_salesforce_cli(
    fast: RunningEmulator, client: httpx.Client
) -> None:
    fast.config.auto_approve = True
    fields = {"response_type": "device_code", "client_id": CLIENT_ID, "scope": "api"}
    answer = client.post(TOKEN, files={k: (None, v) for k, v in fields.items()})
    assert answer.status_code == 200, answer.text
    device = answer.json()
    client.get("/setup/connect", params={"user_code": device["user_code"]})
    fields = {"grant_type": "device", "client_id": CLIENT_ID, "code": device["device_code"]}
    answer = client.post(TOKEN, files={k: (None, v) for k, v in fields.items()})
    assert answer.status_code == 200, answer.text
    assert fast.stats["device_grants"] >= 1 and fast.stats["device_requests"] >= 1


def test_command_line_flags() -> None:
    args = build_parser().parse_args(["--no-device-flow", "--device-interval", "2"])
    config = config_from_args(args)
    assert config.device_flow is False and config.device_interval == 2
    defaults = config_from_args(build_parser().parse_args([]))
    assert defaults.device_flow is True and defaults.device_interval == 5
    assert defaults.device_code_lifetime == 600


def test_user_code_normalization_unit() -> None:
    from ak_salesforce_nb.emulator._device import normalize_user_code

    assert normalize_user_code(" abcd-ef23 ") == "ABCDEF23"
    assert normalize_user_code("AB CD\tEF 23") == "ABCDEF23"
