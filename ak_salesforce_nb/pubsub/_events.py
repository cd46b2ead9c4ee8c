"""`Event`: one decoded event, with a change event's header flattened."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["Event"]


@dataclasses.dataclass(frozen=True)
class Event(Mapping[str, Any]):
    """A decoded Pub/Sub event.

    For a change event, ``ChangeEventHeader`` is flattened into `entity`, `change_type`,
    `record_ids`, `changed_fields` (field names, bitmaps expanded), `nulled_fields`,
    `diff_fields`, `commit_timestamp` (UTC), `commit_user`, `transaction_key` and
    `change_origin`, and `fields` holds the field values that came with it: every
    non-null field of a CREATE or UNDELETE, the changed fields of an UPDATE (nulled
    ones as None), nothing for a DELETE. Nested compound fields are flattened to dotted
    names (``BillingAddress.City``).

    For a platform event, `entity` is the event's name, `change_type` None and `fields`
    its whole payload.

    An Event reads like a mapping of its `fields`: ``event["Name"]``, ``event.get(...)``,
    ``dict(event)``.
    """

    topic: str
    replay_id: bytes
    event_id: str
    schema_id: str
    entity: str
    change_type: str | None
    record_ids: tuple[str, ...]
    changed_fields: tuple[str, ...]
    nulled_fields: tuple[str, ...]
    diff_fields: tuple[str, ...]
    commit_timestamp: datetime.datetime | None
    commit_user: str | None
    transaction_key: str | None
    change_origin: str | None
    fields: Mapping[str, Any]
    #: Wall-clock time (UTC) the event was decoded here.
    received_at: datetime.datetime

    # -- the mapping of fields

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    # equality and hashing by position in the stream, not by the mapping's contents
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (self.topic, self.replay_id) == (other.topic, other.replay_id)

    def __hash__(self) -> int:
        return hash((self.topic, self.replay_id))

    @property
    def record_id(self) -> str | None:
        """The first (usually only) record id of a change event."""
        return self.record_ids[0] if self.record_ids else None

    @property
    def replay_hex(self) -> str:
        return self.replay_id.hex()

    def as_row(self) -> dict[str, Any]:
        """One flat row for a DataFrame: the header columns, then the fields."""
        row: dict[str, Any] = {
            "replay_id": self.replay_id.hex(),
            "entity": self.entity,
            "change_type": self.change_type,
            "record_ids": list(self.record_ids),
            "changed_fields": list(self.changed_fields),
            "commit_timestamp": self.commit_timestamp,
            "commit_user": self.commit_user,
        }
        for key, value in self.fields.items():
            row.setdefault(key, value)
        return row

    def __repr__(self) -> str:
        what = self.change_type or "event"
        ids = ",".join(self.record_ids)
        fields = f" {list(self.changed_fields)}" if self.changed_fields else ""
        return f"<Event {what} {self.entity} {ids}{fields} replay={self.replay_id.hex()}>"
