"""`python -m jupyterlab.browser_check` itself, with our extension installed: JupyterLab's
own check that the app starts in a real browser with no console or server error.

browser_check installs Playwright with npm, then runs `npx playwright install chromium`,
a download this machine cannot make (and must not need). Playwright skips a browser whose
folder is already marked installed, so the test first installs Debian's chromium under
Playwright's own names in a private PLAYWRIGHT_BROWSERS_PATH: a small script per browser
that runs /usr/bin/chromium with the flags a headless run needs here.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ak_salesforce_nb.core._environment import ENV_KEYRING, ENV_STORE
from tests.browser.conftest import CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

# Where each Playwright browser keeps its executable, by folder prefix (newer layouts first).
_EXECUTABLES = {
    "chromium-": ["chrome-linux64/chrome", "chrome-linux/chrome"],
    "chromium_headless_shell-": [
        "chrome-headless-shell-linux64/chrome-headless-shell",
        "chrome-linux/headless_shell",
    ],
    "ffmpeg-": ["ffmpeg-linux"],  # video recording only: never used by the check
}


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{output[-4000:]}"
    return output


def _playwright_for_browser_check(env: dict[str, str]) -> Path:
    """The folder browser_check uses, with npm's Playwright in it (the Python package's
    minor version, so both drive the same browser build; patch releases differ)."""
    from jupyterlab.commands import get_app_dir

    target = Path(get_app_dir()) / "browser_test"
    if not (target / "node_modules" / "playwright").exists():
        npm = shutil.which("npm")
        assert npm, "npm (Node.js) is needed for jupyterlab.browser_check"
        target.mkdir(parents=True, exist_ok=True)
        major, minor = importlib.metadata.version("playwright").split(".")[:2]
        _run([npm, "init", "-y"], target, env, 120)
        _run([npm, "install", f"playwright@~{major}.{minor}.0"], target, env, 300)
    return target


def _install_system_chromium(target: Path, browsers: Path, env: dict[str, str]) -> None:
    npx = shutil.which("npx")
    assert npx, "npx (Node.js) is needed for jupyterlab.browser_check"
    plan = _run([npx, "playwright", "install", "--dry-run", "chromium"], target, env, 120)
    folders = [Path(p) for p in re.findall(r"Install location:\s+(\S+)", plan)]
    assert folders, plan
    for folder in folders:
        prefix = next((p for p in _EXECUTABLES if folder.name.startswith(p)), None)
        assert prefix, f"Playwright wants a browser this test does not know: {folder.name}"
        assert folder.parent == browsers, plan
        for relative in _EXECUTABLES[prefix]:
            executable = folder / relative
            executable.parent.mkdir(parents=True, exist_ok=True)
            if prefix == "ffmpeg-":
                executable.write_text("#!/bin/sh\nexit 1\n")
            else:
                executable.write_text(f'#!/bin/sh\nexec {CHROMIUM} --disable-gpu "$@"\n')
            executable.chmod(0o755)
        (folder / "INSTALLATION_COMPLETE").touch()


def test_jupyterlab_browser_check_passes(tmp_path: Path) -> None:
    browsers = tmp_path / "playwright-browsers"
    env = dict(os.environ)
    env.update(
        {
            "PLAYWRIGHT_BROWSERS_PATH": str(browsers),
            # Debian's chromium brings its own libraries; Playwright's list is for its builds.
            "PLAYWRIGHT_SKIP_VALIDATE_HOST_REQUIREMENTS": "1",
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
            ENV_STORE: str(tmp_path / "store" / "store.sqlite3"),
            ENV_KEYRING: "off",
        }
    )
    target = _playwright_for_browser_check(env)
    _install_system_chromium(target, browsers, env)
    command = [sys.executable, "-m", "jupyterlab.browser_check"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI containers run as root
    output = _run(command, tmp_path, env, 300)
    assert "ak_salesforce_nb | extension was successfully loaded" in output
    assert "Browser test complete" in output
    assert "Test Complete" in output
