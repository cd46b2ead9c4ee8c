"""A second oracle: the emulator's answers against real Salesforce answers, structurally.

No machine here reaches Salesforce, so every test that passes against the emulator is
a promise about real orgs. ``tests/fixtures/salesforce/`` holds responses Salesforce
published in its REST, Bulk API 2.0 and OAuth guides, and ones peer clients recorded in
their test suites (each file names its source in ``_source``). Each is compared with
the emulator's answer to the same request, on structure, not values: status code,
header names, and for JSON the keys (every key Salesforce sends must be there; the
emulator may send more), their JSON types and their nesting; values only where a
fixture lists them in ``exact`` (protocol constants: error codes, job states, formats).
A ``null`` on either side matches anything (whether a value is null depends on the
data), and lists compare item by item as far as both go.

A difference either gets fixed in the emulator, or is listed in `KNOWN_DIFFERENCES`
with the reason; the list is exact both ways, so a fixed difference fails here until
its entry is removed.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator

from .child_seed import seed_children
from .helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, VERSION, exchange_code, http_client

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "salesforce"

#: Differences between Salesforce's answers and the emulator's, by fixture, with the
#: reason each is tolerated for now. Every entry names its owner's file to fix.
KNOWN_DIFFERENCES: dict[str, dict[str, str]] = {}


# -- comparing shapes


def kind(value: Any) -> str:
    """The JSON type of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def shape_diff(real: Any, ours: Any, path: str = "$") -> list[str]:
    """Where `ours` does not have the structure of `real` (see the module docstring)."""
    if real is None or ours is None:
        return []
    real_kind, our_kind = kind(real), kind(ours)
    if real_kind != our_kind:
        return [f"{path}: Salesforce sends {real_kind}, the emulator {our_kind}"]
    found: list[str] = []
    if isinstance(real, dict):
        for key, value in real.items():
            if key not in ours:
                found.append(f"{path}.{key}: missing (Salesforce sends {kind(value)})")
            else:
                found += shape_diff(value, ours[key], f"{path}.{key}")
    elif isinstance(real, list):
        for index, (item, our_item) in enumerate(zip(real, ours, strict=False)):
            found += shape_diff(item, our_item, f"{path}[{index}]")
    return found


def at(value: Any, path: str) -> Any:
    """The value at a path like ``$[0].errorCode`` (KeyError/IndexError when absent)."""
    for part in re.findall(r"\.(\w+)|\[(\d+)\]", path.removeprefix("$")):
        key, index = part
        value = value[key] if key else value[int(index)]
    return value


@dataclasses.dataclass
class Answer:
    """The emulator's answer to one probe."""

    status: int
    headers: httpx.Headers
    body: Any  # decoded JSON, text for CSV, None when empty

    @classmethod
    def of(cls, response: httpx.Response) -> Answer:
        body: Any = None
        if response.content:
            if "json" in response.headers.get("content-type", ""):
                body = response.json()
            else:
                body = response.text
        return cls(response.status_code, response.headers, body)


def differences(real: dict[str, Any], answer: Answer) -> list[str]:
    """Every structural difference between a fixture and the emulator's answer."""
    found: list[str] = []
    if real["status"] != answer.status:
        found.append(f"status: Salesforce {real['status']}, the emulator {answer.status}")
    for name in real.get("headers", []):
        if name not in answer.headers:
            found.append(f"header {name}: missing")
    if "content_type" in real:
        ours = answer.headers.get("content-type", "")
        if not ours.startswith(real["content_type"]):
            found.append(f"content-type: Salesforce {real['content_type']}, the emulator {ours}")
    body = real["body"]
    if body is None:
        if answer.body not in (None, ""):
            found.append(f"body: Salesforce sends none, the emulator {kind(answer.body)}")
    elif isinstance(body, str):  # CSV: the header row, and every value quoted
        text = answer.body if isinstance(answer.body, str) else ""
        lines = text.splitlines()
        if not lines or not all(cell.startswith('"') for cell in lines[-1].split(",")):
            found.append("body: CSV values not all quoted")
    else:
        found += shape_diff(body, answer.body)
    for path in real.get("exact", []):  # protocol constants: error codes, states, formats
        try:
            ours = at(answer.body, path)
        except (KeyError, IndexError, TypeError):
            continue  # already reported as missing
        if ours != at(body, path):
            found.append(f"{path}: Salesforce {at(body, path)!r}, the emulator {ours!r}")
    return found


# -- the org the probes ask


@dataclasses.dataclass
class Org:
    emu: RunningEmulator
    token: dict[str, Any]
    root: httpx.Client  # the instance, signed in
    api: httpx.Client  # /services/data/vNN.N, signed in
    parent_with_201_children: str = ""

    def get(self, path: str, **kwargs: Any) -> Answer:
        return Answer.of(self.api.get(path, **kwargs))


