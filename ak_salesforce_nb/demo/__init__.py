"""`python -m ak_salesforce_nb.demo` (what `make demo` runs): the emulator and JupyterLab.

Starts the local Salesforce emulator (login and consent pages on, as in a real org), copies
the demo notebooks into a scratch workspace, and starts JupyterLab on loopback with the
first notebook open. When JupyterLab answers, it prints one block last: the URL of the demo
notebook, the demo app's credentials and how to stop. Ctrl-C stops both and deletes the
scratch folder.

Every run starts a new emulator, and with it a new, empty connection store: the store and
the emulator always agree, so no connection shows "connected" with a token the emulator
never issued. The credentials are the emulator's, not real Salesforce ones.
"""

from __future__ import annotations

from ._cli import main

__all__ = ["main"]
