"""Checks of user input, shared by the REST API, the notebook form and the side panel."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from ._constants import DEFAULT_SCOPES
from ._exceptions import ConfigurationError

__all__ = [
    "is_loopback_host",
    "normalize_login_url",
    "normalize_scopes",
    "validate_client_id",
    "validate_connection_name",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_SCOPE_RE = re.compile(r"^[A-Za-z0-9_:./-]{1,64}$")


def validate_connection_name(name: object) -> str:
    """A connection name: 1-64 letters, digits, `_`, `.` or `-` (it appears in URLs)."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigurationError(
            "A connection name is 1 to 64 letters, digits, '_', '.' or '-' "
            f"(got {str(name)[:80]!r})."
        )
    return name


def validate_client_id(client_id: object) -> str:
    if not isinstance(client_id, str) or not client_id.strip():
        raise ConfigurationError(
            "Client ID is required: copy the Consumer Key of your external client app "
            "(or connected app) from Salesforce Setup."
        )
    client_id = client_id.strip()
    if len(client_id) > 512 or any(ch.isspace() for ch in client_id):
        raise ConfigurationError("Client ID looks wrong: it has spaces or is too long.")
    return client_id


def is_loopback_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalize_login_url(url: object) -> str:
    """The login host as ``scheme://host[:port]``, refusing anything that is not safe.

    Salesforce's login hosts are https; plain http is allowed only for loopback hosts,
    which is where the local emulator runs.
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError("Login URL is required, e.g. https://login.salesforce.com.")
    text = url.strip()
    if "://" not in text:
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:(?!\d)", text):  # javascript:, mailto:, …
            raise ConfigurationError(
                f"Login URL {url[:200]!r} is not a web address. Use "
                "https://login.salesforce.com, https://test.salesforce.com or your My Domain."
            )
        text = "https://" + text
    if len(text) > 300:
        raise ConfigurationError("Login URL is too long; it is just a host name.")
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
    except ValueError as exc:  # e.g. an unclosed "[" in the host
        raise ConfigurationError(f"Login URL {url[:200]!r} is not a valid address.") from exc
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigurationError(
            f"Login URL {url[:200]!r} is not a web address. Use https://login.salesforce.com, "
            "https://test.salesforce.com or your My Domain (https://NAME.my.salesforce.com)."
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigurationError(
            f"Login URL {url[:200]!r} must be just the host, without user, query or fragment."
        )
    if parts.path not in ("", "/"):
        raise ConfigurationError(
            f"Login URL {url[:200]!r} must be just the host (no path), "
            "e.g. https://acme.my.salesforce.com."
        )
    if parts.scheme == "http" and not is_loopback_host(host):
        raise ConfigurationError(
            f"Login URL {url[:200]!r} must use https; plain http is only accepted for a "
            "local emulator on localhost or 127.0.0.1."
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"Login URL {url[:200]!r} has a bad port.") from exc
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None:
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc.lower()}"


def normalize_scopes(scopes: object) -> str:
    """Scopes as one space-separated string; accepts a string or a list of strings."""
    if scopes is None or scopes == "" or scopes == []:
        return DEFAULT_SCOPES
    items: Iterable[object]
    if isinstance(scopes, str):
        items = scopes.replace(",", " ").split()
    elif isinstance(scopes, list | tuple):
        items = scopes
    else:
        raise ConfigurationError("Scopes must be a space-separated string or a list of strings.")
    result: list[str] = []
    for item in items:
        if not isinstance(item, str) or not _SCOPE_RE.match(item):
            raise ConfigurationError(f"{str(item)[:80]!r} is not a valid OAuth scope.")
        if item not in result:
            result.append(item)
    if not result:
        return DEFAULT_SCOPES
    return " ".join(result)
