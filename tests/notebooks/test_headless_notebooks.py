"""The demo notebooks run unattended from the environment alone: nbclient, no store file.

This is the CI / papermill / scheduled-job case: the notebook is the shared file as it is
in the repository, the run gives the connection an sfdx auth URL in
``AK_SALESFORCE_NB_DEMO_AUTH_URL`` (its refresh token issued by the emulator), and there
is no store, no browser, no Jupyter server. The run must end clean, leave no store file
behind, and keep no secret in the outputs it saves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ak_salesforce_nb.core._auth_url import format_auth_url
from ak_salesforce_nb.core._environment import ENV_KEYRING, ENV_STORE, connection_variable
from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator
from tests.emulator.helpers import get_token
from tests.keys import write_certificate, write_private_key

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
#: The demo notebooks that only name a connection (01 is the one that shows the form).
HEADLESS = ["02-explore-an-org.ipynb", "03-pipeline-report.ipynb", "04-working-with-records.ipynb"]
#: Those whose run must not even create a store file: all of them (the explorer's static
#: summary reads ``session.connection_record()``, which never opens the store).
STORELESS = HEADLESS
CLIENT_ID = "demo-client-id"
CLIENT_SECRET = "demo-client-secret"
TOKEN_LIKE = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]{20,}")


def run(path: Path, tmp_path: Path) -> tuple[nbformat.NotebookNode, list[str]]:
    """Execute `path` with nbclient (errors kept, not raised); the notebook and the
    error texts of its cells."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [
        f"{output.ename}: {output.evalue}"
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    return nb, errors


@pytest.fixture
def headless_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment of an unattended run: a store path that must stay absent."""
    store = tmp_path / "no-store" / "store.sqlite3"
    monkeypatch.setenv(ENV_STORE, str(store))
    monkeypatch.setenv(ENV_KEYRING, "off")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return store


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("notebook", HEADLESS)
def test_demo_notebook_runs_from_an_auth_url_in_the_environment(
    notebook: str,
    emu: RunningEmulator,
    headless_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refresh_token = get_token(emu)["refresh_token"]
    auth_url = format_auth_url(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=refresh_token,
        instance_url=emu.url,
    )
    monkeypatch.setenv(connection_variable("demo", "AUTH_URL"), auth_url)
    refreshes = emu.stats["refresh_grants"]
    source = NOTEBOOKS / notebook
    before = source.read_text()

    nb, errors = run(source, tmp_path)

    assert errors == []
    assert emu.stats["refresh_grants"] > refreshes  # the auth URL's token was redeemed
    if notebook in STORELESS:
        assert not headless_env.exists()
    assert source.read_text() == before  # run unchanged, and left unchanged
    saved = tmp_path / notebook
    nbformat.write(nb, saved)
    text = saved.read_text()
    for secret in (refresh_token, CLIENT_SECRET, auth_url, "force://"):
        assert secret not in text
    assert not TOKEN_LIKE.search(text)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert outputs, "the notebook showed nothing"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_without_credentials_a_notebook_shows_the_form_and_says_to_run_again(
    emu: RunningEmulator, headless_env: Path, tmp_path: Path
) -> None:
    nb, errors = run(NOTEBOOKS / "03-pipeline-report.ipynb", tmp_path)
    assert errors, "a notebook without credentials cannot have run clean"
    assert errors[0].startswith("NotConnected: ")
    assert "Authorize it in the form shown above, then run this cell again" in errors[0]
    assert "AK_SALESFORCE_NB_DEMO_AUTH_URL" in errors[0]
    # The cell that failed shows the connect form (a widget view) before the error.
    failing = next(
        c for c in nb.cells if any(o.output_type == "error" for o in c.get("outputs", []))
    )
    shown = [o for o in failing.outputs if o.output_type == "display_data"]
    assert any("application/vnd.jupyter.widget-view+json" in o.data for o in shown)


@pytest.fixture(scope="module")
def jwt_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningEmulator, Path]]:
    """An org whose app has a certificate (``--jwt-cert``), and the key file that signs."""
    folder = tmp_path_factory.mktemp("jwt-org")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = write_certificate(key, folder / "server.crt")
    with start_emulator(EmulatorConfig(accounts=60, seed=7, jwt_cert=str(cert))) as emu:
        yield emu, write_private_key(key, folder / "server.key")


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("flow", ["client_credentials", "jwt"])
def test_demo_notebook_runs_with_a_grant_from_the_environment(
    flow: str,
    jwt_org: tuple[RunningEmulator, Path],
    headless_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emu, key_file = jwt_org
    settings = {"FLOW": flow, "CLIENT_ID": CLIENT_ID, "LOGIN_URL": emu.url}
    if flow == "client_credentials":
        settings["CLIENT_SECRET"] = CLIENT_SECRET
    else:
        settings.update(USERNAME=emu.config.default_username, JWT_KEY_FILE=str(key_file))
    for field, value in settings.items():
        monkeypatch.setenv(connection_variable("demo", field), value)
    stat = "client_credentials_grants" if flow == "client_credentials" else "jwt_bearer_grants"
    grants = emu.stats.get(stat, 0)

    nb, errors = run(NOTEBOOKS / "03-pipeline-report.ipynb", tmp_path)

    assert errors == []
    assert emu.stats.get(stat, 0) == grants + 1  # one token for the whole run
    assert not headless_env.exists()
    nbformat.write(nb, tmp_path / "out.ipynb")
    text = (tmp_path / "out.ipynb").read_text()
    assert CLIENT_SECRET not in text and "PRIVATE KEY" not in text
    assert not TOKEN_LIKE.search(text)
