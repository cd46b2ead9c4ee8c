"""Storing a token the kernel obtained itself (device flow, paste-back flow).

The server's callback does the same after its code exchange (`server._authorization`):
check the answer's signature when there is a secret, ask Salesforce who the user is with
the new token, read the org's name (best effort), and save everything in the store with
`record_authorized`. The tokens then live where every other flow puts them, and
`aksf.session` refreshes them by the same rule.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import httpx

from ..core import _environment as environment
from ..core import _oauth
from ..core._constants import DEFAULT_HTTP_TIMEOUT
from ..core._store import ConnectionRecord, ConnectionStore
from ..core._tls import verify_for

__all__ = ["Grant", "http_client", "send", "store_grant"]


@dataclass(frozen=True)
class Grant:
    """Where a kernel flow talks to Salesforce: the connection's app and login host."""

    name: str
    login_url: str
    client_id: str
    client_secret: str | None


def http_client(
    transport: httpx.BaseTransport | None = None, timeout: float = DEFAULT_HTTP_TIMEOUT
) -> httpx.Client:
    """A short-lived client for the flows' few requests (no redirects followed: a token
    endpoint that redirects is not one to send a code or secret after)."""
    return httpx.Client(
        timeout=timeout, transport=transport, verify=verify_for(transport), follow_redirects=False
    )


def send(client: httpx.Client, request: httpx.Request, what: str) -> httpx.Response:
    """`client.send(request)`, a transport failure said as `TokenEndpointUnavailable`."""
    try:
        return client.send(request)
    except httpx.HTTPError as exc:
        timeout = client.timeout.read or 0.0
        raise _oauth.transport_error(exc, what, timeout) from exc


def _organization_name(client: httpx.Client, token: _oauth.TokenResponse) -> str:
    """The org's name for "Connected as … (Acme)"; best effort, never fatal."""
    url = f"{token.instance_url}/services/data/v{environment.api_version()}/query"
    with contextlib.suppress(httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
        response = client.get(
            url,
            params={"q": "SELECT Name FROM Organization LIMIT 1"},
            headers={"Authorization": f"Bearer {token.access_token}"},
            timeout=5.0,
        )
        if response.status_code == 200:
            return str(response.json()["records"][0]["Name"])
    return ""


def store_grant(
    store: ConnectionStore,
    grant: Grant,
    token: _oauth.TokenResponse,
    client: httpx.Client,
    *,
    callback_url: str = "",
) -> ConnectionRecord:
    """Check `token`, learn who it belongs to, and save it for the connection."""
    if grant.client_secret and token.signature:
        _oauth.verify_signature(token, grant.client_secret)
    # else a public client (PKCE only, or the device flow without a secret): Salesforce
    # signs with the Consumer Secret, which this kernel does not have; the single-use
    # code or device code and TLS to the login host stand for the answer instead.
    response = send(
        client, _oauth.userinfo_request(grant.login_url, token.access_token), "userinfo endpoint"
    )
    identity = _oauth.parse_identity(response, token.identity_url).as_dict()
    identity["organization_name"] = _organization_name(client, token)
    return store.record_authorized(
        grant.name,
        access_token=token.access_token,
        refresh_token=token.refresh_token,
        instance_url=token.instance_url,
        issued_at=token.issued_at,
        identity=identity,
        callback_url=callback_url,
    )
