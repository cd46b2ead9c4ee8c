"""Live events in the notebook: Change Data Capture and platform events over the
Salesforce Pub/Sub API (gRPC, Avro payloads).

In a notebook::

    sf = aksf.session("prod")
    sub = sf.subscribe("/data/AccountChangeEvent")   # returns once the stream is placed
    sub                                              # live table, counts, Stop button
    async for event in sub:                          # decoded, in order
        print(event.change_type, event.record_ids, event.changed_fields, event["Name"])
    sub.to_dataframe()
    await sub.stop()

The stream authenticates with the connection's token, org id and instance URL, asks for
events as they are consumed, refreshes the token when Salesforce says UNAUTHENTICATED,
reconnects with backoff, and stores the replay id of the last event the notebook took
per connection and topic (at least once: events received but not taken come again), so
a restarted kernel resumes where it stopped. A change made right after ``subscribe()``
is delivered: with ``replay="latest"`` it waits (``ready_timeout``) until Salesforce has
placed the stream. The endpoint is Salesforce's
``api.pubsub.salesforce.com:7443`` unless ``endpoint=`` or
``AK_SALESFORCE_NB_PUBSUB_ENDPOINT`` says otherwise (``http://127.0.0.1:PORT`` for the
emulator's ``pubsub=True``).

Needs ``grpcio``, ``protobuf`` and ``fastavro`` (``pip install 'ak_salesforce_nb[pubsub]'``).
"""

from __future__ import annotations

from ._endpoint import DEFAULT_ENDPOINT, ENV_CA, ENV_ENDPOINT, Endpoint, resolve_endpoint
from ._errors import (
    PubSubError,
    PubSubUnavailable,
    ReplayIdInvalid,
    SubscriptionNotReady,
    TopicNotFound,
)
from ._events import Event
from ._runner import Backoff
from ._subscribe import ReplayStart, subscribe
from ._subscription import Subscription

__all__ = [
    "DEFAULT_ENDPOINT",
    "ENV_CA",
    "ENV_ENDPOINT",
    "Backoff",
    "Endpoint",
    "Event",
    "PubSubError",
    "PubSubUnavailable",
    "ReplayIdInvalid",
    "ReplayStart",
    "Subscription",
    "SubscriptionNotReady",
    "TopicNotFound",
    "resolve_endpoint",
    "subscribe",
]
