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

from . import _environment as environment
from . import _oauth
from ._constants import DEFAULT_LOGIN_URL, DEFAULT_SCOPES, STATE_TTL_SECONDS
from ._exceptions import ConfigurationError, PresetLocked
from ._store import _HOST_CHANGED_MESSAGE, ConnectionRecord, ConnectionStore, PendingAuthorization
from ._validation import (
    check_login_url,
    check_text,
    normalize_scopes,
    validate_client_id,
    validate_connection_name,
)

__all__ = [
    "DEFAULTS",
    "MAX_SECRET_LENGTH",
    "SETTINGS_KEYS",
    "ConnectionDefaults",
    "PresetLocked",
    "begin_authorization",
    "configure_connection",
    "revocation_request",
]

#: Longest Client Secret accepted; Salesforce's Consumer Secrets are 64 characters.
MAX_SECRET_LENGTH = 1024
MAX_SCOPES_LENGTH = 2048
#: The fields a connection's settings may have, with their names for messages. Anything
#: else in a request is refused: a typo ("login_uri") must not be silently ignored.
SETTINGS_KEYS: dict[str, str] = {
    "client_id": "Client ID",
    "client_secret": "Client Secret",
    "login_url": "Login URL",
    "scopes": "Scopes",
}


def _text_length(value: object) -> int:
    """Characters in a string, or in a list of strings plus one separator per item."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(len(item) + 1 if isinstance(item, str) else 1 for item in value)
    return 0


@dataclass(frozen=True)
class ConnectionDefaults:
    """What a connection gets for a field its settings leave out, and which login hosts
    beyond Salesforce's own (and loopback) it may use."""

    login_url: str = DEFAULT_LOGIN_URL
    scopes: str = DEFAULT_SCOPES
    #: Login hosts allowed beyond Salesforce's own and loopback (``c.SalesforceOAuth.
    #: allowed_login_hosts``): exact names or ``*.example.com`` patterns.
    allowed_login_hosts: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ConnectionDefaults:
        """What the Jupyter server that started this kernel configured (its exported
        settings), else the built-in defaults: the kernel's side of the server's
        `ConnectionDefaults`."""
        return cls(
            login_url=environment.default_login_url(environ),
            scopes=environment.default_scopes(environ),
            allowed_login_hosts=environment.allowed_login_hosts(environ),
        )


#: The built-in defaults: Salesforce's production login host, no extra allowed hosts.
DEFAULTS = ConnectionDefaults()


def _refuse_preset_changes(
    record: ConnectionRecord, payload: Mapping[str, Any], defaults: ConnectionDefaults
) -> None:
    """Raise `PresetLocked` naming each app field `payload` would change on the preset
    `record`. Sending a preset's own values back (a form that submits everything) is
    no change; any secret is one, the administrator's secret is never the user's."""
    changed: list[str] = []
    client_id = payload.get("client_id")
    if client_id and validate_client_id(client_id) != record.client_id:
        changed.append(SETTINGS_KEYS["client_id"])
    if payload.get("client_secret"):
        changed.append(SETTINGS_KEYS["client_secret"])
    login_url = payload.get("login_url")
    if login_url and check_login_url(login_url, defaults.allowed_login_hosts) != record.login_url:
        changed.append(SETTINGS_KEYS["login_url"])
    scopes = payload.get("scopes")
    if scopes and (
        _text_length(scopes) > MAX_SCOPES_LENGTH or normalize_scopes(scopes) != record.scopes
    ):
        changed.append(SETTINGS_KEYS["scopes"])
    if changed:
        raise PresetLocked(record.name, changed)


def configure_connection(
    store: ConnectionStore,
    name: str,
    payload: Mapping[str, Any],
    *,
    defaults: ConnectionDefaults | None = None,
) -> ConnectionRecord:
    """Create or update the connection `name` from `payload` (the REST API's PUT body, or
    the connect form's fields): validate every field, then save. A `ConfigurationError`
    says what is wrong, and nothing is saved.

    A secret left out keeps the stored one, unless the login host changes: a secret
    entered for one host is never sent to another, so the store forgets it (and the
    tokens) then. `defaults` is the server's configuration; without it (the kernel's
    connect form) the settings the server exported to its kernels apply.

    A preset connection (set up by the administrator) is never changed here: a payload
    that would change it raises `PresetLocked`, one that repeats its values returns it.
    """
    if defaults is None:
        defaults = ConnectionDefaults.from_environment()
    validate_connection_name(name)
    if not isinstance(payload, Mapping):
        raise ConfigurationError("The body must be a JSON object.")
    for key in payload:
        if key not in SETTINGS_KEYS:
            raise ConfigurationError(
                f"Unknown setting {str(key)[:40]!r}: a connection takes only "
                f"{', '.join(SETTINGS_KEYS)}."
            )
    for key, what in SETTINGS_KEYS.items():
        check_text(payload.get(key), what)
    existing = store.find_connection(name)
    if existing is not None and existing.preset:
        _refuse_preset_changes(existing, payload, defaults)
        return existing
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
    # No secret (and none stored): a public client, which proves itself with PKCE alone
    # (an external client app with "Require Secret for Web Server Flow" off, or a device
    # flow app). An app that does require one says so at the token exchange
    # (``invalid_client``), and the form tells the user to enter it then.
    login_url = check_login_url(
        payload.get("login_url") or defaults.login_url, defaults.allowed_login_hosts
    )
    # The scopes end up in the Location header of every start redirect: keep them sane.
    # They are measured before normalizing, whose de-duplication is quadratic.
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
    valid for `ttl` seconds. A connection without a secret is a public client (PKCE
    only): its code is exchanged with the verifier alone."""
    record = store.get_connection(name)
    if not record.client_id:
        raise ConfigurationError(
            f"The connection {name!r} needs a Client ID before it can be authorized."
        )
    if record.message == _HOST_CHANGED_MESSAGE and not record.has_client_secret:
        # The secret of the previous host was just forgotten: most likely the app needs
        # it again, and signing in without would only fail at Salesforce's token step.
        raise ConfigurationError(
            f"{record.message} If your app has no secret (a public client), save the "
            "settings again without one."
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