@pytest.fixture(scope="module")
def org() -> Iterator[Org]:
    config = EmulatorConfig(accounts=250, seed=5, bulk_job_delay=0.2)
    with start_emulator(config) as emu:
        code = emu.authorize_code(redirect_uri=REDIRECT_URI)
        with http_client(emu.url) as anonymous:
            answer = exchange_code(anonymous, code)
        assert answer.status_code == 200, answer.text
        token = answer.json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        with (
            http_client(emu.url, headers=headers) as root,
            http_client(f"{emu.url}/services/data/v{VERSION}", headers=headers) as api,
        ):
            found = Org(emu, token, root, api)
            with seed_children(api, (201,)) as (_, parents):
                (found.parent_with_201_children,) = parents
                yield found


# -- probes: the emulator's answer to each fixture's request

Probe = Callable[[Org], Answer]
PROBES: dict[str, Probe] = {}


def probe(name: str) -> Callable[[Probe], Probe]:
    def register(function: Probe) -> Probe:
        PROBES[name] = function
        return function

    return register


@probe("rest_versions")
def _versions(org: Org) -> Answer:
    return Answer.of(org.root.get("/services/data/"))


@probe("rest_query_done")
def _query_done(org: Org) -> Answer:
    return org.get("/query/", params={"q": "SELECT name,id from Account"})


def _first_page(org: Org) -> Answer:
    return org.get(
        "/query",
        params={"q": "SELECT Id, Name FROM Contact"},
        headers={"Sforce-Query-Options": "batchSize=200"},
    )


probe("rest_query_first_page")(_first_page)


@probe("rest_query_more")
def _query_more(org: Org) -> Answer:
    url = _first_page(org).body["nextRecordsUrl"]
    return Answer.of(org.root.get(url))


def _child_query(org: Org) -> Answer:
    soql = (
        "SELECT Id, Name, (SELECT Id, LastName FROM Contacts) FROM Account "
        f"WHERE Id = '{org.parent_with_201_children}'"
    )
    return org.get("/query", params={"q": soql})


probe("rest_query_child_subquery")(_child_query)


@probe("rest_query_child_more")
def _child_more(org: Org) -> Answer:
    nested = _child_query(org).body["records"][0]["Contacts"]
    return Answer.of(org.root.get(nested["nextRecordsUrl"]))


@probe("rest_describe_global")
def _describe_global(org: Org) -> Answer:
    return org.get("/sobjects/")


@probe("rest_describe_sobject")
def _describe(org: Org) -> Answer:
    return org.get("/sobjects/Account/describe/")


def _an_account(org: Org) -> str:
    records = org.get("/query", params={"q": "SELECT Id FROM Account LIMIT 1"}).body["records"]
    account_id: str = records[0]["Id"]
    return account_id


@probe("rest_record_get")
def _record_get(org: Org) -> Answer:
    fields = {"fields": "AccountNumber,BillingPostalCode"}
    return org.get(f"/sobjects/Account/{_an_account(org)}", params=fields)


def _new_account(org: Org, name: str) -> str:
    created = org.api.post("/sobjects/Account/", json={"Name": name})
    assert created.status_code == 201, created.text
    record_id: str = created.json()["id"]
    return record_id


@probe("rest_record_create")
def _record_create(org: Org) -> Answer:
    return Answer.of(
        org.api.post("/sobjects/Account/", json={"Name": "Express Logistics and Transport"})
    )


@probe("rest_record_update")
def _record_update(org: Org) -> Answer:
    record_id = _new_account(org, "To update")
    answer = org.api.patch(f"/sobjects/Account/{record_id}", json={"BillingCity": "Paris"})
    return Answer.of(answer)


@probe("rest_record_delete")
def _record_delete(org: Org) -> Answer:
    return Answer.of(org.api.delete(f"/sobjects/Account/{_new_account(org, 'To delete')}"))


@probe("rest_error_malformed_query")
def _malformed(org: Org) -> Answer:
    return org.get("/query", params={"q": "SELEC Id FROM Account"})


@probe("rest_error_invalid_field")
def _invalid_field(org: Org) -> Answer:
    return org.get("/query", params={"q": "SELECT Foo FROM Account"})


@probe("rest_error_not_found")
def _not_found(org: Org) -> Answer:
    return org.get("/sobjects/Account/001000000000000AAA")


@probe("rest_error_invalid_session")
def _invalid_session(org: Org) -> Answer:
    return org.get("/limits", headers={"Authorization": "Bearer 00Dexpired!AQ"})


@probe("rest_limits")
def _limits(org: Org) -> Answer:
    return org.get("/limits/")


@probe("oauth_token_authorization_code")
def _token_code(org: Org) -> Answer:
    code = org.emu.authorize_code(redirect_uri=REDIRECT_URI)
    with http_client(org.emu.url) as anonymous:
        return Answer.of(exchange_code(anonymous, code))


@probe("oauth_token_refresh")
def _token_refresh(org: Org) -> Answer:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": org.token["refresh_token"],
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    with http_client(org.emu.url) as anonymous:
        return Answer.of(anonymous.post("/services/oauth2/token", data=form))


