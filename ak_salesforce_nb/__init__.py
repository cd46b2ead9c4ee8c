"""Salesforce in Jupyter, through your own OAuth app.

In a notebook::

    import ak_salesforce_nb as aksf
    aksf.connect("prod")              # a form: Client ID, Client Secret, login host, Authorize
    sf = aksf.session("prod")         # once connected
    sf.query("SELECT Name, Industry FROM Account LIMIT 5")

The server side (OAuth start and callback, the REST API) is a jupyter-server extension
enabled on install. Importing this package stays light: pandas, ipywidgets and the
session load when first used.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .core._constants import DEFAULT_API_VERSION
from .core._exceptions import (
    AuthorizationCancelled,
    AuthorizationDenied,
    AuthorizationExpired,
    AuthorizationStateError,
    BulkJobFailed,
    ConfigurationError,
    ConnectionNotFound,
    CredentialsRefused,
    FlowNotEnabled,
    InvalidField,
    InvalidType,
    MalformedQuery,
    NotConnected,
    OAuthError,
    PartialReportWarning,
    PresetLocked,
    ReauthorizationRequired,
    RecordNotFound,
    ReportError,
    RequestLimitExceeded,
    SalesforceCliError,
    SalesforceError,
    SalesforceNotebookError,
    SecretWarning,
    SessionExpired,
    SignatureMismatch,
    StoreClosedError,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
    StorePermissionError,
    TokenEndpointUnavailable,
    TokenRequestError,
    WriteCancelled,
    WriteFailed,
    WriteInterrupted,
)

if TYPE_CHECKING:
    from .core._store import ConnectionRecord
    from .kernel._async_session import AsyncSession
    from .kernel._explorer import Explorer
    from .kernel._form import ConnectForm
    from .kernel._search import SearchResult
    from .kernel._session import Session
    from .pubsub import PubSubError, PubSubUnavailable, ReplayIdInvalid, TopicNotFound

__all__ = [
    "DEFAULT_API_VERSION",
    "AsyncSession",
    "AuthorizationCancelled",
    "AuthorizationDenied",
    "AuthorizationExpired",
    "AuthorizationStateError",
    "BulkJobFailed",
    "ConfigurationError",
    "ConnectForm",
    "ConnectionNotFound",
    "CredentialsRefused",
    "Explorer",
    "FlowNotEnabled",
    "InvalidField",
    "InvalidType",
    "MalformedQuery",
    "NotConnected",
    "OAuthError",
    "PartialReportWarning",
    "PresetLocked",
    "PubSubError",
    "PubSubUnavailable",
    "ReauthorizationRequired",
    "RecordNotFound",
    "ReplayIdInvalid",
    "ReportError",
    "RequestLimitExceeded",
    "SalesforceCliError",
    "SalesforceError",
    "SalesforceNotebookError",
    "SearchResult",
    "SecretWarning",
    "Session",
    "SessionExpired",
    "SignatureMismatch",
    "StoreClosedError",
    "StoreCorruptError",
    "StoreError",
    "StoreLockedError",
    "StorePermissionError",
    "TokenEndpointUnavailable",
    "TokenRequestError",
    "TopicNotFound",
    "WriteCancelled",
    "WriteFailed",
    "WriteInterrupted",
    "__version__",
    "async_session",
    "connect",
    "explore",
    "export_auth_url",
    "import_sf_cli",
    "login",
    "session",
]


# The connection a `%%soql` without ``-c`` uses: the last one a cell named (see `_magic`).
_last_connection: str | None = None


def _remember(name: str) -> None:
    global _last_connection
    _last_connection = name


def connect(
    name: str = "default",
    *,
    login_url: str | None = None,
    client_id: str | None = None,
    scopes: str | list[str] | None = None,
    flow: str | None = None,
    **options: Any,
) -> ConnectForm:
    """The connect form for the connection `name`; it shows itself as a cell's result.

    `flow`: ``"server"`` (the browser sign-in through this Jupyter server's extension),
    ``"device"`` (a code typed on Salesforce's verification page) or ``"paste"`` (paste
    back the address the browser lands on); None picks the server flow where the
    extension answers, else offers the other two and says why.
    `options` go to `ConnectForm` (e.g. ``enhanced=False`` for the plain-widget form).
    """
    from .kernel._form import ConnectForm

    if flow is not None:
        options["flow"] = flow
    form = ConnectForm(name, login_url=login_url, client_id=client_id, scopes=scopes, **options)
    _remember(name)
    return form


def login(name: str = "default", **options: Any) -> Session:
    """Authorize `name` without widgets (terminals, IPython, scripts), blocking; a
    `Session` on it. ``flow="device"`` (default) or ``"paste"``; ``client_id``,
    ``client_secret`` (empty: a public client), ``login_url``, ``scopes``, ``on_code``
    (called with the verification URI and the user code; default: print them),
    ``redirect_uri`` (the paste-back flow's callback address). See `kernel._login.login`."""
    from .kernel._login import login as _login

    opened = _login(name, **options)
    _remember(name)
    return opened


def session(name: str = "default", **options: Any) -> Session:
    """An authorized session on the connection `name`: queries to DataFrames, describe,
    records, Bulk API 2.0. Options: ``api_version``, ``timeout``, ``parallel_pages``,
    ``bulk_threshold``, ``progress`` (see `Session` for each).

    Credentials are looked for in this order: the arguments (``auth_url=`` an sfdx auth
    URL; or ``flow="client_credentials"`` with ``client_id=``, ``client_secret=``,
    ``login_url=``; or ``flow="jwt"`` with ``client_id=``, ``username=``,
    ``jwt_key_file=``, ``login_url=``), then the environment
    (``AK_SALESFORCE_NB_<NAME>_AUTH_URL``, or ``…_FLOW`` with the same fields), then the
    store; in a notebook the connect form is shown when none works. Credentials from
    the arguments or the environment stay in memory unless ``save=True`` (an auth URL
    only: the other two flows have no refresh token to keep)."""
    from .kernel._session import Session

    opened = Session(name, **options)
    _remember(name)
    _complete_soql_strings()
    return opened


def async_session(name: str = "default", **options: Any) -> AsyncSession:
    """The `await`-able session: ``query``, ``query_pages``, ``query_records``,
    ``describe``, ``limits`` and raw ``get``/``post``/``patch``/``delete``; same options
    as `session`."""
    from .kernel._async_session import AsyncSession

    opened = AsyncSession(name, **options)
    _remember(name)
    _complete_soql_strings()
    return opened


def _complete_soql_strings() -> None:
    # In a notebook, `sf.query("SELECT …")` strings complete from the org's metadata
    # once a session exists, without `%load_ext` (see kernel/_soql_completer). Outside
    # IPython (a script, a CI job) the completer is not even imported.
    if "IPython" not in sys.modules:
        return
    from .kernel._soql_completer import register_in_running_shell

    register_in_running_shell()


def explore(name: str = "default", **options: Any) -> Explorer:
    """A widget to browse the org's objects and fields and preview rows."""
    from .kernel._explorer import Explorer

    explorer = Explorer(name, **options)
    _remember(name)
    return explorer


def import_sf_cli(
    alias_or_username: str, name: str | None = None, **options: Any
) -> ConnectionRecord:
    """Save an org the Salesforce CLI authorized (``sf org display --verbose --json``) in
    the store as the connection `name` (default: the alias); the connection's record.
    Options: ``store``, ``sf_command``, ``timeout``."""
    from .kernel._interop import import_sf_cli as _import

    record = _import(alias_or_username, name, **options)
    _remember(record.name)
    return record


def export_auth_url(name: str = "default", **options: Any) -> str:
    """The sfdx auth URL of the stored connection `name` (for a CI secret such as
    ``AK_SALESFORCE_NB_<NAME>_AUTH_URL``), with a `SecretWarning`: it holds the refresh
    token. Its repr hides it; ``print()`` shows it."""
    from .kernel._interop import export_auth_url as _export

    return _export(name, **options)


def __getattr__(attr: str) -> Any:
    # The classes load on first use, keeping `import ak_salesforce_nb` light.
    lazy = {
        "Session": ".kernel._session",
        "AsyncSession": ".kernel._async_session",
        "ConnectForm": ".kernel._form",
        "Explorer": ".kernel._explorer",
        "SearchResult": ".kernel._search",
        # The Pub/Sub errors need grpc, an optional extra: import them only when asked.
        "PubSubError": ".pubsub",
        "PubSubUnavailable": ".pubsub",
        "ReplayIdInvalid": ".pubsub",
        "TopicNotFound": ".pubsub",
    }
    if attr in lazy:
        import importlib

        return getattr(importlib.import_module(lazy[attr], __name__), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


# -- Jupyter entry points ---------------------------------------------------------------


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    # The ExtensionApp is imported here, when jupyter-server asks: `import ak_salesforce_nb`
    # in a kernel must not pull in tornado or jupyter_server.
    from .server._app import SalesforceOAuth

    return [{"module": "ak_salesforce_nb", "app": SalesforceOAuth}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "ak-salesforce-nb"}]


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext ak_salesforce_nb`: the `%%soql` and `%soql` magics."""
    from .kernel._magic import register_magics

    register_magics(ipython)
