"""Where the Pub/Sub API is, how to reach it, and the credentials every call carries.

The endpoint is, in this order: the ``endpoint=`` argument, the environment variable
``AK_SALESFORCE_NB_PUBSUB_ENDPOINT``, or Salesforce's ``api.pubsub.salesforce.com:7443``.
``host:port`` and ``https://host:port`` mean TLS, checked against gRPC's bundled root
certificates, or the PEM file named by ``AK_SALESFORCE_NB_PUBSUB_CA`` (a TLS-inspecting
proxy's CA, an emulator's own); ``http://host:port`` means an unencrypted channel and is
accepted for loopback hosts only (the emulator), since the access token travels in
every call's metadata.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import os
from typing import Any, Protocol
from urllib.parse import urlsplit

import grpc
import grpc.aio

from ..core import _environment as environment
from ..core._exceptions import ConfigurationError
from ..core._store import StoredTokens

__all__ = [
    "DEFAULT_ENDPOINT",
    "ENV_CA",
    "ENV_ENDPOINT",
    "Credentials",
    "Endpoint",
    "TokenSource",
    "error_details",
    "resolve_endpoint",
]

DEFAULT_ENDPOINT = "api.pubsub.salesforce.com:7443"
ENV_ENDPOINT = environment.ENV_PUBSUB_ENDPOINT
ENV_CA = environment.ENV_PUBSUB_CA
_SECURE_SCHEMES = {"https": True, "grpcs": True, "http": False, "grpc": False}
_CHANNEL_OPTIONS = (
    ("grpc.max_receive_message_length", 32 * 1024 * 1024),
    ("grpc.primary_user_agent", "ak_salesforce_nb"),
    # A channel of its own: closing it closes its connection (no shared subchannels).
    ("grpc.use_local_subchannel_pool", 1),
)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """A gRPC target (``host:port``) and whether the channel uses TLS."""

    host: str
    port: int
    secure: bool
    #: PEM root certificates to trust instead of gRPC's bundled ones.
    root_certificates: bytes | None = dataclasses.field(default=None, repr=False)

    @property
    def target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __str__(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.target}"

    def _credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(root_certificates=self.root_certificates)

    def channel(self) -> grpc.aio.Channel:
        """A grpc.aio channel on the running event loop."""
        if self.secure:
            return grpc.aio.secure_channel(
                self.target, self._credentials(), options=_CHANNEL_OPTIONS
            )
        return grpc.aio.insecure_channel(self.target, options=_CHANNEL_OPTIONS)

    def sync_channel(self) -> grpc.Channel:
        """A blocking channel, for the quick checks `subscribe` makes before returning."""
        if self.secure:
            return grpc.secure_channel(self.target, self._credentials(), options=_CHANNEL_OPTIONS)
        return grpc.insecure_channel(self.target, options=_CHANNEL_OPTIONS)


def resolve_endpoint(endpoint: str | None = None) -> Endpoint:
    """The endpoint to use (see the module docstring); ConfigurationError if unusable."""
    text = (endpoint or os.environ.get(ENV_ENDPOINT) or DEFAULT_ENDPOINT).strip()
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _SECURE_SCHEMES or not parts.hostname or parts.path.strip("/"):
        raise ConfigurationError(
            f"Not a Pub/Sub API endpoint: {text!r}. Use host:port (TLS), https://host:port, "
            "or http://127.0.0.1:port for a local emulator."
        )
    try:
        port = parts.port or 7443
    except ValueError:
        raise ConfigurationError(f"Bad port in the Pub/Sub API endpoint {text!r}.") from None
    secure = _SECURE_SCHEMES[scheme]
    if not secure and not is_loopback(parts.hostname):
        raise ConfigurationError(
            f"The Pub/Sub API endpoint {text!r} is not encrypted: an unencrypted channel is "
            "allowed only to a loopback address (127.0.0.1, ::1, localhost), because every "
            "call carries the access token. Use https://."
        )
    return Endpoint(parts.hostname, port, secure, _root_certificates() if secure else None)


def _root_certificates() -> bytes | None:
    path = os.environ.get(ENV_CA)
    if not path:
        return None
    try:
        with open(os.path.expanduser(path), "rb") as handle:
            return handle.read()
    except OSError as error:
        raise ConfigurationError(
            f"Cannot read the CA certificates {ENV_CA}={path!r}: {error.strerror}."
        ) from None


class TokenSource(Protocol):
    """What the stream needs of a connection's tokens: the kernel's `TokenProvider`.

    Named here rather than imported so that the Pub/Sub client depends on ``core``
    only, and the kernel, whose sessions start subscriptions, imports it one way.
    """

    @property
    def name(self) -> str: ...

    def current(self) -> StoredTokens: ...

    def refresh(self, stale: StoredTokens) -> StoredTokens: ...


class Credentials:
    """The metadata of every call (token, instance URL, org id), and refreshing it.

    A refresh goes through the connection's `TokenProvider`, so N kernels that see the
    token expire refresh it once; it runs in a worker thread to keep the loop free.
    """

    def __init__(self, tokens: TokenSource, organization_id: str) -> None:
        self.tokens = tokens
        self.organization_id = organization_id
        self._used: StoredTokens | None = None
        self.refreshes = 0

    def metadata(self) -> tuple[tuple[str, str], ...]:
        current = self.tokens.current()
        self._used = current
        return (
            ("accesstoken", current.access_token),
            ("instanceurl", current.instance_url),
            ("tenantid", self.organization_id),
        )

    def refresh_sync(self) -> None:
        stale = self._used or self.tokens.current()
        self._used = self.tokens.refresh(stale)
        self.refreshes += 1

    async def refresh(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.refresh_sync)

    def __repr__(self) -> str:  # never the token
        return f"<Credentials of {self.tokens.name!r} org={self.organization_id!r}>"


def error_details(error: Any) -> tuple[str, str, str]:
    """(status name, Salesforce error-code trailer, rpc id) of a grpc error."""
    code = error.code() if hasattr(error, "code") else None
    status = code.name if code is not None else ""
    trailers: dict[str, str] = {}
    try:
        for key, value in error.trailing_metadata() or ():
            trailers[str(key)] = value if isinstance(value, str) else value.decode(errors="replace")
    except Exception:  # noqa: S110 - trailers are a nicety; the status is what counts
        pass
    return status, trailers.get("error-code", ""), trailers.get("rpc-id", "")
