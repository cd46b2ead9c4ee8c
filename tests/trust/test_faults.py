"""Faults: a token endpoint that is down, slow, failing, talking garbage or tampered
with; a server or kernel killed mid-exchange; a corrupt or locked store.

Every case ends the same way: a clear state and message, everything stored before still
there, and the flow working again once the fault is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._environment import ENV_STORE
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.server._state import STATE_KEY
from tests.conftest import Flow
from tests.trust.helpers import REPO, RemoteFlow, closed_port, running_jupyter, store_rows

HTTP_TIMEOUT = 1.0
STORE_TIMEOUT = 0.5
FAULTS = ["down", "slow", "500", "garbage", "bad_signature"]
MESSAGES = {
    "down": "Could not reach",
    "slow": f"did not answer within {HTTP_TIMEOUT:g} seconds",
    "500": "answered HTTP 500",
    "garbage": "not JSON",
    "bad_signature": "signature check",
}


@pytest.fixture
def jp_server_config(store_path: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"ak_salesforce_nb": True}},
        "SalesforceOAuth": {
            "store_path": str(store_path),
            "http_timeout": HTTP_TIMEOUT,
            "store_timeout": STORE_TIMEOUT,
        },
    }


def set_login_url(store_path: Path, name: str, url: str) -> None:
    """Point a connection's login host elsewhere (a network outage), keeping its tokens."""
    db = sqlite3.connect(store_path)
    db.execute("UPDATE connections SET login_url = ? WHERE name = ?", (url, name))
    db.commit()
    db.close()


class Fault:
    """Switch a token-endpoint fault on and off for connection `name`."""

    def __init__(self, kind: str, emu: RunningEmulator, store_path: Path, name: str) -> None:
        self.kind, self.emu, self.store_path, self.name = kind, emu, store_path, name

    def on(self) -> None:
        if self.kind == "down":
            set_login_url(self.store_path, self.name, f"http://127.0.0.1:{closed_port()}")
        else:
            self.emu.slow_seconds = HTTP_TIMEOUT + 2
            self.emu.token_fault = self.kind

    def off(self) -> None:
        if self.kind == "down":
            set_login_url(self.store_path, self.name, self.emu.url)
        self.emu.token_fault = None


@pytest.mark.parametrize("kind", FAULTS)
async def test_token_endpoint_fault_during_the_callback(
    flow: Flow, store_path: Path, kind: str
) -> None:
    """A re-authorization whose code exchange meets the fault: a 502 page within the
    timeout that says what happened, the connection still connected on its old tokens
    (byte-identical), the other connection untouched; afterwards a new one works."""
    await flow.connect("keep")
    await flow.connect("prod")
    params = await flow.salesforce(await flow.start(await flow.begin("prod")))
    fault = Fault(kind, flow.emu, store_path, "prod")
    fault.on()
    before = store_rows(store_path)
    started = time.monotonic()
    page = await flow.callback(params)
    took = time.monotonic() - started
    assert page.code == 502, page.body[:300]
    assert MESSAGES[kind] in page.body.decode()
    assert took < HTTP_TIMEOUT + 1.5, took
    after = store_rows(store_path)
    assert after["tokens"] == before["tokens"]
    assert [r for r in after["connections"] if r[0] == "keep"] == [
        r for r in before["connections"] if r[0] == "keep"
    ]
    prod = await flow.get("prod")
    assert prod["state"] == "connected"
    assert "last authorization attempt failed" in prod["message"]
    assert MESSAGES[kind] in prod["message"]
    fault.off()
    params = await flow.salesforce(await flow.start(await flow.begin("prod")))
    assert (await flow.callback(params)).code == 200
    assert store_rows(store_path)["tokens"] != before["tokens"]
    with aksf.session("prod") as sf:
        assert sf.limits()["DailyApiRequests"]["Max"] > 0


