"""Load: 2,000 callbacks, valid and invalid mixed, 50 at a time, against one real
`jupyter server` process on loopback, with the emulator as Salesforce.

The client is 50 threads with one keep-alive `http.client` connection each (much lighter
than an asyncio httpx client, so the server, not the test, is what gets loaded).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import random
import secrets
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import psutil
import pytest

from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.emulator import RunningEmulator
from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.trust.helpers import JupyterProcess, running_jupyter

TOTAL = 2000
VALID = 500  # one connection each: a new begin supersedes the previous state
WARM = 50
CONCURRENCY = 50
RSS_GROWTH_LIMIT = 20 * 1024 * 1024
TIME_LIMIT = 120.0
_T = TypeVar("_T")
_R = TypeVar("_R")


class Loopback:
    """Blocking HTTP/1.1 with one keep-alive connection per thread and host."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[http.client.HTTPConnection] = []

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()

    def request(
        self, method: str, url: str, *, body: bytes | None = None, headers: Any = None
    ) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        pool: dict[str, http.client.HTTPConnection] = self._local.__dict__.setdefault("pool", {})
        for attempt in (1, 2):
            conn = pool.get(parts.netloc)
            if conn is None:
                conn = pool[parts.netloc] = http.client.HTTPConnection(
                    parts.hostname or "", parts.port, timeout=60
                )
                with self._lock:
                    self._all.append(conn)
            try:
                conn.request(method, target, body=body, headers=headers or {})
                response = conn.getresponse()
                text = response.read().decode()
            except (http.client.HTTPException, OSError):
                conn.close()
                del pool[parts.netloc]
                if attempt == 2:
                    raise
                continue
            return response.status, {k.lower(): v for k, v in response.getheaders()}, text
        raise AssertionError("unreachable")


class LoadFlow:
    """The OAuth dance against a `JupyterProcess` with `Loopback`."""

    def __init__(self, server: JupyterProcess, emu_url: str) -> None:
        self.server = server
        self.emu_url = emu_url
        self.http = Loopback()
        self.api = server.url + "ak-salesforce/api/connections"

    def create(self, name: str) -> None:
        body = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "login_url": self.emu_url}
        status, _, text = self.http.request(
            "PUT", f"{self.api}/{name}", body=json.dumps(body).encode(), headers=self.server.headers
        )
        assert status == 200, text

    def begin(self, name: str) -> str:
        status, _, text = self.http.request(
            "POST", f"{self.api}/{name}/authorize", body=b"", headers=self.server.headers
        )
        assert status == 200, text
        authorize_url = str(json.loads(text)["authorize_url"])
        return dict(parse_qsl(urlsplit(authorize_url).query))["state"]

    def code_for(self, name: str) -> dict[str, str]:
        state = self.begin(name)
        start = f"{self.server.url}oauth/start/salesforce?{urlencode({'state': state})}"
        status, headers, text = self.http.request("GET", start, headers=self.server.headers)
        assert status == 302, text
        status, headers, text = self.http.request("GET", headers["location"])
        assert status == 302, text
        return dict(parse_qsl(urlsplit(headers["location"]).query))

    def callback(self, params: dict[str, str]) -> tuple[int, str]:
        url = f"{self.server.url}oauth/redirect/salesforce?{urlencode(params)}"
        status, _, text = self.http.request("GET", url)
        return status, text

    def states(self) -> Counter[str]:
        status, _, text = self.http.request("GET", self.api, headers=self.server.headers)
        assert status == 200
        return Counter(c["state"] for c in json.loads(text)["connections"])


def rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


