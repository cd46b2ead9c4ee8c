"""Where a subscription got to, kept in the connection store per connection and topic.

The subscription moves the bookmark as the notebook takes events (not as they are
received: see `Subscription`); the store is written at most every `interval` seconds
while events flow, once more shortly after they stop, and on every stop, so a
restarted kernel resumes after the last event it took. A kernel killed between two
writes resumes a little earlier and sees a few events again (at least once).

A session on credentials from the environment or its arguments has no store (a job run
headless): its bookmark lives in memory for the subscription's life.
"""

from __future__ import annotations

import asyncio
import time

from ..core._exceptions import ConnectionNotFound, StoreError
from ..core._store import ConnectionStore

__all__ = ["Bookmark"]


class Bookmark:
    """The stored replay id of (connection, topic), written lazily."""

    def __init__(
        self,
        store: ConnectionStore | None,
        name: str,
        topic: str,
        organization_id: str,
        *,
        interval: float = 0.5,
    ) -> None:
        self.store = store
        self.name = name
        self.topic = topic
        self.organization_id = organization_id
        self.interval = interval
        self._pending: bytes | None = None
        self._saved: bytes | None = None
        self._last_write = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self.last_error: StoreError | ConnectionNotFound | None = None

    def load(self) -> bytes | None:
        """The stored replay id for this org, or None."""
        if self.store is None:
            return self._saved
        saved = self.store.get_replay_id(
            self.name, self.topic, organization_id=self.organization_id
        )
        self._saved = saved
        return saved

    @property
    def replay_id(self) -> bytes | None:
        """The newest position, written or not."""
        return self._pending if self._pending is not None else self._saved

    def mark(self, replay_id: bytes) -> None:
        """Move the bookmark; written now or within `interval` seconds."""
        self._pending = replay_id
        if time.monotonic() - self._last_write >= self.interval:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._timer = loop.call_later(self.interval, self.flush)

    def flush(self) -> None:
        """Write the newest position if it is not stored yet (store errors are kept in
        `last_error`, and the next flush tries again)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending = self._pending
        if pending is None or pending == self._saved:
            return
        if self.store is None:
            self._saved = pending
            return
        try:
            self.store.set_replay_id(
                self.name, self.topic, pending, organization_id=self.organization_id
            )
        except (StoreError, ConnectionNotFound) as error:
            self.last_error = error
            return
        self.last_error = None
        self._saved = pending
        self._last_write = time.monotonic()
