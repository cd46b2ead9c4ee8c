"""Three kernels and the server refresh one connection at the same moment, with the
emulator rotating refresh tokens (each refresh retires the refresh token it used)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._environment import ENV_STORE
from ak_salesforce_nb.server._state import STATE_KEY
from tests.conftest import Flow
from tests.trust.helpers import REPO

_KERNEL = textwrap.dedent(
    """
    import sys
    import ak_salesforce_nb as aksf
    sf = aksf.session("prod")
    print("ready", flush=True)
    sys.stdin.readline()                      # "go": everyone at once
    sf.limits()                               # 401 -> refresh (once, by somebody)
    print("refreshed", sf.tokens.refresh_count, flush=True)
    sys.stdin.readline()                      # "again": after everybody refreshed
    sf.limits()                               # still works with what it holds
    print("ok", sf.tokens.refresh_count, flush=True)
    """
)


def kernel(store_path: Path) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env[ENV_STORE] = str(store_path)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-c", _KERNEL],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def send(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def expect(proc: subprocess.Popen[str], word: str) -> int:
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    assert line and line[0] == word, (line, proc.poll())
    return int(line[1]) if len(line) > 1 else 0


async def test_three_kernels_and_the_server_refresh_once(
    flow: Flow, store_path: Path, jp_serverapp: Any
) -> None:
    """All four see the expired token together: exactly one refresh reaches Salesforce
    (despite rotation), all four calls succeed, each process can call the API again
    afterwards, and a further refresh with the stored (rotated) refresh token works."""
    await flow.connect("prod")
    flow.emu.config.rotate_refresh_tokens = True
    server_store = jp_serverapp.web_app.settings[STATE_KEY].service.store
    server_session = aksf.session("prod", store=server_store)
    server_session.limits()
    kernels = [kernel(store_path) for _ in range(3)]
    try:
        for proc in kernels:
            assert await asyncio.to_thread(expect, proc, "ready") == 0
        flow.emu.expire_access_tokens()
        before = flow.emu.stats["refresh_grants"]
        results: list[BaseException | int] = []

        def server_call() -> None:
            try:
                server_session.limits()
                results.append(server_session.tokens.refresh_count)
            except BaseException as exc:  # reported by the assertion below
                results.append(exc)

        thread = threading.Thread(target=server_call)
        for proc in kernels:
            send(proc, "go")
        thread.start()
        counts = [await asyncio.to_thread(expect, proc, "refreshed") for proc in kernels]
        await asyncio.to_thread(thread.join, 60)
        assert len(results) == 1 and isinstance(results[0], int), results
        assert sum(counts) + results[0] == 1, (counts, results)
        assert flow.emu.stats["refresh_grants"] == before + 1
        # Nobody holds a dead token: every process calls again without refreshing.
        for proc in kernels:
            send(proc, "again")
        finals = [await asyncio.to_thread(expect, proc, "ok") for proc in kernels]
        assert finals == counts
        server_session.limits()
        assert flow.emu.stats["refresh_grants"] == before + 1
        for proc in kernels:
            _out, err = await asyncio.to_thread(proc.communicate, timeout=30)
            assert proc.returncode == 0, err
    finally:
        for proc in kernels:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
    # A further refresh, with the refresh token that rotation left in the store, works.
    flow.emu.expire_access_tokens()
    with aksf.session("prod") as sf:
        assert sf.limits()["DailyApiRequests"]["Max"] > 0
        assert sf.tokens.refresh_count == 1
    assert flow.emu.stats["refresh_grants"] == before + 2
    server_session.limits()  # the server's session follows the stored tokens too
    server_session.close()
    assert (await flow.get("prod"))["state"] == "connected"
