"""Kernel-side code never loads the Jupyter server's stack, and a script only what it uses.

A notebook kernel runs in its own process, often without a Jupyter server at all (VS
Code, Colab, papermill). A fresh Python process, pointed at a store authorized through
the real server and emulator, does what a notebook does: a query (REST, Bulk API, async),
the connect form, the `%%soql` magic and the explorer. Afterwards neither tornado nor
jupyter_server, nor any module of our server side, may be in `sys.modules`. (ipykernel
itself imports tornado in a real kernel; the point is that our code never does.)

A script (papermill, a CI job) that opens a stored connection and queries pays no import
it does not need: not IPython nor the SOQL completer (there is no shell to complete in),
not asyncio (a synchronous session), not authlib (the stored token needs no OAuth call).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from ak_salesforce_nb.core._environment import ENV_KEYRING, ENV_STORE
from tests.conftest import Flow

_NOTEBOOK = textwrap.dedent(
    """
    import asyncio, json, sys

    import ak_salesforce_nb as aksf

    report = {}
    with aksf.session("prod", progress=False) as sf:
        report["rest"] = len(sf.query("SELECT Id, Name, CreatedDate FROM Account LIMIT 7"))
        report["bulk"] = len(sf.bulk_query("SELECT Id FROM Account LIMIT 5"))


    async def run():
        async with aksf.async_session("prod") as s:
            return len(await s.query("SELECT Id FROM Account LIMIT 3"))


    report["async"] = asyncio.run(run())

    for enhanced in (False, True):  # the plain form and the labextension's bridge
        form = aksf.connect("prod", enhanced=enhanced)
        report[f"form enhanced={enhanced}"] = form.state
        form.close()

    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    aksf.load_ipython_extension(shell)
    shell.run_cell_magic("soql", "-c prod -o found -q", "SELECT Id FROM Account LIMIT 4")
    report["soql"] = len(shell.user_ns["found"])

    explorer = aksf.explore("prod")
    explorer.select_object("Account")
    explorer.limit = 2
    report["explore"] = len(explorer.preview())
    explorer.close()

    report["loaded"] = sorted(
        name for name in sys.modules
        if name.split(".")[0] in ("tornado", "jupyter_server")
        or name.startswith("ak_salesforce_nb.server")
    )
    print(json.dumps(report))
    """
)


_SCRIPT = textwrap.dedent(
    """
    import json, sys

    import ak_salesforce_nb as aksf

    with aksf.session("prod", progress=False) as sf:
        rest = len(sf.query("SELECT Id, Name FROM Account LIMIT 7"))
        bulk = len(sf.bulk_query("SELECT Id FROM Account LIMIT 5"))
    unneeded = ("IPython", "ak_salesforce_nb.kernel._soql_completer", "asyncio", "authlib")
    loaded = [name for name in unneeded if name in sys.modules]
    print(json.dumps({"rest": rest, "bulk": bulk, "loaded": loaded}))
    """
)


def _run(code: str, store_path: Path, tmp_path: Path) -> dict[str, object]:
    env = {
        **os.environ,
        ENV_STORE: str(store_path),
        ENV_KEYRING: "off",
        "IPYTHONDIR": str(tmp_path / "ipython"),  # the shell's history stays in the test
    }
    child = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    report: dict[str, object] = json.loads(child.stdout.strip().splitlines()[-1])
    return report


async def test_a_notebook_loads_neither_tornado_nor_jupyter_server(
    flow: Flow, store_path: Path, tmp_path: Path
) -> None:
    await flow.connect("prod")
    report = _run(_NOTEBOOK, store_path, tmp_path)
    assert report == {
        "rest": 7,
        "bulk": 5,
        "async": 3,
        "form enhanced=False": "connected",
        "form enhanced=True": "connected",
        "soql": 4,
        "explore": 2,
        "loaded": [],
    }


async def test_a_script_loads_no_shell_completer_event_loop_or_oauth_framework(
    flow: Flow, store_path: Path, tmp_path: Path
) -> None:
    await flow.connect("prod")
    assert _run(_SCRIPT, store_path, tmp_path) == {"rest": 7, "bulk": 5, "loaded": []}
