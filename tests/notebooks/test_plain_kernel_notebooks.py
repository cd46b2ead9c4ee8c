"""The first demo notebook, unchanged, in a plain kernel: the device flow, chosen by itself.

This is the third place a shared notebook must run (issue: "Notebooks that share well"):
a kernel started by `jupyter_client` (here through nbclient, as VS Code, Colab or a
terminal's ``jupyter console`` would start one) with no Jupyter server anywhere and none
of our server's variables in its environment. ``notebooks/01-connect-and-query.ipynb``
is executed cell by cell exactly as it is in the repository; the only thing added is a
person at the form: `FormUser` plays the part of a widget frontend over the kernel
client nbclient opened (comm messages, as JupyterLab's widget manager sends them: type
the Client ID and Secret, click *Sign in with a code*, read the code the form shows),
and a real headless Chromium opens the emulator's verification page, types that code,
logs in and allows. Then the remaining cells run, and what the run saved is checked:
no errors, DataFrames with rows, the connect cell's static text and HTML say
*connected*, and no token or secret anywhere in outputs or widget state.
"""

from __future__ import annotations

import html
import json
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
import pytest
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

from ak_salesforce_nb.core._environment import (
    ENV_DEMO_LOGIN_URL,
    ENV_KEYRING,
    ENV_STORE,
    SERVER_EXPORTS,
)
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.emulator import RunningEmulator
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.kernel.test_plain_kernel_device import approve_in_chromium
from tests.notebooks.test_headless_notebooks import NOTEBOOKS, TOKEN_LIKE

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

NOTEBOOK = NOTEBOOKS / "01-connect-and-query.ipynb"
CONNECTION = "demo"
#: Seconds to wait for the kernel or the emulator at any one step.
WAIT = 60
_CONNECTED = f"Salesforce connection {CONNECTION!r}: connected as ada@example.com"
_LINK = re.compile(r"class='aksf-verification-link'[^>]*>([^<]+) ↗</a>")
_USER_CODE = re.compile(r"class='aksf-user-code'[^>]*>([^<]+)</div>")


class FormUser:
    """A person at the connect form, through a widget frontend's messages.

    It shares the kernel client nbclient opened, so the state it sees is the state
    nbclient saves: comm messages go through `NotebookClient.process_message` (the
    widget state saved in the notebook's metadata) and ``update_display_data`` too (a
    display updated from the kernel's threads, which nbclient only follows while the
    cell that made it runs). Like a real frontend it ignores the echo of its own
    updates (ipywidgets' ``echo_update``; kept in `echoes`).
    """

    def __init__(self, client: NotebookClient, cell_index: int) -> None:
        assert client.kc is not None
        self.client = client
        self.kc = client.kc
        self.cell_index = cell_index
        self.sent: set[str] = set()
        self.echoes: list[dict[str, Any]] = []
        self.display_updates: list[dict[str, Any]] = []
        self.streams: dict[str, str] = {}
        self.idle: set[str] = set()

    # -- the widget models the form's cell opened -------------------------------------

    def model(self, model_name: str, **traits: Any) -> str:
        """The comm id of the one widget model of `model_name` whose traits match."""
        found = [
            comm_id
            for comm_id, state in self.client.widget_state.items()
            if state.get("_model_name") == model_name
            and all(state.get(k) == v for k, v in traits.items())
        ]
        assert len(found) == 1, f"{model_name} {traits}: {len(found)} models"
        return found[0]

    def state(self, comm_id: str) -> dict[str, Any]:
        return self.client.widget_state[comm_id]

    def html_values(self) -> list[str]:
        return [
            str(s.get("value", ""))
            for s in self.client.widget_state.values()
            if s.get("_model_name") == "HTMLModel"
        ]

    # -- what a frontend sends ----------------------------------------------------------

    def _send(self, msg_type: str, content: dict[str, Any]) -> str:
        message = self.kc.session.msg(msg_type, content)
        self.kc.shell_channel.send(message)
        msg_id = str(message["header"]["msg_id"])
        self.sent.add(msg_id)
        return msg_id

    def type_into(self, comm_id: str, value: str) -> str:
        """What a text field sends when the person types and leaves it."""
        data = {"method": "update", "state": {"value": value}, "buffer_paths": []}
        return self._send("comm_msg", {"comm_id": comm_id, "data": data})

    def click(self, comm_id: str) -> str:
        """What a Button view sends on a click."""
        data = {"method": "custom", "content": {"event": "click"}}
        return self._send("comm_msg", {"comm_id": comm_id, "data": data})

    def execute(self, code: str) -> str:
        """Code on the side, not in the notebook (checks only; no output is saved)."""
        return self._send(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": False,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
        )

    # -- what a frontend receives ---------------------------------------------------------

    async def _pump(self, until: Callable[[], bool], timeout: float) -> None:
        cell = self.client.nb.cells[self.cell_index]
        deadline = time.monotonic() + timeout
        while not until():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout} s waiting for the form")
            try:
                msg = await self.kc.iopub_channel.get_msg(timeout=min(left, 1.0))
            except Empty:
                continue
            kind = msg["msg_type"]
            parent = msg["parent_header"].get("msg_id", "")
            data = msg["content"].get("data", {})
            if kind == "comm_msg" and data.get("method") == "echo_update" and parent in self.sent:
                self.echoes.append(data["state"])
                continue  # a frontend's own change coming back: ignored
            if kind.startswith("comm") or kind == "update_display_data":
                if kind == "update_display_data":
                    self.display_updates.append(msg["content"]["data"])
                self.client.process_message(msg, cell, self.cell_index)
            elif kind == "stream" and parent in self.sent:
                self.streams[parent] = self.streams.get(parent, "") + msg["content"]["text"]
            elif kind == "error" and parent in self.sent:
                raise AssertionError("\n".join(msg["content"]["traceback"]))
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                self.idle.add(parent)

    def wait(self, until: Callable[[], bool], timeout: float = WAIT) -> None:
        run_sync(self._pump)(until, timeout)

    def finish(self, msg_id: str) -> None:
        """Wait until the kernel has handled `msg_id` (its idle status)."""
        self.wait(lambda: msg_id in self.idle)

    def run(self, code: str) -> str:
        msg_id = self.execute(code)
        self.finish(msg_id)
        return self.streams.get(msg_id, "")


