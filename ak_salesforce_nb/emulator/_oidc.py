"""OpenID Connect: the emulator's signing key, its JWKS at ``/id/keys``, and ID tokens.

The RSA key is made the first time an ID token or the JWKS is asked for (2048-bit key
generation costs tens of milliseconds, which an emulator started for a REST test should
not pay), and lives as long as the emulator: a client that cached the JWKS keeps
verifying.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import TYPE_CHECKING, Any

from ._jose import b64url, generate_rsa_key, public_jwk, sign_rs256

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = ["ID_TOKEN_LIFETIME", "OidcKeys", "at_hash"]

#: Seconds an ID token is valid (it proves a login; the access token is the session).
ID_TOKEN_LIFETIME = 300


def at_hash(access_token: str) -> str:
    """OpenID Connect's ``at_hash``: the left half of SHA-256 of the access token."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


class OidcKeys:
    """One signing key per emulator, made on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: RSAPrivateKey | None = None
        self._kid = ""

    def _private(self) -> tuple[RSAPrivateKey, str]:
        with self._lock:
            if self._key is None:
                key = generate_rsa_key()
                numbers = key.public_key().public_numbers()
                fingerprint = hashlib.sha256(str(numbers.n).encode()).hexdigest()
                self._key, self._kid = key, "emu-" + fingerprint[:12]
            return self._key, self._kid

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        key, kid = self._private()
        return {"keys": [public_jwk(key.public_key(), kid)]}

    def id_token(
        self,
        *,
        issuer: str,
        subject: str,
        audience: str,
        access_token: str,
        nonce: str | None,
        profile: dict[str, Any],
    ) -> str:
        """An RS256 ID token with the standard claims first, then the user's profile."""
        key, kid = self._private()
        now = int(time.time())
        claims: dict[str, Any] = {
            "at_hash": at_hash(access_token),
            "sub": subject,
            "aud": audience,
            "iss": issuer,
            "exp": now + ID_TOKEN_LIFETIME,
            "iat": now,
            "auth_time": now,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        claims.update(profile)
        return sign_rs256(claims, key, kid)
