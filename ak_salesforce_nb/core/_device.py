"""Salesforce's OAuth 2.0 device flow, as request builders and response readers.

Salesforce Help, "OAuth 2.0 Device Flow for IoT Integration": the app posts
``response_type=device_code`` with its ``client_id`` and ``scope`` to
``{login}/services/oauth2/token`` and gets a ``device_code`` (kept by the app), a short
``user_code`` (shown to the person), a ``verification_uri`` (where they type it) and a
polling ``interval``; it then posts ``grant_type=device`` with ``code=<device_code>`` to
the same URL every ``interval`` seconds until the answer is a token or an error. The app
needs "Enable for Device Flow" in its OAuth settings.

Salesforce sends no ``expires_in`` with the codes (the Salesforce CLI's device login
simply stopped after 100 polls); RFC 8628 does, so one is honoured when present and
`DEFAULT_DEVICE_CODE_TTL` stands in otherwise. RFC 8628 section 3.5: ``slow_down`` adds
5 seconds to the interval for this and every later poll; ``authorization_pending`` means
poll again; ``access_denied`` and ``expired_token`` end the flow.

Like `_oauth`, each step is a pure pair (build the `httpx.Request`, read the
`httpx.Response`), so the kernel's blocking loop, the form's thread and the tests share
the same logic; nothing here sleeps or sends.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field

import httpx

from . import _oauth
from ._exceptions import (
    AuthorizationDenied,
    AuthorizationExpired,
    FlowNotEnabled,
    TokenEndpointUnavailable,
    TokenRequestError,
)

__all__ = [
    "DEFAULT_DEVICE_CODE_TTL",
    "DEFAULT_INTERVAL",
    "SLOW_DOWN_SECONDS",
    "DeviceAuthorization",
    "Pending",
    "device_code_request",
    "device_token_request",
    "next_interval",
    "parse_device_code_response",
    "parse_device_poll",
]

#: Seconds a device code is assumed to live when Salesforce does not say (its user codes
#: are meant to be typed within minutes; RFC 8628's examples use 1800, Salesforce's CLI
#: gave up after 100 polls of 5 s).
DEFAULT_DEVICE_CODE_TTL = 600.0
#: RFC 8628 section 3.2: "If no value is provided, clients MUST use 5 as the default."
DEFAULT_INTERVAL = 5.0
#: RFC 8628 section 3.5: what ``slow_down`` adds to the interval, for good.
SLOW_DOWN_SECONDS = 5.0
#: Never poll faster than this, whatever a server says (a 0 would spin).
MIN_INTERVAL = 1.0
MAX_INTERVAL = 120.0

#: Where an admin turns the flow on, said in every "not enabled" message.
ENABLE_HINT = (
    'Turn on "Enable for Device Flow" in your app\'s OAuth settings (Setup → External '
    "Client App Manager → your app → Edit Settings → OAuth Settings; for a connected app: "
    "App Manager → your app → Edit → Enable for Device Flow), wait a few minutes, and try "
    'again; or sign in with the paste-back flow instead (flow="paste").'
)


@dataclass(frozen=True)
class DeviceAuthorization:
    """Salesforce's answer to the device code request: what to show, what to poll with."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    interval: float
    #: Epoch seconds after which the codes no longer work.
    expires_at: float
    #: The verification page with the user code filled in, when the server gives one.
    verification_uri_complete: str = ""

    def seconds_left(self, now: float | None = None) -> float:
        return max(0.0, self.expires_at - (time.time() if now is None else now))


@dataclass(frozen=True)
class Pending:
    """A poll answered "not yet": `slow_down` when the server asked for a longer interval."""

    slow_down: bool = False


def _form_request(url: str, params: dict[str, str]) -> httpx.Request:
    return httpx.Request(
        "POST",
        url,
        content=str(httpx.QueryParams(params)).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
    )


def device_code_request(
    login_url: str, *, client_id: str, scopes: str, client_secret: str | None = None
) -> httpx.Request:
    """Step 1: ask for a device code and a user code."""
    params = {"response_type": "device_code", "client_id": client_id, "scope": scopes}
    if client_secret:
        params["client_secret"] = client_secret
    return _form_request(f"{login_url}/services/oauth2/token", params)


def device_token_request(
    login_url: str, *, client_id: str, device_code: str, client_secret: str | None = None
) -> httpx.Request:
    """Step 2, repeated: has the person approved yet? The secret goes along when the
    connection has one (apps that require it for the flow); a public client sends none."""
    params = {"grant_type": "device", "client_id": client_id, "code": device_code}
    if client_secret:
        params["client_secret"] = client_secret
    return _form_request(f"{login_url}/services/oauth2/token", params)


def next_interval(interval: float, *, slow_down: bool) -> float:
    """The interval for the next poll: RFC 8628's 5 more seconds after ``slow_down``."""
    return min(MAX_INTERVAL, interval + SLOW_DOWN_SECONDS) if slow_down else interval


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    return str(data.get("error") or ""), str(data.get("error_description") or "")


