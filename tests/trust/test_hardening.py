"""Authenticated input that must not get in: look-alike and malformed login hosts, hosts
outside Salesforce's own, invisible characters, unknown keys, path-like names; and a
secret that must not follow its connection to another host.

Unit tests on `configure_connection` (the one door both the REST API and the connect
form write through) with a real store in a temporary folder: every refusal is a
`ConfigurationError` with a sentence that says what to do, and leaves the store file
byte-for-byte as it was. (The HTTP-level answers are tested with the server.)
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from ak_salesforce_nb.core._connections import (
    ConnectionDefaults,
    begin_authorization,
    configure_connection,
    revocation_request,
)
from ak_salesforce_nb.core._environment import (
    ENV_ALLOWED_LOGIN_HOSTS,
    ENV_DEFAULT_LOGIN_URL,
    ENV_DEFAULT_SCOPES,
)
from ak_salesforce_nb.core._exceptions import ConfigurationError
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.core._validation import (
    check_login_url,
    host_matches,
    login_host,
    normalize_host_patterns,
    normalize_login_url,
)
from tests.trust.helpers import store_rows

SECRET = "consumer-secret-for-host-a"
OTHER_SECRET = "consumer-secret-for-host-b"
GOOD: dict[str, Any] = {
    "client_id": "3MVG9-client-id",
    "client_secret": SECRET,
    "login_url": "https://login.salesforce.com",
    "scopes": "api refresh_token",
}
NO_EXTRA_HOSTS = ConnectionDefaults()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConnectionStore]:
    """A real store holding one authorized connection, "prod", so that a refusal that
    wrote anything at all would show in the snapshot."""
    store = ConnectionStore(tmp_path / "store" / "store.sqlite3")
    configure_connection(store, "prod", GOOD, defaults=NO_EXTRA_HOSTS)
    store.record_authorized(
        "prod",
        access_token="00Dxx!access-token-value",
        refresh_token="5Aep-refresh-token-value",
        instance_url="https://acme.my.salesforce.com",
        issued_at="1",
        identity={"username": "ada@example.com"},
    )
    yield store
    store.close()


def refused(
    store: ConnectionStore,
    name: str,
    payload: Any,
    *,
    defaults: ConnectionDefaults | None = NO_EXTRA_HOSTS,
) -> str:
    """Configure, expecting a refusal that changes nothing; the message."""
    before = store_rows(store.path)
    with pytest.raises(ConfigurationError) as info:
        configure_connection(store, name, payload, defaults=defaults)
    assert store_rows(store.path) == before
    message = str(info.value)
    for secret in (SECRET, OTHER_SECRET):
        assert secret not in message
    return message


# -- login hosts: syntax, on the raw text ---------------------------------------------

MALFORMED = {
    "backslash": "https://login.salesforce.com\\@evil.example",
    "backslash alone": "https://evil.example\\login.salesforce.com",
    "encoded slash": "https://evil.example%2F.login.salesforce.com",
    "encoded dot": "https://login%2Esalesforce.com",
    "percent": "https://login.salesforce.com%",
    "IPv6 zone": "https://[fe80::1%25eth0]",
    "angle bracket": "https://<script>.my.salesforce.com",
    "quote": 'https://acme".my.salesforce.com',
    "space inside": "https://login. salesforce.com",
    "NUL": "https://login.salesforce.com\x00.evil.example",
    "double dot": "https://login..salesforce.com",
    "dot dot label": "https://acme.my.salesforce.com/..",
    "leading dot": "https://.login.salesforce.com",
    "trailing dot": "https://login.salesforce.com.",
    "path": "https://login.salesforce.com/services/oauth2",
    "trailing junk after port": "https://login.salesforce.com:443x",
    "two ports": "https://login.salesforce.com:443:443",
    "user info": "https://login.salesforce.com@evil.example",
    "query": "https://login.salesforce.com?next=evil.example",
    "fragment": "https://login.salesforce.com#evil",
    "underscore": "https://my_domain.my.salesforce.com",
    "hyphen at the start": "https://-acme.my.salesforce.com",
    "label too long": "https://" + "a" * 64 + ".my.salesforce.com",
    "short IPv4": "http://127.1",
    "IPv4 with zeros": "http://127.000.000.001",
    "unclosed bracket": "http://[::1",
    "no host": "https://",
    "port zero": "https://login.salesforce.com:0",
    "port too big": "https://login.salesforce.com:65536",
    "javascript": "javascript:alert(document.domain)",
    "data": "data:text/html,hi",
    "ftp": "ftp://login.salesforce.com",
    "plain http": "http://login.salesforce.com",
}

LOOK_ALIKES = {
    "script small l": "https://\u2113ogin.salesforce.com",
    "ideographic full stops": "https://login\u3002salesforce\u3002com",
    "fullwidth letters": "https://\uff4c\uff4f\uff47\uff49\uff4e.salesforce.com",
    "fullwidth dot": "https://login\uff0esalesforce.com",
    "cyrillic o": "https://l\u043egin.salesforce.com",
    "greek omicron in my domain": "https://acme.my.salesf\u03bfrce.com",
    "dotless i": "https://log\u0131n.salesforce.com",
    "kelvin sign": "https://\u212aacme.my.salesforce.com",
    "one dot leader": "https://login\u2024salesforce.com",
    "non-breaking space": "https://login.salesforce.com\u00a0",
    "ideographic space": "https://login.salesforce.com\u3000",
    "accented my domain": "https://acm\u00e9.my.salesforce.com",
}


@pytest.mark.parametrize("url", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_login_urls_are_refused(store: ConnectionStore, url: str) -> None:
    message = refused(store, "new", {**GOOD, "login_url": url})
    assert "Login URL" in message


@pytest.mark.parametrize("url", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_look_alike_hosts_are_refused_before_any_normalization(
    store: ConnectionStore, url: str
) -> None:
    """Every one of these is refused on the raw text, and the message names the
    character by its code point, so the user can see what they could not."""
    message = refused(store, "new", {**GOOD, "login_url": url})
    odd = next(ch for ch in url if not ch.isascii())
    assert f"U+{ord(odd):04X}" in message
    assert "ASCII" in message


def test_a_host_that_clients_fold_into_salesforces_is_refused_too() -> None:
    """Why non-ASCII is refused outright: urllib keeps this host as written, httpx (and
    browsers) fold it into Salesforce's real host; the check and the request would not
    be about the same host."""
    url = "https://login\u3002salesforce\u3002com"
    assert urlsplit(url).hostname != "login.salesforce.com"
    assert httpx.URL(url).host == "login.salesforce.com"
    with pytest.raises(ConfigurationError, match="U\\+3002"):
        normalize_login_url(url)


@pytest.mark.parametrize(
    ("given_url", "stored"),
    [
        ("login.salesforce.com", "https://login.salesforce.com"),
        ("  HTTPS://Login.Salesforce.COM/  ", "https://login.salesforce.com"),
        ("https://acme.my.salesforce.com:443", "https://acme.my.salesforce.com"),
        ("https://acme.my.salesforce.com:8443", "https://acme.my.salesforce.com:8443"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:80", "http://localhost"),
        ("http://[0:0:0:0:0:0:0:1]:9", "http://[::1]:9"),
    ],
)
def test_login_urls_are_stored_normalized(
    store: ConnectionStore, given_url: str, stored: str
) -> None:
    record = configure_connection(
        store, "new", {**GOOD, "login_url": given_url}, defaults=NO_EXTRA_HOSTS
    )
    assert record.login_url == stored


# -- login hosts: which ones are allowed ----------------------------------------------

SALESFORCE_HOSTS = [
    "https://login.salesforce.com",
    "https://test.salesforce.com",
    "https://acme.my.salesforce.com",
    "https://acme--uat.sandbox.my.salesforce.com",
    "https://acme-dev-ed.develop.my.salesforce.com",
    "https://velocity-ability-1234-dev-ed.scratch.my.salesforce.com",
    "https://acme.trailblaze.my.salesforce.com",
    "https://acme.demo.my.salesforce.com",
    "https://acme.free.my.salesforce.com",
    "https://acme.patch.my.salesforce.com",
    "https://acme.my.site.com",
    "http://127.0.0.1:9999",
    "http://localhost:1234",
    "http://[::1]:8000",
]


@pytest.mark.parametrize("url", SALESFORCE_HOSTS)
def test_salesforce_login_hosts_and_loopback_are_allowed_by_default(
    store: ConnectionStore, url: str
) -> None:
    record = configure_connection(store, "new", {**GOOD, "login_url": url}, defaults=NO_EXTRA_HOSTS)
    assert record.login_url == url


OUTSIDERS = [
    "https://evil.example",
    "https://login.salesforce.com.evil.example",
    "https://my.salesforce.com",  # the suffix itself is not a My Domain
    "https://evilmy.salesforce.com",
    "https://login-salesforce.com",
    "https://acme.salesforce.com.evil.example",
    "https://my.site.com",
    "https://na1.salesforce.com",  # instance URLs are not login hosts
    "https://acme.force.com",  # legacy site domain: the admin may allow it
    "https://acme.my.salesforce.mil",  # other clouds: the admin may allow them
    "https://10.0.0.1",
    "https://foo.localhost",  # resolved through DNS by Python: not loopback
]


@pytest.mark.parametrize("url", OUTSIDERS)
def test_other_hosts_are_refused_with_what_to_do(store: ConnectionStore, url: str) -> None:
    message = refused(store, "new", {**GOOD, "login_url": url})
    assert login_host(normalize_login_url(url)) in message
    assert "c.SalesforceOAuth.allowed_login_hosts" in message
    assert "administrator" in message


def test_the_admin_allows_more_hosts(store: ConnectionStore) -> None:
    defaults = ConnectionDefaults(allowed_login_hosts=("sso.example.org", "*.corp.example.com"))
    for url in ("https://sso.example.org", "https://login.corp.example.com"):
        record = configure_connection(store, "new", {**GOOD, "login_url": url}, defaults=defaults)
        assert record.login_url == url
    # A pattern matches subdomains only; an exact name matches only itself.
    for url in (
        "https://corp.example.com",
        "https://sub.sso.example.org",
        "https://login.corp.example.com.evil.example",
        "https://evilcorp.example.com",
    ):
        refused(store, "new", {**GOOD, "login_url": url}, defaults=defaults)
    # Allowing a host does not allow plain http to it.
    refused(store, "new", {**GOOD, "login_url": "http://sso.example.org"}, defaults=defaults)


def test_the_kernel_side_uses_the_servers_exported_settings(
    store: ConnectionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without `defaults` (the connect form's call), the allow list, default login URL
    and scopes are what the server exported to its kernels."""
    refused(store, "new", {**GOOD, "login_url": "https://sso.example.org"}, defaults=None)
    monkeypatch.setenv(ENV_ALLOWED_LOGIN_HOSTS, "sso.example.org,*.corp.example.com")
    monkeypatch.setenv(ENV_DEFAULT_LOGIN_URL, "https://acme.my.salesforce.com")
    monkeypatch.setenv(ENV_DEFAULT_SCOPES, "api id refresh_token")
    assert configure_connection(
        store, "new", {**GOOD, "login_url": "https://sso.example.org"}
    ).login_url == ("https://sso.example.org")
    record = configure_connection(store, "other", {"client_id": "c", "client_secret": "s"})
    assert record.login_url == "https://acme.my.salesforce.com"
    assert record.scopes == "api id refresh_token"
    assert ConnectionDefaults.from_environment({}) == ConnectionDefaults()


