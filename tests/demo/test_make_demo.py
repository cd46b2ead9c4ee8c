"""The README's demo command, as a newcomer runs it: from a fresh clone, twice in a row.

`git clone` of this repository's HEAD (commit first: uncommitted work is not in the clone),
then `make demo` there with a new .venv — the real first run: installs, the extension's
build, the demo — and `make demo` again. Each time the test reads the block printed last,
opens its URL in Chromium and finds the demo notebook open. The first run authorizes and
saves the notebook (and `git status` stays clean); the second run, with a new emulator,
shows no stale "connected". Ctrl-C stops each run, leaving nothing behind.

The first run's time and what it installed are written to test-artifacts/ (the README's
"Two commands" figures come from such a run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import ARTIFACTS, free_port, screenshot
from tests.browser.test_notebook_journey import (
    authorize_and_wait_connected,
    form_in,
    run_cell,
)
from tests.demo.block import DemoBlock, read_block

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = "01-connect-and-query.ipynb"
FIRST_RUN_LIMIT = 600.0  # s: a new .venv, npm packages, the extension's build
LATER_RUN_LIMIT = 120.0
NEWS_QUESTION = "Would you like to get notified about official Jupyter news?"
TCP_WARNING = "running over TCP without encryption"


def _environment(home: Path) -> dict[str, str]:
    """The user's environment without this checkout's venv or the suite's variables, and
    Jupyter's per-user folders empty (no earlier answer to the news question can hide it)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AK_SALESFORCE_NB_") and key not in {"VIRTUAL_ENV", "PYTHONPATH"}
    }
    env["PATH"] = os.pathsep.join(
        entry
        for entry in env.get("PATH", "").split(os.pathsep)
        if entry and not (Path(entry).parent / "pyvenv.cfg").exists()
    )
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        env[name] = str(home / name.lower())
    env["JUPYTERLAB_SETTINGS_DIR"] = str(home / "lab-user-settings")
    return env


class MakeDemo:
    """`make demo ARGS="..."` in the clone, its output in a log file."""

    def __init__(self, clone: Path, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                ["make", "demo", f"ARGS=--no-browser --port {self.port} --emulator-port 0"],
                cwd=clone,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, as in a terminal
            )

    def block(self, timeout: float) -> DemoBlock:
        return read_block(self.log, self.process, timeout)  # type: ignore[arg-type]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def ctrl_c(self) -> None:
        """What the terminal does on Ctrl-C: SIGINT to the foreground process group."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                raise


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("fresh") / "ak_salesforce_nb"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True, timeout=120)
    return target


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    try:
        yield context
    finally:
        context.close()


def open_demo_notebook(context: Any, block: DemoBlock) -> Any:
    """Open the block's URL; the demo notebook itself is the open document."""
    page = context.new_page()
    page.goto(block.notebook_url)
    heading = page.locator(".jp-Notebook").get_by_role("heading", name="Connect to Salesforce")
    heading.wait_for(timeout=90_000)
    current = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
    assert NOTEBOOK in current.inner_text()
    return page


def connections(block: DemoBlock) -> list[dict[str, Any]]:
    base = block.notebook_url.split("lab/tree/")[0]
    reply = httpx.get(
        f"{base}ak-salesforce/api/connections", params={"token": block.token}, timeout=10
    )
    reply.raise_for_status()
    return list(reply.json()["connections"])


def assert_stopped_cleanly(run: MakeDemo, block: DemoBlock) -> None:
    assert run.process.poll() is not None
    assert "==> Stopping the demo" in run.output()
    base = block.notebook_url.split("lab/tree/")[0]
    for url in (f"{block.emulator_url}/services/data/", f"{base}api/status"):
        with pytest.raises(httpx.HTTPError):
            httpx.get(url, timeout=3)
    assert not Path(block.workspace).exists(), "the scratch folder outlived the demo"


