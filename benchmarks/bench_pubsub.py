"""Benchmark: Change Data Capture over the Pub/Sub API, against the emulator.

Starts ``python -m ak_salesforce_nb.emulator --pubsub-port 0 --auto-approve`` as a
subprocess, authorizes a connection over HTTP into a throwaway store, then measures:

1. **Throughput**: a burst of N change events (REST updates of Accounts, made by a few
   threads), then ``session.subscribe(..., replay="earliest")``: events per second from
   the subscribe call to the N-th decoded `Event` (gRPC, Avro decoding, the
   Subscription's bookkeeping, flow control with batch=100). Also the Avro decoding
   alone, over the same payloads.
2. **Latency**: with a live subscription, M sequential REST updates; the delay from the
   start of each PATCH to its event arriving in the subscriber (median, p95, p99).

Run from the repository root::

    python benchmarks/bench_pubsub.py [--events 10000] [--updates 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _harness import authorize_store, spawn_emulator, stop_process  # noqa: E402

import ak_salesforce_nb as aksf  # noqa: E402
from ak_salesforce_nb._pubsub_proto import protos  # noqa: E402
from ak_salesforce_nb.core._environment import ENV_KEYRING  # noqa: E402
from ak_salesforce_nb.core._store import ConnectionStore  # noqa: E402
from ak_salesforce_nb.pubsub import Event  # noqa: E402
from ak_salesforce_nb.pubsub._decode import decode_event, event_type  # noqa: E402

TOPIC = "/data/AccountChangeEvent"
API = "/services/data/v63.0"


def account_ids(client: httpx.Client, count: int) -> list[str]:
    soql = f"SELECT Id FROM Account LIMIT {int(count)}"  # noqa: S608 - an int, not input
    page = client.get(f"{API}/query", params={"q": soql})
    return [record["Id"] for record in page.json()["records"]]


def burst(base_url: str, token: str, ids: list[str], events: int, threads: int) -> float:
    """`events` REST updates spread over `threads` clients; the seconds it took."""
    headers = {"Authorization": f"Bearer {token}"}

    def work(offset: int) -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
            for n in range(offset, events, threads):
                answer = client.patch(
                    f"{API}/sobjects/Account/{ids[n % len(ids)]}",
                    json={"Description": f"burst {n}", "NumberOfEmployees": n},
                )
                answer.raise_for_status()

    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    return time.perf_counter() - began


async def throughput(sf: aksf.Session, endpoint: str, events: int) -> float:
    """Events/s from subscribe() to the last decoded event of the burst."""
    began = time.perf_counter()
    sub = sf.subscribe(TOPIC, replay="earliest", resume=False, endpoint=endpoint, keep=events)
    got = 0
    async for _ in sub:
        got += 1
        if got == events:
            break
    elapsed = time.perf_counter() - began
    await sub.stop()
    return events / elapsed


async def decode_only(sf: aksf.Session, endpoint: str, events: int) -> float:
    """Avro decoding alone: events/s over `events` raw payloads fetched beforehand."""
    import grpc.aio

    pb2, stubs = protos()
    tokens = sf.tokens.current()
    metadata = (
        ("accesstoken", tokens.access_token),
        ("instanceurl", tokens.instance_url),
        ("tenantid", sf.connection.organization_id),
    )
    raw: list[Any] = []
    async with grpc.aio.insecure_channel(endpoint.removeprefix("http://")) as channel:
        stub = stubs.PubSubStub(channel)
        call = stub.Subscribe(metadata=metadata)
        await call.write(
            pb2.FetchRequest(topic_name=TOPIC, replay_preset=pb2.EARLIEST, num_requested=events)
        )
        while len(raw) < events:
            raw.extend((await call.read()).events)
        call.cancel()
        schema_id = raw[0].event.schema_id
        info = await stub.GetSchema(pb2.SchemaRequest(schema_id=schema_id), metadata=metadata)
    kind = event_type(schema_id, info.schema_json)
    began = time.perf_counter()
    for item in raw[:events]:
        decode_event(kind, TOPIC, item.replay_id, item.event.id, item.event.payload)
    return events / (time.perf_counter() - began)


async def latency(
    sf: aksf.Session, endpoint: str, base_url: str, ids: list[str], updates: int
) -> list[float]:
    """Seconds from the start of each PATCH to its event arriving, one at a time."""
    sub = await sf.subscribe(TOPIC, resume=False, endpoint=endpoint).ready()
    token = sf.tokens.current().access_token
    loop = asyncio.get_running_loop()
    sent: dict[str, float] = {}
    delays: list[float] = []
    arrived = threading.Event()

    def send() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
            for n in range(updates):
                marker = f"latency {n}"
                arrived.clear()
                sent[marker] = time.perf_counter()
                answer = client.patch(
                    f"{API}/sobjects/Account/{ids[n % len(ids)]}", json={"Description": marker}
                )
                answer.raise_for_status()
                if not arrived.wait(30):
                    raise TimeoutError(f"no event for {marker}")

    sender = loop.run_in_executor(None, send)
    event: Event
    async for event in sub:
        marker = event.get("Description")
        if isinstance(marker, str) and marker in sent:
            delays.append(time.perf_counter() - sent.pop(marker))
            arrived.set()
            if len(delays) == updates:
                break
    await sender
    await sub.stop()
    return delays


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> None:
    process, (base_url, endpoint), _ = spawn_emulator(
        "--pubsub-port", "0", "--accounts", str(args.accounts), "--auto-approve", lines=2
    )
    try:
        with tempfile.TemporaryDirectory() as folder:
            os.chmod(folder, 0o700)
            os.environ[ENV_KEYRING] = "off"
            store = ConnectionStore(Path(folder) / "store" / "store.sqlite3")
            authorize_store(store, base_url)
            with aksf.session("bench", store=store) as sf:
                token = sf.tokens.current().access_token
                with httpx.Client(
                    base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
                ) as client:
                    ids = account_ids(client, 2000)
                made = burst(base_url, token, ids, args.events, args.threads)
                print(
                    f"burst: {args.events} REST updates in {made:.1f} s "
                    f"({args.events / made:,.0f}/s, {args.threads} threads)"
                )
                rates = [await throughput(sf, endpoint, args.events) for _ in range(args.runs)]
                print(
                    f"throughput: {statistics.median(rates):,.0f} events/s decoded end to end "
                    f"(median of {args.runs}: {', '.join(f'{r:,.0f}' for r in rates)})"
                )
                decoded = await decode_only(sf, endpoint, args.events)
                print(f"decode only: {decoded:,.0f} events/s (fastavro + Event)")
                delays = await latency(sf, endpoint, base_url, ids, args.updates)
                ms = [d * 1000 for d in delays]
                print(
                    f"latency over {len(ms)} updates: median {statistics.median(ms):.2f} ms, "
                    f"p95 {percentile(ms, 0.95):.2f} ms, p99 {percentile(ms, 0.99):.2f} ms, "
                    f"max {max(ms):.2f} ms"
                )
    finally:
        stop_process(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000, help="burst size (10000)")
    parser.add_argument("--updates", type=int, default=200, help="latency samples (200)")
    parser.add_argument("--accounts", type=int, default=2000, help="accounts in the org")
    parser.add_argument("--threads", type=int, default=4, help="REST writers for the burst")
    parser.add_argument("--runs", type=int, default=3, help="throughput runs (3)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
