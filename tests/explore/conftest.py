"""Fixtures for the magic, explorer and bulk tests.

Most tests connect "prod" through the real Jupyter server (`flow`). The big-result tests
need their own emulator (100,000 Contacts: 2.5 per account, 40,000 accounts) and authorize a store
against it directly, with a real authorization code and token request (`authorize_store`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.core import _oauth
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator

REDIRECT_URI = "http://localhost/oauth/redirect/salesforce"
BIG_ACCOUNTS = 40_000  # the emulator makes 2.5 contacts per account: 100,000 Contacts
BIG_ROWS = 100_000


def authorize_store(emu: RunningEmulator, path: Path | str, name: str = "prod") -> None:
    """Leave connection `name` of the store at `path` connected to `emu`.

    The emulator mints a code for its default user (as if they approved), and the code is
    exchanged at its token endpoint with PKCE, like the server extension does.
    """
    verifier = _oauth.new_code_verifier()
    code = emu.authorize_code(
        redirect_uri=REDIRECT_URI, code_challenge=_oauth.code_challenge(verifier)
    )
    with httpx.Client(timeout=30) as client:
        token = _oauth.parse_token_response(
            client.send(
                _oauth.token_request(
                    emu.url,
                    client_id=emu.config.client_id,
                    client_secret=emu.config.client_secret,
                    code=code,
                    redirect_uri=REDIRECT_URI,
                    verifier=verifier,
                )
            )
        )
    _oauth.verify_signature(token, emu.config.client_secret)
    store = ConnectionStore(path)
    store.save_settings(
        name,
        client_id=emu.config.client_id,
        client_secret=emu.config.client_secret,
        login_url=emu.url,
        scopes="api refresh_token",
    )
    store.record_authorized(
        name,
        access_token=token.access_token,
        refresh_token=token.refresh_token,
        instance_url=token.instance_url,
        issued_at=token.issued_at,
        identity={"username": emu.config.default_username},
    )


@pytest.fixture(scope="module")
def big_emu() -> Iterator[RunningEmulator]:
    """An org with 100,000 Contacts, for this module only."""
    config = EmulatorConfig(accounts=BIG_ACCOUNTS, auto_approve=True, bulk_job_delay=0.2)
    with start_emulator(config) as emu:
        yield emu


@pytest.fixture(scope="module")
def wide_emu() -> Iterator[RunningEmulator]:
    """An org with 1,200 extra custom objects in its global describe."""
    config = EmulatorConfig(accounts=50, auto_approve=True, extra_objects=1200)
    with start_emulator(config) as emu:
        yield emu


@pytest.fixture
def big_store(big_emu: RunningEmulator, store_path: Path) -> Path:
    authorize_store(big_emu, store_path)
    return store_path


@pytest.fixture
def wide_store(wide_emu: RunningEmulator, store_path: Path) -> Path:
    authorize_store(wide_emu, store_path)
    return store_path


@pytest.fixture
def shell() -> Iterator[Any]:
    """IPython's real InteractiveShell with the extension loaded; its names put back after."""
    from IPython.core.interactiveshell import InteractiveShell

    import ak_salesforce_nb

    ak_salesforce_nb.__dict__.pop("_last_connection", None)  # other tests named connections
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "ak_salesforce_nb")
    before = set(ip.user_ns)
    yield ip
    for name in set(ip.user_ns) - before:
        ip.user_ns.pop(name, None)
    ak_salesforce_nb.__dict__.pop("_last_connection", None)
