"""Where secrets go: only into the store, encrypted. Not to disk elsewhere, not into logs
(at DEBUG, httpx and httpcore included), not into notebooks, outputs, reprs, REST
answers or pages; and the store stays private to its owner.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import ipywidgets
import nbformat
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._store import ConnectionStore
from tests.conftest import CLIENT_ID, CLIENT_SECRET, Flow
from tests.trust.helpers import store_rows

DEBUG_LOGGERS = ("httpx", "httpcore", "ak_salesforce_nb", "ServerApp", "tornado", "")


@pytest.fixture
def jp_server_config(store_path: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"ak_salesforce_nb": True}, "log_level": "DEBUG"},
        "SalesforceOAuth": {"store_path": str(store_path), "http_timeout": 5.0},
    }


def encodings(secret: str) -> set[bytes]:
    """The ways a secret could be written down: raw, URL-encoded, JSON-escaped."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    return {form.encode() for form in forms}


def files_holding(root: Path, secrets: list[str]) -> list[tuple[str, str]]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            for secret in secrets:
                if any(form in data for form in encodings(secret)):
                    found.append((str(path.relative_to(root)), secret[:6] + "…"))
    return found


async def wait_connected(form: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while form.state != "connected":
        assert time.monotonic() < deadline, form.state
        form.watcher.check()
        time.sleep(0.02)


def saved_notebook(path: Path, outputs: list[dict[str, Any]]) -> Path:
    """A notebook as JupyterLab saves it: outputs, and the widget state in metadata."""
    state = ipywidgets.Widget.get_manager_state(drop_defaults=False)
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import ak_salesforce_nb as aksf\nform = aksf.connect('prod')\nform",
                outputs=[nbformat.v4.new_output(**o) for o in outputs],
                execution_count=1,
            )
        ],
        metadata={"widgets": {"application/vnd.jupyter.widget-state+json": state}},
    )
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return path


