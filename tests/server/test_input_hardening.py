"""Authenticated input that must still be refused: oversized or unknown PUT settings, and a
login host that reached the store without passing the checks (a hand edit, an older
version's row). Each refusal is a clear 4xx, and nothing is stored."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ak_salesforce_nb.server._authorization import AuthorizationService
from ak_salesforce_nb.server._handlers import MAX_BODY_BYTES
from tests.conftest import Flow, connection_body
from tests.trust.helpers import store_rows


def padded(body: str, size: int) -> str:
    """`body` (a JSON object) grown with insignificant whitespace to exactly `size` bytes."""
    assert body.endswith("}")
    return body[:-1] + " " * (size - len(body.encode())) + "}"


async def test_a_body_over_8_kib_is_refused_before_parsing(flow: Flow, store_path: Path) -> None:
    """Exactly `MAX_BODY_BYTES` is accepted; one byte more is a 413 with a message that
    says the limit, and nothing is written."""
    await flow.create("prod")
    before = store_rows(store_path)
    body = connection_body(flow.emu)
    response = await flow.api("other", method="PUT", body=padded(body, MAX_BODY_BYTES + 1))
    assert response.code == 413
    assert response.headers["Content-Type"].startswith("application/json")
    message = json.loads(response.body)["message"]
    assert "8 KiB" in message and str(MAX_BODY_BYTES + 1) in message
    assert store_rows(store_path) == before
    accepted = await flow.api("other", method="PUT", body=padded(body, MAX_BODY_BYTES))
    assert accepted.code == 200, accepted.body


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"password": "hunter2"}, "'password'"),
        ({"client-id": "typo"}, "'client-id'"),
        ({"instance_url": "https://evil.example"}, "'instance_url'"),
    ],
)
async def test_unknown_settings_are_refused_by_name(
    flow: Flow, store_path: Path, extra: dict[str, Any], named: str
) -> None:
    """A key that is not a setting is a 400 naming it (and the keys that are), even next
    to valid settings; the connection is neither created nor changed (the check is
    `configure_connection`'s, shared with the notebook form; the handler maps it)."""
    await flow.create("prod")
    before = store_rows(store_path)
    for name in ("prod", "new"):
        body = json.loads(connection_body(flow.emu, client_id="changed")) | extra
        response = await flow.api(name, method="PUT", body=body)
        assert response.code == 400, response.body
        message = json.loads(response.body)["message"]
        assert named in message
        assert "client_id, client_secret, login_url, scopes" in message
    assert store_rows(store_path) == before
    assert (await flow.get("prod"))["client_id"] == "demo-client-id"


@pytest.mark.parametrize("body", ["[]", '"settings"', "null", "42"])
async def test_a_body_that_is_not_an_object_is_refused(
    flow: Flow, store_path: Path, body: str
) -> None:
    await flow.create("prod")
    before = store_rows(store_path)
    response = await flow.api("prod", method="PUT", body=body)
    assert response.code == 400
    assert "JSON object" in json.loads(response.body)["message"]
    assert store_rows(store_path) == before


#: Login hosts no PUT accepts, as they might sit in a store written by other means.
STORED_HOSTS = [
    "https://login.salesforce.com\r\nSet-Cookie: session=evil",
    "javascript:alert(1)",
    "http://evil.example",
    "https://evil.example/services",
    "https://evil.example",  # syntactically fine, but not a login host anyone allowed
    "https://\u2113ogin.salesforce.com",  # a look-alike: script small l
    "https://user:pw@login.salesforce.com",
    "",
    "https://[login.salesforce.com",
]


def store_login_host(store_path: Path, name: str, login_url: str) -> None:
    """Write the login host straight into SQLite, past every check."""
    db = sqlite3.connect(store_path)
    try:
        with db:
            db.execute("UPDATE connections SET login_url = ? WHERE name = ?", (login_url, name))
    finally:
        db.close()


@pytest.mark.parametrize("login_url", STORED_HOSTS)
async def test_start_with_a_bad_stored_login_host_is_a_clear_4xx(
    flow: Flow, store_path: Path, login_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The start handler checks the stored host again: a 400 page saying which
    connection and what to do, no redirect, no 500, and no traceback or live state in
    the server log."""
    caplog.set_level(logging.DEBUG)
    await flow.create("prod")
    state = await flow.begin("prod")
    store_login_host(store_path, "prod", login_url)
    response = await flow.open_start({"state": state})
    assert response.code == 400, response.body[:300]
    assert "Location" not in response.headers
    page = response.body.decode()
    assert "Cannot start" in page and "&#39;prod&#39;" in page
    assert "login host" in page and "connection form" in page
    assert "Traceback" not in caplog.text
    assert state not in caplog.text
    assert "Salesforce sign-in not started" in caplog.text


async def test_a_login_host_changed_during_sign_in_gets_no_secret(
    flow: Flow, store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A host swapped in the store between the start and the callback: the callback
    checks it again before sending the code and the Client Secret there, and says so."""
    caplog.set_level(logging.DEBUG)
    await flow.create("prod")
    params = await flow.salesforce(await flow.start(await flow.begin("prod")))
    store_login_host(store_path, "prod", "javascript:alert(1)")
    requests = flow.emu.stats["token_requests"]
    page = await flow.callback(params)
    assert page.code == 400
    assert "login host" in page.body.decode()
    assert flow.emu.stats["token_requests"] == requests
    connection = await flow.get("prod")
    assert connection["state"] == "error" and "login host" in connection["message"]
    assert "Traceback" not in caplog.text and params["code"] not in caplog.text


async def test_a_bug_in_the_start_handler_logs_no_state(
    flow: Flow, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the service ever fail unexpectedly with the state in its message, the log
    gets the frames and the exception's type, not its message; the page no traceback."""
    caplog.set_level(logging.DEBUG)
    await flow.create("prod")
    state = await flow.begin("prod")

    def broken(self: AuthorizationService, state: str, redirect_uri: str) -> str:
        raise RuntimeError(f"cannot start {state}")

    monkeypatch.setattr(AuthorizationService, "start", broken)
    response = await flow.open_start({"state": state})
    assert response.code == 500
    assert "Traceback" not in response.body.decode() and state not in response.body.decode()
    assert "Uncaught exception GET" in caplog.text
    assert "RuntimeError (message withheld" in caplog.text
    assert "in broken" in caplog.text  # the frames are there, for whoever debugs it
    assert state not in caplog.text
