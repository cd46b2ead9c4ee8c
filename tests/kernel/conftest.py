"""Fixtures of the kernel-side tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.kernel._paste_flow import DEFAULT_PASTE_REDIRECT_URI


@pytest.fixture
def flows_emu(emu: RunningEmulator) -> Iterator[RunningEmulator]:
    """The session emulator for the kernel's flows: polling once a second, the sf CLI's
    callback address registered; every switch a test flips is put back."""
    emu.config.device_interval = 1
    emu.config.callback_urls = [DEFAULT_PASTE_REDIRECT_URI]
    yield emu
    emu.config.device_interval = 5
    emu.config.device_flow = True
    emu.config.require_client_secret = True
