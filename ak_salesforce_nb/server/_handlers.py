"""Thin tornado handlers over `AuthorizationService`.

Every handler requires Jupyter authentication except the OAuth callback. Salesforce's
redirect to it is a top-level cross-site navigation: a browser sends Jupyter's login
cookie along when it has one for that origin (SameSite=Lax lets top-level GETs through),
but often it has none there: a token given in a header or only in the URL, a callback
registered under another host name than the one the user browses (localhost or
127.0.0.1, a public URL behind a proxy), a hub's user-redirect before the single-user
server's cookie exists, a SameSite=Strict cookie. Requiring a login there would break
those sign-ins, or park the authorization code in a login page's `next` URL. So the
callback is authorized by its single-use, unguessable, short-lived `state` instead, which
only this user's store knows.

Store work runs on the service's store thread (`in_store_thread`), never on the event loop:
a store locked by another process makes our requests wait, not the whole server.
"""

from __future__ import annotations

import json
import time
import traceback
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join

from ..core._check import MIN_CHECK_INTERVAL
from ..core._connections import SETTINGS_KEYS, PresetLocked
from ..core._constants import API_PATH, CALLBACK_PATH, START_PATH
from ..core._exceptions import (
    AuthorizationStateError,
    ConfigurationError,
    ConnectionNotFound,
    StoreError,
)
from ._authorization import CallbackOutcome
from ._callback_page import render_callback_page
from ._redirect import request_origin
from ._state import STATE_KEY, ExtensionState

__all__ = ["MAX_BODY_BYTES", "BodyRefused", "build_handlers"]

#: Largest PUT body accepted. A connection's settings take a few hundred bytes; the
#: server-wide limit (tornado's max_body_size, 512 MiB in Jupyter) is for file uploads.
MAX_BODY_BYTES = 8 * 1024

_PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


class _SalesforceMixin:
    settings: dict[str, Any]
    request: Any

    @property
    def ak_state(self) -> ExtensionState:
        state: ExtensionState = self.settings[STATE_KEY]
        return state

    def callback_url(self) -> str:
        origin = request_origin(
            self.request.protocol,
            self.request.host,
            self.request.headers,
            trust_forwarded=self.ak_state.config.trust_forwarded_headers,
        )
        return self.ak_state.policy.callback_url(origin)


