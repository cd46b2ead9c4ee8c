"""Query throughput and peak memory: ours against simple-salesforce, side by side.

Starts the emulator over https with 100,000 accounts (simple-salesforce only speaks
https), authorizes a throw-away store against it, then runs the same query three ways,
each in a fresh process (so peak memory is its own), three times, and prints medians:

- `session.query`      REST, pages fetched ahead in parallel, typed DataFrame
- `session.bulk_query` Bulk API 2.0 job, CSV pages
- simple-salesforce    `query_all` + `pandas.DataFrame(records)` (the common recipe)
- simple-salesforce    `bulk2.Account.query` pages + `pandas.read_csv` each + `concat` (its
                       Bulk API 2.0 recipe, the fair peer of `bulk_query`; `wait=1`, as
                       its default of 5 s between polls would only flatter us)

Each child times the query from just before the session is made (its library's import
included, for both sides: a fresh process pays it) and reports its CPU seconds too, which a
busy machine disturbs less than wall-clock time. It then runs the same query once more in
the same process and session, as a notebook's next cell would: the "warm" figures, which
leave out the imports and the session's first requests (peak memory is the first run's).
The children compile their bytecode into a temporary cache (as an installed package has
it; a checkout run with PYTHONDONTWRITEBYTECODE would otherwise recompile every changed
module of ours in every child), warmed once before the timed runs.

Run: `make bench` (or `python benchmarks/bench_query.py --accounts 100000 --runs 3`).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import (
    authorize_store,
    compile_into,
    cpu_seconds,
    run_child,
    spawn_tls_emulator,
    stop_process,
)

from ak_salesforce_nb.core._environment import ENV_KEYRING, ENV_STORE
from ak_salesforce_nb.core._store import ConnectionStore

QUERY = (
    "SELECT Id, Name, Industry, AnnualRevenue, NumberOfEmployees, CreatedDate, Owner.Name "
    "FROM Account"
)
METHODS = (
    "ours: session.query",
    "ours: session.bulk_query",
    "simple-salesforce query_all",
    "simple-salesforce bulk2 query",
)


def warm() -> None:
    """Import what the children import, so their bytecode is compiled before timing."""
    import pandas  # noqa: F401
    import simple_salesforce.api  # noqa: F401

    import ak_salesforce_nb.kernel._bulk
    import ak_salesforce_nb.kernel._session  # noqa: F401


def child(method: str, instance: str) -> None:
    """Run one method in this (fresh) process; print JSON with rows, seconds, CPU
    seconds, peak MB."""
    import pandas as pd

    import ak_salesforce_nb as aksf

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu = cpu_seconds()
    started = time.perf_counter()
    if method in METHODS[:2]:
        with aksf.session("bench", progress=False) as sf:
            run = sf.query if method == METHODS[0] else sf.bulk_query
            rows = len(run(QUERY, progress=False))
            seconds, cpu, peak = _lap(started, cpu)
            warm = time.perf_counter()
            assert len(run(QUERY, progress=False)) == rows
            warm_seconds = time.perf_counter() - warm
    else:
        from simple_salesforce.api import Salesforce

        from ak_salesforce_nb.core._store import ConnectionStore

        tokens = ConnectionStore().get_tokens("bench")
        assert tokens is not None
        peer = Salesforce(session_id=tokens.access_token, instance_url=instance, version="63.0")

        def peer_frame() -> pd.DataFrame:
            if method == METHODS[2]:
                return pd.DataFrame(peer.query_all(QUERY)["records"])
            pages = peer.bulk2.Account.query(QUERY, wait=1)
            return pd.concat([pd.read_csv(io.StringIO(page)) for page in pages], ignore_index=True)

        rows = len(peer_frame())
        seconds, cpu, peak = _lap(started, cpu)
        warm = time.perf_counter()
        assert len(peer_frame()) == rows
        warm_seconds = time.perf_counter() - warm
    result = {
        "rows": rows,
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": (peak - before) / 1024,
        "warm_seconds": warm_seconds,
    }
    print(json.dumps(result))


def _lap(started: float, cpu: float) -> tuple[float, float, int]:
    """Seconds and CPU seconds since the start, and the peak RSS so far (KiB)."""
    return (
        time.perf_counter() - started,
        cpu_seconds() - cpu,
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )


def start_emulator(
    accounts: int, folder: Path, bulk_job_delay: float
) -> tuple[subprocess.Popen[str], str]:
    return spawn_tls_emulator(
        folder,
        "--accounts",
        str(accounts),
        "--auto-approve",
        "--bulk-job-delay",
        str(bulk_job_delay),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--bulk-job-delay",
        type=float,
        default=0.3,
        help="seconds the emulator takes to process a Bulk job (its default: 0.3)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=METHODS,
        help="run only this method (repeatable; the ratios need both peers)",
    )
    parser.add_argument("--child", choices=[*METHODS, "warm"])
    parser.add_argument("--instance", default="")
    args = parser.parse_args()
    if args.child == "warm":
        warm()
        return
    if args.child:
        child(args.child, args.instance)
        return
    with tempfile.TemporaryDirectory() as folder:
        os.environ[ENV_STORE] = str(Path(folder) / "store" / "store.sqlite3")
        os.environ[ENV_KEYRING] = "off"
        emulator, url = start_emulator(args.accounts, Path(folder), args.bulk_job_delay)
        try:
            authorize_store(ConnectionStore(), url)
            compile_into(Path(folder) / "pycache", __file__)
            results: dict[str, list[dict[str, float]]] = {m: [] for m in METHODS}
            for _ in range(args.runs):
                for method in args.only or METHODS:  # interleaved: drift hits all alike
                    command = [sys.executable, __file__, "--child", method, "--instance", url]
                    out = run_child(command, timeout=600)
                    results[method].append(json.loads(out.strip().splitlines()[-1]))
        finally:
            stop_process(emulator)
    if args.only:
        for method in args.only:
            print(method, json.dumps(results[method]))
        return
    peer = METHODS[2]
    peer_rate = statistics.median(r["rows"] / r["seconds"] for r in results[peer])
    peer_mb = statistics.median(r["peak_mb"] for r in results[peer])
    bulk_peer = METHODS[3]
    bulk_rate = statistics.median(r["rows"] / r["seconds"] for r in results[bulk_peer])
    print(
        f"\n{args.accounts:,}-row query, median of {args.runs} runs, one process per run; "
        f"Bulk jobs take {args.bulk_job_delay:g} s to process on the emulator\n"
    )
    print(
        "| method | records/s | seconds | CPU s | peak MB "
        "| speed vs query_all | memory vs query_all | speed vs bulk2 query |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for method in METHODS:
        rate = statistics.median(r["rows"] / r["seconds"] for r in results[method])
        seconds = statistics.median(r["seconds"] for r in results[method])
        cpu = statistics.median(r["cpu"] for r in results[method])
        mb = statistics.median(r["peak_mb"] for r in results[method])
        print(
            f"| {method} | {rate:,.0f} | {seconds:.2f} | {cpu:.2f} | {mb:,.0f} "
            f"| {rate / peer_rate:.2f}x | {mb / peer_mb:.2f}x | {rate / bulk_rate:.2f}x |"
        )
    print()
    ours = results[METHODS[1]]
    for key, when in (("seconds", ""), ("warm_seconds", "warm (the same query again) ")):
        for other in (peer, bulk_peer):
            ratios = [
                theirs[key] / mine[key] for mine, theirs in zip(ours, results[other], strict=True)
            ]
            print(
                f"bulk_query vs {other}, {when}run by run: "
                + ", ".join(f"{x:.2f}x" for x in ratios)
            )
    print()
    for method in METHODS:
        again = statistics.median(r["warm_seconds"] for r in results[method])
        print(f"{method}, warm: {again:.2f} s median")


if __name__ == "__main__":
    main()
