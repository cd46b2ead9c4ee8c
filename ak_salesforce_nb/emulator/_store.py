"""In-memory record storage: one column-oriented table per sObject.

Columns (one Python list per field) keep 500,000 generated records in a fraction of the
memory that one dict per record would take, and let the query engine read a field of
every row without building records. Rows are never removed: a delete sets IsDeleted, as
Salesforce's recycle bin does, so row numbers stay valid for open query cursors; a hard
delete also marks the row purged, which hides it from ``queryAll`` and from id lookups.

A write that must be all-or-none (sObject Collections with ``allOrNone``) runs inside
``Store.transaction()``: every insert and update is journaled, and ``rollback()`` undoes
them newest first, so the org looks as if the request had never come. Handlers run on the
one event loop and a transaction never spans an ``await``, so nothing else sees the
half-done state.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator
from typing import Any

from ._ids import IdAllocator, to15
from ._schema import FieldDef, Schema, SObjectDef, name_sobject

__all__ = ["Store", "Table", "Transaction"]

#: The 15-character form of an 18-character id (the key of ``Table.index``).
_ID15 = operator.itemgetter(slice(None, 15))

#: A journal entry: ("insert", table, row) or ("update", table, row, previous values).
JournalEntry = tuple[Any, ...]


class Table:
    """The records of one sObject."""

    def __init__(self, sobject: SObjectDef) -> None:
        self.sobject = sobject
        self.allocator = IdAllocator(sobject.key_prefix)
        self.stored_fields: list[FieldDef] = [f for f in sobject.fields if f.type != "address"]
        self.columns: dict[str, list[Any]] = {f.name: [] for f in self.stored_fields}
        self.boolean_fields = tuple(f.name for f in self.stored_fields if f.type == "boolean")
        #: (field, default) of the picklists a new record starts with a value of.
        self.picklist_defaults = tuple(
            (f.name, f.picklist_default) for f in sobject.fields if f.picklist_default is not None
        )
        self.index: dict[str, int] = {}
        self.unique_indexes: dict[str, dict[str, int]] = {
            f.name: {} for f in self.stored_fields if f.unique or f.external_id
        }
        #: Bumped on every change, so that derived indexes know when to rebuild.
        self.version = 0
        #: Rows touched through the API, most recent last (for ``recentItems``).
        self.recent: list[int] = []
        self._deleted = self.columns.get("IsDeleted")
        # Child-relationship indexes: lookup field -> (version, parent id15 -> rows).
        self._child_indexes: dict[str, tuple[int, dict[str, list[int]]]] = {}
        #: Rows removed for good (hard delete): not in queryAll, not found by id.
        self.purged: set[int] = set()
        #: The open transaction's journal, or None outside a transaction.
        self.journal: list[JournalEntry] | None = None
        #: The store holding this table (set by Store), for the Name view of What/Who.
        self.owner: Store | None = None

    def __len__(self) -> int:
        return len(self.columns["Id"])

    def load(self, columns: dict[str, list[Any]]) -> None:
        """Append generated rows given as whole columns (missing columns are null)."""
        count = len(columns["Id"])
        start = len(self)
        for name, column in self.columns.items():
            values = columns.get(name)
            column.extend(values if values is not None else [None] * count)
        ids = columns["Id"]
        self.index.update(zip([i[:15] for i in ids], range(start, start + count), strict=True))
        for name, index in self.unique_indexes.items():
            for offset, value in enumerate(self.columns[name][start:]):
                if value is not None:
                    index[str(value).casefold()] = start + offset
        self.version += 1

    def row_of(self, record_id: str) -> int | None:
        """The row of a live or deleted record by 15- or 18-character id."""
        id15 = to15(record_id)
        return None if id15 is None else self.index.get(id15)

    def is_deleted(self, row: int) -> bool:
        return bool(self._deleted[row]) if self._deleted is not None else False

    def all_rows(self) -> range | Iterator[int]:
        """Every row that was not purged, deleted ones included (``queryAll``)."""
        if not self.purged:
            return range(len(self))
        purged = self.purged
        return (row for row in range(len(self)) if row not in purged)

    def live_rows(self) -> Iterator[int]:
        if self._deleted is None:
            return iter(range(len(self)))
        deleted = self._deleted
        return (row for row in range(len(self)) if not deleted[row])

    def value(self, row: int, field_name: str) -> Any:
        return self.columns[field_name][row]

    def find_unique(self, field_name: str, value: str) -> int | None:
        """The live row whose unique/external-id field equals ``value`` (case-insensitive)."""
        row = self.unique_indexes[field_name].get(value.casefold())
        if row is None or self.is_deleted(row):
            return None
        return row

    def insert(self, values: dict[str, Any]) -> int:
        row = len(self)
        for name, column in self.columns.items():
            column.append(values.get(name))
        self.index[values["Id"][:15]] = row
        self._index_unique(row, values)
        self._touch(row)
        if self.journal is not None:
            self.journal.append(("insert", self, row))
        return row

    def insert_many(self, records: list[dict[str, Any]]) -> range:
        """Append records in one go (each as ``insert`` would: same columns, indexes,
        recent items and journal entries); the rows they got."""
        start = len(self)
        rows = range(start, start + len(records))
        if not records:
            return rows
        present: set[str] = set().union(*records)
        nulls = [None] * len(records)
        for name, column in self.columns.items():
            if name in present:
                column.extend([values.get(name) for values in records])
            else:  # a column no record sets (most of them, for a bulk insert)
                column.extend(nulls)
        self.index.update(zip([values["Id"][:15] for values in records], rows, strict=True))
        for name, index in self.unique_indexes.items():
            for row, values in zip(rows, records, strict=True):
                value = values.get(name)
                if value is not None:
                    index[str(value).casefold()] = row
        return self._appended(rows)

    def _appended(self, rows: range) -> range:
        """What appending `rows` changes besides the columns and indexes: the version,
        the recent items, the transaction journal; `rows`."""
        self.version += 1
        # New rows are in no one's recent list yet: appending them is what _touch does.
        self.recent.extend(rows[-20:])
        del self.recent[:-20]
        if self.journal is not None:
            self.journal.extend(("insert", self, row) for row in rows)
        return rows

    def insert_columns(self, columns: dict[str, list[Any]]) -> range:
        """Append records given as whole columns of equal length (``Id`` among them; a
        table column not given is null, a key that is no column is ignored), with the
        indexes, recent items and journal entries ``insert_many`` gives the same records."""
        count = len(columns["Id"])
        start = len(self)
        rows = range(start, start + count)
        if not count:
            return rows
        nulls = [None] * count
        for name, column in self.columns.items():
            column.extend(columns.get(name, nulls))
        self.index.update(zip(map(_ID15, columns["Id"]), rows, strict=True))
        for name, index in self.unique_indexes.items():
            values = columns.get(name)
            if values is None:
                continue
            try:  # a column of texts: at C speed
                index.update(zip(list(map(str.casefold, values)), rows, strict=True))
            except TypeError:  # nulls (or numbers) among them
                index.update(
                    (str(value).casefold(), row)
                    for row, value in zip(rows, values, strict=True)
                    if value is not None
                )
        return self._appended(rows)

    def update(self, row: int, values: dict[str, Any]) -> None:
        if self.journal is not None:
            previous = {name: self.columns[name][row] for name in values}
            self.journal.append(("update", self, row, previous))
        self._set(row, values)

    def purge(self, row: int) -> None:
        """Remove a (deleted) row for good, as a hard delete does."""
        if self.journal is not None:
            self.journal.append(("purge", self, row))
        self.purged.add(row)
        del self.index[self.columns["Id"][row][:15]]
        self.version += 1

    def undo(self, entry: JournalEntry) -> None:
        """Undo one journal entry of this table (the newest one not yet undone)."""
        kind, _, row = entry[:3]
        if kind == "update":
            self._set(row, entry[3])
        elif kind == "purge":
            self.purged.discard(row)
            self.index[self.columns["Id"][row][:15]] = row
            self.version += 1
        else:  # insert: the row is the table's last one, since entries are undone newest first
            assert row == len(self) - 1, "inserts are undone newest first"
            record_id = self.columns["Id"][row]
            for name, index in self.unique_indexes.items():
                value = self.columns[name][row]
                if value is not None and index.get(str(value).casefold()) == row:
                    del index[str(value).casefold()]
            for column in self.columns.values():
                column.pop()
            del self.index[record_id[:15]]
            if row in self.recent:
                self.recent.remove(row)
            self.version += 1

    def _set(self, row: int, values: dict[str, Any]) -> None:
        for name, value in values.items():
            old = self.columns[name][row]
            self.columns[name][row] = value
            index = self.unique_indexes.get(name)
            if index is not None and old is not None and index.get(str(old).casefold()) == row:
                del index[str(old).casefold()]
        self._index_unique(row, values)
        self._touch(row)

    def _index_unique(self, row: int, values: dict[str, Any]) -> None:
        for name, index in self.unique_indexes.items():
            value = values.get(name)
            if value is not None:
                index[str(value).casefold()] = row

    def _touch(self, row: int) -> None:
        self.version += 1
        if row in self.recent:
            self.recent.remove(row)
        self.recent.append(row)
        del self.recent[:-20]

    def children_by_parent(self, field_name: str) -> dict[str, list[int]]:
        """Rows of this table grouped by the id15 in lookup ``field_name`` (cached)."""
        cached = self._child_indexes.get(field_name)
        if cached is not None and cached[0] == self.version:
            return cached[1]
        grouped: dict[str, list[int]] = {}
        for row, parent_id in enumerate(self.columns[field_name]):
            if parent_id is not None:
                grouped.setdefault(parent_id[:15], []).append(row)
        self._child_indexes[field_name] = (self.version, grouped)
        return grouped


class Store:
    """All tables of the org, plus who the org and its users are."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.tables: dict[str, Table] = {}
        for sobject in schema.sobjects:
            self._add_table(Table(sobject))
        self._name_table: tuple[tuple[int, ...], Table] | None = None
        self.org_id = ""
        self.org_name = ""
        #: username (lower case) -> User row, for users who can log in.
        self.login_users: dict[str, int] = {}

    def _add_table(self, table: Table) -> None:
        table.owner = self
        self.tables[table.sobject.name.lower()] = table

    def name_table(self) -> Table:
        """The ``Name`` view: every record a polymorphic lookup can reach, one row each.

        Rebuilt when one of those tables changed since the last build, so What.Name and
        Who.Type read current values; deleted records are left out.
        """
        sources = [
            table
            for table in self.tables.values()
            if table.sobject.name in self._polymorphic_targets()
        ]
        versions = tuple(table.version for table in sources)
        if self._name_table is not None and self._name_table[0] == versions:
            return self._name_table[1]
        view = Table(name_sobject())
        view.owner = self
        columns: dict[str, list[Any]] = {name: [] for name in view.columns}
        for table in sources:
            rows = list(table.live_rows())
            name_field = table.sobject.name_field
            for name, column in columns.items():
                if name == "Type":
                    column.extend([table.sobject.name] * len(rows))
                    continue
                source_name = name_field.name if name == "Name" and name_field else name
                source = table.columns.get(source_name)
                column.extend([None] * len(rows) if source is None else [source[r] for r in rows])
        view.load(columns)
        self._name_table = (versions, view)
        return view

    def _polymorphic_targets(self) -> set[str]:
        return {
            target
            for sobject in self.schema.sobjects
            for f in sobject.fields
            if f.polymorphic
            for target in f.reference_to
        }

    def reshape(self) -> None:
        """Rebuild the tables after the schema changed (multi-currency); only while empty."""
        for sobject in self.schema.sobjects:
            table = self.tables.get(sobject.name.lower())
            if table is not None and len(table):
                raise RuntimeError("the schema can change only before records exist")
            self._add_table(Table(sobject))

    @property
    def multi_currency(self) -> bool:
        """Whether the org has multiple currencies (convertCurrency() is allowed)."""
        return "currencytype" in self.tables

    def table(self, sobject_name: str) -> Table | None:
        return self.tables.get(sobject_name.lower())

    @property
    def users(self) -> Table:
        return self.tables["user"]

    def user_row(self, username: str) -> int | None:
        return self.login_users.get(username.lower())

    def user_id(self, username: str) -> str:
        row = self.login_users[username.lower()]
        user_id: str = self.users.columns["Id"][row]
        return user_id

    def table_for_id(self, record_id: str) -> Table | None:
        sobject = self.schema.by_prefix(record_id[:3])
        return None if sobject is None else self.tables[sobject.name.lower()]

    def all_tables(self) -> Iterable[Table]:
        return self.tables.values()

    def transaction(self) -> Transaction:
        """Journal every write from now on until ``commit()`` or ``rollback()``."""
        return Transaction(self)


class Transaction:
    """Writes that can be undone together (one all-or-none request)."""

    def __init__(self, store: Store) -> None:
        if any(t.journal is not None for t in store.all_tables()):
            raise RuntimeError("a transaction is already open")
        self._store = store
        self._journal: list[JournalEntry] = []
        for table in store.all_tables():
            table.journal = self._journal

    def _close(self) -> None:
        for table in self._store.all_tables():
            table.journal = None

    def commit(self) -> None:
        """Keep the writes."""
        self._close()

    def rollback(self) -> None:
        """Undo every write made since the transaction began, newest first."""
        self._close()
        for entry in reversed(self._journal):
            entry[1].undo(entry)
        self._journal.clear()
