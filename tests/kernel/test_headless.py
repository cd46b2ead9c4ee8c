"""Sessions on credentials from the environment or arguments: no store, no browser.

Units drive the grant builders and the token provider through `httpx.MockTransport`
with Salesforce's documented answers; the end-to-end tests use the emulator's real
refresh-token grant with an auth URL, in a store-less run.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core import _grants
from ak_salesforce_nb.core._auth_url import format_auth_url
from ak_salesforce_nb.core._environment import (
    ENV_STORE,
    connection_variable,
    connection_variables,
)
from ak_salesforce_nb.core._exceptions import (
    ConfigurationError,
    ConnectionNotFound,
    CredentialsRefused,
    TokenRequestError,
)
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator
from ak_salesforce_nb.kernel._headless import (
    CredentialsTokenProvider,
    from_arguments,
    from_environment,
)
from ak_salesforce_nb.kernel._session_base import in_notebook
from ak_salesforce_nb.kernel._tokens import StoreTokenProvider, TokenProvider
from tests.emulator.helpers import get_token
from tests.keys import write_certificate, write_private_key

CLIENT_ID = "demo-client-id"
CLIENT_SECRET = "demo-client-secret"
MY_DOMAIN = "https://acme.my.salesforce.com"
SECRET = "Sup3rSecretValue"


def var(name: str, field: str) -> str:
    return connection_variable(name, field)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Path:
    return write_private_key(rsa_key, tmp_path / "server.key")


def token_answer(n: int = 1, **extra: Any) -> dict[str, Any]:
    body = {
        "access_token": f"00Dxx!access{n}",
        "instance_url": MY_DOMAIN,
        "id": "https://login.salesforce.com/id/00Dxx0000001gPL/005xx000001SwiU",
        "token_type": "Bearer",
        "issued_at": "1700000000000",
        "scope": "api",
    }
    body.update(extra)
    return body


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


# -- the variables ------------------------------------------------------------------------


def test_variable_names_upper_case_and_underscores() -> None:
    assert var("prod", "AUTH_URL") == "AK_SALESFORCE_NB_PROD_AUTH_URL"
    assert var("prod-eu.2", "CLIENT_ID") == "AK_SALESFORCE_NB_PROD_EU_2_CLIENT_ID"
    with pytest.raises(ValueError, match="unknown"):
        var("prod", "PASSWORD")
    found = connection_variables(
        "prod", {var("prod", "CLIENT_SECRET"): f"  {SECRET} ", var("prod", "FLOW"): " "}
    )
    assert found.fields == ("CLIENT_SECRET",)
    assert found.get("CLIENT_SECRET") == SECRET
    assert SECRET not in repr(found)


def test_nothing_set_or_a_login_url_alone_is_no_credentials() -> None:
    assert from_environment("prod", {}) is None
    # The server exports AK_SALESFORCE_NB_DEFAULT_LOGIN_URL to every kernel: not credentials.
    assert from_environment("default", {var("default", "LOGIN_URL"): MY_DOMAIN}) is None
    assert from_arguments("prod") is None


def test_auth_url_from_the_environment() -> None:
    env = {
        var("prod", "AUTH_URL"): f"force://{CLIENT_ID}:{SECRET}:5Aep861abc@acme.my.salesforce.com"
    }
    credentials = from_environment("prod", env)
    assert credentials is not None
    assert (credentials.grant, credentials.source) == ("auth_url", "environment")
    assert credentials.login_url == MY_DOMAIN
    assert credentials.where == "AK_SALESFORCE_NB_PROD_AUTH_URL"
    assert SECRET not in repr(credentials) and "5Aep861abc" not in repr(credentials)


def test_client_credentials_from_the_environment_infers_the_flow() -> None:
    env = {
        var("prod", "CLIENT_ID"): CLIENT_ID,
        var("prod", "CLIENT_SECRET"): SECRET,
        var("prod", "LOGIN_URL"): "acme.my.salesforce.com",
    }
    credentials = from_environment("prod", env)
    assert credentials is not None
    assert credentials.grant == "client_credentials"
    assert credentials.login_url == MY_DOMAIN
    env[var("prod", "FLOW")] = "Client-Credentials"
    assert from_environment("prod", env) == credentials


def test_jwt_from_the_environment(key_file: Path) -> None:
    env = {
        var("prod", "FLOW"): "jwt",
        var("prod", "CLIENT_ID"): CLIENT_ID,
        var("prod", "USERNAME"): "ada@example.com",
        var("prod", "JWT_KEY_FILE"): str(key_file),
    }
    credentials = from_environment("prod", env)
    assert credentials is not None
    assert credentials.grant == "jwt"
    assert credentials.login_url == "https://login.salesforce.com"  # the default
    assert credentials.private_key is not None
    assert "PRIVATE" not in repr(credentials)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {"FLOW": "client_credentials", "CLIENT_ID": CLIENT_ID},
            "AK_SALESFORCE_NB_PROD_CLIENT_SECRET and AK_SALESFORCE_NB_PROD_LOGIN_URL are not set",
        ),
        (
            {"FLOW": "jwt", "CLIENT_ID": CLIENT_ID, "USERNAME": "ada@example.com"},
            "AK_SALESFORCE_NB_PROD_JWT_KEY_FILE is not set",
        ),
        ({"FLOW": "password", "CLIENT_ID": CLIENT_ID}, "AK_SALESFORCE_NB_PROD_FLOW must be"),
        ({"CLIENT_ID": CLIENT_ID}, "set AK_SALESFORCE_NB_PROD_FLOW to client_credentials"),
        (
            {"AUTH_URL": "force://a::b@acme.my.salesforce.com", "FLOW": "jwt"},
            "Both AK_SALESFORCE_NB_PROD_AUTH_URL and AK_SALESFORCE_NB_PROD_FLOW",
        ),
        (
            {"CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": SECRET, "LOGIN_URL": "login.salesforce.com"},
            "AK_SALESFORCE_NB_PROD_LOGIN_URL must be the org's My Domain",
        ),
        (
            {"CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": SECRET, "LOGIN_URL": "https://evil.example"},
            "AK_SALESFORCE_NB_PROD_LOGIN_URL: ",
        ),
        (
            {"CLIENT_ID": "has space", "CLIENT_SECRET": SECRET, "LOGIN_URL": MY_DOMAIN},
            "AK_SALESFORCE_NB_PROD_CLIENT_ID: Client ID looks wrong",
        ),
        ({"AUTH_URL": f"force://{SECRET}"}, "AK_SALESFORCE_NB_PROD_AUTH_URL is not a usable"),
    ],
)
def test_incomplete_or_wrong_variables_name_the_variable(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        from_environment("prod", {var("prod", k): v for k, v in env.items()})
    assert says in str(info.value)
    assert SECRET not in str(info.value)


def test_key_file_problems_name_the_variable(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    def jwt_env(path: Path) -> dict[str, str]:
        return {
            var("prod", "CLIENT_ID"): CLIENT_ID,
            var("prod", "USERNAME"): "ada@example.com",
            var("prod", "JWT_KEY_FILE"): str(path),
        }

    with pytest.raises(ConfigurationError, match=r"_JWT_KEY_FILE names .* does not exist"):
        from_environment("prod", jwt_env(tmp_path / "missing.key"))
    garbage = tmp_path / "garbage.key"
    garbage.write_text("not a key")
    with pytest.raises(ConfigurationError, match=r"_JWT_KEY_FILE .* is not a PEM private key"):
        from_environment("prod", jwt_env(garbage))
    locked = tmp_path / "locked.key"
    locked.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    with pytest.raises(ConfigurationError, match="protected by a passphrase"):
        from_environment("prod", jwt_env(locked))


# -- the grants' requests ----------------------------------------------------------------


def test_client_credentials_request_shape() -> None:
    request = _grants.client_credentials_request(
        MY_DOMAIN, client_id=CLIENT_ID, client_secret=SECRET
    )
    assert request.method == "POST"
    assert str(request.url) == f"{MY_DOMAIN}/services/oauth2/token"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(request.content.decode())) == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
    }


def test_jwt_assertion_is_rs256_with_the_documented_claims(rsa_key: rsa.RSAPrivateKey) -> None:
    assertion = _grants.jwt_assertion(
        client_id=CLIENT_ID,
        username="ada@example.com",
        audience="https://login.salesforce.com",
        private_key=rsa_key,
        now=1_700_000_000,
    )
    header, claims, signature = assertion.split(".")
    assert json.loads(b64decode(header)) == {"alg": "RS256", "typ": "JWT"}
    assert json.loads(b64decode(claims)) == {
        "iss": CLIENT_ID,
        "sub": "ada@example.com",
        "aud": "https://login.salesforce.com",
        "exp": 1_700_000_180,
    }
    rsa_key.public_key().verify(  # raises InvalidSignature when wrong
        b64decode(signature),
        f"{header}.{claims}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    request = _grants.jwt_bearer_request(MY_DOMAIN, assertion=assertion)
    assert dict(parse_qsl(request.content.decode())) == {
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "assertion": assertion,
    }


@pytest.mark.parametrize(
    ("login_url", "audience"),
    [
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://acme.my.salesforce.com", "https://login.salesforce.com"),
        ("https://test.salesforce.com", "https://test.salesforce.com"),
        ("https://acme--dev.sandbox.my.salesforce.com", "https://test.salesforce.com"),
        ("https://acme.my.site.com", "https://acme.my.site.com"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
    ],
)
def test_jwt_audience(login_url: str, audience: str) -> None:
    assert _grants.jwt_audience(login_url) == audience


# -- the provider, over a fake transport -------------------------------------------------


class FakeSalesforce:
    """A token endpoint answering in turn what a test lines up (default: new tokens)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.answers: list[httpx.Response] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(dict(parse_qsl(request.content.decode())))
            if self.answers:
                return self.answers.pop(0)
            return httpx.Response(200, json=token_answer(len(self.requests)))