def test_a_default_login_url_outside_the_policy_is_refused_too(store: ConnectionStore) -> None:
    """The default fills a missing field; it is checked like a given one."""
    defaults = ConnectionDefaults(login_url="https://evil.example")
    refused(store, "new", {"client_id": "c", "client_secret": "s"}, defaults=defaults)


def test_admin_patterns_are_checked() -> None:
    assert normalize_host_patterns(["*.Corp.Example.com", "SSO.example.org", "[fd00::0:1]"]) == (
        "*.corp.example.com",
        "sso.example.org",
        "fd00::1",
    )
    for bad in ("*", "*.com", "*.", "https://sso.example.org", "sso.example.org:443", "a b", ""):
        with pytest.raises(ConfigurationError, match="allowed_login_hosts"):
            normalize_host_patterns([bad])
    # Unchecked patterns (a kernel reads them from its environment) never widen the policy.
    assert not host_matches("evil.com", "*.com")
    assert not host_matches("evil.example", "*")
    assert not host_matches("evil.example", "")


# -- invisible and control characters, in every field -----------------------------------

INVISIBLE = {
    "NUL": "\x00",
    "ESC": "\x1b",
    "TAB": "\t",
    "newline": "\n",
    "DEL": "\x7f",
    "C1 next line": "\x85",
    "right-to-left override": "\u202e",
    "left-to-right isolate": "\u2066",
    "zero width space": "\u200b",
    "zero width joiner": "\u200d",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "word joiner": "\u2060",
    "line separator": "\u2028",
    "lone high surrogate": "\ud800",
    "lone low surrogate": "\udfff",
    "private use": "\ue000",
}
FIELDS = {
    "client_id": ("Client ID", lambda ch: f"3MVG9{ch}client"),
    "client_secret": ("Client Secret", lambda ch: f"{SECRET}{ch}"),
    "login_url": ("Login URL", lambda ch: f"https://acme{ch}.my.salesforce.com"),
    "scopes": ("Scopes", lambda ch: f"api {ch}refresh_token"),
    "scopes list": ("Scopes", lambda ch: ["api", f"id{ch}"]),
}


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
@pytest.mark.parametrize("field", FIELDS.keys())
def test_invisible_and_control_characters_are_refused_in_every_field(
    store: ConnectionStore, field: str, char: str
) -> None:
    what, value = FIELDS[field]
    key = field.split()[0]
    message = refused(store, "prod", {**GOOD, key: value(char)})
    assert what in message
    assert char not in message  # named by code point, never echoed raw


