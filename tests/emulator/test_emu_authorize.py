"""The authorize endpoint and its pages, driven over plain HTTP like a browser would."""

from __future__ import annotations

import httpx
import pytest

from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator

from .helpers import (
    REDIRECT_URI,
    authorize_params,
    browser_login,
    exchange_code,
    hidden_pending,
    http_client,
    pkce_pair,
    query_params,
)


def test_login_then_consent_then_redirect_with_code(
    emu: RunningEmulator, client: httpx.Client
) -> None:
    params = authorize_params(login_hint="bob@example.com", prompt="consent")
    page = client.get("/services/oauth2/authorize", params=params)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    for marker in ('id="username"', 'name="username"', 'id="password"', 'name="password"'):
        assert marker in html
    assert 'id="Login"' in html and 'value="Log In"' in html
    assert 'value="bob@example.com"' in html  # login_hint pre-fills the username
    # Self-contained: no scripts, no external stylesheets, images or links.
    assert "<script" not in html and "<link" not in html and "src=" not in html

    consent = client.post(
        "/login",
        data={
            "pending": hidden_pending(html),
            "username": "bob@example.com",
            "password": "builder",
        },
    )
    assert consent.status_code == 200
    assert 'id="oaapprove"' in consent.text and ">Allow<" in consent.text
    assert 'id="oadeny"' in consent.text and ">Deny<" in consent.text
    assert emu.config.app_name in consent.text
    assert "Manage user data via APIs (api)" in consent.text
    assert "Perform requests at any time" in consent.text

    done = client.post(
        "/consent", data={"pending": hidden_pending(consent.text), "decision": "allow"}
    )
    assert done.status_code == 302
    location = done.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    callback = query_params(location)
    assert callback["state"] == params["state"]
    token = exchange_code(client, callback["code"]).json()
    assert token["id"].endswith(emu.user_id("bob@example.com"))


def test_consent_is_remembered_per_user_and_client() -> None:
    with (
        start_emulator(EmulatorConfig(accounts=5)) as fresh,
        http_client(fresh.url) as client,
    ):
        _check_consent_memory(client)


def _check_consent_memory(client: httpx.Client) -> None:
    page = client.get("/services/oauth2/authorize", params=authorize_params())
    assert 'id="Login"' in page.text
    consent = client.post(
        "/login",
        data={
            "pending": hidden_pending(page.text),
            "username": "ada@example.com",
            "password": "demo",
        },
    )
    assert 'id="oaapprove"' in consent.text  # the first time, Salesforce asks
    first = client.post(
        "/consent", data={"pending": hidden_pending(consent.text), "decision": "allow"}
    )
    assert first.status_code == 302
    # Same browser session, same client: straight back with a code.
    again = client.get("/services/oauth2/authorize", params=authorize_params())
    assert again.status_code == 302 and "code" in query_params(again.headers["location"])
    # prompt=consent asks again, prompt=login shows the login page again.
    forced = client.get("/services/oauth2/authorize", params=authorize_params(prompt="consent"))
    assert forced.status_code == 200 and 'id="oaapprove"' in forced.text
    login = client.get("/services/oauth2/authorize", params=authorize_params(prompt="login"))
    assert login.status_code == 200 and 'id="Login"' in login.text


def test_deny_redirects_with_access_denied(client: httpx.Client) -> None:
    params = authorize_params(prompt="consent")
    denied = browser_login(client, params, decision="deny")
    assert denied.status_code == 302
    assert query_params(denied.headers["location"]) == {
        "error": "access_denied",
        "error_description": "end-user denied authorization",
        "state": params["state"],
    }
    assert "error_description=end-user+denied+authorization" in denied.headers["location"]


def test_wrong_password_shows_the_page_again(client: httpx.Client) -> None:
    page = client.get("/services/oauth2/authorize", params=authorize_params())
    pending = hidden_pending(page.text)
    retry = client.post(
        "/login", data={"pending": pending, "username": "ada@example.com", "password": "nope"}
    )
    assert retry.status_code == 200
    assert "Please check your username and password" in retry.text
    assert 'id="Login"' in retry.text and "emu_sid" not in retry.headers.get("set-cookie", "")
    unknown = client.post("/login", data={"pending": pending, "username": "eve@example.com"})
    assert unknown.status_code == 200 and "Please check your username" in unknown.text
    ok = client.post(
        "/login", data={"pending": pending, "username": "ADA@example.com", "password": "demo"}
    )
    assert ok.status_code in (200, 302)