@pytest.mark.parametrize("kind", FAULTS)
async def test_token_endpoint_fault_during_a_refresh(
    flow: Flow, store_path: Path, kind: str
) -> None:
    """A kernel's refresh meets the fault: a clear `TokenEndpointUnavailable` (or
    `SignatureMismatch`) within the timeout, the stored tokens unchanged, the connection
    still `connected` (not "reauthorization required"); once the fault is gone the same
    session refreshes and works."""
    await flow.connect("prod")
    with aksf.session("prod", http_timeout=HTTP_TIMEOUT) as sf:
        sf.limits()
        flow.emu.expire_access_tokens()
        fault = Fault(kind, flow.emu, store_path, "prod")
        fault.on()
        before = store_rows(store_path)
        started = time.monotonic()
        with pytest.raises((aksf.TokenEndpointUnavailable, aksf.SignatureMismatch)) as info:
            sf.limits()
        assert time.monotonic() - started < HTTP_TIMEOUT + 1.5
        assert MESSAGES[kind] in str(info.value)
        after = store_rows(store_path)
        assert after["tokens"] == before["tokens"]
        assert (await flow.get("prod"))["state"] == "connected"
        fault.off()
        refreshes = flow.emu.stats["refresh_grants"]
        assert sf.limits()["DailyApiRequests"]["Max"] > 0
        assert flow.emu.stats["refresh_grants"] >= refreshes + 1
    assert store_rows(store_path)["tokens"] != before["tokens"]


async def test_corrupt_store(flow: Flow, store_path: Path) -> None:
    """A store file that is not a database: every endpoint answers 503 (the REST API
    naming the file and what to do; the unauthenticated callback page naming nothing), the
    file is left byte for byte as it was, and once it is moved aside the flow works."""
    store_path.parent.mkdir(mode=0o700, parents=True)
    garbage = b"SQLite format 3\x00" + os.urandom(4096)
    store_path.write_bytes(garbage)
    os.chmod(store_path, 0o600)
    api_calls = [
        ((), "GET", None),
        (("prod",), "GET", None),
        (("prod",), "PUT", {"client_id": "c", "client_secret": "s"}),
        (("prod",), "DELETE", None),
        (("prod", "authorize"), "POST", None),
    ]
    for parts, method, body in api_calls:
        response = await flow.api(*parts, method=method, body=body)
        assert response.code == 503, (parts, method, response.code)
        message = json.loads(response.body)["message"]
        assert str(store_path) in message and "Move it aside" in message
    start = await flow.open_start({"state": "s"})
    assert start.code == 503 and str(store_path) in start.body.decode()
    page = await flow.callback({"state": "s", "code": "c"})
    assert page.code == 503
    assert "connection store" in page.body.decode()
    assert str(store_path.parent) not in page.body.decode()
    assert store_path.read_bytes() == garbage
    store_path.rename(store_path.with_name("store.sqlite3.broken"))
    await flow.connect("prod")
    assert (await flow.get("prod"))["state"] == "connected"
    assert store_path.with_name("store.sqlite3.broken").read_bytes() == garbage


def _hold_store(path: str, seconds: float, ready: Any) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    ready.set()
    time.sleep(seconds)
    db.execute("ROLLBACK")
    db.close()


