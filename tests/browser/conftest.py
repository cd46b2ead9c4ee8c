"""A real JupyterLab (subprocess, token auth, non-root base URL), a real emulator with its
login and consent pages, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.core._environment import ENV_KEYRING, ENV_STORE
from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator

CHROMIUM = os.environ.get("AK_SALESFORCE_NB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Lab:
    url: str  # http://127.0.0.1:PORT/jl/
    token: str
    root: Path
    store_path: Path
    log_path: Path

    def page_url(self, path: str) -> str:
        return f"{self.url}{path}?token={self.token}"

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        import nbformat

        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(c) for c in cells],
            metadata={
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
            },
        )
        path = self.root / name
        nbformat.write(nb, path)
        return path


@pytest.fixture(scope="module")
def browser_emulator() -> Iterator[RunningEmulator]:
    with start_emulator(EmulatorConfig(accounts=200, auto_approve=False)) as emu:
        yield emu


def _settings(root: Path) -> Path:
    settings = root / "lab-settings"
    values: dict[str, dict[str, Any]] = {
        "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": True},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for relative, value in values.items():
        path = settings / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    return settings


@contextlib.contextmanager
def running_jupyter(
    tmp_path_factory: pytest.TempPathFactory,
    app: str,
    base_url: str,
    *extra: str,
    lab_settings: bool = True,
) -> Iterator[Lab]:
    """`python -m APP` (jupyterlab, or notebook for Notebook 7) on 127.0.0.1 with a token
    under `base_url`, its own store, settings and runtime folders; stopped after."""
    base = tmp_path_factory.mktemp(app)
    root = base / "notebooks"
    root.mkdir()
    store_path = base / "store" / "store.sqlite3"
    token = secrets.token_hex(16)
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            ENV_STORE: str(store_path),
            ENV_KEYRING: "off",
            "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
            "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        }
    )
    if lab_settings:
        env["JUPYTERLAB_SETTINGS_DIR"] = str(_settings(base))
    log_path = base / "jupyter.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            app,
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.base_url={base_url}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.allow_root=True",
            *extra,
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}{base_url}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}api/status", params={"token": token}, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait(20)
            raise AssertionError(f"{app} did not start:\n" + log_path.read_text()[-4000:])
        time.sleep(0.25)
    try:
        yield Lab(url=url, token=token, root=root, store_path=store_path, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(20)  # reaped: no ResourceWarning for a still-running child
        log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_jupyter(
        tmp_path_factory,
        "jupyterlab",
        "/jl/",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ) as running:
        yield running


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Notebook 7 (the `notebook` package), which runs the same labextensions."""
    with running_jupyter(tmp_path_factory, "notebook", "/nb/", lab_settings=False) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Debian's chromium is needed at {CHROMIUM} for the browser tests "
            "(apt-get install chromium; .ci/run does it)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> None:
    """Playwright's sync API runs its own event loop; pytest-jupyter's must stay out."""
    return None


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> None:
    """No pytest-jupyter server runs in these tests; nothing to clean."""
    return None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        page = item.funcargs.get("page")
        if page is not None:
            for index, each in enumerate(page.context.pages):
                # A failed screenshot must not hide the test's own failure.
                with contextlib.suppress(Exception):
                    screenshot(each, f"failure-{item.name}-{index}.png")
    return report