def test_an_invisible_character_in_the_name_is_refused(store: ConnectionStore) -> None:
    for char in INVISIBLE.values():
        refused(store, f"prod{char}", GOOD)


# -- unknown keys and bad names ----------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["extra", "login_uri", "client_secret ", "refresh_token", "state", "", "__proto__"]
)
def test_unknown_keys_are_refused_by_name(store: ConnectionStore, key: str) -> None:
    message = refused(store, "new", {**GOOD, key: "x"})
    assert repr(key) in message
    assert "client_id, client_secret, login_url, scopes" in message


@pytest.mark.parametrize(
    "name",
    [".", "..", "...", ".hidden", "-flag", "_private", "a/b", "../prod", "a\\b", "prod\n", "", " "],
)
def test_path_like_names_are_refused(store: ConnectionStore, name: str) -> None:
    message = refused(store, name, GOOD)
    assert "starting with a letter or digit" in message


@pytest.mark.parametrize("name", ["prod", "a.b", "x-y_z", "0day", "A" * 64, "uat.v2"])
def test_ordinary_names_are_accepted(store: ConnectionStore, name: str) -> None:
    assert configure_connection(store, name, GOOD, defaults=NO_EXTRA_HOSTS).name == name


def test_a_body_that_is_not_an_object_is_refused(store: ConnectionStore) -> None:
    for body in ([], "x", 1, None):
        refused(store, "new", body)


