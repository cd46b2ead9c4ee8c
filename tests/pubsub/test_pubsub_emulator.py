"""The emulator's Pub/Sub API seen with the generated stubs directly: authentication,
schemas, replay presets, keepalives, publishing platform events, and the command line."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import fastavro
import grpc
import grpc.aio
import httpx
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb._pubsub_proto import protos
from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.emulator._pubsub_schema import change_event_name
from tests.conftest import Flow

from .conftest import take

REDIRECT = "http://localhost/oauth/redirect/salesforce"


def token_for(emu: RunningEmulator) -> str:
    code = emu.authorize_code(redirect_uri=REDIRECT)
    answer = httpx.post(
        f"{emu.url}/services/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": "demo-client-id",
            "client_secret": "demo-client-secret",
            "redirect_uri": REDIRECT,
        },
        timeout=10,
    )
    return str(answer.json()["access_token"])


def metadata(emu: RunningEmulator, token: str, tenant: str | None = None) -> Any:
    return (
        ("accesstoken", token),
        ("instanceurl", emu.url),
        ("tenantid", emu.org_id if tenant is None else tenant),
    )


def target(emu: RunningEmulator) -> str:
    return emu.pubsub_endpoint.removeprefix("http://")


async def test_auth_is_checked_on_every_call(emu: RunningEmulator) -> None:
    pb2, stubs = protos()
    token = token_for(emu)
    async with grpc.aio.insecure_channel(target(emu)) as channel:
        stub = stubs.PubSubStub(channel)
        request = pb2.TopicRequest(topic_name="/data/AccountChangeEvent")
        info = await stub.GetTopic(request, metadata=metadata(emu, token))
        assert info.can_subscribe and not info.can_publish and info.schema_id
        cases = [
            metadata(emu, "not-a-token"),
            metadata(emu, token, tenant="00D000000000000AAA"),
            (("accesstoken", token), ("tenantid", emu.org_id)),
        ]
        for bad in cases:
            with pytest.raises(grpc.aio.AioRpcError) as info_:
                await stub.GetTopic(request, metadata=bad)
            assert info_.value.code() == grpc.StatusCode.UNAUTHENTICATED
            trailers = dict(info_.value.trailing_metadata() or ())
            assert trailers["error-code"] == "sfdc.platform.eventbus.grpc.service.auth.error"
            assert trailers["rpc-id"] in (info_.value.details() or "")


async def test_schema_is_real_avro_with_the_change_event_header(emu: RunningEmulator) -> None:
    pb2, stubs = protos()
    token = token_for(emu)
    async with grpc.aio.insecure_channel(target(emu)) as channel:
        stub = stubs.PubSubStub(channel)
        topic = await stub.GetTopic(
            pb2.TopicRequest(topic_name="/data/ContactChangeEvent"), metadata=metadata(emu, token)
        )
        info = await stub.GetSchema(
            pb2.SchemaRequest(schema_id=topic.schema_id), metadata=metadata(emu, token)
        )
    schema = json.loads(info.schema_json)
    fastavro.parse_schema(schema)  # a valid Avro schema
    assert schema["name"] == "ContactChangeEvent"
    header = schema["fields"][0]
    assert header["name"] == "ChangeEventHeader"
    names = [f["name"] for f in header["type"]["fields"]]
    assert names == [
        "entityName",
        "recordIds",
        "changeType",
        "changeOrigin",
        "transactionKey",
        "sequenceNumber",
        "commitTimestamp",
        "commitNumber",
        "commitUser",
        "nulledFields",
        "diffFields",
        "changedFields",
    ]
    change_type = header["type"]["fields"][2]["type"]
    assert change_type["symbols"][:4] == ["CREATE", "UPDATE", "DELETE", "UNDELETE"]
    fields = {f["name"]: f for f in schema["fields"][1:]}
    assert fields["LastName"]["type"] == ["null", "string"]
    assert fields["LastName"]["default"] is None
    assert change_event_name("Custom_0001__c") == "Custom_0001__ChangeEvent"


async def _subscribe(stub: Any, pb2: Any, token_metadata: Any, first: Any) -> tuple[Any, Any]:
    call = stub.Subscribe(metadata=token_metadata)
    await call.write(first)
    return call, await asyncio.wait_for(call.read(), 10)


async def test_subscribe_keepalive_presets_and_flow_control(flow: Flow) -> None:
    await flow.connect("prod")
    emu = flow.emu
    pb2, stubs = protos()
    token = token_for(emu)
    with aksf.session("prod") as sf:
        ids = [sf.sobject("Account").create({"Name": f"Raw {n}"}) for n in range(3)]
    async with grpc.aio.insecure_channel(target(emu)) as channel:
        stub = stubs.PubSubStub(channel)
        md = metadata(emu, token)
        topic = "/data/AccountChangeEvent"
        # LATEST: an immediate empty keepalive with the latest replay id, then nothing.
        call, keepalive = await _subscribe(
            stub, pb2, md, pb2.FetchRequest(topic_name=topic, num_requested=5)
        )
        assert not keepalive.events and keepalive.latest_replay_id
        assert keepalive.pending_num_requested == 5
        call.cancel()
        # EARLIEST with num_requested=1: exactly one event per request.
        call, _ = await _subscribe(
            stub,
            pb2,
            md,
            pb2.FetchRequest(topic_name=topic, replay_preset=pb2.EARLIEST, num_requested=1),
        )
        one = await asyncio.wait_for(call.read(), 10)
        assert len(one.events) == 1 and one.pending_num_requested == 0
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(call.read(), 0.3)
        call.cancel()
        # CUSTOM after the first of ours: the other two.
        ours = await _events_of(stub, pb2, md, topic, ids)
        call, _ = await _subscribe(
            stub,
            pb2,
            md,
            pb2.FetchRequest(
                topic_name=topic,
                replay_preset=pb2.CUSTOM,
                replay_id=ours[0].replay_id,
                num_requested=10,
            ),
        )
        rest = await asyncio.wait_for(call.read(), 10)
        assert [e.replay_id for e in rest.events] == [e.replay_id for e in ours[1:]]
        call.cancel()
        # A different topic on a later FetchRequest is refused.
        call, _ = await _subscribe(
            stub, pb2, md, pb2.FetchRequest(topic_name=topic, num_requested=1)
        )
        await call.write(pb2.FetchRequest(topic_name="/data/ContactChangeEvent"))
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await asyncio.wait_for(call.read(), 10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def _events_of(stub: Any, pb2: Any, md: Any, topic: str, ids: list[str]) -> list[Any]:
    """Our accounts' events, read from EARLIEST (decoding each to find its record id)."""
    from ak_salesforce_nb.pubsub._decode import decode_event, event_type

    call, _ = await _subscribe(
        stub,
        pb2,
        md,
        pb2.FetchRequest(topic_name=topic, replay_preset=pb2.EARLIEST, num_requested=100_000),
    )
    found: list[Any] = []
    kinds: dict[str, Any] = {}
    try:
        while len(found) < len(ids):
            response = await asyncio.wait_for(call.read(), 10)
            for item in response.events:
                schema_id = item.event.schema_id
                if schema_id not in kinds:
                    info = await stub.GetSchema(pb2.SchemaRequest(schema_id=schema_id), metadata=md)
                    kinds[schema_id] = event_type(schema_id, info.schema_json)
                event = decode_event(
                    kinds[schema_id], topic, item.replay_id, "", item.event.payload
                )
                if event.record_id in ids:
                    found.append(item)
    finally:
        call.cancel()
    return found


