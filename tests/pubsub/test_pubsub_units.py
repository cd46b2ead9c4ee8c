"""Pieces of the client without a server: endpoints, bitmaps, decoding, replay ids."""

from __future__ import annotations

import datetime
import io
import json

import fastavro
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.pubsub import DEFAULT_ENDPOINT, ENV_ENDPOINT, resolve_endpoint
from ak_salesforce_nb.pubsub._decode import decode_event, expand_bitmaps, parse_event_type
from ak_salesforce_nb.pubsub._runner import Backoff
from ak_salesforce_nb.pubsub._subscribe import _start


def test_endpoint_default_env_and_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_ENDPOINT, raising=False)
    default = resolve_endpoint()
    assert (default.target, default.secure) == (DEFAULT_ENDPOINT, True)
    monkeypatch.setenv(ENV_ENDPOINT, "http://127.0.0.1:7001")
    from_env = resolve_endpoint()
    assert (from_env.target, from_env.secure) == ("127.0.0.1:7001", False)
    given = resolve_endpoint("https://pubsub.example.com:443")
    assert (given.target, given.secure) == ("pubsub.example.com:443", True)
    assert resolve_endpoint("http://[::1]:9").target == "[::1]:9"
    assert resolve_endpoint("http://localhost:9").secure is False
    assert resolve_endpoint("example.com").port == 7443


@pytest.mark.parametrize(
    "endpoint",
    ["http://api.pubsub.salesforce.com:7443", "http://10.0.0.5:7443", "grpc://example.com:1"],
)
def test_unencrypted_endpoint_only_on_loopback(endpoint: str) -> None:
    with pytest.raises(aksf.ConfigurationError, match="only to a loopback address"):
        resolve_endpoint(endpoint)


@pytest.mark.parametrize("endpoint", ["ftp://host:1", "https://host:1/path", "https://:1"])
def test_malformed_endpoints_are_refused(endpoint: str) -> None:
    with pytest.raises(aksf.ConfigurationError):
        resolve_endpoint(endpoint)


def _schema() -> str:
    address = {
        "type": "record",
        "name": "Address",
        "fields": [
            {"name": "Street", "type": ["null", "string"], "default": None},
            {"name": "City", "type": ["null", "string"], "default": None},
        ],
    }
    header = {
        "type": "record",
        "name": "ChangeEventHeader",
        "fields": [
            {"name": "entityName", "type": "string"},
            {"name": "recordIds", "type": {"type": "array", "items": "string"}},
            {"name": "changeType", "type": "string"},
            {"name": "commitTimestamp", "type": "long"},
            {"name": "changedFields", "type": {"type": "array", "items": "string"}},
            {"name": "nulledFields", "type": {"type": "array", "items": "string"}},
            {"name": "diffFields", "type": {"type": "array", "items": "string"}},
        ],
    }
    return json.dumps(
        {
            "type": "record",
            "name": "AccountChangeEvent",
            "fields": [
                {"name": "ChangeEventHeader", "type": header},
                {"name": "Name", "type": ["null", "string"], "default": None},
                {"name": "BillingAddress", "type": ["null", address], "default": None},
                {"name": "Phone", "type": ["null", "string"], "default": None},
            ],
        }
    )


def test_bitmaps_expand_to_field_names_with_compound_fields() -> None:
    kind = parse_event_type("sid", _schema())
    assert expand_bitmaps(kind, ["0xA"]) == ("Name", "Phone")  # bits 1 and 3
    assert expand_bitmaps(kind, ["2-0x2"]) == ("BillingAddress.City",)
    assert expand_bitmaps(kind, ["0x2", "2-0x3"]) == (
        "Name",
        "BillingAddress.Street",
        "BillingAddress.City",
    )
    assert expand_bitmaps(kind, ["Name", "0x0"]) == ("Name",)


def _encode(schema_json: str, record: dict[str, object]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(json.loads(schema_json)), record)
    return buffer.getvalue()


def test_update_event_carries_only_changed_values_flattened() -> None:
    schema = _schema()
    kind = parse_event_type("sid", schema)
    payload = _encode(
        schema,
        {
            "ChangeEventHeader": {
                "entityName": "Account",
                "recordIds": ["001000000000001AAA"],
                "changeType": "UPDATE",
                "commitTimestamp": 1_700_000_000_000,
                "changedFields": ["0x8", "2-0x2"],
                "nulledFields": ["0x8"],
                "diffFields": [],
            },
            "Name": None,
            "BillingAddress": {"Street": None, "City": "Paris"},
            "Phone": None,
        },
    )
    event = decode_event(kind, "/data/AccountChangeEvent", b"\x01", "e1", payload)
    assert event.change_type == "UPDATE" and event.entity == "Account"
    assert event.changed_fields == ("Phone", "BillingAddress.City")
    assert event.nulled_fields == ("Phone",)
    assert dict(event) == {"Phone": None, "BillingAddress.City": "Paris"}
    assert event.commit_timestamp == datetime.datetime(
        2023, 11, 14, 22, 13, 20, tzinfo=datetime.timezone.utc
    )
    row = event.as_row()
    assert row["replay_id"] == "01" and row["BillingAddress.City"] == "Paris"


def test_platform_event_keeps_its_whole_payload() -> None:
    schema = json.dumps(
        {
            "type": "record",
            "name": "Order_Placed__e",
            "fields": [
                {"name": "Amount__c", "type": ["null", "double"], "default": None},
                {"name": "Note__c", "type": ["null", "string"], "default": None},
            ],
        }
    )
    kind = parse_event_type("pe", schema)
    event = decode_event(
        kind, "/event/Order_Placed__e", b"\x02", "e2", _encode(schema, {"Amount__c": 9.5})
    )
    assert event.entity == "Order_Placed__e" and event.change_type is None
    assert dict(event) == {"Amount__c": 9.5, "Note__c": None}
    assert event.record_ids == ()


def test_replay_argument_forms() -> None:
    assert _start("latest", None).preset == "latest"
    assert _start("EARLIEST", None).preset == "earliest"
    assert _start(b"\x00\x01", None).replay_id == b"\x00\x01"
    assert _start("0x0a0b", None).replay_id == b"\n\x0b"
    assert _start(bytearray(b"\x05"), None).source == "given"
    with pytest.raises(aksf.ConfigurationError, match="replay must be"):
        _start("yesterday", None)
    with pytest.raises(aksf.ConfigurationError, match="empty replay id"):
        _start(b"", None)


def test_backoff_grows_and_is_capped() -> None:
    backoff = Backoff(initial=1.0, maximum=8.0, retries=5)
    delays = [backoff.delay(n) for n in range(1, 8)]
    assert 0.8 <= delays[0] <= 1.2 and 1.6 <= delays[1] <= 2.4
    assert all(delay <= 8.0 * 1.2 for delay in delays)
    assert delays[-1] >= 8.0 * 0.8


def test_subscribe_needs_a_running_loop_and_sane_arguments() -> None:
    from ak_salesforce_nb.pubsub._subscribe import subscribe

    class Fake:
        name = "prod"

    with pytest.raises(aksf.ConfigurationError, match="batch must be"):
        subscribe(Fake(), "/data/AccountChangeEvent", batch=0)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="event loop"):
        subscribe(Fake(), "/data/AccountChangeEvent")  # type: ignore[arg-type]
