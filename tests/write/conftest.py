"""Fixtures for the write-back tests: a session on a fake org at the transport, and a
retry policy that does not wait."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.kernel._retry import RetryPolicy

from .fake_org import INSTANCE, FakeOrg


def connect_fake(store_path: Path, name: str = "prod") -> None:
    """Leave connection `name` holding (fake) tokens for the fake org's instance."""
    store = ConnectionStore(store_path)
    store.save_settings(
        name,
        client_id="fake-client-id",
        client_secret="fake-secret",
        login_url="https://login.salesforce.com",
        scopes="api refresh_token",
    )
    store.record_authorized(
        name,
        access_token="fake-access",
        refresh_token="fake-refresh",
        instance_url=INSTANCE,
        issued_at="0",
        identity={"username": "ada@example.com"},
    )


@pytest.fixture
def org() -> FakeOrg:
    return FakeOrg()


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def no_wait(waits: list[float]) -> RetryPolicy:
    """Five attempts, the waits recorded instead of slept."""
    return RetryPolicy(attempts=5, initial=0.5, maximum=20.0, sleep=waits.append)


@pytest.fixture
def sf(store_path: Path, org: FakeOrg) -> Iterator[aksf.Session]:
    connect_fake(store_path)
    transport = httpx.MockTransport(org)
    with aksf.session("prod", transport=transport, progress=False, api_version="63.0") as s:
        yield s
