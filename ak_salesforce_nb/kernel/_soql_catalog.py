"""The org's object and field names for completion: describe, cached on disk, never waited on.

Completion runs on every Tab press in the kernel's shell thread, so it must answer from
what is already known. A `Catalog` keeps the global describe and each object's describe
in memory and on disk (one small JSON file each, beside the connection store, per
connection and instance), so a new kernel completes at once. What is missing is fetched
by one background thread; a completion waits for it at most `budget` seconds (default
0.15) and otherwise answers what it has. A file read from disk is revalidated once per
kernel with ``If-Modified-Since``: a 304 keeps it, an answer replaces it.

Only what completion and inspection use is kept (names, labels, types, relationships,
picklist values, help text): the files stay small and hold no record data.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

__all__ = ["Catalog", "DescribeSource", "catalog_for", "trim_describe", "trim_global"]

DEFAULT_BUDGET = 0.15
_GLOBAL = ""  # the key of the global describe
_FIELD_KEYS = (
    "name",
    "label",
    "type",
    "relationshipName",
    "referenceTo",
    "inlineHelpText",
    "length",
    "nillable",
    "custom",
    "externalId",
    "filterable",
    "groupable",
    "sortable",
    "calculated",
)


class DescribeSource(Protocol):
    """What a catalog needs of a session: a name, an instance and raw GETs."""

    name: str

    @property
    def instance_url(self) -> str: ...

    def send(self, method: str, path: str, **kwargs: Any) -> Any: ...


def trim_global(body: dict[str, Any]) -> dict[str, Any]:
    keep = ("name", "label", "labelPlural", "queryable", "custom", "keyPrefix")
    return {
        "sobjects": [
            {k: o.get(k) for k in keep}
            for o in body.get("sobjects", [])
            if isinstance(o, dict) and o.get("name")
        ]
    }


def trim_describe(body: dict[str, Any]) -> dict[str, Any]:
    fields = []
    for f in body.get("fields", []):
        if not isinstance(f, dict) or not f.get("name"):
            continue
        kept = {k: f.get(k) for k in _FIELD_KEYS if f.get(k) not in (None, "", [])}
        values = [
            {"value": v.get("value"), "label": v.get("label"), "active": v.get("active", True)}
            for v in f.get("picklistValues") or []
            if isinstance(v, dict)
        ]
        if values:
            kept["picklistValues"] = values
        fields.append(kept)
    children = [
        {k: c.get(k) for k in ("relationshipName", "childSObject", "field")}
        for c in body.get("childRelationships", [])
        if isinstance(c, dict) and c.get("relationshipName")
    ]
    return {
        "name": body.get("name"),
        "label": body.get("label"),
        "fields": fields,
        "childRelationships": children,
    }


class _Entry:
    __slots__ = ("body", "revalidated", "stamp")

    def __init__(self, body: dict[str, Any], stamp: str, revalidated: bool) -> None:
        self.body = body
        self.stamp = stamp  # the If-Modified-Since to send next time
        self.revalidated = revalidated


class Catalog:
    """Describe metadata of one connection, for completion (see the module docstring)."""

    def __init__(self, source: DescribeSource, directory: Path, *, budget: float = DEFAULT_BUDGET):
        self.source = source
        self.directory = directory
        self.budget = budget
        self._entries: dict[str, _Entry] = {}
        self._pending: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aksf-describe")
        #: The last background error (a revoked token, the org unreachable), for the user.
        self.last_error: Exception | None = None
        #: What the completer derives from the metadata, kept while the metadata is.
        self.memo: dict[Any, Any] = {}

    def __repr__(self) -> str:
        return f"<Catalog {self.source.name!r} {len(self._entries)} described>"

    # -- what completion asks -------------------------------------------------------------

    def objects(self, *, wait: float | None = None) -> list[dict[str, Any]] | None:
        """The org's objects (name, label, queryable, custom), or None if not known yet."""
        body = self._get(_GLOBAL, wait)
        return None if body is None else list(body.get("sobjects", []))

    def objects_body(self) -> dict[str, Any] | None:
        """The global describe held in memory now (no fetch): its identity changes when
        it is replaced, which keys the completer's memo."""
        with self._lock:
            entry = self._entries.get(_GLOBAL)
        return None if entry is None else entry.body

    def describe(self, sobject: str, *, wait: float | None = None) -> dict[str, Any] | None:
        """`sobject`'s trimmed describe (fields, child relationships), or None."""
        return self._get(self._key(sobject), wait, sobject)

    def resolve(self, sobject: str) -> str | None:
        """The object's name as the org spells it (SOQL names are case-insensitive)."""
        objects = self.objects(wait=0)
        if objects is None:
            return sobject
        lowered = sobject.lower()
        for entry in objects:
            if str(entry.get("name", "")).lower() == lowered:
                return str(entry["name"])
        return None

    def prefetch(self, *sobjects: str) -> None:
        """Start fetching, without waiting (the explorer and the magic call this)."""
        self._get(_GLOBAL, 0)
        for name in sobjects:
            self._get(self._key(name), 0, name)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait for the background fetches (tests and the benchmark)."""
        with self._lock:
            pending = list(self._pending.values())
        for future in pending:
            with contextlib.suppress(Exception):
                future.result(timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- memory, disk, network ----------------------------------------------------------

    @staticmethod
    def _key(sobject: str) -> str:
        return sobject.lower()

    def _get(self, key: str, wait: float | None, name: str = "") -> dict[str, Any] | None:
        budget = self.budget if wait is None else wait
        with self._lock:
            entry = self._entries.get(key)
        if entry is None:
            entry = self._load(key)
            if entry is not None:
                with self._lock:
                    self._entries.setdefault(key, entry)
        if entry is not None:
            if not entry.revalidated:
                self._schedule(key, name)
            return entry.body
        future = self._schedule(key, name)
        if budget > 0:
            with contextlib.suppress(Exception):
                future.result(budget)
        with self._lock:
            found = self._entries.get(key)
        return None if found is None else found.body

    def _schedule(self, key: str, name: str) -> Future[None]:
        with self._lock:
            future = self._pending.get(key)
            if future is None:
                future = self._pool.submit(self._fetch, key, name)
                self._pending[key] = future
                future.add_done_callback(functools.partial(self._done, key))
            return future

    def _done(self, key: str, _future: Future[None]) -> None:
        with self._lock:
            self._pending.pop(key, None)

    def _fetch(self, key: str, name: str) -> None:
        with self._lock:
            known = self._entries.get(key)
        headers = {"If-Modified-Since": known.stamp} if known is not None else {}
        path = "sobjects/" if key == _GLOBAL else f"sobjects/{quote(name or key)}/describe"
        stamp = format_datetime(datetime.now(timezone.utc), usegmt=True)
        try:
            response = self.source.send("GET", path, headers=headers)
        except Exception as error:
            self.last_error = error
            if known is not None:
                known.revalidated = True  # keep the disk copy; do not retry on every Tab
            raise
        if response.status_code == 304 and known is not None:
            known.revalidated = True
            return
        raw = response.json()
        body = trim_global(raw) if key == _GLOBAL else trim_describe(raw)
        stamp = response.headers.get("Last-Modified") or stamp
        with self._lock:
            self._entries[key] = _Entry(body, stamp, revalidated=True)
        self._save(key, body, stamp)

    def _file(self, key: str) -> Path:
        return self.directory / (f"{key or '_global'}.json")

    def _load(self, key: str) -> _Entry | None:
        try:
            data = json.loads(self._file(key).read_text(encoding="utf-8"))
            body, stamp = data["body"], data["stamp"]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or unreadable: fetch it again
        if not isinstance(body, dict) or not isinstance(stamp, str):
            return None
        return _Entry(body, stamp, revalidated=False)

    def _save(self, key: str, body: dict[str, Any], stamp: str) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"stamp": stamp, "body": body}, handle, separators=(",", ":"))
            os.replace(temporary, self._file(key))
        except OSError:
            pass  # a read-only home: completion still works from memory


_catalogs: dict[tuple[str, str, str], Catalog] = {}
_catalogs_lock = threading.Lock()


def cache_directory(source: DescribeSource) -> Path:
    """Per connection and instance, beside the connection store."""
    from ..core._store import default_store_path

    digest = hashlib.sha256(f"{source.name}\0{source.instance_url}".encode()).hexdigest()[:20]
    return default_store_path().parent / "describe-cache" / digest


def catalog_for(source: DescribeSource) -> Catalog:
    """The kernel's one catalog for `source`'s connection and instance."""
    directory = cache_directory(source)
    key = (str(directory), source.name, source.instance_url)
    with _catalogs_lock:
        catalog = _catalogs.get(key)
        if catalog is None:
            catalog = _catalogs[key] = Catalog(source, directory)
        else:
            catalog.source = source  # the newest session's HTTP client
        return catalog
