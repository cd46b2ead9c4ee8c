"""Helpers for the emulator tests: PKCE pairs, driving the login pages, getting tokens."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import ssl
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import requests

from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.emulator._csv_values import coerce_csv, error_text
from ak_salesforce_nb.emulator._errors import ApiError
from ak_salesforce_nb.emulator._ingest import IngestJob
from ak_salesforce_nb.emulator._state import EmulatorState
from ak_salesforce_nb.emulator._store import Table

#: One TLS context for every test client: building httpx's default one costs ~70 ms each.
SSL_CONTEXT = ssl.create_default_context()

VERSION = "66.0"
REDIRECT_URI = "http://localhost:8888/user/ada/oauth/redirect/salesforce"
CLIENT_ID = "demo-client-id"
CLIENT_SECRET = "demo-client-secret"


def http_client(base_url: str, **kwargs: Any) -> httpx.Client:
    """An httpx client sharing the suite's TLS context."""
    kwargs.setdefault("verify", SSL_CONTEXT)
    kwargs.setdefault("timeout", 30)
    return httpx.Client(base_url=base_url, **kwargs)


def pkce_pair(length: int = 64) -> tuple[str, str]:
    """(verifier, S256 challenge); ``length`` may exceed RFC 7636's 128 on purpose."""
    verifier = secrets.token_urlsafe(length)[:length]
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def hidden_pending(html: str) -> str:
    match = re.search(r'name="pending" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def authorize_params(**overrides: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "state": "st-" + secrets.token_hex(4),
        "scope": "api refresh_token",
    }
    params.update(overrides)
    return params


def exchange_code(
    client: httpx.Client,
    code: str,
    verifier: str | None = None,
    redirect_uri: str = REDIRECT_URI,
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": redirect_uri,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    return client.post("/services/oauth2/token", data=data)


def browser_login(
    client: httpx.Client,
    params: dict[str, str],
    username: str = "ada@example.com",
    password: str = "demo",  # noqa: S107 - the emulator's demo password
    decision: str | None = "allow",
) -> httpx.Response:
    """Drive authorize -> login page -> (consent page) like a browser; return the last answer."""
    page = client.get("/services/oauth2/authorize", params=params)
    if page.status_code != 200 or 'id="Login"' not in page.text:
        return page
    answer = client.post(
        "/login",
        data={"pending": hidden_pending(page.text), "username": username, "password": password},
    )
    if answer.status_code == 200 and 'id="oaapprove"' in answer.text and decision is not None:
        answer = client.post(
            "/consent", data={"pending": hidden_pending(answer.text), "decision": decision}
        )
    return answer


def get_token(emu: RunningEmulator, username: str | None = None) -> dict[str, Any]:
    """A full token answer obtained by redeeming a code minted with ``authorize_code``."""
    code = emu.authorize_code(username=username, redirect_uri=REDIRECT_URI)
    with http_client(emu.url) as client:
        answer = exchange_code(client, code)
    assert answer.status_code == 200, answer.text
    token: dict[str, Any] = answer.json()
    return token


def get_token_from(client: httpx.Client, **overrides: str) -> dict[str, Any]:
    """A token through an auto-approving emulator's authorize endpoint, over HTTP only."""
    answer = client.get("/services/oauth2/authorize", params=authorize_params(**overrides))
    assert answer.status_code == 302, answer.text
    code = query_params(answer.headers["location"])["code"]
    exchanged = exchange_code(client, code)
    assert exchanged.status_code == 200, exchanged.text
    token: dict[str, Any] = exchanged.json()
    return token


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


def rest_client(emu: RunningEmulator, version: str = "66.0") -> httpx.Client:
    """A client of the REST API under ``/services/data/vNN.N``, signed in as the demo user."""
    token = get_token(emu)
    return http_client(
        f"{emu.url}/services/data/v{version}",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )


def queued_account_job(
    state: EmulatorState,
    data: bytes,
    *,
    operation: str = "insert",
    external_id: str | None = None,
    job_id: str = "750000000000001AAA",
) -> IngestJob:
    """An ``UploadComplete`` Bulk ingest job of Accounts holding `data` (LF, commas), for
    `_ingest_run.run_job` to process in-process, without the web layer."""
    table = state.store.tables["account"]
    return IngestJob(
        id=job_id,
        operation=operation,
        table=table,
        external_id=table.sobject.field(external_id) if external_id else None,
        created_by_id=state.store.users.columns["Id"][0],
        created=time.time(),
        created_date="",
        column_delimiter="COMMA",
        line_ending="LF",
        api_version="66.0",
        state="UploadComplete",
        data=data,
    )


def contents(table: Table) -> dict[str, Any]:
    """Everything a write leaves in a table, but the write's own timestamps."""
    stamps = ("CreatedDate", "LastModifiedDate", "SystemModstamp")
    return {
        "columns": {k: v for k, v in table.columns.items() if k not in stamps},
        "index": dict(table.index),
        "unique": {k: dict(v) for k, v in table.unique_indexes.items()},
        "recent": list(table.recent),
        "next_id": table.allocator.peek(),
        "version_moved": table.version > 0,
    }


def reference_upsert(
    state: EmulatorState, header: list[str], rows: list[list[str]]
) -> dict[int, tuple[str, str]]:
    """Each row of an upsert job by External_Id__c (the first column) written alone, with
    the runner's rules: empty leaves a field out, #N/A nulls it, missing and repeated
    keys fail, a key of a record updates it."""
    table = state.store.tables["account"]
    key_field = table.sobject.field("External_Id__c")
    assert key_field is not None
    user = state.store.users.columns["Id"][0]
    # Keys repeated in the chunk, ragged rows' too (rows are never empty).
    keys = [row[0].casefold() for row in rows if row[0] not in ("", "#N/A")]
    duplicates = {k for k in keys if keys.count(k) > 1}
    outcomes: dict[int, tuple[str, str]] = {}
    for index, row in enumerate(rows):
        known = ""
        try:
            if len(row) != len(header):
                raise ApiError(
                    400,
                    "INVALID_FIELD",
                    f"The row has {len(row)} fields where the header has {len(header)}",
                    [],
                )
            body = {
                n: None if t == "#N/A" else t for n, t in zip(header, row, strict=True) if t != ""
            }
            key = "" if row[0] == "#N/A" else row[0]
            if not key:
                raise ApiError(
                    400, "MISSING_ARGUMENT", "External_Id__c not specified", [key_field.name]
                )
            if key.casefold() in duplicates:
                raise ApiError(
                    400,
                    "DUPLICATE_VALUE",
                    f"Duplicate external id specified: {key}",
                    [key_field.name],
                )
            existing = state.records.find_external(table, key_field, key)
            if existing is not None:
                known = table.columns["Id"][existing]
                body.pop("External_Id__c", None)
                state.records.update(table, existing, body, user, coerce_csv)
                outcomes[index] = (known, "false")
            else:
                body["External_Id__c"] = key
                outcomes[index] = (state.records.create(table, body, user, coerce_csv), "true")
        except ApiError as error:
            outcomes[index] = (known, error_text(error))
    return outcomes
