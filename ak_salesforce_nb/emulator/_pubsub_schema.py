"""Avro schemas of the emulated org's change events, and encoding events with them.

Each CDC-enabled sObject gets a ``com.sforce.eventbus.<Entity>ChangeEvent`` record: a
``ChangeEventHeader`` record first, as Salesforce sends it, then the object's fields as
optional unions (``["null", T]``, default null). Field positions in this schema are what
the bitmap strings of ``changedFields``/``nulledFields``/``diffFields`` refer to (bit 0
is the header, bit 1 the first field, and so on), exactly as Salesforce encodes them for
the Pub/Sub API.

Compound address fields are left out; their component fields (``BillingCity``...) are
ordinary fields of the event. Date-times use Avro's ``timestamp-millis`` logical type and
dates ``date``, so a decoder gets ``datetime``/``date`` values.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import io
import json
from typing import Any

import fastavro
import fastavro.schema

from ._schema import FieldDef, SObjectDef
from ._values import parse_datetime

__all__ = [
    "NAMESPACE",
    "EventSchema",
    "avro_decode",
    "avro_value",
    "bitmap",
    "change_event_name",
    "change_event_schema",
    "event_schema",
]

NAMESPACE = "com.sforce.eventbus"
CHANGE_TYPES = (
    "CREATE",
    "UPDATE",
    "DELETE",
    "UNDELETE",
    "GAP_CREATE",
    "GAP_UPDATE",
    "GAP_DELETE",
    "GAP_UNDELETE",
    "GAP_OVERFLOW",
    "SNAPSHOT",
)
#: Fields that never appear in a change event: the id is in the header; these are not
#: tracked by Change Data Capture.
_UNTRACKED = frozenset({"Id", "IsDeleted", "SystemModstamp"})
_STRING_ARRAY: dict[str, Any] = {"type": "array", "items": "string"}


def change_event_name(sobject_name: str) -> str:
    """``Account`` -> ``AccountChangeEvent``; ``Thing__c`` -> ``Thing__ChangeEvent``."""
    if sobject_name.endswith("__c"):
        return sobject_name[:-1] + "ChangeEvent"
    return sobject_name + "ChangeEvent"


def header_schema() -> dict[str, Any]:
    """The ``ChangeEventHeader`` record, field for field as Salesforce documents it."""
    return {
        "type": "record",
        "name": "ChangeEventHeader",
        "namespace": NAMESPACE,
        "fields": [
            {"name": "entityName", "type": "string"},
            {"name": "recordIds", "type": _STRING_ARRAY},
            {
                "name": "changeType",
                "type": {
                    "type": "enum",
                    "name": "ChangeType",
                    "namespace": NAMESPACE,
                    "symbols": list(CHANGE_TYPES),
                },
            },
            {"name": "changeOrigin", "type": "string"},
            {"name": "transactionKey", "type": "string"},
            {"name": "sequenceNumber", "type": "int"},
            {"name": "commitTimestamp", "type": "long"},
            {"name": "commitNumber", "type": "long"},
            {"name": "commitUser", "type": "string"},
            {"name": "nulledFields", "type": _STRING_ARRAY},
            {"name": "diffFields", "type": _STRING_ARRAY},
            {"name": "changedFields", "type": _STRING_ARRAY},
        ],
    }


def _avro_type(f: FieldDef) -> Any:
    if f.type == "boolean":
        return "boolean"
    if f.type == "int":
        return "int"
    if f.is_number:
        return "double"
    if f.type == "date":
        return {"type": "int", "logicalType": "date"}
    if f.type == "datetime":
        return {"type": "long", "logicalType": "timestamp-millis"}
    return "string"


def schema_id_of(schema: dict[str, Any]) -> str:
    """A stable fingerprint of a schema's canonical form, shaped like Salesforce's ids."""
    canonical = fastavro.schema.to_parsing_canonical_form(schema)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:22]


@dataclasses.dataclass(frozen=True)
class EventSchema:
    """One event type: its Avro schema (JSON and parsed), id and tracked fields."""

    name: str
    schema_json: str
    schema_id: str
    parsed: Any
    #: For change events: the tracked fields, in schema order (position = index + 1).
    fields: tuple[FieldDef, ...] = ()

    def encode(self, record: dict[str, Any]) -> bytes:
        """The Avro binary encoding of `record` (no container, as Pub/Sub sends it)."""
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, self.parsed, record)
        return buffer.getvalue()


def avro_decode(schema: EventSchema, payload: bytes) -> Any:
    """Decode a payload with `schema` (raises on a payload that does not fit it)."""
    reader = io.BytesIO(payload)
    record = fastavro.schemaless_reader(reader, schema.parsed, None)
    if reader.read(1):
        raise ValueError("trailing bytes after the record")
    return record


def event_schema(
    name: str, schema: dict[str, Any], fields: tuple[FieldDef, ...] = ()
) -> EventSchema:
    return EventSchema(
        name=name,
        schema_json=json.dumps(schema, separators=(",", ":")),
        schema_id=schema_id_of(schema),
        parsed=fastavro.parse_schema(schema),
        fields=fields,
    )


def change_event_schema(sobject: SObjectDef) -> EventSchema:
    """The ``<Entity>ChangeEvent`` schema of one sObject."""
    tracked = tuple(f for f in sobject.fields if f.type != "address" and f.name not in _UNTRACKED)
    name = change_event_name(sobject.name)
    schema = {
        "type": "record",
        "name": name,
        "namespace": NAMESPACE,
        "doc": f"Change Data Capture events of {sobject.name} records.",
        "fields": [
            {"name": "ChangeEventHeader", "type": header_schema(), "doc": "Data:EventHeader"},
            *(
                {
                    "name": f.name,
                    "type": ["null", _avro_type(f)],
                    "default": None,
                    "doc": f"{f.label} ({f.type})",
                }
                for f in tracked
            ),
        ],
    }
    return event_schema(name, schema, tracked)


def avro_value(f: FieldDef, value: Any) -> Any:
    """A stored value (Salesforce's text forms for dates) in the form the schema takes."""
    if value is None:
        return None
    if f.type == "datetime":
        return parse_datetime(str(value))
    if f.type == "date":
        return datetime.date.fromisoformat(str(value)[:10])
    if f.type == "int":
        return int(value)
    if f.is_number:
        return float(value)
    if f.type == "boolean":
        return bool(value)
    return str(value)


def bitmap(positions: list[int]) -> list[str]:
    """Salesforce's bitmap form of field positions: ``["0x1A"]``, or ``[]`` for none."""
    if not positions:
        return []
    bits = 0
    for position in positions:
        bits |= 1 << position
    return [f"0x{bits:X}"]
