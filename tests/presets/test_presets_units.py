"""Presets in the store and in the configuration: applied idempotently, updated when the
administrator changes them, retired when removed; a bad definition is a clear error."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from ak_salesforce_nb.core import _environment as environment
from ak_salesforce_nb.core._connections import (
    DEFAULTS,
    PresetLocked,
    begin_authorization,
    configure_connection,
)
from ak_salesforce_nb.core._exceptions import ConfigurationError
from ak_salesforce_nb.core._store import ConnectionStore, PresetSettings
from ak_salesforce_nb.server._presets import apply_presets, parse_presets

APP = PresetSettings(
    client_id="admin-app",
    login_url="https://acme.my.salesforce.com",
    scopes="api",
    client_secret="s3",
)
log = logging.getLogger("test-presets")


def authorize(store: ConnectionStore, name: str) -> None:
    store.record_authorized(
        name,
        access_token="a",
        refresh_token="r",
        instance_url="https://acme.my.salesforce.com",
        issued_at="1",
        identity={"username": "ada@example.com"},
    )


def test_applying_is_idempotent_and_follows_the_admin(store_path: Path) -> None:
    store = ConnectionStore(store_path)
    assert apply_presets(store, {"prod": APP}, log) == {"prod": "created"}
    record = store.get_connection("prod")
    assert (record.preset, record.state, record.has_client_secret) == (True, "ready", True)
    authorize(store, "prod")

    revision = store.revision()
    assert apply_presets(store, {"prod": APP}, log) == {"prod": "unchanged"}
    assert store.revision() == revision  # a restart wakes no watcher

    # A rotated secret or new scopes keep the user's authorization...
    rotated = PresetSettings(APP.client_id, APP.login_url, "api refresh_token", "s4")
    assert apply_presets(store, {"prod": rotated}, log) == {"prod": "updated"}
    assert store.get_client_secret("prod") == "s4"
    assert store.get_connection("prod").state == "connected"
    # ...a new app does not: its tokens belonged to the old one.
    moved = PresetSettings("another-app", APP.login_url, "api", "s4")
    assert apply_presets(store, {"prod": moved}, log) == {"prod": "updated"}
    assert store.get_tokens("prod") is None
    assert store.get_connection("prod").state == "ready"

    # Public client now: the stored secret goes.
    public = PresetSettings("another-app", APP.login_url, "api", None)
    apply_presets(store, {"prod": public}, log)
    assert store.get_client_secret("prod") is None
    assert begin_authorization(store, "prod").state  # no secret needed for a preset

    # Removed by the admin: the user keeps it, as an ordinary connection.
    assert apply_presets(store, {}, log) == {"prod": "retired"}
    assert store.get_connection("prod").preset is False


def test_a_users_own_connection_of_that_name_is_left_alone(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = ConnectionStore(store_path)
    configure_connection(
        store, "prod", {"client_id": "mine", "client_secret": "x", "login_url": APP.login_url}
    )
    with caplog.at_level(logging.WARNING):
        assert apply_presets(store, {"prod": APP}, log) == {"prod": "skipped"}
    assert "already has a connection" in caplog.text
    assert store.get_connection("prod").client_id == "mine"


def test_the_kernel_side_refuses_changes_too(store_path: Path) -> None:
    store = ConnectionStore(store_path)
    store.apply_preset("prod", APP)
    with pytest.raises(PresetLocked, match="Client ID, Client Secret"):
        configure_connection(store, "prod", {"client_id": "x", "client_secret": "y"})
    assert configure_connection(store, "prod", {"client_id": "admin-app"}).client_id == "admin-app"
    assert store.get_client_secret("prod") == "s3"


def test_disconnect_of_a_public_preset_leaves_it_ready(store_path: Path) -> None:
    store = ConnectionStore(store_path)
    store.apply_preset("pub", PresetSettings("app", APP.login_url, "api", None))
    authorize(store, "pub")
    store.forget_tokens("pub")
    assert store.get_connection("pub").state == "ready"


def test_parse_presets(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("abc123\n")
    parsed = parse_presets(
        {
            "prod": {
                "client_id": "cid",
                "login_url": "https://acme.my.salesforce.com/",
                "client_secret_file": str(secret),
            },
            "pub": {"client_id": "cid2", "scopes": ["api", "refresh_token", "api"]},
        },
        DEFAULTS,
    )
    assert parsed["prod"] == PresetSettings(
        "cid", "https://acme.my.salesforce.com", DEFAULTS.scopes, "abc123"
    )
    assert parsed["prod"].client_secret == "abc123"
    assert "abc123" not in repr(parsed)
    assert parsed["pub"].login_url == DEFAULTS.login_url
    assert parsed["pub"].scopes == "api refresh_token"
    assert parsed["pub"].client_secret is None


@pytest.mark.parametrize(
    ("definition", "words"),
    [
        ({"login_url": "https://acme.my.salesforce.com"}, "Client ID is required"),
        ({"client_id": "c", "client_secret": "x"}, "client_secret_file, a file only"),
        ({"client_id": "c", "login_url": "https://evil.example.com"}, "Preset 'p'"),
        ({"client_id": "c", "client_secret_file": "/nonexistent/secret"}, "cannot read"),
        ("cid", "must be a mapping"),
    ],
)
def test_bad_presets_are_said_plainly(definition: object, words: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(words)):
        parse_presets({"p": definition}, DEFAULTS)


def test_bad_names_and_empty_secret_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=re.escape("Preset '../x'")):
        parse_presets({"../x": {"client_id": "c"}}, DEFAULTS)
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigurationError, match="does not hold one Consumer Secret"):
        parse_presets({"p": {"client_id": "c", "client_secret_file": str(empty)}}, DEFAULTS)


def test_presets_from_the_environment() -> None:
    value = {"prod": {"client_id": "c"}}
    assert environment.presets({environment.ENV_PRESETS: json.dumps(value)}) == value
    assert environment.presets({}) == {}
    for bad in ("{nope", "[1]"):
        with pytest.raises(ConfigurationError, match=environment.ENV_PRESETS):
            environment.presets({environment.ENV_PRESETS: bad})
