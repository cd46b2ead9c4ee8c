"""Running the emulator inside a test process: a daemon thread with its own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import tornado.httpserver

from ._app import bind, start_server
from ._config import EmulatorConfig
from ._state import TOKEN_FAULTS, EmulatorState, Stats

if TYPE_CHECKING:
    from ._pubsub_server import PubSubServer

__all__ = ["DEFAULT_REDIRECT_URI", "RunningEmulator", "start_emulator"]

_T = TypeVar("_T")
DEFAULT_REDIRECT_URI = "http://localhost/oauth/redirect/salesforce"


class RunningEmulator:
    """Handle on an emulator started by ``start_emulator``; its controls are thread-safe."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: tornado.httpserver.HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._pubsub: PubSubServer | None = None

    # -- what tests read

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the login host and the instance URL."""
        return self._state.base_url

    @property
    def config(self) -> EmulatorConfig:
        """The live configuration; OAuth switches changed here apply to the next request."""
        return self._state.config

    @property
    def stats(self) -> Stats:
        """Counters: token_requests, code_grants, refresh_grants, userinfo_requests,
        api_requests, revocations (``emu.stats.reset()`` sets them back to 0)."""
        return self._state.stats

    @property
    def org_id(self) -> str:
        return self._state.org_id

    def user_id(self, username: str | None = None) -> str:
        """The 18-character User id of a login user (default: the default user)."""
        return self._state.store.user_id(username or self.config.default_username)

    # -- faults and controls

    @property
    def token_fault(self) -> str | None:
        return self._state.token_fault

    @token_fault.setter
    def token_fault(self, fault: str | None) -> None:
        if fault not in TOKEN_FAULTS:
            raise ValueError(f"unknown token fault {fault!r}; one of {TOKEN_FAULTS}")
        self._state.token_fault = fault

    @property
    def slow_seconds(self) -> float:
        return self._state.slow_seconds

    @slow_seconds.setter
    def slow_seconds(self, seconds: float) -> None:
        self._state.slow_seconds = float(seconds)

    def inject_fault(self, kind: str, count: int = 1, path: str = "") -> None:
        """The next ``count`` API requests whose path contains ``path`` fail with ``kind``:
        ``unavailable`` (503 SERVER_UNAVAILABLE), ``request_limit`` (403
        REQUEST_LIMIT_EXCEEDED, the concurrent-request limit), ``server_error`` (500
        UNKNOWN_EXCEPTION) or ``reset`` (the connection closes without an answer)."""
        self._state.faults.add_request_fault(kind, count, path)

    def lock_rows(self, count: int) -> None:
        """The next ``count`` record writes (REST, sObject Collections or Bulk API ingest
        rows) fail with UNABLE_TO_LOCK_ROW; 0 disarms."""
        self._state.faults.lock_rows(count)

    def clear_faults(self) -> None:
        """Disarm every injected request fault and row lock."""
        self._state.faults.clear()

    @property
    def pending_faults(self) -> dict[str, int]:
        """What is still armed: request fault kind -> count, and ``locked_rows``."""
        return self._state.faults.pending()

    def expire_access_tokens(self) -> None:
        """Every access token issued so far now answers 401 INVALID_SESSION_ID."""
        self._state.oauth.expire_access_tokens()

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token, and the access tokens issued from it, is revoked."""
        self._state.oauth.revoke_refresh_tokens()

    def authorize_code(
        self,
        username: str | None = None,
        client_id: str | None = None,
        redirect_uri: str = DEFAULT_REDIRECT_URI,
        code_challenge: str | None = None,
        scope: str = "api refresh_token",
    ) -> str:
        """Mint an authorization code as if ``username`` had logged in and approved."""
        oauth = self._state.oauth
        known = oauth.canonical_username(username or self.config.default_username)
        if known is None:
            raise ValueError(f"unknown user {username!r}")
        return oauth.issue_code(
            known,
            client_id or self.config.client_id,
            redirect_uri,
            code_challenge,
            scope.split(),
        )

    # -- the Pub/Sub API (EmulatorConfig(pubsub=True))

    def _on_loop(self, coroutine: Coroutine[Any, Any, _T], timeout: float = 15.0) -> _T:
        loop = self._loop
        if loop is None:
            coroutine.close()
            raise RuntimeError("the emulator is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)

    @property
    def pubsub_server(self) -> PubSubServer:
        """The Pub/Sub API server: ``running``, its ``bus`` (retained events) and
        ``service`` (counters: ``subscribe_calls``, ``auth_failures``)."""
        if self._pubsub is None:
            raise RuntimeError("the emulator was started without pubsub=True")
        return self._pubsub

    @property
    def pubsub_endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: the Pub/Sub API endpoint to give the client."""
        return self.pubsub_server.endpoint

    @property
    def pubsub_port(self) -> int:
        return self.pubsub_server.port

    @property
    def pubsub_events(self) -> int:
        """How many events the event bus has taken (change events and published ones)."""
        return self.pubsub_server.bus.published

    def stop_pubsub(self) -> None:
        """Stop the gRPC server (REST writes still emit; their events are retained)."""
        self._on_loop(self.pubsub_server.stop())

    def start_pubsub(self) -> int:
        """Serve the Pub/Sub API again on the same port; the port."""
        return self._on_loop(self.pubsub_server.start())

    def restart_pubsub(self) -> int:
        """Kill the gRPC server (open streams break) and serve again on the same port."""
        return self._on_loop(self.pubsub_server.restart())

    # -- life cycle

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            sockets = bind(self._state)

            async def setup() -> tornado.httpserver.HTTPServer:
                server = start_server(self._state, sockets)
                if self._state.config.pubsub:
                    from ._pubsub_server import PubSubServer

                    self._pubsub = PubSubServer(self._state)
                    try:
                        await self._pubsub.start()
                    except BaseException:
                        server.stop()
                        raise
                return server

            self._server = loop.run_until_complete(setup())
        except BaseException as error:  # reported to start_emulator's caller
            failure.append(error)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._stopped.set()

    def start(self) -> None:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name="ak-salesforce-emulator", daemon=True
        )
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            raise RuntimeError("the Salesforce emulator did not start") from failure[0]

    def stop(self) -> None:
        """Stop serving, close connections and join the thread (idempotent)."""
        loop, server, thread = self._loop, self._server, self._thread
        if loop is None or server is None or thread is None or self._stopped.is_set():
            return
        state = self._state

        async def shutdown() -> None:
            state.signal_stop()
            server.stop()
            if self._pubsub is not None:
                await self._pubsub.stop()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.close_all_connections(), timeout=5)
            loop.stop()

        with contextlib.suppress(RuntimeError):  # the loop may already be closed
            loop.call_soon_threadsafe(lambda: loop.create_task(shutdown()))
        thread.join(timeout=15)

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningEmulator {self.url or '(not started)'}>"


def start_emulator(config: EmulatorConfig | None = None) -> RunningEmulator:
    """Generate the org's data and serve it on loopback; returns once it is listening."""
    emulator = RunningEmulator(EmulatorState(config or EmulatorConfig()))
    emulator.start()
    return emulator
