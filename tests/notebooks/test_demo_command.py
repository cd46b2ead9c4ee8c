"""The README's demo command: the emulator and JupyterLab come up with the demo notebook,
ready to authorize, and both stop together."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ak_salesforce_nb.core._environment import ENV_DEMO_LOGIN_URL, ENV_KEYRING, ENV_STORE
from tests.browser.conftest import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_demo_command_starts_lab_and_emulator(tmp_path: Path) -> None:
    port = free_port()
    env = dict(
        os.environ,
        JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
    )
    env[ENV_STORE] = str(tmp_path / "store" / "store.sqlite3")
    env[ENV_KEYRING] = "off"
    log = (tmp_path / "demo.log").open("w+")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ak_salesforce_nb.demo",
            "--no-browser",
            "--port",
            str(port),
            "--emulator-port",
            "0",
            "--accounts",
            "100",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        token = emulator = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (token and emulator):
            time.sleep(0.5)
            text = (tmp_path / "demo.log").read_text()
            found = re.search(r"token=([0-9a-f]+)", text)
            token = found.group(1) if found else None
            found = re.search(r"Salesforce emulator at (http://127\.0\.0\.1:\d+)", text)
            emulator = found.group(1) if found else None
            assert process.poll() is None, text
        assert token and emulator, (tmp_path / "demo.log").read_text()
        base = f"http://127.0.0.1:{port}/"
        for _ in range(40):
            try:
                nb = httpx.get(
                    f"{base}api/contents/01-connect-and-query.ipynb",
                    params={"token": token},
                    timeout=5,
                )
                break
            except httpx.HTTPError:
                time.sleep(0.25)
        assert nb.status_code == 200
        assert ENV_DEMO_LOGIN_URL in nb.text
        assert httpx.get(f"{emulator}/services/data/", timeout=5).status_code == 200
        api = httpx.get(f"{base}ak-salesforce/api/connections", params={"token": token}, timeout=5)
        assert api.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        log.close()
    time.sleep(1)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{emulator}/services/data/", timeout=2)
