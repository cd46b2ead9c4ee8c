"""Kernel-side code never loads the Jupyter server's stack.

A notebook kernel runs in its own process, often without a Jupyter server at all (VS
Code, Colab, papermill). A fresh Python process, pointed at a store authorized through
the real server and emulator, does what a notebook does: a query (REST, Bulk API, async),
the connect form, the `%%soql` magic and the explorer. Afterwards neither tornado nor
jupyter_server, nor any module of our server side, may be in `sys.modules`. (ipykernel
itself imports tornado in a real kernel; the point is that our code never does.)
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


async def test_a_notebook_loads_neither_tornado_nor_jupyter_server(
    flow: Flow, store_path: Path, tmp_path: Path
) -> None:
    await flow.connect("prod")
    env = {
        **os.environ,
        ENV_STORE: str(store_path),
        ENV_KEYRING: "off",
        "IPYTHONDIR": str(tmp_path / "ipython"),  # the shell's history stays in the test
    }
    child = subprocess.run(
        [sys.executable, "-c", _NOTEBOOK],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
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