def _not_enabled(error: str, description: str) -> bool:
    """Salesforce's ways of saying the app does not allow the device flow."""
    if error in ("unsupported_response_type", "unsupported_grant_type", "unauthorized_client"):
        return True
    text = description.lower()
    return "device" in text and any(
        w in text for w in ("not enabled", "not supported", "not allowed")
    )


def _refusal(response: httpx.Response, step: str) -> Exception:
    """The error for a refused device-flow request (never pending: callers check first)."""
    if response.status_code >= 500:
        return TokenEndpointUnavailable(
            f"Salesforce's token endpoint answered HTTP {response.status_code} to the device "
            "flow. Salesforce may be down or in maintenance; try again in a few minutes.",
            error="server_error",
        )
    error, description = _error_of(response)
    if not error:
        return TokenEndpointUnavailable(
            f"Salesforce's token endpoint answered HTTP {response.status_code} with something "
            f"that is not an OAuth answer while {step}. Check the login URL, then try again.",
            error="bad_response",
        )
    said = f"Salesforce says: {error}" + (f" — {description}" if description else "") + "."
    if _not_enabled(error, description):
        return FlowNotEnabled(
            f"{said} This app is not enabled for the device flow. {ENABLE_HINT}",
            error=error,
            description=description,
        )
    if error == "access_denied":
        return AuthorizationDenied(
            f"{said} Access was not allowed on the verification page. Start again and "
            "choose Allow to connect.",
            error=error,
            description=description,
        )
    if error == "expired_token" or (error == "invalid_grant" and "expired" in description.lower()):
        return AuthorizationExpired(
            f"{said} The code expired before it was approved. Start again for a new code.",
            error=error,
            description=description,
        )
    return TokenRequestError(
        _oauth.explain_oauth_error(error, description),
        error=error,
        description=description,
        status_code=response.status_code,
    )


def _seconds(value: object, default: float, *, zero_ok: bool = False) -> float:
    """A number of seconds from a JSON value; `default` when absent or unusable."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return default
    try:
        number = float(value)
    except ValueError:
        return default
    if not math.isfinite(number) or number < 0 or (number == 0 and not zero_ok):
        return default
    return number


def parse_device_code_response(
    response: httpx.Response, *, now: float | None = None
) -> DeviceAuthorization:
    """Read step 1's answer. Raises `FlowNotEnabled` for an app without the device flow,
    `TokenRequestError` (with the usual hints: a wrong Client ID is ``invalid_client_id``)
    for any other refusal, `TokenEndpointUnavailable` for 5xx or garbage."""
    if response.status_code != 200:
        raise _refusal(response, "asking for a device code")
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise TokenEndpointUnavailable(
            "Salesforce's device code answer is not a JSON object; check the login URL.",
            error="bad_response",
        )
    if "error" in data:
        raise _refusal(response, "asking for a device code")
    missing = [k for k in ("device_code", "user_code", "verification_uri") if not data.get(k)]
    if missing:
        raise TokenEndpointUnavailable(
            f"Salesforce's device code answer lacks {', '.join(missing)}; it cannot be used.",
            error="bad_response",
        )
    verification_uri = str(data["verification_uri"])
    if not verification_uri.startswith(("https://", "http://")):
        raise TokenEndpointUnavailable(
            "Salesforce's device code answer names a verification page that is not a web "
            "address; it cannot be used.",
            error="bad_response",
        )
    complete = str(data.get("verification_uri_complete") or "")
    if not complete.startswith(("https://", "http://")):
        complete = ""
    # An interval of 0 ("any pace") still waits `MIN_INTERVAL` between polls.
    interval = _seconds(data.get("interval"), DEFAULT_INTERVAL, zero_ok=True)
    interval = min(MAX_INTERVAL, max(MIN_INTERVAL, interval))
    ttl = _seconds(data.get("expires_in"), DEFAULT_DEVICE_CODE_TTL)
    return DeviceAuthorization(
        device_code=str(data["device_code"]),
        user_code=str(data["user_code"]),
        verification_uri=verification_uri,
        interval=interval,
        expires_at=(time.time() if now is None else now) + ttl,
        verification_uri_complete=complete,
    )


def parse_device_poll(response: httpx.Response) -> _oauth.TokenResponse | Pending:
    """Read one poll's answer: the tokens, or `Pending` (``authorization_pending``, or
    ``slow_down`` with `Pending.slow_down` set). Raises `AuthorizationDenied`,
    `AuthorizationExpired`, `FlowNotEnabled`, `TokenRequestError` or
    `TokenEndpointUnavailable`."""
    if response.status_code != 200:
        error, _ = _error_of(response)
        if error == "authorization_pending":
            return Pending()
        if error == "slow_down":
            return Pending(slow_down=True)
        raise _refusal(response, "waiting for approval")
    return _oauth.parse_token_response(response)
