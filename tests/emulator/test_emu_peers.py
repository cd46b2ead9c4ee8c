"""Clients nobody here wrote must work unchanged against the emulator.

simple-salesforce builds ``https://`` URLs from the instance URL, so its emulator serves
TLS (a throw-away CA made by the ``tls_files`` fixture); the requests session trusts that
CA through the ordinary ``session.verify`` setting. authlib drives the OAuth flow.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from simple_salesforce.api import Salesforce

from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator

from .helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, hidden_pending, query_params


@pytest.fixture(scope="module")
def tls_emulator(tls_files: tuple[Path, Path, Path]) -> Iterator[RunningEmulator]:
    _, cert, key = tls_files
    config = EmulatorConfig(
        accounts=1000,
        seed=11,
        tls_certfile=str(cert),
        tls_keyfile=str(key),
        bulk_job_delay=0.1,
    )
    with start_emulator(config) as emu:
        yield emu


@pytest.fixture(scope="module")
def https(tls_files: tuple[Path, Path, Path]) -> Iterator[requests.Session]:
    session = requests.Session()
    session.verify = str(tls_files[0])
    # requests lets REQUESTS_CA_BUNDLE (set on many machines) override session.verify;
    # the emulator is on loopback, so ignore the environment (proxies included).
    session.trust_env = False
    yield session
    session.close()


def browser_code(https: requests.Session, authorize_url: str) -> str:
    """Log in and approve on the emulator's pages (as a user would); return the callback URL."""
    page = https.get(authorize_url, allow_redirects=False)
    if page.status_code == 302:  # already logged in and approved in this browser session
        return str(page.headers["Location"])
    assert page.status_code == 200 and 'id="Login"' in page.text
    base = f"{urlsplit(authorize_url).scheme}://{urlsplit(authorize_url).netloc}"
    answer = https.post(
        base + "/login",
        data={
            "pending": hidden_pending(page.text),
            "username": "ada@example.com",
            "password": "demo",
        },
        allow_redirects=False,
    )
    if answer.status_code == 200:
        answer = https.post(
            base + "/consent",
            data={"pending": hidden_pending(answer.text), "decision": "allow"},
            allow_redirects=False,
        )
    assert answer.status_code == 302
    location: str = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    return location


@pytest.fixture(scope="module")
def sf(tls_emulator: RunningEmulator, https: requests.Session) -> Any:
    """simple-salesforce with a session id from a real code flow (login + consent pages)."""
    oauth = OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        scope="api refresh_token",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    oauth.verify, oauth.trust_env = https.verify, False
    verifier = "v" * 150  # longer than RFC 7636 allows, as jsforce sends
    url, _ = oauth.create_authorization_url(
        f"{tls_emulator.url}/services/oauth2/authorize", code_verifier=verifier
    )
    callback = browser_code(https, url)
    token = oauth.fetch_token(
        f"{tls_emulator.url}/services/oauth2/token",
        authorization_response=callback,
        code_verifier=verifier,
    )
    oauth.close()
    return Salesforce(
        session_id=token["access_token"],
        instance_url=token["instance_url"],
        version="66.0",
        session=https,
    )


def test_authlib_code_flow_with_pkce_and_refresh(
    tls_emulator: RunningEmulator, https: requests.Session
) -> None:
    token_url = f"{tls_emulator.url}/services/oauth2/token"
    with OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        scope="api refresh_token",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    ) as oauth:
        oauth.verify, oauth.trust_env = https.verify, False
        verifier = "x" * 64
        url, state = oauth.create_authorization_url(
            f"{tls_emulator.url}/services/oauth2/authorize", code_verifier=verifier
        )
        assert "code_challenge=" in url and "code_challenge_method=S256" in url
        callback = browser_code(https, url)
        assert query_params(callback)["state"] == state
        token = oauth.fetch_token(
            token_url, authorization_response=callback, code_verifier=verifier
        )
        assert token["token_type"] == "Bearer" and token["instance_url"] == tls_emulator.url
        first_access = token["access_token"]
        refreshed = oauth.refresh_token(token_url)
        assert refreshed["access_token"] != first_access
        assert refreshed["refresh_token"] == token["refresh_token"]  # kept by authlib
        info = oauth.get(f"{tls_emulator.url}/services/oauth2/userinfo").json()
        assert info["preferred_username"] == "ada@example.com"


def test_query_all_with_pagination_and_describe(sf: Any) -> None:
    result = sf.query_all("SELECT Id, Name, Account.Name FROM Contact")
    assert result["totalSize"] == 2500 == len({r["Id"] for r in result["records"]})
    first = sf.query("SELECT Id FROM Contact")
    assert first["done"] is False and len(first["records"]) == 2000
    assert sf.api_usage["api-usage"].total == 15000  # parsed from Sforce-Limit-Info
    names = {s["name"] for s in sf.describe()["sobjects"]}
    assert {"Account", "Contact", "Opportunity"} <= names
    assert sf.Account.describe()["name"] == "Account"
    assert sf.Account.metadata()["objectDescribe"]["keyPrefix"] == "001"
    assert sf.is_sandbox() is False
    assert sf.limits()["DailyApiRequests"]["Max"] == 15000


def test_crud_and_upsert(sf: Any) -> None:
    created = sf.Account.create({"Name": "Peer Client Inc.", "Industry": "Media"})
    assert created["success"] is True
    record_id = created["id"]
    assert sf.Account.get(record_id)["Name"] == "Peer Client Inc."
    assert sf.Account.update(record_id, {"Rating": "Warm"}) == 204
    assert sf.Account.get(record_id)["Rating"] == "Warm"
    assert sf.Account.upsert("External_Id__c/PEER-1", {"Name": "Peer Upsert"}) == 201
    assert sf.Account.upsert("External_Id__c/PEER-1", {"Rating": "Hot"}) == 200
    assert sf.Account.get_by_custom_id("External_Id__c", "PEER-1")["Rating"] == "Hot"
    assert sf.Account.delete(record_id) == 204
    deleted = sf.query_all(f"SELECT Id FROM Account WHERE Id = '{record_id}'", include_deleted=True)
    assert deleted["totalSize"] == 1


def test_bulk2_query(sf: Any) -> None:
    pages = list(
        sf.bulk2.Account.query("SELECT Id, Name, Owner.Name FROM Account", max_records=400, wait=0)
    )
    assert len(pages) == 3
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    assert len(rows) >= 1000 and rows[0].keys() == {"Id", "Name", "Owner.Name"}
