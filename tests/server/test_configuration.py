"""`--SalesforceOAuth.x` flags reach the extension, and the public URL shapes the callback."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.conftest import Flow


@pytest.fixture
def jp_argv() -> list[str]:
    return [
        "--SalesforceOAuth.public_url=https://jupyter.example.com/team/",
        "--SalesforceOAuth.state_ttl=120",
        "--SalesforceOAuth.default_scopes=api refresh_token id",
    ]


async def test_flags_configure_the_extension(flow: Flow, jp_serverapp: Any) -> None:
    state = jp_serverapp.web_app.settings["ak_salesforce_nb"]
    assert state.config.state_ttl == 120
    created = await flow.create("prod", scopes=None)
    assert created["scopes"] == "api refresh_token id"
    listing = json.loads((await flow.api()).body)
    assert listing["callback_url"] == "https://jupyter.example.com/team/oauth/redirect/salesforce"
    response = await flow.api("prod", "authorize", method="POST")
    data = json.loads(response.body)
    assert data["callback_url"] == "https://jupyter.example.com/team/oauth/redirect/salesforce"
    assert 110 < data["expires_at"] - time.time() <= 120
