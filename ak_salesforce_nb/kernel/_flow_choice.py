"""Which sign-in the connect form offers: does our server extension answer for this kernel?

A kernel started by a Jupyter server with this extension inherits the settings the
extension exports (`core._environment`: base URL, and the server's own URL once it
listens). Without them the kernel runs somewhere else (VS Code, Colab, Databricks, a
terminal IPython) and the browser sign-in through our callback cannot complete: the form
offers the device flow and the paste-back flow instead, and says why in one sentence.

With them, a quick probe asks the server's callback route (the one route that answers
without a Jupyter login, and without any state changes nothing) whether it is really
ours and up; a server that has stopped, or a kernel that inherited a stale environment,
is then treated like the places above. The probe runs off the kernel's thread (`Probe`):
the form never waits for it.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import httpx

from ..core import _environment as environment
from ..core._urls import callback_url_under

__all__ = [
    "FLOWS",
    "PROBE_TIMEOUT",
    "Flow",
    "FlowChoice",
    "Probe",
    "choose_flow",
    "notebook_host",
    "probe_server",
]

Flow = Literal["server", "device", "paste"]
#: Every flow the form can run.
FLOWS: tuple[Flow, ...] = ("server", "device", "paste")
#: Seconds the probe waits for the server (it is on the same machine or network).
PROBE_TIMEOUT = 1.5


@dataclass(frozen=True)
class FlowChoice:
    """The flow to offer first, whether the server flow can work, and why (one sentence
    for the form, empty when the server flow is simply used)."""

    flow: Flow
    server_available: bool
    reason: str = ""


def notebook_host(
    environ: Mapping[str, str] | None = None, modules: Mapping[str, object] | None = None
) -> str:
    """The notebook product this kernel runs in, when it tells ("Google Colab",
    "Databricks", "VS Code"), else ``""``: only for the sentence the form says."""
    env = os.environ if environ is None else environ
    loaded = sys.modules if modules is None else modules
    if "google.colab" in loaded or "COLAB_RELEASE_TAG" in env:
        return "Google Colab"
    if "DATABRICKS_RUNTIME_VERSION" in env:
        return "Databricks"
    if any(key.startswith("VSCODE_") for key in env):
        return "VS Code"
    return ""


#: Servers that answered as ours in this process (a kernel lives and dies with its server).
_ANSWERED: set[str] = set()


def probe_server(
    server_url: str,
    *,
    timeout: float = PROBE_TIMEOUT,
    attempts: int = 3,
    transport: httpx.BaseTransport | None = None,
) -> bool:
    """True when the server at `server_url` serves our callback route: opened without a
    state, our handler answers its own 400 page ("No authorization in progress") and
    changes nothing; a server without the extension answers 404, a stopped one refuses
    the connection (said at once). A timeout is tried again (`attempts` in all): a busy
    server is still a server."""
    if server_url in _ANSWERED:
        return True
    url = callback_url_under(server_url)
    with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False) as client:
        for _ in range(max(1, attempts)):
            try:
                response = client.get(url)
            except httpx.TimeoutException:
                continue
            except httpx.HTTPError:
                return False
            ours = response.status_code == 400 and "data-outcome" in response.text
            if ours:
                _ANSWERED.add(server_url)
            return ours
    return False


def _without_server(environ: Mapping[str, str] | None) -> FlowChoice:
    host = notebook_host(environ)
    where = f"in {host}" if host else "outside a Jupyter server with ak_salesforce_nb's extension"
    return FlowChoice(
        "device",
        False,
        f"This kernel runs {where}, so the browser sign-in that returns to Jupyter is not "
        "available: sign in with a code (device flow) or paste back the address instead.",
    )


def choose_flow(
    environ: Mapping[str, str] | None = None,
    *,
    probe: Callable[[str], bool] | None = None,
) -> FlowChoice:
    """The choice from the environment, and (when the server said where it listens and
    `probe` is given) from the probe's answer. Blocks for at most the probe's timeout;
    the form uses `Probe` to keep that off its thread."""
    env = os.environ if environ is None else environ
    if environment.ENV_BASE_URL not in env:
        return _without_server(environ)
    server_url = environment.server_url(environ)
    if probe is not None and server_url and not probe(server_url):
        return FlowChoice(
            "device",
            False,
            f"The Jupyter server that started this kernel ({server_url}) does not answer "
            "the sign-in route, so sign in with a code (device flow) or paste back the "
            "address instead.",
        )
    return FlowChoice("server", True)


class Probe:
    """`choose_flow` with the probe on a daemon thread: `initial` at once (from the
    environment alone), then `on_result(choice)` if the probe changes it."""

    def __init__(
        self,
        on_result: Callable[[FlowChoice], None],
        *,
        environ: Mapping[str, str] | None = None,
        probe: Callable[[str], bool] = probe_server,
    ) -> None:
        self.initial = choose_flow(environ)
        self.result: FlowChoice | None = None
        self.done = threading.Event()
        self._on_result = on_result
        self._environ = environ
        self._probe = probe
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.initial.server_available or not environment.server_url(self._environ):
            self.result = self.initial
            self.done.set()
            return
        self._thread = threading.Thread(target=self._run, name="ak-salesforce-probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.result = choose_flow(self._environ, probe=self._probe)
            if self.result != self.initial:
                self._on_result(self.result)
        finally:
            self.done.set()
