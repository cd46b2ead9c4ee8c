"""`Subscription`: a live Pub/Sub subscription in a notebook.

Three ways to use one::

    sub = sf.subscribe("/data/AccountChangeEvent")
    sub                           # a live widget: last events, counts, a Stop button
    async for event in sub: ...   # the decoded events, in order
    sub.to_dataframe()            # what was received so far

It runs as a task on the running event loop (the kernel's), so cells stay free.
``sub.stop()`` stops it at once; ``await sub.stop()`` also waits until the stream is
closed and the replay id is stored.

Delivery is at least once: the stored bookmark (what a restarted kernel resumes after)
moves only past events the notebook has *taken*: returned by ``async for`` or
`next_events`, returned in `to_dataframe` or `events`, or handed to an ``on_event``
callback that returned. Events received but not yet taken when the kernel stops (or is
killed) come again on the next subscription. `last` (what the live view shows) is a
peek and takes nothing. A keepalive's position is stored only while nothing received
is still untaken.

Flow control: with no ``async for`` going on, events are asked for as fast as they are
decoded (the widget and the DataFrame keep up). While an iterator is open, at most
``2 * batch`` events wait for its consumer; the server sends no more until the consumer
takes them. An iterator left open but never advanced therefore holds the stream back;
breaking out of ``async for`` (or dropping the iterator) releases it.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
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
        self._taken = 0  # stream index just past the furthest event the notebook took
        self._callbacks: list[Callable[[Event], object]] = []
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
        first = self.received
        self.received += len(events)
        for event in events:
            self.counts[(event.entity, event.change_type or "EVENT")] += 1
        if self._callbacks:
            for index, event in enumerate(events, start=first + 1):
                if self._call_back(event):
                    self._take(index, event)
        self._changed()

    def advance(self, replay_id: bytes) -> None:
        """A keepalive's position: stored only when every event received was taken
        (otherwise a restart would skip the untaken ones)."""
        if self._taken >= self.received:
            self.bookmark.mark(replay_id)

    # -- consumption: what moves the bookmark

    def _take(self, end: int, event: Event) -> None:
        """The notebook has taken every event up to stream index `end` (exclusive),
        `event` being the last of them."""
        if end > self._taken:
            self._taken = end
            self.bookmark.mark(event.replay_id)

    def _take_held(self) -> None:
        if self._history:
            self._take(self._offset + len(self._history), self._history[-1])

    def _call_back(self, event: Event) -> bool:
        """Hand `event` to every callback; True when all of them returned."""
        for callback in list(self._callbacks):
            try:
                callback(event)
            except Exception as error:
                self._callbacks.remove(callback)
                name = getattr(callback, "__qualname__", repr(callback))
                _log.warning("on_event callback %s failed", name, exc_info=True)
                self.notice(
                    f"The on_event callback {name} raised {type(error).__name__}: {error} "
                    f"(event {event.replay_id.hex()} of {self.topic}). It is removed, and "
                    "the bookmark stays before that event, so a restart delivers it again."
                )
                return False
        return True

    def on_event(self, callback: Callable[[Event], object]) -> Callable[[Event], object]:
        """Call ``callback(event)`` for every event received from now on, in order, on
        the event loop (keep it quick). An event counts as taken once every callback
        returned for it; a callback that raises is removed and its event is not taken.
        Usable as a decorator; returns `callback`."""
        if inspect.iscoroutinefunction(callback):
            raise TypeError(
                "on_event takes a plain function (it runs on the event loop between two "
                "batches); for async code, use `async for event in sub`."
            )
        self._callbacks.append(callback)
        return callback

    @property
    def unread(self) -> int:
        """Events received that the notebook has not taken yet (see the module doc)."""
        return self.received - self._taken

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
        """The bookmark: the last event taken, or the position the stream started at
        (what a restart resumes after)."""
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
        """The newest events received (at most `keep`), oldest first; they count as
        taken."""
        self._take_held()
        return self._history[-self.keep :]

    def last(self, count: int) -> list[Event]:
        """The newest `count` events, oldest first: a peek (for views), nothing taken."""
        return self._history[-count:] if count > 0 else []

    async def ready(self, timeout: float = 30.0) -> Subscription:
        """Wait until the stream task is established (the server answered); raises why
        the subscription ended if it did, TimeoutError after `timeout` seconds.

        `subscribe` already waits for Salesforce to place the stream (unless given
        ``wait=False``), so a change made after it is delivered; this waits for the
        stream task itself, e.g. before reading `status` or after ``wait=False``."""

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
        """The events held (see `keep`), one row each: header columns, then values;
        they count as taken."""
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
                event = sub._history[index]
                sub._take(self.position, event)
                sub._position_changed()
                return event
            if sub.done:
                sub._iterators.discard(self)
                if sub.error is not None:
                    raise sub.error
                raise StopAsyncIteration
            await sub._wait_new()
