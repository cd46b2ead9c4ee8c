"""The device flow in a plain IPython kernel: no Jupyter server anywhere.

A kernel started by `jupyter_client` (as VS Code, Colab or a terminal's ``jupyter
console`` would start one: none of our server's variables in its environment) runs
`aksf.login` and `aksf.connect`; a real headless Chromium (Debian's, driven by
Playwright with the browser suite's flags) opens the emulator's verification page with
the code the kernel showed, logs in and allows; then a query works in that kernel.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import KernelManager

from ak_salesforce_nb.core._environment import ENV_KEYRING, ENV_STORE, SERVER_EXPORTS
from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import CLIENT_ID, CLIENT_SECRET

TIMEOUT = 60
_CODE_LINE = re.compile(r"open (\S+) in a browser.*?enter the code:\s+([A-Z0-9]+)", re.S)


class Kernel:
    """A kernel and a client on it; `execute` collects what the cell printed."""

    def __init__(self, manager: KernelManager) -> None:
        self.manager = manager
        self.client = manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=TIMEOUT)

    def start(self, code: str) -> str:
        """Send a cell without waiting for it; its message id."""
        return str(self.client.execute(code))

    def output_until(self, msg_id: str, pattern: re.Pattern[str]) -> re.Match[str]:
        """Read the cell's output until `pattern` matches it (the cell still runs)."""
        text = ""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            message = self.client.get_iopub_msg(timeout=TIMEOUT)
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "stream":
                text += message["content"]["text"]
            elif message["msg_type"] == "error":
                raise AssertionError("\n".join(message["content"]["traceback"]))
            found = pattern.search(text)
            if found:
                return found
        raise AssertionError(f"no {pattern.pattern!r} in {text!r}")

    def finish(self, msg_id: str) -> dict[str, Any]:
        """Wait for the cell's reply; every output message of it, by type."""
        outputs: dict[str, Any] = {"stream": "", "display_data": [], "execute_result": []}
        while True:
            message = self.client.get_iopub_msg(timeout=TIMEOUT)
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind = message["msg_type"]
            if kind == "stream":
                outputs["stream"] += message["content"]["text"]
            elif kind in ("display_data", "execute_result"):
                outputs[kind].append(message["content"]["data"])
            elif kind == "error":
                raise AssertionError("\n".join(message["content"]["traceback"]))
            elif kind == "status" and message["content"]["execution_state"] == "idle":
                return outputs

    def run(self, code: str) -> dict[str, Any]:
        return self.finish(self.start(code))

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> None:
    """Playwright's sync API runs its own event loop; pytest-jupyter's must stay out
    (as in tests/browser)."""
    return None


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> None:
    """No pytest-jupyter server runs in these tests; nothing to clean."""
    return None


@pytest.fixture(scope="module")
def device_emulator() -> Iterator[RunningEmulator]:
    """An emulator that asks the person to log in and allow (no auto-approve)."""
    config = EmulatorConfig(accounts=50, auto_approve=False, device_interval=1)
    with start_emulator(config) as emu:
        yield emu


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Kernel]:
    env = {k: v for k, v in os.environ.items() if k not in SERVER_EXPORTS}
    env[ENV_STORE] = str(tmp_path / "store" / "store.sqlite3")
    env[ENV_KEYRING] = "off"
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=env)
    started = Kernel(manager)
    started.run("import ak_salesforce_nb as aksf")
    yield started
    started.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's chromium is needed at {CHROMIUM} (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def approve_in_chromium(browser: Any, verification_uri: str, user_code: str) -> str:
    """A person at a browser: open the verification page, type the code, log in, Allow."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(verification_uri)
        page.fill("#user_code", user_code)
        page.click("#connect")
        page.fill("#username", "ada@example.com")
        page.fill("#password", "demo")
        page.click("#Login")
        page.click("#oaapprove")
        return str(page.inner_text("#result"))
    finally:
        context.close()


def test_login_in_a_plain_kernel(
    kernel: Kernel, browser: Any, device_emulator: RunningEmulator
) -> None:
    cell = kernel.start(
        f"sf = aksf.login('prod', client_id={CLIENT_ID!r}, client_secret={CLIENT_SECRET!r}, "
        f"login_url={device_emulator.url!r})"
    )
    found = kernel.output_until(cell, _CODE_LINE)  # the default on_code printed both
    uri, code = found.group(1), found.group(2)
    assert uri == f"{device_emulator.url}/setup/connect"
    approve_in_chromium(browser, uri, code)
    printed = kernel.finish(cell)["stream"]
    assert "Connected: Connected as ada@example.com" in printed
    out = kernel.run("print(len(sf.query('SELECT Id, Name FROM Account LIMIT 7')))")
    assert out["stream"].strip() == "7"


def test_connect_form_in_a_plain_kernel(
    kernel: Kernel, browser: Any, device_emulator: RunningEmulator
) -> None:
    shown = kernel.run(
        f"form = aksf.connect('dev', login_url={device_emulator.url!r}, check_interval=None)\nform"
    )
    data = (shown["display_data"] + shown["execute_result"])[0]
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"].startswith("Salesforce connection 'dev': not configured")
    assert "aksf-static" in data["text/html"]
    out = kernel.run(
        "print(form.flow)\n"
        "print('outside a Jupyter server' in form.flow_note.value)\n"
        f"form.client_id.value = {CLIENT_ID!r}\n"
        f"form.client_secret.value = {CLIENT_SECRET!r}\n"
        "codes = form.start_device()\n"
        "print('CODES', codes.verification_uri, codes.user_code)"
    )
    lines = out["stream"].splitlines()
    assert lines[:2] == ["device", "True"]
    _, uri, code = lines[2].split()
    assert code in kernel.run("print(form.device.code.value)")["stream"]
    approve_in_chromium(browser, uri, code)
    deadline = time.monotonic() + TIMEOUT
    while kernel.run("print(form.state)")["stream"].strip() != "connected":
        assert time.monotonic() < deadline, "the form did not turn connected"
        time.sleep(0.2)
    out = kernel.run(
        "print(form.static_text())\n"
        "print(len(aksf.session('dev').query('SELECT Id FROM Contact LIMIT 4')))"
    )
    text, count = out["stream"].strip().splitlines()
    assert text.startswith("Salesforce connection 'dev': connected as ada@example.com")
    assert count == "4"
