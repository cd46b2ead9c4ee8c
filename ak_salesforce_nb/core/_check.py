"""Checking a connection against Salesforce: does its token still work, right now?

The store says what happened last; only Salesforce says whether the token still works
(an admin may have revoked the app, a session policy may have ended it, the demo's
emulator may be new). So every view of a connection (the connect form, the side panel,
a session's card) asks this module, in the background, and shows the answer.

The question is the cheapest that proves the token: the OpenID Connect userinfo call
(``GET {instance}/services/oauth2/userinfo``), an identity call rather than a data API
call. When Salesforce refuses the access token it is refreshed once (through the given
`refresh`, the same cross-process refresh the sessions use) and asked again; a refused
refresh token is *reauthorization required*, recorded in the store by the refresh.

Many views must not mean many calls: the store hands out one claim per connection at a
time and keeps the last result, which every process reads (`ConnectionStore.claim_check`).
Callers run this off their event loop (a thread); the HTTP client's timeout bounds it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from . import _oauth
from ._exceptions import (
    NotConnected,
    OAuthError,
    ReauthorizationRequired,
    TokenEndpointUnavailable,
)
from ._store import ConnectionRecord, ConnectionStore, StoredTokens

__all__ = [
    "DEFAULT_CHECK_INTERVAL",
    "DEFAULT_CHECK_TIMEOUT",
    "MIN_CHECK_INTERVAL",
    "CheckResult",
    "Refresher",
    "check_connection",
    "describe_transport_error",
]

#: Seconds between background checks of a connection that a view shows.
DEFAULT_CHECK_INTERVAL = 30.0
#: Seconds a check waits for Salesforce before it says *unreachable* (per request).
DEFAULT_CHECK_TIMEOUT = 10.0
#: However many views ask (a Test button included), one check per connection per this
#: many seconds: a younger result is the answer.
MIN_CHECK_INTERVAL = 5.0

#: Refreshes a refused access token: ``refresh(stale) -> fresh`` (the kernel's
#: `TokenProvider.refresh`, or `core._refresh.refresh_tokens` in the server).
Refresher = Callable[[StoredTokens], StoredTokens]


@dataclass(frozen=True)
class CheckResult:
    """What a check found. `outcome` is one of the store's `CHECK_OUTCOMES`, or
    ``not_connected`` when there is no token to check. `ran` says whether this call asked
    Salesforce; without it the answer is a recent result of another view or process
    (or none yet, `outcome` ``""``, while another's check is in flight)."""

    name: str
    outcome: str
    reason: str
    checked_at: float | None
    ran: bool
    took_ms: float
    record: ConnectionRecord | None

    @property
    def connected(self) -> bool:
        return self.outcome == "connected"


def _token_refused(response: httpx.Response) -> bool:
    """Salesforce refuses an expired or revoked access token with 401 on the REST API
    and 403 ``Bad_OAuth_Token`` on its identity service."""
    if response.status_code == 401:
        return True
    return response.status_code == 403 and "OAuth_Token" in response.text[:200]


def describe_transport_error(exc: httpx.HTTPError, host: str, timeout: float) -> str:
    """Why Salesforce could not be reached, as a person needs to hear it."""
    if isinstance(exc, httpx.TimeoutException):
        return f"{host} did not answer within {timeout:g} seconds (timeout)."
    text = str(exc).lower()
    if isinstance(exc, httpx.ConnectError):
        if any(
            marker in text
            for marker in (
                "name or service not known",
                "nodename nor servname",
                "temporary failure in name resolution",
                "getaddrinfo failed",
                "no address associated",
            )
        ):
            return f"the host name {host} could not be resolved (DNS)."
        if "refused" in text:
            return f"{host} refused the connection (nothing listens there)."
        if "ssl" in text or "certificate" in text:
            return f"the secure connection to {host} failed (TLS: {type(exc).__name__})."
        return f"could not connect to {host} ({type(exc).__name__})."
    return f"the request to {host} failed ({type(exc).__name__})."


def _identity(
    client: httpx.Client, tokens: StoredTokens, login_url: str
) -> tuple[httpx.Response, str]:
    base = tokens.instance_url or login_url
    request = _oauth.userinfo_request(base, tokens.access_token)
    return client.send(request), request.url.host


def _ask_salesforce(
    store: ConnectionStore,
    record: ConnectionRecord,
    *,
    client: httpx.Client,
    refresh: Refresher,
) -> tuple[str, str]:
    """(outcome, reason) of one check, the token refreshed once if it was refused."""
    name = record.name
    host = httpx.URL(record.instance_url or record.login_url).host
    timeout = client.timeout.read or 0.0
    try:
        tokens = store.get_tokens(name)
        if tokens is None:
            return "not_connected", record.message
        response, host = _identity(client, tokens, record.login_url)
        if _token_refused(response):
            tokens = refresh(tokens)
            response, host = _identity(client, tokens, record.login_url)
    except ReauthorizationRequired as exc:
        return "reauthorization_required", str(exc)
    except TokenEndpointUnavailable as exc:
        return "unreachable", str(exc)
    except NotConnected as exc:
        return "not_connected", str(exc)
    except OAuthError as exc:
        return "failed", str(exc)
    except httpx.HTTPError as exc:
        return "unreachable", describe_transport_error(exc, host, timeout)
    if response.status_code == 200:
        return "connected", ""
    if response.status_code >= 500:
        return "unreachable", (
            f"{host} answered HTTP {response.status_code}: Salesforce may be down or in "
            "maintenance."
        )
    if _token_refused(response):
        return "failed", (
            f"Salesforce refused even a freshly refreshed token (HTTP {response.status_code}). "
            "Click Authorize to connect again."
        )
    return "failed", f"{host} answered HTTP {response.status_code} to the identity check."


def check_connection(
    store: ConnectionStore,
    name: str,
    *,
    client: httpx.Client,
    refresh: Refresher,
    max_age: float = MIN_CHECK_INTERVAL,
    in_flight_for: float | None = None,
) -> CheckResult:
    """Check `name` against Salesforce unless a result younger than `max_age` seconds
    (or a check in flight elsewhere) makes it needless; store and return what it found.

    Blocks for up to about three times the client's timeout (the identity call, a
    refresh, the call again): run it in a thread. `in_flight_for` is how long another
    process's claim counts as a check in flight (default: that bound, plus slack), so a
    check that died with its process holds nobody up for longer.
    """
    read_timeout = client.timeout.read or 10.0
    if in_flight_for is None:
        in_flight_for = 3 * read_timeout + 5.0
    record = store.get_connection(name)
    if not record.has_tokens:
        return _without_tokens(record)
    claim = store.claim_check(name, max_age=max_age, in_flight_for=in_flight_for)
    record = claim.record
    if not record.has_tokens:
        return _without_tokens(record)
    if not claim.claimed:
        return CheckResult(
            name, record.check_outcome, record.check_reason, record.checked_at, False, 0.0, record
        )
    started = time.perf_counter()
    try:
        outcome, reason = _ask_salesforce(store, record, client=client, refresh=refresh)
    except BaseException:
        store.release_check(name)
        raise
    took_ms = (time.perf_counter() - started) * 1000
    if outcome == "not_connected":  # disconnected while we asked
        store.release_check(name)
        return _without_tokens(store.get_connection(name))
    if outcome == "reauthorization_required":
        # The refresh recorded it (state and check) in the store already.
        after = store.find_connection(name)
        return CheckResult(
            name, outcome, reason, after.checked_at if after else None, True, took_ms, after
        )
    stored = store.record_check(name, outcome, reason, took_ms=took_ms)
    return CheckResult(
        name,
        outcome,
        reason,
        stored.checked_at if stored else time.time(),
        True,
        took_ms,
        stored,
    )


def _without_tokens(record: ConnectionRecord) -> CheckResult:
    """Nothing to ask Salesforce: the connection has no token (yet, or any more)."""
    outcome = (
        "reauthorization_required"
        if record.state == "reauthorization_required"
        else "not_connected"
    )
    return CheckResult(record.name, outcome, record.message, record.checked_at, False, 0.0, record)
