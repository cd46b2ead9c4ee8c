"""Every error this package raises, in one tree.

```
SalesforceNotebookError
├── ConfigurationError          bad input from the user: connection name, login URL, scopes
│   └── PresetLocked            the app fields of an administrator's preset cannot change
├── StoreError                  the connection store cannot be used
│   ├── StoreCorruptError       the file is not a readable store (names the file)
│   ├── StorePermissionError    the file or its folder is open to other users
│   ├── StoreLockedError        another process held the store past the timeout
│   └── StoreClosedError        the server is shutting down and closed its store
├── ConnectionNotFound          no connection of that name in the store
├── SalesforceCliError          `sf` (the Salesforce CLI) is missing or could not give an org
├── ReportError                 a report not found (close matches named), or not runnable as asked
├── NotConnected                the connection has no tokens yet: authorize it first
├── OAuthError                  the OAuth 2.0 protocol failed (carries `error`, `description`)
│   ├── AuthorizationStateError unknown, expired or already used `state`
│   ├── TokenRequestError       the token endpoint answered an OAuth error (400/401)
│   │   └── CredentialsRefused  …for credentials from the environment or arguments
│   ├── TokenEndpointUnavailable timeout, connection refused, 5xx or garbage
│   ├── SignatureMismatch       the token answer's `signature` is wrong: tampered
│   ├── AuthorizationDenied     the person chose Deny on Salesforce's page
│   ├── AuthorizationExpired    a device code or sign-in link expired unapproved
│   ├── AuthorizationCancelled  the person cancelled a waiting sign-in
│   ├── FlowNotEnabled          the app is not enabled for this flow (device flow off)
│   └── ReauthorizationRequired the refresh token is revoked or expired
└── SalesforceError             a REST or Bulk API call failed (status, error_code, message, fields)
    ├── SessionExpired          401 INVALID_SESSION_ID that a refresh could not cure
    ├── MalformedQuery          400 MALFORMED_QUERY
    ├── InvalidField            400 INVALID_FIELD
    ├── InvalidType             400 INVALID_TYPE
    ├── RecordNotFound          404 NOT_FOUND
    ├── RequestLimitExceeded    403 REQUEST_LIMIT_EXCEEDED
    ├── BulkJobFailed           a Bulk API 2.0 job ended Failed or Aborted
    └── WriteFailed             rows of a write failed and the caller asked to raise (`result`)
WriteCancelled (a SalesforceNotebookError) a write's confirmation was answered no
WriteInterrupted (a KeyboardInterrupt)    Ctrl-C during a write; jobs aborted, `result` kept
SecretWarning (a UserWarning)             a call handed out a secret (aksf.export_auth_url)
PartialReportWarning (a UserWarning)      a report frame holds fewer rows than the report

PubSubError (in ak_salesforce_nb.pubsub; needs the [pubsub] extra), a SalesforceNotebookError
├── TopicNotFound               no such topic, or no access to it
├── ReplayIdInvalid             the replay id is unknown or too old to resume from
└── PubSubUnavailable           the Pub/Sub API could not be reached or kept refusing
```

Messages are written for the person at the notebook: what happened and what to do next.
No exception ever carries a secret or a token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "AuthorizationCancelled",
    "AuthorizationDenied",
    "AuthorizationExpired",
    "AuthorizationStateError",
    "BulkJobFailed",
    "ConfigurationError",
    "ConnectionNotFound",
    "CredentialsRefused",
    "FlowNotEnabled",
    "InvalidField",
    "InvalidType",
    "MalformedQuery",
    "NotConnected",
    "OAuthError",
    "PartialReportWarning",
    "PresetLocked",
    "ReauthorizationRequired",
    "RecordNotFound",
    "ReportError",
    "RequestLimitExceeded",
    "SalesforceCliError",
    "SalesforceError",
    "SalesforceNotebookError",
    "SecretWarning",
    "SessionExpired",
    "SignatureMismatch",
    "StoreClosedError",
    "StoreCorruptError",
    "StoreError",
    "StoreLockedError",
    "StorePermissionError",
    "TokenEndpointUnavailable",
    "TokenRequestError",
    "WriteCancelled",
    "WriteFailed",
    "WriteInterrupted",
]


class SalesforceNotebookError(Exception):
    """Base class of every error raised by ak_salesforce_nb."""


class ConfigurationError(SalesforceNotebookError, ValueError):
    """A setting given by the user is not acceptable; the message says which and why."""


class PresetLocked(ConfigurationError):
    """A change to the app fields of a connection the administrator set up (a preset).

    A `ConfigurationError`, so whoever handles bad settings handles it; the REST API
    answers it with 409 Conflict rather than 400: the request is well formed, the
    connection is just not the user's to change.
    """

    def __init__(self, name: str, fields: list[str]) -> None:
        super().__init__(
            f"The connection {name!r} was set up by your administrator, so its "
            f"{', '.join(fields)} cannot be changed here. Click Authorize to connect "
            "with it; to change the app, ask your administrator."
        )
        self.name = name
        self.fields = fields


class StoreError(SalesforceNotebookError):
    """The connection store cannot be used."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class StoreCorruptError(StoreError):
    """The store file exists but is not a readable store."""


