"""The connection store: one SQLite file per user, shared by the server and its kernels.

It holds each connection's settings, its pending authorizations (state, PKCE verifier,
redirect URI, expiry) and its tokens. The client secret, the tokens and the PKCE verifier
are sealed with :class:`~ak_salesforce_nb.core._secrets.SecretBox`; nothing secret is stored
in the clear. Every change is one ``BEGIN IMMEDIATE`` transaction, so concurrent writers
(the server and several kernels) serialize instead of overwriting each other; a
``revision`` counter moves on every change so watchers can poll cheaply.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import filelock

from . import _environment as environment
from ._constants import STATE_TTL_SECONDS
from ._exceptions import (
    AuthorizationStateError,
    ConnectionNotFound,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
    StorePermissionError,
)
from ._secrets import SecretBox, check_private, load_or_create_key
from ._validation import validate_connection_name

__all__ = [
    "CHECK_OUTCOMES",
    "CheckClaim",
    "ConnectionRecord",
    "ConnectionStore",
    "PendingAuthorization",
    "PresetSettings",
    "StoredTokens",
    "default_store_path",
]

SCHEMA_VERSION = 4
_T = TypeVar("_T")

# Each entry upgrades the schema from its index to index + 1.
_MIGRATIONS: list[str] = [
    # 0 -> 1: the first schema.
    """
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS connections (
        name TEXT PRIMARY KEY,
        client_id TEXT NOT NULL DEFAULT '',
        client_secret BLOB,
        login_url TEXT NOT NULL,
        scopes TEXT NOT NULL,
        state TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        callback_url TEXT NOT NULL DEFAULT '',
        instance_url TEXT NOT NULL DEFAULT '',
        username TEXT NOT NULL DEFAULT '',
        organization_id TEXT NOT NULL DEFAULT '',
        user_id TEXT NOT NULL DEFAULT '',
        updated_at REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS tokens (
        name TEXT PRIMARY KEY REFERENCES connections(name) ON DELETE CASCADE,
        access_token BLOB NOT NULL,
        refresh_token BLOB,
        instance_url TEXT NOT NULL,
        issued_at TEXT NOT NULL DEFAULT '',
        generation INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE IF NOT EXISTS pending (
        state TEXT PRIMARY KEY,
        name TEXT NOT NULL REFERENCES connections(name) ON DELETE CASCADE,
        code_verifier BLOB NOT NULL,
        redirect_uri TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        used_at REAL
    );
    INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', '0');
    """,
    # 1 -> 2: who the user is, beyond the username; when the connection was authorized.
    """
    ALTER TABLE connections ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
    ALTER TABLE connections ADD COLUMN email TEXT NOT NULL DEFAULT '';
    ALTER TABLE connections ADD COLUMN organization_name TEXT NOT NULL DEFAULT '';
    ALTER TABLE connections ADD COLUMN identity_url TEXT NOT NULL DEFAULT '';
    ALTER TABLE connections ADD COLUMN authorized_at REAL;
    CREATE INDEX IF NOT EXISTS pending_by_name ON pending (name);
    """,
    # 2 -> 3: where each Pub/Sub API subscription stopped: the last replay id per
    # connection and topic, with the org it belongs to.
    """
    CREATE TABLE IF NOT EXISTS replay_positions (
        name TEXT NOT NULL REFERENCES connections(name) ON DELETE CASCADE,
        topic TEXT NOT NULL,
        organization_id TEXT NOT NULL DEFAULT '',
        replay_id BLOB NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (name, topic)
    );
    """,
    # 3 -> 4: connections an administrator configured (their app fields are not the
    # user's to change), and the last background check of each connection against
    # Salesforce, shared by every process so that many views check once.
    """
    ALTER TABLE connections ADD COLUMN preset INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE IF NOT EXISTS checks (
        name TEXT PRIMARY KEY REFERENCES connections(name) ON DELETE CASCADE,
        outcome TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL DEFAULT '',
        checked_at REAL,
        started_at REAL,
        took_ms REAL NOT NULL DEFAULT 0
    );
    """,
]

#: What a check of a connection against Salesforce can find: the token works
#: (``connected``), Salesforce refused the refresh token (``reauthorization_required``),
#: Salesforce could not be reached (``unreachable``: DNS, refused, timeout, 5xx), or it
#: answered something else (``failed``).
CHECK_OUTCOMES = ("connected", "reauthorization_required", "unreachable", "failed")
assert len(_MIGRATIONS) == SCHEMA_VERSION


def default_store_path() -> Path:
    """`$AK_SALESFORCE_NB_STORE`, else ``<jupyter data dir>/ak_salesforce_nb/store.sqlite3``."""
    configured = environment.store_path()
    if configured is not None:
        return configured
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "ak_salesforce_nb" / "store.sqlite3"


@dataclass(frozen=True)
class ConnectionRecord:
    """What the store knows about a connection, minus anything secret."""

    name: str
    client_id: str
    login_url: str
    scopes: str
    state: str
    message: str
    callback_url: str
    instance_url: str
    username: str
    display_name: str
    email: str
    organization_id: str
    organization_name: str
    user_id: str
    identity_url: str
    authorized_at: float | None
    updated_at: float
    has_client_secret: bool
    has_tokens: bool
    pending_state: str | None = field(default=None, repr=False)
    #: Set up by the server's administrator (``c.SalesforceOAuth.presets``): the app
    #: fields are theirs, the user only authorizes.
    preset: bool = False
    #: The last check against Salesforce (one of `CHECK_OUTCOMES`, or ``""`` for none
    #: since the connection was last authorized), why, and when (epoch seconds).
    check_outcome: str = ""
    check_reason: str = ""
    checked_at: float | None = None
    #: When a check began that has not reported yet (any process), else None.
    check_started_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The REST API's shape of a connection (never a secret or token)."""
        data = asdict(self)
        data.pop("pending_state")
        return data


@dataclass(frozen=True)
class CheckClaim:
    """The answer to `ConnectionStore.claim_check`: whether the caller may check now, and
    the connection as it stands (with the last result when it may not)."""

    claimed: bool
    record: ConnectionRecord


@dataclass(frozen=True)
class PresetSettings:
    """A connection as the server's administrator configured it. `client_secret` is None
    for a public client (PKCE only): no secret is stored or sent then."""

    client_id: str
    login_url: str
    scopes: str
    client_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PendingAuthorization:
    state: str
    name: str
    code_verifier: str = field(repr=False)
    redirect_uri: str
    created_at: float
    expires_at: float
    used_at: float | None


@dataclass(frozen=True)
class StoredTokens:
    name: str
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    instance_url: str
    issued_at: str
    generation: int


class ConnectionStore:
    """The SQLite store. Thread-safe; one instance per process is plenty."""

    def __init__(self, path: str | Path | None = None, *, timeout: float = 10.0) -> None:
        self.path = Path(path).expanduser() if path else default_store_path()
        self.timeout = timeout
        self._lock = threading.RLock()
        self._db = self._open()
        self._box = SecretBox(load_or_create_key(self.path), store_path=str(self.path))

    def __repr__(self) -> str:
        return f"ConnectionStore(path={str(self.path)!r})"

    # -- opening, migrating, errors -------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        folder = self.path.parent
        if not folder.exists():
            old = os.umask(0o077)
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            finally:
                os.umask(old)
        check_private(folder, is_dir=True)
        if not self.path.exists():
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.close(fd)
            except FileExistsError:
                pass
        check_private(self.path, is_dir=False)
        old = os.umask(0o077)  # the -wal and -shm files sqlite creates stay private too
        try:
            db = sqlite3.connect(
                str(self.path), timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            db.row_factory = sqlite3.Row
            try:
                db.execute("PRAGMA foreign_keys = ON")
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
                self._migrate(db)
            except sqlite3.DatabaseError as exc:
                db.close()
                raise self._translate(exc) from exc
        finally:
            os.umask(old)
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The store {self.path} was written by a newer ak_salesforce_nb (schema "
                f"{version}, this one knows {SCHEMA_VERSION}). Upgrade ak_salesforce_nb.",
                path=str(self.path),
            )
        if version == SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {step + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _translate(self, exc: sqlite3.DatabaseError) -> StoreError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return StoreLockedError(
                f"The Salesforce connection store {self.path} stayed locked by another "
                f"process for more than {self.timeout:g} s. Try again; if it persists, "
                "restart the kernels that use it.",
                path=str(self.path),
            )
        if isinstance(exc, sqlite3.OperationalError) and (
            "unable to open" in text or "readonly" in text
        ):
            return StorePermissionError(
                f"Cannot open the Salesforce connection store {self.path}: {text}.",
                path=str(self.path),
            )
        return StoreCorruptError(
            f"The Salesforce connection store {self.path} is damaged and cannot be read "
            f"({text}). Move it aside (e.g. rename it to store.sqlite3.broken) and "
            "authorize your connections again; nothing has been changed.",
            path=str(self.path),
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _read(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        with self._lock:
            try:
                return fn(self._db)
            except sqlite3.DatabaseError as exc:
                raise self._translate(exc) from exc

    def _write(self, fn: Callable[[sqlite3.Connection], _T], *, bump: bool = True) -> _T:
        """`fn` in one transaction; `bump=False` leaves `revision` alone (a change no
        watcher needs to see, such as a check being claimed)."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise self._translate(exc) from exc
            try:
                result = fn(self._db)
                if bump:
                    self._db.execute(
                        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'"
                    )
                self._db.execute("COMMIT")
                return result
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.DatabaseError):
                    raise self._translate(exc) from exc
                raise

    # -- reading ---------------------------------------------------------------------

    def revision(self) -> int:
        """A number that changes on every committed change, by any process."""
        row = self._read(
            lambda db: db.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
        )
        return int(row[0]) if row else 0

    _SELECT = """
        SELECT c.*,
               c.client_secret IS NOT NULL AS has_client_secret,
               t.name IS NOT NULL AS has_tokens,
               (SELECT p.state FROM pending p
                 WHERE p.name = c.name AND ((p.used_at IS NULL AND p.expires_at > :now)
                       OR p.used_at > :now - 120)
                 ORDER BY p.created_at DESC LIMIT 1) AS live_pending,
               k.outcome AS check_outcome, k.reason AS check_reason,
               k.checked_at AS checked_at, k.started_at AS check_started_at
          FROM connections c LEFT JOIN tokens t ON t.name = c.name
               LEFT JOIN checks k ON k.name = c.name
    """

    def _record(self, row: sqlite3.Row) -> ConnectionRecord:
        state = row["state"]
        message = row["message"]
        if state == "waiting" and row["live_pending"] is None:
            # The authorization was abandoned or expired: fall back to what still works.
            if row["has_tokens"]:
                state = "connected"
                message = (
                    f"Connected as {row['username']}. The last authorization attempt was not "
                    "completed in time; the existing authorization still works."
                )
            else:
                state = "ready"
                message = (
                    "The authorization was not completed in time. Click Authorize to try again."
                )
        return ConnectionRecord(
            name=row["name"],
            client_id=row["client_id"],
            login_url=row["login_url"],
            scopes=row["scopes"],
            state=state,
            message=message,
            callback_url=row["callback_url"],
            instance_url=row["instance_url"],
            username=row["username"],
            display_name=row["display_name"],
            email=row["email"],
            organization_id=row["organization_id"],
            organization_name=row["organization_name"],
            user_id=row["user_id"],
            identity_url=row["identity_url"],
            authorized_at=row["authorized_at"],
            updated_at=row["updated_at"],
            has_client_secret=bool(row["has_client_secret"]),
            has_tokens=bool(row["has_tokens"]),
            pending_state=row["live_pending"],
            preset=bool(row["preset"]),
            check_outcome=row["check_outcome"] or "",
            check_reason=row["check_reason"] or "",
            checked_at=row["checked_at"],
            check_started_at=row["check_started_at"],
        )

    def list_connections(self) -> list[ConnectionRecord]:
        rows = self._read(
            lambda db: db.execute(
                self._SELECT + " ORDER BY c.name", {"now": time.time()}
            ).fetchall()
        )
        return [self._record(row) for row in rows]

    def find_connection(self, name: str) -> ConnectionRecord | None:
        row = self._read(
            lambda db: db.execute(
                self._SELECT + " WHERE c.name = :name", {"now": time.time(), "name": name}
            ).fetchone()
        )
        return self._record(row) if row else None

    def get_connection(self, name: str) -> ConnectionRecord:
        record = self.find_connection(name)
        if record is None:
            raise ConnectionNotFound(name)
        return record

    def get_client_secret(self, name: str) -> str | None:
        row = self._read(
            lambda db: db.execute(
                "SELECT client_secret FROM connections WHERE name = ?", (name,)
            ).fetchone()
        )
        if row is None:
            raise ConnectionNotFound(name)
        return self._box.open(row[0])

    def get_tokens(self, name: str) -> StoredTokens | None:
        row = self._read(
            lambda db: db.execute("SELECT * FROM tokens WHERE name = ?", (name,)).fetchone()
        )
        if row is None:
            return None
        access = self._box.open(row["access_token"])
        assert access is not None
        return StoredTokens(
            name=name,
            access_token=access,
            refresh_token=self._box.open(row["refresh_token"]),
            instance_url=row["instance_url"],
            issued_at=row["issued_at"],
            generation=int(row["generation"]),
        )

    def get_pending(self, state: str) -> PendingAuthorization | None:
        row = self._read(
            lambda db: db.execute("SELECT * FROM pending WHERE state = ?", (state,)).fetchone()
        )
        return self._pending(row) if row else None

    def _pending(self, row: sqlite3.Row) -> PendingAuthorization:
        verifier = self._box.open(row["code_verifier"])
        assert verifier is not None
        return PendingAuthorization(
            state=row["state"],
            name=row["name"],
            code_verifier=verifier,
            redirect_uri=row["redirect_uri"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            used_at=row["used_at"],
        )

    # -- changing settings -----------------------------------------------------------

    def save_settings(
        self,
        name: str,
        *,
        client_id: str,
        login_url: str,
        scopes: str,
        client_secret: str | None = None,
        callback_url: str | None = None,
    ) -> ConnectionRecord:
        """Create or update a connection's settings.

        `client_secret=None` keeps the stored secret, unless the login host changes: a
        secret entered for one host must never be sent to another, so it is forgotten
        then. Changing the client id or the login host forgets the tokens and pending
        sign-ins too: they belong to the other app or org.
        """
        validate_connection_name(name)
        now = time.time()
        sealed = self._box.seal(client_secret) if client_secret else None

        def change(db: sqlite3.Connection) -> None:
            row = db.execute("SELECT * FROM connections WHERE name = ?", (name,)).fetchone()
            if row is None:
                # No secret is a public client (PKCE only): ready to authorize as well.
                state = "ready" if client_id else "not_configured"
                message = _settings_message(state)
                db.execute(
                    "INSERT INTO connections (name, client_id, client_secret, login_url, scopes,"
                    " state, message, callback_url, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        name,
                        client_id,
                        sealed,
                        login_url,
                        scopes,
                        state,
                        message,
                        callback_url or "",
                        now,
                    ),
                )
                return
            host_changed = row["login_url"] != login_url
            app_changed = row["client_id"] != client_id or host_changed
            forgot_secret = sealed is None and host_changed and row["client_secret"] is not None
            secret = sealed
            if secret is None and not host_changed:
                secret = row["client_secret"]
            has_tokens = (
                db.execute("SELECT 1 FROM tokens WHERE name = ?", (name,)).fetchone() is not None
            )
            if app_changed and has_tokens:
                db.execute("DELETE FROM tokens WHERE name = ?", (name,))
                has_tokens = False
            if app_changed:
                db.execute("DELETE FROM pending WHERE name = ?", (name,))
                db.execute("DELETE FROM checks WHERE name = ?", (name,))
            state, message = row["state"], row["message"]
            if not has_tokens:
                # A secret forgotten with its login host must be entered again (saving the
                # settings once more without one continues as a public client).
                state = "ready" if client_id and not forgot_secret else "not_configured"
                message = _HOST_CHANGED_MESSAGE if forgot_secret else _settings_message(state)
            db.execute(
                "UPDATE connections SET client_id = ?, client_secret = ?, login_url = ?,"
                " scopes = ?, state = ?, message = ?, callback_url = COALESCE(?, callback_url),"
                " updated_at = ? WHERE name = ?",
                (client_id, secret, login_url, scopes, state, message, callback_url, now, name),
            )

        self._write(change)
        return self.get_connection(name)

    def set_callback_url(self, name: str, callback_url: str) -> None:
        self._write(
            lambda db: db.execute(
                "UPDATE connections SET callback_url = ? WHERE name = ?", (callback_url, name)
            )
        )

    def delete_connection(self, name: str) -> bool:
        def change(db: sqlite3.Connection) -> bool:
            db.execute("DELETE FROM pending WHERE name = ?", (name,))
            db.execute("DELETE FROM tokens WHERE name = ?", (name,))
            db.execute("DELETE FROM checks WHERE name = ?", (name,))
            return db.execute("DELETE FROM connections WHERE name = ?", (name,)).rowcount > 0

        return self._write(change)

    # -- pending authorizations --------------------------------------------------------

    def create_pending(
        self,
        name: str,
        *,
        code_verifier: str,
        redirect_uri: str = "",
        ttl: float = STATE_TTL_SECONDS,
    ) -> PendingAuthorization:
        """Start an authorization: a fresh unguessable state, the connection `waiting`."""
        state = secrets.token_urlsafe(32)
        now = time.time()
        sealed = self._box.seal(code_verifier)

        def change(db: sqlite3.Connection) -> None:
            row = db.execute(
                "SELECT client_id, client_secret FROM connections WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                raise ConnectionNotFound(name)
            # One live authorization per connection: an older link stops working.
            db.execute("DELETE FROM pending WHERE name = ? AND used_at IS NULL", (name,))
            db.execute("DELETE FROM pending WHERE expires_at < ?", (now - ttl,))
            db.execute(
                "INSERT INTO pending (state, name, code_verifier, redirect_uri, created_at,"
                " expires_at) VALUES (?,?,?,?,?,?)",
                (state, name, sealed, redirect_uri, now, now + ttl),
            )
            db.execute(
                "UPDATE connections SET state = 'waiting', message = ?, updated_at = ?"
                " WHERE name = ?",
                (
                    "Waiting for you to sign in to Salesforce and allow access in the "
                    "window that opened.",
                    now,
                    name,
                ),
            )

        self._write(change)
        pending = self.get_pending(state)
        assert pending is not None
        return pending

    def set_pending_redirect(self, state: str, redirect_uri: str) -> None:
        self._write(
            lambda db: db.execute(
                "UPDATE pending SET redirect_uri = ? WHERE state = ? AND used_at IS NULL",
                (redirect_uri, state),
            )
        )

    def claim_pending(self, state: str, *, now: float | None = None) -> PendingAuthorization:
        """Take a pending authorization for its one use; raise if it cannot be used.

        Unknown states change nothing. A known state is marked used before anything else
        happens, so a replay racing the first callback is refused too.
        """
        at = time.time() if now is None else now

        def change(db: sqlite3.Connection) -> sqlite3.Row:
            row = db.execute("SELECT * FROM pending WHERE state = ?", (state,)).fetchone()
            if row is None:
                raise AuthorizationStateError(_STATE_UNKNOWN, reason="unknown")
            if row["used_at"] is not None:
                raise AuthorizationStateError(_STATE_USED, reason="used")
            if row["expires_at"] <= at:
                raise AuthorizationStateError(
                    _expired_message(row["expires_at"] - row["created_at"]), reason="expired"
                )
            db.execute("UPDATE pending SET used_at = ? WHERE state = ?", (at, state))
            claimed: sqlite3.Row = row
            return claimed

        row = self._write(change)
        return self._pending(row)

    def check_pending(self, state: str, *, now: float | None = None) -> PendingAuthorization:
        """Like :meth:`claim_pending` without using it up (for the start handler)."""
        at = time.time() if now is None else now
        pending = self.get_pending(state)
        if pending is None:
            raise AuthorizationStateError(_STATE_UNKNOWN, reason="unknown")
        if pending.used_at is not None:
            raise AuthorizationStateError(_STATE_USED, reason="used")
        if pending.expires_at <= at:
            raise AuthorizationStateError(
                _expired_message(pending.expires_at - pending.created_at), reason="expired"
            )
        return pending

    def sweep_expired(self, *, now: float | None = None, keep_used_for: float = 3600.0) -> int:
        """Forget expired pending authorizations (and used ones after an hour)."""
        at = time.time() if now is None else now
        return self._write(
            lambda db: (
                db.execute(
                    "DELETE FROM pending WHERE (used_at IS NULL AND expires_at <= ?)"
                    " OR (used_at IS NOT NULL AND used_at <= ?)",
                    (at, at - keep_used_for),
                ).rowcount
            )
        )

    def count_pending(self) -> int:
        return int(self._read(lambda db: db.execute("SELECT COUNT(*) FROM pending").fetchone()[0]))

    # -- outcomes --------------------------------------------------------------------

    def record_authorized(
        self,
        name: str,
        *,
        access_token: str,
        refresh_token: str | None,
        instance_url: str,
        issued_at: str,
        identity: dict[str, str],
        callback_url: str = "",
    ) -> ConnectionRecord:
        now = time.time()
        username = identity.get("username", "")
        org_name = identity.get("organization_name", "")
        org_text = f" ({org_name})" if org_name else ""
        message = f"Connected as {username}{org_text} on {instance_url}."

        def change(db: sqlite3.Connection) -> None:
            if db.execute("SELECT 1 FROM connections WHERE name = ?", (name,)).fetchone() is None:
                raise ConnectionNotFound(name)
            db.execute(
                "INSERT INTO tokens (name, access_token, refresh_token, instance_url, issued_at,"
                " generation) VALUES (?,?,?,?,?,1) ON CONFLICT(name) DO UPDATE SET"
                " access_token = excluded.access_token, refresh_token = excluded.refresh_token,"
                " instance_url = excluded.instance_url, issued_at = excluded.issued_at,"
                " generation = tokens.generation + 1",
                (
                    name,
                    self._box.seal(access_token),
                    self._box.seal(refresh_token),
                    instance_url,
                    issued_at,
                ),
            )
            db.execute(
                "UPDATE connections SET state = 'connected', message = ?, instance_url = ?,"
                " username = ?, display_name = ?, email = ?, organization_id = ?,"
                " organization_name = ?, user_id = ?, identity_url = ?, authorized_at = ?,"
                " callback_url = CASE WHEN ? != '' THEN ? ELSE callback_url END,"
                " updated_at = ? WHERE name = ?",
                (
                    message,
                    instance_url,
                    username,
                    identity.get("display_name", ""),
                    identity.get("email", ""),
                    identity.get("organization_id", ""),
                    org_name,
                    identity.get("user_id", ""),
                    identity.get("identity_url", ""),
                    now,
                    callback_url,
                    callback_url,
                    now,
                    name,
                ),
            )
            # The authorization just asked Salesforce who the user is with the new token:
            # that is a check, and it passed.
            _set_check(db, name, "connected", "", now, 0.0)

        self._write(change)
        return self.get_connection(name)

    def record_failure(self, name: str, message: str) -> ConnectionRecord | None:
        """An authorization attempt failed. A connection that has working tokens keeps
        them and stays connected; the message says the last attempt failed."""
        now = time.time()

        def change(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "SELECT c.username, t.name IS NOT NULL AS has_tokens FROM connections c"
                " LEFT JOIN tokens t ON t.name = c.name WHERE c.name = ?",
                (name,),
            ).fetchone()
            if row is None:
                return False
            if row["has_tokens"]:
                state = "connected"
                text = (
                    f"Connected as {row['username']}; the last authorization attempt failed: "
                    f"{message}"
                )
            else:
                state, text = "error", message
            db.execute(
                "UPDATE connections SET state = ?, message = ?, updated_at = ? WHERE name = ?",
                (state, text, now, name),
            )
            return True

        return self.get_connection(name) if self._write(change) else None

    def replace_tokens(
        self,
        name: str,
        *,
        access_token: str,
        refresh_token: str | None,
        instance_url: str,
        issued_at: str,
    ) -> StoredTokens:
        """Store a refreshed access token (and a rotated refresh token, if one came)."""
        now = time.time()

        def change(db: sqlite3.Connection) -> None:
            cursor = db.execute(
                "UPDATE tokens SET access_token = ?,"
                " refresh_token = COALESCE(?, refresh_token), instance_url = ?, issued_at = ?,"
                " generation = generation + 1 WHERE name = ?",
                (
                    self._box.seal(access_token),
                    self._box.seal(refresh_token),
                    instance_url,
                    issued_at,
                    name,
                ),
            )
            if cursor.rowcount == 0:
                raise ConnectionNotFound(name)
            db.execute(
                "UPDATE connections SET instance_url = ?, updated_at = ?,"
                " state = CASE WHEN state IN ('error', 'reauthorization_required')"
                " THEN 'connected' ELSE state END WHERE name = ?",
                (instance_url, now, name),
            )

        self._write(change)
        tokens = self.get_tokens(name)
        assert tokens is not None
        return tokens

    def mark_reauthorization_required(self, name: str, message: str) -> None:
        now = time.time()

        def change(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM tokens WHERE name = ?", (name,))
            cursor = db.execute(
                "UPDATE connections SET state = 'reauthorization_required', message = ?,"
                " updated_at = ? WHERE name = ?",
                (message, now, name),
            )
            if cursor.rowcount:
                _set_check(db, name, "reauthorization_required", message, now, 0.0)

        self._write(change)

    def forget_tokens(self, name: str) -> None:
        """Drop the tokens (after a disconnect); the settings stay."""
        now = time.time()

        def change(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM tokens WHERE name = ?", (name,))
            db.execute("DELETE FROM pending WHERE name = ?", (name,))
            db.execute("DELETE FROM checks WHERE name = ?", (name,))
            db.execute(
                "UPDATE connections SET state = CASE WHEN client_id != '' THEN 'ready'"
                " ELSE 'not_configured' END,"
                " message = 'Disconnected. Click Authorize to connect again.',"
                " username = '', display_name = '', email = '', organization_id = '',"
                " organization_name = '', user_id = '', identity_url = '', instance_url = '',"
                " authorized_at = NULL, updated_at = ? WHERE name = ?",
                (now, name),
            )

        self._write(change)

    # -- checks against Salesforce (schema 4) -------------------------------------------

    def claim_check(
        self, name: str, *, max_age: float, in_flight_for: float, now: float | None = None
    ) -> CheckClaim:
        """May the caller check `name` against Salesforce now? Yes unless a result is
        younger than `max_age` seconds or another caller (any process) began a check
        less than `in_flight_for` seconds ago; a yes marks the check begun, in the same
        transaction, so that of many views only one checks. `ConnectionNotFound` if the
        connection is gone. The claim moves no `revision`: nothing to show yet."""
        at = time.time() if now is None else now

        def change(db: sqlite3.Connection) -> bool:
            if db.execute("SELECT 1 FROM connections WHERE name = ?", (name,)).fetchone() is None:
                raise ConnectionNotFound(name)
            row = db.execute(
                "SELECT checked_at, started_at FROM checks WHERE name = ?", (name,)
            ).fetchone()
            if row is not None:
                if row["checked_at"] is not None and at - row["checked_at"] < max_age:
                    return False
                if row["started_at"] is not None and at - row["started_at"] < in_flight_for:
                    return False
            db.execute(
                "INSERT INTO checks (name, started_at) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET started_at = excluded.started_at",
                (name, at),
            )
            return True

        claimed = self._write(change, bump=False)
        return CheckClaim(claimed, self.get_connection(name))

    def record_check(
        self, name: str, outcome: str, reason: str = "", *, took_ms: float = 0.0
    ) -> ConnectionRecord | None:
        """Store what a check found (every view shows it); None if the connection was
        deleted meanwhile. ``reauthorization_required`` is recorded by
        `mark_reauthorization_required`, which the refresh that found it calls."""
        if outcome not in CHECK_OUTCOMES:
            raise ValueError(f"unknown check outcome {outcome!r}; one of {CHECK_OUTCOMES}")
        now = time.time()

        def change(db: sqlite3.Connection) -> bool:
            if db.execute("SELECT 1 FROM connections WHERE name = ?", (name,)).fetchone() is None:
                return False
            _set_check(db, name, outcome, reason, now, took_ms)
            return True

        return self.get_connection(name) if self._write(change) else None

    def release_check(self, name: str) -> None:
        """A claimed check ended without a result (the caller failed): let the next
        caller check at once instead of waiting for the claim to lapse."""
        self._write(
            lambda db: db.execute("UPDATE checks SET started_at = NULL WHERE name = ?", (name,)),
            bump=False,
        )

    # -- connections an administrator configured (schema 4) -----------------------------

    def apply_preset(self, name: str, preset: PresetSettings) -> str:
        """Create or update the preset connection `name`; what happened: ``created``,
        ``updated``, ``unchanged``, or ``skipped`` (a connection of the user's own has
        that name: it is left alone). Idempotent: applying the same preset again changes
        nothing, not even `revision`. A new app (client id or login host) forgets the
        tokens, as `save_settings` does; a changed secret or scopes keep them."""
        validate_connection_name(name)
        now = time.time()

        def change(db: sqlite3.Connection) -> str:
            row = db.execute("SELECT * FROM connections WHERE name = ?", (name,)).fetchone()
            state = "ready" if preset.client_id else "not_configured"
            if row is None:
                db.execute(
                    "INSERT INTO connections (name, client_id, client_secret, login_url, scopes,"
                    " state, message, updated_at, preset) VALUES (?,?,?,?,?,?,?,?,1)",
                    (
                        name,
                        preset.client_id,
                        self._box.seal(preset.client_secret),
                        preset.login_url,
                        preset.scopes,
                        state,
                        _PRESET_READY if state == "ready" else _settings_message(state),
                        now,
                    ),
                )
                return "created"
            if not row["preset"]:
                return "skipped"
            if self._preset_matches(row, preset):
                return "unchanged"
            app_changed = (
                row["client_id"] != preset.client_id or row["login_url"] != preset.login_url
            )
            if app_changed:
                for table in ("tokens", "pending", "checks"):
                    db.execute(f"DELETE FROM {table} WHERE name = ?", (name,))  # noqa: S608
            has_tokens = (
                db.execute("SELECT 1 FROM tokens WHERE name = ?", (name,)).fetchone() is not None
            )
            new_state, message = row["state"], row["message"]
            if not has_tokens:
                new_state = state
                message = _PRESET_READY if state == "ready" else _settings_message(state)
            db.execute(
                "UPDATE connections SET client_id = ?, client_secret = ?, login_url = ?,"
                " scopes = ?, state = ?, message = ?, updated_at = ? WHERE name = ?",
                (
                    preset.client_id,
                    self._box.seal(preset.client_secret),
                    preset.login_url,
                    preset.scopes,
                    new_state,
                    message,
                    now,
                    name,
                ),
            )
            return "updated"

        def unchanged(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT * FROM connections WHERE name = ?", (name,)).fetchone()
            if row is None:
                return None
            if not row["preset"]:
                return "skipped"
            return "unchanged" if self._preset_matches(row, preset) else None

        # A restart that changes nothing writes nothing (and wakes no watcher).
        answer = self._read(unchanged)
        if answer is not None:
            return answer
        return self._write(change)

    def _preset_matches(self, row: sqlite3.Row, preset: PresetSettings) -> bool:
        return bool(
            row["client_id"] == preset.client_id
            and row["login_url"] == preset.login_url
            and row["scopes"] == preset.scopes
            and self._box.open(row["client_secret"]) == preset.client_secret
        )

    def retire_presets(self, keep: Iterable[str]) -> list[str]:
        """Preset connections the administrator no longer configures (not in `keep`)
        become ordinary connections of the user, tokens and all; their names."""
        kept = set(keep)

        def gone(db: sqlite3.Connection) -> list[str]:
            rows = db.execute("SELECT name FROM connections WHERE preset != 0").fetchall()
            return sorted(row[0] for row in rows if row[0] not in kept)

        names = self._read(gone)
        if not names:
            return []

        def change(db: sqlite3.Connection) -> list[str]:
            for each in names:
                db.execute("UPDATE connections SET preset = 0 WHERE name = ?", (each,))
            return names

        return self._write(change)

    # -- the cross-process refresh lock ------------------------------------------------

    @contextlib.contextmanager
    def refresh_lock(self, name: str, *, timeout: float | None = None) -> Iterator[None]:
        """Held while refreshing `name`, by one thread of one process at a time.

        A `filelock.FileLock` on a lock file beside the store (flock on Linux and macOS,
        LockFileEx on Windows): released by the OS if the holder dies. A new lock object
        per acquisition, so it opens its own handle and excludes other threads of this
        process too (one FileLock object is re-entrant within its thread).
        """
        limit = self.timeout if timeout is None else timeout
        lock_path = self.path.with_name(self.path.name + ".lock")
        lock = filelock.FileLock(str(lock_path), timeout=limit, mode=0o600)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise StoreLockedError(
                f"Another process has been refreshing the connection {name!r} for "
                f"more than {limit:g} s (lock {lock_path}). Try again.",
                path=str(lock_path),
            ) from None
        try:
            yield
        finally:
            lock.release()

    # -- Pub/Sub API replay positions (schema 3) ----------------------------------------

    def get_replay_id(
        self, name: str, topic: str, *, organization_id: str | None = None
    ) -> bytes | None:
        """The last replay id stored for `topic` on connection `name`, or None.

        With `organization_id`, a replay id stored for another org (the connection was
        authorized again, elsewhere) counts as none.
        """
        row = self._read(
            lambda db: db.execute(
                "SELECT replay_id, organization_id FROM replay_positions"
                " WHERE name = ? AND topic = ?",
                (name, topic),
            ).fetchone()
        )
        if row is None:
            return None
        if organization_id is not None and row["organization_id"] != organization_id:
            return None
        return bytes(row["replay_id"])

    def set_replay_id(
        self, name: str, topic: str, replay_id: bytes, *, organization_id: str = ""
    ) -> None:
        """Remember where a subscription to `topic` on connection `name` got to.

        One statement, its own transaction. It does not move :meth:`revision`: a replay
        id changes with every event, and the connection's watchers need not wake.
        """
        now = time.time()
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO replay_positions (name, topic, organization_id, replay_id,"
                    " updated_at) VALUES (?,?,?,?,?) ON CONFLICT(name, topic) DO UPDATE SET"
                    " organization_id = excluded.organization_id,"
                    " replay_id = excluded.replay_id, updated_at = excluded.updated_at",
                    (name, topic, organization_id, bytes(replay_id), now),
                )
            except sqlite3.IntegrityError:
                raise ConnectionNotFound(name) from None
            except sqlite3.DatabaseError as exc:
                raise self._translate(exc) from exc

    def forget_replay_ids(self, name: str, topic: str | None = None) -> int:
        """Drop the stored replay ids of connection `name` (of one `topic`); how many."""
        sql = "DELETE FROM replay_positions WHERE name = ?"
        args: tuple[str, ...] = (name,)
        if topic is not None:
            sql, args = sql + " AND topic = ?", (name, topic)
        return self._write(lambda db: db.execute(sql, args).rowcount)


_STATE_UNKNOWN = (
    "This sign-in link is not known to this Jupyter server. It may belong to another "
    "server or user, or the connection was deleted. Start again with Authorize."
)
_STATE_USED = (
    "This sign-in link was already used. Each link works once; click Authorize to start again."
)


def _duration(seconds: float) -> str:
    """``2 minutes``, ``90 seconds``, ``1 hour``: a sign-in link's lifetime, as said."""
    total = max(1, round(seconds))
    for unit, size in (("hour", 3600), ("minute", 60)):
        if total >= size and total % size == 0:
            count = total // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{total} second{'s' if total != 1 else ''}"


def _expired_message(ttl: float) -> str:
    """What an expired sign-in link says: the lifetime it was made with (the server's
    ``c.SalesforceOAuth.state_ttl``, or the kernel's copy of it)."""
    return (
        f"This sign-in link has expired (links stop working after {_duration(ttl)}). "
        "Click Authorize to start again."
    )


_HOST_CHANGED_MESSAGE = (
    "The login host changed, so the Client Secret stored for the previous host was "
    "forgotten (a secret is only ever sent to the host it was entered for). Enter the "
    "Client Secret again."
)


_PRESET_READY = (
    "Ready to authorize: your administrator set this connection up; click Authorize and "
    "sign in to Salesforce."
)


def _set_check(
    db: sqlite3.Connection, name: str, outcome: str, reason: str, at: float, took_ms: float
) -> None:
    """The last check of `name` is `outcome` (at `at`); no check is in flight any more."""
    db.execute(
        "INSERT INTO checks (name, outcome, reason, checked_at, started_at, took_ms)"
        " VALUES (?,?,?,?,NULL,?) ON CONFLICT(name) DO UPDATE SET outcome = excluded.outcome,"
        " reason = excluded.reason, checked_at = excluded.checked_at, started_at = NULL,"
        " took_ms = excluded.took_ms",
        (name, outcome, reason, at, took_ms),
    )


def _settings_message(state: str) -> str:
    if state == "ready":
        return "Ready to authorize: click Authorize and sign in to Salesforce."
    return (
        "Not configured: enter the Client ID of your Salesforce app, and its Client Secret "
        "unless the app is a public client (PKCE only)."
    )
