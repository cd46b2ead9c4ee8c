"""Fixtures for the emulator tests: running emulators, HTTP clients, tokens, TLS files.

``emu`` here deliberately overrides the suite-wide fixture of the same name: these tests
need an org with more data, two users and a fixed anchor date.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator

from .helpers import VERSION, get_token, http_client


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[RunningEmulator]:
    """Read-mostly org shared by the session (tests must not change its records)."""
    config = EmulatorConfig(
        accounts=1000,
        seed=7,
        users={"ada@example.com": "demo", "bob@example.com": "builder"},
        bulk_job_delay=0.2,
        anchor_date=datetime.date(2024, 6, 15),
    )
    with start_emulator(config) as emu:
        yield emu


@pytest.fixture
def emu(shared_emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    """The shared emulator, with its config and faults restored after the test."""
    saved = dataclasses.replace(shared_emulator.config)
    saved.callback_urls = list(shared_emulator.config.callback_urls)
    saved_slow = shared_emulator.slow_seconds
    yield shared_emulator
    live = shared_emulator.config
    for f in dataclasses.fields(live):
        setattr(live, f.name, getattr(saved, f.name))
    shared_emulator.token_fault = None
    shared_emulator.slow_seconds = saved_slow


@pytest.fixture(scope="module")
def writable_emulator() -> Iterator[RunningEmulator]:
    """An org of its own for a test module that creates, updates or deletes records."""
    with start_emulator(EmulatorConfig(accounts=120, seed=3, bulk_job_delay=0.2)) as emu:
        yield emu


@pytest.fixture
def client(emu: RunningEmulator) -> Iterator[httpx.Client]:
    with http_client(emu.url) as http:
        yield http


@pytest.fixture
def token(emu: RunningEmulator) -> dict[str, Any]:
    return get_token(emu)


@pytest.fixture
def api(emu: RunningEmulator, token: dict[str, Any]) -> Iterator[httpx.Client]:
    """An authenticated client rooted at ``/services/data/v66.0``."""
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    with http_client(f"{emu.url}/services/data/v{VERSION}", headers=headers, timeout=30) as http:
        yield http


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for 127.0.0.1, made with cryptography."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "emulator test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = folder / "ca.pem"
    cert_path = folder / "server.pem"
    key_path = folder / "server-key.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path
