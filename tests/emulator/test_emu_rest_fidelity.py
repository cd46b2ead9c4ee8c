"""REST API paths, pages and metadata as real clients use them (issue 16).

Each test names the Salesforce behaviour it pins: repeated slashes, short pages, the
``queryAll`` locator form, retired and unknown versions, ``Allow`` and HEAD.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.emulator._short_pages import LONG_TEXT_PAGE, PAGE_BUDGET, row_width

from .helpers import VERSION, http_client

BASE = f"/services/data/v{VERSION}"


@pytest.fixture
def raw(emu: RunningEmulator, token: dict[str, Any]) -> Iterator[httpx.Client]:
    """An authenticated client rooted at the instance URL (paths written out in full)."""
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    with http_client(emu.url, headers=headers) as http:
        yield http


def _error(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert isinstance(body, list) and len(body) == 1, body
    error: dict[str, Any] = body[0]
    return error


def _follow(client: httpx.Client, first: dict[str, Any]) -> list[dict[str, Any]]:
    pages = [first]
    while not pages[-1]["done"]:
        pages.append(client.get(pages[-1]["nextRecordsUrl"]).json())
    return pages


# -- repeated slashes ---------------------------------------------------------------------


def test_repeated_slashes_are_served_as_single_ones(
    raw: httpx.Client, emu: RunningEmulator
) -> None:
    """What a client builds from an instance URL ending in ``/``."""
    soql = "SELECT Id, Name FROM Account ORDER BY Id LIMIT 5"
    plain = raw.get(f"{BASE}/query", params={"q": soql})
    doubled = raw.get(f"{emu.url}/{BASE}/query", params={"q": soql})  # //services/...
    inner = raw.get(f"{emu.url}/services//data/v{VERSION}//query/", params={"q": soql})
    assert doubled.request.url.raw_path.startswith(b"//services/data")
    assert plain.status_code == doubled.status_code == inner.status_code == 200
    assert plain.json() == doubled.json() == inner.json()
    # Writes too: the body reaches the handler of the single-slash path, once.
    created = raw.post(f"{emu.url}/{BASE}/sobjects/Account/", json={"Name": "Slashes Inc"})
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]
    assert raw.get(f"{BASE}/sobjects/Account/{record_id}").json()["Name"] == "Slashes Inc"
    assert raw.delete(f"{emu.url}//{BASE}/sobjects/Account/{record_id}").status_code == 204
    # Errors keep their JSON shape, and the version list answers without a token.
    assert _error(raw.get(f"{emu.url}/{BASE}/nothing"), 404)["errorCode"] == "NOT_FOUND"
    with http_client(emu.url) as anonymous:
        assert anonymous.get(f"{emu.url}//services/data/").json()[0]["version"] == "31.0"


# -- short pages and the locator form -----------------------------------------------------


def test_relationship_pages_count_children_toward_the_batch(raw: httpx.Client) -> None:
    soql = "SELECT Id, (SELECT Id FROM Contacts) FROM Account ORDER BY Id"
    first = raw.get(f"{BASE}/query", params={"q": soql}).json()
    pages = _follow(raw, first)
    assert len(pages) > 1
    for page in pages[:-1]:
        records = page["records"]
        inline = sum(len((r["Contacts"] or {"records": []})["records"]) for r in records)
        # Parents stop once parents plus inline children reach the 2,000 batch.
        assert len(records) < 2000 <= len(records) + inline
        without_last = records[:-1]
        inline_before = sum(
            len((r["Contacts"] or {"records": []})["records"]) for r in without_last
        )
        assert len(without_last) + inline_before < 2000
    ids = [r["Id"] for p in pages for r in p["records"]]
    assert len(ids) == len(set(ids)) == first["totalSize"]


def test_wide_rows_give_short_pages_of_a_predictable_size(raw: httpx.Client) -> None:
    account = {f["name"]: f for f in raw.get(f"{BASE}/sobjects/Account/describe").json()["fields"]}
    user = {f["name"]: f for f in raw.get(f"{BASE}/sobjects/User/describe").json()["fields"]}
    assert account["Description"]["type"] == "textarea" and account["Description"]["length"] > 4000
    soql = "SELECT Id, Name, Description, Owner.Name, Owner.Email FROM Account ORDER BY Id"
    first = raw.get(f"{BASE}/query", params={"q": soql}).json()
    # attributes 80 + Id 18 + the declared text lengths, long text counted as 4,000.
    width = 80 + 18 + account["Name"]["length"] + 4000
    width += user["Name"]["length"] + user["Email"]["length"]
    size = PAGE_BUDGET // width
    assert LONG_TEXT_PAGE < size < 2000
    assert len(first["records"]) == size and first["nextRecordsUrl"].endswith(f"-{size}")
    pages = _follow(raw, first)
    assert {len(p["records"]) for p in pages[:-1]} == {size}  # the same width on every page
    assert sum(len(p["records"]) for p in pages) == first["totalSize"]
    narrow = raw.get(f"{BASE}/query", params={"q": "SELECT Id, Name FROM Account"}).json()
    assert len(narrow["records"]) == min(2000, narrow["totalSize"])
    assert row_width([]) == 80


def test_forced_short_pages_cut_every_page_after_the_first(
    raw: httpx.Client, emu: RunningEmulator
) -> None:
    emu.config.short_pages = True
    headers = {"Sforce-Query-Options": "batchSize=200"}
    first = raw.get(f"{BASE}/query", params={"q": "SELECT Id FROM Contact"}, headers=headers)
    pages = _follow(raw, first.json())
    sizes = [len(p["records"]) for p in pages]
    assert sizes[0] == 200 and all(100 < s <= 200 for s in sizes[:-1]) and min(sizes) < 200
    assert len(set(sizes[:-1])) > 2  # varying cuts
    ids = [r["Id"] for p in pages for r in p["records"]]
    assert len(ids) == len(set(ids)) == pages[0]["totalSize"]
    # Any page of the locator stays addressable by offset, with the same cut.
    locator = pages[0]["nextRecordsUrl"].rsplit("-", 1)[0]
    again = raw.get(f"{locator}-200", headers=headers).json()
    assert again["records"] == pages[1]["records"]


def test_query_all_next_records_url_names_query_and_both_forms_answer(
    raw: httpx.Client,
) -> None:
    first = raw.get(f"{BASE}/queryAll", params={"q": "SELECT Id FROM Contact"}).json()
    url = first["nextRecordsUrl"]
    assert url.startswith(f"{BASE}/query/01g") and url.endswith("-2000")
    as_query = raw.get(url).json()
    as_query_all = raw.get(url.replace("/query/", "/queryAll/")).json()
    assert as_query == as_query_all and as_query["records"]


# -- versions -----------------------------------------------------------------------------


def test_retired_versions_are_gone_and_unknown_ones_not_found(raw: httpx.Client) -> None:
    for version in ("7.0", "20.0", "21.0", "30.0"):
        for resource in ("limits", "query?q=SELECT+Id+FROM+Account", "sobjects/Account", "x"):
            error = _error(raw.get(f"/services/data/v{version}/{resource}"), 410)
            assert error["errorCode"] == "GONE" and version in error["message"]
    for version in ("6.0", "67.0", "99.0"):
        error = _error(raw.get(f"/services/data/v{version}/limits"), 404)
        assert error == {
            "message": "The requested resource does not exist",
            "errorCode": "NOT_FOUND",
        }
    versions = [v["version"] for v in raw.get("/services/data").json()]
    assert versions[0] == "31.0" and "30.0" not in versions and versions[-1] == VERSION
    for version in versions:
        assert raw.get(f"/services/data/v{version}/limits").status_code == 200


# -- Allow and HEAD -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "allowed"),
    [
        ("/limits", "POST", "HEAD,GET"),
        ("/query?q=SELECT+Id+FROM+Account", "DELETE", "HEAD,GET"),
        ("/sobjects", "PUT", "HEAD,GET"),
        ("/sobjects/Account", "PATCH", "HEAD,GET,POST"),
        ("/sobjects/Account/describe", "POST", "HEAD,GET"),
        ("/sobjects/Account/001000000000000AAA", "POST", "HEAD,GET,PATCH,DELETE"),
        ("/composite/sobjects", "PUT", None),
    ],
)
def test_method_not_allowed_lists_the_allowed_ones(
    raw: httpx.Client, path: str, method: str, allowed: str | None
) -> None:
    answer = raw.request(method, BASE + path)
    error = _error(answer, 405)
    assert error["errorCode"] == "METHOD_NOT_ALLOWED"
    listed = answer.headers["allow"]
    assert error["message"] == f"HTTP Method '{method}' not allowed. Allowed are {listed}"
    assert method not in listed.split(",")
    if allowed is not None:
        assert listed == allowed


def test_head_answers_the_headers_of_get_without_a_body(
    raw: httpx.Client, emu: RunningEmulator
) -> None:
    for path in ("/limits", "/sobjects/Account/describe", "/query?q=SELECT+Id+FROM+User"):
        got = raw.get(BASE + path)
        head = raw.head(BASE + path)
        assert head.status_code == got.status_code == 200
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["sforce-limit-info"].startswith("api-usage=")
    assert raw.head("/services/data").status_code == 200
    assert raw.head(f"{BASE}/nothing").status_code == 404
    missing = raw.head(f"{BASE}/sobjects/Account/001000000000000AAA")
    assert missing.status_code == 404 and missing.content == b""
    with http_client(emu.url) as anonymous:
        assert anonymous.head(f"{BASE}/limits").status_code == 401
