"""Waiting for worker threads in a way Ctrl-C can interrupt.

`concurrent.futures.wait` with no timeout blocks the main thread in a lock that a
KeyboardInterrupt reaches only late (or, on some platforms, not at all); short waits in a
loop let Ctrl-C through at once, so a write can abort its jobs at Salesforce.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterable
from typing import Any

__all__ = ["wait_interruptibly"]


def wait_interruptibly(futures: Iterable[concurrent.futures.Future[Any]]) -> None:
    """Wait for every future, re-raising the first failure as it completes."""
    pending = set(futures)
    while pending:
        done, pending = concurrent.futures.wait(
            pending, timeout=0.25, return_when=concurrent.futures.FIRST_COMPLETED
        )
        for future in done:
            future.result()
