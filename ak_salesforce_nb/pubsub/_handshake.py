"""Pin "latest" to a replay id before `subscribe` returns, so the next line is seen.

With ``replay="latest"`` Salesforce starts the stream at whatever is newest when it
*processes* the first ``FetchRequest``. The stream task only runs once the cell that
called `subscribe` gives the event loop back, so a change made on the very next line of
that cell would be older than "latest" and never arrive. The loop cannot be waited for
from inside the cell (it is the cell's own loop), so `subscribe` asks Salesforce itself,
with a short blocking ``Subscribe`` call: the first answer (an event, or the empty
keepalive carrying ``latest_replay_id``) proves the server has placed the stream, and
its position becomes the concrete replay id the real stream starts after. An event that
came with that first answer is handed over too, so nothing between the two calls is
lost.

A start from a replay id (stored or given) or from ``"earliest"`` needs none of this:
every event after that point arrives whenever the stream goes live.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc

from .._pubsub_proto import protos
from ._endpoint import Credentials, Endpoint, error_details
from ._errors import SubscriptionNotReady
from ._failures import translate

__all__ = ["Pinned", "pin_latest"]


@dataclasses.dataclass(frozen=True)
class Pinned:
    """Where "latest" was when the server answered, and what came with that answer."""

    replay_id: bytes
    #: ``ConsumerEvent`` messages the first answer carried (at most one), to deliver.
    events: tuple[Any, ...] = ()


def _requests(first: Any, done: threading.Event) -> Iterator[Any]:
    """The request stream of the probe: one FetchRequest, then held open until done
    (a request stream that ends at once may end the call before the server answers)."""
    yield first
    done.wait()


def pin_latest(
    endpoint: Endpoint,
    credentials: Credentials,
    topic: str,
    *,
    connection: str,
    timeout: float,
) -> Pinned:
    """Subscribe once from LATEST for one event, and return the position of the answer.

    Raises `SubscriptionNotReady` when no answer came within `timeout` seconds, and the
    package's error for a refusal (refreshing the token once on UNAUTHENTICATED).
    """
    pb2, stubs = protos()
    deadline = time.monotonic() + timeout
    for attempt in range(2):
        left = max(0.1, deadline - time.monotonic())
        done = threading.Event()
        first = pb2.FetchRequest(topic_name=topic, replay_preset=pb2.LATEST, num_requested=1)
        with endpoint.sync_channel() as channel:
            call = stubs.PubSubStub(channel).Subscribe(
                _requests(first, done), metadata=credentials.metadata(), timeout=left
            )
            try:
                response = next(iter(call))
            except StopIteration:
                response = None
            except grpc.RpcError as error:
                status = error_details(error)[0]
                if status == "UNAUTHENTICATED" and attempt == 0:
                    credentials.refresh_sync()
                    continue
                if status == "DEADLINE_EXCEEDED":
                    raise _not_ready(topic, connection, endpoint, timeout) from None
                raise translate(
                    error, topic=topic, endpoint=endpoint, connection=connection
                ) from None
            finally:
                done.set()
                call.cancel()
        if response is None:
            raise _not_ready(topic, connection, endpoint, timeout)
        events = tuple(response.events)
        if events:
            # The stream resumes after the last event it was handed; those are delivered.
            return Pinned(bytes(events[-1].replay_id), events)
        return Pinned(bytes(response.latest_replay_id))
    raise AssertionError("unreachable")  # pragma: no cover


def _not_ready(topic: str, connection: str, endpoint: Endpoint, timeout: float) -> Exception:
    return SubscriptionNotReady(
        f"The Pub/Sub API at {endpoint} did not confirm the subscription to {topic!r} "
        f"(connection {connection!r}) within {timeout:g} s, so events from now on could "
        "not be promised. Try again, give a longer ready_timeout=, or pass wait=False to "
        "start without waiting (a change made in the next moments may then be missed; "
        "`await sub.ready()` waits later).",
        topic=topic,
        status="DEADLINE_EXCEEDED",
    )
