"""The extension on the oldest jupyter_server the package declares it supports.

The floor is read from pyproject.toml, that release's wheel fetched by pip (its cache
makes later runs quick) and unpacked first on the PYTHONPATH of a real server: a floor
set too low (e.g. below the release that added `allow_unauthenticated`, which the
callback handler needs) fails here instead of at a user's.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from ak_salesforce_nb.emulator import RunningEmulator
from tests.server.helpers import assert_closed_in_order, shut_down
from tests.trust.helpers import REPO, RemoteFlow, running_jupyter


def declared_floor() -> str:
    """The lower bound of the jupyter_server requirement in pyproject.toml."""
    text = (REPO / "pyproject.toml").read_text()
    found = re.findall(r'"jupyter[_-]server\s*>=\s*([0-9][0-9.]*)[^"]*"', text)
    assert len(found) == 1, found  # one requirement, with a floor
    return found[0]


def floor_release(version: str, folder: Path) -> Path:
    """The jupyter_server `version` wheel from the package index, unpacked in `folder`."""
    wheels = folder / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--quiet",
            "--dest",
            str(wheels),
            f"jupyter_server=={version}",
        ],
        check=True,
        timeout=120,
    )
    (wheel,) = wheels.glob("jupyter_server-*.whl")
    unpacked = folder / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    return unpacked


@pytest.mark.slow
async def test_start_callback_and_shutdown_on_the_floor(
    emu: RunningEmulator, tmp_path: Path
) -> None:
    """On the floor release: the extension loads, a connection is created, the start
    handler sends the browser to the emulator, the unauthenticated callback completes the
    sign-in, and the shutdown API makes `stop_extension` close everything."""
    floor = declared_floor()
    site = floor_release(floor, tmp_path / "floor")
    store_path = tmp_path / "store" / "store.sqlite3"
    with running_jupyter(tmp_path / "server", store_path, pythonpath=[site]) as server:
        async with httpx.AsyncClient(timeout=30) as client:
            about = await client.get(f"{server.url}api", headers=server.headers)
            assert about.json()["version"].startswith(floor), about.text  # really the floor
            remote = RemoteFlow(server, emu.url, client)
            await remote.connect("prod")  # create, begin, start, Salesforce, callback
            connection = await remote.connection("prod")
        assert connection["state"] == "connected", connection
        log = shut_down(server)
    assert "ak_salesforce_nb | extension was successfully loaded" in log, log[-4000:]
    assert_closed_in_order(log)
