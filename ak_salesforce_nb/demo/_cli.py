"""The demo's command line: start the emulator and JupyterLab, print the block, stop both."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from ..core._environment import ENV_DEMO_LOGIN_URL, ENV_KEYRING, ENV_STORE
from ._banner import Banner
from ._emulator import EmulatorFailed, start_emulator_process
from ._lab import LabFailed, lab_command, wait_for_lab
from ._workspace import Workspace, create_workspace

__all__ = ["build_parser", "main"]

_EPILOG = """\
Any other option goes to JupyterLab as it is, e.g. --ServerApp.base_url=/demo/.
From the repository: make demo ARGS="--port 9000 --no-browser".

The notebooks are copies (the repository's files are never modified); the demo's
connections live in a store of their own, new on every run like the emulator."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ak_salesforce_nb.demo",
        description="The local Salesforce emulator and JupyterLab on 127.0.0.1, with the demo\n"
        "notebook open and ready to authorize. Ctrl-C stops both.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add(
        "--port",
        type=int,
        default=8888,
        help="JupyterLab's port (default %(default)s; "
        "Jupyter takes the next free one when it is taken)",
    )
    add("--no-browser", action="store_true", help="do not open a browser; open the printed URL")
    add(
        "--emulator-port",
        type=int,
        default=8765,
        help="the emulator's port (default %(default)s; a free one when it is taken)",
    )
    add(
        "--accounts",
        type=int,
        default=2000,
        help="Accounts the emulator generates (default %(default)s)",
    )
    add(
        "--notebooks",
        type=Path,
        default=Path("notebooks"),
        help="the folder the notebooks are copied from (default: %(default)s)",
    )
    add(
        "--notebook",
        default="01-connect-and-query.ipynb",
        help="the notebook to open (default %(default)s)",
    )
    add(
        "--workspace",
        type=Path,
        default=None,
        metavar="DIR",
        help="copy the notebooks to DIR and keep them there (only missing files are copied); "
        "default: a scratch folder deleted when the demo stops",
    )
    return parser


_STOP_SIGNALS = [
    signal.SIGINT,
    signal.SIGTERM,
    *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else []),
]


class _Stop(Exception):
    """SIGTERM or SIGHUP: stop as Ctrl-C does."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> None:
    args, lab_args = build_parser().parse_known_args(argv)
    try:
        workspace = create_workspace(args.notebooks.resolve(), args.workspace)
    except OSError as error:
        raise SystemExit(f"The demo cannot start: {error}") from None
    if not (workspace.notebooks / args.notebook).is_file():
        workspace.remove()
        raise SystemExit(f"The demo cannot start: there is no {args.notebook} to open.")
    for signum in _STOP_SIGNALS[1:]:
        signal.signal(signum, _raise_stop)
    sys.exit(_run(args, lab_args, workspace))


def _run(args: argparse.Namespace, lab_args: list[str], workspace: Workspace) -> int:
    emulator: subprocess.Popen[str] | None = None
    lab: subprocess.Popen[bytes] | None = None
    status = 0
    try:
        _say("Starting the Salesforce emulator")
        emulator, emulator_url = start_emulator_process(args.emulator_port, args.accounts)
        _say(f"Emulator at {emulator_url}; starting JupyterLab (its startup lines follow)")
        env = dict(os.environ)
        env[ENV_DEMO_LOGIN_URL] = emulator_url
        env[ENV_STORE] = str(workspace.store_path)
        env[ENV_KEYRING] = "off"  # the store's key beside it, deleted with it
        command = lab_command(workspace, args.notebook, args.port, not args.no_browser, lab_args)
        # Its own session: Ctrl-C reaches the demo, which stops JupyterLab without the
        # "Shut down this Jupyter server (y/[n])?" question.
        lab = subprocess.Popen(command, env=env, start_new_session=True)
        running = wait_for_lab(lab)
        banner = Banner(
            notebook_url=running.open_url(args.notebook),
            emulator_url=emulator_url,
            workspace=str(workspace.notebooks),
            kept=workspace.kept,
        )
        print(banner.render(), flush=True)
        status = lab.wait()
    except (KeyboardInterrupt, _Stop):
        _say("Stopping the demo")
    except (EmulatorFailed, LabFailed) as error:
        print(f"The demo could not start: {error}", file=sys.stderr, flush=True)
        status = 1
    finally:
        # A second Ctrl-C (or SIGTERM) must not cut the cleanup short.
        for signum in _STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        _stop(lab, timeout=30)
        _stop(emulator, timeout=10)
        workspace.remove()
        if emulator is not None:
            _say("The demo stopped: JupyterLab and the emulator are down, the scratch folder gone.")
    return status


def _stop(process: subprocess.Popen[bytes] | subprocess.Popen[str] | None, timeout: float) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)


def _say(text: str) -> None:
    print(f"==> {text}", flush=True)
