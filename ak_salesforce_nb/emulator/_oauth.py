"""The identity provider's state: browser sessions, consents, codes and tokens.

Tornado-free and guarded by one lock, because tests call the control methods
(``expire_access_tokens``, ``authorize_code``...) from their own thread while the
emulator's event loop serves requests.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets
import string
import threading
import time
from urllib.parse import urlsplit

from ._config import EmulatorConfig

__all__ = [
    "AccessToken",
    "AuthorizationCode",
    "OAuthError",
    "OAuthState",
    "PendingAuthorization",
    "RefreshToken",
    "TokenGrant",
    "token_signature",
]

CODE_LIFETIME = 15 * 60.0
PENDING_LIFETIME = 30 * 60.0
_TOKEN_CHARS = string.ascii_letters + string.digits + "._"


class OAuthError(Exception):
    """A token-endpoint failure: ``error`` and ``error_description`` as Salesforce sends them."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


@dataclasses.dataclass
class PendingAuthorization:
    """An authorize request waiting for the user to log in and/or consent."""

    id: str
    client_id: str
    redirect_uri: str
    state: str | None
    scope: list[str]
    code_challenge: str | None
    login_hint: str | None
    force_consent: bool
    created: float
    #: OpenID Connect ``nonce``, echoed in the ID token.
    nonce: str | None = None


@dataclasses.dataclass
class AuthorizationCode:
    code: str
    username: str
    client_id: str
    redirect_uri: str
    code_challenge: str | None
    scope: list[str]
    expires: float
    used: bool = False
    nonce: str | None = None
    #: Tokens issued when this code was redeemed, revoked if the code is replayed.
    issued: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class RefreshToken:
    token: str
    username: str
    client_id: str
    scope: list[str]
    revoked: bool = False


@dataclasses.dataclass
class AccessToken:
    token: str
    username: str
    client_id: str
    scope: list[str]
    issued_at: float
    expires: float
    refresh_token: str | None
    revoked: bool = False

    def active(self, now: float) -> bool:
        return not self.revoked and now < self.expires


@dataclasses.dataclass
class TokenGrant:
    """What the token endpoint answers after a successful grant."""

    access_token: str
    refresh_token: str | None
    username: str
    scope: list[str]
    issued_at_ms: int
    #: OpenID Connect ``nonce`` of the authorize request, for the ID token.
    nonce: str | None = None
    #: The app the tokens were issued to.
    client_id: str = ""


#: Scopes that make a grant come with a refresh token.
REFRESH_SCOPES = frozenset({"refresh_token", "offline_access"})


