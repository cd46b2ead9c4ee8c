"""Every widget output of the package carries a static text/plain and text/html twin
(connection, state, user, org: never a secret), so a notebook read without widgets
(GitHub, nbviewer, a scrubbed notebook) shows what happened."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import nbformat
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.cli._scrub import scrub_file
from ak_salesforce_nb.core._store import ConnectionRecord, ConnectionStore
from ak_salesforce_nb.kernel._explorer import Explorer
from ak_salesforce_nb.kernel._progress import _WidgetProgress
from ak_salesforce_nb.kernel._static import (
    WIDGET_VIEW_MIMETYPE,
    StaticSummary,
    connection_summary,
    static_bundle,
    with_static,
)
from ak_salesforce_nb.pubsub._events import Event
from ak_salesforce_nb.pubsub._widget import SubscriptionView
from tests.conftest import Flow


@pytest.fixture
def shell() -> Any:
    """IPython's real InteractiveShell: its display formatter is what a kernel uses."""
    from IPython.core.interactiveshell import InteractiveShell

    return InteractiveShell.instance()


def formatted(shell: Any, obj: Any) -> dict[str, Any]:
    """What a kernel would send for `obj`: IPython's display formatter's bundle."""
    data, _ = shell.display_formatter.format(obj)
    return dict(data)


def secrets_of(store_path: Path, name: str = "prod") -> list[str]:
    with aksf.session(name) as sf:
        tokens = sf.tokens.current()
        return [t for t in (tokens.access_token, tokens.refresh_token) if t]


def test_summary_escapes_every_field() -> None:
    summary = StaticSummary(
        "Salesforce connection",
        name="<img src=x onerror=alert(1)>",
        state="connected",
        user="ada@acme.com",
        org="Acme & Co",
        sentence="Connected <b>now</b>.",
        rows=(("Instance", "https://acme.my.salesforce.com"),),
    )
    html = summary.html()
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Acme &amp; Co" in html and "&lt;b&gt;now&lt;/b&gt;" in html
    text = summary.text()
    assert text.splitlines()[0] == "Salesforce connection"
    assert "  User: ada@acme.com" in text and "  Org: Acme & Co" in text
    assert "  Instance: https://acme.my.salesforce.com" in text


def test_with_static_adds_text_and_html_and_keeps_the_view(shell: Any) -> None:
    import ipywidgets as widgets

    calls: list[int] = []

    def describe() -> StaticSummary:
        calls.append(1)
        return StaticSummary("Thing", name="prod", state="connected")

    box = with_static(widgets.VBox([widgets.HTML("live")]), describe)
    assert type(box) is widgets.VBox  # the same widget: the frontend sees nothing new
    data = formatted(shell, box)
    assert data[WIDGET_VIEW_MIMETYPE]["model_id"] == box.model_id
    assert data["text/plain"].startswith("Thing\n  Connection: prod")
    assert "connected" in data["text/html"]
    assert calls == [1]  # described at display, not before
    box.close()  # closed: ipywidgets shows the repr, as before
    assert WIDGET_VIEW_MIMETYPE not in formatted(shell, box)


def test_a_failing_summary_never_breaks_the_live_view(shell: Any) -> None:
    import ipywidgets as widgets

    def broken() -> StaticSummary:
        raise RuntimeError("store gone")

    box = with_static(widgets.HBox([]), broken)
    assert WIDGET_VIEW_MIMETYPE in formatted(shell, box)
    box.close()


def test_connection_summary_of_a_missing_connection() -> None:
    summary = connection_summary(None, "prod")
    assert "not configured" in summary.text() and "prod" in summary.html()


def _check_connection_bundle(
    data: Mapping[str, Any], record: ConnectionRecord, secrets: list[str], title: str
) -> None:
    assert WIDGET_VIEW_MIMETYPE in data
    for mimetype in ("text/plain", "text/html"):
        shown = data[mimetype]
        assert title in shown
        assert record.name in shown
        assert "connected" in shown
        assert record.username and record.username in shown
        assert record.organization_name and record.organization_name in shown
        for secret in secrets:
            assert secret not in shown
    for secret in secrets:
        assert secret not in json.dumps(data)


async def test_explorer_bundle_has_connection_user_org_and_query(
    flow: Flow, store_path: Path, shell: Any
) -> None:
    await flow.connect("prod")
    record = ConnectionStore(store_path).get_connection("prod")
    secrets = secrets_of(store_path)
    with Explorer("prod") as explorer:
        data = formatted(shell, explorer.widget)
        _check_connection_bundle(data, record, secrets, "Salesforce explorer")
        assert "queryable" in data["text/plain"]
        explorer.select_object("Account")
        explorer.set_fields(["Id", "Name"])
        data = formatted(shell, explorer.widget)
        assert "SELECT Id, Name FROM Account LIMIT 20" in data["text/plain"]
        assert "SELECT Id, Name FROM Account LIMIT 20" in data["text/html"]
        # static_bundle gives the same for a one-off display.
        one_off = static_bundle(explorer.widget, connection_summary(record, "prod"))
        _check_connection_bundle(one_off, record, secrets, "Salesforce connection")


