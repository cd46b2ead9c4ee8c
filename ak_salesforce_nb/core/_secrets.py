"""Encryption at rest for client secrets and tokens.

Values are sealed with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`). The key
lives in the OS keyring when a real keyring backend is usable, else in a 0600 key file
beside the store. The key never enters the store file, so a copied store alone is useless.

The store, its folder and the key file must be private to the user. On POSIX systems
(Linux, macOS) that is their mode (0700 folder, 0600 files), checked on every open. On
Windows, file modes say nothing about other users (``st_mode`` shows every file as 0o666
and every folder as 0o777): access is governed by the ACLs of the user's profile folder,
where the Jupyter data directory lives, so the mode check does not apply there.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from . import _environment as environment
from ._exceptions import StoreError, StorePermissionError

__all__ = ["POSIX_MODES", "SecretBox", "check_private", "load_or_create_key"]

_KEYRING_SERVICE = "ak_salesforce_nb"

#: Whether file modes tell who can read a file (POSIX), so that they are checked.
POSIX_MODES = os.name == "posix"


def check_private(path: Path, *, is_dir: bool) -> None:
    """Refuse `path` if other users could read it (where modes mean that: `POSIX_MODES`).

    A missing path passes: it is about to be created private.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    except PermissionError as exc:
        raise StorePermissionError(
            f"Cannot read {path}: permission denied.", path=str(path)
        ) from exc
    if POSIX_MODES and mode & (stat.S_IRWXG | stat.S_IRWXO):
        wanted = "700" if is_dir else "600"
        what = (
            "The Salesforce connection store's key file"
            if path.name.endswith(".key")
            else "The Salesforce connection store"
        )
        raise StorePermissionError(
            f"{what} {path} is open to other users (mode {oct(mode & 0o777)}); it holds "
            f"secrets. Run: chmod {wanted} {path}",
            path=str(path),
        )


def _keyring_usable() -> bool:
    if not environment.keyring_enabled():
        return False
    try:
        import keyring  # type: ignore[import-not-found,unused-ignore]
        from keyring.backends import fail  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return False
    try:
        backend = keyring.get_keyring()
        priority = float(getattr(backend, "priority", 0))
    except Exception:  # a broken keyring setup must not stop the product
        return False
    return not isinstance(backend, fail.Keyring) and priority >= 1


def _read_key_file(path: Path) -> bytes | None:
    check_private(path, is_dir=False)
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        return None


def load_or_create_key(store_path: Path) -> bytes:
    """The store's Fernet key: from the keyring, else from `<store>.key`, created if new."""
    key_path = store_path.with_name(store_path.name + ".key")
    account = str(store_path)
    if _keyring_usable():
        import keyring

        with contextlib.suppress(Exception):
            existing = keyring.get_password(_KEYRING_SERVICE, account)
            if existing:
                return str(existing).encode()
            file_key = _read_key_file(key_path)
            key = file_key or Fernet.generate_key()
            keyring.set_password(_KEYRING_SERVICE, account, key.decode())
            if keyring.get_password(_KEYRING_SERVICE, account) == key.decode():
                return key
    existing_key = _read_key_file(key_path)
    if existing_key:
        return existing_key
    return _publish_new_key(key_path)


def _publish_new_key(key_path: Path) -> bytes:
    """Create `key_path` with a new key, or read the one another process created first.

    The key is written to a private temporary file and then hard-linked to its name, which
    fails if the name exists: the file appears whole or not at all, so a process that
    loses the race never reads a half-written (empty) key file.
    """
    key = Fernet.generate_key()
    fd, temporary = tempfile.mkstemp(prefix=key_path.name + ".", dir=key_path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.chmod(temporary, 0o600)  # mkstemp's default, said again for the reader
            handle.write(key + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, key_path)
        except FileExistsError:
            existing = _read_key_file(key_path)
            if not existing:
                raise StoreError(
                    f"The key file {key_path} is empty: delete it (the store's secrets "
                    "cannot be read without it, so authorize the connections again).",
                    path=str(key_path),
                ) from None
            return existing
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
    return key


class SecretBox:
    """Seals and opens secret strings with the store's key."""

    def __init__(self, key: bytes, *, store_path: str) -> None:
        self._fernet = Fernet(key)
        self._store_path = store_path

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def seal(self, value: str | None) -> bytes | None:
        if value is None:
            return None
        return self._fernet.encrypt(value.encode())

    def open(self, sealed: bytes | None) -> str | None:
        if sealed is None:
            return None
        try:
            return self._fernet.decrypt(bytes(sealed)).decode()
        except InvalidToken:
            raise StoreError(
                f"The secrets in {self._store_path} cannot be decrypted with this machine's key "
                "(the key file or keyring entry changed). Delete the connection and authorize "
                "it again.",
                path=self._store_path,
            ) from None