# -- a secret never follows its connection to another host ------------------------------


def test_changing_the_login_host_forgets_the_secret_and_the_tokens(
    store: ConnectionStore,
) -> None:
    store.create_pending("prod", code_verifier="v")
    record = configure_connection(
        store,
        "prod",
        {"client_id": GOOD["client_id"], "login_url": "https://acme.my.salesforce.com"},
        defaults=NO_EXTRA_HOSTS,
    )
    assert record.login_url == "https://acme.my.salesforce.com"
    assert not record.has_client_secret and not record.has_tokens
    assert record.state == "not_configured"
    assert "login host changed" in record.message and "Client Secret again" in record.message
    assert store.get_client_secret("prod") is None
    assert store.get_tokens("prod") is None
    assert store_rows(store.path)["pending"] == []
    # So nothing can send the old host's secret (or its token) to the new one.
    with pytest.raises(ConfigurationError, match="Client Secret"):
        begin_authorization(store, "prod")
    assert revocation_request(store, "prod") is None


def test_changing_the_login_host_with_the_secret_keeps_the_new_secret(
    store: ConnectionStore,
) -> None:
    record = configure_connection(
        store,
        "prod",
        {**GOOD, "login_url": "https://test.salesforce.com", "client_secret": OTHER_SECRET},
        defaults=NO_EXTRA_HOSTS,
    )
    assert record.state == "ready" and not record.has_tokens
    assert store.get_client_secret("prod") == OTHER_SECRET


