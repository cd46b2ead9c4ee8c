"""The explorer's Python side, driven without a browser."""

from __future__ import annotations

import ak_salesforce_nb as aksf
from tests.conftest import Flow


async def test_explorer_builds_and_previews_a_query(flow: Flow) -> None:
    await flow.connect("prod")
    explorer = aksf.explore("prod")
    assert "Account" in explorer.filter("acc")
    explorer.select_object("Account")
    assert explorer.record_count == 300
    assert any(f["name"] == "OwnerId" for f in explorer.fields)
    explorer.set_fields(["Id", "Name", "Industry"])
    explorer.where = "Industry = 'Energy'"
    explorer.limit = 5
    assert (
        explorer.soql == "SELECT Id, Name, Industry FROM Account WHERE Industry = 'Energy' LIMIT 5"
    )
    assert "aksf.session('prod').query(" in explorer.python_code
    assert explorer.soql_box.value == explorer.soql
    frame = explorer.preview()
    assert frame is not None and 0 < len(frame) <= 5
    explorer.where = "Nope__c = 1"
    assert explorer.preview() is None
    assert "Nope__c" in explorer.message.value
