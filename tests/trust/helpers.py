"""What the trust suite shares: raw store snapshots, a callback-page parser, and a real
``jupyter server`` subprocess (with the extension, a temp store and token auth) driven
over loopback HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from ak_salesforce_nb.core._environment import ENV_KEYRING, ENV_STORE
from tests.conftest import CLIENT_ID, CLIENT_SECRET

REPO = Path(__file__).resolve().parents[2]
BASE_URL = "/a%40b/"


def store_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, raw (ciphertext included), read with a separate connection.

    `meta` holds the revision counter that moves on every committed write, so equal
    snapshots mean that no write transaction committed at all. Tables are listed from the
    schema, so tables added by later versions are compared too.
    """
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        assert {"meta", "connections", "tokens", "pending"} <= set(tables), tables
        return {
            table: sorted(db.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            for table in tables
        }
    finally:
        db.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    return free_port()


# -- the callback page --------------------------------------------------------------


@dataclass
class ParsedPage:
    tags: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    scripts: list[tuple[dict[str, str | None], str]] = field(default_factory=list)
    text_by_id: dict[str, str] = field(default_factory=dict)
    title: str = ""


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = ParsedPage()
        self._stack: list[tuple[str, dict[str, str | None]]] = []
        self._script: list[str] | None = None
        self._texts: dict[str, list[str]] = {}
        self._title: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.page.tags.append((tag, attributes))
        if tag in ("meta", "br", "img", "input", "link"):
            return
        self._stack.append((tag, attributes))
        if tag == "script":
            self._script = []
        if tag == "title":
            self._title = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            attrs = next((a for t, a in reversed(self._stack) if t == "script"), {})
            self.page.scripts.append((attrs, "".join(self._script)))
            self._script = None
        if tag == "title" and self._title is not None:
            self.page.title = "".join(self._title)
            self._title = None
        while self._stack:
            open_tag, _ = self._stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)
        if self._title is not None:
            self._title.append(data)
        for _, attrs in self._stack:
            ident = attrs.get("id")
            if ident:
                self._texts.setdefault(ident, []).append(data)

    def close(self) -> None:
        super().close()
        self.page.text_by_id = {k: "".join(v) for k, v in self._texts.items()}


def parse_page(body: str) -> ParsedPage:
    parser = _PageParser()
    parser.feed(body)
    parser.close()
    return parser.page


#: Every element and attribute our callback page is made of; anything else came from input.
PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "h1", "span", "p", "script"}
PAGE_ATTRIBUTES = {"lang", "charset", "name", "content", "class", "aria-hidden", "id"}
PAGE_ATTRIBUTES |= {"data-outcome", "nonce"}


