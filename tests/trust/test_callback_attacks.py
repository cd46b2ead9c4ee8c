"""Attacks on the OAuth callback and the start handler, through the real server and emulator.

Each test is an attack a hostile page, link or network peer can mount, and each checks
what must hold: a clear refusal, an inert page, no redirect off the server, and no change
to the store (every row of every table compared raw, revision counter included), or,
where the attacker holds a live state and so must burn it, no change to anything else.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import secrets
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._exceptions import AuthorizationStateError
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.server._authorization import CallbackOutcome
from ak_salesforce_nb.server._callback_page import render_callback_page
from tests.conftest import Flow
from tests.trust.helpers import assert_inert_page, parse_page, store_rows

EVIL = "evil.example"

#: Markup, script and breakout payloads; each must come back as text, never as markup.
XSS_VECTORS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</p></main><script>alert(1)</script>",
    "<iframe src=javascript:alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<body onload=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<!--<script>alert(1)//-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    f'<base href="https://{EVIL}/">',
    f'<meta http-equiv="refresh" content="0;url=https://{EVIL}/">',
    f"<link rel=stylesheet href=https://{EVIL}/x.css>",
    f"<style>@import 'https://{EVIL}/x.css';</style>",
    f"<form action=https://{EVIL}><button>go</button></form>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "a\u2028b\u2029c</script><script>alert(1)</script>",
    '"});alert(1);({"',
    '\\"};alert(1);//',
    "<ScRiPt>alert(1)</sCrIpT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "javascript:alert(document.domain)",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<template><script>alert(1)</script></template>",
    "<x onclick=alert(1)>click",
    "{{constructor.constructor('alert(1)')()}}",
]


async def callback_page(flow: Flow, params: dict[str, str]) -> tuple[int, str, Any]:
    response = await flow.callback(params)
    return response.code, response.body.decode(), response.headers


def assert_refused(code: int, body: str, headers: Any, fragment: str) -> None:
    assert code == 400, body
    assert fragment in body, body
    assert "Location" not in headers
    assert "Connected to Salesforce" not in body
    assert_inert_page(body, headers["Content-Security-Policy"])


async def test_forged_unknown_expired_replayed_and_superseded_states(
    flow: Flow, store_path: Path
) -> None:
    """No state the store did not issue, or issued and then used, expired or replaced,
    completes anything; each gets its own clear refusal and the store does not change."""
    await flow.create("prod")
    used = await flow.begin("prod")
    used_params = await flow.salesforce(await flow.start(used))
    assert (await flow.callback(used_params)).code == 200
    await flow.create("other")
    superseded = await flow.begin("other")
    await flow.start(superseded)
    live = await flow.begin("other")
    await flow.start(live)
    await flow.create("late")
    expired = await flow.begin("late")
    db = sqlite3.connect(store_path)
    db.execute("UPDATE pending SET expires_at = ? WHERE state = ?", (time.time() - 1, expired))
    db.commit()
    db.close()
    code = flow.emu.authorize_code(redirect_uri="http://127.0.0.1/a/oauth/redirect/salesforce")
    before = store_rows(store_path)

    cases: list[tuple[dict[str, str], str]] = [
        ({"state": "forged", "code": code}, "not known"),
        ({"state": secrets.token_urlsafe(32), "code": code}, "not known"),
        ({"state": live[:-1] + ("A" if live[-1] != "A" else "B"), "code": code}, "not known"),
        ({"state": live.upper() if live.upper() != live else live.lower()}, "not known"),
        ({"state": "' OR '1'='1", "code": code}, "not known"),
        ({"state": "%", "code": code}, "not known"),
        ({"state": superseded, "code": code}, "not known"),
        ({"state": expired, "code": code}, "expired"),
        (used_params, "already used"),
        ({"state": used, "error": "access_denied"}, "already used"),
        ({"state": "forged", "error": "access_denied", "error_description": "no"}, "not known"),
        ({"code": code}, "without an authorization state"),
        ({"state": "", "code": code}, "without an authorization state"),
        ({}, "without an authorization state"),
    ]
    for params, fragment in cases:
        assert_refused(*await callback_page(flow, params), fragment)
    assert store_rows(store_path) == before
    # The live state was never touched: it still completes.
    response = await flow.callback(await flow.salesforce(await flow.start(live)))
    assert response.code == 200


async def test_state_of_one_connection_with_the_code_of_another(
    flow: Flow, store_path: Path
) -> None:
    """State of A with the code Salesforce issued for B: the exchange fails (A's PKCE
    verifier does not match B's challenge), B's grant is bound to nothing, A and B keep
    their working tokens, and only A's used state and A's message change."""
    await flow.connect("a")
    await flow.connect("b")
    state_a = await flow.begin("a")
    state_b = await flow.begin("b")
    params_a = await flow.salesforce(await flow.start(state_a))
    params_b = await flow.salesforce(await flow.start(state_b))
    before = store_rows(store_path)
    grants = flow.emu.stats["code_grants"]

    code, body, headers = await callback_page(flow, {"state": state_a, "code": params_b["code"]})
    assert code == 400 and "Authorization failed" in body and "invalid_grant" in body
    assert_inert_page(body, headers["Content-Security-Policy"])
    after = store_rows(store_path)
    assert after["tokens"] == before["tokens"]
    assert [r for r in after["connections"] if r[0] == "b"] == [
        r for r in before["connections"] if r[0] == "b"
    ]
    a_conn = await flow.get("a")
    assert (
        a_conn["state"] == "connected"
        and "last authorization attempt failed" in (a_conn["message"])
    )
    # A's state is burnt; B's own callback still works; nothing bound B's grant to A.
    assert (await flow.callback(params_a)).code == 400
    assert (await flow.callback(params_b)).code == 200
    assert flow.emu.stats["code_grants"] == grants + 2  # the replay of A never left us
    assert store_rows(store_path)["tokens"] != before["tokens"]  # B's new tokens only
    rows = {r[0]: r for r in store_rows(store_path)["tokens"]}
    assert rows["a"] == {r[0]: r for r in before["tokens"]}["a"]


async def test_code_issued_for_another_client_is_refused(flow: Flow, store_path: Path) -> None:
    """A code minted for client "other" cannot be redeemed under our client id."""
    await flow.connect("prod")
    state = await flow.begin("prod")
    start = await flow.start(state)
    redirect_uri = dict(parse_qsl(urlsplit(start).query))["redirect_uri"]
    code = flow.emu.authorize_code(client_id="other", redirect_uri=redirect_uri)
    tokens = store_rows(store_path)["tokens"]
    response = await flow.callback({"state": state, "code": code})
    assert response.code == 400
    assert "invalid_grant" in response.body.decode()
    assert store_rows(store_path)["tokens"] == tokens
    assert (await flow.get("prod"))["state"] == "connected"


async def test_concurrent_callbacks_for_one_state_exactly_one_wins(
    flow: Flow, store_path: Path
) -> None:
    """Eight simultaneous callbacks with the same state and code: one connects, seven are
    told the link was already used, and Salesforce sees one code exchange."""
    await flow.create("prod")
    params = await flow.salesforce(await flow.start(await flow.begin("prod")))
    grants = flow.emu.stats["code_grants"]
    responses = await asyncio.gather(*(flow.callback(params) for _ in range(8)))
    codes = sorted(r.code for r in responses)
    assert codes == [200] + [400] * 7
    for response in responses:
        if response.code == 400:
            assert "already used" in response.body.decode()
    assert flow.emu.stats["code_grants"] == grants + 1
    assert (await flow.get("prod"))["state"] == "connected"
    # And a second callback later, for the state already used, changes nothing.
    before = store_rows(store_path)
    assert_refused(*await callback_page(flow, params), "already used")
    assert store_rows(store_path) == before


def _claim(path: str, state: str, barrier: Any, results: Any) -> None:
    store = ConnectionStore(path)
    barrier.wait(30)
    try:
        store.claim_pending(state)
        results.put("won")
    except AuthorizationStateError as exc:
        results.put(exc.reason)


def test_claim_races_across_processes_exactly_one_wins(store_path: Path) -> None:
    """Six processes claim one state at the same instant (a barrier): the store's write
    transaction lets exactly one win; the others are told it was used."""
    store = ConnectionStore(store_path)
    store.save_settings(
        "prod",
        client_id="c",
        client_secret="s",
        login_url="https://login.salesforce.com",
        scopes="api",
    )
    state = store.create_pending("prod", code_verifier="v").state
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(6)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_claim, args=(str(store_path), state, barrier, results))
        for _ in range(6)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    outcomes = sorted(results.get(timeout=5) for _ in procs)
    assert outcomes == ["used"] * 5 + ["won"]


async def test_script_and_markup_payloads_stay_inert(flow: Flow, store_path: Path) -> None:
    """35 XSS vectors in `error`, `error_description`, `state`, `code` and in parameter
    names render as text: parsed, the page has only our elements and attributes, one
    script (ours, with the CSP nonce, unchanged), and the payload as the message's text."""
    assert len(XSS_VECTORS) >= 20
    await flow.connect("prod")
    before = store_rows(store_path)
    for vector in XSS_VECTORS:
        params = {"state": vector, "code": vector, "error_description": vector, vector: vector}
        code, body, headers = await callback_page(flow, params)
        assert_refused(code, body, headers, "not known")
    assert store_rows(store_path) == before  # forged states: nothing written

    for vector in XSS_VECTORS:
        state = await flow.begin("prod")
        params = {"state": state, "error": vector, "error_description": vector}
        code, body, headers = await callback_page(flow, params)
        assert code == 400
        page = assert_inert_page(body, headers["Content-Security-Policy"])
        text = page.text_by_id["message"]
        assert text.startswith(f"Salesforce says: {vector} — {vector}."), text
        script = page.scripts[0][1]
        literal = script.split("var message = ", 1)[1].split(";\n", 1)[0]
        assert json.loads(literal)["message"] == text
        # The denial is recorded as plain data; the working tokens stay.
        connection = await flow.get("prod")
        assert connection["state"] == "connected"
        assert vector in connection["message"]
    assert store_rows(store_path)["tokens"] == before["tokens"]
    # The notebook form shows the stored message as text too.
    form = aksf.connect("prod", enhanced=False, store=ConnectionStore(store_path))
    try:
        for value in (form.status.value, form.details.value, form.title.value):
            shown = parse_page(value)
            assert {tag for tag, _ in shown.tags} <= {"div", "b", "span", "table", "tr", "th", "td"}
            assert not any(a.startswith("on") for _, attrs in shown.tags for a in attrs)
    finally:
        form.close()


@pytest.mark.parametrize("vector", XSS_VECTORS[:12])
def test_rendered_outcome_fields_stay_inert(vector: str) -> None:
    """Whatever reaches a page (title, message, connection name, username, e.g. from an
    org's own user record) is escaped; the page's structure never changes."""
    for ok in (True, False):
        outcome = CallbackOutcome(ok, 200 if ok else 400, vector, vector, vector, vector)
        body, nonce = render_callback_page(outcome)
        csp = f"default-src 'none'; script-src 'nonce-{nonce}'"
        page = assert_inert_page(body, csp)
        assert page.text_by_id["message"] == vector
        assert page.title.startswith(vector)


def _raw_request(port: int, target: str, *, timeout: float = 5.0) -> tuple[bytes, float]:
    """Send one GET over a bare socket (httpx refuses URLs this long); the answer's first
    bytes (b"" if the server closed the connection) and the seconds it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    return data, time.monotonic() - started


async def test_oversized_parameters_are_refused_quickly(
    flow: Flow, store_path: Path, jp_serverapp: Any, jp_base_url: str
) -> None:
    """Oversized callback and start parameters are answered 400 in well under 0.5 s without
    touching the store (a live state sent with them is not even used up); a request line
    of 64 KiB or more never reaches a handler (tornado drops it at once)."""
    await flow.connect("prod")
    live = await flow.begin("prod")
    await flow.start(live)
    before = store_rows(store_path)
    big = "A" * (60 * 1024)
    cases = [
        {"state": live, "code": "c", "error_description": big},
        {"state": live, "code": big},
        {"state": big, "code": "c"},
        {"state": live, **{f"p{i}": "x" * 4000 for i in range(15)}},
        {"state": live, **{f"p{i}": "x" for i in range(30)}},
        {"state": live, "code": "c", "error": "e" * 5000},
    ]
    for params in cases:
        started = time.monotonic()
        code, body, headers = await callback_page(flow, params)
        took = time.monotonic() - started
        assert_refused(code, body, headers, "oversized")
        assert took < 0.5, took
        assert big not in body
    started = time.monotonic()
    response = await flow.open_start({"state": big})
    assert response.code == 400 and "Location" not in response.headers
    assert time.monotonic() - started < 0.5
    # 64 KiB and more: beyond the HTTP server's header limit; the connection is dropped.
    port = jp_serverapp.port
    for size in (64 * 1024, 256 * 1024):
        query = urlencode({"state": live, "code": "c", "error_description": "B" * size})
        data, took = await asyncio.to_thread(
            _raw_request, port, f"{jp_base_url}oauth/redirect/salesforce?{query}"
        )
        assert data == b"" or data.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4")), data[:80]
        assert took < 0.5, took
    # Oversized REST bodies: refused (413 past 8 KiB, before parsing), fast, nothing stored.
    bodies: list[dict[str, Any]] = [
        {"client_id": "x" * 65536, "client_secret": "s", "login_url": flow.emu.url},
        {"client_id": "x", "client_secret": "s" * 65536, "login_url": flow.emu.url},
        {"client_id": "x", "client_secret": "s", "login_url": "https://" + "h" * 65536},
        {"client_id": "x", "client_secret": "s", "scopes": [f"s{i}" for i in range(8192)]},
    ]
    for settings in bodies:
        started = time.monotonic()
        response = await flow.api("big", method="PUT", body=settings)
        assert response.code == 413, response.body[:200]
        assert "8 KiB" in json.loads(response.body)["message"]
        assert time.monotonic() - started < 0.5
    response = await flow.api("big", method="PUT", body="[" * 200_000)
    assert response.code == 413
    # Under the limit, nesting deeper than the interpreter allows is not valid JSON.
    response = await flow.api("big", method="PUT", body="[" * 8000)
    assert response.code == 400 and b"not valid JSON" in response.body
    assert store_rows(store_path) == before
    # The live state survived all of it.
    assert (await flow.callback(await flow.salesforce(await flow.start(live)))).code == 200


REDIRECT_PARAMS = ("next", "redirect_uri", "return_to", "url", "continue", "goto", "redirect")
EVIL_TARGETS = (
    f"https://{EVIL}/",
    f"//{EVIL}/",
    f"/\\{EVIL}/",
    f"https:{EVIL}",
    f"http://127.0.0.1@{EVIL}/",
    "javascript:alert(1)",
)


def assert_no_foreign_redirect(code: int, headers: Any, body: str) -> None:
    assert not 300 <= code < 400, code
    assert "Location" not in headers and "Refresh" not in headers
    assert EVIL not in body and "javascript:" not in body


async def test_callback_never_redirects(flow: Flow, store_path: Path) -> None:
    """Redirect-looking parameters on the callback are ignored on every path (forged state,
    denial, success): never a 3xx, a Location or Refresh header, or a link to them."""
    await flow.create("prod")
    for target in EVIL_TARGETS:
        extra = dict.fromkeys(REDIRECT_PARAMS, target)
        before = store_rows(store_path)
        code, body, headers = await callback_page(flow, {"state": "forged", **extra})
        assert_no_foreign_redirect(code, headers, body)
        assert store_rows(store_path) == before
        state = await flow.begin("prod")
        code, body, headers = await callback_page(
            flow, {"state": state, "error": "access_denied", **extra}
        )
        assert_no_foreign_redirect(code, headers, body)
        params = await flow.salesforce(await flow.start(await flow.begin("prod")))
        code, body, headers = await callback_page(flow, {**params, **extra})
        assert code == 200 and "Connected to Salesforce" in body
        assert_no_foreign_redirect(code, headers, body)
        assert_inert_page(body, headers["Content-Security-Policy"])


async def test_start_only_redirects_to_the_login_host(
    flow: Flow, store_path: Path, jp_serverapp: Any, http_server_client: Any, jp_base_url: str
) -> None:
    """The start handler sends the browser to the connection's own login host with our
    own callback URL, whatever redirect parameters or forwarding headers come with it; a
    bad state gets a page, not a redirect; without login, Jupyter's own login page."""
    await flow.create("prod")
    await flow.create("mydomain", login_url="https://acme.my.salesforce.com")
    ours = f"http://127.0.0.1:{jp_serverapp.port}{jp_base_url}oauth/redirect/salesforce"
    for name, host in (("prod", flow.emu.url), ("mydomain", "https://acme.my.salesforce.com")):
        for target in EVIL_TARGETS:
            state = await flow.begin(name)
            response = await flow.open_start(
                {"state": state, **dict.fromkeys(REDIRECT_PARAMS, target)},
                headers={
                    "X-Forwarded-Host": EVIL,
                    "X-Forwarded-Proto": "https",
                    "Referer": f"https://{EVIL}/",
                },
            )
            assert response.code == 302
            location = response.headers["Location"]
            assert location.startswith(f"{host}/services/oauth2/authorize?"), location
            query = dict(parse_qsl(urlsplit(location).query))
            assert query["redirect_uri"].startswith("http://127.0.0.1:")
            assert query["redirect_uri"].endswith("/a%40b/oauth/redirect/salesforce")
            assert EVIL not in location and "javascript" not in location
            assert set(query) == {
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "code_challenge",
                "code_challenge_method",
            }
    assert (await flow.get("prod"))["callback_url"] in (
        ours,
        ours.replace("127.0.0.1", "localhost"),
    )
    before = store_rows(store_path)
    for params in ({"state": "forged", "next": f"https://{EVIL}/"}, {"next": f"//{EVIL}"}):
        response = await flow.open_start(params)
        assert_no_foreign_redirect(response.code, response.headers, response.body.decode())
    assert store_rows(store_path) == before
    # Not logged in: Jupyter's login page on this server, nothing else.
    response = await http_server_client.fetch(
        f"{jp_base_url}oauth/start/salesforce?state=x&next=https://{EVIL}/",
        follow_redirects=False,
        raise_error=False,
    )
    assert response.code in (302, 403)
    if response.code == 302:
        location = urlsplit(response.headers["Location"])
        assert location.netloc in ("", f"127.0.0.1:{jp_serverapp.port}")
        assert location.path.startswith(f"{jp_base_url}login")
    assert store_rows(store_path) == before


async def test_page_talks_only_to_its_own_origin(flow: Flow) -> None:
    """Success and error pages announce the result on the same-origin BroadcastChannel and
    by postMessage to `window.location.origin` only (never "*"), under a CSP that runs only
    the nonce'd script and cannot be framed by other sites."""
    await flow.create("prod")
    params = await flow.salesforce(await flow.start(await flow.begin("prod")))
    ok = await flow.callback(params)
    bad = await flow.callback({"state": "forged"})
    for response in (ok, bad):
        body = response.body.decode()
        csp = response.headers["Content-Security-Policy"]
        assert_inert_page(body, csp)
        assert "frame-ancestors 'self'" in csp and "base-uri 'none'" in csp
        assert "form-action 'none'" in csp
        assert body.count("postMessage(") == 2
        assert "window.opener.postMessage(message, window.location.origin)" in body
        assert 'new BroadcastChannel("ak-salesforce-nb")' in body
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"


class TestServerWithoutUnauthenticatedAccess:
    """With `ServerApp.allow_unauthenticated_access = False` (Jupyter's locked-down mode)
    the callback, and only the callback, is still reachable, and still safe."""

    @pytest.fixture
    def jp_server_config(self, store_path: Path) -> dict[str, Any]:
        return {
            "ServerApp": {
                "jpserver_extensions": {"ak_salesforce_nb": True},
                "allow_unauthenticated_access": False,
            },
            "SalesforceOAuth": {"store_path": str(store_path), "http_timeout": 5.0},
        }

    async def test_callback_still_works(
        self, flow: Flow, store_path: Path, http_server_client: Any, jp_base_url: str
    ) -> None:
        await flow.create("prod")
        before = store_rows(store_path)
        response = await http_server_client.fetch(
            f"{jp_base_url}oauth/redirect/salesforce?state=forged&code=x", raise_error=False
        )
        assert response.code == 400 and "not known" in response.body.decode()
        assert store_rows(store_path) == before
        response = await http_server_client.fetch(
            f"{jp_base_url}ak-salesforce/api/connections", raise_error=False
        )
        assert response.code == 403
        params = await flow.salesforce(await flow.start(await flow.begin("prod")))
        response = await http_server_client.fetch(
            f"{jp_base_url}oauth/redirect/salesforce?{urlencode(params)}", raise_error=False
        )
        assert response.code == 200
        assert (await flow.get("prod"))["state"] == "connected"
