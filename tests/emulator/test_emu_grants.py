"""Client credentials, JWT bearer and public clients, with Salesforce's errors for each.

Assertions are signed with PyJWT (simple-salesforce's own JWT library), not with the
emulator's code, so a signature the emulator accepts is one a real client makes.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator
from ak_salesforce_nb.emulator.__main__ import build_parser, config_from_args
from tests.keys import write_certificate

from .helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    authorize_params,
    browser_login,
    exchange_code,
    http_client,
    pkce_pair,
    query_params,
)

TOKEN = "/services/oauth2/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def assert_error(answer: httpx.Response, error: str, description: str) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {"error": error, "error_description": description}


def limits_status(client: httpx.Client, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return client.get("/services/data/v66.0/limits", headers=headers).status_code


# -- client credentials


def client_credentials(client: httpx.Client, **overrides: str) -> httpx.Response:
    data = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    data.update(overrides)
    return client.post(TOKEN, data={k: v for k, v in data.items() if v})


def test_client_credentials_runs_as_the_demo_user(
    emu: RunningEmulator, client: httpx.Client
) -> None:
    before = emu.stats["token_requests"]
    answer = client_credentials(client)
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert list(token) == [
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    ]
    assert token["id"] == f"{emu.url}/id/{emu.org_id}/{emu.user_id()}"
    assert token["scope"] == "api id"
    assert limits_status(client, token["access_token"]) == 200
    assert emu.stats["token_requests"] == before + 1
    assert emu.stats["client_credentials_grants"] >= 1
    # HTTP Basic client authentication works the same.
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    answer = client.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert answer.status_code == 200, answer.text


def test_client_credentials_scopes(emu: RunningEmulator, client: httpx.Client) -> None:
    # Scopes a user-less token cannot carry are dropped...
    token = client_credentials(client, scope="api refresh_token full").json()
    assert token["scope"] == "api" and "refresh_token" not in token
    # ...and if nothing is left, Salesforce refuses.
    assert_error(
        client_credentials(client, scope="refresh_token offline_access"),
        "invalid_grant",
        "no valid scopes defined",
    )


def test_client_credentials_run_as_another_user(emu: RunningEmulator, client: httpx.Client) -> None:
    emu.config.client_credentials_user = "bob@example.com"
    token = client_credentials(client).json()
    assert token["id"].endswith(emu.user_id("bob@example.com"))


def test_client_credentials_errors(emu: RunningEmulator, client: httpx.Client) -> None:
    assert_error(
        client_credentials(client, client_secret=""), "invalid_client", "invalid client credentials"
    )
    assert_error(
        client_credentials(client, client_secret="wrong"),
        "invalid_client",
        "invalid client credentials",
    )
    assert_error(
        client_credentials(client, client_id="other"),
        "invalid_client_id",
        "client identifier invalid",
    )
    # A public client still needs its secret for this flow.
    emu.config.require_client_secret = False
    assert_error(
        client_credentials(client, client_secret=""), "invalid_client", "invalid client credentials"
    )
    emu.config.client_credentials = False
    assert_error(client_credentials(client), "invalid_grant", "no client credentials user enabled")


# -- JWT bearer


@pytest.fixture(scope="module")
def app_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[rsa.RSAPrivateKey, Path]:
    """The app's key pair: the private key signs, the certificate file goes to the app."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = write_certificate(key, tmp_path_factory.mktemp("jwt") / "server.crt")
    return key, path


@pytest.fixture
def jwt_emu(emu: RunningEmulator, app_key: tuple[rsa.RSAPrivateKey, Path]) -> RunningEmulator:
    emu.config.jwt_cert = str(app_key[1])
    return emu


def assertion(emu: RunningEmulator, key: Any, **claims: Any) -> str:
    body: dict[str, Any] = {
        "iss": CLIENT_ID,
        "sub": "ada@example.com",
        "aud": emu.url,
        "exp": int(time.time()) + 180,
    }
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="RS256")


def jwt_grant(client: httpx.Client, token: str) -> httpx.Response:
    return client.post(TOKEN, data={"grant_type": JWT_GRANT, "assertion": token})


