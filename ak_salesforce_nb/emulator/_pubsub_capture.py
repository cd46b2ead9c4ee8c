"""Change Data Capture: the REST handlers report writes here, the bus gets change events.

The handlers call :func:`snapshot` before an update and :func:`created`, :func:`updated`
or :func:`deleted` after the write (for a write of many records, once it is committed,
with one :class:`ChangeTransaction` so the events share their ``transactionKey`` and
number their ``sequenceNumber``, as the events of one Salesforce transaction do). Each
does nothing (and imports nothing heavy) unless the emulator serves the Pub/Sub API.
The events are shaped as Salesforce shapes them:

- CREATE: every non-null tracked field; ``changedFields`` empty.
- UPDATE: the changed fields' new values, others null; ``changedFields`` (and
  ``nulledFields`` for values set to null) as bitmaps of schema positions.
- DELETE: no field values.

Cascade deletes of child records emit no events of their own here (one known gap).
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from ._pubsub_bus import EventBus, bus_of
from ._state import EmulatorState
from ._store import Table

if TYPE_CHECKING:
    from ._pubsub_schema import EventSchema

__all__ = [
    "ChangeTransaction",
    "bulk_origin_of",
    "capturing",
    "created",
    "deleted",
    "origin_of",
    "snapshot",
    "updated",
]

Snapshot = dict[str, Any]


class ChangeTransaction:
    """The change events of one transaction: one key, sequence numbers 1, 2, 3..."""

    def __init__(self) -> None:
        self.key = str(uuid.uuid4())
        self.sequence = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


def _schema(bus: EventBus, table: Table) -> EventSchema | None:
    return bus.change_schemas.get(table.sobject.name.lower())


def capturing(state: EmulatorState) -> bool:
    """Whether writes emit change events at all (a bulk writer asks once per chunk)."""
    return bus_of(state) is not None


def snapshot(state: EmulatorState, table: Table, row: int) -> Snapshot | None:
    """The tracked values of a row before a write (None when Pub/Sub is off)."""
    bus = bus_of(state)
    schema = None if bus is None else _schema(bus, table)
    if schema is None:
        return None
    return {f.name: table.columns[f.name][row] for f in schema.fields}


def _emit(
    bus: EventBus,
    schema: EventSchema,
    table: Table,
    row: int,
    change_type: str,
    values: dict[str, Any],
    user_id: str,
    origin: str,
    changed: list[int] | None = None,
    nulled: list[int] | None = None,
    transaction: ChangeTransaction | None = None,
) -> None:
    from ._pubsub_schema import bitmap

    transaction = transaction or ChangeTransaction()
    now = time.time()
    record: dict[str, Any] = {f.name: None for f in schema.fields}
    record.update(values)
    record["ChangeEventHeader"] = {
        "entityName": table.sobject.name,
        "recordIds": [table.columns["Id"][row]],
        "changeType": change_type,
        "changeOrigin": origin,
        "transactionKey": transaction.key,
        "sequenceNumber": transaction.next_sequence(),
        "commitTimestamp": int(now * 1000),
        "commitNumber": time.time_ns() // 1000,
        "commitUser": user_id,
        "nulledFields": bitmap(nulled or []),
        "diffFields": [],
        "changedFields": bitmap(changed or []),
    }
    bus.append(table.sobject.name, True, schema.schema_id, str(uuid.uuid4()), schema.encode(record))


def created(
    state: EmulatorState,
    table: Table,
    record_id: str,
    user_id: str,
    origin: str,
    transaction: ChangeTransaction | None = None,
) -> None:
    """A record was created: a CREATE event with its non-null values."""
    bus = bus_of(state)
    schema = None if bus is None else _schema(bus, table)
    row = table.row_of(record_id)
    if bus is None or schema is None or row is None:
        return
    from ._pubsub_schema import avro_value

    values = {}
    for f in schema.fields:
        value = table.columns[f.name][row]
        if value is not None:
            values[f.name] = avro_value(f, value)
    _emit(bus, schema, table, row, "CREATE", values, user_id, origin, transaction=transaction)


def updated(
    state: EmulatorState,
    table: Table,
    row: int,
    before: Snapshot | None,
    user_id: str,
    origin: str,
    transaction: ChangeTransaction | None = None,
) -> None:
    """A record was updated: an UPDATE event with what changed since `before`."""
    bus = bus_of(state)
    schema = None if bus is None else _schema(bus, table)
    if bus is None or schema is None or before is None:
        return
    from ._pubsub_schema import avro_value

    values: dict[str, Any] = {}
    changed: list[int] = []
    nulled: list[int] = []
    for position, f in enumerate(schema.fields, start=1):
        value = table.columns[f.name][row]
        if value == before.get(f.name):
            continue
        changed.append(position)
        values[f.name] = avro_value(f, value)
        if value is None:
            nulled.append(position)
    _emit(bus, schema, table, row, "UPDATE", values, user_id, origin, changed, nulled, transaction)


def deleted(
    state: EmulatorState,
    table: Table,
    row: int,
    user_id: str,
    origin: str,
    transaction: ChangeTransaction | None = None,
) -> None:
    """A record was deleted: a DELETE event."""
    bus = bus_of(state)
    schema = None if bus is None else _schema(bus, table)
    if bus is None or schema is None:
        return
    _emit(bus, schema, table, row, "DELETE", {}, user_id, origin, transaction=transaction)


def origin_of(version: str) -> str:
    """``changeOrigin`` of a write through the REST API of `version`."""
    return f"com/salesforce/api/rest/{version}"


def bulk_origin_of(version: str) -> str:
    """``changeOrigin`` of a write by a Bulk API 2.0 ingest job of `version`."""
    return f"com/salesforce/api/bulkapi/{version}"
