"""Everything one running emulator holds, shared by its request handlers."""

from __future__ import annotations

import asyncio
import datetime
import threading
import time
from collections.abc import Iterator, MutableMapping

from ._bulk import BulkJobs
from ._bulk_v1 import V1Jobs
from ._config import EmulatorConfig
from ._cursors import CursorStore
from ._data import populate
from ._device import DeviceFlows
from ._faults import FaultPlan
from ._grants import CertificateCache
from ._ingest import IngestJobs
from ._oauth import OAuthState
from ._oidc import OidcKeys
from ._records import RecordService
from ._schema import build_schema
from ._store import Store

__all__ = ["TOKEN_FAULTS", "EmulatorState", "Stats"]

STAT_NAMES = (
    "token_requests",
    "code_grants",
    "refresh_grants",
    "userinfo_requests",
    "api_requests",
    "revocations",
    "device_requests",
    "device_grants",
    "client_credentials_grants",
    "jwt_bearer_grants",
)
TOKEN_FAULTS = (None, "slow", "500", "garbage", "bad_signature", "invalid_grant")


class Stats(MutableMapping[str, int]):
    """Request counters, readable (and resettable) from any thread while the loop counts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(STAT_NAMES, 0)

    def increment(self, name: str) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + 1

    def reset(self) -> None:
        """Set every counter back to 0."""
        with self._lock:
            for name in self._counts:
                self._counts[name] = 0

    def clear(self) -> None:
        self.reset()

    def __getitem__(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def __setitem__(self, name: str, value: int) -> None:
        with self._lock:
            self._counts[name] = value

    def __delitem__(self, name: str) -> None:
        """Counters cannot disappear: deleting one sets it to 0."""
        self[name] = 0

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._counts))

    def __len__(self) -> int:
        return len(self._counts)

    def __repr__(self) -> str:
        with self._lock:
            return f"Stats({self._counts!r})"


class EmulatorState:
    """The org (schema, records), the identity provider, and the test controls."""

    def __init__(self, config: EmulatorConfig) -> None:
        config.validate()
        self.config = config
        self.schema = build_schema(config.extra_objects)
        self.store = Store(self.schema)
        populate(self.store, config)
        self.oauth = OAuthState(config, self.store.org_id[:15], set(self.store.login_users))
        #: Device flow authorizations (codes, user codes, decisions); they build on `oauth`.
        self.devices = DeviceFlows(config, self.oauth)
        #: The app's certificate for JWT bearer assertions (``config.jwt_cert``).
        self.certificates = CertificateCache()
        #: The OpenID Connect signing key (made on first use) and its JWKS.
        self.oidc = OidcKeys()
        self.faults = FaultPlan()
        self.records = RecordService(self.store, config, self.faults)
        self.cursors = CursorStore(config.max_open_cursors)
        self.bulk = BulkJobs()
        self.ingest = IngestJobs()
        #: Bulk API 1.0 jobs (``/services/async``), with their batches.
        self.bulk_v1 = V1Jobs()
        #: Bulk API batches used: an ingest job's chunks count as Salesforce counts them.
        self.bulk_batches_used = 0
        self.stats = Stats()
        self.base_url = ""
        self.api_usage = 0
        self.bulk_jobs_created = 0
        self.token_fault: str | None = None
        self.slow_seconds = 30.0
        self.started = time.time()
        #: Set when the emulator stops, so that "slow" token requests end at once.
        self.stopping = threading.Event()
        self._loop_stop_event: asyncio.Event | None = None
        self.describe_cache: dict[str, bytes] = {}

    def loop_stop_event(self) -> asyncio.Event:
        """An asyncio twin of ``stopping`` for the serving loop (made on first use)."""
        if self._loop_stop_event is None:
            self._loop_stop_event = asyncio.Event()
            if self.stopping.is_set():
                self._loop_stop_event.set()
        return self._loop_stop_event

    def signal_stop(self) -> None:
        """Mark the emulator as stopping; call on the serving loop."""
        self.stopping.set()
        if self._loop_stop_event is not None:
            self._loop_stop_event.set()

    @property
    def org_id(self) -> str:
        return self.store.org_id

    def identity_url(self, username: str) -> str:
        return f"{self.base_url}/id/{self.store.org_id}/{self.store.user_id(username)}"

    @staticmethod
    def today() -> datetime.date:
        return datetime.datetime.now(datetime.timezone.utc).date()