@probe("oauth_userinfo")
def _userinfo(org: Org) -> Answer:
    return Answer.of(org.root.get("/services/oauth2/userinfo"))


@probe("oauth_identity")
def _identity(org: Org) -> Answer:
    return Answer.of(org.root.get(httpx.URL(org.token["id"]).path))


def _query_job(org: Org) -> Answer:
    body = {"operation": "query", "query": "SELECT Id, Name FROM Account"}
    return Answer.of(org.api.post("/jobs/query", json=body))


probe("bulk2_query_job_create")(_query_job)


def _finished_job(org: Org) -> str:
    job_id: str = _query_job(org).body["id"]
    deadline = time.monotonic() + 30
    while org.get(f"/jobs/query/{job_id}").body["state"] != "JobComplete":
        assert time.monotonic() < deadline, "the query job did not finish"
        time.sleep(0.1)
    return job_id


@probe("bulk2_query_job_status")
def _query_job_status(org: Org) -> Answer:
    return org.get(f"/jobs/query/{_finished_job(org)}")


@probe("bulk2_query_job_results")
def _query_job_results(org: Org) -> Answer:
    return org.get(f"/jobs/query/{_finished_job(org)}/results", params={"maxRecords": 50})


@probe("bulk2_ingest_job_create")
def _ingest_job(org: Org) -> Answer:
    body = {"object": "Account", "contentType": "CSV", "operation": "insert", "lineEnding": "LF"}
    answer = org.api.post("/jobs/ingest", json=body)
    if answer.status_code == 200:  # leave no open job behind
        org.api.patch(f"/jobs/ingest/{answer.json()['id']}", json={"state": "Aborted"})
    return Answer.of(answer)


@probe("composite_sobjects_create")
def _collections_create(org: Org) -> Answer:
    records = [
        {"attributes": {"type": "Contact"}, "FirstName": "No last name"},  # fails
        {"attributes": {"type": "Account"}, "Name": "example.com", "BillingCity": "Paris"},
    ]
    body = {"allOrNone": False, "records": records}
    return Answer.of(org.api.post("/composite/sobjects", json=body))


# -- the tests


def fixture_names() -> list[str]:
    return sorted(path.stem for path in FIXTURES.glob("*.json"))


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return loaded


def test_every_fixture_names_its_source_and_is_probed() -> None:
    names = fixture_names()
    assert len(names) >= 20
    for name in names:
        source = load(name)["_source"]
        assert source.get("url") or {"repo", "path", "commit"} <= set(source), name
        assert source.get("section"), name
    assert set(PROBES) == set(names)
    assert set(KNOWN_DIFFERENCES) <= set(names)


@pytest.mark.parametrize("name", fixture_names())
def test_the_emulator_answers_like_salesforce(org: Org, name: str) -> None:
    found = set(differences(load(name), PROBES[name](org)))
    known = set(KNOWN_DIFFERENCES.get(name, {}))
    unexpected, fixed = sorted(found - known), sorted(known - found)
    assert not unexpected, f"{name}: the emulator differs from Salesforce: {unexpected}"
    assert not fixed, f"{name}: fixed, remove from KNOWN_DIFFERENCES: {fixed}"


def test_the_comparison_sees_what_it_must() -> None:
    real = {"a": 1, "b": {"c": "x", "d": [True]}, "e": None, "f": [{"g": 1}]}
    assert shape_diff(real, {"a": 2.5, "b": {"c": "y", "d": [False]}, "e": 3, "f": []}) == []
    assert shape_diff(real, {"a": "1", "b": {"d": ["no"]}, "e": None, "f": [{}]}) == [
        "$.a: Salesforce sends number, the emulator string",
        "$.b.c: missing (Salesforce sends string)",
        "$.b.d[0]: Salesforce sends boolean, the emulator string",
        "$.f[0].g: missing (Salesforce sends number)",
    ]
    empty = Answer(204, httpx.Headers({"Sforce-Limit-Info": "api-usage=1/5"}), None)
    assert differences({"status": 204, "body": None, "headers": ["Sforce-Limit-Info"]}, empty) == []
    assert differences({"status": 200, "body": {}, "headers": ["Sforce-Locator"]}, empty) == [
        "status: Salesforce 200, the emulator 204",
        "header Sforce-Locator: missing",
    ]
    errors = [{"message": "x", "errorCode": "NOT_FOUND"}]
    wrong = Answer(404, httpx.Headers(), [{"message": "y", "errorCode": "INVALID_TYPE"}])
    assert differences({"status": 404, "body": errors, "exact": ["$[0].errorCode"]}, wrong) == [
        "$[0].errorCode: Salesforce 'NOT_FOUND', the emulator 'INVALID_TYPE'"
    ]
    csv = Answer(200, httpx.Headers({"Content-Type": "text/csv"}), "Id,Name\n001,Acme\n")
    assert differences({"status": 200, "body": '"Id"\n"1"\n'}, csv) == [
        "body: CSV values not all quoted"
    ]