class _PageHandler(_SalesforceMixin, JupyterHandler):
    def render_outcome(self, outcome: CallbackOutcome) -> None:
        page, nonce = render_callback_page(outcome)
        self.set_status(outcome.status_code)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", _PAGE_CSP.format(nonce=nonce))
        self.finish(page)

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: Any,
    ) -> None:
        # Tornado's own line names the full URI and the request's repr: for the callback
        # that would put an authorization code in the log, for the start handler a live
        # state. Only the path, then; and for a bug, the frames and the exception's type
        # without its message, which might quote either.
        if isinstance(value, tornado.web.HTTPError):
            self.log.warning("%d %s %s", value.status_code, self.request.method, self.request.path)
            return
        self.log.error(
            "Uncaught exception %s %s: %s (message withheld: it may quote a sign-in state "
            "or code)\n%s",
            self.request.method,
            self.request.path,
            typ.__name__ if typ is not None else "unknown",
            "".join(traceback.format_tb(tb)).rstrip(),
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # Never a traceback, whatever the server's debug setting.
        self.render_outcome(
            CallbackOutcome(
                False,
                status_code,
                "Something went wrong",
                "The sign-in could not be completed. Go back to your notebook and try again.",
            )
        )


class StartHandler(_PageHandler):
    """`GET oauth/start/salesforce?state=S`: fix the redirect URI, 302 to Salesforce."""

    @tornado.web.authenticated
    async def get(self) -> None:
        state = self.get_argument("state", "")
        if not state or len(state) > 256:
            self.render_outcome(
                CallbackOutcome(
                    False,
                    400,
                    "No authorization in progress",
                    "Start from Authorize in your notebook.",
                )
            )
            return
        try:
            service = await self.ak_state.get_service()
            url = await service.in_store_thread(service.start, state, self.callback_url())
        except AuthorizationStateError as exc:
            self.render_outcome(CallbackOutcome(False, 400, "Sign-in link not valid", str(exc)))
            return
        except (ConnectionNotFound, ConfigurationError) as exc:
            # ConfigurationError: the stored login host fails the checks a PUT applies (a
            # hand-edited store, an older version's row). Said plainly, the state unused.
            self.log.warning("Salesforce sign-in not started: %s", exc)
            self.render_outcome(CallbackOutcome(False, 400, "Cannot start", str(exc)))
            return
        except StoreError as exc:
            self.render_outcome(
                CallbackOutcome(False, 503, "Connection store unavailable", str(exc))
            )
            return
        self.set_header("Cache-Control", "no-store")
        self.redirect(url)


class CallbackHandler(_PageHandler):
    """`GET oauth/redirect/salesforce?code=C&state=S`: Salesforce sends the browser here."""

    @allow_unauthenticated
    async def get(self) -> None:
        if len(self.request.query) > 16384:
            self.render_outcome(
                CallbackOutcome(
                    False,
                    400,
                    "Request too large",
                    "This sign-in callback is oversized and was ignored.",
                )
            )
            return
        params = {key: self.get_argument(key, "") for key in self.request.query_arguments}
        try:
            outcome = await (await self.ak_state.get_service()).complete(params)
        except StoreError as exc:
            # This page needs no Jupyter login: name no file here, only in the server log
            # (and in the authenticated REST API that the form and the side panel read).
            self.log.error("Salesforce callback: %s", exc)
            outcome = CallbackOutcome(
                False,
                503,
                "Connection store unavailable",
                "Jupyter could not use its Salesforce connection store, so this sign-in was "
                "not saved. The server log and the connection form in your notebook say why.",
            )
        if outcome.ok:
            self.log.info("Salesforce connection %r authorized", outcome.name)
        else:
            self.log.warning("Salesforce callback refused: %s", outcome.title)
        self.render_outcome(outcome)

    # The callback must not be a POST target; GET is what Salesforce sends.


class BodyRefused(Exception):
    """A request body refused before it is parsed or used: the status and the message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


#: What the REST API refuses with a clear JSON message, and each one's status (the first
#: class that matches; `BodyRefused` carries its own).
_REFUSAL_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (PresetLocked, 409),  # well formed, but not the user's to change
    (ConnectionNotFound, 404),
    (ConfigurationError, 400),
    (StoreError, 503),
)
REFUSALS: tuple[type[Exception], ...] = (BodyRefused, *(kind for kind, _ in _REFUSAL_STATUS))


class _ApiHandler(_SalesforceMixin, APIHandler):
    def send_refusal(self, exc: Exception) -> None:
        """Answer one of `REFUSALS` with its status and its sentence."""
        status = (
            exc.status
            if isinstance(exc, BodyRefused)
            else next(code for kind, code in _REFUSAL_STATUS if isinstance(exc, kind))
        )
        self.send_problem(status, str(exc))

    def send_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data))

    def send_problem(self, status: int, message: str) -> None:
        self.send_json({"message": message}, status)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # A short JSON message, never a traceback.
        reason = self._reason if hasattr(self, "_reason") else "Error"
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": f"{status_code}: {reason}"}))

    def connection_json(self, record: Any) -> dict[str, Any]:
        data: dict[str, Any] = record.to_json()
        if not data["callback_url"]:
            data["callback_url"] = self.callback_url()
        return data

    def read_settings(self) -> Any:
        """The PUT body, parsed. At most `MAX_BODY_BYTES`, checked before parsing (else
        `BodyRefused`, a 413); `configure_connection` then refuses anything but an object
        of its `SETTINGS_KEYS` (a `ConfigurationError`, a 400)."""
        body = self.request.body or b"{}"
        if len(body) > MAX_BODY_BYTES:
            raise BodyRefused(
                413,
                f"The request body has {len(body)} bytes; a connection's settings "
                f"({', '.join(SETTINGS_KEYS)}) fit in {MAX_BODY_BYTES // 1024} KiB "
                f"({MAX_BODY_BYTES} bytes).",
            )
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            # RecursionError: json.loads of "[[[[…" nested deeper than the interpreter allows.
            raise BodyRefused(400, "The request body is not valid JSON.") from None


class ConnectionsHandler(_ApiHandler):
    """`GET ak-salesforce/api/connections`: every connection, no secrets."""

    @tornado.web.authenticated
    async def get(self) -> None:
        try:
            service = await self.ak_state.get_service()
            records = await service.in_store_thread(service.store.list_connections)
        except REFUSALS as exc:
            self.send_refusal(exc)
            return
        self.send_json(
            {
                "connections": [self.connection_json(r) for r in records],
                "callback_url": self.callback_url(),
                # What the side panel's add form starts with (c.SalesforceOAuth.default_*).
                "defaults": {
                    "login_url": service.defaults.login_url,
                    "scopes": service.defaults.scopes,
                },
                # The server's clock (checked_at is on it) and how often the side panel
                # should ask for a check of a connection it shows.
                "now": time.time(),
                "check_interval": max(self.ak_state.config.check_interval, MIN_CHECK_INTERVAL),
            }
        )


class ConnectionHandler(_ApiHandler):
    """`GET|PUT|DELETE ak-salesforce/api/connections/NAME`."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        try:
            service = await self.ak_state.get_service()
            record = await service.in_store_thread(service.store.get_connection, name)
            self.send_json(self.connection_json(record))
        except REFUSALS as exc:
            self.send_refusal(exc)

    @tornado.web.authenticated
    async def put(self, name: str) -> None:
        try:
            settings = self.read_settings()
            service = await self.ak_state.get_service()
            record = await service.in_store_thread(service.configure, name, settings)
        except REFUSALS as exc:
            self.send_refusal(exc)
            return
        self.send_json(self.connection_json(record))

    @tornado.web.authenticated
    async def delete(self, name: str) -> None:
        try:
            service = await self.ak_state.get_service()
            record = await service.in_store_thread(service.store.find_connection, name)
            if record is not None and record.preset:
                self.send_problem(
                    409,
                    f"The connection {name!r} was set up by your administrator, so it "
                    "cannot be deleted here. Disconnect signs you out of it (POST "
                    f"{API_PATH}/{name}/disconnect); the connection stays for next time.",
                )
                return
            deleted = await service.delete(name)
        except REFUSALS as exc:
            self.send_refusal(exc)
            return
        if not deleted:
            self.send_problem(404, str(ConnectionNotFound(name)))
            return
        self.set_status(204)
        self.finish()


class AuthorizeHandler(_ApiHandler):
    """`POST ak-salesforce/api/connections/NAME/authorize` → the start URL to open."""

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        try:
            service = await self.ak_state.get_service()
            pending = await service.in_store_thread(
                service.begin, name, redirect_uri=self.callback_url()
            )
        except REFUSALS as exc:
            self.send_refusal(exc)
            return
        start = url_path_join(self.ak_state.base_url, START_PATH)
        self.send_json(
            {
                "authorize_url": f"{start}?state={pending.state}",
                "callback_url": pending.redirect_uri,
                "expires_at": pending.expires_at,
            }
        )


class CheckHandler(_ApiHandler):
    """`POST ak-salesforce/api/connections/NAME/check` → what a check against Salesforce
    found: ``{"outcome", "reason", "checked_at", "ran", "took_ms", "now", "connection"}``.

    Without a body, a result younger than ``c.SalesforceOAuth.check_interval`` is the
    answer (the side panel polls this); ``{"force": true}`` (its Test button) checks
    unless a result is younger than 5 s. Either way one check per connection at a time,
    shared with the notebooks' forms through the store."""

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        try:
            body = self.read_settings() if self.request.body else {}
            if not isinstance(body, dict) or not set(body) <= {"force"}:
                raise BodyRefused(400, 'The body must be empty or {"force": true}.')
            checker = await self.ak_state.get_checker()
            result = await checker.check(name, force=bool(body.get("force")))
        except REFUSALS as exc:
            self.send_refusal(exc)
            return
        self.send_json(
            {
                "name": name,
                "outcome": result.outcome,
                "reason": result.reason,
                "checked_at": result.checked_at,
                "ran": result.ran,
                "took_ms": round(result.took_ms, 1),
                "now": time.time(),
                "connection": self.connection_json(result.record) if result.record else None,
            }
        )


class DisconnectHandler(_ApiHandler):
    """`POST ak-salesforce/api/connections/NAME/disconnect`: revoke and forget the tokens,
    keep the connection (how a user signs out of a preset, which cannot be deleted)."""

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        try:
            record = await (await self.ak_state.get_service()).disconnect(name)
        except REFUSALS as exc:
            self.send_refusal(exc)
            return
        if record is None:
            self.send_problem(404, str(ConnectionNotFound(name)))
            return
        self.send_json(self.connection_json(record))


_NAME = r"([A-Za-z0-9_.\-]{1,64})"


def build_handlers() -> list[tuple[str, type[tornado.web.RequestHandler]]]:
    """The routes, relative: the `ExtensionApp` puts the server's base URL before each."""
    return [
        (START_PATH, StartHandler),
        (CALLBACK_PATH, CallbackHandler),
        (API_PATH, ConnectionsHandler),
        (url_path_join(API_PATH, _NAME, "authorize"), AuthorizeHandler),
        (url_path_join(API_PATH, _NAME, "check"), CheckHandler),
        (url_path_join(API_PATH, _NAME, "disconnect"), DisconnectHandler),
        (url_path_join(API_PATH, _NAME), ConnectionHandler),
    ]
