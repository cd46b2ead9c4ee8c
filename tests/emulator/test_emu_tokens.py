"""Token, refresh, revoke, userinfo, identity URL, expiry and the token-endpoint faults."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.emulator import RunningEmulator

from .helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    exchange_code,
    get_token,
    http_client,
    pkce_pair,
)


def _refresh(client: httpx.Client, refresh_token: str, **extra: str) -> httpx.Response:
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    data.update(extra)
    return client.post("/services/oauth2/token", data=data)


def _limits(client: httpx.Client, access_token: str) -> httpx.Response:
    return client.get(
        "/services/data/v66.0/limits", headers={"Authorization": f"Bearer {access_token}"}
    )


def _assert_invalid_session(answer: httpx.Response) -> None:
    assert answer.status_code == 401
    assert answer.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def _assert_oauth_error(answer: httpx.Response, error: str, description: str) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {"error": error, "error_description": description}


def test_code_grant_answer_has_salesforce_fields(emu: RunningEmulator) -> None:
    token = get_token(emu)
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
    assert token["access_token"].startswith(emu.org_id[:15] + "!AQ")
    assert token["instance_url"] == emu.url
    assert token["id"] == f"{emu.url}/id/{emu.org_id}/{emu.user_id()}"
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "api refresh_token"
    assert "expires_in" not in token
    issued = int(token["issued_at"])
    assert abs(issued / 1000 - time.time()) < 60
    expected = base64.b64encode(
        hmac.new(
            CLIENT_SECRET.encode(), (token["id"] + token["issued_at"]).encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert token["signature"] == expected


def test_no_refresh_token_without_the_scope(emu: RunningEmulator, client: httpx.Client) -> None:
    code = emu.authorize_code(redirect_uri=REDIRECT_URI, scope="api id")
    token = exchange_code(client, code).json()
    assert "refresh_token" not in token and token["scope"] == "api id"


def test_client_credentials_in_basic_auth(emu: RunningEmulator, client: httpx.Client) -> None:
    code = emu.authorize_code(redirect_uri=REDIRECT_URI)
    answer = client.post(
        "/services/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("verifier_length", [43, 128, 171])
def test_pkce_verifier(emu: RunningEmulator, client: httpx.Client, verifier_length: int) -> None:
    verifier, challenge = pkce_pair(verifier_length)
    code = emu.authorize_code(redirect_uri=REDIRECT_URI, code_challenge=challenge)
    assert exchange_code(client, code, verifier=verifier).status_code == 200


@pytest.mark.parametrize("verifier", [None, "wrong-verifier-wrong-verifier-wrong-verifier"])
def test_pkce_mismatch_is_invalid_grant(
    emu: RunningEmulator, client: httpx.Client, verifier: str | None
) -> None:
    _, challenge = pkce_pair()
    code = emu.authorize_code(redirect_uri=REDIRECT_URI, code_challenge=challenge)
    _assert_oauth_error(
        exchange_code(client, code, verifier=verifier), "invalid_grant", "invalid code verifier"
    )


def test_code_replay_fails_and_revokes_what_the_code_gave(
    emu: RunningEmulator, client: httpx.Client
) -> None:
    code = emu.authorize_code(redirect_uri=REDIRECT_URI)
    first = exchange_code(client, code).json()
    assert _limits(client, first["access_token"]).status_code == 200
    _assert_oauth_error(exchange_code(client, code), "invalid_grant", "invalid authorization code")
    _assert_invalid_session(_limits(client, first["access_token"]))
    _assert_oauth_error(
        _refresh(client, first["refresh_token"]), "invalid_grant", "expired access/refresh token"
    )


def test_token_endpoint_errors(emu: RunningEmulator, client: httpx.Client) -> None:
    code = emu.authorize_code(redirect_uri=REDIRECT_URI)
    _assert_oauth_error(
        exchange_code(
            client, code, redirect_uri="http://localhost/other/oauth/redirect/salesforce"
        ),
        "redirect_uri_mismatch",
        "redirect_uri must match configuration",
    )
    base = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    cases: list[tuple[dict[str, str], str, str]] = [
        (
            {**base, "client_id": "nope", "client_secret": CLIENT_SECRET},
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            {**base, "client_id": CLIENT_ID, "client_secret": "wrong"},
            "invalid_client",
            "invalid client credentials",
        ),
        ({**base, "client_id": CLIENT_ID}, "invalid_client", "invalid client credentials"),
        ({**base, "grant_type": "password"}, "unsupported_grant_type", "grant type not supported"),
        (
            {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
            "unsupported_grant_type",
            "grant type not supported",
        ),
        (
            {**base, "code": "aPrxBogus", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
            "invalid_grant",
            "invalid authorization code",
        ),
    ]
    for data, error, description in cases:
        _assert_oauth_error(client.post("/services/oauth2/token", data=data), error, description)


def test_refresh_without_rotation(emu: RunningEmulator, client: httpx.Client) -> None:
    token = get_token(emu)
    answer = _refresh(client, token["refresh_token"])
    assert answer.status_code == 200
    refreshed = answer.json()
    assert "refresh_token" not in refreshed
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["id"] == token["id"] and refreshed["instance_url"] == emu.url
    assert _limits(client, refreshed["access_token"]).status_code == 200
    # The refresh token keeps working.
    assert _refresh(client, token["refresh_token"]).status_code == 200


def test_refresh_with_rotation(emu: RunningEmulator, client: httpx.Client) -> None:
    token = get_token(emu)
    emu.config.rotate_refresh_tokens = True
    rotated = _refresh(client, token["refresh_token"]).json()
    assert rotated["refresh_token"] != token["refresh_token"]
    _assert_oauth_error(
        _refresh(client, token["refresh_token"]), "invalid_grant", "expired access/refresh token"
    )
    again = _refresh(client, rotated["refresh_token"]).json()
    assert _limits(client, again["access_token"]).status_code == 200


def test_revoke_access_and_refresh_tokens(emu: RunningEmulator, client: httpx.Client) -> None:
    token = get_token(emu)
    other = _refresh(client, token["refresh_token"]).json()
    before = emu.stats["revocations"]
    answer = client.post("/services/oauth2/revoke", data={"token": other["access_token"]})
    assert answer.status_code == 200 and answer.content == b""
    _assert_invalid_session(_limits(client, other["access_token"]))
    assert _limits(client, token["access_token"]).status_code == 200
    assert (
        client.post("/services/oauth2/revoke", data={"token": token["refresh_token"]}).status_code
        == 200
    )
    _assert_invalid_session(_limits(client, token["access_token"]))
    _assert_oauth_error(
        _refresh(client, token["refresh_token"]), "invalid_grant", "expired access/refresh token"
    )
    unknown = client.post("/services/oauth2/revoke", data={"token": "nope"})
    _assert_oauth_error(unknown, "unsupported_token_type", "this token type is not supported")
    assert emu.stats["revocations"] == before + 3


def test_session_timeout_and_expire_control(emu: RunningEmulator, client: httpx.Client) -> None:
    emu.config.session_timeout = 0.3
    short = get_token(emu)
    assert _limits(client, short["access_token"]).status_code == 200
    time.sleep(0.4)
    _assert_invalid_session(_limits(client, short["access_token"]))
    emu.config.session_timeout = 7200
    token = get_token(emu)
    emu.expire_access_tokens()
    _assert_invalid_session(_limits(client, token["access_token"]))
    refreshed = _refresh(client, token["refresh_token"]).json()
    assert _limits(client, refreshed["access_token"]).status_code == 200


def test_revoke_refresh_tokens_control(emu: RunningEmulator, client: httpx.Client) -> None:
    token = get_token(emu)
    emu.revoke_refresh_tokens()
    _assert_invalid_session(_limits(client, token["access_token"]))
    _assert_oauth_error(
        _refresh(client, token["refresh_token"]), "invalid_grant", "expired access/refresh token"
    )


def test_userinfo_and_identity_url(emu: RunningEmulator, client: httpx.Client) -> None:
    token = get_token(emu, "bob@example.com")
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    before = emu.stats["userinfo_requests"]
    info = client.get("/services/oauth2/userinfo", headers=headers)
    assert info.status_code == 200
    body = info.json()
    assert body["sub"] == token["id"]
    assert body["user_id"] == emu.user_id("bob@example.com")
    assert body["organization_id"] == emu.org_id
    assert body["preferred_username"] == "bob@example.com"
    assert body["name"] and body["email"] == "bob@example.com"
    assert body["active"] is True and body["user_type"] == "STANDARD"
    assert body["urls"]["rest"] == f"{emu.url}/services/data/v{{version}}/"
    assert emu.stats["userinfo_requests"] == before + 1

    identity = client.get(token["id"].removeprefix(emu.url), headers=headers)
    assert identity.status_code == 200
    assert identity.json()["username"] == "bob@example.com"
    assert identity.json()["display_name"] == body["name"]

    for answer in (
        client.get("/services/oauth2/userinfo"),
        client.get(token["id"].removeprefix(emu.url)),
    ):
        assert (answer.status_code, answer.text) == (403, "Missing_OAuth_Token")
    bad = {"Authorization": "Bearer 00Dbogus!AQbogus"}
    for answer in (
        client.get("/services/oauth2/userinfo", headers=bad),
        client.get(token["id"].removeprefix(emu.url), headers=bad),
    ):
        assert (answer.status_code, answer.text) == (403, "Bad_OAuth_Token")


def test_introspection(emu: RunningEmulator, client: httpx.Client) -> None:
    token = get_token(emu)
    auth = (CLIENT_ID, CLIENT_SECRET)
    active = client.post(
        "/services/oauth2/introspect", data={"token": token["access_token"]}, auth=auth
    ).json()
    assert active["active"] is True and active["username"] == "ada@example.com"
    assert active["token_type"] == "access_token" and active["exp"] > active["iat"]
    inactive = client.post("/services/oauth2/introspect", data={"token": "x"}, auth=auth).json()
    assert inactive == {"active": False}


def test_stats_count_grants(emu: RunningEmulator, client: httpx.Client) -> None:
    before = dict(emu.stats)
    token = get_token(emu)
    _refresh(client, token["refresh_token"])
    after = dict(emu.stats)
    assert after["token_requests"] == before["token_requests"] + 2
    assert after["code_grants"] == before["code_grants"] + 1
    assert after["refresh_grants"] == before["refresh_grants"] + 1
    emu.stats.reset()
    assert dict(emu.stats) == dict.fromkeys(after, 0)


def test_authorize_code_rejects_unknown_users(emu: RunningEmulator) -> None:
    with pytest.raises(ValueError, match="unknown user"):
        emu.authorize_code(username="nobody@example.com")


def test_fault_500_garbage_and_invalid_grant(emu: RunningEmulator, client: httpx.Client) -> None:
    token = get_token(emu)
    emu.token_fault = "500"
    assert _refresh(client, token["refresh_token"]).status_code == 500
    emu.token_fault = "garbage"
    garbage = _refresh(client, token["refresh_token"])
    assert garbage.status_code == 200
    with pytest.raises(ValueError, match="Expecting value"):
        garbage.json()
    emu.token_fault = "invalid_grant"
    _assert_oauth_error(
        _refresh(client, token["refresh_token"]), "invalid_grant", "authentication failure"
    )
    emu.token_fault = None
    assert _refresh(client, token["refresh_token"]).status_code == 200
    with pytest.raises(ValueError, match="unknown token fault"):
        emu.token_fault = "explode"


def test_fault_bad_signature(emu: RunningEmulator, client: httpx.Client) -> None:
    token = get_token(emu)
    emu.token_fault = "bad_signature"
    answer: dict[str, Any] = _refresh(client, token["refresh_token"]).json()
    good = base64.b64encode(
        hmac.new(
            CLIENT_SECRET.encode(), (answer["id"] + answer["issued_at"]).encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert answer["signature"] != good


def test_fault_slow_does_not_block_other_requests(
    emu: RunningEmulator, client: httpx.Client
) -> None:
    token = get_token(emu)
    emu.slow_seconds = 1.5
    emu.token_fault = "slow"
    results: dict[str, float] = {}

    def slow_refresh() -> None:
        start = time.monotonic()
        with http_client(emu.url, timeout=10) as other:
            assert _refresh(other, token["refresh_token"]).status_code == 200
        results["slow"] = time.monotonic() - start

    thread = threading.Thread(target=slow_refresh)
    thread.start()
    time.sleep(0.2)
    start = time.monotonic()
    assert _limits(client, token["access_token"]).status_code == 200
    results["fast"] = time.monotonic() - start
    thread.join(timeout=10)
    assert results["fast"] < 0.5
    assert 1.3 < results["slow"] < 5


def test_identity_url_of_another_user_in_the_org(
    emu: RunningEmulator, client: httpx.Client
) -> None:
    token = get_token(emu)
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    query = client.get(
        "/services/data/v66.0/query",
        params={"q": "SELECT Id, Name FROM User WHERE Username = 'grace.hopper@example.com'"},
        headers=headers,
    ).json()
    grace = query["records"][0]
    answer = client.get(f"/id/{emu.org_id}/{grace['Id']}", headers=headers)
    assert answer.status_code == 200
    assert answer.json()["display_name"] == "Grace Hopper"
    assert answer.json()["asserted_user"] is False
    wrong_org = client.get(f"/id/00DHs0000000XXXAAA/{grace['Id']}", headers=headers)
    assert (wrong_org.status_code, wrong_org.text) == (403, "Wrong_Org")
    unknown = client.get(f"/id/{emu.org_id}/005Hs00000000ZZAAA", headers=headers)
    assert (unknown.status_code, unknown.text) == (404, "Bad_Id")


def test_activity_slides_the_session_timeout(emu: RunningEmulator, client: httpx.Client) -> None:
    # As on a real org: a use in the second half of the timeout window renews the session.
    emu.config.session_timeout = 1.5
    token = get_token(emu)
    issued = time.time()
    time.sleep(0.9)
    assert _limits(client, token["access_token"]).status_code == 200  # renews to ~2.4 s
    time.sleep(0.9)
    # 1.8 s after issue: past an absolute timeout, alive because it was used.
    assert _limits(client, token["access_token"]).status_code == 200
    introspected = client.post(
        "/services/oauth2/introspect",
        data={"token": token["access_token"]},
        auth=(CLIENT_ID, CLIENT_SECRET),
    ).json()
    assert introspected["exp"] >= int(issued + 2.5)
    time.sleep(2.0)  # idle for longer than the timeout
    _assert_invalid_session(_limits(client, token["access_token"]))


def test_absolute_session_expiry_ignores_activity(
    emu: RunningEmulator, client: httpx.Client
) -> None:
    emu.config.session_timeout = 1.5
    emu.config.absolute_session_expiry = True
    token = get_token(emu)
    time.sleep(0.9)
    assert _limits(client, token["access_token"]).status_code == 200
    time.sleep(0.9)
    _assert_invalid_session(_limits(client, token["access_token"]))
