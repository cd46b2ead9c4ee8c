"""`Subscription`: a live Pub/Sub subscription in a notebook.

Three ways to use one::

    sub = sf.subscribe("/data/AccountChangeEvent")
    sub                           # a live widget: last events, counts, a Stop button
    async for event in sub: ...   # the decoded events, in order
    sub.to_dataframe()            # what was received so far

It runs as a task on the running event loop (the kernel's), so cells stay free.
``sub.stop()`` stops it at once; ``await sub.stop()`` also waits until the stream is
closed and the replay id is stored.

Flow control: with no ``async for`` going on, events are asked for as fast as they are
decoded (the widget and the DataFrame keep up). While an iterator is open, at most
``2 * batch`` events wait for its consumer; the server sends no more until the consumer
takes them. An iterator left open but never advanced therefore holds the stream back;
breaking out of ``async for`` (or dropping the iterator) releases it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import sys
import weakref
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from ._bookmark import Bookmark
from ._errors import PubSubError
from ._events import Event
from ._runner import Runner

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Stopping", "Subscription"]

_log = logging.getLogger(__name__)


class Subscription:
    """A running subscription to one topic (made by ``session.subscribe``)."""

    def __init__(
        self,
        *,
        topic: str,
        connection: str,
        bookmark: Bookmark,
        batch: int,
        keep: int,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.topic = topic
        self.connection = connection
        self.batch = batch
        #: How many of the newest events are held for iteration and `to_dataframe`.
        self.keep = max(keep, 4 * batch)
        self.bookmark = bookmark
        #: Every event received, by (entity, change type); never trimmed.
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self.received = 0
        self.status = "starting"
        self.live = False
        self.notices: list[str] = []
        self.error: BaseException | None = None
        self._history: list[Event] = []
        self._offset = 0  # stream index of self._history[0]
        self._iterators: weakref.WeakSet[_EventIterator] = weakref.WeakSet()
        self._new = asyncio.Event()
        self._listeners: list[Callable[[], None]] = []
        self._loop = loop
        self._runner: Runner | None = None
        self._task: asyncio.Task[None] | None = None
        self._done: asyncio.Future[None] = loop.create_future()

    def _start(self, runner: Runner) -> None:
        self._runner = runner
        self._task = self._loop.create_task(self._run(runner), name=f"aksf-pubsub {self.topic}")
        self._task.add_done_callback(self._finished)

    async def _run(self, runner: Runner) -> None:
        try:
            await runner.run()
        finally:
            self.bookmark.flush()

    # -- what the runner calls (the Sink protocol)

    def deliver(self, events: list[Event]) -> None:
        self._history.extend(events)
        excess = len(self._history) - self.keep
        if excess > self.keep // 10:
            del self._history[:excess]
            self._offset += excess
        self.received += len(events)
        for event in events:
            self.counts[(event.entity, event.change_type or "EVENT")] += 1
        self.bookmark.mark(events[-1].replay_id)
        self._changed()

    def advance(self, replay_id: bytes) -> None:
        self.bookmark.mark(replay_id)

    def room(self) -> int | None:
        """Events the slowest `async for` consumer can still take (None: no limit)."""
        positions = [iterator.position for iterator in list(self._iterators)]
        if not positions:
            return None
        backlog = self._offset + len(self._history) - min(positions)
        return 2 * self.batch - backlog

    def set_status(self, text: str, *, live: bool) -> None:
        self.status = text
        self.live = live
        self._changed()

    def notice(self, text: str) -> None:
        self.notices.append(text)
        print(text, file=sys.stdout)
        self._notify()

    def _changed(self) -> None:
        self._new.set()
        self._new.clear()
        self._notify()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # a broken view must not break the stream
                _log.exception("a listener of the subscription to %s failed", self.topic)

    def _finished(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            self.status = "stopped"
        else:
            error = task.exception()
            if error is not None:
                self.error = error
                self.status = f"failed: {error}"
            else:
                self.status = "stopped"
        self.live = False
        self.bookmark.flush()
        if not self._done.done():
            self._done.set_result(None)
        self._changed()

    # -- using it

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def done(self) -> bool:
        return self._task is None or self._task.done()

    @property
    def replay_id(self) -> bytes | None:
        """Where the subscription got to (what a restart resumes after)."""
        return self.bookmark.replay_id

    @property
    def reconnects(self) -> int:
        """Times the stream was subscribed again (after an error or a token refresh)."""
        return self._runner.reconnects if self._runner is not None else 0

    @property
    def token_refreshes(self) -> int:
        """Token refreshes this subscription asked for (on UNAUTHENTICATED)."""
        return self._runner.credentials.refreshes if self._runner is not None else 0

    @property
    def events(self) -> list[Event]:
        """The newest events received (at most `keep`), oldest first."""
        return self._history[-self.keep :]

    def last(self, count: int) -> list[Event]:
        """The newest `count` events, oldest first."""
        return self._history[-count:] if count > 0 else []

    async def ready(self, timeout: float = 30.0) -> Subscription:
        """Wait until the stream is established (the server answered); raises why the
        subscription ended if it did, TimeoutError after `timeout` seconds."""

        async def established() -> None:
            while not self.live:
                if self.done:
                    if self.error is not None:
                        raise self.error
                    raise PubSubError(f"The subscription to {self.topic} was stopped.")
                await self._new.wait()

        await asyncio.wait_for(established(), timeout)
        return self

    def stop(self) -> Stopping:
        """Stop now; ``await sub.stop()`` also waits until the stream is closed and the
        replay id is stored."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
        elif not self._done.done():
            self._done.set_result(None)
        return Stopping(self.topic, self._done)

    def to_dataframe(self) -> pd.DataFrame:
        """The events held (see `keep`), one row each: header columns, then values."""
        import pandas as pd

        rows = [event.as_row() for event in self.events]
        frame: pd.DataFrame = pd.DataFrame(rows)
        if "commit_timestamp" in frame.columns:
            frame["commit_timestamp"] = pd.to_datetime(frame["commit_timestamp"], utc=True)
        return frame

    async def next_events(self, count: int, *, timeout: float) -> list[Event]:
        """The next `count` events from now on (raises TimeoutError after `timeout` s)."""
        iterator = _EventIterator(self, self._offset + len(self._history))
        taken: list[Event] = []

        async def take() -> None:
            while len(taken) < count:
                taken.append(await iterator.__anext__())

        await asyncio.wait_for(take(), timeout)
        return taken

    def __aiter__(self) -> _EventIterator:
        return _EventIterator(self, self._offset)

    def _position_changed(self) -> None:
        if self._runner is not None:
            self._runner.wake()

    async def _wait_new(self) -> None:
        await self._new.wait()

    # -- display

    def __repr__(self) -> str:
        return (
            f"<Subscription {self.topic} on {self.connection!r}: {self.status}, "
            f"{self.received} events>"
        )

    def _ipython_display_(self) -> None:
        from IPython.display import display

        from ._widget import SubscriptionView

        display(SubscriptionView(self).widget)  # type: ignore[no-untyped-call]

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after each change (events, status); for views."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)


class Stopping:
    """What `Subscription.stop` returns: awaitable, and quiet when left unawaited."""

    def __init__(self, topic: str, done: asyncio.Future[None]) -> None:
        self._topic = topic
        self._done = done

    def __await__(self) -> Generator[Any, None, None]:
        return self._done.__await__()

    def done(self) -> bool:
        return self._done.done()

    def __repr__(self) -> str:
        state = "stopped" if self._done.done() else "stopping"
        return f"<{state} the subscription to {self._topic}>"


class _EventIterator:
    """An ``async for`` over a subscription, from the oldest event it holds."""

    def __init__(self, subscription: Subscription, position: int) -> None:
        self._subscription = subscription
        self.position = position
        subscription._iterators.add(self)

    def __aiter__(self) -> _EventIterator:
        return self

    async def __anext__(self) -> Event:
        sub = self._subscription
        while True:
            self.position = max(self.position, sub._offset)
            index = self.position - sub._offset
            if index < len(sub._history):
                self.position += 1
                sub._position_changed()
                return sub._history[index]
            if sub.done:
                sub._iterators.discard(self)
                if sub.error is not None:
                    raise sub.error
                raise StopAsyncIteration
            await sub._wait_new()
