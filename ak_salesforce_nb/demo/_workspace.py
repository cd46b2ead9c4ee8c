"""The demo's own folders, so that it never writes into the repository or the user's setup.

The notebooks are copies: saving one in the demo changes the copy, never the tracked file.
The connection store, JupyterLab's layout and its setting defaults live in a scratch folder
made for this run and deleted after it, so a new run (a new emulator) starts from an empty
store instead of tokens the new emulator never issued.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LAB_SETTING_DEFAULTS", "Workspace", "create_workspace"]

#: JupyterLab setting defaults for the demo (an ``overrides.json``: the user's own settings
#: still win). No "Would you like to get notified about official Jupyter news?" popup and
#: no update check: the demo is about Salesforce, and runs offline.
LAB_SETTING_DEFAULTS: dict[str, dict[str, object]] = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

_SKIP = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")


@dataclass(frozen=True)
class Workspace:
    """Where one demo run keeps its files."""

    #: The folder JupyterLab serves: the copied notebooks.
    notebooks: Path
    #: Scratch for this run only (store, JupyterLab settings and layout); deleted after.
    scratch: Path
    #: True when `notebooks` is a folder the user chose and keeps after the run.
    kept: bool

    @property
    def store_path(self) -> Path:
        return self.scratch / "store" / "store.sqlite3"

    @property
    def lab_settings(self) -> Path:
        """JupyterLab's application settings folder (it reads ``overrides.json`` there)."""
        return self.scratch / "lab" / "settings"

    @property
    def lab_workspaces(self) -> Path:
        """JupyterLab's saved layouts: the demo's own, apart from the user's."""
        return self.scratch / "lab" / "workspaces"

    def remove(self) -> None:
        """Delete the scratch folder (and the notebook copies unless the user keeps them)."""
        shutil.rmtree(self.scratch, ignore_errors=True)


def create_workspace(source: Path, keep_in: Path | None = None) -> Workspace:
    """Copy the notebooks in `source` to a new scratch folder, or to `keep_in`.

    In `keep_in` a notebook that is already there is left as it is (it may hold the user's
    work from an earlier run); only missing files are copied.
    """
    if not source.is_dir() or not any(source.glob("*.ipynb")):
        raise FileNotFoundError(
            f"No demo notebooks in {source}: run the demo from the repository's root folder, "
            "or name the folder with --notebooks."
        )
    scratch = Path(tempfile.mkdtemp(prefix="ak-salesforce-demo-"))
    try:
        if keep_in is None:
            notebooks = scratch / "notebooks"
            shutil.copytree(source, notebooks, ignore=_SKIP)
        else:
            notebooks = keep_in.resolve()
            notebooks.mkdir(parents=True, exist_ok=True)
            _copy_missing(source, notebooks)
        workspace = Workspace(notebooks=notebooks, scratch=scratch, kept=keep_in is not None)
        workspace.lab_settings.mkdir(parents=True)
        (workspace.lab_settings / "overrides.json").write_text(
            json.dumps(LAB_SETTING_DEFAULTS, indent=2) + "\n"
        )
        workspace.lab_workspaces.mkdir(parents=True)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return workspace


def _copy_missing(source: Path, target: Path) -> None:
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part in {".ipynb_checkpoints", "__pycache__"} for part in relative.parts):
            continue
        destination = target / relative
        if path.is_dir():
            destination.mkdir(exist_ok=True)
        elif not destination.exists():
            shutil.copy2(path, destination)