def _plain_kernel_environment(store: Path, login_url: str) -> dict[str, str]:
    """The environment of a kernel nobody's Jupyter server started: none of the
    variables our extension exports, the demo's login URL, a fresh store."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SERVER_EXPORTS and not k.startswith("AK_SALESFORCE_NB_DEMO_")
    }
    env[ENV_STORE] = str(store)
    env[ENV_KEYRING] = "off"
    env[ENV_DEMO_LOGIN_URL] = login_url
    env.pop("MPLBACKEND", None)  # the kernel's own inline backend draws the picture
    return env


def _approve_in_a_fresh_chromium(verification_uri: str, user_code: str) -> str:
    """Chromium, on its own thread: Playwright's sync API runs an event loop of its own,
    and the kernel client's sockets belong to nbclient's loop on this thread."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's chromium is needed at {CHROMIUM} (apt-get install chromium).")

    def approve() -> str:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                return approve_in_chromium(browser, verification_uri, user_code)
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(approve).result(timeout=120)


def _text(output: Any) -> str:
    if output.output_type == "stream":
        return str(output.text)
    if output.output_type == "error":
        return f"{output.ename}: {output.evalue}"
    return str(output.get("data", {}).get("text/plain", ""))


def _errors(nb: nbformat.NotebookNode) -> list[str]:
    return [
        _text(o)
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]


def _cell_index(nb: nbformat.NotebookNode, needle: str) -> int:
    found = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and needle in c.source]
    assert len(found) == 1, f"{needle!r} in {len(found)} cells of {NOTEBOOK.name}"
    return found[0]


def _table_rows(output_html: str) -> int:
    body = output_html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.count("<tr")


