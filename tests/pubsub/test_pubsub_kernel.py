"""In a real kernel: a cell subscribes, another cell updates an Account, the event arrives
while the cells stay free; a restarted kernel resumes where the first one stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

import ak_salesforce_nb as aksf
from tests.conftest import Flow

SUBSCRIBE = """
import asyncio, time
import ak_salesforce_nb as aksf
sf = aksf.session("prod")
started = time.monotonic()
sub = sf.subscribe("/data/AccountChangeEvent")
print(f"returned in {time.monotonic() - started:.3f} s")
await sub.ready()
sub
"""
UPDATE = """
record_id = sf.sobject("Account").create({"Name": "Made in another cell"})
sf.sobject("Account").update(record_id, {"Industry": "Energy"})
"""
WAIT = """
for _ in range(200):
    if sub.received >= 2:
        break
    await asyncio.sleep(0.05)
print([(e.change_type, e.record_id == record_id) for e in sub.events])
print(sub.to_dataframe()[["change_type", "Industry"]].to_string())
await sub.stop()
print(sub.status, sub.replay_id.hex())
"""
RESUME = """
import asyncio
import ak_salesforce_nb as aksf
sf = aksf.session("prod")
sub = sf.subscribe("/data/AccountChangeEvent")
events = []
async def collect():
    async for event in sub:
        events.append(event)
        if len(events) == 2:
            break
await asyncio.wait_for(collect(), 30)
await sub.stop()
print([e["Name"] for e in events])
"""


def notebook(*sources: str) -> Any:
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.cells = [
        nbformat.v4.new_code_cell(source.strip())  # type: ignore[no-untyped-call]
        for source in sources
    ]
    return nb


def text_of(cell: Any) -> str:
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type == "error":
            parts.append("\n".join(output.traceback))
        elif "text/plain" in output.get("data", {}):
            parts.append(output.data["text/plain"])
    return "".join(parts)


async def run(nb: Any, tmp_path: Path) -> Any:
    from nbclient import NotebookClient

    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    await client.async_execute()
    return nb


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_cells_subscribe_update_and_resume_after_a_restart(
    flow: Flow, tmp_path: Path
) -> None:
    await flow.connect("prod")
    first = await run(notebook(SUBSCRIBE, UPDATE, WAIT), tmp_path)
    subscribed, _, waited = (text_of(cell) for cell in first.cells)
    returned = float(subscribed.split("returned in ")[1].split(" s")[0])
    assert returned < 2.0, subscribed  # subscribe() does not wait for events
    widget_views = [
        o
        for o in first.cells[0].outputs
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert widget_views, first.cells[0].outputs
    assert "[('CREATE', True), ('UPDATE', True)]" in waited
    assert "Energy" in waited and "stopped" in waited
    position = waited.split("stopped ")[1].split()[0]

    # While no kernel listens, two more changes; a new kernel resumes and gets just them.
    with aksf.session("prod") as sf:
        for name in ("While away 1", "While away 2"):
            sf.sobject("Account").create({"Name": name})
    second = await run(notebook(RESUME), tmp_path)
    output = text_of(second.cells[0])
    assert f"Resuming /data/AccountChangeEvent after replay id {position}" in output
    assert "['While away 1', 'While away 2']" in output
