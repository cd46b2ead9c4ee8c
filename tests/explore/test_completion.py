"""SOQL completion and inspection through the Jupyter messaging protocol.

A real IPython kernel (started by `jupyter_client`, no Jupyter server) holds a session on
the emulator; the tests send ``complete_request`` and ``inspect_request`` messages as
JupyterLab, VS Code or Colab would and read the replies.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import KernelManager

from ak_salesforce_nb.core._environment import ENV_KEYRING, ENV_STORE
from ak_salesforce_nb.emulator import RunningEmulator

from .conftest import authorize_store

TIMEOUT = 60


class Kernel:
    def __init__(self, manager: KernelManager) -> None:
        self.manager = manager
        self.client = manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=TIMEOUT)

    def run(self, code: str) -> dict[str, Any]:
        reply = self.client.execute_interactive(code, timeout=TIMEOUT, output_hook=lambda _m: None)
        content: dict[str, Any] = reply["content"]
        assert content["status"] == "ok", content
        return content

    def complete(self, code: str, cursor: int | None = None) -> dict[str, Any]:
        cursor = len(code) if cursor is None else cursor
        msg_id = self.client.complete(code, cursor)
        reply = self.client.get_shell_msg(timeout=TIMEOUT)
        assert reply["parent_header"]["msg_id"] == msg_id
        content: dict[str, Any] = reply["content"]
        return content

    def matches(self, code: str, cursor: int | None = None) -> list[str]:
        return list(self.complete(code, cursor)["matches"])

    def inspect(self, code: str, cursor: int) -> dict[str, Any]:
        msg_id = self.client.inspect(code, cursor)
        reply = self.client.get_shell_msg(timeout=TIMEOUT)
        assert reply["parent_header"]["msg_id"] == msg_id
        content: dict[str, Any] = reply["content"]
        return content

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def start_kernel(store: Path) -> Kernel:
    env = dict(os.environ)
    env[ENV_STORE] = str(store)
    env[ENV_KEYRING] = "off"
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=env)
    return Kernel(manager)


@pytest.fixture(scope="module")
def kernel(emulator: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    store = tmp_path_factory.mktemp("completion") / "store.sqlite3"
    authorize_store(emulator, store)
    started = start_kernel(store)
    started.run(
        "import ak_salesforce_nb as aksf\n"
        "%load_ext ak_salesforce_nb\n"
        "sf = aksf.session('prod')\n"
        "threshold = 5\n"
        "industries = ['Banking']\n"
    )
    yield started
    started.stop()


def test_objects_after_from_in_a_soql_cell(kernel: Kernel) -> None:
    matches = kernel.matches("%%soql\nSELECT Id FROM Acc")
    assert "Account" in matches
    assert all(m.lower().startswith("acc") for m in matches)


def test_fields_of_the_from_object_in_the_select_list(kernel: Kernel) -> None:
    code = "%%soql\nSELECT Id, Na FROM Account"
    reply = kernel.complete(code, code.index("Na") + 2)
    assert "Name" in reply["matches"]
    # The fragment `Na` is what gets replaced.
    assert reply["cursor_end"] - reply["cursor_start"] == 2


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("%%soql\nSELECT Id FROM Account WHERE Indus", "Industry"),
        ("%%soql\nSELECT Id FROM Account ORDER BY Annual", "AnnualRevenue"),
        ("%%soql\nSELECT Industry, COUNT(Id) FROM Account GROUP BY Indu", "Industry"),
    ],
)
def test_fields_in_where_order_by_and_group_by(kernel: Kernel, code: str, expected: str) -> None:
    assert expected in kernel.matches(code)


def test_relationship_paths(kernel: Kernel) -> None:
    code = "%%soql\nSELECT Owner.Na FROM Account"
    assert "Name" in kernel.matches(code, code.index("Owner.Na") + len("Owner.Na"))
    code = "%%soql\nSELECT Account.Owner.Em FROM Contact"
    assert "Email" in kernel.matches(code, code.index(".Em") + 3)
    code = "%%soql\nSELECT Id, Own FROM Account"
    assert "Owner." in kernel.matches(code, code.index("Own") + 3)


def test_child_relationships_in_a_subquery(kernel: Kernel) -> None:
    code = "%%soql\nSELECT Id, (SELECT Id FROM Con) FROM Account"
    assert "Contacts" in kernel.matches(code, code.index("Con)") + 3)
    code = "%%soql\nSELECT Id, (SELECT Last FROM Contacts) FROM Account"
    assert "LastName" in kernel.matches(code, code.index("Last") + 4)


def test_picklist_values_after_equals_and_in(kernel: Kernel) -> None:
    matches = kernel.matches("%%soql\nSELECT Id FROM Account WHERE Industry = 'Ban")
    assert "Banking" in matches
    matches = kernel.matches("%%soql\nSELECT Id FROM Account WHERE Industry IN ('Banking', 'Te")
    assert matches and all(m.startswith("Te") for m in matches)


def test_keywords_and_functions_where_they_fit(kernel: Kernel) -> None:
    assert "WHERE" in kernel.matches("%%soql\nSELECT Id FROM Account WH")
    assert "COUNT(" in kernel.matches("%%soql\nSELECT COU")
    assert "FROM" in kernel.matches("%%soql\nSELECT Id FR")


def test_placeholders_from_the_user_namespace(kernel: Kernel) -> None:
    matches = kernel.matches("%%soql\nSELECT Id FROM Account WHERE AnnualRevenue > :thr")
    assert matches == ["threshold"]


def test_line_magic_and_query_string_arguments(kernel: Kernel) -> None:
    assert "Account" in kernel.matches("n = %soql SELECT COUNT() FROM Acc")
    assert "Account" in kernel.matches("sf.query('SELECT Id FROM Acc")
    code = 'sf.bulk_query("SELECT Id, Indus FROM Account")'
    assert "Industry" in kernel.matches(code, code.index("Indus") + 5)
    code = "sf.query_records(soql='''SELECT Id FROM Contact WHERE Acc"
    assert "AccountId" in kernel.matches(code)


def test_python_completion_is_untouched_outside_soql(kernel: Kernel) -> None:
    assert "threshold" in kernel.matches("thre")
    assert "query" in kernel.matches("sf.que")


def test_inspect_shows_label_type_and_help(kernel: Kernel) -> None:
    code = "%%soql\nSELECT Id, Industry FROM Account"
    reply = kernel.inspect(code, code.index("Industry") + 3)
    assert reply["found"] is True
    text = reply["data"]["text/plain"]
    assert "Account.Industry" in text and "picklist" in text and "Banking" in text
    code = "%%soql\nSELECT Owner.Email FROM Account"
    reply = kernel.inspect(code, code.index("Email") + 2)
    assert "User.Email" in reply["data"]["text/plain"]
    # Outside SOQL, Python's inspection as before.
    reply = kernel.inspect("threshold", 3)
    assert reply["found"] is True and "int" in reply["data"]["text/plain"]


WARM = "%%soql\nSELECT Indus FROM Account"
WARM_CURSOR = WARM.index("Indus") + 5


def test_a_new_kernel_completes_from_the_disk_cache(
    kernel: Kernel, emulator: RunningEmulator, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Describe is cached beside the store: a second kernel needs no describe call to
    answer, and its first completion is fast."""
    store = tmp_path_factory.mktemp("warm") / "store.sqlite3"
    authorize_store(emulator, store)
    first = start_kernel(store)
    try:
        first.run("%load_ext ak_salesforce_nb")
        deadline = time.monotonic() + 30
        while "Industry" not in first.matches(WARM, WARM_CURSOR):
            assert time.monotonic() < deadline, "describe never arrived"
            time.sleep(0.2)
    finally:
        first.stop()
    cached = list((store.parent / "describe-cache").rglob("account.json"))
    assert cached, "no describe file written"
    second = start_kernel(store)
    try:
        second.run("%load_ext ak_salesforce_nb")
        started = time.monotonic()
        matches = second.matches(WARM, WARM_CURSOR)
        assert "Industry" in matches
        assert time.monotonic() - started < 2.0
    finally:
        second.stop()