def _token(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_TOKEN_CHARS) for _ in range(length))


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_signature(secret: str, identity_url: str, issued_at: str) -> str:
    """Salesforce's ``signature``: base64(HMAC-SHA256(client secret, id + issued_at))."""
    mac = hmac.new(secret.encode(), (identity_url + issued_at).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def default_redirect_allowed(uri: str) -> bool:
    """Without a configured allow list: any loopback ``.../oauth/redirect/salesforce``."""
    try:
        parts = urlsplit(uri)
        port = parts.port  # raises ValueError for a bad port
    except ValueError:
        return False
    del port
    return (
        parts.scheme in ("http", "https")
        and parts.hostname in ("localhost", "127.0.0.1")
        and parts.path.endswith("/oauth/redirect/salesforce")
        and not parts.fragment
        and "@" not in parts.netloc
    )


class OAuthState:
    """Everything the fake identity provider remembers."""

    def __init__(self, config: EmulatorConfig, org_id15: str, known_users: set[str]) -> None:
        self.config = config
        self.org_id15 = org_id15
        #: Lower-cased usernames that have a User record (fixed when the org is generated).
        self.known_users = known_users
        self._lock = threading.RLock()
        self._sessions: dict[str, str] = {}  # browser session id -> username
        self._consents: set[tuple[str, str]] = set()  # (username lower, client id)
        self._pending: dict[str, PendingAuthorization] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._refresh: dict[str, RefreshToken] = {}
        self._access: dict[str, AccessToken] = {}

    # -- users and browser sessions

    def canonical_username(self, username: str) -> str | None:
        lowered = username.strip().lower()
        if lowered not in self.known_users:
            return None
        for known in self.config.users:
            if known.lower() == lowered:
                return known
        return None

    def check_password(self, username: str, password: str) -> str | None:
        known = self.canonical_username(username)
        if known is None or not hmac.compare_digest(
            self.config.users[known].encode(), password.encode()
        ):
            return None
        return known

    def start_session(self, username: str) -> str:
        session_id = secrets.token_urlsafe(24)
        with self._lock:
            self._sessions[session_id] = username
        return session_id

    def session_user(self, session_id: str | None) -> str | None:
        if not session_id:
            return None
        with self._lock:
            username = self._sessions.get(session_id)
        return username if username and self.canonical_username(username) else None

    def end_session(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)

    def has_consent(self, username: str, client_id: str) -> bool:
        with self._lock:
            return (username.lower(), client_id) in self._consents

    def remember_consent(self, username: str, client_id: str) -> None:
        with self._lock:
            self._consents.add((username.lower(), client_id))

    # -- clients

    def client_known(self, client_id: str) -> bool:
        return hmac.compare_digest(client_id.encode(), self.config.client_id.encode())

    def redirect_allowed(self, redirect_uri: str) -> bool:
        allowed = self.config.callback_urls
        if allowed:
            return redirect_uri in allowed
        return default_redirect_allowed(redirect_uri)

    def check_client(
        self, client_id: str | None, client_secret: str | None, *, secret_optional: bool = False
    ) -> None:
        """Raise for an unknown app or a wrong secret; a missing secret is fine for a public
        client (``require_client_secret`` off) or where the flow needs none
        (``secret_optional``, the device flow)."""
        if not client_id or not self.client_known(client_id):
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if client_secret is None:
            if self.config.require_client_secret and not secret_optional:
                raise OAuthError("invalid_client", "invalid client credentials")
            return
        if not hmac.compare_digest(client_secret.encode(), self.config.client_secret.encode()):
            raise OAuthError("invalid_client", "invalid client credentials")

    # -- pending authorize requests

    def add_pending(self, pending: PendingAuthorization) -> None:
        with self._lock:
            now = time.time()
            for key in [k for k, p in self._pending.items() if now - p.created > PENDING_LIFETIME]:
                del self._pending[key]
            self._pending[pending.id] = pending

    def get_pending(self, pending_id: str | None) -> PendingAuthorization | None:
        with self._lock:
            pending = self._pending.get(pending_id or "")
        if pending is None or time.time() - pending.created > PENDING_LIFETIME:
            return None
        return pending

    def drop_pending(self, pending_id: str) -> None:
        with self._lock:
            self._pending.pop(pending_id, None)

    # -- codes

    def issue_code(
        self,
        username: str,
        client_id: str,
        redirect_uri: str,
        code_challenge: str | None,
        scope: list[str],
        nonce: str | None = None,
    ) -> str:
        code = "aPrx" + secrets.token_urlsafe(48).replace("-", ".") + "=="
        with self._lock:
            now = time.time()
            for key in [k for k, c in self._codes.items() if c.expires < now - CODE_LIFETIME]:
                del self._codes[key]
            self._codes[code] = AuthorizationCode(
                code,
                username,
                client_id,
                redirect_uri,
                code_challenge,
                scope,
                now + CODE_LIFETIME,
                nonce=nonce,
            )
        return code

    def redeem_code(
        self,
        code: str,
        client_id: str,
        redirect_uri: str | None,
        verifier: str | None,
        *,
        public: bool = False,
    ) -> TokenGrant:
        """Exchange a code; ``public``: the client sent no secret, so PKCE must stand in."""
        with self._lock:
            grant = self._codes.get(code)
            if grant is None or grant.client_id != client_id:
                raise OAuthError("invalid_grant", "invalid authorization code")
            if grant.used:
                # RFC 6749 section 4.1.2: a replayed code revokes what it produced.
                for token in grant.issued:
                    self._revoke_locked(token)
                raise OAuthError("invalid_grant", "invalid authorization code")
            if time.time() > grant.expires:
                raise OAuthError("invalid_grant", "expired authorization code")
            if redirect_uri != grant.redirect_uri:
                raise OAuthError("redirect_uri_mismatch", "redirect_uri must match configuration")
            if public and grant.code_challenge is None:
                # A public client proves itself with PKCE only: no challenge, no proof.
                raise OAuthError("invalid_client", "invalid client credentials")
            if grant.code_challenge is not None and (
                not verifier
                or not hmac.compare_digest(pkce_challenge(verifier), grant.code_challenge)
            ):
                raise OAuthError("invalid_grant", "invalid code verifier")
            grant.used = True
            issued = self._issue_locked(grant.username, client_id, grant.scope, with_refresh=True)
            grant.issued.append(issued.access_token)
            if issued.refresh_token is not None:
                grant.issued.append(issued.refresh_token)
            issued.nonce = grant.nonce
            return issued

    def issue_tokens(
        self, username: str, client_id: str, scope: list[str], *, with_refresh: bool
    ) -> TokenGrant:
        """Tokens for a grant that needs no code (device, client credentials, JWT bearer);
        a refresh token only if ``with_refresh`` and the scope asks for one."""
        with self._lock:
            return self._issue_locked(username, client_id, scope, with_refresh=with_refresh)

    def _issue_locked(
        self, username: str, client_id: str, scope: list[str], *, with_refresh: bool
    ) -> TokenGrant:
        refresh: str | None = None
        if with_refresh and REFRESH_SCOPES.intersection(scope):
            refresh = self._new_refresh_locked(username, client_id, scope)
        issued = self._new_access_locked(username, client_id, scope, refresh)
        return TokenGrant(
            issued.token,
            refresh,
            username,
            scope,
            int(issued.issued_at * 1000),
            client_id=client_id,
        )

    # -- tokens

    def _new_refresh_locked(self, username: str, client_id: str, scope: list[str]) -> str:
        token = _token("5Aep861", 80)
        self._refresh[token] = RefreshToken(token, username, client_id, scope)
        return token

    def _new_access_locked(
        self, username: str, client_id: str, scope: list[str], refresh: str | None
    ) -> AccessToken:
        now = time.time()
        token = AccessToken(
            f"{self.org_id15}!AQ" + _token("", 96),
            username,
            client_id,
            scope,
            now,
            now + self.config.session_timeout,
            refresh,
        )
        self._access[token.token] = token
        return token

    def refresh(self, refresh_token: str, client_id: str) -> TokenGrant:
        with self._lock:
            record = self._refresh.get(refresh_token)
            if (
                record is None
                or record.revoked
                or record.client_id != client_id
                or self.canonical_username(record.username) is None
            ):
                raise OAuthError("invalid_grant", "expired access/refresh token")
            new_refresh: str | None = None
            if self.config.rotate_refresh_tokens:
                record.revoked = True
                new_refresh = self._new_refresh_locked(record.username, client_id, record.scope)
            issued = self._new_access_locked(
                record.username, client_id, record.scope, new_refresh or refresh_token
            )
            return TokenGrant(
                issued.token,
                new_refresh,
                record.username,
                record.scope,
                int(issued.issued_at * 1000),
                client_id=client_id,
            )

    def access(self, token: str | None) -> AccessToken | None:
        """The live access token, or None if unknown, revoked or expired.

        Using a token is activity: like a real org's session timeout, a use in the second
        half of the timeout window starts the window again (sliding expiry), unless the
        emulator is set to ``absolute_session_expiry``.
        """
        if not token:
            return None
        with self._lock:
            record = self._access.get(token)
            now = time.time()
            if record is None or not record.active(now):
                return None
            timeout = self.config.session_timeout
            if not self.config.absolute_session_expiry and record.expires - now < timeout / 2:
                record.expires = now + timeout
            return record

    def describe_token(self, token: str) -> AccessToken | RefreshToken | None:
        with self._lock:
            access = self._access.get(token)
            if access is not None:
                return access if access.active(time.time()) else None
            refresh = self._refresh.get(token)
            return refresh if refresh is not None and not refresh.revoked else None

    def revoke(self, token: str) -> bool:
        """Revoke an access or refresh token (and a refresh token's access tokens)."""
        with self._lock:
            return self._revoke_locked(token)

    def _revoke_locked(self, token: str) -> bool:
        access = self._access.get(token)
        if access is not None:
            if access.revoked:
                return False
            access.revoked = True
            return True
        refresh = self._refresh.get(token)
        if refresh is None or refresh.revoked:
            return False
        refresh.revoked = True
        for record in self._access.values():
            if record.refresh_token == token:
                record.revoked = True
        return True

    # -- test controls

    def expire_access_tokens(self) -> None:
        with self._lock:
            for record in self._access.values():
                record.expires = 0.0

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            for token in list(self._refresh):
                self._revoke_locked(token)
