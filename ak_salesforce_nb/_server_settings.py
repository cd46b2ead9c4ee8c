"""The server's settings as its kernels see them.

The server extension exports its `c.SalesforceOAuth` defaults to the kernels it starts
(`export`); the connect form and the sessions read them back here (each function falls
back to the built-in default when a variable is missing or unusable, e.g. in a kernel
started by another server). The server's own address is exported once it listens, so the
form can suggest a callback URL before the browser has shown it one.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import MutableMapping

from ._constants import (
    DEFAULT_API_VERSION,
    DEFAULT_LOGIN_URL,
    DEFAULT_SCOPES,
    STATE_TTL_SECONDS,
)
from ._exceptions import ConfigurationError
from ._validation import normalize_login_url, normalize_scopes

__all__ = [
    "ENV_API_VERSION",
    "ENV_DEFAULT_LOGIN_URL",
    "ENV_DEFAULT_SCOPES",
    "ENV_SERVER_URL",
    "ENV_STATE_TTL",
    "api_version",
    "default_login_url",
    "default_scopes",
    "export",
    "server_url",
    "state_ttl",
]

ENV_API_VERSION = "AK_SALESFORCE_NB_API_VERSION"
ENV_DEFAULT_LOGIN_URL = "AK_SALESFORCE_NB_DEFAULT_LOGIN_URL"
ENV_DEFAULT_SCOPES = "AK_SALESFORCE_NB_DEFAULT_SCOPES"
ENV_STATE_TTL = "AK_SALESFORCE_NB_STATE_TTL"
ENV_SERVER_URL = "AK_SALESFORCE_NB_SERVER_URL"

_VERSION = re.compile(r"^v?(\d{2,3}\.\d)$")


def export(
    environ: MutableMapping[str, str],
    *,
    api_version: str,
    default_login_url: str,
    default_scopes: str,
    state_ttl: float,
) -> None:
    """Put the server's settings into `environ` (the server's own, which its kernels
    inherit). Values go as configured; the readers below check them."""
    environ[ENV_API_VERSION] = api_version
    environ[ENV_DEFAULT_LOGIN_URL] = default_login_url
    environ[ENV_DEFAULT_SCOPES] = default_scopes
    environ[ENV_STATE_TTL] = repr(float(state_ttl))


def api_version() -> str:
    """The REST API version sessions use unless given ``api_version=``."""
    match = _VERSION.match(os.environ.get(ENV_API_VERSION, "").strip())
    return match.group(1) if match else DEFAULT_API_VERSION


def default_login_url() -> str:
    """The login host a new connection's form starts with."""
    try:
        return normalize_login_url(os.environ.get(ENV_DEFAULT_LOGIN_URL) or DEFAULT_LOGIN_URL)
    except ConfigurationError:
        return DEFAULT_LOGIN_URL


def default_scopes() -> str:
    """The scopes a new connection's form starts with."""
    try:
        return normalize_scopes(os.environ.get(ENV_DEFAULT_SCOPES) or DEFAULT_SCOPES)
    except ConfigurationError:
        return DEFAULT_SCOPES


def state_ttl() -> float:
    """Seconds a sign-in link made in a kernel stays valid (as the server's would)."""
    try:
        seconds = float(os.environ.get(ENV_STATE_TTL, ""))
    except ValueError:
        return STATE_TTL_SECONDS
    return seconds if math.isfinite(seconds) and 30 <= seconds <= 86_400 else STATE_TTL_SECONDS


def server_url() -> str:
    """The server's own URL with its base URL (``http://localhost:8888/``), or ``""``."""
    url = os.environ.get(ENV_SERVER_URL, "").strip()
    return url if url.startswith(("http://", "https://")) else ""
