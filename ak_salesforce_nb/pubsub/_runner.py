"""The Subscribe stream of one subscription: connect, fetch, decode, reconnect.

One `Runner.run` task per subscription, on the caller's event loop:

- opens a grpc.aio channel, calls ``Subscribe`` with the credentials' metadata and
  sends the first ``FetchRequest`` (the topic, where to start, ``batch`` events);
- reads ``FetchResponse`` messages, decodes the events (schemas fetched by id with
  ``GetSchema``, cached) and hands them to the sink; empty keepalives move the position;
- tops the request up by ``FetchRequest(num_requested=…)`` as the sink takes events in
  (a slow ``async for`` consumer holds the stream back: the server never sends more
  than was asked for);
- on a failure: UNAUTHENTICATED refreshes the token and subscribes again at once; a
  retryable status (UNAVAILABLE…) waits with jittered exponential backoff (tenacity's
  retry loop and wait, as everywhere in the package) and subscribes again after the last
  event received; anything else ends the subscription with a clear error.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import random
import traceback
from typing import Any, Protocol

import grpc
import grpc.aio

from .._pubsub_proto import protos
from ..core._tenacity import tenacity
from ._decode import EventType, cached_event_type, decode_event, event_type
from ._endpoint import Credentials, Endpoint, error_details
from ._errors import PubSubError, PubSubUnavailable
from ._events import Event
from ._failures import RETRYABLE, is_replay_rejection, translate

__all__ = ["Backoff", "Runner", "Sink", "Start"]

#: Consecutive token refreshes that did not get a stream going before giving up.
_MAX_AUTH_RETRIES = 3
#: How often the top-up writer looks again when nothing woke it (a consumer went away).
_WRITER_POLL = 1.0
#: Seconds a diagnostic GetTopic may take.
_PROBE_TIMEOUT = 10.0


class _Reconnect(Exception):
    """A failure after which `Runner.run` waits and subscribes again."""

    def __init__(self, reason: str, error: grpc.aio.AioRpcError | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


@dataclasses.dataclass(frozen=True)
class Start:
    """Where the subscription starts: a preset, or just after `replay_id`."""

    preset: str  # "latest" | "earliest"
    replay_id: bytes | None = None
    #: Where `replay_id` came from: "store" (resuming), "given" (the caller's) or
    #: "pinned" (where "latest" was when `subscribe` checked the stream was placed).
    source: str = ""


@dataclasses.dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter between reconnection attempts."""

    initial: float = 0.5
    maximum: float = 30.0
    retries: int = 12

    def wait(self) -> tenacity.wait.wait_base:
        """tenacity's exponential wait: `initial`, doubling, capped at `maximum`."""
        return tenacity.wait_exponential(multiplier=self.initial, max=self.maximum)

    def delay(self, attempt: int) -> float:
        """The wait before reconnecting after the `attempt`-th failure in a row, with
        ±20% jitter (so many subscribers cut off together do not come back together)."""
        state = tenacity.RetryCallState(tenacity.AsyncRetrying(), None, (), {})
        state.attempt_number = max(1, attempt)
        base = float(self.wait()(state))
        return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret


class Sink(Protocol):
    """Where the runner puts what it receives (the `Subscription`)."""

    def deliver(self, events: list[Event]) -> None: ...

    def advance(self, replay_id: bytes) -> None: ...

    def room(self) -> int | None: ...

    def set_status(self, text: str, *, live: bool) -> None: ...

    def notice(self, text: str) -> None: ...