class StorePermissionError(StoreError):
    """The store or its folder can be read by other users, or cannot be read by us."""


class StoreLockedError(StoreError):
    """Another process kept the store locked for longer than the timeout."""


class StoreClosedError(StoreError):
    """The Jupyter server is shutting down and has closed its store."""

    def __init__(self, path: str) -> None:
        super().__init__(
            "Jupyter is shutting down, so the Salesforce connection store is closed. "
            "Try again once the server is back.",
            path=path,
        )


class ConnectionNotFound(SalesforceNotebookError, KeyError):
    """No connection of this name exists in the store."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return (
            f"There is no Salesforce connection named {self.name!r}. "
            f"Create it with aksf.connect({self.name!r}) or in the Salesforce side panel."
        )


class NotConnected(SalesforceNotebookError):
    """The connection exists but has not been authorized."""

    def __init__(self, name: str, state: str) -> None:
        super().__init__(
            f"The Salesforce connection {name!r} is not connected (state: {state}). "
            f"Run aksf.connect({name!r}) and click Authorize."
        )
        self.name = name
        self.state = state


class OAuthError(SalesforceNotebookError):
    """An OAuth 2.0 step failed.

    `error` is the protocol's error code (``invalid_grant``, ``access_denied``, …) and
    `description` its human text, both as Salesforce sent them (never HTML-rendered).
    """

    def __init__(self, message: str, *, error: str = "", description: str = "") -> None:
        super().__init__(message)
        self.error = error
        self.description = description


class AuthorizationStateError(OAuthError):
    """The `state` of a callback is unknown, expired or already used."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, error="invalid_state")
        self.reason = reason


class TokenRequestError(OAuthError):
    """The token endpoint refused the request with an OAuth error body."""

    def __init__(
        self, message: str, *, error: str, description: str = "", status_code: int = 400
    ) -> None:
        super().__init__(message, error=error, description=description)
        self.status_code = status_code


class TokenEndpointUnavailable(OAuthError):
    """The token endpoint timed out, was unreachable, answered 5xx or something unreadable."""


class SignatureMismatch(OAuthError):
    """The token answer's HMAC signature does not match: the answer was tampered with."""


class ReauthorizationRequired(OAuthError):
    """The refresh token no longer works: the user must authorize again."""

    def __init__(self, name: str, description: str = "") -> None:
        super().__init__(
            f"The Salesforce connection {name!r} must be authorized again: its refresh token "
            f"was revoked or has expired ({description or 'invalid_grant'}). "
            f"Run aksf.connect({name!r}) and click Authorize.",
            error="invalid_grant",
            description=description,
        )
        self.name = name


class AuthorizationDenied(OAuthError):
    """The person chose Deny (``access_denied``) on Salesforce's page."""


