"""JupyterLab with our extension loads without a console error, and our plugins are
active, under a non-root base URL (a stricter cousin of `jupyterlab.browser_check`, which
runs as is in `test_jupyterlab_browser_check.py`). Plus what `jupyter labextension list`
and `jupyter server extension list` say after the install."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from tests.browser.conftest import Lab

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def test_extensions_are_listed_enabled() -> None:
    def listing(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "jupyter", *args, "list"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return done.stdout + done.stderr

    server = listing("server", "extension")
    assert "ak_salesforce_nb" in server
    line = next(x for x in server.splitlines() if "ak_salesforce_nb" in x and "enabled" in x)
    assert "disabled" not in line
    lab = listing("labextension")
    line = next(x for x in lab.splitlines() if "ak-salesforce-nb" in x)
    assert "enabled" in line and "OK" in line


def test_jupyterlab_loads_our_extension_without_errors(page: Any, lab: Lab) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None
        ),
    )
    page.goto(lab.page_url("lab"))
    page.locator("#jp-main-dock-panel").wait_for(timeout=60_000)
    page.locator('.lm-TabBar-tab[data-id="ak-salesforce-nb:panel"]').wait_for()
    # Our commands are registered in the palette.
    commands = page.evaluate(
        "() => window.jupyterapp ? window.jupyterapp.commands.listCommands() : null"
    )
    if commands is not None:
        assert "ak-salesforce-nb:open-panel" in commands
    page.wait_for_timeout(1500)  # late plugin activation errors
    assert errors == []
