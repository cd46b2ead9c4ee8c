"""The demo notebooks run unattended from the environment alone: nbclient, no store file.

This is the CI / papermill / scheduled-job case: the notebook is the shared file as it is
in the repository, the run gives the connection an sfdx auth URL in
``AK_SALESFORCE_NB_DEMO_AUTH_URL`` (its refresh token issued by the emulator), and there
is no store, no browser, no Jupyter server. The run must end clean, leave no store file
behind, and keep no secret in the outputs it saves.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from ak_salesforce_nb.core._auth_url import format_auth_url
from ak_salesforce_nb.core._environment import ENV_KEYRING, ENV_STORE, connection_variable
from ak_salesforce_nb.emulator import RunningEmulator
from tests.emulator.helpers import get_token

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
#: The demo notebooks that only name a connection (01 is the one that shows the form).
HEADLESS = ["02-explore-an-org.ipynb", "03-pipeline-report.ipynb", "04-working-with-records.ipynb"]
#: Those whose run must not even create a store file. 02's explorer reads the record
#: through ``session.store`` (kernel/_explorer.static_summary), which opens the store;
#: ``session.connection_record()`` does not.
STORELESS = ["03-pipeline-report.ipynb", "04-working-with-records.ipynb"]
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
