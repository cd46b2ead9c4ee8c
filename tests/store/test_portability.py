"""The store beyond Linux: no `fcntl` (Windows), file modes that mean nothing (Windows),
and the refresh lock across processes and threads, through `filelock`."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from ak_salesforce_nb.core import _secrets
from ak_salesforce_nb.core._environment import ENV_KEYRING
from ak_salesforce_nb.core._exceptions import StoreLockedError, StorePermissionError
from ak_salesforce_nb.core._store import ConnectionStore

REPO = Path(__file__).resolve().parents[2]

_WITHOUT_FCNTL = textwrap.dedent(
    """
    import importlib.abc
    import sys

    class NoFcntl(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "fcntl":
                raise ImportError("no fcntl here (as on Windows)")
            return None

    sys.meta_path.insert(0, NoFcntl())
    sys.modules.pop("fcntl", None)
    try:
        import fcntl
    except ImportError:
        pass
    else:
        raise SystemExit("fcntl could still be imported")

    import ak_salesforce_nb as aksf
    from ak_salesforce_nb.core._store import ConnectionStore

    store = ConnectionStore(sys.argv[1])
    store.save_settings(
        "prod",
        client_id="cid",
        client_secret="s3cret",
        login_url="https://login.salesforce.com",
        scopes="api",
    )
    other = ConnectionStore(sys.argv[1])
    with store.refresh_lock("prod", timeout=2):
        try:
            with other.refresh_lock("prod", timeout=0.2):
                raise SystemExit("the refresh lock was not exclusive")
        except aksf.StoreLockedError:
            pass
    with other.refresh_lock("prod", timeout=2):
        pass
    assert other.get_client_secret("prod") == "s3cret"
    assert "fcntl" not in sys.modules or sys.modules["fcntl"] is None
    print("ok", store.revision())
    """
)


def test_the_store_works_where_fcntl_cannot_be_imported(tmp_path: Path) -> None:
    """As on Windows: `import fcntl` fails. The package imports, a store opens, saves a
    connection, and its refresh lock is taken, excludes another holder, and is released."""
    env = {**os.environ, ENV_KEYRING: "off", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_FCNTL, str(tmp_path / "store" / "store.sqlite3")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok", "1"]


def test_file_modes_are_only_checked_where_they_mean_something(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Windows every file reports 0o666 and every folder 0o777, readable by all as far
    as the mode says: the store must open there (its privacy comes from the profile
    folder's ACLs). On POSIX, modes readable by others are refused."""
    path = tmp_path / "s" / "store.sqlite3"
    ConnectionStore(path).close()
    # Deliberately open to others, as Windows reports every file and folder.
    open_modes = {path.parent: 0o755, path: 0o644, Path(f"{path}.key"): 0o644}
    for name, mode in open_modes.items():
        os.chmod(name, mode)
    with pytest.raises(StorePermissionError):
        ConnectionStore(path)
    monkeypatch.setattr(_secrets, "POSIX_MODES", False)
    store = ConnectionStore(path)
    store.save_settings(
        "prod", client_id="c", login_url="https://login.salesforce.com", scopes="api"
    )
    assert store.get_connection("prod").state == "ready"  # no secret: a public client
    store.close()


def test_the_lock_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    store = ConnectionStore(path)
    with store.refresh_lock("prod"):
        pass
    lock = Path(f"{path}.lock")
    assert lock.exists() and (lock.stat().st_mode & 0o777) == 0o600
    store.close()


def _hold_refresh_lock(path: str, ready: object, seconds: float) -> None:
    store = ConnectionStore(path)
    with store.refresh_lock("prod"):
        ready.set()  # type: ignore[attr-defined]
        time.sleep(seconds)


def test_refresh_lock_across_processes_and_a_dead_holder(tmp_path: Path) -> None:
    """Another process holds the lock: we time out with a clear error naming the lock
    file. It is killed while holding it: the OS releases the lock, we get it at once."""
    path = tmp_path / "store.sqlite3"
    store = ConnectionStore(path)
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_refresh_lock, args=(str(path), ready, 60.0))
    holder.start()
    try:
        assert ready.wait(30)
        started = time.monotonic()
        with pytest.raises(StoreLockedError) as info, store.refresh_lock("prod", timeout=0.3):
            pass
        assert 0.25 <= time.monotonic() - started < 5
        message = str(info.value)
        assert "'prod'" in message and f"{path}.lock" in message and "0.3 s" in message
        assert holder.pid is not None
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(30)
    finally:
        if holder.is_alive():
            holder.kill()
            holder.join(30)
    started = time.monotonic()
    with store.refresh_lock("prod", timeout=5):
        pass
    assert time.monotonic() - started < 2
    store.close()


def test_refresh_lock_excludes_threads_of_one_process(tmp_path: Path) -> None:
    """Threads with one store (as a kernel's sessions share one) never overlap inside
    the lock: a read-modify-write under it loses no update."""
    store = ConnectionStore(tmp_path / "store.sqlite3")
    counter = {"value": 0, "inside": 0, "overlaps": 0}

    def bump() -> None:
        for _ in range(20):
            with store.refresh_lock("prod", timeout=30):
                counter["inside"] += 1
                if counter["inside"] > 1:
                    counter["overlaps"] += 1
                value = counter["value"]
                time.sleep(0.001)
                counter["value"] = value + 1
                counter["inside"] -= 1

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert counter == {"value": 80, "inside": 0, "overlaps": 0}
    store.close()


def test_processes_creating_the_key_at_once_agree_on_one(tmp_path: Path) -> None:
    """The key file appears whole or not at all: 8 processes racing to create it all get
    the same key, and none reads a half-written (empty) file."""
    folder = tmp_path / "store"
    folder.mkdir(mode=0o700)
    code = (
        "import sys, time\nfrom pathlib import Path\n"
        "from ak_salesforce_nb.core._secrets import load_or_create_key\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # all start together\n"
        "sys.stdout.write(load_or_create_key(Path(sys.argv[1])).decode())\n"
    )
    start = str(time.time() + 3.0)
    env = {**os.environ, ENV_KEYRING: "off"}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(folder / "store.sqlite3"), start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(8)
    ]
    results = [racer.communicate(timeout=60) for racer in racers]
    assert [racer.returncode for racer in racers] == [0] * 8, [err for _, err in results]
    keys = {out for out, _ in results}
    assert len(keys) == 1
    assert (folder / "store.sqlite3.key").read_text().strip() == keys.pop()
    assert sorted(p.name for p in folder.iterdir()) == ["store.sqlite3.key"]