@contextlib.asynccontextmanager
async def store_held_by_another_process(path: Path, seconds: float) -> AsyncIterator[None]:
    """Another process holds the store's write lock for `seconds` (from when this enters)."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_store, args=(str(path), seconds, ready))
    holder.start()
    try:
        assert await asyncio.to_thread(ready.wait, 30)
        yield
    finally:
        await asyncio.to_thread(holder.join, 30)
    assert holder.exitcode == 0


async def test_store_locked_by_another_process(flow: Flow, store_path: Path) -> None:
    """Another process holds the store's write lock for longer than the server's
    `store_timeout`: writes are answered 503 after about the timeout with a message
    saying so; reads still work; nothing is lost; after the holder lets go, it all works."""
    await flow.connect("prod")
    state = await flow.begin("prod")
    params = await flow.salesforce(await flow.start(state))
    before = store_rows(store_path)
    async with store_held_by_another_process(store_path, 4.0):
        started = time.monotonic()
        response = await flow.api(
            "other", method="PUT", body={"client_id": "c", "client_secret": "s"}
        )
        took = time.monotonic() - started
        assert response.code == 503
        message = json.loads(response.body)["message"]
        assert "stayed locked by another process" in message and str(store_path) in message
        assert STORE_TIMEOUT * 0.8 < took < STORE_TIMEOUT + 2
        page = await flow.callback(params)
        assert page.code == 503 and "connection store" in page.body.decode()
        assert (await flow.api("prod")).code == 200  # readers are not blocked (WAL)
    assert store_rows(store_path) == before
    # The callback that met the lock did not use its state: it completes now.
    assert (await flow.callback(params)).code == 200
    assert (
        await flow.api("other", method="PUT", body={"client_id": "c", "client_secret": "s"})
    ).code == 200


async def test_a_locked_store_does_not_freeze_the_server(flow: Flow, store_path: Path) -> None:
    """While a request waits on a store that another process locked, the server answers
    everything else: store work runs on its own thread, not on the event loop."""
    await flow.connect("prod")
    async with store_held_by_another_process(store_path, 3.0):
        began = time.monotonic()

        async def timed(request: Any) -> tuple[Any, float]:
            response = await request
            return response, time.monotonic() - began

        writer = asyncio.ensure_future(
            timed(flow.api("other", method="PUT", body={"client_id": "c", "client_secret": "s"}))
        )
        await asyncio.sleep(0.1)  # the PUT now waits for the lock
        status, status_at = await timed(flow.fetch("api", "status"))
        listing = await flow.api()  # store calls take turns: this one after the PUT's
        (written, written_at) = await writer
    assert status.code == 200 and listing.code == 200
    assert written.code == 503
    assert written_at > STORE_TIMEOUT * 0.8
    # With store work on the event loop, nothing could answer before the PUT gave up.
    assert status_at < written_at - 0.15, (status_at, written_at)


async def test_requests_while_the_server_stops_get_a_clear_answer(
    flow: Flow, jp_serverapp: Any, store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """jupyter_server stops its extensions (`cleanup_extensions`, as its shutdown does)
    before it stops answering requests: in between, our handlers say the server is
    shutting down (no 500, no code in the log) and the store is closed once, not reopened
    behind the server's back."""
    caplog.set_level(logging.DEBUG)
    await flow.connect("prod")
    params = await flow.salesforce(await flow.start(await flow.begin("prod")))
    before = store_rows(store_path)
    extension = jp_serverapp.web_app.settings[STATE_KEY]
    await jp_serverapp.cleanup_extensions()
    assert extension.closed
    listing = await flow.api()
    assert listing.code == 503
    assert "shutting down" in json.loads(listing.body)["message"]
    page = await flow.callback(params)
    assert page.code == 503 and "connection store" in page.body.decode()
    assert extension._service is None  # not reopened
    assert params["code"] not in caplog.text
    assert store_rows(store_path) == before  # the state was not used: nothing changed
    await extension.sweep()  # the periodic sweep says so too, quietly
    assert "sweep skipped" in caplog.text


# -- processes killed in the middle --------------------------------------------------


@pytest.fixture
def slow_emu(emu: RunningEmulator) -> RunningEmulator:
    """A slow token endpoint answers after 6 s (the trust `emu` fixture puts it back)."""
    emu.slow_seconds = 6.0
    return emu


async def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


