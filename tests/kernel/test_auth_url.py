"""The sfdx auth URL: parsed as the Salesforce CLI parses it, never echoing its secrets."""

from __future__ import annotations

import pytest

from ak_salesforce_nb.core._auth_url import (
    CLI_CLIENT_ID,
    AuthUrl,
    format_auth_url,
    parse_auth_url,
)
from ak_salesforce_nb.core._exceptions import ConfigurationError

SECRET = "S3cretValue123"
REFRESH = "5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJrFVHyeF0VJE0UwEd.mwNH1pwfRrNrj2JNw7_S7n_3Ph3fvwk"


def test_cli_output_shape() -> None:
    parsed = parse_auth_url(f"force://3MVG9abc.Def_0:{SECRET}:{REFRESH}@acme.my.salesforce.com")
    assert parsed == AuthUrl("3MVG9abc.Def_0", SECRET, REFRESH, "https://acme.my.salesforce.com")


def test_empty_secret_port_trailing_slash_and_case() -> None:
    parsed = parse_auth_url(f"  FORCE://PlatformCLI::{REFRESH}@Acme.My.Salesforce.com:8443/ ")
    assert parsed.client_id == "PlatformCLI"
    assert parsed.client_secret == ""
    assert parsed.instance_url == "https://acme.my.salesforce.com:8443"


def test_bare_refresh_token_means_the_cli_app() -> None:
    parsed = parse_auth_url(f"force://{REFRESH}@acme.my.salesforce.com")
    assert (parsed.client_id, parsed.client_secret) == (CLI_CLIENT_ID, "")
    assert parsed.refresh_token == REFRESH


def test_explicit_http_only_for_loopback() -> None:
    local = parse_auth_url(f"force://cid:{SECRET}:{REFRESH}@http://127.0.0.1:8765")
    assert local.instance_url == "http://127.0.0.1:8765"
    assert parse_auth_url(f"force://cid::{REFRESH}@http://localhost:80").instance_url == (
        "http://localhost"
    )
    with pytest.raises(ConfigurationError, match="must use https"):
        parse_auth_url(f"force://cid:{SECRET}:{REFRESH}@http://acme.my.salesforce.com")
    with pytest.raises(ConfigurationError, match="without https://"):
        parse_auth_url(f"force://cid:{SECRET}:{REFRESH}@https://acme.my.salesforce.com")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "it is empty"),
        (f"https://cid:{SECRET}:{REFRESH}@acme.my.salesforce.com", "does not start with force://"),
        (f"force://cid:{SECRET}:{REFRESH}", "no @"),
        (f"force://cid:{SECRET}:{REFRESH}:extra@acme.my.salesforce.com", "4 colon-separated"),
        (f"force://cid:{SECRET}@acme.my.salesforce.com", "2 colon-separated"),
        (f"force://:{SECRET}:{REFRESH}@acme.my.salesforce.com", "client id is empty"),
        (f"force://cid:{SECRET}:@acme.my.salesforce.com", "refresh token is empty"),
        (f"force://cid:{SECRET} x:{REFRESH}@acme.my.salesforce.com", "client secret has"),
        (f"force://cid:{SECRET}:{REFRESH}<@acme.my.salesforce.com", "refresh token has"),
        (f"force://cid:{SECRET}:{REFRESH}@", "host after the @ is empty"),
        (f"force://cid:{SECRET}:{REFRESH}@acme.my.salesforce.com/path", "instance host is wrong"),
        (f"force://cid:{SECRET}:{REFRESH}@bad_host.example", "instance host is wrong"),
    ],
)
def test_errors_say_what_is_wrong_and_never_echo_secrets(text: str, problem: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_auth_url(text, source="AK_SALESFORCE_NB_PROD_AUTH_URL")
    message = str(info.value)
    assert message.startswith("AK_SALESFORCE_NB_PROD_AUTH_URL is not a usable sfdx auth URL")
    assert problem in message
    assert SECRET not in message
    assert REFRESH[:20] not in message


def test_repr_and_str_hide_the_secret_and_token() -> None:
    parsed = parse_auth_url(f"force://cid:{SECRET}:{REFRESH}@acme.my.salesforce.com")
    for shown in (repr(parsed), str(parsed), f"{parsed}", repr([parsed])):
        assert SECRET not in shown
        assert REFRESH[:20] not in shown
    assert "acme.my.salesforce.com" in repr(parsed)
    assert str(parsed) == "force://cid:***:***@acme.my.salesforce.com"


@pytest.mark.parametrize(
    "instance_url",
    ["https://acme.my.salesforce.com", "https://acme.my.salesforce.com:8443", "http://127.0.0.1:9"],
)
@pytest.mark.parametrize("secret", [SECRET, ""])
def test_format_round_trips(instance_url: str, secret: str) -> None:
    text = format_auth_url(
        client_id="3MVG9.x_y",
        client_secret=secret,
        refresh_token=REFRESH,
        instance_url=instance_url,
    )
    assert text.startswith("force://3MVG9.x_y:")
    assert "https://" not in text
    parsed = parse_auth_url(text)
    assert parsed.text() == text
    assert (parsed.client_secret, parsed.refresh_token, parsed.instance_url) == (
        secret,
        REFRESH,
        instance_url,
    )


def test_format_refuses_unwritable_parts_without_echoing_them() -> None:
    with pytest.raises(ConfigurationError, match="client secret") as info:
        format_auth_url(
            client_id="cid",
            client_secret="has:colon",
            refresh_token=REFRESH,
            instance_url="https://acme.my.salesforce.com",
        )
    assert "has:colon" not in str(info.value)
    with pytest.raises(ConfigurationError, match="refresh token"):
        format_auth_url(
            client_id="cid",
            client_secret=None,
            refresh_token="",
            instance_url="https://acme.my.salesforce.com",
        )
