"""The OAuth 2.0 device flow's state: device codes, user codes, and what the user decided.

Salesforce's dialect of RFC 8628: the device asks ``POST /services/oauth2/token`` with
``response_type=device_code`` and polls the same endpoint with ``grant_type=device`` and
``code=<device_code>``; the user types the user code at ``/setup/connect``. Tornado-free
and guarded by one lock, like ``OAuthState``.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time

from ._config import EmulatorConfig
from ._oauth import OAuthError, OAuthState, TokenGrant

__all__ = [
    "DEVICE_NOT_ENABLED",
    "DeviceAuthorization",
    "DeviceFlows",
    "normalize_user_code",
]

#: What Salesforce answers an app that is not enabled for the device flow.
DEVICE_NOT_ENABLED = OAuthError("invalid_grant", "device flow is not enabled for the app")
#: Letters and digits a person reads and types without confusing them (no 0/O, 1/I/L).
_USER_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_USER_CODE_LENGTH = 8


def normalize_user_code(text: str) -> str:
    """A typed user code compared as Salesforce does: case and separators ignored."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


@dataclasses.dataclass
class DeviceAuthorization:
    """One device waiting for its user; ``status`` is pending, approved, denied or redeemed."""

    device_code: str
    user_code: str
    client_id: str
    scope: list[str]
    expires: float
    status: str = "pending"
    username: str | None = None
    #: When the device last polled (None: not yet), to answer ``slow_down``.
    last_poll: float | None = None


class DeviceFlows:
    """Device authorizations by device code and by user code."""

    def __init__(self, config: EmulatorConfig, oauth: OAuthState) -> None:
        self.config = config
        self.oauth = oauth
        self._lock = threading.Lock()
        self._by_device: dict[str, DeviceAuthorization] = {}
        self._by_user: dict[str, DeviceAuthorization] = {}

    def start(self, client_id: str, scope: list[str]) -> DeviceAuthorization:
        """A new device code and user code for ``client_id`` (already checked)."""
        if not self.config.device_flow:
            raise DEVICE_NOT_ENABLED
        now = time.time()
        with self._lock:
            self._forget_expired_locked(now)
            user_code = self._new_user_code_locked()
            device = DeviceAuthorization(
                device_code=_device_code(),
                user_code=user_code,
                client_id=client_id,
                scope=scope,
                expires=now + self.config.device_code_lifetime,
            )
            self._by_device[device.device_code] = device
            self._by_user[user_code] = device
        return device

    def pending(self, user_code: str) -> DeviceAuthorization | None:
        """The live, still undecided authorization a user code names, else None."""
        with self._lock:
            device = self._by_user.get(normalize_user_code(user_code))
            if device is None or device.status != "pending" or time.time() > device.expires:
                return None
            return device

    def decide(self, user_code: str, username: str | None) -> bool:
        """Approve as ``username``, or deny with None; False if the code is not pending."""
        with self._lock:
            device = self._by_user.get(normalize_user_code(user_code))
            if device is None or device.status != "pending" or time.time() > device.expires:
                return False
            device.status = "approved" if username is not None else "denied"
            device.username = username
            return True

    def poll(self, client_id: str, device_code: str) -> TokenGrant:
        """The device's poll: tokens once approved, else the error Salesforce answers."""
        if not self.config.device_flow:
            raise DEVICE_NOT_ENABLED
        now = time.time()
        with self._lock:
            device = self._by_device.get(device_code)
            if device is None or device.client_id != client_id or device.status == "redeemed":
                raise OAuthError("invalid_grant", "invalid device code")
            if now > device.expires:
                raise OAuthError("invalid_grant", "expired device code")
            last, device.last_poll = device.last_poll, now
            interval = self.config.device_interval
            if last is not None and interval > 0 and now - last < interval:
                raise OAuthError("slow_down", "polling too frequently")
            if device.status == "denied":
                device.status = "redeemed"
                raise OAuthError("access_denied", "end-user denied authorization")
            if device.status == "pending":
                raise OAuthError("authorization_pending", "authorization pending")
            assert device.username is not None
            device.status = "redeemed"
            username, scope = device.username, device.scope
        return self.oauth.issue_tokens(username, client_id, scope, with_refresh=True)

    def _new_user_code_locked(self) -> str:
        while True:
            code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(_USER_CODE_LENGTH))
            if code not in self._by_user:
                return code

    def _forget_expired_locked(self, now: float) -> None:
        # Kept a while past expiry, so a late poll still hears "expired", not "invalid".
        horizon = now - self.config.device_code_lifetime
        for device in [d for d in self._by_device.values() if d.expires < horizon]:
            del self._by_device[device.device_code]
            self._by_user.pop(device.user_code, None)


def _device_code() -> str:
    # Salesforce's device codes are long upper-case base32-looking strings.
    return secrets.token_hex(48).upper()