class Runner:
    """Keeps one subscription's stream going until stopped or failed for good."""

    def __init__(
        self,
        sink: Sink,
        *,
        topic: str,
        connection: str,
        endpoint: Endpoint,
        credentials: Credentials,
        start: Start,
        batch: int,
        backoff: Backoff,
        initial: tuple[Any, ...] = (),
    ) -> None:
        self.sink = sink
        #: Events the readiness check already received (``ConsumerEvent``s), delivered
        #: first; `start` resumes after them.
        self._initial = initial
        self.topic = topic
        self.connection = connection
        self.endpoint = endpoint
        self.credentials = credentials
        self.start = start
        self.batch = batch
        self.backoff = backoff
        self.position: bytes | None = start.replay_id
        self.attempts = 0  # Subscribe calls made
        self.reconnects = 0
        self._outstanding = 0
        self._want = asyncio.Event()
        self._responded = False
        self._pb2 = protos().pb2
        self._grpc = protos().grpc

    # -- the loop of attempts

    async def run(self) -> None:
        """Subscribe, and subscribe again after each failure, until stopped or failed for
        good. tenacity drives the retries: it waits `Backoff.delay` between attempts and
        stops after `Backoff.retries` failures in a row (a stream that delivered resets
        the count; a token refresh or a replay fallback reconnects at once, uncounted)."""
        self._failures = 0
        self._auth_retries = 0
        self._next_delay = 0.0
        retrying = tenacity.AsyncRetrying(
            retry=tenacity.retry_if_exception_type(_Reconnect),
            stop=lambda state: self._failures > self.backoff.retries,
            wait=lambda state: self._next_delay,
            before_sleep=self._announce,
            sleep=asyncio.sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._connect_until_failure(attempt.retry_state.attempt_number > 1)
        except _Reconnect as failure:
            raise self._gave_up(failure.reason, failure.error) from None

    def _announce(self, state: tenacity.RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome is not None else None
        reason = failure.reason if isinstance(failure, _Reconnect) else ""
        self.sink.set_status(
            f"reconnecting in {self._next_delay:.1f} s (attempt {self._failures} of "
            f"{self.backoff.retries}; {reason})",
            live=False,
        )

    async def _connect_until_failure(self, after_wait: bool) -> None:
        """Subscribe until a failure worth waiting for: raises `_Reconnect` (retried by
        `run`), or the error that ends the subscription."""
        if after_wait:
            self.reconnects += 1
        while True:
            self._responded = False
            self.sink.set_status("connecting", live=False)
            error: grpc.aio.AioRpcError | None = None
            try:
                await self._attempt()
            except grpc.aio.AioRpcError as caught:
                error = caught
            if self._responded:
                self._failures = self._auth_retries = 0
            if error is None:
                reason = "the server closed the stream"
            else:
                action = await self._classify(error)
                if action == "refresh":
                    if self._auth_retries >= _MAX_AUTH_RETRIES:
                        raise self._translate(error)
                    self._auth_retries += 1
                    self.sink.set_status("refreshing the access token", live=False)
                    await self.credentials.refresh()
                    self.reconnects += 1
                    continue
                if action == "fallback":
                    continue
                reason = f"{error_details(error)[0]}: {error.details()}"
            self._failures += 1
            if self._failures <= self.backoff.retries:
                self._next_delay = self.backoff.delay(self._failures)
            raise _Reconnect(reason, error)

    async def _classify(self, error: grpc.aio.AioRpcError) -> str:
        """What to do after `error`: refresh, fall back or retry; raises if none helps."""
        status = error_details(error)[0]
        if status == "UNAUTHENTICATED":
            return "refresh"
        if is_replay_rejection(error):
            if self._fall_back():
                return "fallback"
            raise self._translate(error)
        if status not in RETRYABLE:
            raise self._translate(error)
        if status in ("INTERNAL", "UNKNOWN") and not self._responded:
            # A call the server refused at once can surface as a local INTERNAL error
            # (our first write raced the refusal): ask GetTopic what the matter is.
            probe = await self._probe()
            if probe is not None:
                probe_status = error_details(probe)[0]
                if probe_status == "UNAUTHENTICATED":
                    return "refresh"
                if probe_status not in RETRYABLE:
                    raise self._translate(probe)
        return "retry"

    async def _probe(self) -> grpc.aio.AioRpcError | None:
        """The error GetTopic answers for the topic now, or None if it works."""
        channel = self.endpoint.channel()
        try:
            await self._grpc.PubSubStub(channel).GetTopic(
                self._pb2.TopicRequest(topic_name=self.topic),
                metadata=self.credentials.metadata(),
                timeout=_PROBE_TIMEOUT,
            )
        except grpc.aio.AioRpcError as error:
            return error
        finally:
            await channel.close()
        return None

    def _translate(self, error: grpc.aio.AioRpcError) -> PubSubError:
        return translate(
            error, topic=self.topic, endpoint=self.endpoint, connection=self.connection
        )

    def _gave_up(self, reason: str, error: grpc.aio.AioRpcError | None) -> PubSubError:
        if error is not None:
            failure = self._translate(error)
            failure.args = (f"Gave up after {self.backoff.retries} retries. {failure}",)
            return failure
        return PubSubUnavailable(
            f"Gave up on {self.topic!r} after {self.backoff.retries} retries: {reason}.",
            topic=self.topic,
        )

    def _fall_back(self) -> bool:
        """The replay id was refused: go on from the preset, unless the caller gave it."""
        if self.position is None:
            return False
        if self.start.source == "given" and self.position == self.start.replay_id:
            return False
        self.sink.notice(
            f"Salesforce no longer retains replay id {self.position.hex()} of {self.topic} "
            f"(events are kept 72 hours); continuing from the {self.start.preset} event. "
            "Events in between may be missing."
        )
        self.position = None
        return True

    # -- one Subscribe call

    def _first_request(self) -> Any:
        pb2 = self._pb2
        if self.position is not None:
            return pb2.FetchRequest(
                topic_name=self.topic,
                replay_preset=pb2.CUSTOM,
                replay_id=self.position,
                num_requested=self.batch,
            )
        preset = pb2.EARLIEST if self.start.preset == "earliest" else pb2.LATEST
        return pb2.FetchRequest(
            topic_name=self.topic, replay_preset=preset, num_requested=self.batch
        )

    async def _attempt(self) -> None:
        channel = self.endpoint.channel()
        try:
            await self._stream(channel)
        except BaseException as error:
            # The traceback's frames hold the call, and a call object keeps its
            # connection open even after the channel is closed: let go of them.
            traceback.clear_frames(error.__traceback__)
            raise
        finally:
            await channel.close()

    async def _stream(self, channel: grpc.aio.Channel) -> None:
        stub = self._grpc.PubSubStub(channel)
        call = stub.Subscribe(metadata=self.credentials.metadata())
        self.attempts += 1
        with contextlib.suppress(asyncio.InvalidStateError):
            # InvalidStateError: the server already ended the call; reading says why.
            await call.write(self._first_request())
        self._outstanding = self.batch
        writer = asyncio.ensure_future(self._top_up(call))
        try:
            if self._initial:
                initial, self._initial = self._initial, ()
                self.sink.deliver(await self._decode(stub, initial))
            await self._read(stub, call)
        finally:
            writer.cancel()
            call.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    async def _read(self, stub: Any, call: Any) -> None:
        while True:
            response = await call.read()
            if response is grpc.aio.EOF:
                return
            if not self._responded:
                self._responded = True
                self.sink.set_status("live", live=True)
            if response.events:
                self._outstanding -= len(response.events)
                events = await self._decode(stub, response.events)
                self.position = events[-1].replay_id
                self.sink.deliver(events)
            elif response.latest_replay_id:
                self.position = bytes(response.latest_replay_id)
                self.sink.advance(self.position)
            self._want.set()

    async def _decode(self, stub: Any, items: Any) -> list[Event]:
        """Decode a batch, fetching the schemas not seen yet (once per process)."""
        kinds: dict[str, EventType] = {}
        for item in items:
            schema_id = item.event.schema_id
            if schema_id in kinds:
                continue
            kind = cached_event_type(schema_id)
            if kind is None:
                info = await stub.GetSchema(
                    self._pb2.SchemaRequest(schema_id=schema_id),
                    metadata=self.credentials.metadata(),
                )
                kind = event_type(schema_id, info.schema_json)
            kinds[schema_id] = kind
        now = datetime.datetime.now(datetime.timezone.utc)
        topic = self.topic
        return [
            decode_event(
                kinds[item.event.schema_id],
                topic,
                item.replay_id,
                item.event.id,
                item.event.payload,
                now,
            )
            for item in items
        ]

    # -- flow control

    def wake(self) -> None:
        """Look again whether to ask for more (a consumer took events)."""
        self._want.set()

    def _top_up_amount(self) -> int:
        if self._outstanding > self.batch // 2:
            return 0
        wanted = self.batch - self._outstanding
        room = self.sink.room()
        if room is not None:
            wanted = min(wanted, room - self._outstanding)
        return max(0, wanted)

    async def _top_up(self, call: Any) -> None:
        pb2 = self._pb2
        try:
            while True:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._want.wait(), timeout=_WRITER_POLL)
                self._want.clear()
                amount = self._top_up_amount()
                if amount > 0:
                    await call.write(pb2.FetchRequest(num_requested=amount))
                    self._outstanding += amount
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError, grpc.aio.UsageError):
            return  # the call ended; the reader sees why
