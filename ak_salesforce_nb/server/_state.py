"""What the extension's handlers share while the server runs, and how it is closed.

`ExtensionState` holds the redirect policy, the one-thread store executor, the
authorization service (which opens the store lazily, on that thread), the connection
checker (the truthful badge's server side, on threads of its own), the administrator's
presets (applied to the store first thing on the store thread) and the sweeper of
expired sign-in states. The `ExtensionApp` creates it when the server loads the extension
and closes it in `stop_extension`; the handlers find it in the tornado settings under
`STATE_KEY`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from pathlib import Path
from typing import Any, Protocol

from tornado.ioloop import PeriodicCallback

from ..core import _environment as environment
from ..core._connections import ConnectionDefaults
from ..core._exceptions import StoreClosedError, StoreError
from ..core._store import ConnectionStore, default_store_path
from ..core._validation import check_login_url, normalize_host_patterns, normalize_scopes
from ._authorization import AuthorizationService, run_on_store_thread
from ._health import ConnectionChecker
from ._presets import apply_presets, parse_presets
from ._redirect import HubInfo, RedirectPolicy

__all__ = ["STATE_KEY", "SWEEP_INTERVAL_MS", "ExtensionSettings", "ExtensionState"]

#: The tornado settings key of the `ExtensionState`. Not the extension's name: under that
#: key jupyter_server puts the `ExtensionApp` itself.
STATE_KEY = "ak_salesforce_nb_state"
#: How often expired sign-in states are deleted from the store.
SWEEP_INTERVAL_MS = 60_000


class ExtensionSettings(Protocol):
    """The configured values the state reads (the `SalesforceOAuth` app's traits)."""

    public_url: str
    redirect_uri: str
    use_hub_redirect: bool
    trust_forwarded_headers: bool
    default_login_url: str
    default_scopes: str
    allowed_login_hosts: list[str]
    state_ttl: float
    http_timeout: float
    api_version: str
    store_path: str
    store_timeout: float
    presets: dict[str, Any]
    check_interval: float
    check_timeout: float


class ExtensionState:
    """The settings, the redirect policy, the store executor, the service and the sweeper."""

    def __init__(self, config: ExtensionSettings, base_url: str, log: logging.Logger) -> None:
        self.config = config
        self.base_url = base_url
        self.log = log
        self.store_path = (
            Path(config.store_path).expanduser() if config.store_path else default_store_path()
        )
        self.policy = RedirectPolicy(
            base_url=base_url,
            public_url=config.public_url,
            redirect_uri=config.redirect_uri,
            hub=HubInfo.from_environ(),
            use_hub_redirect=config.use_hub_redirect,
        )
        allowed = normalize_host_patterns(config.allowed_login_hosts)
        # A default login host the policy refuses fails here, loudly, at load.
        self.defaults = ConnectionDefaults(
            login_url=check_login_url(config.default_login_url, allowed),
            scopes=normalize_scopes(config.default_scopes),
            allowed_login_hosts=allowed,
        )
        # The environment's presets, then the configuration's (which win by name); checked
        # here, their secret files read: a mistake stops the server loading, loudly.
        self.presets = parse_presets(
            {**environment.presets(), **dict(config.presets)}, self.defaults
        )
        self._service: AuthorizationService | None = None
        self._checker: ConnectionChecker | None = None
        self.closed = False
        # Store work waits on SQLite's lock at worst: one thread of its own, off the loop.
        self.store_executor = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="ak-salesforce-store"
        )
        self.sweeper = PeriodicCallback(self.sweep, SWEEP_INTERVAL_MS)

    def start(self) -> None:
        """Apply the presets (first in the store thread's queue, so every request sees
        them) and start sweeping expired sign-in states (on the server's event loop)."""
        if self.presets or self._may_hold_presets():
            self.store_executor.submit(self._apply_presets)
        self.sweeper.start()

    def _may_hold_presets(self) -> bool:
        """Whether the store may hold presets to retire (it exists). Without presets and
        without a store the server keeps opening the store lazily, on first use."""
        return self.store_path.exists()

    def _apply_presets(self) -> None:
        try:
            apply_presets(self.service.store, self.presets, self.log)
        except StoreError as exc:
            self.log.error("ak_salesforce_nb: the preset connections were not applied: %s", exc)

    @property
    def service(self) -> AuthorizationService:
        """The authorization service, opening the store on the calling thread if needed
        (handlers use `get_service`, which opens it on the store thread)."""
        if self.closed:
            raise StoreClosedError(str(self.store_path))
        if self._service is None:
            store = ConnectionStore(self.store_path, timeout=self.config.store_timeout)
            self._service = AuthorizationService(
                store,
                http_timeout=self.config.http_timeout,
                state_ttl=self.config.state_ttl,
                api_version=self.config.api_version,
                defaults=self.defaults,
                store_executor=self.store_executor,
            )
            self._checker = ConnectionChecker(
                store, interval=self.config.check_interval, timeout=self.config.check_timeout
            )
        return self._service

    @property
    def checker(self) -> ConnectionChecker:
        """The connection checker; it shares the service's store (opened with it)."""
        _ = self.service
        assert self._checker is not None
        return self._checker

    async def get_checker(self) -> ConnectionChecker:
        """The connection checker, the store opened on the store thread if need be."""
        await self.get_service()
        if self.closed:
            raise StoreClosedError(str(self.store_path))
        assert self._checker is not None
        return self._checker

    async def get_service(self) -> AuthorizationService:
        """The authorization service; the store opens (migrations, key, permission
        checks: all may wait) on the store thread. May raise a clear `StoreError`."""
        if self._service is not None and not self.closed:
            return self._service
        return await run_on_store_thread(
            self.store_executor, str(self.store_path), lambda: self.service
        )

    async def sweep(self) -> None:
        try:
            service = await self.get_service()
            removed = await service.in_store_thread(service.store.sweep_expired)
        except StoreError as exc:
            self.log.warning("Salesforce store sweep skipped: %s", exc)
            return
        if removed:
            self.log.debug("Swept %d expired Salesforce sign-in states", removed)

    async def aclose(self) -> None:
        """Stop the sweeper, let queued store calls finish, shut the store thread down and
        close the store; each step says so in the log. Calling it again does nothing.

        The server still answers requests while it stops its kernels: from now on they get
        a clear "shutting down". Store calls already queued finish (each bounded by the
        store's timeout) before the store closes under them.
        """
        if self.closed:
            return
        self.closed = True
        self.sweeper.stop()
        self.log.info("ak_salesforce_nb: stopped the sweeper of expired sign-in states")
        if self._checker is not None:
            self._checker.close()
        await asyncio.to_thread(self.store_executor.shutdown, wait=True)
        self.log.info("ak_salesforce_nb: store calls finished; store thread shut down")
        service, self._service = self._service, None
        if service is None:
            self.log.info("ak_salesforce_nb: the connection store was never opened")
            return
        service.store.close()
        self.log.info("ak_salesforce_nb: closed the connection store %s", self.store_path)
