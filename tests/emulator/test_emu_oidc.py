"""OpenID Connect: ``id_token`` with the ``openid`` scope, the JWKS at ``/id/keys``, and a
discovery document whose every endpoint answers.

ID tokens are verified with PyJWT against the keys fetched from the advertised
``jwks_uri``, as an OpenID client does.
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

import httpx
import jwt
import pytest

from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.emulator._oidc import OidcKeys, at_hash

from .helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    authorize_params,
    exchange_code,
    query_params,
)

TOKEN = "/services/oauth2/token"


def discovery(client: httpx.Client) -> dict[str, Any]:
    answer = client.get("/.well-known/openid-configuration")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def verify(client: httpx.Client, id_token: str, audience: str = CLIENT_ID) -> dict[str, Any]:
    """Verify as an OpenID client: keys from jwks_uri, issuer from discovery."""
    document = discovery(client)
    keys = jwt.PyJWKSet.from_dict(client.get(document["jwks_uri"]).json())
    kid = jwt.get_unverified_header(id_token)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    claims: dict[str, Any] = jwt.decode(
        id_token,
        key=key,
        algorithms=document["id_token_signing_alg_values_supported"],
        audience=audience,
        issuer=document["issuer"],
    )
    return claims


def code_token(emu: RunningEmulator, client: httpx.Client, **params: str) -> dict[str, Any]:
    emu.config.auto_approve = True
    answer = client.get("/services/oauth2/authorize", params=authorize_params(**params))
    assert answer.status_code == 302, answer.text
    exchanged = exchange_code(client, query_params(answer.headers["location"])["code"])
    assert exchanged.status_code == 200, exchanged.text
    token: dict[str, Any] = exchanged.json()
    return token


def test_code_flow_with_openid_gives_a_verifiable_id_token(
    emu: RunningEmulator, client: httpx.Client
) -> None:
    token = code_token(emu, client, scope="openid api refresh_token", nonce="n-0S6_WzA2Mj")
    assert list(token) == [
        "access_token",
        "refresh_token",
        "signature",
        "scope",
        "id_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    ]
    header = jwt.get_unverified_header(token["id_token"])
    assert header["alg"] == "RS256" and header["kid"]
    claims = verify(client, token["id_token"])
    assert claims["iss"] == emu.url
    assert claims["sub"] == token["id"]
    assert claims["aud"] == CLIENT_ID
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["exp"] - claims["iat"] == 300
    assert abs(claims["iat"] - time.time()) < 60
    digest = hashlib.sha256(token["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert claims["preferred_username"] == "ada@example.com"
    assert claims["email"] and claims["name"] and claims["email_verified"] is True
    # The same user the userinfo endpoint describes.
    userinfo = client.get(
        "/services/oauth2/userinfo",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    ).json()
    assert userinfo["sub"] == claims["sub"] and userinfo["name"] == claims["name"]


def test_id_token_on_refresh_and_device_flow_but_not_without_openid(
    emu: RunningEmulator, client: httpx.Client
) -> None:
    token = code_token(emu, client, scope="openid api refresh_token")
    assert "nonce" not in verify(client, token["id_token"])
    refreshed = client.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    ).json()
    assert verify(client, refreshed["id_token"])["sub"] == token["id"]
    plain = code_token(emu, client, scope="api refresh_token")
    assert "id_token" not in plain
    # Device flow.
    emu.config.device_interval = 0
    device = client.post(
        TOKEN,
        data={"response_type": "device_code", "client_id": CLIENT_ID, "scope": "openid api"},
    ).json()
    client.get("/setup/connect", params={"user_code": device["user_code"]})  # auto-approve
    polled = client.post(
        TOKEN, data={"grant_type": "device", "client_id": CLIENT_ID, "code": device["device_code"]}
    ).json()
    assert verify(client, polled["id_token"])["aud"] == CLIENT_ID
    # A user-less grant never carries one, even when openid is asked.
    credentials = client.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scope": "openid api",
        },
    ).json()
    assert "id_token" not in credentials and credentials["scope"] == "api"


def test_an_id_token_for_another_audience_or_key_does_not_verify(
    emu: RunningEmulator, client: httpx.Client
) -> None:
    token = code_token(emu, client, scope="openid api")
    with pytest.raises(jwt.InvalidAudienceError):
        verify(client, token["id_token"], audience="someone-else")
    forged = OidcKeys().id_token(
        issuer=emu.url,
        subject=token["id"],
        audience=CLIENT_ID,
        access_token=token["access_token"],
        nonce=None,
        profile={},
    )
    with pytest.raises(StopIteration):  # its kid is not in the emulator's JWKS
        verify(client, forged)


def test_jwks_is_stable_and_public_only(emu: RunningEmulator, client: httpx.Client) -> None:
    first = client.get("/id/keys")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/json")
    keys = first.json()["keys"]
    assert len(keys) == 1
    assert set(keys[0]) == {"kty", "n", "e", "alg", "use", "kid"}
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["use"] == "sig"
    assert client.get("/id/keys").json() == first.json()


def test_every_endpoint_discovery_advertises_answers(
    emu: RunningEmulator, client: httpx.Client
) -> None:
    document = discovery(client)
    assert document["issuer"] == emu.url
    assert document["jwks_uri"] == f"{emu.url}/id/keys"
    assert "device" in document["grant_types_supported"]
    assert "none" in document["token_endpoint_auth_methods_supported"]
    token = code_token(emu, client, scope="openid api refresh_token")
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    authorize = client.get(
        document["authorization_endpoint"],
        params=authorize_params(redirect_uri=REDIRECT_URI),
    )
    assert authorize.status_code == 302
    assert client.post(document["token_endpoint"], data={}).status_code == 400
    assert client.get(document["userinfo_endpoint"], headers=bearer).status_code == 200
    assert client.get(document["jwks_uri"]).status_code == 200
    introspected = client.post(
        document["introspection_endpoint"],
        data={"token": token["access_token"], "client_id": CLIENT_ID},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert introspected.status_code == 200 and introspected.json()["active"] is True
    revoked = client.post(document["revocation_endpoint"], data={"token": token["access_token"]})
    assert revoked.status_code == 200


def test_at_hash_unit() -> None:
    # OpenID Connect Core 3.1.3.6 with a known value.
    digest = hashlib.sha256(b"abc").digest()[:16]
    assert at_hash("abc") == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