async def test_no_secret_outside_the_encrypted_store_after_a_full_flow(
    flow: Flow,
    store_path: Path,
    tmp_path: Path,
    jp_root_dir: Path,
    jp_logging_stream: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Form → start → Salesforce → callback → session → 401 → refresh (rotating), all at
    DEBUG logging. Then the client secret, the PKCE verifier, the authorization code and
    every access and refresh token are searched for (raw, URL- and JSON-encoded) in every
    file under the test's directory (store, -wal, -shm, Jupyter dirs, a saved notebook
    with widget state and outputs), in the server log and every log record, in REST
    answers, the callback page and the reprs; found nowhere. The store holds them
    sealed, and opens them again."""
    for name in DEBUG_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    flow.emu.config.rotate_refresh_tokens = True
    store = ConnectionStore(store_path)
    form = aksf.connect("prod", enhanced=False, store=store)
    form.client_id.value = CLIENT_ID
    form.login_host.value = "custom"
    form.custom_url.value = flow.emu.url
    form.client_secret.value = CLIENT_SECRET
    assert form.client_secret.value == ""
    start_url = form.authorize()
    assert start_url
    state = dict(parse_qsl(urlsplit(start_url).query))["state"]
    pending = store.get_pending(state)
    assert pending is not None
    # The browser's leg (the test's own httpx client following Salesforce's redirect, whose
    # Location carries the code) is not the product's: keep its httpcore lines out.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    params = await flow.salesforce(await flow.start(state))
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    page = await flow.callback(params)
    assert page.code == 200
    await wait_connected(form)
    assert form.test().startswith("Test passed")
    first = store.get_tokens("prod")
    assert first is not None
    texts = [page.body.decode()]
    with aksf.session("prod", store_path=store_path) as sf:
        sf.limits()
        flow.emu.expire_access_tokens()
        records_before = len(caplog.records)
        assert sf.limits()["DailyApiRequests"]["Max"] > 0  # refreshed on the 401
        refresh_records = caplog.records[records_before:]
        frame = sf.query("SELECT Id, Name FROM Account LIMIT 3")
        texts += [repr(sf), sf._repr_html_(), repr(sf.tokens), repr(sf._http.auth)]
        texts += [repr(sf.sobject("Account")), repr(frame), repr(sf.connection), repr(store)]
        session_html = sf._repr_html_()
    second = store.get_tokens("prod")
    assert second is not None and second.refresh_token != first.refresh_token
    assert first.refresh_token and second.refresh_token
    # httpx and httpcore really logged at DEBUG during the refresh.
    assert any(r.name.startswith("httpcore") for r in refresh_records)
    assert any(r.name == "httpx" for r in refresh_records)
    secrets = [
        CLIENT_SECRET,
        pending.code_verifier,
        params["code"],
        first.access_token,
        first.refresh_token,
        second.access_token,
        second.refresh_token,
    ]
    for widget_text in (form.status.value, form.details.value, form.title.value):
        texts.append(widget_text)
    texts += [repr(form), repr(first), repr(second), repr(pending)]
    for response in (await flow.api(), await flow.api("prod")):
        texts.append(response.body.decode())
    notebook = saved_notebook(
        jp_root_dir / "saved.ipynb",
        [
            {
                "output_type": "display_data",
                "data": {
                    "text/plain": repr(form),
                    "application/vnd.jupyter.widget-view+json": {
                        "version_major": 2,
                        "version_minor": 0,
                        "model_id": form.widget.model_id,
                    },
                },
            },
            {
                "output_type": "execute_result",
                "data": {"text/plain": texts[1], "text/html": session_html},
                "execution_count": 1,
            },
        ],
    )
    form.close()

    for text in texts:
        for secret in secrets:
            assert all(form_.decode() not in text for form_ in encodings(secret)), text[:200]
    logs = jp_logging_stream.getvalue() + "\n" + caplog.text
    logs += "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "oauth/redirect/salesforce" in logs and "services/oauth2/token" in logs
    for secret in secrets:
        assert all(f.decode() not in logs for f in encodings(secret)), secret[:6]
    assert files_holding(tmp_path, secrets) == []
    assert notebook.exists() and store_path.exists()
    assert Path(f"{store_path}-wal").exists()
    # The store has them, sealed: open and equal.
    assert store.get_client_secret("prod") == CLIENT_SECRET
    assert store.get_tokens("prod") == second
    store.close()


def test_store_files_are_private(store_path: Path) -> None:
    """Folder 0700; store, -wal, -shm, key and lock files 0600, after real use."""
    store = ConnectionStore(store_path)
    store.save_settings(
        "prod", client_id="c", client_secret="s", login_url="https://l.example", scopes="api"
    )
    with store.refresh_lock("prod"):
        pass
    folder = store_path.parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    names = {p.name for p in folder.iterdir()}
    expected = {store_path.name + s for s in ("", "-wal", "-shm", ".key", ".lock")}
    assert expected <= names, names
    for name in names:
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    store.close()


@pytest.mark.parametrize(("target", "mode"), [("folder", 0o750), ("file", 0o640), ("key", 0o644)])
async def test_server_refuses_a_store_others_can_read(
    flow: Flow, store_path: Path, target: str, mode: int
) -> None:
    """(tests/store checks the store class itself.) The server, asked for connections
    while the store, its folder or its key is readable by others, answers 503 naming the
    path and the `chmod` that fixes it; the callback page says so without naming files;
    nothing is written; once fixed, everything works."""
    store = ConnectionStore(store_path)
    store.save_settings(
        "prod", client_id="c", client_secret="s", login_url=flow.emu.url, scopes="api"
    )
    store.close()
    victim = {
        "folder": store_path.parent,
        "file": store_path,
        "key": Path(f"{store_path}.key"),
    }[target]
    os.chmod(victim, mode)
    before = store_rows(store_path)
    response = await flow.api()
    assert response.code == 503
    message = json.loads(response.body)["message"]
    assert str(victim) in message and "chmod" in message
    page = await flow.callback({"state": "x", "code": "y"})
    assert page.code == 503
    body = page.body.decode()
    assert "connection store" in body and str(store_path.parent) not in body
    assert store_rows(store_path) == before
    os.chmod(victim, 0o700 if target == "folder" else 0o600)
    response = await flow.api()
    assert response.code == 200
    assert [c["name"] for c in json.loads(response.body)["connections"]] == ["prod"]
