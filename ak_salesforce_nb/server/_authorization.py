"""The server side of authorizing a connection, free of tornado.

`AuthorizationService` is what the handlers call: configure a connection, begin an
authorization (state + PKCE verifier in the store), send the browser to Salesforce, and
complete the callback (check the state, exchange the code with the verifier and the
secret, check the signature, ask who the user is, store the tokens). It never raises on
bad input from the browser: the callback returns a `CallbackOutcome` to render.

In the server, the service gets a one-thread `store_executor` and every store call of its
coroutines runs there (the handlers send the plain methods there too, `in_store_thread`):
SQLite may wait up to the store's timeout for another process's lock, and the server's
event loop (kernels, files, every other user of the page) must not wait with it. One
thread, because the store serializes its calls anyway. In a kernel there is no executor,
and the calls run where they are made.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import httpx

from ..core import _oauth
from ..core._connections import (
    DEFAULTS,
    ConnectionDefaults,
    begin_authorization,
    configure_connection,
    revocation_request,
)
from ..core._constants import DEFAULT_API_VERSION, DEFAULT_HTTP_TIMEOUT, STATE_TTL_SECONDS
from ..core._exceptions import (
    AuthorizationStateError,
    ConfigurationError,
    ConnectionNotFound,
    OAuthError,
    SignatureMismatch,
    StoreClosedError,
    TokenEndpointUnavailable,
    TokenRequestError,
)
from ..core._store import ConnectionRecord, ConnectionStore, PendingAuthorization
from ..core._tls import verify_for
from ..core._validation import check_login_url

__all__ = [
    "MAX_PARAM_LENGTH",
    "AuthorizationService",
    "CallbackOutcome",
    "run_on_store_thread",
]

log = logging.getLogger(__name__)
_P = ParamSpec("_P")
_T = TypeVar("_T")

#: Longest callback parameter accepted; Salesforce's codes and our states are far shorter.
MAX_PARAM_LENGTH = 4096


@dataclass(frozen=True)
class CallbackOutcome:
    """What the callback page says. `name` is None when no connection could be named."""

    ok: bool
    status_code: int
    title: str
    message: str
    name: str | None = None
    username: str = ""


async def run_on_store_thread(
    executor: concurrent.futures.Executor,
    store_path: str,
    function: Callable[_P, _T],
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> _T:
    """`function(*args, **kwargs)` on the store's executor; `StoreClosedError` once the
    executor is shut down (the server is stopping)."""
    loop = asyncio.get_running_loop()
    try:
        future = loop.run_in_executor(executor, functools.partial(function, *args, **kwargs))
    except RuntimeError:
        raise StoreClosedError(store_path) from None
    return await future


class AuthorizationService:
    def __init__(
        self,
        store: ConnectionStore,
        *,
        http_timeout: float = DEFAULT_HTTP_TIMEOUT,
        state_ttl: float = STATE_TTL_SECONDS,
        api_version: str = DEFAULT_API_VERSION,
        defaults: ConnectionDefaults = DEFAULTS,
        transport: httpx.AsyncBaseTransport | None = None,
        store_executor: concurrent.futures.Executor | None = None,
    ) -> None:
        self.store = store
        self._store_executor = store_executor
        self.http_timeout = http_timeout
        self.state_ttl = state_ttl
        self.api_version = api_version
        self.defaults = defaults
        self._transport = transport

    def _client(self) -> httpx.AsyncClient:
        # One client per exchange: callbacks are rare, and nothing then outlives the
        # request that used it (no socket left open when the server stops).
        # The TLS context is shared, though (see _tls; tests/trust/test_load.py).
        return httpx.AsyncClient(
            timeout=self.http_timeout,
            transport=self._transport,
            follow_redirects=False,
            verify=verify_for(self._transport),
        )

    async def in_store_thread(
        self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """`function(*args, **kwargs)` (store work) off the event loop, when the service
        has a store executor; else right here."""
        if self._store_executor is None:
            return function(*args, **kwargs)
        return await run_on_store_thread(
            self._store_executor, str(self.store.path), function, *args, **kwargs
        )

    # -- settings ----------------------------------------------------------------------

    def configure(self, name: str, payload: Mapping[str, Any]) -> ConnectionRecord:
        """Create or update a connection from the REST API's PUT body."""
        return configure_connection(self.store, name, payload, defaults=self.defaults)

    # -- begin and start -------------------------------------------------------------

    def begin(self, name: str, *, redirect_uri: str = "") -> PendingAuthorization:
        return begin_authorization(self.store, name, redirect_uri=redirect_uri, ttl=self.state_ttl)

    def start(self, state: str, redirect_uri: str) -> str:
        """Fix the pending authorization's redirect URI; the URL of Salesforce's page."""
        pending = self.store.check_pending(state)
        record = self.store.get_connection(pending.name)
        login_url = self.checked_login_url(record)
        self.store.set_pending_redirect(state, redirect_uri)
        if record.callback_url != redirect_uri:
            self.store.set_callback_url(record.name, redirect_uri)
        return _oauth.authorize_url(
            login_url,
            client_id=record.client_id,
            redirect_uri=redirect_uri,
            state=state,
            scopes=record.scopes,
            verifier=pending.code_verifier,
        )

    def checked_login_url(self, record: ConnectionRecord) -> str:
        """The connection's stored login host, checked again (syntax and the allowed hosts,
        as a PUT is) before the browser or a secret is sent there: the store is a file
        other processes write (an older version, a hand edit, a kernel under other
        settings), and what the REST API refuses must not come back through it. A
        `ConfigurationError` names the connection and says how to fix it."""
        try:
            return check_login_url(record.login_url, self.defaults.allowed_login_hosts)
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"The connection {record.name!r} has a login host that is not accepted: "
                f"{exc} Set its login host again in the connection form."
            ) from None

    # -- the callback ----------------------------------------------------------------

    async def complete(self, params: Mapping[str, str]) -> CallbackOutcome:
        too_long = [key for key, value in params.items() if len(value) > MAX_PARAM_LENGTH]
        if too_long or len(params) > 20:
            return CallbackOutcome(
                False,
                400,
                "Request too large",
                "This sign-in callback carries oversized parameters and was ignored.",
            )
        state = params.get("state", "")
        if not state:
            return CallbackOutcome(
                False,
                400,
                "No authorization in progress",
                "This page is the Salesforce sign-in callback, but it was opened without an "
                "authorization state. Start from Authorize in your notebook.",
            )
        try:
            pending = await self.in_store_thread(self.store.claim_pending, state)
        except AuthorizationStateError as exc:
            return CallbackOutcome(False, 400, "Sign-in link not valid", str(exc))
        name = pending.name
        error = params.get("error", "")
        if error:
            message = _oauth.explain_oauth_error(error, params.get("error_description", ""))
            await self.in_store_thread(self.store.record_failure, name, message)
            title = "Access not allowed" if error == "access_denied" else "Salesforce refused"
            return CallbackOutcome(False, 400, title, message, name)
        code = params.get("code", "")
        if not code:
            message = (
                "Salesforce came back without an authorization code. Click Authorize to try again."
            )
            await self.in_store_thread(self.store.record_failure, name, message)
            return CallbackOutcome(False, 400, "No authorization code", message, name)
        try:
            async with self._client() as client:
                record = await self._exchange(client, pending, code)
        except OAuthError as exc:
            message = str(exc)
            if isinstance(exc, TokenRequestError) and exc.error == "redirect_uri_mismatch":
                message += f" Callback URL: {pending.redirect_uri}"
            await self.in_store_thread(self.store.record_failure, name, message)
            status = 502 if isinstance(exc, TokenEndpointUnavailable | SignatureMismatch) else 400
            return CallbackOutcome(False, status, "Authorization failed", message, name)
        except ConfigurationError as exc:  # the stored login host, checked again
            message = str(exc)
            await self.in_store_thread(self.store.record_failure, name, message)
            return CallbackOutcome(False, 400, "Authorization failed", message, name)
        except ConnectionNotFound:
            return CallbackOutcome(
                False,
                400,
                "Connection deleted",
                "The connection was deleted while you were signing in. Nothing was saved.",
            )
        return CallbackOutcome(
            True, 200, "Connected to Salesforce", record.message, name, record.username
        )

    async def _exchange(
        self, client: httpx.AsyncClient, pending: PendingAuthorization, code: str
    ) -> ConnectionRecord:
        record = await self.in_store_thread(self.store.get_connection, pending.name)
        login_url = self.checked_login_url(record)  # the secret goes there: check it again
        secret = await self.in_store_thread(self.store.get_client_secret, pending.name) or ""
        try:
            token = await self._send_token(
                client,
                _oauth.token_request(
                    login_url,
                    client_id=record.client_id,
                    client_secret=secret,
                    code=code,
                    redirect_uri=pending.redirect_uri,
                    verifier=pending.code_verifier,
                ),
            )
        except TokenRequestError as exc:
            if exc.error != "invalid_client" or secret:
                raise
            # Saved without a secret, but the app is not a public client: say so.
            raise TokenRequestError(
                _oauth.NOT_A_PUBLIC_CLIENT,
                error=exc.error,
                description=exc.description,
                status_code=exc.status_code,
            ) from None
        if secret:
            _oauth.verify_signature(token, secret)
        # else a public client (a preset without a secret, PKCE only): Salesforce signs
        # with the Consumer Secret, which this server does not have; PKCE, the single-use
        # state and TLS to the login host stand for the token answer instead.
        try:
            response = await client.send(_oauth.userinfo_request(login_url, token.access_token))
        except httpx.HTTPError as exc:
            raise _oauth.transport_error(exc, "userinfo endpoint", self.http_timeout) from exc
        identity = _oauth.parse_identity(response, token.identity_url).as_dict()
        identity["organization_name"] = await self._organization_name(client, token)
        return await self.in_store_thread(
            self.store.record_authorized,
            pending.name,
            access_token=token.access_token,
            refresh_token=token.refresh_token,
            instance_url=token.instance_url,
            issued_at=token.issued_at,
            identity=identity,
            callback_url=pending.redirect_uri,
        )

    async def _send_token(
        self, client: httpx.AsyncClient, request: httpx.Request
    ) -> _oauth.TokenResponse:
        try:
            response = await client.send(request)
        except httpx.HTTPError as exc:
            raise _oauth.transport_error(exc, "token endpoint", self.http_timeout) from exc
        return _oauth.parse_token_response(response)

    async def _organization_name(
        self, client: httpx.AsyncClient, token: _oauth.TokenResponse
    ) -> str:
        """The org's name for "Connected as … (Acme)"; best effort, never fatal."""
        url = f"{token.instance_url}/services/data/v{self.api_version}/query"
        with contextlib.suppress(httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
            response = await client.get(
                url,
                params={"q": "SELECT Name FROM Organization LIMIT 1"},
                headers={"Authorization": f"Bearer {token.access_token}"},
                timeout=min(self.http_timeout, 5.0),
            )
            if response.status_code == 200:
                return str(response.json()["records"][0]["Name"])
        return ""

    # -- disconnect --------------------------------------------------------------------

    async def revoke(self, name: str) -> bool:
        """Revoke the connection's refresh token at Salesforce; best effort."""
        request = await self.in_store_thread(revocation_request, self.store, name)
        if request is None:
            return False
        try:
            async with self._client() as client:
                response = await client.send(request)
        except httpx.HTTPError as exc:
            log.warning("Revoking the token of %r failed: %s", name, type(exc).__name__)
            return False
        return response.status_code == 200

    async def disconnect(self, name: str) -> ConnectionRecord | None:
        """Revoke the tokens at Salesforce (best effort) and forget them; the connection
        and its settings stay (a preset's way to sign out). None if there is no such
        connection."""
        if await self.in_store_thread(self.store.find_connection, name) is None:
            return None
        await self.revoke(name)
        await self.in_store_thread(self.store.forget_tokens, name)
        return await self.in_store_thread(self.store.find_connection, name)

    async def delete(self, name: str) -> bool:
        if await self.in_store_thread(self.store.find_connection, name) is None:
            return False  # nothing to delete: no write, no revision change to wake watchers
        await self.revoke(name)
        return await self.in_store_thread(self.store.delete_connection, name)
