"""What a failed gRPC call means for a subscription: retry, refresh, or a clear error."""

from __future__ import annotations

from typing import Any

from ._endpoint import ENV_ENDPOINT, Endpoint, error_details
from ._errors import PubSubError, PubSubUnavailable, ReplayIdInvalid, TopicNotFound

__all__ = ["RETRYABLE", "is_replay_rejection", "translate"]

#: Statuses after which subscribing again (with backoff) may work.
RETRYABLE = frozenset(
    {
        "UNAVAILABLE",
        "DEADLINE_EXCEEDED",
        "INTERNAL",
        "UNKNOWN",
        "RESOURCE_EXHAUSTED",
        "ABORTED",
        "CANCELLED",
    }
)
_TOPIC_HINT = (
    "Topic names look like /data/AccountChangeEvent (Change Data Capture for Account, "
    "selected in Setup > Change Data Capture), /data/ChangeEvents (all selected objects) "
    "or /event/Order_Placed__e (a platform event)."
)


def is_replay_rejection(error: Any) -> bool:
    """Whether Salesforce refused the replay id the subscription started from."""
    status, error_code, _ = error_details(error)
    return status == "INVALID_ARGUMENT" and "replayid" in error_code.lower()


def _details(error: Any) -> str:
    try:
        return str(error.details() or "")
    except Exception:  # a grpc error without details
        return ""


def translate(error: Any, *, topic: str, endpoint: Endpoint, connection: str) -> PubSubError:
    """The package's error for a gRPC error on `topic` (message for the notebook)."""
    status, error_code, rpc_id = error_details(error)
    details = _details(error)
    extra = {"topic": topic, "status": status, "error_code": error_code, "rpc_id": rpc_id}
    if status in ("NOT_FOUND", "PERMISSION_DENIED"):
        return TopicNotFound(
            f"The Pub/Sub topic {topic!r} does not exist in the org of connection "
            f"{connection!r}, or its user may not subscribe to it ({status}: {details}). "
            + _TOPIC_HINT,
            **extra,
        )
    if is_replay_rejection(error):
        return ReplayIdInvalid(
            f"Salesforce refused the replay id to resume {topic!r} from: it is older than "
            f"the events retained (72 hours), malformed, or of another org ({details}). "
            "Subscribe with replay='earliest' or 'latest'.",
            **extra,
        )
    if status == "UNAUTHENTICATED":
        return PubSubError(
            f"The Pub/Sub API refused the credentials of connection {connection!r} even "
            f"after a token refresh ({details}). Check that the user has API access and "
            "the app's scopes include 'api'.",
            **extra,
        )
    if status in RETRYABLE:
        return PubSubUnavailable(
            f"Cannot use the Pub/Sub API at {endpoint} ({status}: {details}). Check the "
            f"network, or set {ENV_ENDPOINT} (or endpoint=) to where it is.",
            **extra,
        )
    return PubSubError(
        f"The Pub/Sub API answered {status} for {topic!r}: {details}",
        **extra,
    )
