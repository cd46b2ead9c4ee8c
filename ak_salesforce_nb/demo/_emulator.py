"""The demo's emulator: a subprocess, so that JupyterLab and its kernels reach it over HTTP
exactly as they would reach Salesforce."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import IO

__all__ = ["EmulatorFailed", "start_emulator_process"]

_READY = "ak-salesforce-emulator listening on "


class EmulatorFailed(RuntimeError):
    """The emulator exited before it announced its URL."""


def start_emulator_process(port: int, accounts: int) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m ak_salesforce_nb.emulator`` on `port`, or on a free port when
    `port` is taken; return the process and its URL.

    The process runs in its own session: the terminal's Ctrl-C reaches the demo, which
    stops it in order (JupyterLab first, whose kernels may be talking to it).
    """
    try:
        return _start(port, accounts)
    except EmulatorFailed:
        if port == 0:
            raise
        return _start(0, accounts)  # the usual port is taken


def _start(port: int, accounts: int) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "ak_salesforce_nb.emulator"]
    command += ["--port", str(port), "--accounts", str(accounts)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    line = process.stdout.readline().strip()
    if not line.startswith(_READY):
        process.kill()
        process.wait()
        reason = (line or process.stderr.read().strip() or "no output").splitlines()[-1]
        raise EmulatorFailed(f"The emulator did not start on port {port}: {reason}")
    # From here on what it writes (warnings, tracebacks) reaches the terminal.
    for stream, target in ((process.stdout, sys.stdout), (process.stderr, sys.stderr)):
        threading.Thread(target=_relay, args=(stream, target), daemon=True).start()
    return process, line[len(_READY) :]


def _relay(stream: IO[str], target: IO[str]) -> None:
    for line in stream:
        target.write(line)
        target.flush()
