"""Run the labextension's TypeScript unit tests (`jlpm test` in labextension/).

They cover the pure logic of the JupyterLab extension: filtering of the OAuth
callback's postMessage/BroadcastChannel messages, the callback URL(s) computed
from the page's origin and base URL (also on JupyterHub), and the validation of
the side panel's "Add connection" form. They run on Node's built-in test runner.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension"


def _jlpm() -> list[str]:
    """The jlpm command bundled with JupyterLab (yarn with JupyterLab's settings)."""
    sibling = Path(sys.executable).with_name("jlpm")
    if sibling.exists():
        return [str(sibling)]
    found = shutil.which("jlpm")
    if found:
        return [found]
    pytest.fail("jlpm not found: install jupyterlab (it ships jlpm) in this environment")


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # The venv's bin first, so jlpm finds the same jupyter/node tools.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return subprocess.run(
        [*_jlpm(), *args],
        cwd=LABEXTENSION,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        check=False,
    )


def _output(proc: subprocess.CompletedProcess[str]) -> str:
    return (
        f"exit code {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )


@pytest.mark.timeout(900)
def test_labextension_unit_tests() -> None:
    if shutil.which("node") is None:
        pytest.fail("node (Node.js >= 18) is needed to run the labextension unit tests")
    if not (LABEXTENSION / "node_modules" / "typescript").is_dir():
        install = _run(["install"], timeout=800)
        assert install.returncode == 0, "jlpm install failed\n" + _output(install)

    proc = _run(["test"], timeout=300)
    assert proc.returncode == 0, "jlpm test failed\n" + _output(proc)

    # Node's test runner closes with "# pass N" / "# fail N": make sure tests ran.
    passed = re.search(r"^# pass (\d+)$", proc.stdout, re.MULTILINE)
    failed = re.search(r"^# fail (\d+)$", proc.stdout, re.MULTILINE)
    assert passed is not None, "no test summary in the output\n" + _output(proc)
    assert failed is not None, "no test summary in the output\n" + _output(proc)
    assert int(failed.group(1)) == 0, _output(proc)
    assert int(passed.group(1)) >= 30, "fewer tests ran than expected\n" + _output(proc)
