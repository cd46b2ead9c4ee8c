"""The one block the demo prints last, after Jupyter's startup lines: everything a newcomer
needs, where they look (the bottom of the terminal)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEMO_CLIENT_ID", "DEMO_CLIENT_SECRET", "DEMO_PASSWORD", "DEMO_USER", "Banner"]

# The emulator's demo app and user (see EmulatorConfig); not real Salesforce credentials.
DEMO_CLIENT_ID = "demo-client-id"
DEMO_CLIENT_SECRET = "demo-client-secret"  # noqa: S105 - the emulator's public demo value
DEMO_USER = "ada@example.com"
DEMO_PASSWORD = "demo"  # noqa: S105 - the emulator's public demo value


@dataclass(frozen=True)
class Banner:
    notebook_url: str
    emulator_url: str
    workspace: str
    kept: bool

    def render(self) -> str:
        fate = (
            "they stay there after the demo"
            if self.kept
            else "deleted when the demo stops; --workspace DIR keeps them"
        )
        lines = [
            "The demo is ready. Open the demo notebook:",
            "",
            f"    {self.notebook_url}",
            "",
            "Run its first cell, then fill in the form with the emulator's demo app:",
            f"    Client ID        {DEMO_CLIENT_ID}",
            f"    Client Secret    {DEMO_CLIENT_SECRET}",
            f"and sign in to the emulator as {DEMO_USER} / password {DEMO_PASSWORD}",
            "(they belong to the local emulator, not to Salesforce).",
            "",
            f"Salesforce emulator: {self.emulator_url}",
            f"Notebooks: copies in {self.workspace}",
            f"    ({fate}).",
            "To stop: Ctrl-C (stops JupyterLab and the emulator).",
        ]
        rule = "=" * 78
        return "\n".join(["", rule, *lines, rule, ""])