async def test_platform_event_published_and_received(flow: Flow) -> None:
    await flow.connect("prod")
    emu = flow.emu
    pb2, stubs = protos()
    token = token_for(emu)
    topic = "/event/Notebook_Event__e"
    with aksf.session("prod") as sf:
        sub = await sf.subscribe(topic).ready()
        async with grpc.aio.insecure_channel(target(emu)) as channel:
            stub = stubs.PubSubStub(channel)
            md = metadata(emu, token)
            info = await stub.GetTopic(pb2.TopicRequest(topic_name=topic), metadata=md)
            assert info.can_publish
            schema = json.loads(
                (
                    await stub.GetSchema(pb2.SchemaRequest(schema_id=info.schema_id), metadata=md)
                ).schema_json
            )
            payload = _avro(
                schema,
                {
                    "CreatedDate": 1_700_000_000_000,
                    "CreatedById": emu.user_id(),
                    "Message__c": "hello",
                    "Value__c": 4.5,
                },
            )
            answer = await stub.Publish(
                pb2.PublishRequest(
                    topic_name=topic,
                    events=[
                        pb2.ProducerEvent(id="ev-1", schema_id=info.schema_id, payload=payload),
                        pb2.ProducerEvent(id="ev-2", schema_id=info.schema_id, payload=b"\xff"),
                    ],
                ),
                metadata=md,
            )
            assert answer.results[0].replay_id and not answer.results[0].error.msg
            assert answer.results[1].error.code == pb2.PUBLISH
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.Publish(
                    pb2.PublishRequest(topic_name="/data/AccountChangeEvent"), metadata=md
                )
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        (event,) = await take(aiter(sub), 1)
        await sub.stop()
    assert event.entity == "Notebook_Event__e" and event.change_type is None
    assert event["Message__c"] == "hello" and event["Value__c"] == 4.5
    assert event.event_id == "ev-1"
    assert event.replay_id == answer.results[0].replay_id


