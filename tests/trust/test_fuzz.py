"""Hypothesis against the live server: arbitrary query strings, bodies and headers.

The server runs in the test's event loop (pytest-jupyter), so the examples run in a
worker thread and talk to it over loopback with blocking clients (`http.client` for the
callback, which sends a request target byte for byte, unlike httpx, which re-encodes it).
Invariants for every example: never a 5xx, never a stack trace or a secret in the
answer, callback pages stay structurally ours, and a refused request writes nothing.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import string
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.core._validation import check_login_url
from tests.conftest import CLIENT_SECRET, Flow
from tests.trust.helpers import assert_inert_page, store_rows

FUZZ = settings(
    max_examples=400,
    deadline=None,
    database=None,  # nothing written into the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_PRINTABLE = string.ascii_letters + string.digits + string.punctuation + " "
_KEYS = ["state", "code", "error", "error_description", "next", "redirect_uri", "url", "_xsrf"]
_HEADER_NAMES = [
    "Cookie",
    "Referer",
    "Origin",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
    "X-Forwarded-For",
    "X-Real-Ip",
    "Accept",
    "Accept-Language",
    "Accept-Encoding",
    "User-Agent",
    "Authorization",
    "X-XSRFToken",
    "Content-Type",
    "Sec-Fetch-Site",
    "X-Fuzz",
]

unicode_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=120)
raw_query = st.text(_PRINTABLE, max_size=300).map(lambda s: quote(s, safe="=&%+;/?:@!$'()*,~[]"))
pairs_query = st.lists(
    st.tuples(st.one_of(st.sampled_from(_KEYS), unicode_text), unicode_text), max_size=8
).map(lambda items: "&".join(f"{quote(k)}={quote(v)}" for k, v in items))
bad_percent = st.lists(
    st.sampled_from(["%", "%Z", "%ZZ", "%ED%A0%80", "%C0%AF", "%FF", "%00", "%0D%0A", "%E2%80"]),
    min_size=1,
    max_size=4,
).map(lambda parts: "state=" + "".join(parts) + "&code=" + "".join(reversed(parts)))
queries = st.one_of(raw_query, pairs_query, bad_percent)
headers = st.dictionaries(
    st.sampled_from(_HEADER_NAMES), st.text(_PRINTABLE, max_size=200).map(str.strip), max_size=5
)


def secrets_of(store_path: Path, name: str = "prod") -> list[str]:
    store = ConnectionStore(store_path)
    try:
        tokens = store.get_tokens(name)
        assert tokens is not None and tokens.refresh_token
        found = [CLIENT_SECRET, tokens.access_token, tokens.refresh_token]
        for row in store_rows(store_path)["pending"]:
            pending = store.get_pending(row[0])
            assert pending is not None
            found.append(pending.code_verifier)
        return found
    finally:
        store.close()


def assert_clean(status: int, text: str, hidden: list[str]) -> None:
    assert status < 500, (status, text[:500])
    assert "Traceback" not in text and 'File "' not in text, text[:500]
    for secret in hidden:
        assert secret not in text


async def test_fuzz_the_callback(
    flow: Flow, store_path: Path, jp_serverapp: Any, jp_base_url: str
) -> None:
    """Any query string (valid pairs, raw printable junk, broken percent-encoding and
    UTF-8) with any headers: a 400 page that is structurally ours, nothing in it that
    is secret, and the store untouched (a live pending authorization is in it)."""
    await flow.connect("prod")
    live = await flow.begin("prod")
    await flow.start(live)
    hidden = secrets_of(store_path)
    port = jp_serverapp.port
    path = f"{jp_base_url}oauth/redirect/salesforce"
    before = store_rows(store_path)
    seen: list[int] = []

    @FUZZ
    @given(query=queries, extra=headers)
    def check(query: str, extra: dict[str, str]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", f"{path}?{query}", headers=extra)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            status = response.status
            csp = response.getheader("Content-Security-Policy") or ""
        finally:
            connection.close()
        seen.append(status)
        assert_clean(status, text, hidden)
        assert status in (400, 403), (status, query, extra)
        if status == 400:
            assert_inert_page(text, csp)
        assert store_rows(store_path) == before

    started = time.monotonic()
    await asyncio.to_thread(check)
    assert len(seen) >= 100
    assert time.monotonic() - started < 60
    # The live authorization is still there and still completes.
    assert (await flow.callback(await flow.salesforce(await flow.start(live)))).code == 200


names = st.one_of(
    st.sampled_from(["new", "a.b", "x-y_z", "-", ".", "..", "A" * 64, "A" * 65, "", "prod"]),
    st.text(_PRINTABLE, max_size=70),
)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=80),  # lone surrogates included: JSON can carry them
        st.sampled_from(
            [
                "https://login.salesforce.com",
                "https://[::1",
                "https://ex\u2100ample.com",
                "http://127.0.0.1:1",
                "javascript:alert(1)",
                "api refresh_token",
            ]
        ),
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
client_ids = st.one_of(
    st.sampled_from(["demo-client-id", "3MVG9" + "x" * 80]),
    st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=40),
    json_values,
)
client_secrets = st.one_of(
    st.sampled_from(["s3cr3t-value-1234", "\ud800", "x\udfffy", "a" * 5000, "  ", ""]),
    st.text(max_size=60),
    json_values,
)
login_urls = st.one_of(
    st.sampled_from(
        [
            "https://login.salesforce.com",
            "https://[::1",
            "https://[::1]:99999",
            "https://ex\u2100ample.com",
            "https://a\ud800.example.com",
            "https://" + "h" * 5000,
            "http://127.0.0.1:1",
            "http://evil.example",
            "javascript:alert(1)",
            "https://user:pw@login.salesforce.com",
            "https://login.salesforce.com/path?q#f",
            "https://\u2113ogin.salesforce.com",
            "https://login\u3002salesforce\u3002com",
            "https://login.salesforce.com\\@evil.example",
            "https://evil.example%2F.my.salesforce.com",
            "https://login..salesforce.com",
            "https://acme\u202e.my.salesforce.com",
            "https://acme\u200b.my.salesforce.com",
            "https://login.salesforce.com.evil.example",
            "https://acme.my.salesforce.com",
            "https://evil.example",
        ]
    ),
    st.text(max_size=60).map(lambda t: "https://" + t),
    json_values,
)
scopes = st.one_of(
    st.sampled_from(["api refresh_token", ["api", "id"], "api,web", "\u00e9"]),
    st.lists(st.text(max_size=12), max_size=6),
    json_values,
)
settings_body = st.fixed_dictionaries(
    {},
    optional={
        "client_id": client_ids,
        "client_secret": client_secrets,
        "login_url": login_urls,
        "scopes": scopes,
        "extra": json_values,
    },
).map(lambda d: json.dumps(d).encode())
bodies = st.one_of(
    settings_body,
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=400),
    st.integers(100, 100_000).map(lambda n: b"[" * n),
    st.integers(100, 100_000).map(lambda n: b'{"a":' * n),
)
valid_names = st.builds(
    str.__add__,
    st.sampled_from(string.ascii_letters + string.digits),
    st.text(string.ascii_letters + string.digits + "_.-", max_size=63),
)
targets = st.one_of(
    # Half the examples: a logged-in PUT of settings, where input validation lives.
    st.tuples(st.just("PUT"), valid_names, st.just("")),
    st.tuples(st.sampled_from(["GET", "PUT", "DELETE", "POST", "PATCH"]), names, st.just("")),
    st.tuples(st.sampled_from(["POST", "GET"]), names, st.just("/authorize")),
    st.tuples(st.sampled_from(["GET", "PUT"]), st.just(""), st.just("")),
)


async def test_fuzz_the_rest_api(
    flow: Flow, store_path: Path, jp_serverapp: Any, jp_base_url: str
) -> None:
    """Any method, connection name, body and headers on the REST API and the start
    handler, logged in or not: never a 5xx, a stack trace or a secret; a refused request
    writes nothing; an accepted one changes no connection but the one it names, and
    stores only a login host the policy allows."""
    await flow.connect("prod")
    hidden = secrets_of(store_path)
    token = jp_serverapp.identity_provider.token
    port = jp_serverapp.port
    api = f"{jp_base_url}ak-salesforce/api/connections"
    counts = {"ok": 0, "refused": 0}

    @FUZZ
    @given(
        target=targets,
        body=bodies,
        extra=headers,
        logged_in=st.sampled_from([True, True, True, False]),
        start_query=st.one_of(st.none(), st.none(), st.none(), queries),
    )
    def check(
        target: tuple[str, str, str],
        body: bytes,
        extra: dict[str, str],
        logged_in: bool,
        start_query: str | None,
    ) -> None:
        method, name, suffix = target
        if name == "prod" and method in ("PUT", "DELETE"):
            name = "prod2"  # keep the connected connection (and its secrets) in place
        if start_query is not None:
            method, url = "GET", f"{jp_base_url}oauth/start/salesforce?{start_query}"
        else:
            url = f"{api}/{quote(name, safe='')}{suffix}" if name or suffix else api
        headers_out = dict(extra)
        if logged_in:
            headers_out["Authorization"] = f"token {token}"
        before = store_rows(store_path)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request(
                method,
                url,
                body=body if method in ("PUT", "POST", "PATCH") else None,
                headers=headers_out,
            )
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            status = response.status
        finally:
            connection.close()
        assert_clean(status, text, hidden)
        after = store_rows(store_path)
        if status >= 300 or method == "GET":
            counts["refused"] += 1
            assert after == before, (method, url, status)
            return
        counts["ok"] += 1
        assert logged_in
        # Whatever got in is a login host the policy allows, as typed (no folding).
        for row in after["connections"]:
            if row[0] == name:
                assert check_login_url(row[3]) == row[3], row[3]
        # Only the named connection may differ; "prod" and its tokens never do.
        for table in ("connections", "tokens"):
            others_before = [r for r in before[table] if r[0] != name]
            others_after = [r for r in after[table] if r[0] != name]
            assert others_before == others_after, (method, url)
        if method == "PUT" and body:
            sent = json.loads(body)
            secret = sent.get("client_secret") if isinstance(sent, dict) else None
            others = json.dumps({k: v for k, v in sent.items() if k != "client_secret"})
            given_secret = secret.strip() if isinstance(secret, str) else ""
            if len(given_secret) >= 8 and given_secret not in others + url:
                assert given_secret not in text

    started = time.monotonic()
    await asyncio.to_thread(check)
    assert counts["refused"] >= 100
    assert time.monotonic() - started < 60
    prod = await flow.get("prod")  # a fuzzed POST …/prod/authorize may have begun a new one
    assert prod["has_tokens"] and prod["state"] in ("connected", "waiting")
    assert secrets_of(store_path)[:3] == hidden[:3]
