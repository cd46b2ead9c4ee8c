"""At-least-once delivery and a stream that is live when `subscribe` returns.

The bookmark (what a restarted kernel resumes after) moves only past events the
notebook took; a subscriber killed while holding unread events gives them to the next
one. A change made on the line right after ``subscribe()`` is delivered.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb._pubsub_proto import protos
from ak_salesforce_nb.pubsub import Event, SubscriptionNotReady
from tests.conftest import Flow

from .conftest import EVENT_TIMEOUT, nothing_more, take

ACCOUNTS = "/data/AccountChangeEvent"

#: A subscriber in its own process: takes `argv[1]` events, then waits until it has
#: received `argv[2]` in all (taking no more), lets the bookmark be written, says so,
#: and sleeps until it is killed.
SUBSCRIBER = """
import asyncio, sys
import ak_salesforce_nb as aksf

async def main():
    take, hold = int(sys.argv[1]), int(sys.argv[2])
    sf = aksf.session("prod")
    sub = sf.subscribe("/data/AccountChangeEvent")
    print("SUBSCRIBED", flush=True)
    events = aiter(sub)
    taken = [await anext(events) for _ in range(take)]
    while sub.received < hold:
        await asyncio.sleep(0.02)
    await asyncio.sleep(1.5)  # the bookmark is written lazily (every 0.5 s)
    print("HELD", sub.received, sub.unread, [e.record_id for e in taken], flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def _line(stream: asyncio.StreamReader, prefix: str) -> str:
    while True:
        raw = await asyncio.wait_for(stream.readline(), EVENT_TIMEOUT * 2)
        if not raw:
            raise AssertionError(f"the subscriber ended before printing {prefix}")
        line = raw.decode().strip()
        if line.startswith(prefix):
            return line


async def test_killed_subscriber_s_unread_events_come_again(flow: Flow) -> None:
    await flow.connect("prod")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SUBSCRIBER,
        "1",
        "3",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert child.stdout is not None
        await _line(child.stdout, "SUBSCRIBED")
        with aksf.session("prod") as sf:
            ids = [sf.sobject("Account").create({"Name": f"Held {n}"}) for n in range(3)]
        held = await _line(child.stdout, "HELD")
        assert held == f"HELD 3 2 {[ids[0]]}", held
        os.kill(child.pid, signal.SIGKILL)
        assert await asyncio.wait_for(child.wait(), 10) == -signal.SIGKILL
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()

    # A new subscriber with the default replay: the taken event is not repeated, the two
    # received but unread are delivered again.
    with aksf.session("prod") as again:
        sub = again.subscribe(ACCOUNTS)
        events = aiter(sub)
        redelivered = await take(events, 2)
        await nothing_more(events, 0.3)
        await sub.stop()
    assert [event.record_id for event in redelivered] == ids[1:]


async def test_received_events_move_the_bookmark_only_once_taken(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        sub = sf.subscribe(ACCOUNTS)
        start = sub.replay_id
        assert start is not None  # "latest" pinned and stored before subscribe returned
        assert sf.store.get_replay_id("prod", ACCOUNTS, organization_id=sf_org(sf)) == start
        ids = [sf.sobject("Account").create({"Name": f"Unread {n}"}) for n in range(2)]
        deadline = time.monotonic() + EVENT_TIMEOUT
        while sub.received < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert sub.received == 2 and sub.unread == 2
        assert [event.record_id for event in sub.last(2)] == ids  # a peek takes nothing
        await asyncio.sleep(0.6)  # a keepalive or a timer would have had time to write
        assert sub.replay_id == start and sub.unread == 2

        frame = sub.to_dataframe()  # returned in a frame: taken
        assert [row[0] for row in frame["record_ids"]] == ids
        assert sub.unread == 0
        assert sub.replay_id == sub.last(1)[0].replay_id != start
        await sub.stop()
        stored = sf.store.get_replay_id("prod", ACCOUNTS, organization_id=sf_org(sf))
    assert stored == sub.replay_id


async def test_on_event_callbacks_take_events_and_a_failing_one_does_not(
    flow: Flow, capsys: pytest.CaptureFixture[str]
) -> None:
    await flow.connect("prod")
    seen: list[Event] = []
    with aksf.session("prod") as sf:
        sub = sf.subscribe(ACCOUNTS, on_event=seen.append)
        ids = [sf.sobject("Account").create({"Name": f"Called {n}"}) for n in range(2)]
        await _until(lambda: len(seen) == 2)
        assert [event.record_id for event in seen] == ids
        assert sub.unread == 0 and sub.replay_id == seen[-1].replay_id

        @sub.on_event
        def broken(event: Event) -> None:
            raise ValueError("cannot handle it")

        taken = sub.replay_id
        failed_id = sf.sobject("Account").create({"Name": "Called 2"})
        await _until(lambda: len(seen) == 3)
        assert seen[-1].record_id == failed_id
        assert sub.replay_id == taken and sub.unread == 1  # not taken: a restart redelivers
        assert "on_event callback" in capsys.readouterr().out
        assert any("bookmark stays before that event" in text for text in sub.notices)
        later = sf.sobject("Account").create({"Name": "Called 3"})  # broken one is removed
        await _until(lambda: len(seen) == 4)
        assert seen[-1].record_id == later and sub.unread == 0
        await sub.stop()

    async def coroutine(event: Event) -> None:
        return None

    with pytest.raises(TypeError, match="plain function"):
        sub.on_event(coroutine)


async def test_a_change_right_after_subscribe_in_the_same_cell_is_seen(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        # As in one cell: no await between subscribe() and the change.
        sub = sf.subscribe(ACCOUNTS)
        record_id = sf.sobject("Account").create({"Name": "Right after subscribe"})
        (event,) = await take(aiter(sub), 1)
        await sub.stop()
    assert event.record_id == record_id and event.change_type == "CREATE"


async def test_without_waiting_the_same_change_is_missed(flow: Flow) -> None:
    """The control of the test above: the race it closes is real."""
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        sub = sf.subscribe(ACCOUNTS, wait=False, resume=False)
        sf.sobject("Account").create({"Name": "Too early"})
        await sub.ready()
        events = aiter(sub)
        await nothing_more(events, 0.5)
        later = sf.sobject("Account").create({"Name": "After ready"})
        (event,) = await take(events, 1)
        await sub.stop()
    assert event.record_id == later


class _Silent(protos().grpc.PubSubServicer):  # type: ignore[misc]
    """A Pub/Sub server that knows every topic and never answers a Subscribe."""

    def __init__(self) -> None:
        self.pb2 = protos().pb2
        self.released = threading.Event()

    def GetTopic(self, request: Any, context: Any) -> Any:
        return self.pb2.TopicInfo(topic_name=request.topic_name, can_subscribe=True)

    def Subscribe(self, requests: Iterator[Any], context: Any) -> Iterator[Any]:
        next(requests)
        while context.is_active() and not self.released.wait(0.05):
            pass
        return iter(())


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    service = _Silent()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    protos().grpc.add_PubSubServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        service.released.set()
        server.stop(None)


async def test_a_stream_never_confirmed_is_a_clear_error(flow: Flow, silent_endpoint: str) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        started = time.monotonic()
        with pytest.raises(SubscriptionNotReady) as caught:
            sf.subscribe(ACCOUNTS, endpoint=silent_endpoint, ready_timeout=0.5)
        assert time.monotonic() - started < 5
    message = str(caught.value)
    assert ACCOUNTS in message and "within 0.5 s" in message and "wait=False" in message
    assert caught.value.topic == ACCOUNTS


async def _until(condition: Any, timeout: float = EVENT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for events")
        await asyncio.sleep(0.02)


def sf_org(sf: Any) -> str:
    org: str = sf.store.get_connection("prod").organization_id
    return org
