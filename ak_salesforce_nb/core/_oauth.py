"""Salesforce's OAuth 2.0 web server flow with PKCE, without any web framework.

Each step is a pair: a function that builds the `httpx.Request` and a function that reads
the `httpx.Response`, so the same logic serves the server's async client and the kernel's
sync client. authlib supplies the protocol pieces (PKCE challenge, the grant URI, token
request bodies); httpx sends them. We use authlib's framework-free functions rather than
its httpx integration, which from 1.8 on expects a different httpx package.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

from ._exceptions import (
    ReauthorizationRequired,
    SignatureMismatch,
    TokenEndpointUnavailable,
    TokenRequestError,
)

__all__ = [
    "Identity",
    "TokenResponse",
    "authorize_url",
    "code_challenge",
    "explain_oauth_error",
    "new_code_verifier",
    "parse_identity",
    "parse_token_response",
    "refresh_error",
    "refresh_request",
    "revoke_request",
    "token_body",
    "token_request",
    "transport_error",
    "userinfo_request",
    "verify_signature",
]


def new_code_verifier() -> str:
    """A PKCE verifier: 64 random bytes, base64url (86 characters, inside RFC 7636's 43-128)."""
    return secrets.token_urlsafe(64)


# authlib is imported where it is used: a script's session that only reads its stored
# token (the common start) need not load its OAuth 2.0 framework.


def token_body(grant_type: str, **params: str) -> str:
    """The form body of a token request for `grant_type` (authlib's encoding)."""
    from authlib.oauth2.rfc6749.parameters import prepare_token_request

    return str(prepare_token_request(grant_type, **params))


def code_challenge(verifier: str) -> str:
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    return str(create_s256_code_challenge(verifier))


def authorize_url(
    login_url: str,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    scopes: str,
    verifier: str,
    prompt: str | None = None,
    login_hint: str | None = None,
) -> str:
    """The URL of Salesforce's authorize page for this authorization."""
    extra: dict[str, str] = {
        "code_challenge": code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    if prompt:
        extra["prompt"] = prompt
    if login_hint:
        extra["login_hint"] = login_hint
    from authlib.oauth2.rfc6749.parameters import prepare_grant_uri

    return str(
        prepare_grant_uri(
            f"{login_url}/services/oauth2/authorize",
            client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=scopes,
            state=state,
            **extra,
        )
    )


def _form_request(url: str, body: str) -> httpx.Request:
    return httpx.Request(
        "POST",
        url,
        content=body.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
    )


def token_request(
    login_url: str,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    verifier: str,
) -> httpx.Request:
    body = token_body(
        "authorization_code",
        code=code,
        redirect_uri=redirect_uri,
        client_id=client_id,
        client_secret=client_secret,
        code_verifier=verifier,
    )
    return _form_request(f"{login_url}/services/oauth2/token", body)


def refresh_request(
    login_url: str, *, client_id: str, client_secret: str | None, refresh_token: str
) -> httpx.Request:
    params: dict[str, str] = {"refresh_token": refresh_token, "client_id": client_id}
    if client_secret:
        params["client_secret"] = client_secret
    body = token_body("refresh_token", **params)
    return _form_request(f"{login_url}/services/oauth2/token", body)


def revoke_request(login_url: str, token: str) -> httpx.Request:
    return _form_request(
        f"{login_url}/services/oauth2/revoke", httpx.QueryParams({"token": token}).__str__()
    )


def userinfo_request(login_url: str, access_token: str) -> httpx.Request:
    return httpx.Request(
        "GET",
        f"{login_url}/services/oauth2/userinfo",
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )


@dataclass(frozen=True)
class TokenResponse:
    """Salesforce's token answer. No `expires_in`: an access token lives until a 401."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    instance_url: str
    identity_url: str
    issued_at: str
    signature: str = field(repr=False)
    scope: str
    token_type: str


def verify_signature(token: TokenResponse, client_secret: str) -> None:
    """`signature` = base64(HMAC-SHA256(client secret, id + issued_at)); raise if wrong."""
    expected = base64.b64encode(
        hmac.new(
            client_secret.encode(),
            (token.identity_url + token.issued_at).encode(),
            hashlib.sha256,
        ).digest()
    ).decode()
    if not token.signature or not hmac.compare_digest(expected, token.signature):
        raise SignatureMismatch(
            "Salesforce's token answer failed its signature check, so it was not trusted "
            "(a proxy or attacker may have changed it). Nothing was saved; try again.",
            error="invalid_signature",
        )


def _json_body(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise TokenEndpointUnavailable(
            f"Salesforce's {what} answered HTTP {response.status_code} with something that is "
            "not JSON. Check the login URL, then try again.",
            error="bad_response",
        ) from None


def parse_token_response(response: httpx.Response) -> TokenResponse:
    """Read a token answer, raising the right error for every way it can go wrong."""
    if response.status_code >= 500:
        raise TokenEndpointUnavailable(
            f"Salesforce's token endpoint answered HTTP {response.status_code}. "
            "Salesforce may be down or in maintenance; try again in a few minutes.",
            error="server_error",
        )
    data = _json_body(response, "token endpoint")
    if response.status_code != 200 or not isinstance(data, dict) or "error" in data:
        error = str(data.get("error", "")) if isinstance(data, dict) else ""
        description = str(data.get("error_description", "")) if isinstance(data, dict) else ""
        raise TokenRequestError(
            explain_oauth_error(error or f"http_{response.status_code}", description),
            error=error or f"http_{response.status_code}",
            description=description,
            status_code=response.status_code,
        )
    try:
        return TokenResponse(
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]) if data.get("refresh_token") else None,
            instance_url=str(data["instance_url"]).rstrip("/"),
            identity_url=str(data.get("id", "")),
            issued_at=str(data.get("issued_at", "")),
            signature=str(data.get("signature", "")),
            scope=str(data.get("scope", "")),
            token_type=str(data.get("token_type", "Bearer")),
        )
    except KeyError as exc:
        raise TokenEndpointUnavailable(
            f"Salesforce's token answer lacks {exc.args[0]!r}; it cannot be used.",
            error="bad_response",
        ) from None


def refresh_error(name: str, exc: TokenRequestError) -> Exception:
    """A refresh failure: `invalid_grant` means the user must authorize again."""
    if exc.error == "invalid_grant":
        return ReauthorizationRequired(name, exc.description)
    return exc


@dataclass(frozen=True)
class Identity:
    username: str
    display_name: str
    email: str
    user_id: str
    organization_id: str
    identity_url: str

    def as_dict(self) -> dict[str, str]:
        return {
            "username": self.username,
            "display_name": self.display_name,
            "email": self.email,
            "user_id": self.user_id,
            "organization_id": self.organization_id,
            "identity_url": self.identity_url,
        }


def parse_identity(response: httpx.Response, identity_url: str) -> Identity:
    if response.status_code != 200:
        raise TokenEndpointUnavailable(
            f"Salesforce's userinfo endpoint answered HTTP {response.status_code}; the new "
            "token could not be checked. Try again.",
            error="userinfo_failed",
        )
    data = _json_body(response, "userinfo endpoint")
    if not isinstance(data, dict):
        raise TokenEndpointUnavailable("Salesforce's userinfo answer is not an object.")
    return Identity(
        username=str(data.get("preferred_username") or data.get("username") or ""),
        display_name=str(data.get("name") or data.get("display_name") or ""),
        email=str(data.get("email") or ""),
        user_id=str(data.get("user_id") or ""),
        organization_id=str(data.get("organization_id") or ""),
        identity_url=str(data.get("sub") or identity_url),
    )


def transport_error(exc: httpx.HTTPError, what: str, timeout: float) -> TokenEndpointUnavailable:
    """Turn an httpx transport failure into a message a person can act on."""
    if isinstance(exc, httpx.TimeoutException):
        text = f"Salesforce's {what} did not answer within {timeout:g} seconds. Try again."
    elif isinstance(exc, httpx.ConnectError):
        text = (
            f"Could not reach Salesforce's {what} ({type(exc).__name__}). Check the login "
            "URL and your network, then try again."
        )
    else:
        text = f"The request to Salesforce's {what} failed ({type(exc).__name__}). Try again."
    return TokenEndpointUnavailable(text, error="unavailable")


_HINTS = {
    "access_denied": "Access was not allowed. Click Authorize and choose Allow to connect.",
    "invalid_client_id": (
        "Salesforce does not know this Client ID. Copy the Consumer Key of your external "
        "client app (or connected app) again; a new app can take up to 10 minutes to work."
    ),
    "invalid_client": (
        "The Client Secret is wrong. Copy the Consumer Secret of your app again and re-enter it."
    ),
    "invalid_grant": (
        "Salesforce refused the authorization (the code expired or was already used, or the "
        "user or app is blocked). Click Authorize to try again."
    ),
    "redirect_uri_mismatch": (
        "The callback URL is not registered in your Salesforce app. Add the callback URL "
        "shown in the form to the app's Callback URL list, then try again."
    ),
    "OAUTH_APP_BLOCKED": "An administrator blocked this app in your org.",
    "OAUTH_APP_ACCESS_DENIED": "Your user is not allowed to use this app; ask an administrator.",
    "inactive_user": "This Salesforce user is inactive.",
    "inactive_org": "This Salesforce org is inactive or locked.",
    "rate_limit_exceeded": "Too many sign-in attempts; wait a few minutes and try again.",
    "unsupported_grant_type": "The app does not allow the authorization code flow.",
}


#: Said when an app refuses a sign-in without a secret (`invalid_client`).
NOT_A_PUBLIC_CLIENT = (
    "Salesforce says: invalid_client. This app requires its Client Secret (it is not a "
    "public client): enter the Consumer Secret and sign in again."
)


def explain_oauth_error(error: str, description: str = "") -> str:
    """Salesforce says: ERROR — DESCRIPTION. What to do next."""
    said = f"Salesforce says: {error}" + (f" — {description}" if description else "") + "."
    hint = _HINTS.get(error, "Check the app settings in Salesforce, then click Authorize again.")
    return f"{said} {hint}"
