"""Access tokens for one connection, refreshed once however many callers need it.

`TokenProvider` is what a session (and its `SalesforceAuth`) needs of a connection's
tokens, wherever they come from:

- `StoreTokenProvider`: the store's tokens (the connect form, the server flow, an
  imported CLI org). Salesforce gives no expiry, so a refresh happens when a call answers
  401 INVALID_SESSION_ID. Many threads and kernels may see that 401 at once; the first
  takes the store's refresh lock, refreshes and stores the new tokens (a rotated refresh
  token is stored before anybody uses it); the others wait for the lock, see that the
  stored tokens moved on, and use them.
- `kernel._headless.CredentialsTokenProvider`: credentials from the environment or from
  a session's arguments (an auth URL, client credentials, a JWT key), kept in memory and
  never written to the store.

Both answer `current`, `refresh`, `forget` and `record`, so `Session`, `AsyncSession`,
the magic and the explorer work the same on either, with the same 401-refresh rule.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

import httpx

from ..core._constants import DEFAULT_HTTP_TIMEOUT
from ..core._exceptions import NotConnected, ReauthorizationRequired
from ..core._refresh import refresh_tokens
from ..core._store import ConnectionRecord, ConnectionStore, StoredTokens
from ..core._tls import verify_for

__all__ = ["StoreTokenProvider", "TokenProvider", "TokenSource"]

#: Where a provider's credentials come from.
TokenSource = Literal["store", "environment", "arguments"]


class TokenProvider:
    """The tokens of one connection: the interface every source implements.

    Calling ``TokenProvider(store, name, …)`` itself still gives a `StoreTokenProvider`,
    for callers written before there was more than one source; new code names the
    implementation it wants.
    """

    name: str
    #: Refreshes this provider performed itself (not those another process did for it).
    refresh_count: int
    #: Where the credentials come from.
    source: TokenSource

    def __new__(cls, *args: Any, **kwargs: Any) -> TokenProvider:
        if cls is TokenProvider:
            return object.__new__(StoreTokenProvider)
        return object.__new__(cls)

    def current(self) -> StoredTokens:
        """The tokens to use now (got on first use); raises when there are none."""
        raise NotImplementedError

    def refresh(self, stale: StoredTokens) -> StoredTokens:
        """New tokens in place of `stale`, whose access token Salesforce refused; another
        caller's fresher tokens when somebody refreshed meanwhile."""
        raise NotImplementedError

    def forget(self) -> None:
        """Drop what is cached, so the next `current` looks again."""
        raise NotImplementedError

    def record(self) -> ConnectionRecord:
        """What a card or a repr shows of the connection (never a secret)."""
        raise NotImplementedError


class StoreTokenProvider(TokenProvider):
    """The store's tokens for the connection `name` (see the module docstring)."""

    source: TokenSource = "store"

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
        self.refresh_count = 0

    def __repr__(self) -> str:
        return f"StoreTokenProvider(name={self.name!r})"

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

    def record(self) -> ConnectionRecord:
        return self.store.get_connection(self.name)

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
