"""Decoding Avro payloads into `Event` objects, with the schemas fetched by id.

Schema ids are fingerprints of the schema, so a parsed schema is cached per id for the
life of the process, shared by every subscription. Bitmap strings in ``changedFields``,
``nulledFields`` and ``diffFields`` are expanded to field names as Salesforce documents
them: ``"0x..."`` is a bitmap over the top-level fields (bit 0 = field 0), and
``"P-0x..."`` a bitmap over the fields of the compound field at position P
(``BillingAddress.City``).
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
import threading
from collections.abc import Mapping
from typing import Any

import fastavro

from ._events import Event

__all__ = ["EventType", "decode_event", "event_type", "parse_event_type"]

_HEADER = "ChangeEventHeader"
_UTC = datetime.timezone.utc
_CACHE_LIMIT = 512
_cache: dict[str, EventType] = {}
_cache_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class EventType:
    """What decoding needs to know of one schema."""

    schema_id: str
    name: str
    parsed: Any
    field_names: tuple[str, ...]
    #: Position of a compound (nested record) field -> its fields' names.
    nested: Mapping[int, tuple[str, ...]]
    has_header: bool
    #: Bitmap string -> the field names it expands to (the same few recur).
    bitmaps: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict, repr=False)


def _record_of(avro_type: Any) -> dict[str, Any] | None:
    """The record schema inside an optional union (``["null", {record}]``), if any."""
    if isinstance(avro_type, dict) and avro_type.get("type") == "record":
        return avro_type
    if isinstance(avro_type, list):
        records = [t for t in avro_type if isinstance(t, dict) and t.get("type") == "record"]
        if len(records) == 1:
            return records[0]
    return None


def parse_event_type(schema_id: str, schema_json: str) -> EventType:
    schema = json.loads(schema_json)
    fields = schema.get("fields", [])
    nested: dict[int, tuple[str, ...]] = {}
    for position, field in enumerate(fields):
        record = _record_of(field.get("type"))
        if record is not None and field["name"] != _HEADER:
            nested[position] = tuple(f["name"] for f in record.get("fields", []))
    return EventType(
        schema_id=schema_id,
        name=str(schema.get("name", "")),
        parsed=fastavro.parse_schema(schema),
        field_names=tuple(f["name"] for f in fields),
        nested=nested,
        has_header=bool(fields) and fields[0]["name"] == _HEADER,
    )


def cached_event_type(schema_id: str) -> EventType | None:
    return _cache.get(schema_id)


def event_type(schema_id: str, schema_json: str) -> EventType:
    """The parsed schema `schema_id` (parsed once per process)."""
    known = _cache.get(schema_id)
    if known is not None:
        return known
    parsed = parse_event_type(schema_id, schema_json)
    with _cache_lock:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.pop(next(iter(_cache)))
        _cache[schema_id] = parsed
    return parsed


def _bits(hex_text: str) -> list[int]:
    value = int(hex_text[2:] if hex_text[:2].lower() == "0x" else hex_text, 16)
    positions: list[int] = []
    index = 0
    while value:
        if value & 1:
            positions.append(index)
        value >>= 1
        index += 1
    return positions


def expand_bitmaps(kind: EventType, entries: list[str]) -> tuple[str, ...]:
    """Field names from Salesforce's bitmap strings (plain names pass through)."""
    if not entries:
        return ()
    if len(entries) == 1:
        known = kind.bitmaps.get(entries[0])
        if known is None:
            known = _expand(kind, entries)
            if len(kind.bitmaps) < _CACHE_LIMIT:
                kind.bitmaps[entries[0]] = known
        return known
    return _expand(kind, entries)


def _expand(kind: EventType, entries: list[str]) -> tuple[str, ...]:
    names: list[str] = []
    for entry in entries:
        parent, dash, bitmap = entry.partition("-")
        try:
            if not dash and entry[:2].lower() == "0x":
                names.extend(kind.field_names[p] for p in _bits(entry) if p < len(kind.field_names))
                continue
            if dash and bitmap[:2].lower() == "0x" and parent.isdigit():
                position = int(parent)
                children = kind.nested.get(position, ())
                prefix = kind.field_names[position]
                names.extend(f"{prefix}.{children[p]}" for p in _bits(bitmap) if p < len(children))
                continue
        except (ValueError, IndexError):
            pass
        names.append(entry)  # not a bitmap: a field name already
    return tuple(names)


def _flat(values: dict[str, Any], key: str, value: Any, *, skip_none: bool) -> None:
    if isinstance(value, dict):
        for child, inner in value.items():
            _flat(values, f"{key}.{child}", inner, skip_none=skip_none)
    elif value is not None or not skip_none:
        values[key] = value


def _lookup(record: Mapping[str, Any], dotted: str) -> Any:
    if "." not in dotted:
        return record.get(dotted)
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def decode_payload(kind: EventType, payload: bytes) -> dict[str, Any]:
    record = fastavro.schemaless_reader(io.BytesIO(payload), kind.parsed, None)
    if not isinstance(record, dict):
        raise ValueError(f"the {kind.name} payload is not a record")
    return record


def decode_event(
    kind: EventType,
    topic: str,
    replay_id: bytes,
    event_id: str,
    payload: bytes,
    received_at: datetime.datetime | None = None,
) -> Event:
    """One `Event` from an Avro payload (see `Event` for what goes where)."""
    record = decode_payload(kind, payload)
    now = received_at or datetime.datetime.now(_UTC)
    header = record.pop(_HEADER, None) if kind.has_header else None
    values: dict[str, Any] = {}
    if not isinstance(header, dict):
        for key, value in record.items():
            _flat(values, key, value, skip_none=False)
        return Event(
            topic=topic,
            replay_id=replay_id,
            event_id=event_id,
            schema_id=kind.schema_id,
            entity=kind.name,
            change_type=None,
            record_ids=(),
            changed_fields=(),
            nulled_fields=(),
            diff_fields=(),
            commit_timestamp=None,
            commit_user=None,
            transaction_key=None,
            change_origin=None,
            fields=values,
            received_at=now,
        )
    change_type = str(header.get("changeType") or "")
    changed = expand_bitmaps(kind, list(header.get("changedFields") or []))
    nulled = expand_bitmaps(kind, list(header.get("nulledFields") or []))
    diff = expand_bitmaps(kind, list(header.get("diffFields") or []))
    if change_type in ("UPDATE", "GAP_UPDATE"):
        for name in changed:
            values[name] = _lookup(record, name)
    elif change_type in ("CREATE", "UNDELETE", "GAP_CREATE", "GAP_UNDELETE"):
        for key, value in record.items():
            _flat(values, key, value, skip_none=True)
    stamp = header.get("commitTimestamp")
    return Event(
        topic=topic,
        replay_id=replay_id,
        event_id=event_id,
        schema_id=kind.schema_id,
        entity=str(header.get("entityName") or kind.name),
        change_type=change_type or None,
        record_ids=tuple(header.get("recordIds") or ()),
        changed_fields=changed,
        nulled_fields=nulled,
        diff_fields=diff,
        commit_timestamp=(
            datetime.datetime.fromtimestamp(stamp / 1000, _UTC) if isinstance(stamp, int) else None
        ),
        commit_user=header.get("commitUser"),
        transaction_key=header.get("transactionKey"),
        change_origin=header.get("changeOrigin"),
        fields=values,
        received_at=now,
    )
