"""`python -m ak_salesforce_nb.demo`: the local emulator and JupyterLab, ready to authorize.

Starts the Salesforce emulator (login and consent pages on, as in a real org), then
JupyterLab on loopback with the demo notebook open. The demo app's credentials are the
emulator's (`demo-client-id` / `demo-client-secret`, user `ada@example.com` / `demo`);
they are not real Salesforce credentials. Ctrl-C stops both.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from .core._environment import ENV_DEMO_LOGIN_URL, ENV_STORE
from .core._store import default_store_path

__all__ = ["main"]


def _start_emulator(port: int, accounts: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ak_salesforce_nb.emulator",
            "--port",
            str(port),
            "--accounts",
            str(accounts),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    prefix = "ak-salesforce-emulator listening on "
    if not line.startswith(prefix):
        process.kill()
        raise SystemExit(f"The emulator did not start: {line or 'no output'}")
    return process, line[len(prefix) :]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888, help="JupyterLab port (default 8888)")
    parser.add_argument("--emulator-port", type=int, default=8765)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--notebooks", default="notebooks", help="folder with the notebooks")
    parser.add_argument("--no-browser", action="store_true")
    args, lab_args = parser.parse_known_args(argv)

    notebooks = Path(args.notebooks).resolve()
    if not notebooks.is_dir():
        raise SystemExit(f"No notebooks folder at {notebooks}; run from the repository root.")
    try:
        emulator, url = _start_emulator(args.emulator_port, args.accounts)
    except SystemExit:
        emulator, url = _start_emulator(0, args.accounts)  # the usual port is taken
    print(
        f"Salesforce emulator at {url} (client id demo-client-id, secret demo-client-secret, "
        "user ada@example.com / demo)",
        flush=True,
    )
    env = dict(os.environ)
    env[ENV_DEMO_LOGIN_URL] = url
    if ENV_STORE not in env:
        # The demo's connections live apart from the user's real ones.
        env[ENV_STORE] = str(default_store_path().parent / "demo" / "store.sqlite3")
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={args.port}",
        f"--ServerApp.root_dir={notebooks}",
        str(notebooks / "01-connect-and-query.ipynb"),
        *(["--no-browser"] if args.no_browser else []),
        # Containers often run as root; Jupyter refuses that unless told.
        *(["--ServerApp.allow_root=True"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        *lab_args,
    ]
    lab = subprocess.Popen(command, env=env)
    stop = lambda *_: lab.terminate()  # noqa: E731 - forward SIGTERM to JupyterLab
    signal.signal(signal.SIGTERM, stop)
    try:
        lab.wait()
    except KeyboardInterrupt:
        lab.send_signal(signal.SIGINT)
        lab.wait(timeout=30)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


if __name__ == "__main__":
    main()