def git_status(clone: Path) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def record_first_run(clone: Path, seconds: float, output: str) -> None:
    python = clone / ".venv" / "bin" / "python"
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    venv_bytes = sum(p.lstat().st_size for p in (clone / ".venv").rglob("*") if not p.is_symlink())
    node_modules = clone / "labextension" / "node_modules"
    node_bytes = sum(p.lstat().st_size for p in node_modules.rglob("*") if not p.is_symlink())
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "make-demo-first-run.json").write_text(
        json.dumps(
            {
                "seconds_to_block": round(seconds, 1),
                "python_packages": len(json.loads(listed.stdout)),
                "venv_mb": round(venv_bytes / 1e6),
                "labextension_node_modules_mb": round(node_bytes / 1e6),
                "steps": [line for line in output.splitlines() if line.startswith("==> ")],
            },
            indent=2,
        )
    )


def test_make_demo_twice_from_a_fresh_clone(clone: Path, context: Any, tmp_path: Path) -> None:
    env = _environment(tmp_path / "home")

    # -- the first run: everything installed and built, then the demo ------------------
    started = time.monotonic()
    first = MakeDemo(clone, env, tmp_path / "first.log")
    try:
        block = first.block(FIRST_RUN_LIMIT)
        record_first_run(clone, time.monotonic() - started, first.output())
        output = first.output()
        assert "[dev]" not in output and "dev extra" not in output
        assert output.rstrip().endswith(DemoBlock.RULE), "the block is not the last thing"
        assert output.index("Jupyter Server") < output.rindex(DemoBlock.RULE + "\nThe demo")
        for credential in ("demo-client-id", "demo-client-secret", "ada@example.com"):
            assert credential in block.text
        assert f"/lab/tree/{NOTEBOOK}?token=" in block.notebook_url

        page = open_demo_notebook(context, block)
        run_cell(page, 1)
        form = form_in(run_cell(page, 3))
        form.get_by_placeholder("Consumer Key of your external client app").fill("demo-client-id")
        form.locator("input[type=password]").fill("demo-client-secret")
        authorize_and_wait_connected(page, form)
        assert [c["state"] for c in connections(block)] == ["connected"]
        assert page.get_by_text(NEWS_QUESTION).count() == 0
        screenshot(page, "make-demo-first-run.png")

        # Saved: the copy changes, the repository does not.
        saved = Path(block.workspace) / NOTEBOOK
        before = saved.read_bytes()
        page.locator(".jp-Notebook").click()
        page.keyboard.press("Control+s")
        page.wait_for_function("() => !document.title.startsWith('●')", timeout=10_000)
        for _ in range(50):
            if saved.read_bytes() != before:
                break
            page.wait_for_timeout(100)
        assert saved.read_bytes() != before, "the notebook was not saved; nothing was checked"
        assert git_status(clone) == ""
        page.close()

        # Jupyter's noise that has a setting: the kernel started without its TCP warning.
        assert "Kernel started" in first.output()
        assert TCP_WARNING not in first.output()
        assert "Skipped non-installed server(s)" not in first.output()
    finally:
        first.ctrl_c()
    assert_stopped_cleanly(first, block)
    assert git_status(clone) == ""

    # -- the second run: nothing to install; a new emulator, so nothing is connected ----
    started = time.monotonic()
    second = MakeDemo(clone, env, tmp_path / "second.log")
    try:
        block = second.block(LATER_RUN_LIMIT)
        assert time.monotonic() - started < LATER_RUN_LIMIT
        assert "==> Installing" not in second.output(), "a later run installed again"
        assert "==> JupyterLab extension" not in second.output(), "a later run rebuilt"
        assert connections(block) == []
        page = open_demo_notebook(context, block)
        run_cell(page, 1)
        form = form_in(run_cell(page, 3))
        page.wait_for_timeout(3_000)  # let the kernel's view of the store settle
        state = form.locator(".aksf-state").get_attribute("data-state")
        assert state in {"not_configured", "ready"}, state
        assert "Connected as" not in form.inner_text()
        screenshot(page, "make-demo-second-run.png")
    finally:
        second.ctrl_c()
    assert_stopped_cleanly(second, block)
    assert git_status(clone) == ""
