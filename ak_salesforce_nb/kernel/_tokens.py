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

from ..core import _oauth
from ..core._constants import DEFAULT_HTTP_TIMEOUT
from ..core._exceptions import NotConnected, ReauthorizationRequired, TokenRequestError
from ..core._store import ConnectionStore, StoredTokens
from ..core._tls import shared_ssl_context

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
        """New tokens in place of `stale`, refreshing at Salesforce only if nobody did."""
        with self._lock, self.store.refresh_lock(self.name):
            fresh = self.store.get_tokens(self.name)
            if fresh is None:
                self._cached = None
                return self.current()  # raises the right error
            if fresh.generation != stale.generation or fresh.access_token != stale.access_token:
                self._cached = fresh
                return fresh
            if not fresh.refresh_token:
                message = "the app issued no refresh token (add the refresh_token scope)"
                self.store.mark_reauthorization_required(
                    self.name, str(ReauthorizationRequired(self.name, message))
                )
                raise ReauthorizationRequired(self.name, message)
            record = self.store.get_connection(self.name)
            secret = self.store.get_client_secret(self.name)
            request = _oauth.refresh_request(
                record.login_url,
                client_id=record.client_id,
                client_secret=secret,
                refresh_token=fresh.refresh_token,
            )
            try:
                with httpx.Client(
                    timeout=self.http_timeout,
                    transport=self._transport,
                    verify=shared_ssl_context() if self._transport is None else True,
                ) as client:
                    response = client.send(request)
            except httpx.HTTPError as exc:
                raise _oauth.transport_error(exc, "token endpoint", self.http_timeout) from exc
            try:
                token = _oauth.parse_token_response(response)
            except TokenRequestError as exc:
                error = _oauth.refresh_error(self.name, exc)
                if isinstance(error, ReauthorizationRequired):
                    self.store.mark_reauthorization_required(self.name, str(error))
                    self._cached = None
                raise error from None
            if secret and token.signature:
                _oauth.verify_signature(token, secret)
            updated = self.store.replace_tokens(
                self.name,
                access_token=token.access_token,
                refresh_token=token.refresh_token,
                instance_url=token.instance_url,
                issued_at=token.issued_at,
            )
            self.refresh_count += 1
            self._cached = updated
            return updated
