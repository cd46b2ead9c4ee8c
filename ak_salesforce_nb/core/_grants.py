"""The two grants that need no person: client credentials and the JWT bearer token.

A notebook run unattended (papermill, nbclient in CI, a scheduled job) cannot click
Authorize. Salesforce offers two ways for an app to get an access token on its own:

- **client credentials**: ``grant_type=client_credentials`` with the app's id and
  secret, sent to the org's My Domain (Salesforce refuses it on login.salesforce.com);
  the token acts as the app's run-as user;
- **JWT bearer**: ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` with an
  assertion the caller signs (RS256) with the private key whose certificate is uploaded
  to the app: ``iss`` the client id, ``sub`` the username, ``aud`` the login server,
  ``exp`` a few minutes ahead.

Neither gives a refresh token: when the access token dies, a new one is minted the same
way. Like `_oauth`, each step is a request builder and a response reader, free of any
web framework; the answer is Salesforce's usual token answer (`_oauth.TokenResponse`).
The signature is made with `cryptography` directly (authlib's `jose` is deprecated).

Errors name the setting to fix (a variable such as ``AK_SALESFORCE_NB_PROD_CLIENT_ID``,
or an argument) and never carry a secret, a key or a token.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from typing import Literal

import httpx
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ._constants import PRODUCTION_LOGIN_URL, SANDBOX_LOGIN_URL
from ._exceptions import ConfigurationError, CredentialsRefused, TokenRequestError
from ._oauth import TokenResponse, explain_oauth_error, parse_token_response, token_body
from ._validation import login_host

__all__ = [
    "JWT_BEARER_GRANT",
    "JWT_LIFETIME_SECONDS",
    "Flow",
    "client_credentials_request",
    "grant_error",
    "jwt_assertion",
    "jwt_audience",
    "jwt_bearer_request",
    "load_private_key",
    "parse_grant_response",
]

Flow = Literal["client_credentials", "jwt"]
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Salesforce accepts an assertion whose ``exp`` is at most 3 minutes ahead.
JWT_LIFETIME_SECONDS = 180
_MAX_KEY_BYTES = 64 * 1024


def _form_request(login_url: str, body: str) -> httpx.Request:
    return httpx.Request(
        "POST",
        f"{login_url}/services/oauth2/token",
        content=body.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
    )


def client_credentials_request(
    login_url: str, *, client_id: str, client_secret: str
) -> httpx.Request:
    """``POST {login_url}/services/oauth2/token`` for the client-credentials grant."""
    body = token_body("client_credentials", client_id=client_id, client_secret=client_secret)
    return _form_request(login_url, body)


def jwt_bearer_request(login_url: str, *, assertion: str) -> httpx.Request:
    """``POST {login_url}/services/oauth2/token`` for the JWT bearer grant."""
    body = token_body(JWT_BEARER_GRANT, assertion=assertion)
    return _form_request(login_url, body)


def jwt_audience(login_url: str) -> str:
    """The ``aud`` Salesforce expects: the login server, which for a My Domain is
    login.salesforce.com (test.salesforce.com for a sandbox's); other hosts (an
    Experience Cloud site, the local emulator) are their own audience."""
    host = login_host(login_url)
    if host.endswith(".sandbox.my.salesforce.com") or host == "test.salesforce.com":
        return SANDBOX_LOGIN_URL
    if host.endswith(".my.salesforce.com") or host == "login.salesforce.com":
        return PRODUCTION_LOGIN_URL
    return login_url


def load_private_key(pem: bytes, *, source: str) -> rsa.RSAPrivateKey:
    """The RSA private key in `pem`; `source` (the file's variable or argument) is named
    in errors, the key's content never."""
    if len(pem) > _MAX_KEY_BYTES:
        raise ConfigurationError(f"{source} is too large to be a PEM private key.")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise ConfigurationError(
            f"The private key in {source} is protected by a passphrase; give an unencrypted "
            "PEM key (e.g. `openssl rsa -in key.pem -out plain.pem`) and keep the file private."
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigurationError(
            f"{source} is not a PEM private key (it must begin with -----BEGIN PRIVATE KEY----- "
            "or -----BEGIN RSA PRIVATE KEY-----): give the key whose certificate is uploaded "
            "to the app."
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError(
            f"The private key in {source} is not an RSA key; Salesforce's JWT bearer flow "
            "signs with RS256, which needs one."
        )
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_assertion(
    *,
    client_id: str,
    username: str,
    audience: str,
    private_key: rsa.RSAPrivateKey,
    lifetime: float = JWT_LIFETIME_SECONDS,
    now: float | None = None,
) -> str:
    """A signed (RS256) assertion: ``iss`` = client id, ``sub`` = username, ``aud``,
    ``exp``."""
    issued = time.time() if now is None else now
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {"iss": client_id, "sub": username, "aud": audience, "exp": int(issued + lifetime)}
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def parse_grant_response(response: httpx.Response) -> TokenResponse:
    """The token answer of either grant (Salesforce's usual one, without a refresh token)."""
    return parse_token_response(response)


# -- errors that say which setting to fix ------------------------------------------------

#: What a failed grant means, by Salesforce's error code and words of its description:
#: (code, words, the setting to fix, what to do). The first match wins; "" matches all.
_GRANT_HINTS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "client_credentials": (
        (
            "invalid_client_id",
            "",
            "client_id",
            "Salesforce does not know this Client ID "
            "(the app's Consumer Key); a new app can take up to 10 minutes to work.",
        ),
        (
            "invalid_client",
            "",
            "client_secret",
            "the Client Secret does not match the app's Consumer Secret.",
        ),
        (
            "invalid_grant",
            "client credentials",
            "flow",
            "the app is not enabled for the "
            "client credentials flow: in its OAuth settings tick Enable Client Credentials "
            "Flow and choose a Run As user.",
        ),
        (
            "unsupported_grant_type",
            "",
            "login_url",
            "Salesforce does not accept this grant "
            "on that host: use the org's My Domain (https://NAME.my.salesforce.com), not "
            "login.salesforce.com or test.salesforce.com.",
        ),
        (
            "",
            "",
            "flow",
            "check the app's client credentials settings (Enable Client "
            "Credentials Flow, a Run As user).",
        ),
    ),
    "jwt": (
        (
            "invalid_client_id",
            "",
            "client_id",
            "Salesforce does not know this Client ID "
            "(the app's Consumer Key); a new app can take up to 10 minutes to work.",
        ),
        (
            "invalid_app_access",
            "",
            "username",
            "this user may not use the app: pre-authorize "
            "the user's profile or permission set in the app's policies (Admin approved users "
            "are pre-authorized).",
        ),
        (
            "invalid_grant",
            "approved",
            "username",
            "the user has not approved the app: "
            "pre-authorize the user's profile or permission set in the app's policies.",
        ),
        (
            "invalid_grant",
            "expired",
            "",
            "the assertion had expired when Salesforce read it: check this computer's clock.",
        ),
        (
            "invalid_grant",
            "audience",
            "login_url",
            "the assertion's audience is wrong for "
            "this login host: use https://login.salesforce.com, https://test.salesforce.com or "
            "the org's My Domain.",
        ),
        (
            "invalid_grant",
            "user",
            "username",
            "Salesforce does not know this username, or the user is inactive.",
        ),
        (
            "invalid_grant",
            "signature",
            "jwt_key_file",
            "the signature does not match: the "
            "key must be the private key of the certificate uploaded to the app (Use Digital "
            "Signatures).",
        ),
        (
            "invalid_grant",
            "not enabled",
            "flow",
            "the app is not set up for the JWT bearer "
            "flow: upload the certificate under Use Digital Signatures.",
        ),
        (
            "invalid_grant",
            "",
            "jwt_key_file",
            "check that the app has the certificate of "
            "this private key (Use Digital Signatures) and that the user is pre-authorized.",
        ),
        (
            "unsupported_grant_type",
            "",
            "flow",
            "the app or the org does not allow the JWT bearer flow.",
        ),
        (
            "",
            "",
            "flow",
            "check the app's JWT settings (Use Digital Signatures, pre-authorized users).",
        ),
    ),
    "refresh_token": (
        (
            "invalid_client_id",
            "",
            "auth_url",
            "Salesforce does not know the client id in the auth URL.",
        ),
        (
            "invalid_client",
            "",
            "auth_url",
            "the client secret in the auth URL does not match the app's Consumer Secret.",
        ),
        (
            "invalid_grant",
            "",
            "auth_url",
            "the refresh token in the auth URL was revoked or "
            "has expired: make a new one (`sf org display --verbose --json` prints it as "
            "sfdxAuthUrl, or aksf.export_auth_url(NAME) after authorizing in a notebook).",
        ),
        ("", "", "auth_url", "check the auth URL."),
    ),
}


def grant_error(
    grant: str, exc: TokenRequestError, settings: Mapping[str, str]
) -> CredentialsRefused:
    """`exc` (a refused grant) as an error naming the setting to fix.

    `grant` is ``client_credentials``, ``jwt`` or ``refresh_token`` (an auth URL);
    `settings` maps ``client_id``, ``client_secret``, ``login_url``, ``username``,
    ``jwt_key_file``, ``flow`` and ``auth_url`` to where the user set each (a variable's
    name or an argument), so the message says where to look.
    """
    role, advice = _hint(grant, exc)
    setting = settings.get(role, "")
    said = f"Salesforce refused the {_GRANT_NAMES.get(grant, grant)} ({exc.error}"
    said += f": {exc.description})" if exc.description else ")"
    where = f" Fix {setting}: " if setting else " "
    if not setting:
        advice = advice[:1].upper() + advice[1:]
    return CredentialsRefused(
        f"{said}.{where}{advice}",
        error=exc.error,
        description=exc.description,
        status_code=exc.status_code,
        setting=setting,
    )


def _hint(grant: str, exc: TokenRequestError) -> tuple[str, str]:
    """(the setting's role, what to do) for a refused `grant`."""
    description = exc.description.lower()
    for code, words, role, advice in _GRANT_HINTS.get(grant, ()):
        if (not code or code == exc.error) and (not words or words in description):
            return role, advice
    return "", explain_oauth_error(exc.error, exc.description)


_GRANT_NAMES = {
    "client_credentials": "client credentials grant",
    "jwt": "JWT bearer grant",
    "refresh_token": "refresh token of the auth URL",
}