def test_progress_bar_output_ends_as_its_final_count(shell: Any) -> None:
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        bar = _WidgetProgress(500, "Fetching")
        bar.advance(200)
        bar.advance(300, failed=2)
        bar.close()
    first, last = captured.outputs[0], captured.outputs[-1]
    assert WIDGET_VIEW_MIMETYPE in first.data
    assert first.data["text/plain"] == "Fetching: 0 / 500 records"
    assert "Fetching: 0 / 500 records" in first.data["text/html"]
    # Closed: the same output (its display id) becomes the final count, as text only.
    assert last.update is True
    assert last.transient["display_id"] == first.transient["display_id"]
    assert WIDGET_VIEW_MIMETYPE not in last.data
    assert last.data["text/plain"] == "Fetching: 500 / 500 records (2 failed) · done"
    assert "500 / 500 records (2 failed)" in last.data["text/html"]


class _FakeSubscription:
    """What `SubscriptionView` reads of a subscription (`Viewed`), without a server."""

    topic = "/data/<AccountChangeEvent>"
    connection = "prod"
    status = "stopped"
    live = False
    done = True
    error = None
    received = 1234
    replay_id = b"\x01\x02"
    notices: list[str] = []
    counts = {("Account", "CREATE"): 1200, ("Account", "UPDATE"): 34}

    def last(self, count: int) -> list[Event]:
        return []

    def add_listener(self, listener: Callable[[], None]) -> None:
        pass

    def remove_listener(self, listener: Callable[[], None]) -> None:
        pass

    def stop(self) -> object:
        return None


def test_subscription_view_bundle(shell: Any) -> None:
    view = SubscriptionView(_FakeSubscription())
    assert type(view.widget).__name__ == "VBox"
    data = formatted(shell, view.widget)
    assert WIDGET_VIEW_MIMETYPE in data
    text, html = data["text/plain"], data["text/html"]
    assert "Topic: /data/<AccountChangeEvent>" in text
    assert "Connection: prod" in text and "State: stopped" in text
    assert "Events: 1,234 received" in text and "Account CREATE: 1,200" in text
    assert "/data/&lt;AccountChangeEvent&gt;" in html and "<AccountChangeEvent>" not in html
    assert "1,234 received" in html and "stopped" in html
    view.widget.close()


NOTEBOOK_CELLS = [
    "import ak_salesforce_nb as aksf",
    'explorer = aksf.explore("prod")\nexplorer.select_object("Account")\nexplorer',
    'sf = aksf.session("prod")\n'
    'frame = sf.query("SELECT Id, Name FROM Account", batch_size=200, progress=True)\n'
    "len(frame)",
]


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_executed_notebook_saves_the_static_html(
    flow: Flow, store_path: Path, tmp_path: Path
) -> None:
    """A real kernel (nbclient) runs the explorer and a query with a progress bar; the
    saved outputs hold the static twins, and once scrubbed (no widget state, no views)
    the notebook still reads: connection, state, user, org, the final count."""
    from nbclient import NotebookClient

    await flow.connect("prod")
    record = ConnectionStore(store_path).get_connection("prod")
    secrets = secrets_of(store_path)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in NOTEBOOK_CELLS]
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    await client.async_execute()
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    assert "widgets" in nb.metadata  # nbclient saved the widget state, as Jupyter does

    explorer_outputs = [o for o in nb.cells[1].outputs if o.output_type == "display_data"]
    assert len(explorer_outputs) == 1
    _check_connection_bundle(explorer_outputs[0].data, record, secrets, "Salesforce explorer")
    assert "FROM Account" in explorer_outputs[0].data["text/html"]

    progress = [o for o in nb.cells[2].outputs if o.output_type == "display_data"]
    assert len(progress) == 1
    assert WIDGET_VIEW_MIMETYPE not in progress[0].data  # closed: the final count stays
    rows = int(
        next(o for o in nb.cells[2].outputs if o.output_type == "execute_result").data["text/plain"]
    )
    assert rows > 200
    assert f"{rows:,} / {rows:,} records" in progress[0].data["text/html"]
    assert "done" in progress[0].data["text/plain"]

    path = tmp_path / "ran.ipynb"
    nbformat.write(nb, path)
    for secret in secrets:
        assert secret not in path.read_text()
    result = scrub_file(path)
    assert result.written and not result.remaining
    shared = nbformat.read(path, as_version=4)
    assert "widgets" not in shared.metadata
    data = shared.cells[1].outputs[0].data
    assert WIDGET_VIEW_MIMETYPE not in data
    assert "Salesforce explorer" in data["text/html"] and record.username in data["text/html"]
