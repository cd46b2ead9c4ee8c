"""The two grants without a user at the keyboard: client credentials and JWT bearer.

Both answer with an access token only (no refresh token: ask again when it dies), and
both fail with the ``invalid_grant`` descriptions Salesforce uses. Tornado-free.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._jose import JoseError, public_key_from_pem, verify_rs256
from ._oauth import OAuthError, OAuthState, TokenGrant

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

__all__ = [
    "JWT_BEARER",
    "CertificateCache",
    "client_credentials_grant",
    "jwt_bearer_grant",
]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Scopes a token without a user session never carries (Salesforce drops them).
_USERLESS_DROPPED = frozenset({"full", "web", "refresh_token", "offline_access", "openid"})
#: What the app's "Selected OAuth Scopes" give a grant that asks for none.
APP_SCOPES = ["api", "id"]
#: A JWT ``exp`` a little in the past is accepted, for clocks that disagree.
CLOCK_SKEW = 60.0


def client_credentials_grant(oauth: OAuthState, client_id: str, scope_text: str) -> TokenGrant:
    """Tokens for the app's run-as user; the caller has checked the id and the secret."""
    config = oauth.config
    if not config.client_credentials:
        # An app without the flow has no run-as user: Salesforce's answer for both.
        raise OAuthError("invalid_grant", "no client credentials user enabled")
    username = oauth.canonical_username(config.client_credentials_user or config.default_username)
    if username is None:
        raise OAuthError("invalid_grant", "no client credentials user enabled")
    asked = scope_text.split() or APP_SCOPES
    scope = [s for s in asked if s not in _USERLESS_DROPPED]
    if not scope:
        raise OAuthError("invalid_grant", "no valid scopes defined")
    return oauth.issue_tokens(username, client_id, scope, with_refresh=False)


class CertificateCache:
    """The app's certificate, read once per path (a test may point the config elsewhere)."""

    def __init__(self) -> None:
        self._path: str | None = None
        self._key: RSAPublicKey | None = None

    def key(self, path: str) -> RSAPublicKey:
        if path != self._path or self._key is None:
            self._key = public_key_from_pem(Path(path).read_bytes())
            self._path = path
        return self._key


def jwt_bearer_grant(
    oauth: OAuthState, certificates: CertificateCache, assertion: str, audiences: set[str]
) -> TokenGrant:
    """Check the assertion as Salesforce does, in its order, and issue a token for ``sub``.

    ``audiences``: the ``aud`` values this login host accepts.
    """
    config = oauth.config
    if not assertion:
        raise OAuthError("invalid_grant", "invalid assertion")
    if not config.jwt_bearer or config.jwt_cert is None:
        # No certificate to check a signature against: no assertion can be valid.
        raise OAuthError("invalid_grant", "invalid assertion")
    try:
        key = certificates.key(config.jwt_cert)
    except (OSError, ValueError):
        # A certificate that cannot be read verifies nothing (the emulator says so at start).
        raise OAuthError("invalid_grant", "invalid assertion") from None
    try:
        claims = verify_rs256(assertion, key)
    except JoseError:
        raise OAuthError("invalid_grant", "invalid assertion") from None
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not oauth.client_known(issuer):
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if not _audience_ok(claims.get("aud"), audiences):
        raise OAuthError("invalid_grant", "audience is invalid")
    expires = claims.get("exp")
    if not isinstance(expires, (int, float)) or isinstance(expires, bool):
        raise OAuthError("invalid_grant", "invalid assertion")
    if expires + CLOCK_SKEW < time.time():
        raise OAuthError("invalid_grant", "expired authorization code")
    subject = claims.get("sub")
    username = oauth.canonical_username(subject) if isinstance(subject, str) else None
    if username is None:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    if not config.jwt_preauthorized:
        # "All users may self-authorize": only an earlier approval by the user counts.
        if not oauth.has_consent(username, issuer):
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    elif config.jwt_admin_approved_users is not None and username.lower() not in {
        user.lower() for user in config.jwt_admin_approved_users
    }:
        raise OAuthError("invalid_app_access", "user is not admin approved to access this app")
    return oauth.issue_tokens(username, issuer, list(APP_SCOPES), with_refresh=False)


def _audience_ok(audience: Any, accepted: set[str]) -> bool:
    values = audience if isinstance(audience, list) else [audience]
    return any(isinstance(value, str) and value in accepted for value in values)