def provider_for(env: dict[str, str], fake: FakeSalesforce) -> CredentialsTokenProvider:
    credentials = from_environment("prod", env)
    assert credentials is not None
    return CredentialsTokenProvider(credentials, transport=httpx.MockTransport(fake))


CLIENT_CREDENTIALS_ENV = {
    var("prod", "FLOW"): "client_credentials",
    var("prod", "CLIENT_ID"): CLIENT_ID,
    var("prod", "CLIENT_SECRET"): SECRET,
    var("prod", "LOGIN_URL"): MY_DOMAIN,
}


def test_provider_is_a_token_provider_and_the_old_call_still_gives_the_store_one(
    store_path: Path,
) -> None:
    fake = FakeSalesforce()
    assert isinstance(provider_for(CLIENT_CREDENTIALS_ENV, fake), TokenProvider)
    old_style = TokenProvider(ConnectionStore(store_path), "prod", http_timeout=3.0)
    assert isinstance(old_style, StoreTokenProvider)
    assert old_style.http_timeout == 3.0


def test_client_credentials_mint_then_mint_again_on_refresh() -> None:
    fake = FakeSalesforce()
    provider = provider_for(CLIENT_CREDENTIALS_ENV, fake)
    first = provider.current()
    assert provider.current() is first  # one token until Salesforce refuses it
    assert first.access_token == "00Dxx!access1"
    assert first.refresh_token is None
    second = provider.refresh(first)
    assert second.access_token == "00Dxx!access2"
    assert second.generation == first.generation + 1
    assert [r["grant_type"] for r in fake.requests] == ["client_credentials"] * 2
    assert (provider.mint_count, provider.refresh_count) == (2, 1)
    record = provider.record()
    assert record.state == "connected"
    assert (record.organization_id, record.user_id) == ("00Dxx0000001gPL", "005xx000001SwiU")
    assert "AK_SALESFORCE_NB_PROD_FLOW (environment); not saved" in record.message
    assert SECRET not in repr(provider) + repr(record)


