"""The server's side of the truthful badge: check a connection against Salesforce.

The side panel asks `POST {base}ak-salesforce/api/connections/NAME/check`; the handler
calls `ConnectionChecker.check`, which runs `core._check.check_connection` (the identity
call, a refresh under the store's cross-process lock if the access token was refused)
on a small thread pool of its own: not the event loop, which serves every other request,
and not the one store thread, which a slow Salesforce must not hold up. The store's claim
makes the panel, the notebooks' forms and other tabs share one check per connection.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools

import httpx

from ..core._check import MIN_CHECK_INTERVAL, CheckResult, check_connection
from ..core._exceptions import StoreClosedError
from ..core._refresh import refresh_tokens
from ..core._store import ConnectionStore, StoredTokens
from ..core._tls import verify_for

__all__ = ["ConnectionChecker"]


class ConnectionChecker:
    """Runs checks for the handlers, `interval` apart unless forced (a Test button)."""

    def __init__(
        self,
        store: ConnectionStore,
        *,
        interval: float,
        timeout: float,
        min_interval: float = MIN_CHECK_INTERVAL,
        transport: httpx.BaseTransport | None = None,
        threads: int = 4,
    ) -> None:
        self.store = store
        self.interval = max(interval, min_interval)
        self.min_interval = min_interval
        self.timeout = timeout
        self._transport = transport
        self._executor = concurrent.futures.ThreadPoolExecutor(
            threads, thread_name_prefix="ak-salesforce-check"
        )

    def check_here(self, name: str, *, force: bool = False) -> CheckResult:
        """The check, on the calling thread (blocks up to about three times `timeout`)."""
        with httpx.Client(
            timeout=self.timeout,
            transport=self._transport,
            verify=verify_for(self._transport),
            follow_redirects=False,
        ) as client:

            def refresh(stale: StoredTokens) -> StoredTokens:
                return refresh_tokens(self.store, name, stale, client=client).tokens

            return check_connection(
                self.store,
                name,
                client=client,
                refresh=refresh,
                max_age=self.min_interval if force else self.interval,
            )

    async def check(self, name: str, *, force: bool = False) -> CheckResult:
        """`check_here` off the event loop; `StoreClosedError` once the server stops."""
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(
                self._executor, functools.partial(self.check_here, name, force=force)
            )
        except RuntimeError:
            raise StoreClosedError(str(self.store.path)) from None
        return await future

    def close(self) -> None:
        """No new checks; those running end on their own timeouts (not waited for)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
