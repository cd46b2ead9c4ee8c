"""The connect form's badge tells the truth: it checks the connection against Salesforce
(the emulator) in the background while it is shown, without any cell running, and never
makes the kernel wait for it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.emulator import EmulatorConfig, start_emulator
from ak_salesforce_nb.kernel._cards import checked_ago, connection_card
from ak_salesforce_nb.kernel._health import check_in_background
from tests.badge.helpers import badge, badge_text, connected_form, until
from tests.conftest import Flow


async def test_revoked_token_turns_the_form_to_reauthorization_required(
    flow: Flow, store_path: Path
) -> None:
    form = await connected_form(flow, check_interval=1.0)
    try:
        # Authorizing asked Salesforce who the user is: that was a check, and it passed.
        assert badge(form) == "connected"
        assert "checked just now" in badge_text(form)
        flow.emu.revoke_refresh_tokens()  # an admin revokes the app in Salesforce
        took = await until(lambda: badge(form) == "reauthorization_required", timeout=15)
        # The check runs every second, at most once per 5 s per connection: seconds.
        assert took < 8, took
        assert "must be authorized again" in form.status.value
        assert form.authorize_button.description == "Authorize"
        # Recorded in the store, so every view agrees; the side panel's API says so too.
        assert ConnectionStore(store_path).get_connection("prod").state == (
            "reauthorization_required"
        )
        assert (await flow.get("prod"))["state"] == "reauthorization_required"
        # A form opened now shows it at once.
        other = aksf.connect("prod", enhanced=False)
        assert badge(other) == "reauthorization_required"
        other.close()
    finally:
        form.close()


async def test_checks_repeat_while_shown_and_are_shared(flow: Flow, store_path: Path) -> None:
    """Three views of one connection (two forms here, a third process's store handle)
    check it at most once per 5 s together, and each badge says how long ago."""
    form = await connected_form(flow, check_interval=1.0)
    second = aksf.connect("prod", enhanced=False, check_interval=1.0)
    try:
        before = flow.emu.stats["userinfo_requests"]
        first_checked = form.record.checked_at
        await until(lambda: (form.record.checked_at or 0) > (first_checked or 0), timeout=10)
        assert badge(form) == "connected"
        await asyncio.sleep(6.5)
        asked = flow.emu.stats["userinfo_requests"] - before
        # ~11.5 s since the authorization's own check: two or three checks, never one per
        # view and tick (that would be about 20).
        assert 1 <= asked <= 3, asked
        assert badge(second) == "connected"
        assert "checked" in badge_text(second)
    finally:
        form.close()
        second.close()


async def test_form_without_checking_trusts_only_its_test_button(flow: Flow) -> None:
    form = await connected_form(flow, check_interval=None)
    try:
        before = flow.emu.stats["userinfo_requests"]
        await asyncio.sleep(1.5)
        assert flow.emu.stats["userinfo_requests"] == before  # nothing in the background
        # Within 5 s of the last check (by anybody), a Test reuses its result.
        store = form.store
        store._write(
            lambda db: db.execute(
                "UPDATE checks SET checked_at = ? WHERE name = 'prod'", (time.time() - 1,)
            )
        )
        text = form.test()  # the scripted Test
        assert text.startswith("Test passed: Salesforce accepted"), text
        assert flow.emu.stats["userinfo_requests"] == before
        # Past the floor, it asks Salesforce.
        store._write(
            lambda db: db.execute(
                "UPDATE checks SET checked_at = ? WHERE name = 'prod'", (time.time() - 6,)
            )
        )
        text = form.test()
        assert text.startswith("Test passed in"), text
        assert flow.emu.stats["userinfo_requests"] == before + 1
    finally:
        form.close()


async def test_test_button_shows_its_result_in_the_badge(flow: Flow) -> None:
    form = await connected_form(flow, check_interval=None)
    try:
        await asyncio.sleep(5.2)  # past the 5 s floor: the Test asks Salesforce itself
        before = flow.emu.stats["userinfo_requests"]
        form.test_button.click()
        # At once: the badge says it is checking; the kernel did not wait.
        assert badge(form) == "checking"
        await until(lambda: badge(form) == "connected", timeout=10)
        assert flow.emu.stats["userinfo_requests"] == before + 1
        assert "checked just now" in badge_text(form)
        assert "Test passed in" in form.details.value

        flow.emu.revoke_refresh_tokens()
        await asyncio.sleep(5.2)
        form.test_button.click()
        await until(lambda: badge(form) == "reauthorization_required", timeout=10)
        assert "Test failed" in form.details.value
        assert "must be authorized again" in form.details.value
    finally:
        form.close()


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """A loopback port that accepts connections and never answers (a hung Salesforce)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(sock.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for each in accepted:
            each.close()
        sock.close()


def connect_at(store: ConnectionStore, name: str, instance_url: str) -> None:
    """A connection whose tokens say Salesforce lives at `instance_url`."""
    store.save_settings(
        name, client_id="demo-client-id", client_secret="s", login_url=instance_url, scopes="api"
    )
    store.record_authorized(
        name,
        access_token="access-token-value",
        refresh_token="refresh-token-value",
        instance_url=instance_url,
        issued_at="1",
        identity={"username": "ada@example.com"},
    )
    # The authorization's own check is long past: the form must check again.
    store._write(lambda db: db.execute("UPDATE checks SET checked_at = 1 WHERE name = ?", (name,)))


async def test_a_hanging_salesforce_never_blocks_the_kernel(flow: Flow, store_path: Path) -> None:
    store = ConnectionStore(store_path)
    with silent_server() as url:
        connect_at(store, "hung", url)
        form = aksf.connect("hung", enhanced=False, check_interval=1.0, check_timeout=1.5)
        try:
            assert badge(form) == "checking"  # the stored "connected" is not vouched for
            # While the check hangs, the loop (the kernel) keeps turning freely.
            started = time.monotonic()
            lags = []
            while time.monotonic() - started < 1.0:
                tick = time.monotonic()
                await asyncio.sleep(0.01)
                lags.append(time.monotonic() - tick)
            assert max(lags) < 0.3, max(lags)
            assert form.health.in_flight()
            form.render()  # the form still works
            await until(lambda: badge(form) == "unreachable", timeout=10)
            assert "did not answer within 1.5 seconds" in form.status.value
            assert store.get_connection("hung").check_outcome == "unreachable"
            # The authorization is kept: unreachable is not revoked.
            assert store.get_tokens("hung") is not None
        finally:
            form.close()


async def test_an_emulator_that_is_down_shows_unreachable(jp_fetch: Any, store_path: Path) -> None:
    private = start_emulator(EmulatorConfig(accounts=10, auto_approve=True))
    try:
        flow = Flow(jp_fetch, private)
        form = await connected_form(flow, "gone", check_interval=1.0)
    finally:
        private.stop()
    try:
        await until(lambda: badge(form) == "unreachable", timeout=15)
        assert "refused the connection" in form.status.value
        assert "127.0.0.1" in form.status.value
        assert form.state == "connected"  # the store keeps the authorization
        # The side panel's API shows the same finding.
        record = await flow.get("gone")
        assert record["check_outcome"] == "unreachable"
        assert "refused" in record["check_reason"]
    finally:
        form.close()


@pytest.mark.parametrize("seconds", [0, 4.9, 5, 12, 59, 60, 150, 7200, 90_000, 200_000])
def test_checked_ago_moves_in_steps(seconds: float) -> None:
    expected = {
        0: "just now",
        4.9: "just now",
        5: "5 s ago",
        12: "10 s ago",
        59: "55 s ago",
        60: "1 min ago",
        150: "2 min ago",
        7200: "2 h ago",
        90_000: "1 day ago",
        200_000: "2 days ago",
    }
    assert checked_ago(seconds) == expected[seconds]


async def test_a_card_drawn_once_can_start_a_check(flow: Flow, store_path: Path) -> None:
    """`check_in_background` (for a session's card): a check only when one is due."""
    await flow.connect("prod")
    store = ConnectionStore(store_path)
    assert not check_in_background(store, "prod")  # the authorization just checked it
    store._write(lambda db: db.execute("UPDATE checks SET checked_at = checked_at - 120"))
    flow.emu.revoke_refresh_tokens()
    assert check_in_background(store, "prod")
    await until(lambda: store.get_connection("prod").state == "reauthorization_required")
    card = connection_card(store.get_connection("prod"))
    assert "reauthorization required" in card
