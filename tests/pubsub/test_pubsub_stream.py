"""Change events end to end: REST writes on the emulator, decoded events in the kernel.

A connection is authorized through the real Jupyter server and the emulator; the
session's REST calls make the changes; ``session.subscribe`` receives them over gRPC.
"""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path

import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.pubsub import Event, ReplayIdInvalid, Subscription, TopicNotFound
from tests.conftest import Flow

from .conftest import nothing_more, take

ACCOUNTS = "/data/AccountChangeEvent"


async def test_create_update_delete_arrive_decoded_in_order(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        sub = await sf.subscribe(ACCOUNTS).ready()
        assert isinstance(sub, Subscription)
        events = aiter(sub)
        accounts = sf.sobject("Account")
        record_id = accounts.create({"Name": "Pubsub One", "Phone": "555-0100"})
        accounts.update(record_id, {"Name": "Pubsub Two", "Industry": "Energy"})
        accounts.update(record_id, {"Phone": None})
        accounts.delete(record_id)
        created, renamed, nulled, deleted = await take(events, 4)
        await sub.stop()

    assert [e.change_type for e in (created, renamed, nulled, deleted)] == [
        "CREATE",
        "UPDATE",
        "UPDATE",
        "DELETE",
    ]
    for event in (created, renamed, nulled, deleted):
        assert event.entity == "Account"
        assert event.record_ids == (record_id,)
        assert event.topic == ACCOUNTS
        assert isinstance(event.commit_timestamp, datetime.datetime)
    replay_ids = [e.replay_id for e in (created, renamed, nulled, deleted)]
    assert replay_ids == sorted(replay_ids) and len(set(replay_ids)) == 4

    assert created["Name"] == "Pubsub One" and created["Phone"] == "555-0100"
    assert created.changed_fields == ()
    assert isinstance(created["CreatedDate"], datetime.datetime)

    assert set(renamed.changed_fields) == {"Name", "Industry", "LastModifiedDate"}
    assert renamed["Name"] == "Pubsub Two" and renamed["Industry"] == "Energy"
    assert "Phone" not in renamed

    assert "Phone" in nulled.changed_fields and nulled.nulled_fields == ("Phone",)
    assert nulled["Phone"] is None

    assert dict(deleted) == {}
    assert sub.counts[("Account", "UPDATE")] == 2
    frame = sub.to_dataframe()
    assert list(frame["change_type"]) == ["CREATE", "UPDATE", "UPDATE", "DELETE"]
    assert frame.loc[1, "Name"] == "Pubsub Two"
    assert str(frame["commit_timestamp"].dtype).startswith("datetime64")


async def test_entity_topic_filters_and_all_changes_topic_mixes(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        accounts_only = await sf.subscribe(ACCOUNTS).ready()
        everything = await sf.subscribe("/data/ChangeEvents").ready()
        contact_id = sf.sobject("Contact").create({"LastName": "Lovelace"})
        account_id = sf.sobject("Account").create({"Name": "Mixed Co"})
        mixed = await take(aiter(everything), 2)
        only_account = aiter(accounts_only)
        only = await take(only_account, 1)
        await nothing_more(only_account)
        await accounts_only.stop()
        await everything.stop()
    assert [(e.entity, e.record_id) for e in mixed] == [
        ("Contact", contact_id),
        ("Account", account_id),
    ]
    assert only[0].record_id == account_id


async def test_stop_and_resume_loses_nothing_repeats_nothing(
    flow: Flow, capsys: pytest.CaptureFixture[str]
) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        accounts = sf.sobject("Account")
        first = await sf.subscribe(ACCOUNTS).ready()
        ids = [accounts.create({"Name": f"Resume {n}"}) for n in range(2)]
        before = await take(aiter(first), 2)
        await first.stop()
        assert not first.running
        ids += [accounts.create({"Name": f"Resume {n}"}) for n in range(2, 5)]

    # A new session, as after a kernel restart: the position comes from the store.
    with aksf.session("prod") as again:
        capsys.readouterr()
        second = again.subscribe(ACCOUNTS)
        announced = capsys.readouterr().out
        resumed = aiter(second)
        after = await take(resumed, 3)
        await nothing_more(resumed, 0.3)
        await second.stop()
    last = before[-1].replay_id.hex()
    assert f"Resuming {ACCOUNTS} after replay id {last}" in announced
    assert [e.record_id for e in before + after] == ids
    assert len({e.replay_id for e in before + after}) == 5


async def test_stopped_subscription_without_events_resumes_from_its_position(
    flow: Flow,
) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        quiet = await sf.subscribe(ACCOUNTS).ready()
        # The first (keepalive) response carries the latest replay id: the position.
        assert quiet.replay_id is not None
        await quiet.stop()
        record_id = sf.sobject("Account").create({"Name": "While stopped"})
        resumed = sf.subscribe(ACCOUNTS)
        (event,) = await take(aiter(resumed), 1)
        await resumed.stop()
    assert event.record_id == record_id


async def test_earliest_and_custom_replay_ids(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        ids = [sf.sobject("Account").create({"Name": f"Replay {n}"}) for n in range(3)]
        earliest = sf.subscribe(ACCOUNTS, replay="earliest", resume=False)
        seen: list[Event] = []
        events = aiter(earliest)
        while not seen or seen[-1].record_id != ids[-1]:
            seen += await take(events, 1)
        await earliest.stop()
        mine = [e for e in seen if e.record_id in ids]
        assert [e.record_id for e in mine] == ids

        after_first = sf.subscribe(ACCOUNTS, replay=mine[0].replay_id)
        assert [e.record_id for e in await take(aiter(after_first), 2)] == ids[1:]
        await after_first.stop()
        by_hex = sf.subscribe(ACCOUNTS, replay=mine[1].replay_id.hex())
        assert [e.record_id for e in await take(aiter(by_hex), 1)] == ids[2:]
        await by_hex.stop()


async def test_token_expiry_mid_stream_refreshes_and_continues(
    flow: Flow, emu: RunningEmulator
) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        sub = await sf.subscribe(ACCOUNTS).ready()
        events = aiter(sub)
        accounts = sf.sobject("Account")
        one = accounts.create({"Name": "Before expiry"})
        await take(events, 1)
        grants = emu.stats["refresh_grants"]
        refused = emu.pubsub_server.service.auth_failures
        emu.expire_access_tokens()
        # Written with a token of its own, so that only the subscription must refresh.
        two = emu_create_account(emu, "After expiry")
        (event,) = await take(events, 1)
        assert event.record_id == two != one
        assert emu.stats["refresh_grants"] == grants + 1
        assert emu.pubsub_server.service.auth_failures == refused + 1
        assert sub.token_refreshes == 1 and sub.reconnects == 1
        assert sub.live
        three = accounts.create({"Name": "With the refreshed token"})  # shares the refresh
        assert (await take(events, 1))[0].record_id == three
        assert emu.stats["refresh_grants"] == grants + 1
        await sub.stop()


async def test_reconnecting_with_an_expired_token_refreshes(
    flow: Flow, emu: RunningEmulator
) -> None:
    await flow.connect("prod")
    fast = aksf.pubsub.Backoff(initial=0.05, maximum=0.5, retries=100)
    with aksf.session("prod") as sf:
        sub = await sf.subscribe(ACCOUNTS, backoff=fast).ready()
        events = aiter(sub)
        grants = emu.stats["refresh_grants"]
        emu.expire_access_tokens()
        emu.restart_pubsub()  # the new Subscribe call goes out with the expired token
        record_id = emu_create_account(emu, "Expired and restarted")
        (event,) = await take(events, 1)
        await sub.stop()
    assert event.record_id == record_id
    assert sub.token_refreshes == 1
    assert emu.stats["refresh_grants"] == grants + 1


def emu_create_account(emu: RunningEmulator, name: str) -> str:
    """Create an Account through the REST API with a token from a separate login."""
    import httpx

    code = emu.authorize_code(redirect_uri="http://localhost/oauth/redirect/salesforce")
    with httpx.Client(base_url=emu.url, timeout=10) as client:
        token = client.post(
            "/services/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": "demo-client-id",
                "client_secret": "demo-client-secret",
                "redirect_uri": "http://localhost/oauth/redirect/salesforce",
            },
        ).json()["access_token"]
        answer = client.post(
            "/services/data/v63.0/sobjects/Account/",
            json={"Name": name},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def test_pubsub_server_killed_and_restarted_reconnects_without_loss(
    flow: Flow, emu: RunningEmulator
) -> None:
    await flow.connect("prod")
    fast = aksf.pubsub.Backoff(initial=0.05, maximum=0.5, retries=100)
    with aksf.session("prod") as sf:
        sub = await sf.subscribe(ACCOUNTS, backoff=fast).ready()
        events = aiter(sub)
        accounts = sf.sobject("Account")
        first = accounts.create({"Name": "Before the outage"})
        assert (await take(events, 1))[0].record_id == first
        port = emu.pubsub_port

        emu.stop_pubsub()  # open streams break; REST writes go on and are retained
        during = [accounts.create({"Name": f"During the outage {n}"}) for n in range(3)]
        await nothing_more(events, 0.5)
        assert not sub.live and "reconnecting" in sub.status
        assert emu.start_pubsub() == port
        got = await take(events, 3)
        assert [e.record_id for e in got] == during

        emu.restart_pubsub()  # killed with a live stream: reconnect at once
        after = accounts.create({"Name": "After the restart"})
        assert (await take(events, 1))[0].record_id == after
        await nothing_more(events, 0.3)
        await sub.stop()
    assert sub.received == 5
    assert sub.reconnects >= 2


async def test_unknown_topic_is_a_clear_error_naming_it(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        with pytest.raises(TopicNotFound) as info:
            sf.subscribe("/data/NoSuchThingChangeEvent")
        with pytest.raises(aksf.ConfigurationError, match="Not a topic name"):
            sf.subscribe("AccountChangeEvent")
    assert isinstance(info.value, aksf.SalesforceNotebookError)
    assert "'/data/NoSuchThingChangeEvent'" in str(info.value)
    assert info.value.topic == "/data/NoSuchThingChangeEvent"
    assert info.value.status == "NOT_FOUND"


async def test_replay_id_of_another_org_given_explicitly_fails(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        sub = sf.subscribe(ACCOUNTS, replay=b"\x00" * 12)
        with pytest.raises(ReplayIdInvalid, match="replay id"):
            await take(aiter(sub), 1)
        assert isinstance(sub.error, ReplayIdInvalid)
        assert sub.done and not sub.live


async def test_stored_replay_id_no_longer_valid_falls_back_and_says_so(
    flow: Flow, store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await flow.connect("prod")
    store = ConnectionStore(store_path)
    org = store.get_connection("prod").organization_id
    store.set_replay_id("prod", ACCOUNTS, b"\x01" * 12, organization_id=org)
    with aksf.session("prod") as sf:
        sub = await sf.subscribe(ACCOUNTS).ready()
        record_id = sf.sobject("Account").create({"Name": "After the fallback"})
        (event,) = await take(aiter(sub), 1)
        await sub.stop()
    out = capsys.readouterr().out
    assert "Resuming" in out and "no longer retains replay id 0101" in out
    assert event.record_id == record_id
    assert store.get_replay_id("prod", ACCOUNTS) == event.replay_id


async def test_flow_control_holds_back_for_a_slow_consumer(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        sub = await sf.subscribe(ACCOUNTS, batch=5).ready()
        events = aiter(sub)  # a consumer that has not taken anything yet
        ids = [sf.sobject("Account").create({"Name": f"Flow {n}"}) for n in range(30)]
        await asyncio.sleep(0.5)  # time for the stream to receive what it asked for
        assert 0 < sub.received <= 3 * 5, sub.received
        got = await take(events, 30)
        await sub.stop()
    assert [e.record_id for e in got] == ids
