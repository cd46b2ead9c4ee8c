"""The demo command (`python -m ak_salesforce_nb.demo`, what `make demo` runs): the emulator
and JupyterLab come up on copies of the notebooks, the block the newcomer needs is printed
last, and both processes stop together, leaving nothing behind.

The whole README command from a fresh clone, in a browser, is tests/demo/test_make_demo.py.
"""

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

from ak_salesforce_nb.core._environment import ENV_DEMO_LOGIN_URL, ENV_STORE
from ak_salesforce_nb.demo._lab import lab_command
from ak_salesforce_nb.demo._workspace import create_workspace
from tests.browser.conftest import free_port
from tests.demo.block import DemoBlock, read_block

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_demo_command_prints_its_block_last_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    env[ENV_STORE] = str(tmp_path / "not-the-demo-store.sqlite3")  # the demo uses its own
    log_path = tmp_path / "demo.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "ak_salesforce_nb.demo", "--no-browser"),
                *("--port", str(port), "--emulator-port", "0", "--accounts", "100"),
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        block = read_block(log_path, process, timeout=90)
        # Printed last: Jupyter's startup lines (and its own URL) came before it.
        text = log_path.read_text()
        assert text.index("Jupyter Server") < text.index(DemoBlock.RULE)
        assert f"http://127.0.0.1:{port}/lab/tree/01-connect-and-query.ipynb?token=" in (
            block.notebook_url
        )
        assert "demo-client-id" in block.text and "demo-client-secret" in block.text
        assert "ada@example.com" in block.text and "Ctrl-C" in block.text
        base = block.notebook_url.split("lab/tree/")[0]
        nb = httpx.get(
            f"{base}api/contents/01-connect-and-query.ipynb",
            params={"token": block.token},
            timeout=5,
        )
        assert nb.status_code == 200
        assert ENV_DEMO_LOGIN_URL in nb.text
        # The served notebook is a copy, in the scratch folder the block names.
        workspace = Path(block.workspace)
        assert workspace.is_dir() and REPO not in workspace.parents
        assert (workspace / "01-connect-and-query.ipynb").is_file()
        assert httpx.get(f"{block.emulator_url}/services/data/", timeout=5).status_code == 200
        api = httpx.get(
            f"{base}ak-salesforce/api/connections", params={"token": block.token}, timeout=5
        )
        assert api.status_code == 200
        assert api.json()["connections"] == [], "a new run starts with an empty store"
        assert not (tmp_path / "not-the-demo-store.sqlite3").exists()
    finally:
        process.send_signal(signal.SIGINT)  # the terminal's Ctrl-C
        status = process.wait(45)
    assert status == 0, log_path.read_text()[-3000:]
    assert "Stopping the demo" in log_path.read_text()
    assert "The demo stopped" in log_path.read_text()
    time.sleep(0.5)
    for url in (f"{block.emulator_url}/services/data/", f"{base}api/status"):
        with pytest.raises(httpx.HTTPError):
            httpx.get(url, timeout=2)
    assert not workspace.exists(), "the scratch folder outlived the demo"


def test_demo_help_names_its_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ak_salesforce_nb.demo", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for option in ("--port", "--no-browser", "--emulator-port", "--workspace", "make demo ARGS="):
        assert option in result.stdout


def test_demo_refuses_a_folder_without_notebooks(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ak_salesforce_nb.demo", "--notebooks", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "No demo notebooks in" in result.stderr
    assert "Traceback" not in result.stderr


def test_workspace_keeps_the_users_copies_and_quiets_the_news(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "a.ipynb").write_text("original")
    (source / "b.ipynb").write_text("original")
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "a.ipynb").write_text("the user's work")
    workspace = create_workspace(source, kept)
    try:
        assert (kept / "a.ipynb").read_text() == "the user's work"
        assert (kept / "b.ipynb").read_text() == "original"
        overrides = (workspace.lab_settings / "overrides.json").read_text()
        assert '"fetchNews": "false"' in overrides
        command = lab_command(workspace, "a.ipynb", 8888, open_browser=False, extra=["--x=1"])
        assert "--LabApp.news_url=None" in command
        assert f"--LabApp.app_settings_dir={workspace.lab_settings}" in command
        assert command[-1] == "--x=1", "the user's options come last, so they win"
        # Jupyter refuses a setting given twice: the user's replaces the demo's.
        mine = ["--ip=0.0.0.0", "--LabApp.news_url", "http://127.0.0.1:1/feed.xml"]
        command = lab_command(workspace, "a.ipynb", 8888, open_browser=True, extra=mine)
        assert "--ServerApp.ip=127.0.0.1" not in command
        assert "--LabApp.news_url=None" not in command
        assert command[-3:] == mine
        assert f"--ServerApp.root_dir={workspace.notebooks}" in command
        assert workspace.store_path.parent.parent == workspace.scratch
    finally:
        workspace.remove()
    assert not workspace.scratch.exists()
    assert (kept / "a.ipynb").exists(), "a folder the user chose is never deleted"


def test_demo_block_reader_finds_the_url() -> None:
    text = (
        "noise\n"
        + DemoBlock.RULE
        + "\nThe demo is ready. Open the demo notebook:\n\n"
        + "    http://127.0.0.1:1/lab/tree/n.ipynb?token=abc\n"
        + "Salesforce emulator: http://127.0.0.1:2\n"
        + "Notebooks: copies in /x/notebooks\n"
        + DemoBlock.RULE
        + "\n"
    )
    block = DemoBlock.parse(text)
    assert block is not None
    assert block.notebook_url == "http://127.0.0.1:1/lab/tree/n.ipynb?token=abc"
    assert block.token == "abc"
    assert block.emulator_url == "http://127.0.0.1:2"
    assert block.workspace == "/x/notebooks"
    assert DemoBlock.parse(re.sub(r"=+\n$", "", text)) is None, "an unfinished block"
