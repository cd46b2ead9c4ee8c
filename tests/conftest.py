"""Fixtures shared by the whole suite: a store per test, the emulator, a Jupyter server.

The Jupyter server comes from pytest-jupyter (`jp_fetch`, `jp_serverapp`) under a
non-root base URL; the emulator is a real HTTP server on loopback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from ak_salesforce_nb.core._environment import ENV_KEYRING, ENV_STORE, SERVER_EXPORTS
from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator

pytest_plugins = ["pytest_jupyter.jupyter_server"]

CLIENT_ID = "demo-client-id"
CLIENT_SECRET = "demo-client-secret"


# The store's variable belongs to the `store_path` fixture.
_CLEARED = tuple(name for name in SERVER_EXPORTS if name != ENV_STORE)


@pytest.fixture(autouse=True)
def _forget_exported_environment() -> Iterator[None]:
    """The server extension exports variables for its kernels into os.environ; one test's
    server must not configure the next test's kernel side."""
    for name in _CLEARED:
        os.environ.pop(name, None)
    yield
    for name in _CLEARED:
        os.environ.pop(name, None)


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    """One emulator for the session (auto-approve); tests that change its faults reset them."""
    with start_emulator(EmulatorConfig(accounts=300, auto_approve=True)) as emu:
        yield emu


@pytest.fixture
def emu(emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    """The session emulator, with faults and switches put back after the test."""
    yield emulator
    emulator.token_fault = None
    emulator.config.rotate_refresh_tokens = False
    emulator.config.require_pkce = False
    emulator.config.auto_approve = True
    emulator.config.callback_urls = []
    emulator.config.shuffle_results = False
    emulator.config.validation_rule_prefix = None
    defaults = EmulatorConfig()
    for switch in (
        "device_flow",
        "device_interval",
        "client_credentials",
        "jwt_bearer",
        "require_client_secret",
    ):
        setattr(emulator.config, switch, getattr(defaults, switch))
    emulator.clear_faults()


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "aksf-store" / "store.sqlite3"
    monkeypatch.setenv(ENV_STORE, str(path))
    monkeypatch.setenv(ENV_KEYRING, "off")
    return path


@pytest.fixture
def jp_base_url() -> str:
    return "/a%40b/"


@pytest.fixture
def jp_server_config(store_path: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"ak_salesforce_nb": True}},
        "SalesforceOAuth": {"store_path": str(store_path), "http_timeout": 5.0},
    }


def connection_body(emu: RunningEmulator, **overrides: Any) -> str:
    body = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "login_url": emu.url,
        "scopes": "api refresh_token",
    }
    body.update(overrides)
    return json.dumps(body)


class Flow:
    """Drives the OAuth dance over real HTTP: our server ↔ the emulator."""

    def __init__(self, jp_fetch: Any, emu: RunningEmulator) -> None:
        self.fetch = jp_fetch
        self.emu = emu

    async def api(self, *parts: str, method: str = "GET", body: Any = None) -> Any:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if body is not None:
            kwargs["body"] = body if isinstance(body, str) else json.dumps(body)
        elif method in ("POST", "PUT"):
            kwargs["body"] = ""
        return await self.fetch("ak-salesforce", "api", "connections", *parts, **kwargs)

    async def create(self, name: str = "prod", **overrides: Any) -> dict[str, Any]:
        response = await self.api(name, method="PUT", body=connection_body(self.emu, **overrides))
        assert response.code == 200, response.body
        return dict(json.loads(response.body))

    async def begin(self, name: str = "prod") -> str:
        response = await self.api(name, "authorize", method="POST")
        assert response.code == 200, response.body
        url = json.loads(response.body)["authorize_url"]
        return dict(parse_qsl(urlsplit(url).query))["state"]

    async def open_start(self, params: dict[str, str], **kwargs: Any) -> Any:
        """`GET oauth/start/salesforce?PARAMS` as it answers (redirects not followed)."""
        return await self.fetch(
            "oauth",
            "start",
            "salesforce",
            params=params,
            follow_redirects=False,
            raise_error=False,
            **kwargs,
        )

    async def start(self, state: str) -> str:
        response = await self.open_start({"state": state})
        assert response.code == 302, response.body
        return str(response.headers["Location"])

    async def salesforce(self, authorize_url: str) -> dict[str, str]:
        """The emulator's answer to the authorize URL (auto-approve): the callback params."""
        async with httpx.AsyncClient() as client:
            response = await client.get(authorize_url)
        assert response.status_code == 302, response.text
        return dict(parse_qsl(urlsplit(response.headers["location"]).query))

    async def callback(self, params: dict[str, str]) -> Any:
        return await self.fetch("oauth", "redirect", "salesforce", params=params, raise_error=False)

    async def connect(self, name: str = "prod") -> Any:
        await self.create(name)
        state = await self.begin(name)
        params = await self.salesforce(await self.start(state))
        response = await self.callback(params)
        assert response.code == 200, response.body
        return response

    async def get(self, name: str = "prod") -> dict[str, Any]:
        response = await self.api(name)
        return dict(json.loads(response.body))


@pytest.fixture
def flow(jp_fetch: Any, emu: RunningEmulator) -> Flow:
    return Flow(jp_fetch, emu)