def test_jwt_bearer_grant(
    jwt_emu: RunningEmulator, client: httpx.Client, app_key: tuple[rsa.RSAPrivateKey, Path]
) -> None:
    key = app_key[0]
    answer = jwt_grant(client, assertion(jwt_emu, key))
    assert answer.status_code == 200, answer.text
    token = answer.json()
    # Salesforce's JWT bearer answer: no refresh token, no signature, no issued_at.
    assert list(token) == ["access_token", "scope", "instance_url", "id", "token_type"]
    assert token["id"] == f"{jwt_emu.url}/id/{jwt_emu.org_id}/{jwt_emu.user_id()}"
    assert limits_status(client, token["access_token"]) == 200
    bob = jwt_grant(client, assertion(jwt_emu, key, sub="BOB@example.com")).json()
    assert bob["id"].endswith(jwt_emu.user_id("bob@example.com"))
    # aud may be a list holding the login host.
    listed = jwt_grant(client, assertion(jwt_emu, key, aud=["x", jwt_emu.url]))
    assert listed.status_code == 200, listed.text


def test_jwt_bearer_errors(
    jwt_emu: RunningEmulator, client: httpx.Client, app_key: tuple[rsa.RSAPrivateKey, Path]
) -> None:
    key = app_key[0]
    invalid = ("invalid_grant", "invalid assertion")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_error(jwt_grant(client, assertion(jwt_emu, other_key)), *invalid)
    assert_error(jwt_grant(client, "not.a.jwt"), *invalid)
    assert_error(jwt_grant(client, ""), *invalid)
    hs256 = jwt.encode(
        {"iss": CLIENT_ID, "sub": "ada@example.com", "aud": jwt_emu.url, "exp": 2**31},
        "a-shared-secret-long-enough-for-hs256!",
        algorithm="HS256",
    )
    assert_error(jwt_grant(client, hs256), *invalid)
    assert_error(jwt_grant(client, assertion(jwt_emu, key, exp=None)), *invalid)
    assert_error(
        jwt_grant(client, assertion(jwt_emu, key, iss="someone-else")),
        "invalid_client_id",
        "client identifier invalid",
    )
    assert_error(
        jwt_grant(client, assertion(jwt_emu, key, aud="https://login.salesforce.com")),
        "invalid_grant",
        "audience is invalid",
    )
    assert_error(
        jwt_grant(client, assertion(jwt_emu, key, exp=int(time.time()) - 600)),
        "invalid_grant",
        "expired authorization code",
    )
    assert_error(
        jwt_grant(client, assertion(jwt_emu, key, sub="nobody@example.com")),
        "invalid_grant",
        "user hasn't approved this consumer",
    )


def test_jwt_bearer_needs_the_users_approval_when_not_preauthorized(
    app_key: tuple[rsa.RSAPrivateKey, Path],
) -> None:
    # An org of its own: consents given in other tests must not count here.
    config = EmulatorConfig(
        accounts=5,
        users={"ada@example.com": "demo", "bob@example.com": "builder"},
        jwt_cert=str(app_key[1]),
        jwt_preauthorized=False,
    )
    with start_emulator(config) as private, http_client(private.url) as client:
        signed = assertion(private, app_key[0], sub="bob@example.com")
        refused = jwt_grant(client, signed)
        assert_error(refused, "invalid_grant", "user hasn't approved this consumer")
        # Bob approves the app once in the browser (code flow); from then on JWT works.
        answer = browser_login(client, authorize_params(), "bob@example.com", "builder")
        assert answer.status_code == 302
        assert jwt_grant(client, signed).status_code == 200
        # Ada has not approved it.
        signed = assertion(private, app_key[0], sub="ada@example.com")
        refused = jwt_grant(client, signed)
        assert_error(refused, "invalid_grant", "user hasn't approved this consumer")


def test_jwt_bearer_for_admin_approved_users_only(
    jwt_emu: RunningEmulator, client: httpx.Client, app_key: tuple[rsa.RSAPrivateKey, Path]
) -> None:
    jwt_emu.config.jwt_admin_approved_users = ["Bob@example.com"]
    bob = jwt_grant(client, assertion(jwt_emu, app_key[0], sub="bob@example.com"))
    assert bob.status_code == 200, bob.text
    assert_error(
        jwt_grant(client, assertion(jwt_emu, app_key[0], sub="ada@example.com")),
        "invalid_app_access",
        "user is not admin approved to access this app",
    )


def test_jwt_bearer_switched_off_or_without_certificate(
    jwt_emu: RunningEmulator, client: httpx.Client, app_key: tuple[rsa.RSAPrivateKey, Path]
) -> None:
    signed = assertion(jwt_emu, app_key[0])
    jwt_emu.config.jwt_bearer = False
    assert_error(jwt_grant(client, signed), "invalid_grant", "invalid assertion")
    jwt_emu.config.jwt_bearer = True
    jwt_emu.config.jwt_cert = None
    assert_error(jwt_grant(client, signed), "invalid_grant", "invalid assertion")