def run_all(pool: ThreadPoolExecutor, fn: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
    return list(pool.map(fn, items, timeout=TIME_LIMIT))


def load(server: JupyterProcess, emu_url: str, store_path: Path) -> dict[str, Any]:
    rng = random.Random(20240601)
    flow = LoadFlow(server, emu_url)
    names = [f"c{i:04d}" for i in range(VALID)]
    warm = [f"w{i:03d}" for i in range(WARM)]
    figures: dict[str, Any] = {}
    began = time.monotonic()
    try:
        return _load(flow, rng, names, warm, figures, began, store_path, server)
    finally:
        flow.http.close()


def _load(
    flow: LoadFlow,
    rng: random.Random,
    names: list[str],
    warm: list[str],
    figures: dict[str, Any],
    began: float,
    store_path: Path,
    server: JupyterProcess,
) -> dict[str, Any]:
    with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="load") as pool:
        run_all(pool, flow.create, names + warm)
        # Warm up (and make states to replay later): WARM full authorizations.
        warm_params = run_all(pool, flow.code_for, warm)
        assert {s for s, _ in run_all(pool, flow.callback, warm_params)} == {200}
        superseded = run_all(pool, flow.begin, names[:100])
        valid = run_all(pool, flow.code_for, names)
        forged = [{"state": secrets.token_urlsafe(32), "code": "x"} for _ in range(200)]
        assert {s for s, _ in run_all(pool, flow.callback, forged)} == {400}
        figures["rss_before"] = rss(server.process.pid)
        store = ConnectionStore(store_path)
        figures["pending_before"] = store.count_pending()
        figures["setup_seconds"] = time.monotonic() - began

        cases: list[tuple[dict[str, str], int, str]] = [
            (p, 200, "Connected to Salesforce") for p in valid
        ]
        kinds: list[Callable[[], tuple[dict[str, str], int, str]]] = [
            lambda: ({"state": secrets.token_urlsafe(32), "code": "x"}, 400, "not known"),
            lambda: ({"state": rng.choice(superseded), "code": "x"}, 400, "not known"),
            lambda: (rng.choice(warm_params), 400, "already used"),
            lambda: ({"code": "x"}, 400, "without an authorization state"),
            lambda: (
                {"state": secrets.token_urlsafe(32), "error": "access_denied"},
                400,
                "not known",
            ),
            lambda: ({"state": rng.choice(valid)["state"], "code": "x" * 5000}, 400, "oversized"),
        ]
        while len(cases) < TOTAL:
            cases.append(kinds[len(cases) % len(kinds)]())
        rng.shuffle(cases)

        def one(case: tuple[dict[str, str], int, str]) -> tuple[bool, float, str]:
            params, status, fragment = case
            started = time.perf_counter()
            got, text = flow.callback(params)
            took = time.perf_counter() - started
            return got == status and fragment in text, took, fragment

        run_started = time.monotonic()
        results = run_all(pool, one, cases)
        figures["run_seconds"] = time.monotonic() - run_started
    figures["wrong"] = Counter(fragment for good, _, fragment in results if not good)
    figures["latencies"] = sorted(took for _, took, _ in results)
    figures["states"] = flow.states()
    time.sleep(1.0)  # let the server settle before measuring
    figures["rss_after"] = rss(server.process.pid)
    figures["store"] = store
    return figures


@pytest.mark.slow
async def test_two_thousand_callbacks(emu: RunningEmulator, tmp_path: Path) -> None:
    """Every answer is the right one (valid states connect; forged, superseded, replayed,
    stateless, denied-with-forged-state and oversized ones get their own 400), the
    server's memory grows by less than 20 MB over the run, invalid callbacks leave no
    pending state behind and used ones are swept; all within 2 minutes."""
    began = time.monotonic()
    store_path = tmp_path / "store" / "store.sqlite3"
    with running_jupyter(tmp_path / "server", store_path) as server:
        f = await asyncio.to_thread(load, server, emu.url, store_path)
    assert not f["wrong"], f["wrong"]
    assert f["states"] == Counter({"connected": VALID + WARM}), f["states"]
    store: ConnectionStore = f["store"]
    # Invalid callbacks created nothing; every state used is still on record (kept an
    # hour for "already used" answers) until the sweep, which takes them all.
    assert store.count_pending() == f["pending_before"] == VALID + WARM
    assert store.sweep_expired() == 0
    assert store.sweep_expired(now=time.time() + 2 * 3600) == VALID + WARM
    assert store.count_pending() == 0
    store.close()
    latencies = f["latencies"]
    growth = f["rss_after"] - f["rss_before"]
    total = time.monotonic() - began
    print(  # the figures, shown with -s
        f"\n{TOTAL} callbacks ({VALID} valid), {CONCURRENCY} at a time: "
        f"{f['run_seconds']:.1f} s, {TOTAL / f['run_seconds']:.0f} req/s, "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms; server RSS "
        f"{f['rss_before'] / 2**20:.1f} -> {f['rss_after'] / 2**20:.1f} MB; "
        f"setup {f['setup_seconds']:.1f} s, whole test {total:.1f} s"
    )
    assert growth < RSS_GROWTH_LIMIT, growth
    assert total < TIME_LIMIT
