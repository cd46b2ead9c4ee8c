"""Benchmark: the OAuth callback's latency and throughput, beside a do-nothing handler.

One ``jupyter server`` process runs two extensions: ``ak_salesforce_nb`` and a tiny
one written to a temp dir at start (``aksf_bench_noop``: an unauthenticated GET that
answers "ok", going through the same `JupyterHandler.prepare` as the callback). That
handler is the floor: what any request costs in jupyter-server. The emulator runs as its
own process (``python -m ak_salesforce_nb.emulator``), so Salesforce's side does not
share the client's or the server's CPU.

Measured, from one run, against the one server:

* p50 / p99 latency of sequential requests (one keep-alive connection): the floor, the
  callback with an invalid (forged) state, and the callback with a valid state and code
  (which exchanges the code, checks the signature and asks userinfo and the org name at
  the emulator, then writes the tokens);
* requests/s with ``--workers`` client processes (keep-alive, ``http.client``) for a
  fixed time (floor, invalid) or for a fixed number of prepared states (valid);
* the ratio of each to the floor.

Run from the repository root::

    python benchmarks/bench_callback.py [--requests 1000] [--valid 300] [--seconds 5]
                                        [--workers 4] [--threads 4]

Every loop is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from _harness import REPO, spawn_emulator, stop_process

from ak_salesforce_nb.core._environment import ENV_KEYRING, ENV_STORE

BASE = "/bench/"
CALLBACK = f"{BASE}oauth/redirect/salesforce"
NOOP = f"{BASE}bench-noop"
DEADLINE = 600.0  # no part of the benchmark runs longer than this

NOOP_EXTENSION = '''
"""A jupyter-server extension with one handler that does nothing (the benchmark floor)."""
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join


class NoopHandler(JupyterHandler):
    @allow_unauthenticated
    def get(self):
        self.set_header("Content-Type", "text/plain")
        self.finish("ok")


def _jupyter_server_extension_points():
    return [{"module": "aksf_bench_noop"}]


def _load_jupyter_server_extension(serverapp):
    route = url_path_join(serverapp.base_url, "bench-noop")
    serverapp.web_app.add_handlers(".*$", [(route, NoopHandler)])
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def env_with(*paths: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [*(str(p) for p in paths), env.get("PYTHONPATH")])
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def emulator() -> Iterator[str]:
    """The emulator as its own process (the shared harness); its URL."""
    process, (url,), _ = spawn_emulator("--accounts", "50", "--auto-approve")
    try:
        yield url
    finally:
        stop_process(process)


@contextlib.contextmanager
def jupyter(tmp: Path) -> Iterator[tuple[int, str, int]]:
    """(port, token, pid) of a jupyter server with ak_salesforce_nb and the floor."""
    ext_dir = tmp / "ext"
    ext_dir.mkdir()
    (ext_dir / "aksf_bench_noop.py").write_text(NOOP_EXTENSION)
    config_dir = tmp / "config"
    config_dir.mkdir()
    store = tmp / "store" / "store.sqlite3"
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "ServerApp": {
                    "jpserver_extensions": {"ak_salesforce_nb": True, "aksf_bench_noop": True}
                },
                "SalesforceOAuth": {"store_path": str(store), "http_timeout": 30.0},
            }
        )
    )
    port, token = free_port(), secrets.token_hex(16)
    (tmp / "root").mkdir()
    log = (tmp / "jupyter.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.base_url={BASE}",
            f"--ServerApp.root_dir={tmp / 'root'}",
            "--ServerApp.allow_root=True",
            "--ServerApp.log_level=WARN",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env_with(
            REPO,
            ext_dir,
            JUPYTER_CONFIG_DIR=str(config_dir),
            JUPYTER_DATA_DIR=str(tmp / "data"),
            JUPYTER_RUNTIME_DIR=str(tmp / "rt"),
            **{ENV_KEYRING: "off", ENV_STORE: str(store)},
        ),
        cwd=tmp,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}{NOOP}", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    "jupyter server did not start:\n" + (tmp / "jupyter.log").read_text()[-3000:]
                )
            time.sleep(0.2)
        yield port, token, process.pid
    finally:
        stop_process(process)
        log.close()


def prepare_states(port: int, token: str, emu_url: str, count: int) -> list[str]:
    """`count` connections, each with a fresh state approved at the emulator: the
    callback query strings Salesforce would send."""
    base = f"http://127.0.0.1:{port}{BASE}"
    auth = {"Authorization": f"token {token}"}
    body = {
        "client_id": "demo-client-id",
        "client_secret": "demo-client-secret",
        "login_url": emu_url,
        "scopes": "api refresh_token",
    }

    def one(i: int) -> str:
        with httpx.Client(timeout=60) as client:
            name = f"bench{i:05d}"
            api = f"{base}ak-salesforce/api/connections/{name}"
            client.put(api, json=body, headers=auth).raise_for_status()
            start = client.post(f"{api}/authorize", headers=auth).json()["authorize_url"]
            state = dict(parse_qsl(urlsplit(start).query))["state"]
            hop = client.get(f"{base}oauth/start/salesforce", params={"state": state}, headers=auth)
            approve = client.get(hop.headers["location"])
            return urlsplit(approve.headers["location"]).query

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def sequential(port: int, targets: list[str], expect: int) -> list[float]:
    """Latencies of `targets` sent one after the other on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies = []
    stop = time.monotonic() + DEADLINE
    try:
        for target in targets:
            started = time.perf_counter()
            conn.request("GET", target)
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != expect:
                raise SystemExit(f"{target[:60]}… answered {response.status}, not {expect}")
            if time.monotonic() > stop:
                break
    finally:
        conn.close()
    return latencies


