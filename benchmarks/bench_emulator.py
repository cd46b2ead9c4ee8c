"""Benchmark: how fast does a plain HTTP client page through a 100,000-record query?

Starts ``python -m ak_salesforce_nb.emulator --accounts 100000 --auto-approve`` as a
subprocess, gets a token through the OAuth code flow over HTTP, then fetches
``SELECT Id, Name, Industry, AnnualRevenue, Owner.Name FROM Account`` through all 50 pages
of 2,000 records (following ``nextRecordsUrl``, decoding every page) and prints records/s,
the median of three runs. The wall-clock rate includes this client's own decoding on the
same two cores, so it also prints the emulator alone: records per CPU-second of the
emulator process (from ``/proc``), what it would serve with a core to itself. Run from
the repository root::

    python benchmarks/bench_emulator.py [--accounts 100000] [--runs 3] [--parallel 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from _harness import code_flow_token, spawn_emulator, stop_process

REPO = Path(__file__).resolve().parents[1]
QUERY = "SELECT Id, Name, Industry, AnnualRevenue, Owner.Name FROM Account"
REDIRECT_URI = "http://localhost:8888/oauth/redirect/salesforce"


def fetch_sequential(client: httpx.Client) -> int:
    page: dict[str, Any] = client.get("/services/data/v66.0/query", params={"q": QUERY}).json()
    count = len(page["records"])
    pages = 1
    while not page["done"]:
        page = client.get(page["nextRecordsUrl"]).json()
        count += len(page["records"])
        pages += 1
    assert count == page["totalSize"], (count, page["totalSize"])
    return count


def fetch_parallel(client: httpx.Client, workers: int) -> int:
    """First page, then every other page at once by computing the locator offsets."""
    first: dict[str, Any] = client.get("/services/data/v66.0/query", params={"q": QUERY}).json()
    count = len(first["records"])
    if first["done"]:
        return count
    base, _, offset = first["nextRecordsUrl"].rpartition("-")
    step, total = int(offset), first["totalSize"]
    urls = [f"{base}-{start}" for start in range(step, total, step)]
    with ThreadPoolExecutor(workers) as pool:
        sizes = pool.map(lambda url: len(client.get(url).json()["records"]), urls)
        count += sum(sizes)
    assert count == total, (count, total)
    return count


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=0, help="also time N parallel fetchers")
    args = parser.parse_args()
    process, (url,), startup = spawn_emulator("--accounts", str(args.accounts), "--auto-approve")
    try:
        print(f"emulator with {args.accounts} accounts ready in {startup:.1f}s at {url}")
        limits = httpx.Limits(max_connections=max(args.parallel, 1) + 1)
        with httpx.Client(base_url=url, timeout=120, limits=limits) as client:
            client.headers["Authorization"] = f"Bearer {code_flow_token(url)['access_token']}"
            modes: list[tuple[str, Callable[[httpx.Client], int]]] = [
                ("sequential", fetch_sequential)
            ]
            if args.parallel:
                workers = args.parallel
                modes.append((f"{workers} parallel", lambda c: fetch_parallel(c, workers)))
            for name, fetch in modes:
                rates, alone = [], []
                for _ in range(args.runs):
                    cpu = cpu_seconds(process.pid)
                    began = time.perf_counter()
                    records = fetch(client)
                    elapsed = time.perf_counter() - began
                    used = cpu_seconds(process.pid) - cpu
                    rates.append(records / elapsed)
                    alone.append(records / max(used, 1e-3))
                    print(
                        f"  {name}: {records} records in {elapsed:.2f}s; emulator CPU {used:.2f}s"
                    )
                print(
                    f"{name}: median {statistics.median(rates):,.0f} records/s; the emulator "
                    f"alone: {statistics.median(alone):,.0f} records per CPU-second"
                )
    finally:
        stop_process(process)


if __name__ == "__main__":
    main()