@pytest.mark.slow
async def test_server_killed_in_the_middle_of_a_callback(
    slow_emu: RunningEmulator, tmp_path: Path
) -> None:
    """A real `jupyter server` is SIGKILLed while its callback waits on a slow token
    endpoint. A new server on the same store: every connection and token stored before is
    there, unchanged; the interrupted connection says clearly what happened, keeps its
    working authorization, and a new authorization through the new server works."""
    emu = slow_emu
    store_path = tmp_path / "store" / "store.sqlite3"
    async with httpx.AsyncClient(timeout=30) as client:
        with running_jupyter(tmp_path / "first", store_path) as first:
            remote = RemoteFlow(first, emu.url, client)
            await remote.connect("keep")
            await remote.connect("prod")
            params = await remote.code_for("prod")
            before = store_rows(store_path)
            requests = emu.stats["token_requests"]
            emu.token_fault = "slow"
            callback = asyncio.ensure_future(remote.callback(params))
            await wait_for(
                lambda: emu.stats["token_requests"] > requests, 15, "the exchange to start"
            )
            first.kill()
            with pytest.raises(httpx.HTTPError):
                await callback
            emu.token_fault = None
        assert first.process.returncode == -signal.SIGKILL
        after_kill = store_rows(store_path)
        assert after_kill["tokens"] == before["tokens"]
        assert [r for r in after_kill["connections"] if r[0] == "keep"] == [
            r for r in before["connections"] if r[0] == "keep"
        ]
        with running_jupyter(tmp_path / "second", store_path) as second:
            remote = RemoteFlow(second, emu.url, client)
            keep = await remote.connection("keep")
            assert keep["state"] == "connected"
            prod = await remote.connection("prod")
            # Right after the crash the claimed state counts as in flight for a while …
            assert prod["state"] in ("waiting", "connected"), prod
            assert prod["has_tokens"]
            # … and once that grace is over (time moved on), it is plainly explained.
            db = sqlite3.connect(store_path)
            db.execute("UPDATE pending SET used_at = used_at - 3600 WHERE used_at IS NOT NULL")
            db.commit()
            db.close()
            prod = await remote.connection("prod")
            assert prod["state"] == "connected", prod
            assert "not completed in time" in prod["message"]
            assert "existing authorization still works" in prod["message"]
            # The state the dead server claimed is spent; a new authorization works.
            replay = await remote.callback(params)
            assert replay.status_code == 400 and "already used" in replay.text
            response = await remote.callback(await remote.code_for("prod"))
            assert response.status_code == 200, response.text
            assert (await remote.connection("prod"))["state"] == "connected"
            final = store_rows(store_path)
            assert [r for r in final["tokens"] if r[0] == "keep"] == [
                r for r in before["tokens"] if r[0] == "keep"
            ]
            assert [r for r in final["tokens"] if r[0] == "prod"] != [
                r for r in before["tokens"] if r[0] == "prod"
            ]
        with aksf.session("prod", store_path=store_path) as sf:
            assert sf.limits()["DailyApiRequests"]["Max"] > 0
        with aksf.session("keep", store_path=store_path) as sf:
            assert sf.limits()["DailyApiRequests"]["Max"] > 0


_REFRESHER = textwrap.dedent(
    """
    import sys
    import ak_salesforce_nb as aksf
    sf = aksf.session(sys.argv[1], http_timeout=float(sys.argv[2]))
    print("ready", flush=True)
    sf.limits()
    print("ok", sf.tokens.refresh_count, flush=True)
    """
)


def refresher(store_path: Path, timeout: float) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env[ENV_STORE] = str(store_path)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-c", _REFRESHER, "prod", str(timeout)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


async def test_kernel_killed_in_the_middle_of_a_refresh(
    flow: Flow, slow_emu: RunningEmulator, store_path: Path
) -> None:
    """A kernel process refreshing against a slow token endpoint holds the refresh lock;
    it is SIGKILLed mid-request. The kernel releases its flock with it: another process
    refreshes at once (well inside the lock timeout) and works; nothing stored was lost."""
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        sf.limits()
    flow.emu.expire_access_tokens()
    before = store_rows(store_path)
    requests = flow.emu.stats["token_requests"]
    flow.emu.token_fault = "slow"
    child = refresher(store_path, 30.0)
    try:
        assert child.stdout is not None
        assert await asyncio.to_thread(child.stdout.readline) == "ready\n"
        await wait_for(
            lambda: flow.emu.stats["token_requests"] > requests, 15, "the refresh to start"
        )
        probe = ConnectionStore(store_path)
        with pytest.raises(aksf.StoreLockedError), probe.refresh_lock("prod", timeout=0.2):
            pass  # the child holds the lock while it waits on Salesforce
        child.send_signal(signal.SIGKILL)
        await asyncio.to_thread(child.wait, 30)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=10)  # reap it and close its pipes
    assert child.returncode == -signal.SIGKILL
    flow.emu.token_fault = None
    assert store_rows(store_path) == before  # the dead refresh wrote nothing
    with probe.refresh_lock("prod", timeout=0.5):
        pass  # released by the kernel when the holder died
    probe.close()
    started = time.monotonic()
    other = refresher(store_path, 5.0)
    out, err = await asyncio.to_thread(other.communicate, timeout=60)
    assert other.returncode == 0, err
    assert out.splitlines() == ["ready", "ok 1"]
    assert time.monotonic() - started < 10
    after = store_rows(store_path)
    assert after["tokens"] != before["tokens"]
    assert (await flow.get("prod"))["state"] == "connected"
