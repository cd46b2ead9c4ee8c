"""Peer clients reading and authorizing through the emulator, unchanged.

simple-salesforce's reads that ``test_emu_peers`` does not cover are driven here as that
peer's user calls them. Two other peers were run by hand (Node.js programs, not
dependencies of this repository): jsforce 3.10 (``query``/``queryMore``,
``run({autoFetch, maxFetch})``, ``scanAll``, ``find().sort().limit().skip()``,
``select().where()``, ``include()`` child queries, ``count``, ``findOne``, ``retrieve``,
``describe``, ``describeGlobal``, ``limits``, ``identity``, ``search``, ``updated``/
``deleted``, ``bulk2.query`` streams, the OAuth2 web server flow with and without PKCE,
refresh on a dead access token with its ``refresh`` event, ``logout`` revoking) and the
Salesforce CLI 2.146 (``org login access-token``, ``sfdx-url``, ``web`` through a scripted
browser, ``jwt``; ``org display``, ``sobject list/describe``, ``org list limits``, ``data
query`` in human, CSV and JSON forms with parents, children and aggregates, ``--all-rows``,
``data export bulk`` CSV/JSON/semicolon/CRLF/all-rows, ``data search``, ``data get
record``, ``api request rest``, refresh after a revoked access token). What they showed
the emulator got wrong is pinned here (JWT audience) and in ``test_emu_query``: date
literals with a large n (``sf data query``), INCLUDES/EXCLUDES on multi-select picklists
(jsforce ``find({F: {$includes: [...]}})``), fiscal date literals (jsforce
``SfDate.THIS_FISCAL_YEAR``: ranges ready, the parser's word list still lacks them).
"""

from __future__ import annotations

import csv
import datetime
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce.exceptions import SalesforceResourceNotFound

from ak_salesforce_nb.emulator import RunningEmulator
from tests.keys import write_certificate

from .helpers import CLIENT_ID

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


# -- the Salesforce CLI's JWT login ---------------------------------------------------------


@pytest.fixture(scope="module")
def app_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[rsa.RSAPrivateKey, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key, write_certificate(key, tmp_path_factory.mktemp("jwt") / "server.crt")


def jwt_grant(
    emu: RunningEmulator, client: httpx.Client, key: Any, audience: str
) -> httpx.Response:
    claims = {
        "iss": CLIENT_ID,
        "sub": "ada@example.com",
        "aud": audience,
        "exp": int(time.time()) + 180,
    }
    assertion = jwt.encode(claims, key, algorithm="RS256")
    return client.post(
        "/services/oauth2/token", data={"grant_type": JWT_GRANT, "assertion": assertion}
    )


def test_jwt_audience_may_be_the_login_hosts_root_url(
    emu: RunningEmulator, client: httpx.Client, app_key: tuple[rsa.RSAPrivateKey, Path]
) -> None:
    """`sf org login jwt --instance-url URL` signs aud = URL normalized to "https://host/"
    first (then login/test.salesforce.com, unreachable here): the emulator refused it with
    "audience is invalid", so the CLI could not log in at all."""
    emu.config.jwt_cert = str(app_key[1])
    key = app_key[0]
    for audience in (emu.url, emu.url + "/"):
        answer = jwt_grant(emu, client, key, audience)
        assert answer.status_code == 200, (audience, answer.text)
        assert answer.json()["instance_url"] == emu.url
    for audience in (emu.url + "//", emu.url + "/services", "https://login.salesforce.com"):
        refused = jwt_grant(emu, client, key, audience)
        assert refused.status_code == 400, audience
        assert refused.json() == {
            "error": "invalid_grant",
            "error_description": "audience is invalid",
        }


# -- simple-salesforce reads ------------------------------------------------------------------


def test_query_all_iter_pages_and_include_deleted(sf: Any) -> None:
    total = sf.query("SELECT COUNT() FROM Contact")["totalSize"]
    assert total > 2000  # more than one page of the default batch
    ids = [record["Id"] for record in sf.query_all_iter("SELECT Id FROM Contact")]
    assert len(ids) == len(set(ids)) == total
    every = list(sf.query_all_iter("SELECT Id FROM Contact", include_deleted=True))
    assert len(every) >= total


def test_get_by_custom_id_and_its_errors(sf: Any) -> None:
    first = sf.query("SELECT Id, External_Id__c FROM Account ORDER BY Name LIMIT 1")["records"][0]
    record = sf.Account.get_by_custom_id("External_Id__c", first["External_Id__c"])
    assert record["Id"] == first["Id"] and record["attributes"]["type"] == "Account"
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Account.get_by_custom_id("External_Id__c", "NO-SUCH-KEY")
    content: Any = missing.value.content  # the parsed error list (typed as bytes upstream)
    assert content == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]
    with pytest.raises(SalesforceResourceNotFound) as not_external:
        sf.Account.get_by_custom_id("Name", "x")
    content = not_external.value.content
    assert content[0]["message"] == (
        "Provided external ID field does not exist or is not accessible: Name"
    )


def test_org_and_metadata_reads(sf: Any) -> None:
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] >= limits["DailyApiRequests"]["Remaining"] > 0
    described = sf.describe()
    assert described["encoding"] == "UTF-8" and described["maxBatchSize"] == 200
    names = {entry["name"] for entry in described["sobjects"]}
    assert {"Account", "Contact", "Opportunity", "User"} <= names
    metadata = sf.Account.metadata()
    assert metadata["objectDescribe"]["keyPrefix"] == "001"
    assert isinstance(metadata["recentItems"], list)
    fields = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert fields["Email"]["idLookup"] and fields["Id"]["idLookup"]
    assert not fields["LastName"]["idLookup"]
    assert sf.is_sandbox() is False


def test_quick_search_and_search(sf: Any) -> None:
    name = sf.query("SELECT Name FROM Account ORDER BY Name LIMIT 1")["records"][0]["Name"]
    word = name.split()[0]
    found = sf.quick_search(word)["searchRecords"]
    assert found and all(hit["attributes"]["type"] for hit in found)
    limited = sf.search(f"FIND {{{word}}} IN NAME FIELDS RETURNING Account(Name LIMIT 2)")
    hits = limited["searchRecords"]
    assert 0 < len(hits) <= 2 and all(word.lower() in h["Name"].lower() for h in hits)


def test_updated_and_deleted_spans(sf: Any) -> None:
    end = datetime.datetime.now(datetime.timezone.utc)
    updated = sf.Account.updated(end - datetime.timedelta(days=3), end)
    assert set(updated) == {"ids", "latestDateCovered"}
    deleted = sf.Account.deleted(end - datetime.timedelta(days=3), end)
    assert set(deleted) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}


def test_bulk2_download_writes_one_file_per_result_page(sf: Any, tmp_path: Path) -> None:
    total = sf.query("SELECT COUNT() FROM Account")["totalSize"]
    pages = sf.bulk2.Account.download(
        "SELECT Id, Name, Owner.Name FROM Account", path=str(tmp_path), max_records=400
    )
    assert [page["number_of_records"] for page in pages] == [400] * (total // 400) + (
        [total % 400] if total % 400 else []
    )
    ids: list[str] = []
    for page in pages:
        with open(page["file"], newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert rows and list(rows[0]) == ["Id", "Name", "Owner.Name"]
        ids += [row["Id"] for row in rows]
    assert len(ids) == len(set(ids)) == total
