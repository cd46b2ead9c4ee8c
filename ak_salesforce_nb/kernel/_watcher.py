"""Watch the connection store for changes without blocking the kernel.

It reads the store's revision counter every `interval` seconds (a one-row SELECT) on a
`Ticker` (the kernel's own loop, or a daemon thread in a plain script) and calls back
when it moves.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core._exceptions import StoreError
from ..core._store import ConnectionStore
from ._ticker import Ticker

__all__ = ["StoreWatcher"]


class StoreWatcher:
    def __init__(
        self, store: ConnectionStore, on_change: Callable[[], None], *, interval: float = 0.1
    ) -> None:
        self.store = store
        self.on_change = on_change
        self.interval = interval
        self._revision = self._read()
        self._ticker = Ticker(self.check, interval, name="aksf-watch")

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
        return self._ticker.running

    def start(self) -> None:
        self._ticker.start()

    def stop(self) -> None:
        self._ticker.stop()
