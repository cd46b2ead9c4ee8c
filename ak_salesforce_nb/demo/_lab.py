"""JupyterLab for the demo: its command line, and knowing when (and where) it answers.

Quiet where Jupyter offers a setting: no news popup and no update check (the workspace's
setting defaults, and no feed URL), no scan for language servers the demo does not use, and
kernels that encrypt their loopback TCP sockets (CurveZMQ, when jupyter_client and the
kernel spec support it) instead of warning that they do not. Errors and warnings still
reach the terminal.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import httpx

from ._workspace import Workspace

__all__ = ["LabFailed", "RunningLab", "lab_command", "wait_for_lab"]


class LabFailed(RuntimeError):
    """JupyterLab exited, or did not answer in time."""


@dataclass(frozen=True)
class RunningLab:
    """What the server wrote in its ``jpserver-PID.json``: the real port (Jupyter moves to
    the next one when the asked one is taken), base URL and token."""

    url: str  # http://127.0.0.1:8888/ (base URL included, ends with /)
    token: str

    def open_url(self, notebook: str) -> str:
        """The URL that opens `notebook` itself (not the Launcher), signed in."""
        path = "lab/tree/" + urllib.parse.quote(notebook)
        query = f"?token={self.token}" if self.token else ""
        return f"{self.url}{path}{query}"


def lab_command(
    workspace: Workspace, notebook: str, port: int, open_browser: bool, extra: list[str]
) -> list[str]:
    """``python -m jupyterlab`` on loopback, serving the workspace, opening `notebook`.

    `extra` (the user's own options) comes last; a setting of the demo the user sets too
    (``--ServerApp.ip=…``, or an alias of it such as ``--ip``) is left out, as Jupyter
    refuses a setting given twice."""
    settings = [
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--ServerApp.root_dir={workspace.notebooks}",
        f"--LabApp.app_settings_dir={workspace.lab_settings}",
        f"--LabApp.workspaces_dir={workspace.lab_workspaces}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        *_kernel_encryption(),
        *_no_language_server_scan(),
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        settings.append("--ServerApp.allow_root=True")  # containers often run as root
    aliases = _aliases()
    chosen = {_setting(arg, aliases) for arg in extra}
    command = [sys.executable, "-m", "jupyterlab"]
    command += [arg for arg in settings if _setting(arg, aliases) not in chosen]
    command.append(str(workspace.notebooks / notebook))
    if not open_browser:
        command.append("--no-browser")
    return command + extra


def _setting(arg: str, aliases: dict[str, str]) -> str | None:
    """``ServerApp.ip`` for ``--ServerApp.ip=…``, ``--ServerApp.ip …`` or ``--ip=…``."""
    if not arg.startswith("--"):
        return None
    name = arg[2:].split("=", 1)[0]
    return name if "." in name else aliases.get(name)


def _aliases() -> dict[str, str]:
    """JupyterLab's command-line aliases (``ip`` → ``ServerApp.ip``)."""
    from jupyterlab.labapp import LabApp  # type: ignore[import-untyped]

    found: dict[str, str] = {}
    for names, target in LabApp.aliases.items():
        trait = target[0] if isinstance(target, tuple) else target
        for name in names if isinstance(names, tuple) else (names,):
            found[name] = str(trait)
    return found


def _no_language_server_scan() -> list[str]:
    """jupyter-lsp (which JupyterLab brings) scans for language servers and lists the
    twenty it did not find; the demo uses none."""
    if importlib.util.find_spec("jupyter_lsp") is None:
        return []
    return ["--LanguageServerManager.autodetect=False"]


def _kernel_encryption() -> list[str]:
    """CurveZMQ for the kernels' sockets where this jupyter_client offers it (8.7+, with a
    libzmq built with it); kernel specs that do not declare support run as before."""
    try:
        import zmq
        from jupyter_client.manager import KernelManager
    except ImportError:  # pragma: no cover - both come with JupyterLab
        return []
    if "transport_encryption" not in KernelManager.class_trait_names() or not zmq.has("curve"):
        return []
    return ["--KernelManager.transport_encryption=auto"]


def wait_for_lab(process: subprocess.Popen[bytes], timeout: float = 120.0) -> RunningLab:
    """Wait until the server `process` answers on its API; read where from its info file."""
    from jupyter_core.paths import jupyter_runtime_dir

    info_file = Path(jupyter_runtime_dir()) / f"jpserver-{process.pid}.json"
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise LabFailed(f"JupyterLab exited with status {process.returncode}; see above.")
        lab = _read_info(info_file)
        if lab is not None and _answers(lab):
            return lab
        if time.monotonic() > deadline:
            raise LabFailed(f"JupyterLab did not answer within {timeout:.0f} s.")
        time.sleep(0.2)


def _read_info(path: Path) -> RunningLab | None:
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # not written yet, or half written
    url = str(info.get("url") or "")
    if not url:
        return None
    return RunningLab(url=url if url.endswith("/") else url + "/", token=str(info.get("token", "")))


def _answers(lab: RunningLab) -> bool:
    params = {"token": lab.token} if lab.token else {}
    try:
        return httpx.get(f"{lab.url}api/status", params=params, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
