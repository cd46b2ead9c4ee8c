"""The paste-back code flow with PKCE against the emulator: no Jupyter server anywhere.

The emulator's authorize endpoint (auto-approve) answers with the redirect a browser
would follow; its Location is exactly what a user copies from the address bar when
``http://localhost:1717/OauthRedirect`` does not load.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._connections import configure_connection
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.kernel._paste_flow import (
    DEFAULT_PASTE_REDIRECT_URI,
    PasteFlow,
    check_redirect_uri,
    parse_pasted,
)
from tests.conftest import CLIENT_ID, CLIENT_SECRET


@pytest.fixture
def paste_emu(emu: RunningEmulator) -> Iterator[RunningEmulator]:
    """The emulator with the sf CLI's callback address registered on the demo app."""
    emu.config.callback_urls = [DEFAULT_PASTE_REDIRECT_URI]
    emu.config.require_pkce = True
    yield emu
    emu.config.require_client_secret = True


@pytest.fixture
def store(store_path: Path, paste_emu: RunningEmulator) -> ConnectionStore:
    store = ConnectionStore(store_path)
    configure_connection(
        store,
        "prod",
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "login_url": paste_emu.url},
    )
    return store


def approve(link: str) -> str:
    """What the browser's address bar shows after Salesforce approves (auto-approve)."""
    response = httpx.get(link, follow_redirects=False)
    assert response.status_code == 302, response.text
    return str(response.headers["location"])


def test_paste_back_connects_and_the_session_works(store: ConnectionStore) -> None:
    flow = PasteFlow(store, "prod")
    link = flow.begin()
    query = dict(parse_qsl(urlsplit(link).query))
    assert query["redirect_uri"] == DEFAULT_PASTE_REDIRECT_URI
    assert query["code_challenge_method"] == "S256" and query["state"]
    assert store.get_connection("prod").state == "waiting"
    address = approve(link)
    assert address.startswith(DEFAULT_PASTE_REDIRECT_URI + "?")
    record = flow.complete(f"  {address}\n")
    assert record.state == "connected" and record.username == "ada@example.com"
    with aksf.session("prod") as sf:
        assert len(sf.query("SELECT Id FROM Account LIMIT 3")) == 3


def test_a_replayed_address_is_refused(store: ConnectionStore) -> None:
    flow = PasteFlow(store, "prod")
    address = approve(flow.begin())
    flow.complete(address)
    with pytest.raises(aksf.AuthorizationStateError, match="already"):
        flow.complete(address)


def test_an_unknown_state_is_refused_and_nothing_is_sent(
    store: ConnectionStore, paste_emu: RunningEmulator
) -> None:
    flow = PasteFlow(store, "prod")
    address = approve(flow.begin())
    params = dict(parse_qsl(urlsplit(address).query))
    before = paste_emu.stats["token_requests"]
    forged = f"{DEFAULT_PASTE_REDIRECT_URI}?{urlencode({**params, 'state': 'forged'})}"
    with pytest.raises(aksf.AuthorizationStateError):
        flow.complete(forged)
    assert paste_emu.stats["token_requests"] == before
    # The real address still works: a forged one does not use the sign-in up.
    assert flow.complete(address).state == "connected"


def test_only_the_query_may_be_pasted(store: ConnectionStore) -> None:
    flow = PasteFlow(store, "prod")
    address = approve(flow.begin())
    assert flow.complete(urlsplit(address).query).state == "connected"


def test_denial_is_said_and_recorded(store: ConnectionStore) -> None:
    flow = PasteFlow(store, "prod")
    flow.begin()
    assert flow.pending is not None
    denied = (
        f"{DEFAULT_PASTE_REDIRECT_URI}?error=access_denied&error_description="
        f"end-user+denied+authorization&state={flow.pending.state}"
    )
    with pytest.raises(aksf.AuthorizationDenied, match="choose Allow"):
        flow.complete(denied)
    record = store.get_connection("prod")
    assert record.state == "error" and "access_denied" in record.message


def test_public_client_without_a_secret(store_path: Path, paste_emu: RunningEmulator) -> None:
    paste_emu.config.require_client_secret = False
    store = ConnectionStore(store_path)
    record = configure_connection(
        store, "pub", {"client_id": CLIENT_ID, "client_secret": "", "login_url": paste_emu.url}
    )
    assert not record.has_client_secret
    flow = PasteFlow(store, "pub")
    assert flow.complete(approve(flow.begin())).state == "connected"


def test_an_app_that_needs_its_secret_says_so(store_path: Path, paste_emu: RunningEmulator) -> None:
    store = ConnectionStore(store_path)
    configure_connection(store, "pub", {"client_id": CLIENT_ID, "login_url": paste_emu.url})
    flow = PasteFlow(store, "pub")
    with pytest.raises(aksf.TokenRequestError, match="requires its Client Secret"):
        flow.complete(approve(flow.begin()))


def test_wrong_secret_is_clear(store_path: Path, paste_emu: RunningEmulator) -> None:
    store = ConnectionStore(store_path)
    configure_connection(
        store, "bad", {"client_id": CLIENT_ID, "client_secret": "nope", "login_url": paste_emu.url}
    )
    flow = PasteFlow(store, "bad")
    with pytest.raises(aksf.TokenRequestError, match="Client Secret is wrong"):
        flow.complete(approve(flow.begin()))
    assert store.get_connection("bad").state == "error"


def test_pasted_text_is_read_carefully() -> None:
    with pytest.raises(aksf.ConfigurationError, match="Nothing was pasted"):
        parse_pasted("   ")
    with pytest.raises(aksf.ConfigurationError, match="sign-in link itself"):
        parse_pasted("https://login.salesforce.com/services/oauth2/authorize?state=x&client_id=y")
    with pytest.raises(aksf.ConfigurationError, match="no sign-in answer"):
        parse_pasted("https://example.com/")
    assert parse_pasted("'http://localhost:1717/OauthRedirect?code=a%3D%3D&state=s#frag'") == {
        "code": "a==",
        "state": "s",
    }


def test_redirect_uri_is_configurable_and_checked(
    store: ConnectionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ak_salesforce_nb.core._environment import ENV_PASTE_REDIRECT_URI

    monkeypatch.setenv(ENV_PASTE_REDIRECT_URI, "http://localhost:8080/callback")
    assert PasteFlow(store, "prod").redirect_uri == "http://localhost:8080/callback"
    given = PasteFlow(store, "prod", redirect_uri="https://example.com/cb")
    assert given.redirect_uri == "https://example.com/cb"
    for bad in ("javascript:alert(1)", "http://localhost:1717/x#f", "localhost:1717"):
        with pytest.raises(aksf.ConfigurationError):
            check_redirect_uri(bad)


def test_after_a_host_change_the_secret_is_asked_for_again(
    store: ConnectionStore, paste_emu: RunningEmulator
) -> None:
    """The old host's secret is forgotten with the host; the next sign-in asks for it
    (most apps need it), unless the settings are saved again without one: a public
    client then."""
    other_host = paste_emu.url.replace("127.0.0.1", "localhost")
    settings = {"client_id": CLIENT_ID, "login_url": other_host}
    configure_connection(store, "prod", settings)
    with pytest.raises(aksf.ConfigurationError, match="Client Secret again"):
        PasteFlow(store, "prod").begin()
    configure_connection(store, "prod", settings)
    assert "state=" in PasteFlow(store, "prod").begin()
