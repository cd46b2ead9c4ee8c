"""Keeping a shown connection checked against Salesforce, in the background of a kernel.

A view of a connection (the connect form) owns a `ConnectionHealth`. While the view
lives, a light ticker (an asyncio task on the kernel's loop, or a daemon thread without
one) looks once a second whether the last check of the connection, by anybody, is older
than `interval`; if so it starts the check (`core._check.check_connection`) in a daemon
thread. The thread's HTTP calls have timeouts, and nothing ever waits for the thread: a
hanging Salesforce leaves the badge at *checking…*, never a cell waiting. The result goes
into the store (every view of every process sees it) and, for the one who asked, to a
callback on the kernel's loop.

Within a process, one thread per connection at a time (many forms of one connection
share it); across processes the store's claim does the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from ..core._check import (
    DEFAULT_CHECK_INTERVAL,
    DEFAULT_CHECK_TIMEOUT,
    MIN_CHECK_INTERVAL,
    CheckResult,
    check_connection,
)
from ..core._exceptions import SalesforceNotebookError
from ..core._store import ConnectionRecord, ConnectionStore
from ..core._tls import verify_for
from ._ticker import Ticker
from ._tokens import TokenProvider

__all__ = ["ConnectionHealth", "check_in_background"]

Listener = Callable[[CheckResult], object]


@dataclass
class _Run:
    """A check in flight in this process, and who waits for its result."""

    force: bool
    listeners: list[tuple[asyncio.AbstractEventLoop | None, Listener]] = field(default_factory=list)


_RUNS: dict[tuple[str, str], _Run] = {}
_RUNS_LOCK = threading.Lock()


class ConnectionHealth:
    """The background check of one connection while something shows it."""

    def __init__(
        self,
        store: ConnectionStore,
        name: str,
        *,
        interval: float = DEFAULT_CHECK_INTERVAL,
        min_interval: float = MIN_CHECK_INTERVAL,
        timeout: float = DEFAULT_CHECK_TIMEOUT,
        current: Callable[[], ConnectionRecord | None] | None = None,
        on_tick: Callable[[], None] | None = None,
        tick: float = 1.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.store = store
        self.name = name
        self.interval = max(interval, min_interval)
        self.min_interval = min_interval
        self.timeout = timeout
        self.tick = tick
        self._current = current or (lambda: self.store.find_connection(self.name))
        self._on_tick = on_tick
        self._transport = transport
        self._ticker = Ticker(self.step, tick, name=f"aksf-health-{name}", immediate=True)
        self._last_start = 0.0  # monotonic; this object's own last background start

    def __repr__(self) -> str:
        return f"ConnectionHealth(name={self.name!r}, interval={self.interval:g})"

    # -- the ticker ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._ticker.running

    def start(self) -> None:
        """Tick on the running loop (a kernel), else on a daemon thread."""
        self._ticker.start()

    def stop(self) -> None:
        self._ticker.stop()

    def step(self) -> bool:
        """One tick: start a background check if one is due; True if it started one."""
        started = False
        if self.due():
            started = self.check_in_background()
        if self._on_tick is not None:
            self._on_tick()
        return started

    def due(self, *, now: float | None = None) -> bool:
        """True when the connection has a token, its last check (by anybody) is older
        than `interval`, none is in flight, and this view did not just start one."""
        record = self._current()
        if record is None or not record.has_tokens or record.state != "connected":
            return False
        at = time.time() if now is None else now
        if record.checked_at is not None and at - record.checked_at < self.interval:
            return False
        if self.in_flight():
            return False
        return time.monotonic() - self._last_start >= self.min_interval or not self._last_start

    def in_flight(self) -> bool:
        """A check of this connection runs in this process."""
        with _RUNS_LOCK:
            return self._key() in _RUNS

    # -- checking -----------------------------------------------------------------------

    def _key(self) -> tuple[str, str]:
        return (str(self.store.path), self.name)

    def check_in_background(self, *, force: bool = False, on_done: Listener | None = None) -> bool:
        """Check in a daemon thread; `on_done(result)` runs on this loop (or in the thread
        without one) when it ends. `force` (a Test button) checks unless a result is
        younger than `min_interval`. Joins a check of this connection already running in
        this process instead of starting another; True if it started one."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        key = self._key()
        with _RUNS_LOCK:
            run = _RUNS.get(key)
            if run is not None:
                if on_done is not None:
                    run.listeners.append((loop, on_done))
                return False
            run = _RUNS[key] = _Run(force=force)
            if on_done is not None:
                run.listeners.append((loop, on_done))
        self._last_start = time.monotonic()
        threading.Thread(
            target=self._run_check, args=(key, run), daemon=True, name=f"aksf-check-{self.name}"
        ).start()
        return True

    def check_now(self, *, force: bool = True) -> CheckResult:
        """Check here and now, blocking (for scripts; views use `check_in_background`)."""
        return self._check(force)

    def _check(self, force: bool) -> CheckResult:
        max_age = self.min_interval if force else self.interval
        provider = TokenProvider(
            self.store, self.name, http_timeout=self.timeout, transport=self._transport
        )
        with httpx.Client(
            timeout=self.timeout,
            transport=self._transport,
            verify=verify_for(self._transport),
            follow_redirects=False,
        ) as client:
            result = check_connection(
                self.store, self.name, client=client, refresh=provider.refresh, max_age=max_age
            )
        if force and not result.ran and result.record is not None:
            result = self._await_other(result)
        return result

    def _await_other(self, result: CheckResult) -> CheckResult:
        """A Test found another process's check in flight: wait (bounded) for its result."""
        record = result.record
        if record is None or record.check_started_at is None:
            return result
        deadline = time.monotonic() + 3 * self.timeout + 5
        while time.monotonic() < deadline and not self._ticker.stopped.is_set():
            time.sleep(0.2)
            now = self.store.find_connection(self.name)
            if now is None or now.check_started_at is None:
                if now is None:
                    return result
                return CheckResult(
                    self.name,
                    now.check_outcome,
                    now.check_reason,
                    now.checked_at,
                    False,
                    0.0,
                    now,
                )
        return result

    def _run_check(self, key: tuple[str, str], run: _Run) -> None:
        try:
            result = self._check(run.force)
        except (SalesforceNotebookError, OSError) as exc:
            # A store locked or unreadable, or the like: said to whoever asked, not stored.
            result = CheckResult(self.name, "failed", str(exc), None, False, 0.0, None)
        except Exception as exc:  # pragma: no cover - a bug; the badge must still settle
            result = CheckResult(
                self.name,
                "failed",
                f"The check failed unexpectedly ({type(exc).__name__}).",
                None,
                False,
                0.0,
                None,
            )
        finally:
            with _RUNS_LOCK:
                listeners = list(run.listeners)
                if _RUNS.get(key) is run:
                    del _RUNS[key]
        for loop, listener in listeners:
            if loop is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(listener, result)
            else:
                with contextlib.suppress(Exception):
                    listener(result)


def check_in_background(
    store: ConnectionStore, name: str, *, interval: float = DEFAULT_CHECK_INTERVAL
) -> bool:
    """Start a check of `name` in a daemon thread if its last check (by anybody) is older
    than `interval`; True if one started. For a view drawn once, such as a session's
    card: the card shows the last result with its age, and the next view the new one."""
    record = store.find_connection(name)
    health = ConnectionHealth(store, name, interval=interval, current=lambda: record)
    return health.due() and health.check_in_background()
