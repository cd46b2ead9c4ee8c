"""What the benchmarks share: the emulator as a subprocess, and a store authorized
against it through a real OAuth code flow (the emulator auto-approves)."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from ak_salesforce_nb.core import _oauth
from ak_salesforce_nb.core._store import ConnectionStore

__all__ = [
    "REPO",
    "authorize_store",
    "code_flow_token",
    "compile_into",
    "cpu_seconds",
    "run_child",
    "spawn_emulator",
    "spawn_tls_emulator",
    "stop_process",
]

REPO = Path(__file__).resolve().parents[1]
REDIRECT_URI = "http://localhost/oauth/redirect/salesforce"
_ANNOUNCEMENT = re.compile(r"ak-salesforce-emulator (listening|pubsub) on (\S+)")


def spawn_emulator(
    *args: str, lines: int = 1, timeout: float = 300.0
) -> tuple[subprocess.Popen[str], list[str], float]:
    """`python -m ak_salesforce_nb.emulator --port 0 ARGS`: the process, the addresses it
    announced on its first `lines` stdout lines, and how long it took to start."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "ak_salesforce_nb.emulator", "--port", "0", *args]
    began = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
    seen: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        seen.extend(process.stdout.readline() for _ in range(lines))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    found = [_ANNOUNCEMENT.fullmatch(line.strip()) for line in seen]
    if len(found) != lines or not all(found):
        process.kill()
        raise SystemExit(f"the emulator did not start: {seen!r}")
    return process, [m.group(2) for m in found if m], time.perf_counter() - began


def spawn_tls_emulator(folder: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """The emulator over https with a test CA written to `folder` and trusted by this
    process and its children (simple-salesforce only builds https URLs); its https URL."""
    from ak_salesforce_nb.emulator._tls import write_test_certificates

    ca, cert, key = write_test_certificates(folder)
    process, (url,), _ = spawn_emulator(*args, "--tls-cert", str(cert), "--tls-key", str(key))
    os.environ["SSL_CERT_FILE"] = str(ca)
    os.environ["REQUESTS_CA_BUNDLE"] = str(ca)
    return process, url.replace("http://", "https://")


def stop_process(process: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL after 30 s; its stdout pipe closed."""
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def code_flow_token(base_url: str, *, verify: Any = True) -> dict[str, Any]:
    """An access token from the web server flow with PKCE, over HTTP."""
    verifier = _oauth.new_code_verifier()
    url = _oauth.authorize_url(
        base_url,
        client_id="demo-client-id",
        redirect_uri=REDIRECT_URI,
        state="bench",
        scopes="api refresh_token",
        verifier=verifier,
    )
    with httpx.Client(verify=verify, timeout=60) as client:
        code = parse_qs(urlsplit(client.get(url).headers["location"]).query)["code"][0]
        response = client.send(
            _oauth.token_request(
                base_url,
                client_id="demo-client-id",
                client_secret="demo-client-secret",
                code=code,
                redirect_uri=REDIRECT_URI,
                verifier=verifier,
            )
        )
        token: dict[str, Any] = response.json()
        who = client.get(
            f"{base_url}/services/oauth2/userinfo",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        ).json()
    token["userinfo"] = who
    return token


def authorize_store(
    store: ConnectionStore, base_url: str, name: str = "bench", *, verify: Any = True
) -> None:
    """Create connection `name` in `store`, connected through a real code flow."""
    store.save_settings(
        name,
        client_id="demo-client-id",
        client_secret="demo-client-secret",
        login_url=base_url,
        scopes="api refresh_token",
    )
    token = code_flow_token(base_url, verify=verify)
    who = token["userinfo"]
    store.record_authorized(
        name,
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token"),
        instance_url=token["instance_url"],
        issued_at=token["issued_at"],
        identity={
            "username": who["preferred_username"],
            "organization_id": who["organization_id"],
            "user_id": who["user_id"],
        },
    )


def run_child(command: list[str], timeout: float) -> str:
    """Run one measured child process; its stdout. A failure stops the benchmark with
    the child's own error output (not a bare exit status)."""
    out = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise SystemExit(
            f"a benchmark child failed ({out.returncode}): {' '.join(command[2:5])}\n"
            + out.stderr[-4000:]
        )
    return out.stdout


def cpu_seconds() -> float:
    """This process's CPU seconds so far (user and system), which a busy machine
    disturbs less than wall-clock time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def compile_into(folder: Path, script: str) -> None:
    """Make this process's children compile their bytecode into `folder` (as an
    installed package has it: a checkout run under PYTHONDONTWRITEBYTECODE would otherwise
    recompile every changed module of ours in every child), then warm it once with
    `script --child warm`, before anything is timed."""
    os.environ["PYTHONPYCACHEPREFIX"] = str(folder)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    run_child([sys.executable, script, "--child", "warm"], timeout=600)