def test_the_same_host_keeps_the_secret_and_the_tokens(store: ConnectionStore) -> None:
    """Spelled differently (default port, case, trailing slash) it is the same host."""
    tokens = store.get_tokens("prod")
    for url in ("https://LOGIN.salesforce.com:443/", "login.salesforce.com"):
        record = configure_connection(
            store,
            "prod",
            {"client_id": GOOD["client_id"], "login_url": url, "scopes": "api id"},
            defaults=NO_EXTRA_HOSTS,
        )
        assert record.has_client_secret and record.has_tokens and record.state == "connected"
    assert store.get_client_secret("prod") == SECRET
    assert store.get_tokens("prod") == tokens


def test_the_store_itself_forgets_the_secret_on_a_host_change(store: ConnectionStore) -> None:
    """The rule lives in the store's transaction, so no writer can skip it."""
    store.save_settings(
        "prod",
        client_id=GOOD["client_id"],
        login_url="https://test.salesforce.com",
        scopes="api",
    )
    assert store.get_client_secret("prod") is None


# -- properties of the login URL check ---------------------------------------------------

_URL_ALPHABET = string.ascii_letters + string.digits + ".-:/[]@%\\?# \x00" + "\u2113\u3002\uff0e"


@settings(max_examples=500, deadline=None, database=None)
@given(
    text=st.one_of(
        st.text(_URL_ALPHABET, max_size=60),
        st.text(max_size=60),
        st.text(_URL_ALPHABET, max_size=40).map(lambda t: "https://" + t),
        st.text(max_size=40).map(lambda t: "https://acme" + t + ".my.salesforce.com"),
    )
)
def test_any_text_is_refused_or_normalized_to_a_plain_host(text: str) -> None:
    """Whatever the input, either a `ConfigurationError`, or an ASCII
    ``scheme://host[:port]`` that urllib reads back to the same host (no folding) and that
    normalizes to itself; and the allow list admits only Salesforce's hosts or loopback."""
    try:
        url = normalize_login_url(text)
    except ConfigurationError:
        return
    assert url.isascii() and url == url.lower()
    assert normalize_login_url(url) == url
    parts = urlsplit(url)
    assert parts.scheme in ("https", "http")
    assert (parts.path, parts.query, parts.fragment, parts.username) == ("", "", "", None)
    assert parts.hostname == login_host(url)
    try:
        allowed = check_login_url(url)
    except ConfigurationError:
        return
    host = login_host(allowed)
    assert (
        host in ("login.salesforce.com", "test.salesforce.com", "localhost")
        or host.endswith((".my.salesforce.com", ".my.site.com"))
        or host in ("::1",)
        or host.startswith("127.")
    )