# -- public clients (no secret; PKCE proves the client)


def test_public_client_code_flow_and_refresh_without_secret(
    emu: RunningEmulator, client: httpx.Client
) -> None:
    emu.config.auto_approve = True
    verifier, challenge = pkce_pair()
    location = client.get(
        "/services/oauth2/authorize",
        params=authorize_params(code_challenge=challenge, code_challenge_method="S256"),
    ).headers["location"]
    code = query_params(location)["code"]
    no_secret = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    # Negative control: this app requires its secret.
    assert_error(client.post(TOKEN, data=no_secret), "invalid_client", "invalid client credentials")
    emu.config.require_client_secret = False
    answer = client.post(TOKEN, data=no_secret)
    assert answer.status_code == 200, answer.text
    token = answer.json()
    refresh = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    refreshed = client.post(TOKEN, data={**refresh, "client_id": CLIENT_ID})
    assert refreshed.status_code == 200, refreshed.text
    # A secret, if sent, must still be the right one.
    assert_error(
        client.post(TOKEN, data={**refresh, "client_id": CLIENT_ID, "client_secret": "x"}),
        "invalid_client",
        "invalid client credentials",
    )


def test_public_client_without_pkce_is_refused(emu: RunningEmulator, client: httpx.Client) -> None:
    emu.config.require_client_secret = False
    code = emu.authorize_code(redirect_uri=REDIRECT_URI)  # no code challenge
    answer = client.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
        },
    )
    assert_error(answer, "invalid_client", "invalid client credentials")
    # The confidential way still works for the same app.
    code = emu.authorize_code(redirect_uri=REDIRECT_URI)
    assert exchange_code(client, code).status_code == 200


def test_refresh_without_secret_is_refused_for_a_confidential_app(
    emu: RunningEmulator, client: httpx.Client
) -> None:
    token = exchange_code(client, emu.authorize_code(redirect_uri=REDIRECT_URI)).json()
    answer = client.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": CLIENT_ID,
        },
    )
    assert_error(answer, "invalid_client", "invalid client credentials")


# -- command line and configuration


def test_command_line_flags(app_key: tuple[rsa.RSAPrivateKey, Path]) -> None:
    argv = [
        "--no-client-credentials",
        "--client-credentials-user",
        "ada@example.com",
        "--jwt-cert",
        str(app_key[1]),
        "--no-jwt-bearer",
        "--no-client-secret",
        "--absolute-session-expiry",
    ]
    config = config_from_args(build_parser().parse_args(argv))
    config.validate()
    assert config.client_credentials is False
    assert config.client_credentials_user == "ada@example.com"
    assert config.jwt_cert == str(app_key[1]) and config.jwt_bearer is False
    assert config.require_client_secret is False and config.absolute_session_expiry is True
    defaults = config_from_args(build_parser().parse_args([]))
    assert defaults.client_credentials and defaults.jwt_bearer and defaults.jwt_cert is None
    assert defaults.require_client_secret and not defaults.absolute_session_expiry


def test_configuration_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="client_credentials_user"):
        EmulatorConfig(client_credentials_user="nobody@example.com").validate()
    not_a_cert = tmp_path / "server.crt"
    not_a_cert.write_text("hello")
    with pytest.raises(ValueError, match="jwt_cert"):
        EmulatorConfig(jwt_cert=str(not_a_cert)).validate()
    with pytest.raises(ValueError, match="jwt_cert"):
        EmulatorConfig(jwt_cert=str(tmp_path / "missing.crt")).validate()


def test_rs256_verification_unit(app_key: tuple[rsa.RSAPrivateKey, Path]) -> None:
    """The emulator's verifier against tokens PyJWT makes, good and tampered."""
    from ak_salesforce_nb.emulator._jose import JoseError, public_key_from_pem, verify_rs256

    key = public_key_from_pem(app_key[1].read_bytes())
    good = jwt.encode({"sub": "ada"}, app_key[0], algorithm="RS256")
    assert verify_rs256(good, key) == {"sub": "ada"}
    header, _, signature = good.split(".")
    other_claims = jwt.encode({"sub": "bob"}, app_key[0], algorithm="RS256").split(".")[1]
    unsigned = jwt.encode({"sub": "ada"}, None, algorithm="none")
    for bad in (f"{header}.{other_claims}.{signature}", unsigned, good + "x", "a.b", "é.é.é"):
        with pytest.raises(JoseError):
            verify_rs256(bad, key)
