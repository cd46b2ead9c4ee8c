"""The live widget of a subscription (outside a kernel, ipywidgets uses a dummy comm)."""

from __future__ import annotations

import asyncio

import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.pubsub._widget import SubscriptionView
from tests.conftest import Flow

from .conftest import take


async def test_widget_shows_events_counts_and_stops(flow: Flow, store_path: object) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        sub = await sf.subscribe("/data/AccountChangeEvent").ready()
        view = SubscriptionView(sub, rows=3, interval=0.01)
        assert "● live" in view.header.value and "No events yet" in view.table.value
        accounts = sf.sobject("Account")
        record_id = accounts.create({"Name": "Widget <b>Co</b>"})
        accounts.update(record_id, {"Name": "Widget Co 2"})
        await take(aiter(sub), 2)
        await asyncio.sleep(0.05)  # the view refreshes on its timer
        assert record_id in view.table.value
        assert "Widget &lt;b&gt;Co&lt;/b&gt;" in view.table.value  # escaped
        assert "<b>Co</b>" not in view.table.value
        assert ">CREATE<" in view.counts.value and ">UPDATE<" in view.counts.value
        assert "2 events" in view.header.value
        token = sf.tokens.current().access_token
        view.stop_button.click()
        assert view.stop_button.disabled
        await asyncio.wait_for(sub.stop(), 5)
        await asyncio.sleep(0.05)
        view.render()
    assert not sub.running and sub.status == "stopped"
    assert "stopped" in view.header.value
    for html in (view.header.value, view.counts.value, view.table.value):
        assert token not in html


async def test_displaying_a_subscription_shows_the_view(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    await flow.connect("prod")
    shown: list[object] = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **_: shown.extend(objs))
    with aksf.session("prod") as sf:
        sub = sf.subscribe("/data/ChangeEvents")
        sub._ipython_display_()
        await sub.stop()
    assert len(shown) == 1 and type(shown[0]).__name__ == "VBox"
    assert "ChangeEvents" in repr(sub)


async def test_replay_position_is_per_connection_and_topic(flow: Flow, store_path: object) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        sub = await sf.subscribe("/data/AccountChangeEvent").ready()
        await sub.stop()
        position = sub.replay_id
    store = ConnectionStore(str(store_path))
    assert position is not None
    assert store.get_replay_id("prod", "/data/AccountChangeEvent") == position
    assert store.get_replay_id("prod", "/data/ContactChangeEvent") is None
