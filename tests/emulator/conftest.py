"""Fixtures for the emulator tests: running emulators, HTTP clients, tokens, TLS files.

``emu`` here deliberately overrides the suite-wide fixture of the same name: these tests
need an org with more data, two users and a fixed anchor date.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from simple_salesforce.api import Salesforce

from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator

from .helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    VERSION,
    browser_code,
    get_token,
    http_client,
)


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[RunningEmulator]:
    """Read-mostly org shared by the session (tests must not change its records)."""
    config = EmulatorConfig(
        accounts=1000,
        seed=7,
        users={"ada@example.com": "demo", "bob@example.com": "builder"},
        bulk_job_delay=0.2,
        anchor_date=datetime.date(2024, 6, 15),
    )
    with start_emulator(config) as emu:
        yield emu


@pytest.fixture
def emu(shared_emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    """The shared emulator, with its config and faults restored after the test."""
    saved = dataclasses.replace(shared_emulator.config)
    saved.callback_urls = list(shared_emulator.config.callback_urls)
    saved_slow = shared_emulator.slow_seconds
    yield shared_emulator
    live = shared_emulator.config
    for f in dataclasses.fields(live):
        setattr(live, f.name, getattr(saved, f.name))
    shared_emulator.token_fault = None
    shared_emulator.slow_seconds = saved_slow
    shared_emulator.clear_faults()


@pytest.fixture(scope="module")
def writable_emulator() -> Iterator[RunningEmulator]:
    """An org of its own for a test module that creates, updates or deletes records."""
    with start_emulator(EmulatorConfig(accounts=120, seed=3, bulk_job_delay=0.2)) as emu:
        yield emu


@pytest.fixture
def client(emu: RunningEmulator) -> Iterator[httpx.Client]:
    with http_client(emu.url) as http:
        yield http


@pytest.fixture
def token(emu: RunningEmulator) -> dict[str, Any]:
    return get_token(emu)


@pytest.fixture
def api(emu: RunningEmulator, token: dict[str, Any]) -> Iterator[httpx.Client]:
    """An authenticated client rooted at ``/services/data/v66.0``."""
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    with http_client(f"{emu.url}/services/data/v{VERSION}", headers=headers, timeout=30) as http:
        yield http


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for 127.0.0.1, made with cryptography."""
    from ak_salesforce_nb.emulator._tls import write_test_certificates

    return write_test_certificates(tmp_path_factory.mktemp("tls"))


# -- clients nobody here wrote (simple-salesforce, authlib): a TLS emulator per module


@pytest.fixture(scope="module")
def tls_emulator(tls_files: tuple[Path, Path, Path]) -> Iterator[RunningEmulator]:
    _, cert, key = tls_files
    config = EmulatorConfig(
        accounts=1000,
        seed=11,
        tls_certfile=str(cert),
        tls_keyfile=str(key),
        bulk_job_delay=0.1,
    )
    with start_emulator(config) as emu:
        yield emu


@pytest.fixture(scope="module")
def https(tls_files: tuple[Path, Path, Path]) -> Iterator[requests.Session]:
    session = requests.Session()
    session.verify = str(tls_files[0])
    # requests lets REQUESTS_CA_BUNDLE (set on many machines) override session.verify;
    # the emulator is on loopback, so ignore the environment (proxies included).
    session.trust_env = False
    yield session
    session.close()


@pytest.fixture(scope="module")
def sf(tls_emulator: RunningEmulator, https: requests.Session) -> Any:
    """simple-salesforce with a session id from a real code flow (login + consent pages)."""
    oauth = OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        scope="api refresh_token",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    oauth.verify, oauth.trust_env = https.verify, False
    verifier = "v" * 150  # longer than RFC 7636 allows, as jsforce sends
    url, _ = oauth.create_authorization_url(
        f"{tls_emulator.url}/services/oauth2/authorize", code_verifier=verifier
    )
    callback = browser_code(https, url)
    token = oauth.fetch_token(
        f"{tls_emulator.url}/services/oauth2/token",
        authorization_response=callback,
        code_verifier=verifier,
    )
    oauth.close()
    return Salesforce(
        session_id=token["access_token"],
        instance_url=token["instance_url"],
        version="66.0",
        session=https,
    )
