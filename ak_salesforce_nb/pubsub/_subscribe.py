"""`subscribe`: check the topic, find where to start, and start the stream task."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any, Literal, Protocol

import grpc

from .._pubsub_proto import protos
from ..core._exceptions import ConfigurationError, NotConnected
from ..core._store import ConnectionRecord, ConnectionStore
from ._bookmark import Bookmark
from ._endpoint import Credentials, Endpoint, TokenSource, error_details, resolve_endpoint
from ._errors import TopicNotFound
from ._events import Event
from ._failures import translate
from ._handshake import pin_latest
from ._runner import Backoff, Runner, Start
from ._subscription import Subscription

__all__ = ["ReplayStart", "SessionLike", "subscribe"]

ReplayStart = Literal["latest", "earliest"] | bytes | bytearray | str
MAX_BATCH = 100


class SessionLike(Protocol):
    """What `subscribe` needs of a session (`Session` and `AsyncSession` have it)."""

    @property
    def name(self) -> str: ...

    @property
    def store(self) -> ConnectionStore: ...

    @property
    def tokens(self) -> TokenSource: ...

    @property
    def source(self) -> str:
        """Where its tokens come from: ``"store"``, ``"environment"`` or ``"arguments"``."""
        ...

    def connection_record(self) -> ConnectionRecord: ...


def _running_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "subscribe() runs on an asyncio event loop: call it from a notebook cell "
            "(the kernel's loop), or from async code (asyncio.run)."
        ) from None


def _start(replay: ReplayStart, bookmark: Bookmark | None) -> Start:
    if isinstance(replay, (bytes, bytearray, memoryview)):
        if not bytes(replay):
            raise ConfigurationError("An empty replay id: give replay='latest' or 'earliest'.")
        return Start("latest", bytes(replay), "given")
    preset = str(replay).lower()
    if preset not in ("latest", "earliest"):
        try:
            return Start("latest", bytes.fromhex(str(replay).removeprefix("0x")), "given")
        except ValueError:
            raise ConfigurationError(
                f"replay must be 'latest', 'earliest' or a replay id (bytes or hex), "
                f"not {replay!r}."
            ) from None
    stored = bookmark.load() if bookmark is not None else None
    if stored:
        return Start(preset, stored, "store")
    return Start(preset)


def check_topic(
    endpoint: Endpoint, credentials: Credentials, topic: str, *, connection: str, timeout: float
) -> Any:
    """``GetTopic``, refreshing the token once on UNAUTHENTICATED; the TopicInfo."""
    pb2, stubs = protos()
    for attempt in range(2):
        with endpoint.sync_channel() as channel:
            try:
                info = stubs.PubSubStub(channel).GetTopic(
                    pb2.TopicRequest(topic_name=topic),
                    metadata=credentials.metadata(),
                    timeout=timeout,
                )
            except grpc.RpcError as error:
                status, _, _ = error_details(error)
                if status == "UNAUTHENTICATED" and attempt == 0:
                    credentials.refresh_sync()
                    continue
                raise translate(
                    error, topic=topic, endpoint=endpoint, connection=connection
                ) from None
        if not info.can_subscribe:
            raise TopicNotFound(
                f"The user of connection {connection!r} may not subscribe to {topic!r}.",
                topic=topic,
            )
        return info
    raise AssertionError("unreachable")  # pragma: no cover


def subscribe(
    session: SessionLike,
    topic: str,
    *,
    replay: ReplayStart = "latest",
    batch: int = 100,
    resume: bool = True,
    endpoint: str | None = None,
    keep: int = 10_000,
    timeout: float = 30.0,
    backoff: Backoff | None = None,
    wait: bool = True,
    ready_timeout: float = 30.0,
    on_event: Callable[[Event], object] | None = None,
) -> Subscription:
    """Subscribe to `topic` over the Pub/Sub API; a running `Subscription`.

    `replay` is where to start when there is nothing to resume: ``"latest"`` (only new
    events), ``"earliest"`` (every retained event), or a replay id (bytes or hex) to
    start just after, which also overrides a stored position. With `resume` (default),
    a subscription to the same topic on the same connection resumes after the last
    event it received, even in another kernel, and says so. `batch` events are asked
    for at a time (1 to 100). `keep` is how many of the newest events are held for
    ``async for`` and ``to_dataframe``. `endpoint`: see `resolve_endpoint`.

    Delivery is at least once: the stored position moves past an event only once the
    notebook took it (``async for``, `to_dataframe`, `events`, or an `on_event`
    callback that returned), so events received but not taken when a kernel stops or
    dies come again after a restart.

    With `wait` (default) and a start from ``"latest"``, `subscribe` returns only once
    Salesforce has placed the stream (at most `ready_timeout` seconds), so a change made
    on the next line is delivered; the position is stored at once, so a kernel that
    dies before taking anything resumes from there. ``wait=False`` returns at once
    (then ``await sub.ready()``). A start from a stored or given replay id, or from
    ``"earliest"``, needs no wait: everything after it arrives.

    `on_event`: a function called with every event, in order (see
    `Subscription.on_event`).

    Raises `TopicNotFound` for a topic that does not exist (checked before returning),
    `SubscriptionNotReady` when the stream was not confirmed within `ready_timeout`,
    `ConfigurationError` for bad arguments.
    """
    if not topic.startswith("/") or topic.strip() != topic:
        raise ConfigurationError(
            f"Not a topic name: {topic!r}. Topic names look like /data/AccountChangeEvent, "
            "/data/ChangeEvents or /event/Order_Placed__e."
        )
    if not 1 <= batch <= MAX_BATCH:
        raise ConfigurationError(f"batch must be between 1 and {MAX_BATCH}, not {batch}.")
    loop = _running_loop()
    target = resolve_endpoint(endpoint)
    # A session on the store keeps its bookmark there; one on credentials from the
    # environment or its arguments (a headless run) has no store to open or create.
    stored = session.source == "store"
    record = session.store.get_connection(session.name) if stored else session.connection_record()
    if not record.organization_id:
        raise NotConnected(session.name, record.state)
    credentials = Credentials(session.tokens, record.organization_id)
    bookmark = Bookmark(
        session.store if stored else None, session.name, topic, record.organization_id
    )
    start = _start(replay, bookmark if resume else None)
    if ready_timeout <= 0:
        raise ConfigurationError(f"ready_timeout must be positive, not {ready_timeout}.")
    check_topic(target, credentials, topic, connection=session.name, timeout=timeout)
    initial: tuple[Any, ...] = ()
    if wait and start.replay_id is None and start.preset == "latest":
        pinned = pin_latest(
            target, credentials, topic, connection=session.name, timeout=ready_timeout
        )
        start = Start("latest", pinned.replay_id, "pinned")
        initial = pinned.events
        if not initial:
            # Nothing taken yet: a kernel that dies now resumes from this point.
            bookmark.mark(pinned.replay_id)
            bookmark.flush()
    subscription = Subscription(
        topic=topic, connection=session.name, bookmark=bookmark, batch=batch, keep=keep, loop=loop
    )
    if on_event is not None:
        subscription.on_event(on_event)
    runner = Runner(
        subscription,
        topic=topic,
        connection=session.name,
        endpoint=target,
        credentials=credentials,
        start=start,
        batch=batch,
        backoff=backoff or Backoff(),
        initial=initial,
    )
    if start.source == "store" and start.replay_id is not None:
        message = f"Resuming {topic} after replay id {start.replay_id.hex()}."
        subscription.notices.append(message)
        print(message, file=sys.stdout)
    subscription._start(runner)
    return subscription
