"""Refreshing a connection's access token from the stored refresh token, once for everyone.

The kernel's `TokenProvider` (sessions) and the server's connection check both need it;
the server may not import the kernel, so the rule lives here: under the store's
cross-process refresh lock, re-read the tokens; if somebody else refreshed meanwhile,
use theirs; else ask Salesforce, store the new tokens (a rotated refresh token before
anybody uses it), and record a refused refresh token as *reauthorization required* so
that every view of the connection says so.
"""

from __future__ import annotations

from typing import NamedTuple

import httpx

from . import _oauth
from ._exceptions import NotConnected, ReauthorizationRequired, TokenRequestError
from ._store import ConnectionStore, StoredTokens

__all__ = ["Refreshed", "refresh_tokens"]


class Refreshed(NamedTuple):
    """The tokens to use now, and whether this call got them from Salesforce (False:
    another thread or process had refreshed while this one waited for the lock)."""

    tokens: StoredTokens
    here: bool


def refresh_tokens(
    store: ConnectionStore, name: str, stale: StoredTokens, *, client: httpx.Client
) -> Refreshed:
    """New tokens in place of `stale` (whose access token Salesforce refused).

    Raises `ReauthorizationRequired` (recorded in the store) when Salesforce refuses the
    refresh token or there is none, `TokenEndpointUnavailable` when the token endpoint
    cannot be reached or answers 5xx, `TokenRequestError` for any other refusal.
    """
    with store.refresh_lock(name):
        fresh = store.get_tokens(name)
        if fresh is None:
            record = store.get_connection(name)
            if record.state == "reauthorization_required":
                raise ReauthorizationRequired(name, "the refresh token no longer works")
            raise NotConnected(name, record.state)
        if fresh.generation != stale.generation or fresh.access_token != stale.access_token:
            return Refreshed(fresh, here=False)  # another thread or process refreshed
        if not fresh.refresh_token:
            message = "the app issued no refresh token (add the refresh_token scope)"
            store.mark_reauthorization_required(name, str(ReauthorizationRequired(name, message)))
            raise ReauthorizationRequired(name, message)
        record = store.get_connection(name)
        secret = store.get_client_secret(name)
        request = _oauth.refresh_request(
            record.login_url,
            client_id=record.client_id,
            client_secret=secret,
            refresh_token=fresh.refresh_token,
        )
        try:
            response = client.send(request)
        except httpx.HTTPError as exc:
            timeout = client.timeout.read or 0.0
            raise _oauth.transport_error(exc, "token endpoint", timeout) from exc
        try:
            token = _oauth.parse_token_response(response)
        except TokenRequestError as exc:
            error = _oauth.refresh_error(name, exc)
            if isinstance(error, ReauthorizationRequired):
                store.mark_reauthorization_required(name, str(error))
            raise error from None
        if secret and token.signature:
            _oauth.verify_signature(token, secret)
        updated = store.replace_tokens(
            name,
            access_token=token.access_token,
            refresh_token=token.refresh_token,
            instance_url=token.instance_url,
            issued_at=token.issued_at,
        )
        return Refreshed(updated, here=True)
