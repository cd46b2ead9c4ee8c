"""Benchmark: how fast does a plain HTTP client page through a 100,000-record query?

Starts ``python -m ak_salesforce_nb.emulator --accounts 100000 --auto-approve`` as a
subprocess, gets a token through the OAuth code flow over HTTP, then fetches
``SELECT Id, Name, Industry, AnnualRevenue, Owner.Name FROM Account`` through all 50 pages
of 2,000 records (following ``nextRecordsUrl``, decoding every page) and prints records/s,
the median of three runs. The wall-clock rate includes this client's own decoding on the
same two cores, so it also prints the emulator alone: records per CPU-second of the
emulator process (from ``/proc``), what it would serve with a core to itself.

The ingest section times the emulator's side of a Bulk API 2.0 upsert in-process, in
CPU seconds (``time.process_time``): a job upserting 100,000 new Accounts by
External_Id__c (1% failing the org's validation rule, as in ``bench_write.py``) from
``UploadComplete`` to ``JobComplete``, then its successful and failed result files,
shuffled; a fresh org per run, the median of the runs. Run from the repository root::

    python benchmarks/bench_emulator.py [--accounts 100000] [--runs 3] [--parallel 4]
        [--only query|ingest] [--ingest-rows 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from _harness import code_flow_token, spawn_emulator, stop_process

from ak_salesforce_nb.emulator import EmulatorConfig
from ak_salesforce_nb.emulator._ingest_run import run_job
from ak_salesforce_nb.emulator._state import EmulatorState

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


def upsert_csv(rows: int, tag: str) -> bytes:
    """The upload of ``bench_write.py``'s frame: every 100th name fails the rule."""
    industries = ("Energy", "Banking", "Retail", "Technology")
    lines = ["External_Id__c,Name,Industry,NumberOfEmployees,AnnualRevenue"]
    for i in range(rows):
        name = f"FAIL {tag} {i}" if i % 100 == 7 else f"Bench {tag} {i}"
        lines.append(f"{tag}-{i},{name},{industries[i % 4]},{i % 5000},{(i % 997) * 1000.5}")
    return ("\n".join(lines) + "\n").encode()


def time_ingest(rows: int, tag: str) -> tuple[float, float, int, int]:
    """CPU seconds of one upsert job and of its two result files (and the successes and
    failures), in a fresh org that rejects names starting with FAIL."""
    state = EmulatorState(
        EmulatorConfig(accounts=100, bulk_job_delay=0.0, validation_rule_prefix="FAIL")
    )
    user_id = state.store.users.columns["Id"][0]
    body = {"object": "Account", "operation": "upsert", "externalIdFieldName": "External_Id__c"}
    job = state.ingest.create(
        body, "66.0", user_id, state.records.table, state.records.external_field
    )
    state.ingest.upload(job.id, upsert_csv(rows, tag))
    state.ingest.close(job.id)
    began = time.process_time()
    asyncio.run(run_job(state, job))
    job_seconds = time.process_time() - began
    assert job.state == "JobComplete", job.error_message
    began = time.process_time()
    for kind in ("successfulResults", "failedResults"):
        job.render_result(*job.result_rows(kind, shuffle=True))
    files_seconds = time.process_time() - began
    return job_seconds, files_seconds, len(job.successes), len(job.failures)


def bench_ingest(rows: int, runs: int) -> None:
    jobs, files = [], []
    for run in range(runs):
        job_seconds, files_seconds, ok, failed = time_ingest(rows, f"R{run}")
        jobs.append(job_seconds)
        files.append(files_seconds)
        print(
            f"  ingest: {rows} rows upserted ({ok} created, {failed} failed) in "
            f"{job_seconds:.2f} CPU-s; result files {files_seconds:.3f} CPU-s"
        )
    job_median, files_median = statistics.median(jobs), statistics.median(files)
    print(
        f"ingest: median {job_median:.2f} CPU-s for the {rows}-row upsert job "
        f"({rows / job_median:,.0f} rows per CPU-second); successful + failed result "
        f"files {files_median:.3f} CPU-s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=0, help="also time N parallel fetchers")
    parser.add_argument("--only", choices=("query", "ingest"), help="run one section")
    parser.add_argument("--ingest-rows", type=int, default=100_000)
    args = parser.parse_args()
    if args.only != "query":
        bench_ingest(args.ingest_rows, args.runs)
    if args.only == "ingest":
        return
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
