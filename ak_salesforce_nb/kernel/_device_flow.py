"""The device flow, run from the kernel: no server extension, no callback URL.

`DeviceFlow` asks Salesforce for a user code, then polls the token endpoint at the
server's interval (5 s more after each ``slow_down``) until the person has approved on
the verification page, denied, or the code expired. The tokens land in the store through
`store_grant`, exactly where the server's callback puts them. `wait` blocks (for
`aksf.login` and scripts); the connect form runs it on a thread and cancels it with
`cancel`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

from ..core import _device
from ..core._connections import ConnectionDefaults
from ..core._constants import DEFAULT_HTTP_TIMEOUT
from ..core._device import DeviceAuthorization, Pending
from ..core._exceptions import (
    AuthorizationCancelled,
    AuthorizationExpired,
    ConfigurationError,
    OAuthError,
)
from ..core._store import ConnectionRecord, ConnectionStore
from ..core._validation import check_login_url
from ._grant import Grant, http_client, send, store_grant

__all__ = ["DeviceFlow", "connection_grant"]


def connection_grant(store: ConnectionStore, name: str) -> Grant:
    """The stored connection's app, its login host checked again (the store is a file
    other processes write; a secret is only ever sent to an accepted host)."""
    record = store.get_connection(name)
    if not record.client_id:
        raise ConfigurationError(
            f"The connection {name!r} has no Client ID yet: give client_id= (the Consumer "
            "Key of your external client app) or fill in the form."
        )
    try:
        login_url = check_login_url(
            record.login_url, ConnectionDefaults.from_environment().allowed_login_hosts
        )
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"The connection {name!r} has a login host that is not accepted: {exc}"
        ) from None
    return Grant(name, login_url, record.client_id, store.get_client_secret(name))


class DeviceFlow:
    """One device-flow sign-in for the connection `name` (already configured in `store`)."""

    def __init__(
        self,
        store: ConnectionStore,
        name: str,
        *,
        transport: httpx.BaseTransport | None = None,
        http_timeout: float = DEFAULT_HTTP_TIMEOUT,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        """`clock` and `sleep` stand in for time in tests (`sleep` must return early
        once `cancel` is called, as the default, the cancel event's own wait, does)."""
        self.store = store
        self.name = name
        self._transport = transport
        self._http_timeout = http_timeout
        self._clock = clock
        self._cancelled = threading.Event()
        self._sleep = sleep or self._cancelled.wait
        self.grant = connection_grant(store, name)
        self.authorization: DeviceAuthorization | None = None
        #: Seconds between polls now (grows by 5 with every ``slow_down``).
        self.interval = _device.DEFAULT_INTERVAL
        self.polls = 0
        self.slow_downs = 0

    def __repr__(self) -> str:
        code = self.authorization.user_code if self.authorization else "-"
        return f"<DeviceFlow {self.name!r} user_code={code}>"

    def _client(self) -> httpx.Client:
        return http_client(self._transport, self._http_timeout)

    def start(self) -> DeviceAuthorization:
        """Ask Salesforce for the codes. Raises `FlowNotEnabled` (app without the device
        flow), `TokenRequestError` (e.g. ``invalid_client_id``: a wrong Client ID) or
        `TokenEndpointUnavailable`; each is recorded on the connection."""
        record = self.store.get_connection(self.name)
        request = _device.device_code_request(
            self.grant.login_url,
            client_id=self.grant.client_id,
            scopes=record.scopes,
            client_secret=self.grant.client_secret,
        )
        try:
            with self._client() as client:
                response = send(client, request, "token endpoint")
            authorization = _device.parse_device_code_response(response, now=self._clock())
        except OAuthError as exc:
            self.store.record_failure(self.name, str(exc))
            raise
        self.authorization = authorization
        self.interval = authorization.interval
        return authorization

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Stop waiting (from any thread); `wait` raises `AuthorizationCancelled`."""
        self._cancelled.set()

    def seconds_left(self) -> float:
        return self.authorization.seconds_left(self._clock()) if self.authorization else 0.0

    def poll(self, client: httpx.Client | None = None) -> ConnectionRecord | None:
        """One poll: the connected record once approved, None while pending. Raises
        `AuthorizationDenied`, `AuthorizationExpired`, `FlowNotEnabled`,
        `TokenRequestError` or `TokenEndpointUnavailable` (recorded on the connection)."""
        if self.authorization is None:
            raise RuntimeError("DeviceFlow.poll before start")
        if client is None:
            with self._client() as own:
                return self.poll(own)
        request = _device.device_token_request(
            self.grant.login_url,
            client_id=self.grant.client_id,
            device_code=self.authorization.device_code,
            client_secret=self.grant.client_secret,
        )
        self.polls += 1
        try:
            answer = _device.parse_device_poll(send(client, request, "token endpoint"))
            if isinstance(answer, Pending):
                if answer.slow_down:
                    self.slow_downs += 1
                self.interval = _device.next_interval(self.interval, slow_down=answer.slow_down)
                return None
            return store_grant(self.store, self.grant, answer, client)
        except OAuthError as exc:
            self.store.record_failure(self.name, str(exc))
            raise

    def wait(self, *, on_tick: Callable[[float], None] | None = None) -> ConnectionRecord:
        """Poll until approved (the connected record), or raise: denied, expired,
        cancelled (`cancel`, or Ctrl-C in `aksf.login`), or a refusal. `on_tick(seconds
        left)` is called about once a second, for a countdown."""
        if self.authorization is None:
            self.start()
        with self._client() as client:
            next_poll = self._clock() + self.interval
            while True:
                if self._cancelled.is_set():
                    raise AuthorizationCancelled(
                        "Sign-in cancelled: the code was not used. Start again when you are ready.",
                        error="cancelled",
                    )
                left = self.seconds_left()
                if on_tick is not None:
                    on_tick(left)
                if left <= 0:
                    error = AuthorizationExpired(
                        "The code expired before it was approved on the verification page. "
                        "Start again for a new code.",
                        error="expired_token",
                    )
                    self.store.record_failure(self.name, str(error))
                    raise error
                now = self._clock()
                if now >= next_poll:
                    record = self.poll(client)
                    if record is not None:
                        return record
                    next_poll = self._clock() + self.interval
                    continue
                self._sleep(min(1.0, next_poll - now, max(left, 0.01)))
