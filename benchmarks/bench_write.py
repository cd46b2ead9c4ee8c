"""Write-back throughput and peak memory: `sf.upsert` against simple-salesforce's bulk2.

Starts the emulator over https (simple-salesforce only speaks https) with its result
files shuffled (as Salesforce may serve them), authorizes a throw-away store, then
upserts the same 100,000-account DataFrame (by External_Id__c, 1% of the rows failing a
validation rule) each way, in a fresh process each time (so peak memory is its own),
interleaved, and prints medians:

- ours: ``sf.upsert("Account", df, external_id="External_Id__c")``: one call, a result
  frame aligned to the input (asserted here);
- simple-salesforce: ``df.to_csv`` → ``sf.bulk2.Account.upsert(csv_file=…)`` →
  ``get_successful_records`` / ``get_failed_records`` → both CSVs read and merged back
  on the external id, which is what its users must write to know each row's outcome.
  Its ``wait`` (the seconds between polls) is 5 by default; the table shows it with the
  default and tuned to 1 s, and the ratios are against the tuned (faster) one.

Each run upserts new external ids, so every run creates 100,000 records. Each child times
the write from just before its library's import (a fresh process pays it, both sides) and
reports its CPU seconds too, which a busy machine disturbs less than wall-clock time. The
children compile their bytecode into a temporary cache, warmed once before the timed runs
(as an installed package has it; a checkout run under PYTHONDONTWRITEBYTECODE would
otherwise recompile every changed module of ours in every child).

Run: `python benchmarks/bench_write.py --rows 100000 --runs 3`.
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
from typing import Any

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

OURS = "ours: sf.upsert"
PEER_DEFAULT = "simple-salesforce bulk2 upsert (wait=5, its default) + matching"
PEER = "simple-salesforce bulk2 upsert (wait=1) + matching"
METHODS = (OURS, PEER, PEER_DEFAULT)
FAIL_PREFIX = "FAIL"


def make_frame(rows: int, tag: str) -> Any:
    """The input: 100,000 accounts, every 100th failing the org's validation rule."""
    import numpy as np
    import pandas as pd

    numbers = np.arange(rows)
    names = [f"{FAIL_PREFIX} {tag} {i}" if i % 100 == 7 else f"Bench {tag} {i}" for i in numbers]
    industries = np.array(["Energy", "Banking", "Retail", "Technology"])[numbers % 4]
    return pd.DataFrame(
        {
            "External_Id__c": [f"{tag}-{i}" for i in numbers],
            "Name": names,
            "Industry": industries,
            "NumberOfEmployees": numbers % 5000,
            "AnnualRevenue": (numbers % 997) * 1000.5,
        }
    )


def _ours(frame: Any) -> Any:
    import ak_salesforce_nb as aksf

    with aksf.session("bench", progress=False) as sf:
        return sf.upsert("Account", frame, external_id="External_Id__c", method="bulk")


def _peer(frame: Any, instance: str, wait: int) -> Any:
    """simple-salesforce's recipe, and the matching its users write by hand."""
    import pandas as pd
    from simple_salesforce.api import Salesforce

    tokens = ConnectionStore().get_tokens("bench")
    assert tokens is not None
    peer = Salesforce(session_id=tokens.access_token, instance_url=instance, version="63.0")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upsert.csv"
        frame.to_csv(path, index=False)
        jobs = peer.bulk2.Account.upsert(
            csv_file=str(path), external_id_field="External_Id__c", wait=wait
        )
    parts = []
    for job in jobs:
        ok = pd.read_csv(
            io.StringIO(peer.bulk2.Account.get_successful_records(job["job_id"])), dtype=str
        )
        bad = pd.read_csv(
            io.StringIO(peer.bulk2.Account.get_failed_records(job["job_id"])), dtype=str
        )
        ok["success"] = True
        bad["success"] = False
        parts += [ok, bad]
    answers = pd.concat(parts, ignore_index=True)
    answers = answers.rename(
        columns={"sf__Id": "id", "sf__Created": "created", "sf__Error": "error"}
    )
    keyed = frame[["External_Id__c"]].reset_index()
    merged = keyed.merge(
        answers[["External_Id__c", "success", "id", "created", "error"]],
        on="External_Id__c",
        how="left",
    )
    return merged.set_index("index").reindex(frame.index)


def warm() -> None:
    """Import what the children import, so their bytecode is compiled before timing."""
    import simple_salesforce.api  # noqa: F401

    import ak_salesforce_nb.kernel._session
    import ak_salesforce_nb.kernel._writes  # noqa: F401