def test_eight_threads_on_one_stale_token_mint_once() -> None:
    fake = FakeSalesforce()
    provider = provider_for(CLIENT_CREDENTIALS_ENV, fake)
    stale = provider.current()
    barrier = threading.Barrier(8)
    got: list[str] = []

    def refresh() -> None:
        barrier.wait()
        got.append(provider.refresh(stale).access_token)

    threads = [threading.Thread(target=refresh) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == ["00Dxx!access2"] * 8
    assert len(fake.requests) == 2


def test_jwt_provider_sends_a_fresh_assertion_each_time(key_file: Path) -> None:
    fake = FakeSalesforce()
    env = {
        var("prod", "FLOW"): "jwt",
        var("prod", "CLIENT_ID"): CLIENT_ID,
        var("prod", "USERNAME"): "ada@example.com",
        var("prod", "JWT_KEY_FILE"): str(key_file),
        var("prod", "LOGIN_URL"): "https://acme--dev.sandbox.my.salesforce.com",
    }
    provider = provider_for(env, fake)
    provider.refresh(provider.current())
    assert [r["grant_type"] for r in fake.requests] == [_grants.JWT_BEARER_GRANT] * 2
    claims = json.loads(b64decode(fake.requests[0]["assertion"].split(".")[1]))
    assert claims["aud"] == "https://test.salesforce.com"
    assert provider.record().username == "ada@example.com"


def test_auth_url_provider_keeps_a_rotated_refresh_token() -> None:
    fake = FakeSalesforce()
    fake.answers = [
        httpx.Response(200, json=token_answer(1, refresh_token="5AepROTATED")),
        httpx.Response(200, json=token_answer(2)),
    ]
    env = {var("prod", "AUTH_URL"): f"force://{CLIENT_ID}::5AepORIGINAL@acme.my.salesforce.com"}
    provider = provider_for(env, fake)
    provider.refresh(provider.current())
    assert [r["refresh_token"] for r in fake.requests] == ["5AepORIGINAL", "5AepROTATED"]
    assert all("client_secret" not in r for r in fake.requests)  # a public client


def refusal(error: str, description: str) -> httpx.Response:
    return httpx.Response(400, json={"error": error, "error_description": description})


@pytest.mark.parametrize(
    ("answer", "setting", "says"),
    [
        (
            refusal("invalid_client", "invalid client credentials"),
            "AK_SALESFORCE_NB_PROD_CLIENT_SECRET",
            "Client Secret does not match",
        ),
        (
            refusal("invalid_client_id", "client identifier invalid"),
            "AK_SALESFORCE_NB_PROD_CLIENT_ID",
            "does not know this Client ID",
        ),
        (
            refusal("invalid_grant", "no client credentials user enabled"),
            "AK_SALESFORCE_NB_PROD_FLOW",
            "Enable Client Credentials Flow",
        ),
        (
            refusal("unsupported_grant_type", "request not supported on this domain"),
            "AK_SALESFORCE_NB_PROD_LOGIN_URL",
            "My Domain",
        ),
    ],
)
def test_refused_client_credentials_name_the_variable(
    answer: httpx.Response, setting: str, says: str
) -> None:
    fake = FakeSalesforce()
    fake.answers = [answer]
    with pytest.raises(CredentialsRefused) as info:
        provider_for(CLIENT_CREDENTIALS_ENV, fake).current()
    assert info.value.setting == setting
    assert f"Fix {setting}: " in str(info.value)
    assert says in str(info.value)
    assert SECRET not in str(info.value)
    assert isinstance(info.value, TokenRequestError)


@pytest.mark.parametrize(
    ("description", "setting"),
    [
        ("user hasn't approved this consumer", "AK_SALESFORCE_NB_PROD_USERNAME"),
        ("audience is invalid", "AK_SALESFORCE_NB_PROD_LOGIN_URL"),
        ("invalid assertion", "AK_SALESFORCE_NB_PROD_JWT_KEY_FILE"),
        ("expired authorization code", ""),
    ],
)
def test_refused_jwt_names_the_variable(key_file: Path, description: str, setting: str) -> None:
    fake = FakeSalesforce()
    fake.answers = [refusal("invalid_grant", description)]
    env = {
        var("prod", "CLIENT_ID"): CLIENT_ID,
        var("prod", "USERNAME"): "ada@example.com",
        var("prod", "JWT_KEY_FILE"): str(key_file),
    }
    with pytest.raises(CredentialsRefused) as info:
        provider_for(env, fake).current()
    assert info.value.setting == setting
    assert description in str(info.value)
    assert "BEGIN" not in str(info.value)
    if not setting:  # no variable to blame: the sentence still reads as one
        assert "). The assertion had expired" in str(info.value)


def test_unreachable_token_endpoint_is_said_plainly() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    credentials = from_environment("prod", CLIENT_CREDENTIALS_ENV)
    assert credentials is not None
    provider = CredentialsTokenProvider(credentials, transport=httpx.MockTransport(down))
    with pytest.raises(aksf.TokenEndpointUnavailable, match="Could not reach"):
        provider.current()


# -- end to end: the emulator's refresh-token grant, no store --------------------------


@pytest.fixture
def auth_url(emu: RunningEmulator) -> str:
    token = get_token(emu)
    return format_auth_url(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=token["refresh_token"],
        instance_url=emu.url,
    )


@pytest.fixture
def no_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store path that must stay absent."""
    path = tmp_path / "never" / "store.sqlite3"
    monkeypatch.setenv(ENV_STORE, str(path))
    return path


def test_session_from_an_auth_url_in_the_environment_without_a_store(
    emu: RunningEmulator, auth_url: str, no_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(var("nightly", "AUTH_URL"), auth_url)
    with aksf.session("nightly") as sf:
        assert sf.source == "environment"
        assert sf.count("SELECT COUNT() FROM Account") > 0
        before = emu.stats["refresh_grants"]
        emu.expire_access_tokens()
        frame = sf.query("SELECT Id, Name FROM Account LIMIT 3")
        assert len(frame) == 3
        assert emu.stats["refresh_grants"] == before + 1  # refreshed once, then retried
        shown = repr(sf) + sf._repr_html_()
        assert "connected" in shown
    assert auth_url.split(":")[3].split("@")[0] not in shown  # the refresh token
    assert CLIENT_SECRET not in shown
    assert not no_store.exists() and not no_store.parent.exists()


async def test_async_session_from_the_environment(
    auth_url: str, no_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(var("nightly", "AUTH_URL"), auth_url)
    async with aksf.async_session("nightly") as sf:
        limits = await sf.limits()
    assert "DailyApiRequests" in limits
    assert not no_store.exists()


def test_explicit_arguments_come_before_the_environment(
    auth_url: str, no_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A broken variable is never read when the arguments give credentials.
    monkeypatch.setenv(var("nightly", "AUTH_URL"), "force://nonsense")
    with aksf.session("nightly", auth_url=auth_url) as sf:
        assert sf.source == "arguments"
        assert len(sf.query("SELECT Id FROM Account LIMIT 1")) == 1
    with pytest.raises(ConfigurationError, match="AK_SALESFORCE_NB_NIGHTLY_AUTH_URL is not"):
        aksf.session("nightly")


async def test_the_environment_comes_before_the_store(
    flow: Any, emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        assert sf.source == "store"
    revoked = format_auth_url(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token="5Aep861notavalidtoken",
        instance_url=emu.url,
    )
    monkeypatch.setenv(var("prod", "AUTH_URL"), revoked)
    with pytest.raises(CredentialsRefused) as info:
        aksf.session("prod")
    assert info.value.setting == "AK_SALESFORCE_NB_PROD_AUTH_URL"
    assert "sf org display --verbose --json" in str(info.value)
    assert "5Aep861notavalidtoken" not in str(info.value)
    # Nothing of the environment reached the store: without the variable, the store's
    # connection is still there and still works.
    monkeypatch.delenv(var("prod", "AUTH_URL"))
    with aksf.session("prod") as sf:
        assert sf.source == "store"
        assert sf.limits()


def test_revoked_refresh_token_after_expiry_names_the_variable(
    emu: RunningEmulator, auth_url: str, no_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(var("nightly", "AUTH_URL"), auth_url)
    with aksf.session("nightly") as sf:
        sf.limits()
        emu.revoke_refresh_tokens()
        with pytest.raises(CredentialsRefused, match="AK_SALESFORCE_NB_NIGHTLY_AUTH_URL"):
            sf.limits()


def test_save_true_keeps_the_connection_then_export_gives_it_back(
    emu: RunningEmulator, auth_url: str, store_path: Path
) -> None:
    with aksf.session("kept", auth_url=auth_url, save=True) as sf:
        assert sf.source == "store"
        assert len(sf.query("SELECT Id FROM Account LIMIT 1")) == 1
    record = ConnectionStore(store_path).get_connection("kept")
    assert (record.state, record.username) == ("connected", "ada@example.com")
    assert record.login_url == emu.url
    with pytest.warns(aksf.SecretWarning, match="holds its refresh token"):
        exported = aksf.export_auth_url("kept")
    assert str(exported) == auth_url
    assert auth_url not in repr(exported) and CLIENT_SECRET not in repr(exported)
    # The store's session refreshes it like any other connection.
    with aksf.session("kept") as again:
        emu.expire_access_tokens()
        assert again.limits()


def test_client_credentials_cannot_be_saved(no_store: Path) -> None:
    fake = FakeSalesforce()
    provider = provider_for(CLIENT_CREDENTIALS_ENV, fake)
    from ak_salesforce_nb.kernel._interop import save_credentials

    with pytest.raises(ConfigurationError, match="Only an auth URL can be saved"):
        save_credentials(ConnectionStore(no_store), provider)


def test_script_without_any_credentials_says_how_to_get_them(store_path: Path) -> None:
    assert not in_notebook()
    with pytest.raises(ConnectionNotFound) as info:
        aksf.session("nowhere")
    assert "aksf.connect('nowhere')" in str(info.value)
    notes = getattr(info.value, "__notes__", ["AK_SALESFORCE_NB_NOWHERE_AUTH_URL"])
    assert "AK_SALESFORCE_NB_NOWHERE_AUTH_URL" in " ".join(notes)


# -- end to end: the emulator's client-credentials and JWT bearer grants ----------------


@pytest.fixture(scope="module")
def grants_emu(
    rsa_key: rsa.RSAPrivateKey, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningEmulator]:
    """An org of its own whose app has the certificate of `rsa_key` (``--jwt-cert``)."""
    path = write_certificate(rsa_key, tmp_path_factory.mktemp("jwt") / "server.crt")
    with start_emulator(EmulatorConfig(accounts=40, seed=5, jwt_cert=str(path))) as emu:
        yield emu


@pytest.fixture
def gemu(grants_emu: RunningEmulator) -> Iterator[RunningEmulator]:
    """`grants_emu`, its app switches put back after each test."""
    yield grants_emu
    config = grants_emu.config
    config.client_credentials = True
    config.jwt_bearer = True
    config.jwt_admin_approved_users = None
    config.require_client_secret = True


def client_credentials_env(emu: RunningEmulator, **override: str) -> dict[str, str]:
    values = {
        "FLOW": "client_credentials",
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "LOGIN_URL": emu.url,
    }
    values.update(override)
    return {var("nightly", k): v for k, v in values.items()}


def jwt_env(emu: RunningEmulator, key: Path, **override: str) -> dict[str, str]:
    values = {
        "FLOW": "jwt",
        "CLIENT_ID": CLIENT_ID,
        "USERNAME": emu.config.default_username,
        "JWT_KEY_FILE": str(key),
        "LOGIN_URL": emu.url,
    }
    values.update(override)
    return {var("nightly", k): v for k, v in values.items()}


def set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_client_credentials_end_to_end_mint_again_after_expiry(
    gemu: RunningEmulator, no_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, client_credentials_env(gemu))
    with aksf.session("nightly") as sf:
        assert sf.count("SELECT COUNT() FROM Account") == 40
        before = gemu.stats.get("client_credentials_grants", 0)
        gemu.expire_access_tokens()
        assert len(sf.query("SELECT Id FROM Account LIMIT 2")) == 2
        assert gemu.stats.get("client_credentials_grants", 0) == before + 1
        assert sf.tokens.current().refresh_token is None  # this grant has none
        assert sf.connection_record().username == ""  # the run-as user is Salesforce's
    assert not no_store.exists()


def test_jwt_end_to_end_mint_again_after_expiry(
    gemu: RunningEmulator, key_file: Path, no_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, jwt_env(gemu, key_file))
    with aksf.session("nightly") as sf:
        assert sf.source == "environment"
        assert sf.limits()
        before = gemu.stats.get("jwt_bearer_grants", 0)
        gemu.expire_access_tokens()
        assert sf.count("SELECT COUNT() FROM Contact") > 0
        assert gemu.stats.get("jwt_bearer_grants", 0) == before + 1
    assert not no_store.exists()


def test_jwt_as_arguments(gemu: RunningEmulator, key_file: Path, no_store: Path) -> None:
    with aksf.session(
        "script",
        flow="jwt",
        client_id=CLIENT_ID,
        username=gemu.config.default_username,
        jwt_key_file=key_file,
        login_url=gemu.url,
    ) as sf:
        assert sf.source == "arguments"
        assert len(sf.query("SELECT Id FROM Account LIMIT 1")) == 1
        assert "JWT bearer flow from the session's arguments; not saved" in repr(
            sf.connection_record()
        )
    with pytest.raises(ConfigurationError, match="Only an auth URL can be saved"):
        aksf.session(
            "script",
            flow="jwt",
            client_id=CLIENT_ID,
            username=gemu.config.default_username,
            jwt_key_file=key_file,
            login_url=gemu.url,
            save=True,
        )


@pytest.mark.parametrize(
    ("setup", "override", "setting"),
    [
        ("client_credentials_off", {}, "AK_SALESFORCE_NB_NIGHTLY_FLOW"),
        ("", {"CLIENT_SECRET": "wrong-secret"}, "AK_SALESFORCE_NB_NIGHTLY_CLIENT_SECRET"),
        ("", {"CLIENT_ID": "unknown-client"}, "AK_SALESFORCE_NB_NIGHTLY_CLIENT_ID"),
    ],
)
def test_client_credentials_refusals_name_the_variable(
    gemu: RunningEmulator,
    no_store: Path,
    monkeypatch: pytest.MonkeyPatch,
    setup: str,
    override: dict[str, str],
    setting: str,
) -> None:
    if setup == "client_credentials_off":
        gemu.config.client_credentials = False
    set_env(monkeypatch, client_credentials_env(gemu, **override))
    with pytest.raises(CredentialsRefused) as info:
        aksf.session("nightly")
    assert info.value.setting == setting
    assert "wrong-secret" not in str(info.value) and CLIENT_SECRET not in str(info.value)


def test_jwt_refusals_name_the_variable(
    gemu: RunningEmulator,
    key_file: Path,
    tmp_path: Path,
    no_store: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refused(**override: str) -> CredentialsRefused:
        set_env(monkeypatch, jwt_env(gemu, key_file, **override))
        with pytest.raises(CredentialsRefused) as info:
            aksf.session("nightly")
        assert "BEGIN" not in str(info.value)
        return info.value

    other = write_private_key(
        rsa.generate_private_key(public_exponent=65537, key_size=2048), tmp_path / "other.key"
    )
    assert refused(JWT_KEY_FILE=str(other)).setting == "AK_SALESFORCE_NB_NIGHTLY_JWT_KEY_FILE"
    assert refused(USERNAME="nobody@example.com").setting == "AK_SALESFORCE_NB_NIGHTLY_USERNAME"
    assert refused(CLIENT_ID="unknown-client").setting == "AK_SALESFORCE_NB_NIGHTLY_CLIENT_ID"
    gemu.config.jwt_admin_approved_users = ["someone.else@example.com"]
    error = refused()
    assert error.error == "invalid_app_access"
    assert error.setting == "AK_SALESFORCE_NB_NIGHTLY_USERNAME"
    gemu.config.jwt_admin_approved_users = None
    gemu.config.jwt_bearer = False  # the app is not enabled for the flow
    error = refused()
    assert error.setting == "AK_SALESFORCE_NB_NIGHTLY_JWT_KEY_FILE"
    assert "Use Digital Signatures" in str(error)


def test_public_client_auth_url_with_an_empty_secret(
    gemu: RunningEmulator, no_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gemu.config.require_client_secret = False
    refresh_token = get_token(gemu)["refresh_token"]
    auth_url = format_auth_url(
        client_id=CLIENT_ID, client_secret="", refresh_token=refresh_token, instance_url=gemu.url
    )
    assert f"force://{CLIENT_ID}::" in auth_url
    monkeypatch.setenv(var("nightly", "AUTH_URL"), auth_url)
    with aksf.session("nightly") as sf:
        gemu.expire_access_tokens()
        assert sf.limits()
        assert sf.tokens.refresh_count == 1