def _avro(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    import io

    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
    return buffer.getvalue()


async def test_retention_is_bounded() -> None:
    from ak_salesforce_nb.emulator._pubsub_bus import EventBus
    from ak_salesforce_nb.emulator._schema import build_schema

    bus = EventBus(build_schema(), retention=50)
    topic = bus.topics["/data/AccountChangeEvent"]
    for n in range(200):
        bus.append("Account", True, "sid", str(n), b"")
    assert len(bus) <= 55 and bus.latest == 200
    first_kept = bus.earliest_position + 1
    events, position = bus.read(0, topic, 1000)
    assert events[0].number == first_kept and position == 200
    assert bus.position_of(bus.replay_id(first_kept - 1)) == first_kept - 1
    assert bus.position_of(bus.replay_id(first_kept - 2)) is None  # gone
    assert bus.position_of(bus.replay_id(201)) is None  # the future
    assert bus.position_of(b"\x00" * 12) is None  # another bus


def test_command_line_serves_pubsub(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "ak_salesforce_nb.emulator", "--accounts", "5"]
    process = subprocess.Popen(
        [*command, "--pubsub-port", "0"], stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path
    )
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        lines.extend([process.stdout.readline(), process.stdout.readline()])

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(60)
    try:
        assert re.fullmatch(r"ak-salesforce-emulator listening on http://\S+\n", lines[0])
        match = re.fullmatch(r"ak-salesforce-emulator pubsub on http://(\S+)\n", lines[1])
        assert match, lines
        with grpc.insecure_channel(match.group(1)) as channel:
            pb2, stubs = protos()
            with pytest.raises(grpc.RpcError) as info:
                stubs.PubSubStub(channel).GetTopic(
                    pb2.TopicRequest(topic_name="/data/ChangeEvents"), timeout=10
                )
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        process.terminate()
        assert process.wait(30) == 0
        assert process.stdout is not None
        process.stdout.close()


async def test_tls_emulator_with_a_trusted_ca(
    tls_files: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ak_salesforce_nb.emulator import EmulatorConfig, start_emulator
    from ak_salesforce_nb.pubsub import ENV_CA, resolve_endpoint

    ca, cert, key = tls_files
    config = EmulatorConfig(accounts=5, pubsub=True, tls_certfile=str(cert), tls_keyfile=str(key))
    with start_emulator(config) as tls_emu:
        assert tls_emu.pubsub_endpoint.startswith("https://127.0.0.1:")
        monkeypatch.setenv(ENV_CA, str(ca))
        endpoint = resolve_endpoint(tls_emu.pubsub_endpoint)
        assert endpoint.secure and endpoint.root_certificates == ca.read_bytes()
        pb2, stubs = protos()
        channel = endpoint.channel()
        try:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stubs.PubSubStub(channel).GetTopic(
                    pb2.TopicRequest(topic_name="/data/ChangeEvents"), timeout=10
                )
        finally:
            await channel.close()
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED  # TLS worked; no token
