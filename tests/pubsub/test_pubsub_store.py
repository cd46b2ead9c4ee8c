"""Replay positions in the connection store: schema 3, per connection and topic."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from ak_salesforce_nb.core._exceptions import ConnectionNotFound
from ak_salesforce_nb.core._store import _MIGRATIONS, SCHEMA_VERSION, ConnectionStore


def make(path: Path) -> ConnectionStore:
    store = ConnectionStore(path)
    store.save_settings(
        "prod", client_id="cid", login_url="https://login.salesforce.com", scopes="api"
    )
    return store


def test_replay_ids_are_kept_per_connection_topic_and_org(tmp_path: Path) -> None:
    store = make(tmp_path / "store.sqlite3")
    topic = "/data/AccountChangeEvent"
    assert store.get_replay_id("prod", topic) is None
    revision = store.revision()
    store.set_replay_id("prod", topic, b"\x00\x01", organization_id="00Dorg")
    store.set_replay_id("prod", topic, b"\x00\x02", organization_id="00Dorg")
    assert store.revision() == revision  # not a change the connection's watchers see
    assert store.get_replay_id("prod", topic) == b"\x00\x02"
    assert store.get_replay_id("prod", topic, organization_id="00Dorg") == b"\x00\x02"
    assert store.get_replay_id("prod", topic, organization_id="00Dother") is None
    assert store.get_replay_id("prod", "/data/ChangeEvents") is None
    again = ConnectionStore(tmp_path / "store.sqlite3")  # another kernel
    assert again.get_replay_id("prod", topic) == b"\x00\x02"
    with pytest.raises(ConnectionNotFound):
        store.set_replay_id("nope", topic, b"\x01")
    assert store.forget_replay_ids("prod", topic) == 1
    assert store.get_replay_id("prod", topic) is None


def test_deleting_a_connection_drops_its_replay_ids(tmp_path: Path) -> None:
    store = make(tmp_path / "store.sqlite3")
    store.set_replay_id("prod", "/data/ChangeEvents", b"\x01")
    store.delete_connection("prod")
    make(tmp_path / "store.sqlite3")
    assert store.get_replay_id("prod", "/data/ChangeEvents") is None


def test_schema_two_is_migrated_to_the_current_one(tmp_path: Path) -> None:
    """A store from before replay positions (schema 2) gains them, and every later step."""
    path = tmp_path / "store.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(_MIGRATIONS[0] + _MIGRATIONS[1])
    db.execute(
        "INSERT INTO connections (name, client_id, login_url, scopes, state, updated_at)"
        " VALUES ('old', 'cid', 'https://login.salesforce.com', 'api', 'ready', 1)"
    )
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    os.chmod(path, 0o600)
    os.chmod(tmp_path, 0o700)
    store = ConnectionStore(path)
    store.set_replay_id("old", "/event/X__e", b"\x07")
    assert store.get_replay_id("old", "/event/X__e") == b"\x07"
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION >= 3
