"""Run a small step every few seconds without ever blocking the kernel.

In a kernel the step runs in an asyncio task on the kernel's own loop (between cells and
while a cell awaits); without a running loop (a plain script) it runs on a daemon thread.
An exception in a step never ends the ticking: the views that tick (the store watcher,
the connection check) are best effort by nature.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

__all__ = ["Ticker"]


class Ticker:
    """Calls `step` every `period` seconds once started, until stopped.

    `immediate`: the first step runs at once (else after the first period).
    """

    def __init__(
        self, step: Callable[[], object], period: float, *, name: str, immediate: bool = False
    ) -> None:
        self.step = step
        self.period = period
        self.name = name
        self.immediate = immediate
        self.stopped = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return (self._task is not None and not self._task.done()) or (
            self._thread is not None and self._thread.is_alive()
        )

    def start(self) -> None:
        """Tick on the running loop (a kernel), else on a daemon thread; no-op if running."""
        if self.running:
            return
        self.stopped.clear()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            self._task = loop.create_task(self._run_async())
        else:
            self._thread = threading.Thread(target=self._run_thread, daemon=True, name=self.name)
            self._thread.start()

    def stop(self) -> None:
        self.stopped.set()
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._thread = None

    def _step(self) -> None:
        with contextlib.suppress(Exception):  # a bad step must not end the ticking
            self.step()

    async def _run_async(self) -> None:
        if self.immediate:
            self._step()
        while not self.stopped.is_set():
            await asyncio.sleep(self.period)
            self._step()

    def _run_thread(self) -> None:
        if self.immediate:
            self._step()
        while not self.stopped.wait(self.period):
            self._step()
