"""`aksf.login`: the connect form's widget-free twin, for terminals, IPython and scripts.

It blocks until the connection is authorized and returns a `Session` on it. The device
flow (default) calls ``on_code(verification_uri, user_code)`` (by default it prints both
and opens nothing: the person may be on another machine than the kernel), then polls.
The paste-back flow prints the sign-in link and reads the address the browser landed on
with ``input()``. Both end in the same store as the server's flow.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from ..core._connections import configure_connection
from ..core._exceptions import AuthorizationCancelled, ConfigurationError
from ..core._store import ConnectionRecord, ConnectionStore
from ..core._validation import validate_connection_name
from ._device_flow import DeviceFlow
from ._paste_flow import PasteFlow

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["LOGIN_FLOWS", "authorize", "login"]

#: The flows `login` can run without a browser page of ours.
LOGIN_FLOWS = ("device", "paste")
#: How often a paste that cannot be read is asked for again before giving up.
PASTE_ATTEMPTS = 3


def _print_code(verification_uri: str, user_code: str) -> None:
    print(
        f"To connect, open {verification_uri} in a browser, sign in to Salesforce and "
        f"enter the code:\n\n    {user_code}\n\nWaiting for approval (Ctrl-C cancels)…",
        flush=True,
    )


def _configure(
    store: ConnectionStore,
    name: str,
    *,
    client_id: str | None,
    client_secret: str | None,
    login_url: str | None,
    scopes: str | list[str] | None,
) -> ConnectionRecord:
    """Save what was given over what is stored; the stored connection when nothing was."""
    existing = store.find_connection(name)
    if client_id is None and client_secret is None and login_url is None and scopes is None:
        if existing is None or not existing.client_id:
            raise ConfigurationError(
                f"The connection {name!r} is not set up yet: give client_id= (the Consumer "
                "Key of your external client app), login_url= and, unless the app is a "
                "public client, client_secret=."
            )
        return existing
    payload: dict[str, Any] = {
        "client_id": client_id or (existing.client_id if existing else None),
        "login_url": login_url or (existing.login_url if existing else None),
        "scopes": scopes or (existing.scopes if existing else None),
    }
    if client_secret:
        payload["client_secret"] = client_secret
    return configure_connection(store, name, payload)


def authorize(
    name: str = "default",
    *,
    flow: str = "device",
    client_id: str | None = None,
    client_secret: str | None = None,
    login_url: str | None = None,
    scopes: str | list[str] | None = None,
    on_code: Callable[[str, str], object] | None = None,
    redirect_uri: str | None = None,
    read_address: Callable[[str], str] | None = None,
    store: ConnectionStore | None = None,
    transport: httpx.BaseTransport | None = None,
) -> ConnectionRecord:
    """`login` without the session: the connected record (what the tests and `login` use)."""
    validate_connection_name(name)
    if flow not in LOGIN_FLOWS:
        hint = (
            " The server flow needs the notebook page of a Jupyter server with this "
            "extension: use aksf.connect(name) there."
            if flow == "server"
            else ""
        )
        raise ConfigurationError(
            f"flow={flow!r} is not one aksf.login runs: use 'device' or 'paste'.{hint}"
        )
    store = store or ConnectionStore()
    _configure(
        store,
        name,
        client_id=client_id,
        client_secret=client_secret,
        login_url=login_url,
        scopes=scopes,
    )
    if flow == "device":
        device = DeviceFlow(store, name, transport=transport)
        codes = device.start()
        (on_code or _print_code)(codes.verification_uri, codes.user_code)
        try:
            record = device.wait()
        except KeyboardInterrupt:
            device.cancel()
            raise AuthorizationCancelled(
                "Sign-in cancelled (Ctrl-C): the code was not used.", error="cancelled"
            ) from None
    else:
        paste = PasteFlow(store, name, redirect_uri=redirect_uri, transport=transport)
        link = paste.begin()
        print(
            "Open this link in a browser, sign in to Salesforce and allow access:\n\n"
            f"    {link}\n\nThe browser then lands on {paste.redirect_uri}… (the page may "
            "not load: that is expected). Copy that whole address from the address bar.",
            flush=True,
        )
        read = read_address or builtins.input
        record = _read_and_complete(paste, read)
    print(f"Connected: {record.message}", flush=True)
    return record


def _read_and_complete(paste: PasteFlow, read: Callable[[str], str]) -> ConnectionRecord:
    for attempt in range(PASTE_ATTEMPTS):
        try:
            text = read("Paste the address here: ")
        except (EOFError, KeyboardInterrupt):
            raise AuthorizationCancelled(
                "Sign-in cancelled: no address was pasted.", error="cancelled"
            ) from None
        try:
            return paste.complete(text)
        except ConfigurationError as exc:  # unreadable paste: the link still works
            if attempt == PASTE_ATTEMPTS - 1:
                raise
            print(f"{exc} Try again.", flush=True)
    raise AssertionError("unreachable")  # pragma: no cover


def login(
    name: str = "default",
    *,
    flow: str = "device",
    client_id: str | None = None,
    client_secret: str | None = None,
    login_url: str | None = None,
    scopes: str | list[str] | None = None,
    on_code: Callable[[str, str], object] | None = None,
    redirect_uri: str | None = None,
    read_address: Callable[[str], str] | None = None,
    store: ConnectionStore | None = None,
    transport: httpx.BaseTransport | None = None,
    **session_options: Any,
) -> Session:
    """Authorize the connection `name` without widgets, blocking; a `Session` on it.

    ``flow="device"`` (the app needs "Enable for Device Flow") calls
    ``on_code(verification_uri, user_code)``, by default printing both, then waits for
    approval. ``flow="paste"`` prints a sign-in link and reads the address the browser
    ends on with ``input()`` (`redirect_uri` must be a Callback URL of the app; default
    ``http://localhost:1717/OauthRedirect``). App settings given here are stored as the
    form stores them (an empty `client_secret`: a public client, PKCE only); without
    them the stored connection is used. `session_options` go to `Session`.
    """
    authorize(
        name,
        flow=flow,
        client_id=client_id,
        client_secret=client_secret,
        login_url=login_url,
        scopes=scopes,
        on_code=on_code,
        redirect_uri=redirect_uri,
        read_address=read_address,
        store=store,
        transport=transport,
    )
    from ._session import Session

    if store is not None:
        session_options.setdefault("store", store)
    return Session(name, **session_options)
