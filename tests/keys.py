"""Key pairs for JWT bearer tests: the private key a client signs with, and the
self-signed certificate a user uploads to the app (and the emulator gets as --jwt-cert)."""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

__all__ = ["write_certificate", "write_private_key"]


def write_private_key(key: rsa.RSAPrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def write_certificate(key: rsa.RSAPrivateKey, path: Path) -> Path:
    """A self-signed certificate of `key`: what a user uploads to the app for JWT."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ak-salesforce-nb test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path
