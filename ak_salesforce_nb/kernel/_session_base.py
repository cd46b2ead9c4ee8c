"""What `Session` and `AsyncSession` share: settings, tokens, URLs, answers, reprs.

Only the sending differs between the two (an `httpx.Client` or an `httpx.AsyncClient`),
so everything that does not send lives here, once.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import httpx

from ..core import _environment as environment
from ..core._constants import DEFAULT_HTTP_TIMEOUT
from ..core._store import ConnectionRecord, ConnectionStore
from . import _json
from ._api_errors import raise_for_salesforce_error
from ._auth import SalesforceAuth
from ._tokens import TokenProvider

__all__ = [
    "Engine",
    "QueryMethod",
    "SessionBase",
    "response_body",
]

QueryMethod = Literal["rest", "bulk", "auto"]
Engine = Literal["pandas", "polars"]
DEFAULT_BULK_THRESHOLD = 50_000
#: Rows up to which writes use sObject Collections (Salesforce's advice for synchronous calls).
DEFAULT_WRITE_THRESHOLD = 2_000
#: Rows past which a write in an interactive notebook asks for a yes first.
DEFAULT_CONFIRM_ABOVE = 10_000


def _open_store(
    store: ConnectionStore | None, store_path: str | os.PathLike[str] | None
) -> ConnectionStore:
    if store is not None:
        return store
    return ConnectionStore(os.fspath(store_path) if store_path is not None else None)


def response_body(response: httpx.Response) -> Any:
    """A checked answer's body: its JSON, its text when it is not JSON, None when empty."""
    if response.status_code == 204 or not response.content:
        return None
    if "json" in response.headers.get("Content-Type", "json"):
        return _json.loads(response.content)
    return response.text


class SessionBase:
    """The settings and helpers of a session on one connection (see `Session`)."""

    def __init__(
        self,
        name: str = "default",
        *,
        api_version: str | None = None,
        store: ConnectionStore | None = None,
        store_path: str | os.PathLike[str] | None = None,
        timeout: float = 120.0,
        http_timeout: float = DEFAULT_HTTP_TIMEOUT,
        parallel_pages: int = 4,
        bulk_threshold: int = DEFAULT_BULK_THRESHOLD,
        progress: bool | None = None,
        write_threshold: int = DEFAULT_WRITE_THRESHOLD,
        confirm_above: int = DEFAULT_CONFIRM_ABOVE,
    ) -> None:
        self.name = name
        self.store = _open_store(store, store_path)
        self.connection: ConnectionRecord = self.store.get_connection(name)
        self.api_version = (api_version or environment.api_version()).lstrip("v")
        self.timeout = timeout
        self.parallel_pages = max(1, parallel_pages)
        self.bulk_threshold = bulk_threshold
        self.progress = progress
        #: Rows up to which writes use sObject Collections (more: Bulk API 2.0).
        self.write_threshold = write_threshold
        #: Rows past which a write in an interactive notebook asks before writing.
        self.confirm_above = confirm_above
        #: The result frame of the last write (also after Ctrl-C).
        self.last_write: Any = None
        self.tokens = TokenProvider(self.store, name, http_timeout=http_timeout)
        self.tokens.current()  # fail early, clearly, if not connected
        self._describe_cache: dict[str, Any] = {}
        self.last_limit_info: str = ""

    @property
    def instance_url(self) -> str:
        return self.tokens.current().instance_url

    @property
    def base_path(self) -> str:
        return f"/services/data/v{self.api_version}/"

    def url(self, path: str) -> str:
        """The URL of `path`: relative to ``/services/data/vNN.N/``, absolute from the
        instance when it starts with ``/``, or a whole URL as it is."""
        if path.startswith(("http://", "https://")):
            return path
        if path.startswith("/"):
            return self.instance_url + path
        return self.instance_url + self.base_path + path.lstrip("/")

    def _checked(self, response: httpx.Response) -> httpx.Response:
        """`response`, after noting the API usage it reports; raises `SalesforceError`
        (the subclass for Salesforce's error code) when it is an error."""
        info = response.headers.get("Sforce-Limit-Info")
        if info:
            self.last_limit_info = info
        raise_for_salesforce_error(response)
        return response

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "auth": SalesforceAuth(self.tokens),
            "timeout": self.timeout,
            "headers": {"Accept": "application/json", "User-Agent": "ak_salesforce_nb"},
            "limits": httpx.Limits(max_connections=max(8, self.parallel_pages * 2)),
        }

    # -- reprs: never a token -------------------------------------------------------

    def __repr__(self) -> str:
        c = self.store.find_connection(self.name) or self.connection
        return (
            f"<{type(self).__name__} {self.name!r} {c.state} user={c.username!r} "
            f"org={c.organization_id!r} instance={c.instance_url!r} api=v{self.api_version}>"
        )

    def _repr_html_(self) -> str:
        from ._cards import connection_card
        from ._health import check_in_background

        # The card shows the last check with its age; a due check runs in the background
        # (never in the cell), and the next view shows it.
        check_in_background(self.store, self.name)
        record = self.store.find_connection(self.name) or self.connection
        return connection_card(record, api_usage=self.last_limit_info, kind=type(self).__name__)
