"""The paste-back code flow with PKCE: for apps without the device flow, anywhere.

The kernel makes the state and the PKCE verifier (kept in the store as the server's are)
and a link to Salesforce's authorize page whose callback is an address registered on the
app that need not load: by default ``http://localhost:1717/OauthRedirect``, which the
Salesforce CLI registers and many apps already list. After approval the browser lands
there (often on "this site can't be reached"); the user copies that address back. The
kernel checks the state (unknown, expired or already used: a clear error, nothing sent),
then exchanges the code with the verifier (and the secret, unless a public client).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import httpx

from ..core import _environment as environment
from ..core import _oauth
from ..core._connections import begin_authorization
from ..core._constants import DEFAULT_HTTP_TIMEOUT
from ..core._exceptions import (
    AuthorizationDenied,
    AuthorizationStateError,
    ConfigurationError,
    OAuthError,
    TokenRequestError,
)
from ..core._store import ConnectionRecord, ConnectionStore, PendingAuthorization
from ._device_flow import connection_grant
from ._grant import http_client, send, store_grant

__all__ = ["DEFAULT_PASTE_REDIRECT_URI", "PasteFlow", "check_redirect_uri", "parse_pasted"]

#: What the Salesforce CLI registers on its apps; nothing needs to listen there.
DEFAULT_PASTE_REDIRECT_URI = "http://localhost:1717/OauthRedirect"
#: Longest pasted text read; Salesforce's codes and our states are far shorter.
MAX_PASTE_LENGTH = 8192


def check_redirect_uri(uri: str) -> str:
    """An http(s) address without a fragment: what Salesforce may send the browser to."""
    text = uri.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"The callback address {text[:120]!r} is not an http(s) address. Use the one "
            f"registered on your app, e.g. {DEFAULT_PASTE_REDIRECT_URI}."
        )
    if parts.fragment or "@" in parts.netloc:
        raise ConfigurationError(
            "The callback address must have no '#fragment' and no user name in it."
        )
    return text


def parse_pasted(text: str) -> dict[str, str]:
    """The parameters of the address the browser landed on, however it was pasted: the
    whole address, or only what follows '?'. Raises `ConfigurationError` when there is
    nothing to read, or when the text is the sign-in link itself."""
    text = (text or "").strip().strip("'\"<>").strip()
    if not text:
        raise ConfigurationError(
            "Nothing was pasted. After you allow access, copy the whole address from the "
            "browser's address bar (it starts like the callback address) and paste it here."
        )
    if len(text) > MAX_PASTE_LENGTH:
        raise ConfigurationError("The pasted text is far too long to be the callback address.")
    query = text
    if "?" in text:
        head, _, query = text.partition("?")
        if head.rstrip("/").endswith("/services/oauth2/authorize"):
            raise ConfigurationError(
                "That is the sign-in link itself. Open it, sign in and allow access, then "
                "paste the address the browser ends on."
            )
    query = query.partition("#")[0]
    params = dict(parse_qsl(query, keep_blank_values=True))
    if not params.get("state") and not params.get("code") and not params.get("error"):
        raise ConfigurationError(
            "The pasted address carries no sign-in answer (no code, state or error). Copy "
            "the whole address from the address bar after you allow access."
        )
    return params


class PasteFlow:
    """One paste-back sign-in for the connection `name` (already configured in `store`)."""

    def __init__(
        self,
        store: ConnectionStore,
        name: str,
        *,
        redirect_uri: str | None = None,
        transport: httpx.BaseTransport | None = None,
        http_timeout: float = DEFAULT_HTTP_TIMEOUT,
    ) -> None:
        self.store = store
        self.name = name
        self.redirect_uri = check_redirect_uri(
            redirect_uri or environment.paste_redirect_uri() or DEFAULT_PASTE_REDIRECT_URI
        )
        self._transport = transport
        self._http_timeout = http_timeout
        self.grant = connection_grant(store, name)
        self.pending: PendingAuthorization | None = None
        self.link = ""

    def __repr__(self) -> str:
        return f"<PasteFlow {self.name!r} redirect_uri={self.redirect_uri!r}>"

    def begin(self) -> str:
        """A new single-use state and verifier (an earlier link stops working); the link
        to Salesforce's sign-in page."""
        record = self.store.get_connection(self.name)
        self.pending = begin_authorization(
            self.store, self.name, redirect_uri=self.redirect_uri, ttl=environment.state_ttl()
        )
        self.link = _oauth.authorize_url(
            self.grant.login_url,
            client_id=self.grant.client_id,
            redirect_uri=self.redirect_uri,
            state=self.pending.state,
            scopes=record.scopes,
            verifier=self.pending.code_verifier,
        )
        return self.link

    def complete(self, pasted: str) -> ConnectionRecord:
        """Check the pasted address and exchange its code; the connected record.

        Raises `ConfigurationError` (nothing usable pasted: try pasting again, the link
        still works), `AuthorizationStateError` (unknown, expired or already used state),
        `AuthorizationDenied` (Deny was chosen), `TokenRequestError` or
        `TokenEndpointUnavailable` (the exchange failed)."""
        params = parse_pasted(pasted)
        state = params.get("state", "")
        if not state:
            raise AuthorizationStateError(
                "The pasted address has no state, so it cannot be matched to this sign-in. "
                "Copy the whole address from the address bar.",
                reason="missing",
            )
        pending = self.store.claim_pending(state)  # unknown, used or expired: raises
        if pending.name != self.name:
            raise AuthorizationStateError(
                f"The pasted address belongs to the sign-in of another connection "
                f"({pending.name!r}), not {self.name!r}; nothing was changed here.",
                reason="other_connection",
            )
        try:
            return self._finish(pending, params)
        except OAuthError as exc:
            self.store.record_failure(self.name, str(exc))
            raise

    def _finish(self, pending: PendingAuthorization, params: dict[str, str]) -> ConnectionRecord:
        error = params.get("error", "")
        if error:
            description = params.get("error_description", "")
            message = _oauth.explain_oauth_error(error, description)
            if error == "access_denied":
                raise AuthorizationDenied(message, error=error, description=description)
            raise TokenRequestError(message, error=error, description=description)
        code = params.get("code", "")
        if not code:
            raise TokenRequestError(
                "Salesforce came back without an authorization code. Start the sign-in again.",
                error="missing_code",
            )
        request = _oauth.token_request(
            self.grant.login_url,
            client_id=self.grant.client_id,
            client_secret=self.grant.client_secret or "",
            code=code,
            redirect_uri=pending.redirect_uri,
            verifier=pending.code_verifier,
        )
        with http_client(self._transport, self._http_timeout) as client:
            try:
                token = _oauth.parse_token_response(send(client, request, "token endpoint"))
            except TokenRequestError as exc:
                if exc.error == "redirect_uri_mismatch":
                    raise TokenRequestError(
                        f"{exc} Register {pending.redirect_uri} as a Callback URL on the app, "
                        "or give the one it has as redirect_uri=.",
                        error=exc.error,
                        description=exc.description,
                        status_code=exc.status_code,
                    ) from None
                if exc.error == "invalid_client" and not self.grant.client_secret:
                    raise TokenRequestError(
                        _oauth.NOT_A_PUBLIC_CLIENT,
                        error=exc.error,
                        description=exc.description,
                        status_code=exc.status_code,
                    ) from None
                raise
            return store_grant(self.store, self.grant, token, client)