def test_demo_notebook_runs_unchanged_in_a_plain_kernel_with_the_device_flow(
    emu: RunningEmulator, tmp_path: Path
) -> None:
    emu.config.auto_approve = False  # a person must log in and allow
    emu.config.device_interval = 1
    started = time.monotonic()
    before = NOTEBOOK.read_bytes()
    nb = nbformat.reads(before.decode(), as_version=4)
    store_path = tmp_path / "store" / "store.sqlite3"
    connect_at = _cell_index(nb, "aksf.connect(")
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    device_grants = emu.stats["device_grants"]

    with client.setup_kernel(env=_plain_kernel_environment(store_path, emu.url)):
        user = FormUser(client, connect_at)
        for index in range(connect_at + 1):
            client.execute_cell(nb.cells[index], index)
        assert _errors(nb) == []

        # The form chose the device flow by itself, and says why.
        assert any("outside a Jupyter server" in v for v in user.html_values())
        sign_in = user.model("ButtonModel", description="Sign in with a code")
        assert user.state(sign_in)["button_style"] == "primary"
        client_id = user.model("TextModel", description="Client ID")
        assert user.state(client_id)["value"] == ""  # the notebook names no app

        # The person types the demo app's Client ID and Secret and clicks.
        user.type_into(client_id, CLIENT_ID)
        secret = user.model("PasswordModel", description="Client Secret")
        user.type_into(secret, CLIENT_SECRET)
        user.finish(user.click(sign_in))
        assert user.state(secret)["value"] == ""  # taken out of the widget at once
        user.wait(lambda: any("aksf-user-code" in v for v in user.html_values()))
        shown = next(v for v in user.html_values() if "aksf-user-code" in v)
        link, code = _LINK.search(shown), _USER_CODE.search(shown)
        assert link and code, shown
        verification_uri = html.unescape(link.group(1))
        assert verification_uri == f"{emu.url}/setup/connect"

        _approve_in_a_fresh_chromium(verification_uri, html.unescape(code.group(1)))

        # The form turns connected by itself, and rewrites its cell's static output.
        user.wait(lambda: any(_CONNECTED in d.get("text/plain", "") for d in user.display_updates))
        assert emu.stats["device_grants"] > device_grants
        for index in range(connect_at + 1, len(nb.cells)):
            client.execute_cell(nb.cells[index], index)
        client.set_widgets_metadata()
        checked = user.run(
            "print(type(accounts).__name__, len(accounts), type(contacts).__name__, len(contacts))"
        )
    elapsed = time.monotonic() - started

    assert NOTEBOOK.read_bytes() == before, "the run changed the repository's notebook"
    assert _errors(nb) == []

    # The query cells made DataFrames with rows.
    kind_a, rows_a, kind_c, rows_c = checked.split()
    assert (kind_a, rows_a, kind_c) == ("DataFrame", "10", "DataFrame")
    assert int(rows_c) > 0
    accounts = nb.cells[_cell_index(nb, "accounts = sf.query(")].outputs
    shown_tables = [o for o in accounts if o.output_type == "execute_result"]
    assert shown_tables and _table_rows(shown_tables[0].data["text/html"]) == 10
    contacts = nb.cells[_cell_index(nb, "contacts = sf.query(")].outputs
    assert any(_text(o).startswith(f"({rows_c}, ['Id'") for o in contacts)
    plot = nb.cells[_cell_index(nb, "accounts.plot.barh(")].outputs
    assert any("image/png" in o.get("data", {}) for o in plot)

    # The connect cell's saved output reads without widgets: name and state.
    connect_outputs = [o for o in nb.cells[connect_at].outputs if o.get("data")]
    assert len(connect_outputs) == 1
    data = connect_outputs[0].data
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"].startswith(_CONNECTED)
    assert "aksf-static" in data["text/html"] and "data-state='connected'" in data["text/html"]
    assert html.escape(_CONNECTED, quote=True) in data["text/html"]

    # Nothing secret in what the run saved: outputs and widget state.
    saved = tmp_path / NOTEBOOK.name
    nbformat.write(nb, saved)
    written = nbformat.read(saved, as_version=4)
    assert "widgets" in written.metadata  # the state a frontend would save, checked below
    text = json.dumps(
        [[o for o in c.get("outputs", [])] for c in written.cells] + [written.metadata]
    )
    tokens = ConnectionStore(store_path).get_tokens(CONNECTION)
    assert tokens is not None and tokens.refresh_token
    for secret_text in (CLIENT_SECRET, tokens.access_token, tokens.refresh_token):
        assert secret_text not in text
    assert not TOKEN_LIKE.search(text)
    print(f"plain-kernel run of {NOTEBOOK.name}: {elapsed:.1f} s")
