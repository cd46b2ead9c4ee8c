"""The package's command line (``python -m ak_salesforce_nb …``): tools that work on
notebook files, run by people and by pre-commit hooks.

It runs outside any notebook and any Jupyter server, so it imports neither: no
jupyter_server, tornado or ipywidgets, nothing of ``server``, ``kernel``, ``pubsub`` or
``emulator`` (an import-linter contract in ``pyproject.toml`` holds it), and starts fast.
"""

from __future__ import annotations

from ._commands import COMMANDS, Command, main

__all__ = ["COMMANDS", "Command", "main"]
