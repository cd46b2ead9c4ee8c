"""The device flow's protocol steps and polling loop, on Salesforce's documented shapes.

Salesforce Help, "OAuth 2.0 Device Flow for IoT Integration": the code request answers
``device_code``, ``user_code``, ``verification_uri`` and ``interval`` (no ``expires_in``);
polls answer ``authorization_pending`` until the user approves, then the usual token
answer. RFC 8628 section 3.5 adds 5 s to the interval after each ``slow_down``. The
transport is an `httpx.MockTransport`; time is a fake clock so no test sleeps.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core import _device
from ak_salesforce_nb.core._connections import configure_connection
from ak_salesforce_nb.core._oauth import TokenResponse
from ak_salesforce_nb.core._store import ConnectionStore
from ak_salesforce_nb.kernel._device_flow import DeviceFlow

LOGIN = "https://login.salesforce.com"
INSTANCE = "https://acme.my.salesforce.com"
SECRET = "consumer-secret"
CODES = {
    "device_code": "M0RGRDg2QkEtNTQzMS00NDA1LTlBMjktNTZEMkNBRkRBRkFG",
    "user_code": "8V5X9KZJ",
    "verification_uri": f"{LOGIN}/setup/connect",
    "interval": 5,
}


def token_body(secret: str | None = SECRET) -> dict[str, str]:
    from ak_salesforce_nb.emulator._oauth import token_signature

    identity = f"{LOGIN}/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS"
    issued = "1700000000000"
    return {
        "access_token": "00Dxx0000001gPL!AQ0AQ.access",
        "refresh_token": "5Aep861.refresh",
        "signature": token_signature(secret, identity, issued) if secret else "",
        "scope": "refresh_token api",
        "instance_url": INSTANCE,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued,
    }


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.cancel: threading.Event | None = None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> bool:
        self.now += seconds
        return bool(self.cancel and self.cancel.is_set())


class FakeSalesforce:
    """The token endpoint and userinfo, answering polls from a script."""

    def __init__(self, clock: FakeClock, polls: list[tuple[int, dict[str, Any]]]) -> None:
        self.clock = clock
        self.polls = polls
        self.code_answer: tuple[int, dict[str, Any]] = (200, CODES)
        self.requests: list[dict[str, str]] = []
        self.poll_times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/services/oauth2/userinfo":
            assert request.headers["Authorization"] == "Bearer 00Dxx0000001gPL!AQ0AQ.access"
            return httpx.Response(
                200,
                json={
                    "preferred_username": "ada@acme.com",
                    "name": "Ada Lovelace",
                    "organization_id": "00Dxx0000001gPLEAY",
                    "user_id": "005xx000001SwiUAAS",
                },
            )
        if request.url.path.endswith("/query"):
            return httpx.Response(200, json={"records": [{"Name": "Acme"}]})
        assert request.url.path == "/services/oauth2/token"
        form = dict(parse_qsl(request.content.decode()))
        self.requests.append(form)
        if form.get("response_type") == "device_code":
            status, body = self.code_answer
            return httpx.Response(status, json=body)
        self.poll_times.append(self.clock.now)
        status, body = self.polls.pop(0)
        return httpx.Response(status, json=body)


PENDING = (400, {"error": "authorization_pending", "error_description": "authorization pending"})
SLOW_DOWN = (400, {"error": "slow_down", "error_description": "polling too frequently"})


@pytest.fixture
def store(store_path: Path) -> ConnectionStore:
    store = ConnectionStore(store_path)
    configure_connection(
        store,
        "prod",
        {"client_id": "3MVG9.consumer.key", "client_secret": SECRET, "login_url": LOGIN},
    )
    return store


def make_flow(store: ConnectionStore, fake: FakeSalesforce, clock: FakeClock) -> DeviceFlow:
    flow = DeviceFlow(
        store, "prod", transport=httpx.MockTransport(fake), clock=clock, sleep=clock.sleep
    )
    clock.cancel = flow._cancelled
    return flow


def test_request_shapes() -> None:
    start = _device.device_code_request(LOGIN, client_id="cid", scopes="api refresh_token")
    assert str(start.url) == f"{LOGIN}/services/oauth2/token"
    assert dict(parse_qsl(start.content.decode())) == {
        "response_type": "device_code",
        "client_id": "cid",
        "scope": "api refresh_token",
    }
    poll = _device.device_token_request(LOGIN, client_id="cid", device_code="DC", client_secret="s")
    assert dict(parse_qsl(poll.content.decode())) == {
        "grant_type": "device",
        "client_id": "cid",
        "code": "DC",
        "client_secret": "s",
    }
    public = _device.device_token_request(LOGIN, client_id="cid", device_code="DC")
    assert "client_secret" not in dict(parse_qsl(public.content.decode()))


def test_code_answer_is_read_with_defaults() -> None:
    answer = _device.parse_device_code_response(httpx.Response(200, json=CODES), now=100.0)
    assert (answer.user_code, answer.verification_uri, answer.interval) == (
        "8V5X9KZJ",
        f"{LOGIN}/setup/connect",
        5.0,
    )
    assert answer.expires_at == 100.0 + _device.DEFAULT_DEVICE_CODE_TTL  # no expires_in
    assert CODES["device_code"] not in repr(answer)
    rfc = _device.parse_device_code_response(
        httpx.Response(200, json={**CODES, "interval": 0, "expires_in": 900}), now=0.0
    )
    assert (rfc.interval, rfc.expires_at) == (_device.MIN_INTERVAL, 900.0)
    without = {k: v for k, v in CODES.items() if k != "interval"}
    assert _device.parse_device_code_response(httpx.Response(200, json=without)).interval == 5.0
    with pytest.raises(aksf.TokenEndpointUnavailable, match="lacks user_code"):
        _device.parse_device_code_response(httpx.Response(200, json={"device_code": "x"}))
    with pytest.raises(aksf.TokenEndpointUnavailable, match="not a web address"):
        _device.parse_device_code_response(
            httpx.Response(200, json={**CODES, "verification_uri": "javascript:alert(1)"})
        )


def test_slow_down_adds_five_seconds_for_good() -> None:
    assert _device.next_interval(5.0, slow_down=True) == 10.0
    assert _device.next_interval(10.0, slow_down=False) == 10.0
    assert isinstance(
        _device.parse_device_poll(httpx.Response(400, json=SLOW_DOWN[1])), _device.Pending
    )


def test_polls_at_the_interval_honours_slow_down_and_connects(store: ConnectionStore) -> None:
    clock = FakeClock()
    fake = FakeSalesforce(clock, [PENDING, SLOW_DOWN, PENDING, (200, token_body())])
    flow = make_flow(store, fake, clock)
    codes = flow.start()
    assert codes.user_code == "8V5X9KZJ"
    started = clock.now
    ticks: list[float] = []
    record = flow.wait(on_tick=ticks.append)
    # 5 s, then 5 s more; slow_down: 10 s from then on.
    assert [t - started for t in fake.poll_times] == [5.0, 10.0, 20.0, 30.0]
    assert (flow.polls, flow.slow_downs, flow.interval) == (4, 1, 10.0)
    assert ticks[0] == pytest.approx(600.0) and ticks == sorted(ticks, reverse=True)
    assert record.state == "connected" and record.username == "ada@acme.com"
    assert record.organization_name == "Acme"
    assert fake.requests[0] == {
        "response_type": "device_code",
        "client_id": "3MVG9.consumer.key",
        "scope": "api refresh_token",
        "client_secret": SECRET,
    }
    assert fake.requests[1]["grant_type"] == "device"
    assert fake.requests[1]["code"] == CODES["device_code"]
    tokens = store.get_tokens("prod")
    assert tokens is not None and tokens.refresh_token == "5Aep861.refresh"


def test_denied_is_said_and_recorded(store: ConnectionStore) -> None:
    clock = FakeClock()
    denied = (400, {"error": "access_denied", "error_description": "end-user denied authorization"})
    fake = FakeSalesforce(clock, [PENDING, denied])
    flow = make_flow(store, fake, clock)
    with pytest.raises(aksf.AuthorizationDenied, match="choose Allow"):
        flow.wait()
    record = store.get_connection("prod")
    assert record.state == "error" and "access_denied" in record.message
    assert store.get_tokens("prod") is None


def test_expiry_by_the_clock_stops_polling(store: ConnectionStore) -> None:
    clock = FakeClock()
    fake = FakeSalesforce(clock, [PENDING] * 200)
    fake.code_answer = (200, {**CODES, "expires_in": 30})
    flow = make_flow(store, fake, clock)
    with pytest.raises(aksf.AuthorizationExpired, match="Start again for a new code"):
        flow.wait()
    assert len(fake.poll_times) == 5  # at 5, 10, 15, 20, 25 s; none at or after 30 s
    assert store.get_connection("prod").state == "error"


@pytest.mark.parametrize(
    "answer",
    [
        (400, {"error": "expired_token", "error_description": "expired"}),
        (400, {"error": "invalid_grant", "error_description": "expired device code"}),
    ],
)
def test_expiry_said_by_salesforce(store: ConnectionStore, answer: tuple[int, Any]) -> None:
    clock = FakeClock()
    flow = make_flow(store, FakeSalesforce(clock, [answer]), clock)
    with pytest.raises(aksf.AuthorizationExpired):
        flow.wait()


def test_cancel_from_another_thread_ends_the_wait(store: ConnectionStore) -> None:
    clock = FakeClock()
    fake = FakeSalesforce(clock, [PENDING] * 200)
    flow = make_flow(store, fake, clock)
    flow.start()

    def tick(left: float) -> None:
        if fake.poll_times:
            flow.cancel()  # as the form's Cancel button does, from the kernel's thread

    with pytest.raises(aksf.AuthorizationCancelled, match="cancelled"):
        flow.wait(on_tick=tick)
    assert len(fake.poll_times) == 1
    assert store.get_connection("prod").state == "ready"  # nothing recorded


@pytest.mark.parametrize(
    ("answer", "kind", "says"),
    [
        (
            (
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "device flow is not enabled for the app",
                },
            ),
            aksf.FlowNotEnabled,
            "Enable for Device Flow",
        ),
        (
            (
                400,
                {
                    "error": "unsupported_response_type",
                    "error_description": "response type not supported",
                },
            ),
            aksf.FlowNotEnabled,
            "paste-back",
        ),
        (
            (400, {"error": "invalid_client_id", "error_description": "client identifier invalid"}),
            aksf.TokenRequestError,
            "does not know this Client ID",
        ),
        ((503, {"error": "x"}), aksf.TokenEndpointUnavailable, "HTTP 503"),
    ],
)
def test_code_request_refusals_are_clear(
    store: ConnectionStore, answer: tuple[int, Any], kind: type[Exception], says: str
) -> None:
    clock = FakeClock()
    fake = FakeSalesforce(clock, [])
    fake.code_answer = answer
    flow = make_flow(store, fake, clock)
    with pytest.raises(kind, match=says):
        flow.start()
    assert says in store.get_connection("prod").message or answer[0] == 503


def test_public_client_sends_no_secret_and_skips_the_signature(store_path: Path) -> None:
    store = ConnectionStore(store_path)
    record = configure_connection(store, "pub", {"client_id": "3MVG9.public", "login_url": LOGIN})
    assert not record.has_client_secret
    clock = FakeClock()
    fake = FakeSalesforce(clock, [PENDING, (200, token_body(secret=None))])
    flow = DeviceFlow(
        store, "pub", transport=httpx.MockTransport(fake), clock=clock, sleep=clock.sleep
    )
    assert flow.wait().state == "connected"
    assert all("client_secret" not in form for form in fake.requests)


def test_a_tampered_answer_is_not_stored(store: ConnectionStore) -> None:
    clock = FakeClock()
    body = {**token_body(), "issued_at": "1700000000001"}  # signed for another time
    flow = make_flow(store, FakeSalesforce(clock, [(200, body)]), clock)
    with pytest.raises(aksf.SignatureMismatch):
        flow.wait()
    assert store.get_tokens("prod") is None


def test_token_answer_type() -> None:
    answer = _device.parse_device_poll(httpx.Response(200, json=token_body()))
    assert isinstance(answer, TokenResponse)
    assert answer.instance_url == INSTANCE
