"""What the server tests share: stopping a real `jupyter server` the way users do, and
the log lines that show the extension closed what it opened."""

from __future__ import annotations

import re
import subprocess

import httpx

from tests.trust.helpers import JupyterProcess

#: What `ExtensionState.aclose` logs after closing each resource, in this order.
CLOSED_LINES = (
    "ak_salesforce_nb: stopped the sweeper of expired sign-in states",
    "ak_salesforce_nb: store calls finished; store thread shut down",
    "ak_salesforce_nb: closed the connection store",
)


def shut_down(server: JupyterProcess, timeout: float = 30.0) -> str:
    """`POST {base}api/shutdown` (what the File menu's Shut Down sends), wait for the
    process to exit on its own, and return its log."""
    response = httpx.post(f"{server.url}api/shutdown", headers=server.headers, timeout=10)
    assert response.status_code == 200, response.text
    try:
        code = server.process.wait(timeout)
    except subprocess.TimeoutExpired:
        server.kill()
        raise AssertionError("jupyter server did not stop:\n" + server.log()[-4000:]) from None
    assert code == 0, server.log()[-4000:]
    return server.log()


def assert_closed_in_order(log: str) -> None:
    """Each of `CLOSED_LINES` once, in order, after jupyter-server began stopping its
    extensions (so `stop_extension` wrote them, not something earlier)."""
    stopping = re.search(r"Shutting down \d+ extensions?", log)  # ServerApp.cleanup_extensions
    assert stopping is not None, log[-4000:]
    position = stopping.start()
    for line in CLOSED_LINES:
        assert log.count(line) == 1, (line, log[-4000:])
        found = log.find(line)
        assert found > position, (line, log[-4000:])
        position = found