class AuthorizationExpired(OAuthError):
    """A device code or sign-in link expired before it was approved."""


class AuthorizationCancelled(OAuthError):
    """The person cancelled a sign-in that was waiting (the form's Cancel, Ctrl-C)."""


class FlowNotEnabled(OAuthError):
    """The app is not enabled for this OAuth flow (e.g. "Enable for Device Flow" is off)."""


class SalesforceError(SalesforceNotebookError):
    """A Salesforce API call answered an error.

    Carries Salesforce's `error_code` (``INVALID_FIELD``…), its `message`, the `fields`
    it names, the HTTP `status_code`, and the `method` and `url` of the request.
    """

    def __init__(
        self,
        message: str,
        *,
        error_code: str = "",
        status_code: int = 0,
        fields: Sequence[str] = (),
        method: str = "",
        url: str = "",
        errors: Sequence[dict[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.status_code = status_code
        self.fields = list(fields)
        self.method = method
        self.url = url
        self.errors = list(errors)

    def __str__(self) -> str:
        head = f"{self.error_code}: " if self.error_code else ""
        where = f" ({self.status_code} on {self.method} {self.url})" if self.method else ""
        fields = f" [fields: {', '.join(self.fields)}]" if self.fields else ""
        return f"{head}{self.message}{fields}{where}"


class SessionExpired(SalesforceError):
    """401 INVALID_SESSION_ID that refreshing did not cure."""


class MalformedQuery(SalesforceError):
    """400 MALFORMED_QUERY: the SOQL does not parse."""


class InvalidField(SalesforceError):
    """400 INVALID_FIELD: a field does not exist or is not accessible."""


class InvalidType(SalesforceError):
    """400 INVALID_TYPE: the sObject type does not exist or is not accessible."""


class RecordNotFound(SalesforceError):
    """404 NOT_FOUND."""


class RequestLimitExceeded(SalesforceError):
    """403 REQUEST_LIMIT_EXCEEDED: the org's API limits are used up."""


class BulkJobFailed(SalesforceError):
    """A Bulk API 2.0 job ended in the Failed or Aborted state."""


class WriteFailed(SalesforceError):
    """Some rows of a write failed and the caller asked to raise (``raise_on_error``).

    `result` is the whole result frame; the message counts the failures by error code.
    """

    def __init__(self, message: str, *, result: Any, error_code: str = "") -> None:
        super().__init__(message, error_code=error_code)
        self.result = result


class WriteInterrupted(KeyboardInterrupt):
    """Ctrl-C during a write: the jobs were aborted at Salesforce; `result` says what
    each row became (``NOT_PROCESSED`` for the rows Salesforce did not get to)."""

    def __init__(self, message: str, *, result: Any) -> None:
        super().__init__(message)
        self.result = result


class WriteCancelled(SalesforceNotebookError):
    """The confirmation was answered no: nothing was written."""


class CredentialsRefused(TokenRequestError):
    """Salesforce refused credentials given in the environment or as arguments (an auth
    URL, client credentials, a JWT key), not the store's. `setting` names what to fix: a
    variable such as ``AK_SALESFORCE_NB_PROD_CLIENT_SECRET``, or an argument."""

    def __init__(
        self,
        message: str,
        *,
        error: str,
        description: str = "",
        status_code: int = 400,
        setting: str = "",
    ) -> None:
        super().__init__(message, error=error, description=description, status_code=status_code)
        self.setting = setting


class SalesforceCliError(SalesforceNotebookError):
    """``sf`` (the Salesforce CLI) is not installed, or could not give the org asked for."""


class SecretWarning(UserWarning):
    """A call handed out a secret (an auth URL holds a refresh token): keep it in a secret
    store, never in a notebook's output or a repository."""


class ReportError(SalesforceNotebookError, LookupError):
    """A report that cannot be found, or run as asked; the message says what to do."""


class PartialReportWarning(UserWarning):
    """A report frame holds fewer rows than the report has (see its ``attrs["report"]``)."""