def child(method: str, instance: str, rows: int, tag: str) -> None:
    """One method in this (fresh) process; JSON with rows, seconds, CPU seconds, peak MB,
    failures."""
    frame = make_frame(rows, tag)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu = cpu_seconds()
    started = time.perf_counter()
    if method == OURS:
        result = _ours(frame)
    else:
        result = _peer(frame, instance, 5 if method == PEER_DEFAULT else 1)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    expected_failures = frame["Name"].str.startswith(FAIL_PREFIX)
    success = result["success"].astype(bool)
    aligned = bool((success == ~expected_failures).all()) and len(result) == rows
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "cpu": cpu,
                "peak_mb": (peak - before) / 1024,
                "failed": int((~success).sum()),
                "aligned": aligned,
            }
        )
    )


def start_emulator(folder: Path, bulk_job_delay: float) -> tuple[subprocess.Popen[str], str]:
    return spawn_tls_emulator(
        folder,
        "--accounts",
        "100",
        "--auto-approve",
        "--shuffle-results",
        "--validation-rule-prefix",
        FAIL_PREFIX,
        "--bulk-job-delay",
        str(bulk_job_delay),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bulk-job-delay", type=float, default=0.3)
    parser.add_argument(
        "--only",
        action="append",
        choices=METHODS,
        help="run only this method (repeatable; the ratios need the tuned peer)",
    )
    parser.add_argument("--child", choices=[*METHODS, "warm"])
    parser.add_argument("--instance", default="")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    if args.child == "warm":
        warm()
        return
    if args.child:
        child(args.child, args.instance, args.rows, args.tag)
        return
    with tempfile.TemporaryDirectory() as folder:
        os.environ[ENV_STORE] = str(Path(folder) / "store" / "store.sqlite3")
        os.environ[ENV_KEYRING] = "off"
        emulator, url = start_emulator(Path(folder), args.bulk_job_delay)
        try:
            authorize_store(ConnectionStore(), url)
            compile_into(Path(folder) / "pycache", __file__)
            results: dict[str, list[dict[str, Any]]] = {m: [] for m in METHODS}
            for run in range(args.runs):
                for number, method in enumerate(METHODS):  # interleaved: drift hits all alike
                    if args.only and method not in args.only:
                        continue
                    command = [
                        sys.executable,
                        __file__,
                        "--child",
                        method,
                        "--instance",
                        url,
                        "--rows",
                        str(args.rows),
                        "--tag",
                        f"r{run}m{number}",
                    ]
                    out = run_child(command, timeout=1200)
                    results[method].append(json.loads(out.strip().splitlines()[-1]))
        finally:
            stop_process(emulator)
    if args.only:
        for method in args.only:
            print(method, json.dumps(results[method]))
        return
    peer_rate = statistics.median(r["rows"] / r["seconds"] for r in results[PEER])
    peer_mb = statistics.median(r["peak_mb"] for r in results[PEER])
    print(
        f"\n{args.rows:,}-row upsert of Account by External_Id__c (1% failing), median of "
        f"{args.runs} runs, one process per run; result files shuffled; Bulk jobs take at "
        f"least {args.bulk_job_delay:g} s on the emulator\n"
    )
    print(
        "| method | rows/s | seconds | CPU s | peak MB | speed vs peer (wait=1) "
        "| memory vs peer | every row aligned |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for method in METHODS:
        rate = statistics.median(r["rows"] / r["seconds"] for r in results[method])
        seconds = statistics.median(r["seconds"] for r in results[method])
        cpu = statistics.median(r["cpu"] for r in results[method])
        mb = statistics.median(r["peak_mb"] for r in results[method])
        aligned = all(r["aligned"] for r in results[method])
        print(
            f"| {method} | {rate:,.0f} | {seconds:.2f} | {cpu:.2f} | {mb:,.0f} "
            f"| {rate / peer_rate:.2f}x | {mb / peer_mb:.2f}x | {'yes' if aligned else 'NO'} |"
        )
    print()
    ratios = [
        theirs["seconds"] / mine["seconds"]
        for mine, theirs in zip(results[OURS], results[PEER], strict=True)
    ]
    memory = [
        mine["peak_mb"] / theirs["peak_mb"]
        for mine, theirs in zip(results[OURS], results[PEER], strict=True)
    ]
    print("sf.upsert vs the peer (wait=1), run by run: " + ", ".join(f"{x:.2f}x" for x in ratios))
    print("memory vs the peer (wait=1), run by run: " + ", ".join(f"{x:.2f}x" for x in memory))


if __name__ == "__main__":
    main()