def _worker(args: tuple[int, list[str], float, int, int]) -> int:
    """One client process: `threads` keep-alive connections cycling through `targets`
    until `seconds` pass (or, with seconds=0, each target once). Requests answered."""
    port, targets, seconds, threads, expect = args
    done = [0] * threads
    stop_at = time.monotonic() + (seconds or DEADLINE)

    def loop(slot: int) -> None:
        mine = targets[slot::threads]
        if not mine:
            return
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = 0
        try:
            while time.monotonic() < stop_at and (seconds or i < len(mine)):
                conn.request("GET", mine[i % len(mine)])
                response = conn.getresponse()
                response.read()
                if response.status != expect:
                    raise RuntimeError(f"answered {response.status}, not {expect}")
                done[slot] += 1
                i += 1
        finally:
            conn.close()

    pool = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(done)


def throughput(
    port: int, targets: list[str], seconds: float, workers: int, threads: int, expect: int
) -> float:
    share = [targets[n::workers] for n in range(workers)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers) as pool:
        started = time.perf_counter()
        counts = pool.map(_worker, [(port, s, seconds, threads, expect) for s in share])
        elapsed = time.perf_counter() - started
    return sum(counts) / elapsed


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="sequential samples")
    parser.add_argument("--valid", type=int, default=300, help="valid states per phase")
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput run")
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="connections per process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aksf-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with emulator() as emu_url, jupyter(tmp) as (port, token, pid):
            noop = [NOOP] * args.requests
            invalid = [
                f"{CALLBACK}?{urlencode({'state': secrets.token_urlsafe(32), 'code': 'x'})}"
                for _ in range(args.requests)
            ]
            sequential(port, noop[:200], 200)  # warm up both paths
            sequential(port, invalid[:200], 400)
            rows: dict[str, dict[str, float]] = {}
            lat = sequential(port, noop, 200)
            rows["no-op handler (floor)"] = {"p50": pct(lat, 0.5), "p99": pct(lat, 0.99)}
            lat = sequential(port, invalid, 400)
            rows["callback, invalid state"] = {"p50": pct(lat, 0.5), "p99": pct(lat, 0.99)}
            valid = prepare_states(port, token, emu_url, args.valid)
            lat = sequential(port, [f"{CALLBACK}?{q}" for q in valid], 200)
            rows["callback, valid state"] = {"p50": pct(lat, 0.5), "p99": pct(lat, 0.99)}
            rows["no-op handler (floor)"]["rps"] = throughput(
                port, noop, args.seconds, args.workers, args.threads, 200
            )
            rows["callback, invalid state"]["rps"] = throughput(
                port, invalid, args.seconds, args.workers, args.threads, 400
            )
            valid = prepare_states(port, token, emu_url, args.valid)
            rows["callback, valid state"]["rps"] = throughput(
                port, [f"{CALLBACK}?{q}" for q in valid], 0, args.workers, args.threads, 200
            )
            rss = _rss_mb(pid)
    floor = rows["no-op handler (floor)"]
    print(
        f"\njupyter-server callback benchmark ({args.requests} sequential samples, "
        f"{args.valid} valid states, {args.workers}x{args.threads} clients; server RSS "
        f"{rss:.0f} MB)\n"
    )
    header = (
        f"{'':26} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} "
        f"{'p50 x floor':>12} {'req/s / floor':>14}"
    )
    print(header)
    print("-" * len(header))
    for name, row in rows.items():
        print(
            f"{name:26} {row['p50']:8.2f} {row['p99']:8.2f} {row['rps']:8.0f} "
            f"{row['p50'] / floor['p50']:12.2f} {row['rps'] / floor['rps']:14.2f}"
        )


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


if __name__ == "__main__":
    main()
