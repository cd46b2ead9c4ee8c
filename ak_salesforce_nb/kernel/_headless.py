"""Credentials that need no store, no browser and no Jupyter server: for unattended runs.

A shared notebook run by papermill, nbclient in CI or a scheduled job cannot click
Authorize. It names a connection (``aksf.session("prod")``), and the run gives that
connection credentials in the environment (`core._environment.connection_variables`):

- ``AK_SALESFORCE_NB_PROD_AUTH_URL``: an sfdx auth URL (a refresh token);
- ``…_FLOW=client_credentials`` with ``…_CLIENT_ID``, ``…_CLIENT_SECRET``, ``…_LOGIN_URL``
  (the org's My Domain);
- ``…_FLOW=jwt`` with ``…_CLIENT_ID``, ``…_USERNAME``, ``…_JWT_KEY_FILE`` (a PEM private
  key) and ``…_LOGIN_URL`` (default: login.salesforce.com);

or a script passes the same as a session's arguments (``auth_url=``, ``client_id=``…).
`CredentialsTokenProvider` turns them into access tokens and keeps them in memory: an
auth URL's refresh token is redeemed (and re-redeemed when the access token dies); the
two other grants mint a new token each time (they have no refresh token). Nothing is
written to the store unless asked (``save=True``, `aksf.import_sf_cli`).

Every mistake names the variable (or argument) to fix, never its value.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from ..core import _environment as environment
from ..core import _grants, _oauth
from ..core._auth_url import parse_auth_url
from ..core._constants import DEFAULT_HTTP_TIMEOUT, PRODUCTION_LOGIN_URL, SANDBOX_LOGIN_URL
from ..core._exceptions import ConfigurationError, TokenRequestError
from ..core._store import ConnectionRecord, StoredTokens
from ..core._tls import verify_for
from ..core._validation import check_login_url, login_host, validate_client_id
from ._tokens import TokenProvider, TokenSource

__all__ = [
    "Credentials",
    "CredentialsTokenProvider",
    "Grant",
    "from_arguments",
    "from_environment",
    "mint",
]

#: How the access token is got: an auth URL's refresh token, or one of the two grants.
Grant = Literal["auth_url", "client_credentials", "jwt"]
_FLOWS: dict[str, Grant] = {
    "client_credentials": "client_credentials",
    "jwt": "jwt",
    "jwt_bearer": "jwt",
}
_ROLES = ("auth_url", "client_id", "client_secret", "login_url", "flow", "username", "jwt_key_file")
_MAX_KEY_FILE = 64 * 1024


@dataclass(frozen=True)
class Credentials:
    """What is needed to get an access token without a person. `settings` says where
    each part was set (a variable's name, or ``client_id=``), for messages; the secret,
    the refresh token and the key never show in a repr."""

    name: str
    grant: Grant
    source: TokenSource
    client_id: str
    login_url: str
    settings: Mapping[str, str] = field(repr=False)
    client_secret: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    username: str = ""
    private_key: rsa.RSAPrivateKey | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        """Where the credentials were set, for a person: the variable or the argument."""
        main = "auth_url" if self.grant == "auth_url" else "flow"
        return self.settings.get(main) or self.settings.get("client_id", "")


# -- reading them ------------------------------------------------------------------------


def from_environment(name: str, environ: Mapping[str, str] | None = None) -> Credentials | None:
    """The credentials the environment gives the connection `name`, or None when it
    gives none. A login URL alone is no credentials (`ENV_DEFAULT_LOGIN_URL` and
    `ENV_DEMO_LOGIN_URL` share names with the connections ``default`` and ``demo``)."""
    found = environment.connection_variables(name, environ)
    values = {role: found.get(role.upper()) for role in _ROLES}
    settings = {role: found.variable(role.upper()) for role in _ROLES}
    return _build(name, values, settings, "environment")


def from_arguments(
    name: str,
    *,
    auth_url: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    login_url: str | None = None,
    flow: str | None = None,
    username: str | None = None,
    jwt_key_file: str | os.PathLike[str] | None = None,
) -> Credentials | None:
    """The credentials given as a session's arguments, or None when none were given."""
    raw = {
        "auth_url": auth_url,
        "client_id": client_id,
        "client_secret": client_secret,
        "login_url": login_url,
        "flow": flow,
        "username": username,
        "jwt_key_file": os.fspath(jwt_key_file) if jwt_key_file is not None else None,
    }
    values: dict[str, str] = {}
    for role, value in raw.items():
        if value is not None and not isinstance(value, str):
            raise ConfigurationError(f"{role}= must be a string, not {type(value).__name__}.")
        values[role] = (value or "").strip()
    settings = {role: f"{role}=" for role in _ROLES}
    return _build(name, values, settings, "arguments")


def _build(
    name: str, values: Mapping[str, str], settings: Mapping[str, str], source: TokenSource
) -> Credentials | None:
    if not any(values[role] for role in _ROLES if role != "login_url"):
        return None
    if values["auth_url"]:
        if values["flow"]:
            raise ConfigurationError(
                f"Both {settings['auth_url']} and {settings['flow']} are set for the connection "
                f"{name!r}: give either an auth URL or the {values['flow'][:20]!r} flow's "
                "settings, not both."
            )
        parsed = parse_auth_url(values["auth_url"], source=settings["auth_url"])
        return Credentials(
            name=name,
            grant="auth_url",
            source=source,
            client_id=parsed.client_id,
            login_url=parsed.instance_url,
            settings=settings,
            client_secret=parsed.client_secret,
            refresh_token=parsed.refresh_token,
        )
    grant = _flow(name, values, settings)
    missing = [
        settings[role]
        for role in _REQUIRED[grant]
        if not values[role] and not (role == "login_url" and grant == "jwt")
    ]
    if missing:
        raise ConfigurationError(
            f"The connection {name!r} uses the {_FLOW_NAMES[grant]} but "
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set."
        )
    client_id = _client_id(values["client_id"], settings["client_id"])
    login_url = _login_url(grant, values["login_url"], settings["login_url"])
    if grant == "client_credentials":
        return Credentials(
            name=name,
            grant=grant,
            source=source,
            client_id=client_id,
            login_url=login_url,
            settings=settings,
            client_secret=values["client_secret"],
        )
    return Credentials(
        name=name,
        grant=grant,
        source=source,
        client_id=client_id,
        login_url=login_url,
        settings=settings,
        username=values["username"],
        private_key=_read_key(values["jwt_key_file"], settings["jwt_key_file"]),
    )


_REQUIRED: dict[Grant, tuple[str, ...]] = {
    "client_credentials": ("client_id", "client_secret", "login_url"),
    "jwt": ("client_id", "username", "jwt_key_file", "login_url"),
}
_FLOW_NAMES = {
    "auth_url": "auth URL",
    "client_credentials": "client credentials flow",
    "jwt": "JWT bearer flow",
}


def _flow(name: str, values: Mapping[str, str], settings: Mapping[str, str]) -> Grant:
    """The flow named, or the one the settings given can only mean."""
    text = values["flow"].lower().replace("-", "_")
    if text:
        grant = _FLOWS.get(text)
        if grant is None:
            raise ConfigurationError(
                f"{settings['flow']} must be client_credentials or jwt (for an sfdx auth URL "
                f"set {settings['auth_url']} instead)."
            )
        return grant
    if values["jwt_key_file"] or values["username"]:
        return "jwt"
    if values["client_secret"]:
        return "client_credentials"
    raise ConfigurationError(
        f"The connection {name!r} has {settings['client_id']} but no flow: set "
        f"{settings['flow']} to client_credentials (with {settings['client_secret']}) or jwt "
        f"(with {settings['username']} and {settings['jwt_key_file']}), or give "
        f"{settings['auth_url']}."
    )


def _client_id(value: str, setting: str) -> str:
    try:
        return validate_client_id(value)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{setting}: {exc}") from None


def _login_url(grant: Grant, value: str, setting: str) -> str:
    try:
        url = check_login_url(value or PRODUCTION_LOGIN_URL, environment.allowed_login_hosts())
    except ConfigurationError as exc:
        raise ConfigurationError(f"{setting}: {exc}") from None
    if grant == "client_credentials" and url in (PRODUCTION_LOGIN_URL, SANDBOX_LOGIN_URL):
        raise ConfigurationError(
            f"{setting} must be the org's My Domain (https://NAME.my.salesforce.com) for the "
            f"client credentials flow: Salesforce refuses it on {login_host(url)}."
        )
    return url


def _read_key(path_text: str, setting: str) -> rsa.RSAPrivateKey:
    path = Path(path_text).expanduser()
    try:
        if path.stat().st_size > _MAX_KEY_FILE:
            raise ConfigurationError(f"{setting} names {path}, which is too large to be a key.")
        pem = path.read_bytes()
    except FileNotFoundError:
        raise ConfigurationError(f"{setting} names {path}, which does not exist.") from None
    except IsADirectoryError:
        raise ConfigurationError(f"{setting} names {path}, which is a folder.") from None
    except OSError as exc:
        raise ConfigurationError(
            f"{setting} names {path}, which cannot be read ({exc.strerror})."
        ) from None
    return _grants.load_private_key(pem, source=f"{setting} ({path})")


# -- getting tokens with them -----------------------------------------------------------


def mint(
    credentials: Credentials, client: httpx.Client, *, refresh_token: str = ""
) -> _oauth.TokenResponse:
    """A new access token (with an auth URL: from `refresh_token`, the latest one, which
    is the URL's own unless Salesforce rotated it). Raises `CredentialsRefused` naming
    the setting to fix, `TokenEndpointUnavailable` when Salesforce cannot be reached."""
    if credentials.grant == "auth_url":
        request = _oauth.refresh_request(
            credentials.login_url,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret or None,
            refresh_token=refresh_token or credentials.refresh_token,
        )
        grant_name = "refresh_token"
    elif credentials.grant == "client_credentials":
        request = _grants.client_credentials_request(
            credentials.login_url,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
        )
        grant_name = "client_credentials"
    else:
        assert credentials.private_key is not None
        assertion = _grants.jwt_assertion(
            client_id=credentials.client_id,
            username=credentials.username,
            audience=_grants.jwt_audience(credentials.login_url),
            private_key=credentials.private_key,
        )
        request = _grants.jwt_bearer_request(credentials.login_url, assertion=assertion)
        grant_name = "jwt"
    try:
        response = client.send(request)
    except httpx.HTTPError as exc:
        raise _oauth.transport_error(exc, "token endpoint", client.timeout.read or 0.0) from exc
    try:
        token = _grants.parse_grant_response(response)
    except TokenRequestError as exc:
        raise _grants.grant_error(grant_name, exc, credentials.settings) from None
    if credentials.client_secret and token.signature:
        _oauth.verify_signature(token, credentials.client_secret)
    return token


def _identity_ids(identity_url: str) -> tuple[str, str]:
    """(org id, user id) from an identity URL ``…/id/<org id>/<user id>``."""
    parts = identity_url.rstrip("/").split("/")
    if len(parts) >= 3 and parts[-3] == "id":
        return parts[-2], parts[-1]
    return "", ""


class CredentialsTokenProvider(TokenProvider):
    """Tokens from `Credentials`, kept in this process only (see the module docstring).

    The first `current` gets a token; a `refresh` after a 401 gets another (once for all
    threads that saw the same stale token). A refresh token Salesforce rotates is kept
    for the next refresh, in memory: the environment cannot be written back.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        http_timeout: float = DEFAULT_HTTP_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.credentials = credentials
        self.name = credentials.name
        self.source = credentials.source
        self.http_timeout = http_timeout
        self._transport = transport
        self._lock = threading.Lock()
        self._tokens: StoredTokens | None = None
        self._refresh_token = credentials.refresh_token
        self._identity_url = ""
        self._minted_at: float | None = None
        self._first_at: float | None = None
        self.refresh_count = 0
        #: Tokens got from Salesforce in all (the first one and every refresh).
        self.mint_count = 0

    def __repr__(self) -> str:
        return (
            f"CredentialsTokenProvider(name={self.name!r}, grant={self.credentials.grant!r}, "
            f"from={self.credentials.where!r})"
        )

    def _mint(self) -> StoredTokens:
        with httpx.Client(
            timeout=self.http_timeout,
            transport=self._transport,
            verify=verify_for(self._transport),
        ) as client:
            token = mint(self.credentials, client, refresh_token=self._refresh_token)
        if token.refresh_token:
            self._refresh_token = token.refresh_token
        self._identity_url = token.identity_url or self._identity_url
        self._minted_at = time.time()
        self._first_at = self._first_at or self._minted_at
        self.mint_count += 1
        generation = self._tokens.generation + 1 if self._tokens is not None else 1
        return StoredTokens(
            name=self.name,
            access_token=token.access_token,
            refresh_token=self._refresh_token or None,
            instance_url=token.instance_url,
            issued_at=token.issued_at,
            generation=generation,
        )

    def current(self) -> StoredTokens:
        tokens = self._tokens
        if tokens is not None:
            return tokens
        with self._lock:
            if self._tokens is None:
                self._tokens = self._mint()
            return self._tokens

    def refresh(self, stale: StoredTokens) -> StoredTokens:
        with self._lock:
            if self._tokens is not None and self._tokens.generation != stale.generation:
                return self._tokens  # another thread refreshed meanwhile
            self._tokens = self._mint()
            self.refresh_count += 1
            return self._tokens

    def forget(self) -> None:
        with self._lock:
            self._tokens = None

    def record(self) -> ConnectionRecord:
        c = self.credentials
        tokens = self._tokens
        org_id, user_id = _identity_ids(self._identity_url)
        how = _FLOW_NAMES[c.grant]
        where = (
            f"{c.where} (environment)" if c.source == "environment" else "the session's arguments"
        )
        message = f"Connected with the {how} from {where}; not saved in the store."
        return ConnectionRecord(
            name=self.name,
            client_id=c.client_id,
            login_url=c.login_url,
            scopes="",
            state="connected" if tokens is not None else "ready",
            message=message,
            callback_url="",
            instance_url=tokens.instance_url if tokens is not None else "",
            username=c.username,
            display_name="",
            email="",
            organization_id=org_id,
            organization_name="",
            user_id=user_id,
            identity_url=self._identity_url,
            authorized_at=self._first_at,
            updated_at=self._minted_at or time.time(),
            has_client_secret=bool(c.client_secret),
            has_tokens=tokens is not None,
            # A token was just issued for these credentials: that is a check that passed.
            check_outcome="connected" if tokens is not None else "",
            checked_at=self._minted_at,
        )
