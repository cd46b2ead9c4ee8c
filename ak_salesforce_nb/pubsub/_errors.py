"""Errors of the Pub/Sub API client, in the package's tree of errors.

```
SalesforceNotebookError
└── PubSubError                 a Pub/Sub API call failed (status, error_code, rpc_id, topic)
    ├── TopicNotFound           no such topic, or the user may not subscribe to it
    ├── ReplayIdInvalid         a replay id Salesforce no longer retains, or not of this org
    ├── PubSubUnavailable       the service stayed unreachable through every retry
    └── SubscriptionNotReady    the stream was not confirmed live within ready_timeout
```
"""

from __future__ import annotations

from ..core._exceptions import SalesforceNotebookError

__all__ = [
    "PubSubError",
    "PubSubUnavailable",
    "ReplayIdInvalid",
    "SubscriptionNotReady",
    "TopicNotFound",
]


class PubSubError(SalesforceNotebookError):
    """A Pub/Sub API call failed.

    `status` is the gRPC status name (``UNAUTHENTICATED``…), `error_code` Salesforce's
    ``error-code`` trailer (``sfdc.platform.eventbus…``) and `rpc_id` the id to quote to
    Salesforce support; `topic` the topic concerned, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        topic: str = "",
        status: str = "",
        error_code: str = "",
        rpc_id: str = "",
    ) -> None:
        super().__init__(message)
        self.topic = topic
        self.status = status
        self.error_code = error_code
        self.rpc_id = rpc_id


class TopicNotFound(PubSubError):
    """The topic does not exist in the org, or the user cannot subscribe to it."""


class ReplayIdInvalid(PubSubError):
    """Salesforce refused the replay id: malformed, of another org, or past retention."""


class PubSubUnavailable(PubSubError):
    """The Pub/Sub API stayed unreachable (or kept failing) through every retry."""


class SubscriptionNotReady(PubSubError):
    """The server did not confirm the stream in time, so "from now on" was not promised."""