def test_forms_without_fields_answer_400_pages(client: httpx.Client) -> None:
    for path in ("/login", "/consent"):
        answer = client.post(path, data={})
        assert answer.status_code == 400
        assert answer.headers["content-type"].startswith("text/html")
    page = client.get("/services/oauth2/authorize", params=authorize_params())
    session = browser_login(client, authorize_params(prompt="consent"), decision=None)
    undecided = client.post("/consent", data={"pending": hidden_pending(session.text)})
    assert undecided.status_code == 400
    assert page.status_code == 200


def test_unknown_client_and_bad_redirect_get_an_error_page_not_a_redirect(
    client: httpx.Client, emu: RunningEmulator
) -> None:
    bad_client = client.get(
        "/services/oauth2/authorize", params=authorize_params(client_id="nope<script>")
    )
    assert bad_client.status_code == 400
    assert "location" not in bad_client.headers
    assert "error=invalid_client_id" in bad_client.text
    assert "client identifier invalid" in bad_client.text
    for uri in (
        "https://evil.example.com/oauth/redirect/salesforce",
        "http://localhost:8888/somewhere/else",
        "http://localhost:bad/oauth/redirect/salesforce",
    ):
        bad_redirect = client.get(
            "/services/oauth2/authorize", params=authorize_params(redirect_uri=uri)
        )
        assert bad_redirect.status_code == 400, uri
        assert "error=redirect_uri_mismatch" in bad_redirect.text
        assert "redirect_uri must match configuration" in bad_redirect.text
    # An exact-match allow list, changed while running.
    emu.config.callback_urls = [
        "https://hub.example.com/hub/user-redirect/oauth/redirect/salesforce"
    ]
    emu.config.auto_approve = True
    listed = authorize_params(redirect_uri=emu.config.callback_urls[0])
    assert client.get("/services/oauth2/authorize", params=listed).status_code == 302
    default_ok = client.get("/services/oauth2/authorize", params=authorize_params())
    assert default_ok.status_code == 400


def test_user_controlled_text_is_escaped(client: httpx.Client) -> None:
    evil = '"><script>alert(1)</script>'
    page = client.get(
        "/services/oauth2/authorize", params=authorize_params(login_hint=evil, state=evil)
    )
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    retry = client.post(
        "/login", data={"pending": hidden_pending(page.text), "username": evil, "password": "x"}
    )
    assert "<script>" not in retry.text


def test_auto_approve_uses_login_hint_or_default_user(
    emu: RunningEmulator, client: httpx.Client
) -> None:
    emu.config.auto_approve = True
    hinted = client.get(
        "/services/oauth2/authorize", params=authorize_params(login_hint="bob@example.com")
    )
    assert hinted.status_code == 302
    token = exchange_code(client, query_params(hinted.headers["location"])["code"]).json()
    assert token["id"].endswith(emu.user_id("bob@example.com"))
    unknown = client.get(
        "/services/oauth2/authorize", params=authorize_params(login_hint="zed@example.com")
    )
    token = exchange_code(client, query_params(unknown.headers["location"])["code"]).json()
    assert token["id"].endswith(emu.user_id("ada@example.com"))


def test_pkce_required(emu: RunningEmulator, client: httpx.Client) -> None:
    emu.config.require_pkce = True
    emu.config.auto_approve = True
    params = authorize_params()
    refused = client.get("/services/oauth2/authorize", params=params)
    assert refused.status_code == 302
    callback = query_params(refused.headers["location"])
    assert callback["error"] == "invalid_request" and callback["state"] == params["state"]
    _, challenge = pkce_pair()
    accepted = client.get(
        "/services/oauth2/authorize",
        params=authorize_params(code_challenge=challenge, code_challenge_method="S256"),
    )
    assert "code" in query_params(accepted.headers["location"])


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge": "abc", "code_challenge_method": "plain"}, "invalid_request"),
    ],
)
def test_bad_requests_go_back_to_the_callback(
    client: httpx.Client, overrides: dict[str, str], error: str
) -> None:
    answer = client.get("/services/oauth2/authorize", params=authorize_params(**overrides))
    assert answer.status_code == 302
    assert query_params(answer.headers["location"])["error"] == error


def test_redirect_keeps_existing_query_of_the_callback(
    emu: RunningEmulator, client: httpx.Client
) -> None:
    emu.config.auto_approve = True
    uri = "http://127.0.0.1:9999/base/oauth/redirect/salesforce?tenant=a%26b"
    answer = client.get("/services/oauth2/authorize", params=authorize_params(redirect_uri=uri))
    params = query_params(answer.headers["location"])
    assert params["tenant"] == "a&b" and "code" in params


def test_logout_forgets_the_browser_session(client: httpx.Client) -> None:
    assert browser_login(client, authorize_params()).status_code == 302
    client.get("/secur/logout.jsp")
    page = client.get("/services/oauth2/authorize", params=authorize_params())
    assert page.status_code == 200 and 'id="Login"' in page.text
