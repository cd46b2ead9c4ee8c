"""The extension's lifecycle as jupyter-server runs it: loaded as an `ExtensionApp`, and on
shutdown `stop_extension` closes the sweeper, the store thread and the store.

jupyter-server 2 never calls a module's `_unload_jupyter_server_extension`; these tests
stop the server the way it stops itself (its `cleanup_extensions`, its shutdown API), so
an extension relying on that hook fails them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.server._app import SalesforceOAuth
from ak_salesforce_nb.server._state import STATE_KEY, ExtensionState
from tests.conftest import Flow
from tests.server.helpers import CLOSED_LINES, assert_closed_in_order, shut_down
from tests.trust.helpers import REPO, RemoteFlow, running_jupyter


def _wal(store_path: Path) -> Path:
    return Path(f"{store_path}-wal")


async def test_the_extension_is_an_extension_app(jp_serverapp: Any) -> None:
    """jupyter-server linked one `SalesforceOAuth` app (the one it made from the extension
    points, not a second one), and that is what it will stop."""
    apps = jp_serverapp.extension_manager.extension_apps["ak_salesforce_nb"]
    assert len(apps) == 1
    (app,) = apps
    assert isinstance(app, SalesforceOAuth)
    assert jp_serverapp.web_app.settings["ak_salesforce_nb"] is app
    assert jp_serverapp.web_app.settings[STATE_KEY] is app.state


async def test_cleanup_extensions_closes_executor_sweeper_and_store(
    flow: Flow, jp_serverapp: Any, store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`ServerApp.cleanup_extensions` (the first step of every shutdown) awaits our
    `stop_extension`: afterwards the store thread takes no work, the sweeper is stopped
    and the SQLite store is closed (its write-ahead log, open while the server held the
    store, is checkpointed away: the last connection to it closed)."""
    caplog.set_level(logging.INFO)
    await flow.connect("prod")
    state: ExtensionState = jp_serverapp.web_app.settings[STATE_KEY]
    assert state.sweeper.is_running()
    assert _wal(store_path).exists()  # the server's connection is open
    assert state.store_executor.submit(int).result(5) == 0

    await jp_serverapp.cleanup_extensions()

    with pytest.raises(RuntimeError, match="shutdown"):
        state.store_executor.submit(int)
    assert not state.sweeper.is_running()
    assert not _wal(store_path).exists()
    for line in CLOSED_LINES:
        assert caplog.text.count(line) == 1, line
    # The fixture's teardown stops the extensions again: nothing is closed twice.
    await jp_serverapp.cleanup_extensions()
    for line in CLOSED_LINES:
        assert caplog.text.count(line) == 1, line


async def test_a_queued_store_call_finishes_before_the_store_closes(
    flow: Flow, jp_serverapp: Any
) -> None:
    """Store work already queued when the server stops runs to its end on the open store;
    only what comes after is told the server is shutting down."""
    await flow.create("prod")
    state: ExtensionState = jp_serverapp.web_app.settings[STATE_KEY]
    service = await state.get_service()
    gate = concurrent.futures.Future[None]()
    blocked = state.store_executor.submit(gate.result, 10)  # holds the store thread
    try:
        queued = state.store_executor.submit(service.store.list_connections)
        stopping = asyncio.ensure_future(jp_serverapp.cleanup_extensions())
        while not state.closed:
            await asyncio.sleep(0.01)
        listing = await flow.api()
        assert listing.code == 503
        assert "shutting down" in json.loads(listing.body)["message"]
        assert not stopping.done()
    finally:
        gate.set_result(None)
    await asyncio.wait_for(stopping, 10)
    blocked.result(0)
    assert [record.name for record in queued.result(0)] == ["prod"]


@pytest.mark.slow
async def test_shutdown_api_closes_the_extension(emu: RunningEmulator, tmp_path: Path) -> None:
    """A real `jupyter server`, used (a connection authorized through it), then shut down
    through its REST API as the File menu does: its log shows `stop_extension` closing
    the sweeper, then the store thread, then the store, once each."""
    store_path = tmp_path / "store" / "store.sqlite3"
    with running_jupyter(tmp_path / "server", store_path) as server:
        async with httpx.AsyncClient(timeout=30) as client:
            await RemoteFlow(server, emu.url, client).connect("prod")
        log = shut_down(server)
    assert_closed_in_order(log)
    assert "Traceback" not in log


def test_jupyter_server_lists_the_extension_enabled(tmp_path: Path) -> None:
    """`jupyter server extension list` with only this repository's `jupyter-config` file in
    a config dir: the extension is enabled there and validates OK."""
    config_dir = tmp_path / "config"
    (config_dir / "jupyter_server_config.d").mkdir(parents=True)
    shipped = REPO / "jupyter-config" / "jupyter_server_config.d" / "ak_salesforce_nb.json"
    (config_dir / "jupyter_server_config.d" / shipped.name).write_bytes(shipped.read_bytes())
    env = dict(os.environ)
    env["JUPYTER_CONFIG_DIR"] = str(config_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "jupyter_server", "extension", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    output = result.stdout + result.stderr
    ours = output.split(f"Config dir: {config_dir}", 1)[1].split("Config dir:", 1)[0]
    assert "ak_salesforce_nb" in ours and "enabled" in ours, output
    assert "Validating ak_salesforce_nb..." in ours, output
    assert "OK" in ours and "error" not in ours.lower(), output