def assert_inert_page(body: str, csp: str) -> ParsedPage:
    """The page has only our elements and attributes, and one script: ours, with the CSP
    nonce, whose source is exactly the template's (no payload became code)."""
    page = parse_page(body)
    tags = {tag for tag, _ in page.tags}
    assert tags <= PAGE_TAGS, tags - PAGE_TAGS
    for tag, attrs in page.tags:
        assert set(attrs) <= PAGE_ATTRIBUTES, (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    assert [t for t, _ in page.tags].count("script") == 1
    assert len(page.scripts) == 1
    attrs, source = page.scripts[0]
    nonce = re.search(r"script-src 'nonce-([^']+)'", csp)
    assert nonce is not None and attrs == {"nonce": nonce.group(1)}
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp.split("script-src")[1]
    # The script is the template with one JSON literal in it; the literal parses back.
    head, sep, rest = source.partition("var message = ")
    assert sep, source
    literal, sep, tail = rest.partition(";\n")
    assert sep
    message = json.loads(literal)
    assert set(message) == {"type", "name", "state", "message"}
    assert "</" not in literal and "<" not in literal and ">" not in literal
    assert head.strip() == "(function () {"
    calls = re.findall(r"postMessage\(([^)]*)\)", tail)
    assert calls == ["message", "message, window.location.origin"], calls
    assert '"*"' not in source and "'*'" not in source
    return page


# -- a real jupyter server ------------------------------------------------------------


@dataclass
class JupyterProcess:
    """A `jupyter server` subprocess with the extension on a given store."""

    process: subprocess.Popen[bytes]
    port: int
    token: str
    store_path: Path
    log_path: Path

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.origin + BASE_URL

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def start_jupyter(
    base: Path,
    store_path: Path,
    *,
    config: dict[str, Any] | None = None,
    pythonpath: list[Path] | None = None,
    timeout: float = 60.0,
) -> JupyterProcess:
    """Start `python -m jupyter_server` on a free loopback port; wait until it answers."""
    base.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    port = free_port()
    settings: dict[str, Any] = {
        "ServerApp": {"jpserver_extensions": {"ak_salesforce_nb": True}},
        "SalesforceOAuth": {"store_path": str(store_path), "http_timeout": 5.0},
    }
    for section, values in (config or {}).items():
        settings.setdefault(section, {}).update(values)
    config_dir = base / f"config-{port}"
    config_dir.mkdir()
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(settings))
    root = base / "root"
    root.mkdir(exist_ok=True)
    env = dict(os.environ)
    paths = [str(REPO), *(str(p) for p in pythonpath or [])]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [*paths, env.get("PYTHONPATH")]))
    env.update(
        {
            "JUPYTER_CONFIG_DIR": str(config_dir),
            "JUPYTER_DATA_DIR": str(base / "data"),
            "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
            ENV_KEYRING: "off",
            ENV_STORE: str(store_path),
        }
    )
    log_path = base / f"jupyter-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.base_url={BASE_URL}",
                f"--ServerApp.root_dir={root}",
                "--ServerApp.allow_root=True",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=base,
        )
    server = JupyterProcess(process, port, token, store_path, log_path)
    deadline = time.monotonic() + timeout
    while True:
        try:
            status = httpx.get(f"{server.url}api/status", headers=server.headers, timeout=2)
            if status.status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise AssertionError("jupyter server did not start:\n" + server.log()[-4000:])
        time.sleep(0.2)


@contextlib.contextmanager
def running_jupyter(base: Path, store_path: Path, **kwargs: Any) -> Iterator[JupyterProcess]:
    server = start_jupyter(base, store_path, **kwargs)
    try:
        yield server
    finally:
        server.stop()


class RemoteFlow:
    """The OAuth dance against a `JupyterProcess`, over real HTTP (our server ↔ emulator)."""

    def __init__(self, server: JupyterProcess, emu_url: str, client: httpx.AsyncClient) -> None:
        self.server = server
        self.emu_url = emu_url
        self.client = client

    def api_url(self, *parts: str) -> str:
        return self.server.url + "/".join(("ak-salesforce", "api", "connections", *parts))

    async def create(self, name: str) -> httpx.Response:
        body = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "login_url": self.emu_url,
            "scopes": "api refresh_token",
        }
        response = await self.client.put(self.api_url(name), json=body, headers=self.server.headers)
        assert response.status_code == 200, response.text
        return response

    async def begin(self, name: str) -> str:
        response = await self.client.post(
            self.api_url(name, "authorize"), content=b"", headers=self.server.headers
        )
        assert response.status_code == 200, response.text
        authorize_url = str(response.json()["authorize_url"])
        return dict(parse_qsl(urlsplit(authorize_url).query))["state"]

    async def start(self, state: str) -> str:
        response = await self.client.get(
            self.server.url + "oauth/start/salesforce",
            params={"state": state},
            headers=self.server.headers,
        )
        assert response.status_code == 302, response.text
        return str(response.headers["location"])

    async def salesforce(self, authorize_url: str) -> dict[str, str]:
        response = await self.client.get(authorize_url)
        assert response.status_code == 302, response.text
        return dict(parse_qsl(urlsplit(response.headers["location"]).query))

    async def callback(self, params: dict[str, str], **kwargs: Any) -> httpx.Response:
        return await self.client.get(
            self.server.url + "oauth/redirect/salesforce", params=params, **kwargs
        )

    async def code_for(self, name: str) -> dict[str, str]:
        """Begin, start and approve: the callback parameters Salesforce would send."""
        return await self.salesforce(await self.start(await self.begin(name)))

    async def connect(self, name: str) -> None:
        await self.create(name)
        response = await self.callback(await self.code_for(name))
        assert response.status_code == 200, response.text

    async def connection(self, name: str) -> dict[str, Any]:
        response = await self.client.get(self.api_url(name), headers=self.server.headers)
        assert response.status_code == 200, response.text
        return dict(response.json())
