"""Creating a connection and beginning its authorization: the same in both processes.

The server's REST API (the side panel, tools) and the kernel's connect form both write a
connection's settings and begin a sign-in through these functions, so a rule about what
may be stored holds whichever door the input came in by.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from . import _oauth
from ._constants import DEFAULT_LOGIN_URL, DEFAULT_SCOPES, STATE_TTL_SECONDS
from ._exceptions import ConfigurationError
from ._store import ConnectionRecord, ConnectionStore, PendingAuthorization
from ._validation import (
    normalize_login_url,
    normalize_scopes,
    validate_client_id,
    validate_connection_name,
)

__all__ = [
    "DEFAULTS",
    "MAX_SECRET_LENGTH",
    "ConnectionDefaults",
    "begin_authorization",
    "configure_connection",
    "revocation_request",
]

#: Longest Client Secret accepted; Salesforce's Consumer Secrets are 64 characters.
MAX_SECRET_LENGTH = 1024
#: A DNS name has at most 253 characters; with scheme and port a login URL fits in 300.
MAX_LOGIN_URL_LENGTH = 300
MAX_SCOPES_LENGTH = 2048


def _text_length(value: object) -> int:
    """Characters in a string, or in a list of strings plus one separator per item."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(len(item) + 1 if isinstance(item, str) else 1 for item in value)
    return 0


def _check_text(value: object, what: str) -> None:
    """Refuse strings that cannot be stored as UTF-8 (a JSON body may carry lone surrogates)."""
    for item in value if isinstance(value, list | tuple) else (value,):
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ConfigurationError(
                    f"{what} contains characters that are not valid text."
                ) from None


@dataclass(frozen=True)
class ConnectionDefaults:
    """What a connection gets for a field its settings leave out."""

    login_url: str = DEFAULT_LOGIN_URL
    scopes: str = DEFAULT_SCOPES
    #: Login hosts allowed beyond Salesforce's own and loopback (``c.SalesforceOAuth.
    #: allowed_login_hosts``): exact names or ``*.example.com`` patterns.
    allowed_login_hosts: tuple[str, ...] = ()


DEFAULTS = ConnectionDefaults()


def configure_connection(
    store: ConnectionStore,
    name: str,
    payload: Mapping[str, Any],
    *,
    defaults: ConnectionDefaults = DEFAULTS,
) -> ConnectionRecord:
    """Create or update the connection `name` from `payload` (the REST API's PUT body, or
    the connect form's fields): validate every field, then save. A secret left out keeps
    the stored one; a `ConfigurationError` says what is wrong, and nothing is saved."""
    validate_connection_name(name)
    if not isinstance(payload, Mapping):
        raise ConfigurationError("The body must be a JSON object.")
    for key, what in (
        ("client_id", "Client ID"),
        ("client_secret", "Client Secret"),
        ("login_url", "Login URL"),
        ("scopes", "Scopes"),
    ):
        _check_text(payload.get(key), what)
    existing = store.find_connection(name)
    client_id = validate_client_id(payload.get("client_id"))
    secret = payload.get("client_secret")
    if secret is not None and not isinstance(secret, str):
        raise ConfigurationError("client_secret must be a string.")
    secret = secret.strip() if secret else None
    if secret and len(secret) > MAX_SECRET_LENGTH:
        raise ConfigurationError(
            "Client Secret looks wrong: it is too long. Copy the Consumer Secret of your "
            "app from Salesforce Setup."
        )
    if not secret and (existing is None or not existing.has_client_secret):
        raise ConfigurationError(
            "Client Secret is required: copy the Consumer Secret of your app from Salesforce Setup."
        )
    raw_login_url = payload.get("login_url") or defaults.login_url
    try:
        login_url = normalize_login_url(raw_login_url)
    except ConfigurationError:
        raise
    except ValueError:  # urllib's own refusals: "Invalid IPv6 URL", NFKC netloc, …
        raise ConfigurationError(
            f"Login URL {str(raw_login_url)[:200]!r} is not a web address. Use "
            "https://login.salesforce.com, https://test.salesforce.com or your My Domain."
        ) from None
    # Both end up in the Location header of every start redirect: keep them sane. The
    # scopes are measured before normalizing, whose de-duplication is quadratic.
    if len(login_url) > MAX_LOGIN_URL_LENGTH:
        raise ConfigurationError(
            f"Login URL {login_url[:80]!r}… is too long to be a Salesforce login host."
        )
    raw_scopes = payload.get("scopes") or defaults.scopes
    if _text_length(raw_scopes) > MAX_SCOPES_LENGTH:
        raise ConfigurationError("Scopes are too long: list the few scopes your app needs.")
    scopes = normalize_scopes(raw_scopes)
    return store.save_settings(
        name, client_id=client_id, client_secret=secret, login_url=login_url, scopes=scopes
    )


def begin_authorization(
    store: ConnectionStore, name: str, *, redirect_uri: str = "", ttl: float = STATE_TTL_SECONDS
) -> PendingAuthorization:
    """A new single-use sign-in state (with its PKCE verifier) for the connection `name`,
    valid for `ttl` seconds."""
    record = store.get_connection(name)
    if record.state == "not_configured" or not record.has_client_secret:
        raise ConfigurationError(
            f"The connection {name!r} needs a Client ID and Client Secret before it can "
            "be authorized."
        )
    return store.create_pending(
        name,
        code_verifier=_oauth.new_code_verifier(),
        redirect_uri=redirect_uri,
        ttl=ttl,
    )


def revocation_request(store: ConnectionStore, name: str) -> httpx.Request | None:
    """The request that revokes the connection's token at Salesforce (the refresh token,
    which takes its access tokens with it), or None when there is nothing to revoke."""
    record = store.find_connection(name)
    tokens = store.get_tokens(name) if record else None
    if record is None or tokens is None:
        return None
    return _oauth.revoke_request(record.login_url, tokens.refresh_token or tokens.access_token)
