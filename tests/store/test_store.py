"""The connection store on its own: encryption, permissions, corruption, migration,
concurrent writers, the refresh lock."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest

from ak_salesforce_nb.core._exceptions import (
    AuthorizationStateError,
    ConfigurationError,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
    StorePermissionError,
)
from ak_salesforce_nb.core._store import SCHEMA_VERSION, ConnectionStore

SECRET = "very-secret-value-123"
ACCESS = "00Dxx0000001gPL!AQ-access-token-value"
REFRESH = "5Aep-refresh-token-value"


def make(path: Path) -> ConnectionStore:
    store = ConnectionStore(path)
    store.save_settings(
        "prod",
        client_id="cid",
        client_secret=SECRET,
        login_url="https://login.salesforce.com",
        scopes="api refresh_token",
    )
    return store


def authorize(store: ConnectionStore, name: str = "prod") -> None:
    store.record_authorized(
        name,
        access_token=ACCESS,
        refresh_token=REFRESH,
        instance_url="https://x.my.salesforce.com",
        issued_at="1",
        identity={"username": "ada@example.com", "organization_id": "00D1"},
    )


def raw_bytes(path: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm"):
        part = Path(str(path) + suffix)
        if part.exists():
            data += part.read_bytes()
    return data


def test_new_store_is_private(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "store.sqlite3"
    make(path)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = Path(str(path) + ".key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_secrets_are_encrypted_at_rest(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    store = make(path)
    authorize(store)
    pending = store.create_pending("prod", code_verifier="verifier-secret-xyz")
    raw = raw_bytes(path)
    for secret in (SECRET, ACCESS, REFRESH, "verifier-secret-xyz"):
        assert secret.encode() not in raw
    assert store.get_client_secret("prod") == SECRET
    tokens = store.get_tokens("prod")
    assert tokens is not None and tokens.access_token == ACCESS
    assert store.get_pending(pending.state) is not None
    for text in (repr(store), repr(tokens), repr(pending), repr(store.get_connection("prod"))):
        for secret in (SECRET, ACCESS, REFRESH, "verifier-secret-xyz"):
            assert secret not in text


@pytest.mark.parametrize("target", ["file", "folder", "key"])
def test_store_open_to_others_is_refused(tmp_path: Path, target: str) -> None:
    path = tmp_path / "s" / "store.sqlite3"
    make(path).close()
    victim = {"file": path, "folder": path.parent, "key": Path(str(path) + ".key")}[target]
    os.chmod(victim, 0o755 if target == "folder" else 0o644)
    with pytest.raises(StorePermissionError) as info:
        ConnectionStore(path)
    assert str(victim) in str(info.value)
    assert "chmod" in str(info.value)


def test_corrupt_store_names_the_file_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    make(path).close()
    garbage = b"this is not a database" * 100
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.write_bytes(garbage)
    with pytest.raises(StoreCorruptError) as info:
        ConnectionStore(path)
    assert str(path) in str(info.value)
    assert "Move it aside" in str(info.value)
    assert path.read_bytes() == garbage


def test_undecryptable_secret_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    make(path).close()
    key = Path(str(path) + ".key")
    key.unlink()
    store = ConnectionStore(path)  # a new key is made; the old secrets cannot be opened
    with pytest.raises(StoreError) as info:
        store.get_client_secret("prod")
    assert "cannot be decrypted" in str(info.value)


def test_old_schema_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    db = sqlite3.connect(path)
    from ak_salesforce_nb.core._store import _MIGRATIONS

    db.executescript(_MIGRATIONS[0])
    db.execute(
        "INSERT INTO connections (name, client_id, login_url, scopes, state, updated_at)"
        " VALUES ('old', 'cid', 'https://login.salesforce.com', 'api', 'ready', 1)"
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    os.chmod(path, 0o600)
    os.chmod(tmp_path, 0o700)
    store = ConnectionStore(path)
    record = store.get_connection("old")
    assert record.display_name == "" and record.authorized_at is None
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    make(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer ak_salesforce_nb"):
        ConnectionStore(path)


def test_state_is_single_use_and_expires(tmp_path: Path) -> None:
    store = make(tmp_path / "store.sqlite3")
    pending = store.create_pending("prod", code_verifier="v", ttl=60)
    assert store.get_connection("prod").state == "waiting"
    with pytest.raises(AuthorizationStateError, match="expired"):
        store.claim_pending(pending.state, now=time.time() + 61)
    claimed = store.claim_pending(pending.state)
    assert claimed.code_verifier == "v"
    with pytest.raises(AuthorizationStateError, match="already used"):
        store.claim_pending(pending.state)
    with pytest.raises(AuthorizationStateError, match="not known"):
        store.claim_pending("forged")


@pytest.mark.parametrize(
    ("ttl", "said"),
    [
        (120, "after 2 minutes"),
        (90, "after 90 seconds"),
        (3600, "after 1 hour"),
        (60, "after 1 minute"),
    ],
)
def test_an_expired_link_says_how_long_links_last(tmp_path: Path, ttl: float, said: str) -> None:
    """The lifetime the link was made with (the server's `state_ttl`), not a fixed one."""
    store = make(tmp_path / "store.sqlite3")
    pending = store.create_pending("prod", code_verifier="v", ttl=ttl)
    later = time.time() + ttl + 1
    for check in (store.check_pending, store.claim_pending):
        with pytest.raises(AuthorizationStateError) as info:
            check(pending.state, now=later)
        assert info.value.reason == "expired"
        assert said in str(info.value) and "10 minutes" not in str(info.value)


def test_new_authorization_replaces_the_older_link(tmp_path: Path) -> None:
    store = make(tmp_path / "store.sqlite3")
    first = store.create_pending("prod", code_verifier="v1")
    second = store.create_pending("prod", code_verifier="v2")
    with pytest.raises(AuthorizationStateError):
        store.claim_pending(first.state)
    assert store.claim_pending(second.state).code_verifier == "v2"


def test_sweep_forgets_expired_states(tmp_path: Path) -> None:
    store = make(tmp_path / "store.sqlite3")
    store.create_pending("prod", code_verifier="v", ttl=1)
    assert store.count_pending() == 1
    assert store.sweep_expired(now=time.time() + 2) == 1
    assert store.count_pending() == 0
    assert store.get_connection("prod").state == "ready"


def test_bad_names_are_refused(tmp_path: Path) -> None:
    store = ConnectionStore(tmp_path / "store.sqlite3")
    for name in ("", "a/b", "x" * 65, "<script>", "a b", ".", "..", "-x", "_x", "prod\n"):
        with pytest.raises(ConfigurationError):
            store.save_settings(name, client_id="c", login_url="https://l", scopes="api")


def _writer(path: str, name: str, count: int) -> None:
    store = ConnectionStore(path)
    for i in range(count):
        store.save_settings(
            f"{name}-{i}",
            client_id="c",
            client_secret="s",
            login_url="https://login.salesforce.com",
            scopes="api",
        )


def test_concurrent_writers_lose_no_update(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    ConnectionStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), f"p{n}", 25)) for n in range(3)]
    for p in procs:
        p.start()
    threads = [threading.Thread(target=_writer, args=(str(path), f"t{n}", 25)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = ConnectionStore(path)
    assert len(store.list_connections()) == 150
    assert store.revision() == 150


def _hold_write_lock(path: str, seconds: float, ready: object) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    ready.set()  # type: ignore[attr-defined]
    time.sleep(seconds)
    db.execute("ROLLBACK")


def test_store_locked_longer_than_timeout(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    make(path).close()
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_write_lock, args=(str(path), 4.0, ready))
    holder.start()
    assert ready.wait(30)
    store = ConnectionStore(path, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(StoreLockedError) as info:
        store.save_settings(
            "x", client_id="c", login_url="https://login.salesforce.com", scopes="api"
        )
    assert time.monotonic() - started < 3
    assert str(path) in str(info.value)
    holder.join(30)
    # Once the other process lets go, everything works and nothing was lost.
    store.save_settings("x", client_id="c", login_url="https://login.salesforce.com", scopes="api")
    assert {c.name for c in store.list_connections()} == {"prod", "x"}


def test_refresh_lock_is_exclusive_and_times_out(tmp_path: Path) -> None:
    store = make(tmp_path / "store.sqlite3")
    with store.refresh_lock("prod"):
        other = ConnectionStore(tmp_path / "store.sqlite3")
        with pytest.raises(StoreLockedError), other.refresh_lock("prod", timeout=0.2):
            pass
    with store.refresh_lock("prod", timeout=0.2):
        pass
