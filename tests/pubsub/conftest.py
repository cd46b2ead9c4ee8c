"""Fixtures for the Pub/Sub tests: an emulator that serves the Pub/Sub API too.

``emulator`` here overrides the suite-wide session emulator (so ``emu`` and ``flow``
use it): the same org, with ``pubsub=True``. Every test points the client at it through
``AK_SALESFORCE_NB_PUBSUB_ENDPOINT``, as a user would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator
from ak_salesforce_nb.pubsub import ENV_ENDPOINT, Event
from tests.emulator.conftest import tls_files  # noqa: F401 - the TLS files fixture

#: Longest a test waits for one event to arrive.
EVENT_TIMEOUT = 15.0


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    with start_emulator(EmulatorConfig(accounts=300, auto_approve=True, pubsub=True)) as emu:
        yield emu


@pytest.fixture(autouse=True)
def pubsub_endpoint(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv(ENV_ENDPOINT, emulator.pubsub_endpoint)
    yield emulator.pubsub_endpoint
    if not emulator.pubsub_server.running:  # a test stopped it and failed midway
        emulator.start_pubsub()


async def take(
    events: AsyncIterator[Event], count: int, timeout: float = EVENT_TIMEOUT
) -> list[Event]:
    """The next `count` events of an iterator, failing after `timeout` seconds."""
    taken: list[Event] = []

    async def run() -> None:
        while len(taken) < count:
            taken.append(await anext(events))

    try:
        await asyncio.wait_for(run(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"{len(taken)} of {count} events arrived: {taken}") from None
    return taken


async def nothing_more(events: AsyncIterator[Event], wait: float = 0.5) -> None:
    """Assert that no event arrives within `wait` seconds."""
    try:
        extra = await asyncio.wait_for(anext(events), wait)
    except asyncio.TimeoutError:
        return
    raise AssertionError(f"an unexpected event arrived: {extra}")
