"""Access tokens for one connection, refreshed once however many callers need it.

Salesforce gives no expiry, so a refresh happens when a call answers 401
INVALID_SESSION_ID. Many threads and kernels may see that 401 at once; the first takes
the store's refresh lock, refreshes and stores the new tokens (a rotated refresh token
is stored before anybody uses it); the others wait for the lock, see that the stored
tokens moved on, and use them.
"""

from __future__ import annotations

import threading

import httpx

from ..core._constants import DEFAULT_HTTP_TIMEOUT
from ..core._exceptions import NotConnected, ReauthorizationRequired
from ..core._refresh import refresh_tokens
from ..core._store import ConnectionStore, StoredTokens
from ..core._tls import verify_for

__all__ = ["TokenProvider"]


class TokenProvider:
    def __init__(
        self,
        store: ConnectionStore,
        name: str,
        *,
        http_timeout: float = DEFAULT_HTTP_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.store = store
        self.name = name
        self.http_timeout = http_timeout
        self._transport = transport
        self._lock = threading.Lock()
        self._cached: StoredTokens | None = None
        self.refresh_count = 0  # refreshes this provider performed itself

    def __repr__(self) -> str:
        return f"TokenProvider(name={self.name!r})"

    def current(self) -> StoredTokens:
        cached = self._cached
        if cached is not None:
            return cached
        tokens = self.store.get_tokens(self.name)
        if tokens is None:
            record = self.store.get_connection(self.name)
            if record.state == "reauthorization_required":
                raise ReauthorizationRequired(self.name, "the refresh token no longer works")
            raise NotConnected(self.name, record.state)
        self._cached = tokens
        return tokens

    def forget(self) -> None:
        self._cached = None

    def refresh(self, stale: StoredTokens) -> StoredTokens:
        """New tokens in place of `stale`, refreshing at Salesforce only if nobody did
        (the rule is `core._refresh`'s, shared with the server's connection check)."""
        with self._lock:
            try:
                with httpx.Client(
                    timeout=self.http_timeout,
                    transport=self._transport,
                    verify=verify_for(self._transport),
                ) as client:
                    refreshed = refresh_tokens(self.store, self.name, stale, client=client)
            except (NotConnected, ReauthorizationRequired):
                self._cached = None
                raise
            if refreshed.here:
                self.refresh_count += 1
            self._cached = refreshed.tokens
            return refreshed.tokens
