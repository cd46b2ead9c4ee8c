"""The environment contract: every ``AK_SALESFORCE_NB_*`` variable, in one place.

The Jupyter server's extension exports its settings into its own environment when it
loads (`export_server_settings`); the kernels it starts inherit them and read them back
through the functions here, each of which falls back to the built-in default when a
variable is missing or unusable (a kernel started by another server, VS Code, Colab).
The server's own address is exported once it listens, so the connect form can suggest a
callback URL before the browser has shown it one.

Variables a user (or a test, or the demo) sets by hand are named here too, so that
nothing else in the package or its tests spells a variable's name.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._constants import (
    DEFAULT_API_VERSION,
    DEFAULT_LOGIN_URL,
    DEFAULT_SCOPES,
    STATE_TTL_SECONDS,
)
from ._exceptions import ConfigurationError
from ._validation import normalize_login_url, normalize_scopes

__all__ = [
    "CONNECTION_FIELDS",
    "ENV_ALLOWED_LOGIN_HOSTS",
    "ENV_API_VERSION",
    "ENV_BASE_URL",
    "ENV_CALLBACK_URL",
    "ENV_DEFAULT_LOGIN_URL",
    "ENV_DEFAULT_SCOPES",
    "ENV_DEMO_LOGIN_URL",
    "ENV_KEYRING",
    "ENV_LABEXTENSION",
    "ENV_PASTE_REDIRECT_URI",
    "ENV_PRESETS",
    "ENV_PUBLIC_URL",
    "ENV_PUBSUB_CA",
    "ENV_PUBSUB_ENDPOINT",
    "ENV_SERVER_URL",
    "ENV_STATE_TTL",
    "ENV_STORE",
    "SERVER_EXPORTS",
    "ConnectionVariables",
    "allowed_login_hosts",
    "api_version",
    "base_url",
    "callback_url",
    "connection_variable",
    "connection_variables",
    "default_login_url",
    "default_scopes",
    "export_server_settings",
    "has_labextension",
    "keyring_enabled",
    "paste_redirect_uri",
    "presets",
    "public_url",
    "server_url",
    "state_ttl",
    "store_path",
]

# -- what the server extension exports to the kernels it starts ------------------------
#: The connection store file (both processes must open the same one).
ENV_STORE = "AK_SALESFORCE_NB_STORE"
#: The Jupyter server's base URL (``/``, ``/user/ada/``).
ENV_BASE_URL = "AK_SALESFORCE_NB_BASE_URL"
#: ``c.SalesforceOAuth.public_url``, when configured.
ENV_PUBLIC_URL = "AK_SALESFORCE_NB_PUBLIC_URL"
#: The callback URL when it does not depend on the browser's address.
ENV_CALLBACK_URL = "AK_SALESFORCE_NB_CALLBACK_URL"
#: ``1`` when the prebuilt JupyterLab extension is installed beside the server extension.
ENV_LABEXTENSION = "AK_SALESFORCE_NB_LABEXTENSION"
ENV_API_VERSION = "AK_SALESFORCE_NB_API_VERSION"
ENV_DEFAULT_LOGIN_URL = "AK_SALESFORCE_NB_DEFAULT_LOGIN_URL"
ENV_DEFAULT_SCOPES = "AK_SALESFORCE_NB_DEFAULT_SCOPES"
ENV_STATE_TTL = "AK_SALESFORCE_NB_STATE_TTL"
#: ``c.SalesforceOAuth.allowed_login_hosts``, comma-separated.
ENV_ALLOWED_LOGIN_HOSTS = "AK_SALESFORCE_NB_ALLOWED_LOGIN_HOSTS"
#: The server's own URL with its base URL, exported once it listens.
ENV_SERVER_URL = "AK_SALESFORCE_NB_SERVER_URL"

#: Every variable the server extension may export (tests clear them between servers).
SERVER_EXPORTS = (
    ENV_STORE,
    ENV_BASE_URL,
    ENV_PUBLIC_URL,
    ENV_CALLBACK_URL,
    ENV_LABEXTENSION,
    ENV_API_VERSION,
    ENV_DEFAULT_LOGIN_URL,
    ENV_DEFAULT_SCOPES,
    ENV_STATE_TTL,
    ENV_ALLOWED_LOGIN_HOSTS,
    ENV_SERVER_URL,
)

# -- what a user sets ------------------------------------------------------------------
#: ``off`` keeps the store's key in a 0600 file even where an OS keyring is usable.
ENV_KEYRING = "AK_SALESFORCE_NB_KEYRING"
#: The login host the demo notebooks use (set by ``python -m ak_salesforce_nb.demo``).
ENV_DEMO_LOGIN_URL = "AK_SALESFORCE_NB_DEMO_LOGIN_URL"
#: The Pub/Sub API's address (``host:port``, or ``http://127.0.0.1:PORT`` for the emulator).
ENV_PUBSUB_ENDPOINT = "AK_SALESFORCE_NB_PUBSUB_ENDPOINT"
#: A PEM file of extra CA certificates for the Pub/Sub API (a TLS-inspecting proxy).
ENV_PUBSUB_CA = "AK_SALESFORCE_NB_PUBSUB_CA"
#: Connections an administrator sets up for every user of a server, as JSON: the same
#: object as ``c.SalesforceOAuth.presets`` (``{"prod": {"client_id": …, "login_url": …,
#: "scopes": …, "client_secret_file": …}}``). Read by the server extension when it loads;
#: a preset in its configuration wins over one of the same name here.
ENV_PRESETS = "AK_SALESFORCE_NB_PRESETS"
#: The callback address the paste-back sign-in names (one registered on the user's app;
#: it need not load). Unset: ``http://localhost:1717/OauthRedirect``, the Salesforce CLI's.
ENV_PASTE_REDIRECT_URI = "AK_SALESFORCE_NB_PASTE_REDIRECT_URI"

_VERSION = re.compile(r"^v?(\d{2,3}\.\d)$")


def export_server_settings(
    environ: MutableMapping[str, str],
    *,
    store: Path,
    base: str,
    public: str,
    fixed_callback_url: str,
    labextension: bool,
    api_version: str,
    default_login_url: str,
    default_scopes: str,
    state_ttl: float,
    allowed_login_hosts: tuple[str, ...] = (),
) -> None:
    """Put the server's settings into `environ` (the server's own, which its kernels
    inherit). Values go as configured; the readers below check them."""
    environ[ENV_STORE] = str(store)
    environ[ENV_BASE_URL] = base
    for name, value in ((ENV_PUBLIC_URL, public), (ENV_CALLBACK_URL, fixed_callback_url)):
        if value:
            environ[name] = value
        else:
            environ.pop(name, None)
    if labextension:
        environ[ENV_LABEXTENSION] = "1"
    else:
        environ.pop(ENV_LABEXTENSION, None)
    environ[ENV_API_VERSION] = api_version
    environ[ENV_DEFAULT_LOGIN_URL] = default_login_url
    environ[ENV_DEFAULT_SCOPES] = default_scopes
    environ[ENV_STATE_TTL] = repr(float(state_ttl))
    environ[ENV_ALLOWED_LOGIN_HOSTS] = ",".join(allowed_login_hosts)


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def store_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """The store file the server named, or None (then the Jupyter data directory's)."""
    configured = _env(environ).get(ENV_STORE, "").strip()
    return Path(configured).expanduser() if configured else None


def keyring_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """False when the user turned the OS keyring off for the store's key."""
    return _env(environ).get(ENV_KEYRING, "auto").strip().lower() != "off"


def base_url(environ: Mapping[str, str] | None = None) -> str:
    """The Jupyter server's base URL, ``/`` when unknown."""
    return _env(environ).get(ENV_BASE_URL) or "/"


def public_url(environ: Mapping[str, str] | None = None) -> str:
    return _env(environ).get(ENV_PUBLIC_URL, "").strip()


def callback_url(environ: Mapping[str, str] | None = None) -> str:
    """The server's fixed callback URL, or ``""`` when it depends on the browser."""
    return _env(environ).get(ENV_CALLBACK_URL, "").strip()


def has_labextension(environ: Mapping[str, str] | None = None) -> bool:
    return _env(environ).get(ENV_LABEXTENSION) == "1"


def api_version(environ: Mapping[str, str] | None = None) -> str:
    """The REST API version sessions use unless given ``api_version=``."""
    match = _VERSION.match(_env(environ).get(ENV_API_VERSION, "").strip())
    return match.group(1) if match else DEFAULT_API_VERSION


def default_login_url(environ: Mapping[str, str] | None = None) -> str:
    """The login host a new connection's form starts with."""
    try:
        return normalize_login_url(_env(environ).get(ENV_DEFAULT_LOGIN_URL) or DEFAULT_LOGIN_URL)
    except ConfigurationError:
        return DEFAULT_LOGIN_URL


def default_scopes(environ: Mapping[str, str] | None = None) -> str:
    """The scopes a new connection's form starts with."""
    try:
        return normalize_scopes(_env(environ).get(ENV_DEFAULT_SCOPES) or DEFAULT_SCOPES)
    except ConfigurationError:
        return DEFAULT_SCOPES


def state_ttl(environ: Mapping[str, str] | None = None) -> float:
    """Seconds a sign-in link made in a kernel stays valid (as the server's would)."""
    try:
        seconds = float(_env(environ).get(ENV_STATE_TTL, ""))
    except ValueError:
        return STATE_TTL_SECONDS
    return seconds if math.isfinite(seconds) and 30 <= seconds <= 86_400 else STATE_TTL_SECONDS


def server_url(environ: Mapping[str, str] | None = None) -> str:
    """The server's own URL with its base URL (``http://localhost:8888/``), or ``""``."""
    url = _env(environ).get(ENV_SERVER_URL, "").strip()
    return url if url.startswith(("http://", "https://")) else ""


def presets(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The presets an administrator put in the environment (`ENV_PRESETS`), unchecked
    (the server checks them as it checks its configuration); `{}` when unset. Raises
    `ConfigurationError` when the variable is not a JSON object: an administrator's
    mistake is said when the server starts, not ignored."""
    text = _env(environ).get(ENV_PRESETS, "").strip()
    if not text:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"{ENV_PRESETS} is not valid JSON ({exc.msg} at character {exc.pos}); it must "
            'be an object such as {"prod": {"client_id": "…", "login_url": "…"}}.'
        ) from None
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{ENV_PRESETS} must be a JSON object of connections by name, not "
            f"{type(data).__name__}."
        )
    return data


def allowed_login_hosts(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The login hosts the server's admin allows beyond Salesforce's own and loopback."""
    text = _env(environ).get(ENV_ALLOWED_LOGIN_HOSTS, "")
    return tuple(item.strip().lower() for item in text.split(",") if item.strip())


# -- per-connection credentials, for runs without the store (papermill, nbclient, CI) ----
#: ``AK_SALESFORCE_NB_<NAME>_<FIELD>``: ``<NAME>`` is the connection name upper-cased,
#: every character that is not a letter or digit written ``_`` (so ``prod-eu`` and
#: ``prod_eu`` share variables). ``AUTH_URL`` is an sfdx auth URL; ``FLOW`` is
#: ``client_credentials`` (with ``CLIENT_ID``, ``CLIENT_SECRET``, ``LOGIN_URL``) or ``jwt``
#: (with ``CLIENT_ID``, ``USERNAME``, ``JWT_KEY_FILE``, ``LOGIN_URL``). Read by
#: `kernel._headless`, which checks them. For the connection ``default``, ``LOGIN_URL`` is
#: `ENV_DEFAULT_LOGIN_URL`, and for ``demo`` it is `ENV_DEMO_LOGIN_URL`: alone, a login
#: URL never makes credentials, so the two meanings do not clash.
CONNECTION_FIELDS = (
    "AUTH_URL",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "LOGIN_URL",
    "FLOW",
    "USERNAME",
    "JWT_KEY_FILE",
)
_CONNECTION_PREFIX = "AK_SALESFORCE_NB_"
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def connection_variable(name: str, field_name: str) -> str:
    """The variable of `field_name` (one of `CONNECTION_FIELDS`) for the connection `name`."""
    if field_name not in CONNECTION_FIELDS:
        raise ValueError(f"unknown connection variable field {field_name!r}")
    return f"{_CONNECTION_PREFIX}{_NOT_ALNUM.sub('_', name).upper()}_{field_name}"


@dataclass(frozen=True)
class ConnectionVariables:
    """The per-connection variables that are set (non-blank) for one connection. The
    values may be secrets: they never show in a repr."""

    name: str
    values: Mapping[str, str] = field(repr=False)

    def variable(self, field_name: str) -> str:
        """The variable's name (for messages: "set AK_SALESFORCE_NB_PROD_FLOW")."""
        return connection_variable(self.name, field_name)

    def get(self, field_name: str) -> str:
        """The variable's value, ``""`` when unset or blank."""
        return self.values.get(field_name, "")

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields that are set, in `CONNECTION_FIELDS` order."""
        return tuple(f for f in CONNECTION_FIELDS if f in self.values)


def connection_variables(
    name: str, environ: Mapping[str, str] | None = None
) -> ConnectionVariables:
    """The per-connection variables of `name` that are set, stripped of blanks."""
    env = _env(environ)
    values = {}
    for field_name in CONNECTION_FIELDS:
        value = env.get(connection_variable(name, field_name), "").strip()
        if value:
            values[field_name] = value
    return ConnectionVariables(name, values)


def paste_redirect_uri(environ: Mapping[str, str] | None = None) -> str:
    """The paste-back sign-in's callback address the user set (`ENV_PASTE_REDIRECT_URI`),
    or ``""`` for the default; checked where it is used."""
    return _env(environ).get(ENV_PASTE_REDIRECT_URI, "").strip()
