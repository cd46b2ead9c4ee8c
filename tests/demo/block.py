"""Reading the demo's final block from its output, as a newcomer reads it from the terminal."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DemoBlock", "read_block"]


@dataclass(frozen=True)
class DemoBlock:
    RULE = "=" * 78

    text: str
    notebook_url: str
    emulator_url: str
    workspace: str

    @property
    def token(self) -> str:
        found = re.search(r"[?&]token=([^&\s]+)", self.notebook_url)
        return found.group(1) if found else ""

    @classmethod
    def parse(cls, output: str) -> DemoBlock | None:
        """The last complete block in `output`, or None while there is none."""
        parts = output.split(cls.RULE)
        if len(parts) < 3:
            return None
        text = parts[-2]
        url = re.search(r"^\s+(http://\S+/lab/tree/\S+)$", text, re.MULTILINE)
        emulator = re.search(r"^Salesforce emulator: (\S+)$", text, re.MULTILINE)
        workspace = re.search(r"^Notebooks: copies in (\S+)$", text, re.MULTILINE)
        if not (url and emulator and workspace):
            return None
        return cls(text, url.group(1), emulator.group(1), workspace.group(1))


def read_block(log: Path, process: subprocess.Popen[bytes], timeout: float) -> DemoBlock:
    """Wait for the demo's block in `log`; fail with the output if the process ends first."""
    deadline = time.monotonic() + timeout
    while True:
        text = log.read_text(errors="replace")
        block = DemoBlock.parse(text)
        if block is not None:
            return block
        if process.poll() is not None:
            raise AssertionError(f"the demo exited ({process.returncode}):\n{text[-6000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no demo block within {timeout:.0f} s:\n{text[-6000:]}")
        time.sleep(0.5)
