"""The emulated event bus: topics, schemas, and the retained stream of events.

Every event gets the next number of one org-wide sequence; its replay id is that number
behind a 4-byte epoch of this bus (12 bytes, opaque to clients), so a replay id from
another emulator run is refused like a corrupted one. The newest ``retention`` events are
kept (Salesforce keeps 72 hours); older ones are dropped in chunks.

All of it lives on the emulator's event loop: the REST handlers append, the gRPC
handlers read and wait. The bus of an emulator is found with :func:`bus_of`; it exists
once Pub/Sub is enabled (:func:`attach`), so a disabled emulator pays one dict lookup
per REST write, and never imports fastavro.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._schema import FieldDef, Schema
from ._state import EmulatorState

if TYPE_CHECKING:
    from ._pubsub_schema import EventSchema

__all__ = ["BusEvent", "EventBus", "Topic", "attach", "bus_of"]

ALL_CHANGE_EVENTS = "/data/ChangeEvents"
#: Most events one scan looks at before yielding the loop back, matching or not.
_SCAN_LIMIT = 20_000
_PLATFORM_TYPES = {
    "string": "string",
    "textarea": "string",
    "boolean": "boolean",
    "int": "int",
    "double": "double",
    "datetime": {"type": "long", "logicalType": "timestamp-millis"},
    "date": {"type": "int", "logicalType": "date"},
}


@dataclasses.dataclass(frozen=True)
class BusEvent:
    """One retained event: its number in the stream and its encoded form."""

    number: int
    entity: str  # sObject name of a change event, API name of a platform event
    change: bool
    schema_id: str
    event_id: str
    payload: bytes


@dataclasses.dataclass(frozen=True)
class Topic:
    """A channel one can subscribe to (or publish on)."""

    name: str
    schema: EventSchema | None  # None: several schemas (/data/ChangeEvents)
    entity: str | None  # None: every change event
    change: bool
    can_publish: bool

    def matches(self, event: BusEvent) -> bool:
        if self.entity is None:
            return event.change
        return event.change == self.change and event.entity == self.entity


class EventBus:
    """Topics and schemas of one org, and its retained events."""

    def __init__(self, schema: Schema, retention: int = 100_000) -> None:
        if retention < 1:
            raise ValueError("pubsub_retention must be at least 1")
        self.retention = retention
        self.epoch = secrets.randbits(32)
        self.topics: dict[str, Topic] = {}
        self.schemas: dict[str, EventSchema] = {}
        #: sObject name (lower case) -> its change event schema.
        self.change_schemas: dict[str, EventSchema] = {}
        self._events: list[BusEvent] = []
        self._first = 1  # number of self._events[0]
        self._next = 1
        self._listeners: set[asyncio.Event] = set()
        self.published = 0
        from ._pubsub_schema import change_event_schema

        for sobject in schema.sobjects:
            if sobject.createable or sobject.updateable:
                self._add_change_topic(change_event_schema(sobject), sobject.name)
        self.topics[ALL_CHANGE_EVENTS] = Topic(ALL_CHANGE_EVENTS, None, None, True, False)
        self.define_platform_event(
            "Notebook_Event__e",
            {"Message__c": "string", "Level__c": "string", "Value__c": "double"},
        )

    def _add_change_topic(self, event: EventSchema, entity: str) -> None:
        self.schemas[event.schema_id] = event
        self.change_schemas[entity.lower()] = event
        name = f"/data/{event.name}"
        self.topics[name] = Topic(name, event, entity, True, False)

    def define_platform_event(self, api_name: str, fields: Mapping[str, str]) -> Topic:
        """Add a platform event ``/event/<api_name>`` with fields name -> type
        (string, textarea, boolean, int, double, date, datetime)."""
        from ._pubsub_schema import NAMESPACE, event_schema

        if not api_name.endswith("__e"):
            raise ValueError("a platform event's API name ends with __e")
        avro_fields: list[dict[str, object]] = [
            {"name": "CreatedDate", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "CreatedById", "type": "string"},
        ]
        for name, kind in fields.items():
            if kind not in _PLATFORM_TYPES:
                raise ValueError(f"unknown platform event field type {kind!r}")
            avro_fields.append(
                {"name": name, "type": ["null", _PLATFORM_TYPES[kind]], "default": None}
            )
        schema = {"type": "record", "name": api_name, "namespace": NAMESPACE, "fields": avro_fields}
        event = event_schema(api_name, schema, tuple(FieldDef(n, k, n) for n, k in fields.items()))
        self.schemas[event.schema_id] = event
        topic = Topic(f"/event/{api_name}", event, api_name, False, True)
        self.topics[topic.name] = topic
        return topic

    # -- replay ids

    def replay_id(self, number: int) -> bytes:
        return self.epoch.to_bytes(4, "big") + number.to_bytes(8, "big")

    def position_of(self, replay_id: bytes) -> int | None:
        """The stream position a replay id names, or None if it is not one this bus can
        resume after (malformed, from another bus, too old or from the future)."""
        if len(replay_id) != 12 or int.from_bytes(replay_id[:4], "big") != self.epoch:
            return None
        number = int.from_bytes(replay_id[4:], "big")
        if number < self._first - 1 or number > self.latest:
            return None
        return number

    @property
    def latest(self) -> int:
        """Number of the newest event (0 before the first)."""
        return self._next - 1

    @property
    def earliest_position(self) -> int:
        """The position just before the oldest retained event."""
        return self._first - 1

    def __len__(self) -> int:
        return len(self._events)

    # -- writing and reading

    def append(
        self, entity: str, change: bool, schema_id: str, event_id: str, payload: bytes
    ) -> int:
        """Add an event; its number. Wakes every waiting subscriber."""
        number = self._next
        self._next += 1
        self._events.append(BusEvent(number, entity, change, schema_id, event_id, payload))
        excess = len(self._events) - self.retention
        if excess > self.retention // 10:  # trim in chunks: at most 10% over, briefly
            del self._events[:excess]
            self._first += excess
        self.published += 1
        for listener in self._listeners:
            listener.set()
        return number

    def read(self, position: int, topic: Topic, limit: int) -> tuple[list[BusEvent], int]:
        """Up to `limit` events of `topic` after `position`, and the new position.

        The retention window counts: events older than ``retention`` are gone (and a
        retained but not yet trimmed surplus is served while it lasts).
        """
        events: list[BusEvent] = []
        index = max(position + 1, self._first) - self._first
        stop = min(len(self._events), index + _SCAN_LIMIT)
        retained = self._events
        while index < stop and len(events) < limit:
            event = retained[index]
            if topic.matches(event):
                events.append(event)
            position = event.number
            index += 1
        return events, position

    def listen(self) -> asyncio.Event:
        """An event set whenever something is appended (pair with :meth:`unlisten`)."""
        listener = asyncio.Event()
        self._listeners.add(listener)
        return listener

    def unlisten(self, listener: asyncio.Event) -> None:
        self._listeners.discard(listener)

    def wake_all(self) -> None:
        for listener in self._listeners:
            listener.set()


_BUSES: weakref.WeakKeyDictionary[EmulatorState, EventBus] = weakref.WeakKeyDictionary()


def attach(state: EmulatorState) -> EventBus:
    """The emulator's event bus, made on first call (from then on REST writes emit)."""
    bus = _BUSES.get(state)
    if bus is None:
        bus = EventBus(state.schema, state.config.pubsub_retention)
        _BUSES[state] = bus
    return bus


def bus_of(state: EmulatorState) -> EventBus | None:
    """The emulator's event bus, or None if Pub/Sub was never enabled."""
    return _BUSES.get(state)
