"""Running the emulator inside a test process: a daemon thread with its own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType

import tornado.httpserver

from ._app import bind, start_server
from ._config import EmulatorConfig
from ._state import TOKEN_FAULTS, EmulatorState, Stats

DEFAULT_REDIRECT_URI = "http://localhost/oauth/redirect/salesforce"


class RunningEmulator:
    """Handle on an emulator started by ``start_emulator``; its controls are thread-safe."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: tornado.httpserver.HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

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

    # -- life cycle

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            sockets = bind(self._state)

            async def setup() -> tornado.httpserver.HTTPServer:
                return start_server(self._state, sockets)

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
