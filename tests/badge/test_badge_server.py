"""The side panel's check: `POST {base}ak-salesforce/api/connections/NAME/check` asks
Salesforce (the emulator) from the server with the stored tokens, refreshing if needed,
and shares its result (and its rate limit) with every other view through the store."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tornado.httpclient import HTTPClientError

from ak_salesforce_nb.core._check import check_connection, describe_transport_error
from ak_salesforce_nb.core._store import ConnectionStore, StoredTokens
from ak_salesforce_nb.emulator import EmulatorConfig, start_emulator
from tests.conftest import Flow


async def check(flow: Flow, name: str = "prod", **body: Any) -> dict[str, Any]:
    response = await flow.api(name, "check", method="POST", body=body or None)
    assert response.code == 200, response.body
    return dict(json.loads(response.body))


def age_checks(store_path: Path, seconds: float = 60.0) -> None:
    """Make the last check of every connection `seconds` old (instead of waiting)."""
    store = ConnectionStore(store_path)
    try:
        store._write(
            lambda db: db.execute("UPDATE checks SET checked_at = checked_at - ?", (seconds,))
        )
    finally:
        store.close()


async def test_check_sees_a_revoked_token_and_every_view_agrees(
    flow: Flow, store_path: Path
) -> None:
    await flow.connect("prod")
    # The authorization's own identity call counts as a check: no new call is needed.
    asked = flow.emu.stats["userinfo_requests"]
    first = await check(flow)
    assert first["outcome"] == "connected"
    assert first["ran"] is False
    assert flow.emu.stats["userinfo_requests"] == asked
    assert abs(first["now"] - first["checked_at"]) < 5

    age_checks(store_path)
    second = await check(flow)
    assert (second["outcome"], second["ran"]) == ("connected", True)
    assert flow.emu.stats["userinfo_requests"] == asked + 1
    assert second["connection"]["check_outcome"] == "connected"

    flow.emu.revoke_refresh_tokens()
    age_checks(store_path)
    refreshes = flow.emu.stats["refresh_grants"]
    found = await check(flow)
    assert found["outcome"] == "reauthorization_required", found
    assert "must be authorized again" in found["reason"]
    assert flow.emu.stats["refresh_grants"] == refreshes + 1  # it tried, once
    assert found["connection"]["state"] == "reauthorization_required"
    listing = json.loads((await flow.api()).body)
    assert listing["connections"][0]["state"] == "reauthorization_required"
    assert listing["now"] > 0 and listing["check_interval"] > 0
    assert ConnectionStore(store_path).get_tokens("prod") is None
    # Nothing of the token in what the browser receives.
    assert "access_token" not in json.dumps(found)


async def test_an_expired_access_token_is_refreshed_by_the_check(
    flow: Flow, store_path: Path
) -> None:
    await flow.connect("prod")
    before = ConnectionStore(store_path).get_tokens("prod")
    assert before is not None
    flow.emu.expire_access_tokens()
    age_checks(store_path)
    found = await check(flow)
    assert found["outcome"] == "connected", found
    after = ConnectionStore(store_path).get_tokens("prod")
    assert after is not None and after.generation == before.generation + 1


async def test_checks_are_rate_limited_and_force_is_the_test_button(
    flow: Flow, store_path: Path
) -> None:
    await flow.connect("prod")
    age_checks(store_path)
    asked = flow.emu.stats["userinfo_requests"]
    results = [await check(flow) for _ in range(5)] + [await check(flow, force=True)]
    assert [r["ran"] for r in results] == [True, False, False, False, False, False]
    assert flow.emu.stats["userinfo_requests"] == asked + 1
    age_checks(store_path, 6)  # past the 5 s floor, within the 30 s interval
    assert (await check(flow))["ran"] is False
    assert (await check(flow, force=True))["ran"] is True
    assert flow.emu.stats["userinfo_requests"] == asked + 2


async def test_check_of_an_emulator_that_is_down(jp_fetch: Any, store_path: Path) -> None:
    private = start_emulator(EmulatorConfig(accounts=10, auto_approve=True))
    flow = Flow(jp_fetch, private)
    try:
        await flow.connect("gone")
    finally:
        private.stop()
    age_checks(store_path)
    found = await check(flow, "gone")
    assert found["outcome"] == "unreachable", found
    assert "refused the connection" in found["reason"]
    assert found["connection"]["state"] == "connected"  # the authorization is kept
    assert found["connection"]["check_reason"] == found["reason"]


async def test_check_answers(flow: Flow) -> None:
    missing = await flow.api("nope", "check", method="POST")
    assert missing.code == 404
    await flow.create("fresh")
    fresh = await check(flow, "fresh")
    assert (fresh["outcome"], fresh["ran"]) == ("not_connected", False)
    bad = await flow.api("fresh", "check", method="POST", body={"force": 1, "x": 2})
    assert bad.code == 400


async def test_check_requires_authentication(
    jp_serverapp: Any, http_server_client: Any, jp_base_url: str
) -> None:
    for path in ("prod/check", "prod/disconnect"):
        with pytest.raises(HTTPClientError) as info:
            await http_server_client.fetch(
                f"{jp_base_url}ak-salesforce/api/connections/{path}",
                method="POST",
                body="{}",
                follow_redirects=False,
            )
        assert info.value.code in (302, 401, 403)


# -- units: the check's sentences, with transports that fail the ways networks do ------


def _store_with_tokens(store_path: Path, instance: str = "https://acme.my.salesforce.com") -> Any:
    store = ConnectionStore(store_path)
    store.save_settings(
        "prod", client_id="cid", client_secret="sec", login_url=instance, scopes="api"
    )
    store.record_authorized(
        "prod",
        access_token="a1",
        refresh_token="r1",
        instance_url=instance,
        issued_at="1",
        identity={"username": "ada@example.com"},
    )
    store._write(lambda db: db.execute("UPDATE checks SET checked_at = 1"))
    return store


def _refuse_refresh(stale: StoredTokens) -> StoredTokens:
    raise AssertionError("no refresh expected")


@pytest.mark.parametrize(
    ("failure", "outcome", "words"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), "unreachable", "(DNS)"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "unreachable", "refused"),
        (httpx.ReadTimeout("timed out"), "unreachable", "did not answer within 7 seconds"),
        (503, "unreachable", "answered HTTP 503"),
        (404, "failed", "answered HTTP 404"),
        (200, "connected", ""),
    ],
)
def test_check_outcomes(store_path: Path, failure: Any, outcome: str, words: str) -> None:
    store = _store_with_tokens(store_path)

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/services/oauth2/userinfo"
        assert request.url.host == "acme.my.salesforce.com"
        if isinstance(failure, Exception):
            raise failure
        return httpx.Response(failure, json={"preferred_username": "ada@example.com"})

    with httpx.Client(transport=httpx.MockTransport(answer), timeout=7) as client:
        result = check_connection(store, "prod", client=client, refresh=_refuse_refresh)
    assert result.outcome == outcome
    assert words in result.reason
    record = store.get_connection("prod")
    assert (record.check_outcome, record.check_reason) == (outcome, result.reason)
    assert record.check_started_at is None
    assert time.time() - (record.checked_at or 0) < 5


def test_refused_token_is_refreshed_once(store_path: Path) -> None:
    store = _store_with_tokens(store_path)
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        seen.append(token)
        if token == "a1":  # Salesforce's identity service on a dead token
            return httpx.Response(403, text="Bad_OAuth_Token")
        return httpx.Response(200, json={})

    def refresh(stale: StoredTokens) -> StoredTokens:
        assert stale.access_token == "a1"
        return store.replace_tokens(
            "prod",
            access_token="a2",
            refresh_token=None,
            instance_url=stale.instance_url,
            issued_at="2",
        )

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        result = check_connection(store, "prod", client=client, refresh=refresh)
    assert result.outcome == "connected"
    assert seen == ["a1", "a2"]


def test_transport_sentences_name_the_host_not_the_url() -> None:
    text = describe_transport_error(
        httpx.ConnectError("nodename nor servname provided"), "login.example.com", 5
    )
    assert text == "the host name login.example.com could not be resolved (DNS)."
