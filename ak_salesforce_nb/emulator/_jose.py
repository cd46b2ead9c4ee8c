"""Just enough JOSE for the emulator: RS256 JWTs signed and verified, and a JWK of a key.

Written on ``cryptography`` rather than a JOSE library so the emulator checks exactly what
Salesforce checks (the algorithm, then the signature) and nothing a library adds or
relaxes. ``cryptography`` is imported when a JWT is first handled, not at startup.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

__all__ = [
    "JoseError",
    "b64url",
    "b64url_decode",
    "generate_rsa_key",
    "public_jwk",
    "public_key_from_pem",
    "sign_rs256",
    "verify_rs256",
]


class JoseError(ValueError):
    """A JWT that is malformed, uses another algorithm, or whose signature does not verify."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as error:
        raise JoseError("not base64url") from error


def generate_rsa_key() -> RSAPrivateKey:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_key_from_pem(data: bytes) -> RSAPublicKey:
    """The RSA public key of a PEM certificate (or a PEM public key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if b"-----BEGIN CERTIFICATE-----" in data:
        key: Any = x509.load_pem_x509_certificate(data).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the certificate's key is not an RSA key")
    return key


def sign_rs256(claims: dict[str, Any], key: RSAPrivateKey, kid: str | None = None) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    header: dict[str, str] = {"alg": "RS256", "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def verify_rs256(token: str, key: RSAPublicKey) -> dict[str, Any]:
    """The claims of ``token`` once its RS256 signature verifies against ``key``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    parts = token.strip().split(".")
    if len(parts) != 3:
        raise JoseError("a JWT has three parts")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except (ValueError, UnicodeDecodeError) as error:
        raise JoseError("the header or the claims are not JSON") from error
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JoseError("the header and the claims must be JSON objects")
    if header.get("alg") != "RS256":
        raise JoseError("only RS256 is accepted")
    try:
        key.verify(
            b64url_decode(parts[2]),
            f"{parts[0]}.{parts[1]}".encode("ascii"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, UnicodeEncodeError) as error:
        raise JoseError("the signature does not verify") from error
    return claims


def public_jwk(key: RSAPublicKey, kid: str) -> dict[str, str]:
    numbers = key.public_numbers()

    def encode(value: int) -> str:
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {
        "kty": "RSA",
        "n": encode(numbers.n),
        "e": encode(numbers.e),
        "alg": "RS256",
        "use": "sig",
        "kid": kid,
    }
