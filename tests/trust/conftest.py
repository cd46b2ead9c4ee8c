"""Fixtures of the trust suite, on top of the shared ones in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ak_salesforce_nb.emulator import RunningEmulator


@pytest.fixture
def emu(emu: RunningEmulator) -> Iterator[RunningEmulator]:
    """The shared emulator; also puts back `slow_seconds`, which the shared fixture keeps."""
    slow = emu.slow_seconds
    try:
        yield emu
    finally:
        emu.token_fault = None
        emu.slow_seconds = slow
