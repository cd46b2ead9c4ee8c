"""What `Session` and `AsyncSession` share: settings, tokens, URLs, answers, reprs.

Only the sending differs between the two (an `httpx.Client` or an `httpx.AsyncClient`),
so everything that does not send lives here, once. That includes where the tokens come
from, resolved in this order (`resolve_tokens`):

1. the session's arguments (``auth_url=``, or ``client_id=`` with ``flow=``…);
2. the environment (``AK_SALESFORCE_NB_<NAME>_AUTH_URL``…, `kernel._headless`);
3. the store (the connect form, the server flow, `aksf.import_sf_cli`);
4. in a notebook, the connect form, shown for the person to authorize, and
   `NotConnected` saying to run the cell again; in a script, just the error.

Credentials from 1 and 2 stay in memory unless ``save=True`` (auth URLs only).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, Literal

import httpx

from ..core import _environment as environment
from ..core._constants import DEFAULT_HTTP_TIMEOUT
from ..core._exceptions import ConnectionNotFound, NotConnected, ReauthorizationRequired
from ..core._store import ConnectionRecord, ConnectionStore
from . import _json
from ._api_errors import raise_for_salesforce_error
from ._auth import SalesforceAuth
from ._headless import Credentials, CredentialsTokenProvider, from_arguments, from_environment
from ._tokens import StoreTokenProvider, TokenProvider

__all__ = [
    "Engine",
    "QueryMethod",
    "SessionBase",
    "in_notebook",
    "resolve_tokens",
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


def in_notebook() -> bool:
    """Whether this runs in an IPython kernel that a frontend talks to (JupyterLab, VS
    Code, Colab, nbclient), where a widget can be shown; not a script or a terminal."""
    module = sys.modules.get("IPython")
    shell = module.get_ipython() if module is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _ask_in_notebook(name: str, error: Exception) -> NotConnected:
    """Show the connect form for `name` and say to run the cell again once it is
    authorized (the error to raise, after the form is on screen)."""
    from IPython.display import display

    from ._form import ConnectForm

    display(ConnectForm(name))  # type: ignore[no-untyped-call]
    state = getattr(error, "state", "not configured")
    if isinstance(error, ConnectionNotFound):
        state = "not configured"
    elif isinstance(error, ReauthorizationRequired):
        state = "reauthorization required"
    needed = NotConnected(name, state)
    needed.args = (
        f"The Salesforce connection {name!r} is not connected ({state}). Authorize it in "
        "the form shown above, then run this cell again. To run without a person (CI, "
        f"papermill), set {environment.connection_variable(name, 'AUTH_URL')} or the "
        "client-credentials or JWT variables instead.",
    )
    return needed


def _not_found_note(name: str) -> str:
    return (
        f"To run without the store (CI, papermill, a scheduled job), set "
        f"{environment.connection_variable(name, 'AUTH_URL')} to an sfdx auth URL, or "
        f"{environment.connection_variable(name, 'FLOW')}=client_credentials|jwt with its "
        "variables."
    )


def resolve_tokens(
    name: str,
    *,
    arguments: Credentials | None,
    open_store: Callable[[], ConnectionStore],
    http_timeout: float,
    environ: Mapping[str, str] | None = None,
) -> TokenProvider:
    """The tokens of the connection `name`: from `arguments`, else the environment, else
    the store (`open_store()`), else (in a notebook) the connect form and `NotConnected`.

    The provider has its first token already: a connection that cannot work fails here,
    with the error that says what to do.
    """
    credentials = arguments or from_environment(name, environ)
    if credentials is not None:
        provider: TokenProvider = CredentialsTokenProvider(credentials, http_timeout=http_timeout)
        provider.current()
        return provider
    try:
        provider = StoreTokenProvider(open_store(), name, http_timeout=http_timeout)
        provider.current()
    except (ConnectionNotFound, NotConnected, ReauthorizationRequired) as exc:
        if in_notebook():
            raise _ask_in_notebook(name, exc) from None
        add_note = getattr(exc, "add_note", None)  # Python 3.11+
        if isinstance(exc, ConnectionNotFound) and add_note is not None:
            add_note(_not_found_note(name))
        raise
    return provider


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
        auth_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        login_url: str | None = None,
        flow: str | None = None,
        username: str | None = None,
        jwt_key_file: str | os.PathLike[str] | None = None,
        save: bool = False,
        tokens: TokenProvider | None = None,
    ) -> None:
        self.name = name
        self._store = store
        self._store_path = store_path
        if tokens is None:
            arguments = from_arguments(
                name,
                auth_url=auth_url,
                client_id=client_id,
                client_secret=client_secret,
                login_url=login_url,
                flow=flow,
                username=username,
                jwt_key_file=jwt_key_file,
            )
            tokens = resolve_tokens(
                name, arguments=arguments, open_store=lambda: self.store, http_timeout=http_timeout
            )
        if save and isinstance(tokens, CredentialsTokenProvider):
            from ._interop import save_credentials

            save_credentials(self.store, tokens)
            tokens = StoreTokenProvider(self.store, name, http_timeout=http_timeout)
        #: Where the tokens come from (`TokenProvider`: the store, the environment, arguments).
        self.tokens: TokenProvider = tokens
        self.connection: ConnectionRecord = tokens.record()
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
        self.tokens.current()  # fail early, clearly, if not connected
        self._describe_cache: dict[str, Any] = {}
        self.last_limit_info: str = ""

    @property
    def store(self) -> ConnectionStore:
        """The connection store, opened when first needed: a session on credentials from
        the environment never opens it (nor creates its file) unless something asks."""
        if self._store is None:
            self._store = _open_store(None, self._store_path)
        return self._store

    @property
    def source(self) -> str:
        """Where the session's credentials come from: store, environment or arguments."""
        return self.tokens.source

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

    def connection_record(self) -> ConnectionRecord:
        """The connection as it stands now, for a card, a summary or a repr (never a
        secret): the store's record, or for credentials from the environment or the
        arguments their own, without opening (or creating) the store."""
        if isinstance(self.tokens, StoreTokenProvider):
            return self.tokens.store.find_connection(self.name) or self.connection
        return self.tokens.record()

    def __repr__(self) -> str:
        c = self.connection_record()
        return (
            f"<{type(self).__name__} {self.name!r} {c.state} user={c.username!r} "
            f"org={c.organization_id!r} instance={c.instance_url!r} api=v{self.api_version}>"
        )

    def _repr_html_(self) -> str:
        from ._cards import connection_card
        from ._health import check_in_background

        # The card shows the last check with its age; a due check runs in the background
        # (never in the cell), and the next view shows it. Credentials that are not in
        # the store were checked when they last got a token.
        if isinstance(self.tokens, StoreTokenProvider):
            check_in_background(self.tokens.store, self.name)
        record = self.connection_record()
        return connection_card(record, api_usage=self.last_limit_info, kind=type(self).__name__)
