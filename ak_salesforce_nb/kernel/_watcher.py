"""Watch the connection store for changes without blocking the kernel.

In a kernel this is an asyncio task on the kernel's own loop that reads the store's
revision counter every `interval` seconds (a one-row SELECT) and calls back when it
moves. Without a running loop (a plain script) it falls back to a daemon thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

from ..core._exceptions import StoreError
from ..core._store import ConnectionStore

__all__ = ["StoreWatcher"]


class StoreWatcher:
    def __init__(
        self, store: ConnectionStore, on_change: Callable[[], None], *, interval: float = 0.1
    ) -> None:
        self.store = store
        self.on_change = on_change
        self.interval = interval
        self._revision = self._read()
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def _read(self) -> int:
        try:
            return self.store.revision()
        except StoreError:
            return -1

    def check(self) -> bool:
        """Call back if the store changed since the last look; True if it did."""
        revision = self._read()
        if revision == self._revision:
            return False
        self._revision = revision
        self.on_change()
        return True

    @property
    def running(self) -> bool:
        return (self._task is not None and not self._task.done()) or (
            self._thread is not None and self._thread.is_alive()
        )

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            self._task = loop.create_task(self._run_async())
        else:
            self._thread = threading.Thread(target=self._run_thread, daemon=True, name="aksf-watch")
            self._thread.start()

    async def _run_async(self) -> None:
        while not self._stop.is_set():
            await asyncio.sleep(self.interval)
            with contextlib.suppress(Exception):  # a callback error must not kill the watch
                self.check()

    def _run_thread(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(Exception):
                self.check()

    def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._thread = None
