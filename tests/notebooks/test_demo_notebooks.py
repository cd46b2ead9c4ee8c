"""The demo notebooks: saved clean, and they run headless on a connection authorized once."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from ak_salesforce_nb.core._environment import ENV_DEMO_LOGIN_URL
from tests.conftest import Flow

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
TOKEN_LIKE = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]{20,}")


def test_there_are_demo_notebooks() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert "01-connect-and-query.ipynb" in names
    assert len(names) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_saved_clean(path: Path) -> None:
    text = path.read_text()
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    assert "widgets" not in nb.metadata, "saved widget state"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"outputs saved in {path.name}"
            assert cell.execution_count is None
    # The emulator's demo secret may be *described* in markdown (issue: the notebook says
    # what the demo app's credentials are); no code cell may carry a secret.
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "demo-client-secret" not in code
    assert "client_secret" not in code
    assert not TOKEN_LIKE.search(text)
    assert re.search(r"CONNECTION = \"\w+\"|aksf\.(connect|session)\(", text), "names no connection"


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
async def test_notebook_runs_headless(
    path: Path, flow: Flow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from nbclient import NotebookClient

    await flow.connect("demo")  # authorized once, as for a scheduled report
    monkeypatch.setenv(ENV_DEMO_LOGIN_URL, flow.emu.url)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    await client.async_execute()
    errors = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
    # The file on disk is untouched: it stays clean.
    assert nbformat.read(path, as_version=4).cells[1].get("outputs", []) == []
