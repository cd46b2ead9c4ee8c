"""The ``eventbus.v1.PubSub`` gRPC service of the emulator (grpc.aio handlers).

Every call authenticates with the metadata Salesforce requires: ``accesstoken`` must be
a live access token of this org (an expired or revoked one answers UNAUTHENTICATED, also
in the middle of a Subscribe stream), ``tenantid`` its org id and ``instanceurl`` set.
Errors carry Salesforce's ``error-code`` and ``rpc-id`` trailers.

Subscribe honours the replay presets and custom replay ids, flow control by
``num_requested`` (at most 100 events per response, as Salesforce), and sends an empty
keepalive with the latest replay id at once and then every ``pubsub_keepalive`` seconds.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any, NoReturn

import grpc
import grpc.aio

from .._pubsub_proto import protos
from ._pubsub_bus import EventBus, Topic
from ._pubsub_schema import avro_decode
from ._state import EmulatorState

__all__ = ["PubSubService"]

MAX_BATCH = 100
_AUTH_ERROR = "sfdc.platform.eventbus.grpc.service.auth.error"
_TOPIC_ERROR = "sfdc.platform.eventbus.grpc.service.topic.not.found"
_REPLAY_ERROR = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
_ARGUMENT_ERROR = "sfdc.platform.eventbus.grpc.service.invalid.argument"
_UNAVAILABLE = "sfdc.platform.eventbus.grpc.service.unavailable"


async def _fail(
    context: grpc.aio.ServicerContext[Any, Any],
    code: grpc.StatusCode,
    error_code: str,
    message: str,
) -> NoReturn:
    rpc_id = str(uuid.uuid4())
    await context.abort(
        code,
        f"{message} rpcId: {rpc_id}",
        trailing_metadata=(("error-code", error_code), ("rpc-id", rpc_id)),
    )
    raise AssertionError("abort returned")  # pragma: no cover - abort always raises


class _Stream:
    """Flow-control state of one Subscribe call."""

    def __init__(self, requested: int) -> None:
        self.pending = max(0, requested)
        self.error: tuple[grpc.StatusCode, str, str] | None = None


class PubSubService:
    """Handlers of the PubSub service over one emulator's state and event bus."""

    def __init__(self, state: EmulatorState, bus: EventBus) -> None:
        self.state = state
        self.bus = bus
        self.pb2 = protos().pb2
        self.subscribe_calls = 0
        self.auth_failures = 0

    # -- authentication

    def _token_alive(self, token: str) -> bool:
        return self.state.oauth.access(token) is not None

    async def _authenticate(self, context: grpc.aio.ServicerContext[Any, Any]) -> str:
        metadata = {key: value for key, value in context.invocation_metadata() or ()}
        token = str(metadata.get("accesstoken", ""))
        tenant = str(metadata.get("tenantid", ""))
        org_id = self.state.org_id
        if not token or not self._token_alive(token):
            self.auth_failures += 1
            await _fail(
                context,
                grpc.StatusCode.UNAUTHENTICATED,
                _AUTH_ERROR,
                "An authentication exception occurred. Provide valid authentication via "
                "metadata headers (the access token is invalid or has expired).",
            )
        if tenant not in (org_id, org_id[:15]) or not metadata.get("instanceurl"):
            self.auth_failures += 1
            await _fail(
                context,
                grpc.StatusCode.UNAUTHENTICATED,
                _AUTH_ERROR,
                "An authentication exception occurred: tenantid must be the org id of the "
                "access token and instanceurl its instance URL.",
            )
        return token

    async def _topic(self, name: str, context: grpc.aio.ServicerContext[Any, Any]) -> Topic:
        topic = self.bus.topics.get(name)
        if topic is None:
            await _fail(
                context,
                grpc.StatusCode.NOT_FOUND,
                _TOPIC_ERROR,
                f"The topic {name!r} does not exist, or you don't have access to it.",
            )
        return topic

    # -- unary calls

    async def GetTopic(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await self._authenticate(context)
        topic = await self._topic(request.topic_name, context)
        return self.pb2.TopicInfo(
            topic_name=topic.name,
            tenant_guid=self.state.org_id,
            can_publish=topic.can_publish,
            can_subscribe=True,
            schema_id=topic.schema.schema_id if topic.schema is not None else "",
            rpc_id=str(uuid.uuid4()),
        )

    async def GetSchema(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await self._authenticate(context)
        schema = self.bus.schemas.get(request.schema_id)
        if schema is None:
            await _fail(
                context,
                grpc.StatusCode.NOT_FOUND,
                _ARGUMENT_ERROR,
                f"No schema with id {request.schema_id!r}.",
            )
        return self.pb2.SchemaInfo(
            schema_json=schema.schema_json, schema_id=schema.schema_id, rpc_id=str(uuid.uuid4())
        )

    # -- Subscribe

    def _start(self, request: Any) -> int | None:
        preset = request.replay_preset
        if preset == self.pb2.EARLIEST:
            return self.bus.earliest_position
        if preset == self.pb2.CUSTOM:
            return self.bus.position_of(bytes(request.replay_id))
        return self.bus.latest

    async def Subscribe(
        self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        token = await self._authenticate(context)
        try:
            first = await anext(requests)
        except StopAsyncIteration:
            return
        topic = await self._topic(first.topic_name, context)
        position = self._start(first)
        if position is None:
            await _fail(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                _REPLAY_ERROR,
                "The Replay ID validation failed: it is malformed, from another org, or "
                "older than the events retained.",
            )
        self.subscribe_calls += 1
        stream = _Stream(first.num_requested)
        wake = self.bus.listen()
        reader = asyncio.ensure_future(self._read_requests(requests, topic, stream, wake))
        keepalive = self.state.config.pubsub_keepalive
        stopping = self.state.loop_stop_event()
        try:
            yield self._response([], position, stream)
            while True:
                wake.clear()
                if stopping.is_set():
                    await _fail(
                        context,
                        grpc.StatusCode.UNAVAILABLE,
                        _UNAVAILABLE,
                        "The Pub/Sub API service is unavailable.",
                    )
                if stream.error is not None:
                    await _fail(context, *stream.error)
                if not self._token_alive(token):
                    self.auth_failures += 1
                    await _fail(
                        context,
                        grpc.StatusCode.UNAUTHENTICATED,
                        _AUTH_ERROR,
                        "An authentication exception occurred: the session expired.",
                    )
                if stream.pending > 0:
                    events, moved = self.bus.read(position, topic, min(stream.pending, MAX_BATCH))
                    if events:
                        position = moved
                        stream.pending -= len(events)
                        yield self._response(events, position, stream)
                        continue
                    if moved != position:
                        position = moved
                        continue  # skipped other topics' events; look again
                try:
                    await asyncio.wait_for(wake.wait(), timeout=keepalive)
                except asyncio.TimeoutError:
                    yield self._response([], position, stream)
        finally:
            reader.cancel()
            self.bus.unlisten(wake)

    def _response(self, events: list[Any], position: int, stream: _Stream) -> Any:
        pb2 = self.pb2
        return pb2.FetchResponse(
            events=[
                pb2.ConsumerEvent(
                    event=pb2.ProducerEvent(
                        id=event.event_id, schema_id=event.schema_id, payload=event.payload
                    ),
                    replay_id=self.bus.replay_id(event.number),
                )
                for event in events
            ],
            latest_replay_id=self.bus.replay_id(position),
            rpc_id=str(uuid.uuid4()),
            pending_num_requested=stream.pending,
        )

    async def _read_requests(
        self, requests: AsyncIterator[Any], topic: Topic, stream: _Stream, wake: asyncio.Event
    ) -> None:
        async for request in requests:
            if request.topic_name and request.topic_name != topic.name:
                stream.error = (
                    grpc.StatusCode.INVALID_ARGUMENT,
                    _ARGUMENT_ERROR,
                    "The topic of a FetchRequest must be the one of the first request.",
                )
            stream.pending += max(0, request.num_requested)
            wake.set()

    # -- Publish

    def _publish_one(self, topic: Topic, event: Any) -> Any:
        pb2 = self.pb2
        schema = topic.schema
        if schema is None or event.schema_id != schema.schema_id:
            return pb2.PublishResult(
                error=pb2.Error(code=pb2.PUBLISH, msg="The schema id does not match the topic's."),
                correlation_key=event.id,
            )
        try:
            avro_decode(schema, bytes(event.payload))
        except Exception as error:  # any decoding failure is the publisher's error
            return pb2.PublishResult(
                error=pb2.Error(code=pb2.PUBLISH, msg=f"The payload does not decode: {error}"),
                correlation_key=event.id,
            )
        number = self.bus.append(
            schema.name, False, schema.schema_id, event.id or str(uuid.uuid4()), event.payload
        )
        return pb2.PublishResult(replay_id=self.bus.replay_id(number), correlation_key=event.id)

    async def _publish(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        topic = await self._topic(request.topic_name, context)
        if not topic.can_publish:
            await _fail(
                context,
                grpc.StatusCode.PERMISSION_DENIED,
                _ARGUMENT_ERROR,
                f"Publishing to {topic.name!r} is not allowed.",
            )
        results = [self._publish_one(topic, event) for event in request.events]
        schema_id = topic.schema.schema_id if topic.schema is not None else ""
        return self.pb2.PublishResponse(
            results=results, schema_id=schema_id, rpc_id=str(uuid.uuid4())
        )

    async def Publish(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await self._authenticate(context)
        return await self._publish(request, context)

    async def PublishStream(
        self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        await self._authenticate(context)
        first_topic = ""
        async for request in requests:
            first_topic = first_topic or request.topic_name
            if request.topic_name and request.topic_name != first_topic:
                await _fail(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    _ARGUMENT_ERROR,
                    "The topic of a PublishRequest must be the one of the first.",
                )
            if not request.topic_name:
                request.topic_name = first_topic
            yield await self._publish(request, context)
