"""The write and query benchmarks still run end to end, on a small org.

Not a timed test: the figures of a few thousand rows mean nothing. What is checked is
that each benchmark completes against the emulator, prints its table with every method,
and (for writes) that every row's outcome was aligned to its input row, both ways.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


@pytest.mark.timeout(900)
def test_the_write_benchmark_aligns_every_row_both_ways() -> None:
    out = _run("benchmarks/bench_write.py", "--rows", "3000", "--runs", "1")
    rows = [line for line in out.splitlines() if line.startswith("| ") and "rows/s" not in line]
    assert len(rows) == 3, out
    assert all(line.rstrip().endswith("| yes |") for line in rows), out
    assert "run by run" in out


@pytest.mark.timeout(900)
def test_the_query_benchmark_runs_every_method() -> None:
    out = _run("benchmarks/bench_query.py", "--accounts", "3000", "--runs", "1")
    rows = [line for line in out.splitlines() if line.startswith("| ") and "records/s" not in line]
    assert len(rows) == 4, out
    assert "run by run" in out
    assert "warm (the same query again) run by run" in out and "warm: " in out
