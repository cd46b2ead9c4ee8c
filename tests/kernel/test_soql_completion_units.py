"""Units of SOQL completion: where the cursor is (`locate`), and the describe catalog's
cache (disk, If-Modified-Since, the time budget) with `httpx.MockTransport`."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.kernel._soql_catalog import Catalog
from ak_salesforce_nb.kernel._soql_completer import SoqlSite, complete_soql, find_site
from ak_salesforce_nb.kernel._soql_context import Kind, locate


def spot_at_end(soql: str) -> Any:
    return locate(soql, len(soql))


@pytest.mark.parametrize(
    ("soql", "kind", "fragment", "chain"),
    [
        ("SELECT Id FROM Acc", Kind.OBJECT, "Acc", ["Acc"]),
        ("SELECT Id, (SELECT Id FROM Con", Kind.CHILD_RELATIONSHIP, "Con", [None, "Con"]),
        ("SELECT Id FROM Account WHERE Na", Kind.FIELD, "Na", ["Account"]),
        ("SELECT Id FROM Account WHERE Name = :thr", Kind.PLACEHOLDER, "thr", ["Account"]),
        ("SELECT Id FROM Account WHERE Industry = 'Ba", Kind.PICKLIST_VALUE, "Ba", ["Account"]),
        ("SELECT Id FROM Account ", Kind.KEYWORD, "", ["Account"]),
        # A semi-join reads its own object, not a child relationship.
        (
            "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE La",
            Kind.FIELD,
            "La",
            ["Contact"],
        ),
    ],
)
def test_locate(soql: str, kind: Kind, fragment: str, chain: list[str | None]) -> None:
    spot = spot_at_end(soql)
    assert spot is not None
    assert (spot.kind, spot.fragment, spot.scope.chain()) == (kind, fragment, chain)


def test_locate_reads_past_the_cursor_for_from() -> None:
    soql = "SELECT Owner.Na FROM Account"
    spot = locate(soql, soql.index(" FROM"))
    assert spot is not None
    assert (spot.kind, spot.path, spot.fragment, spot.scope.source) == (
        Kind.FIELD,
        ("Owner",),
        "Na",
        "Account",
    )


def test_nothing_to_complete_right_after_a_closed_string_or_number() -> None:
    assert locate("SELECT Id FROM Account WHERE Name = 'x'", 39) is None
    assert locate("SELECT Id FROM Account LIMIT 10", 31) is None


def test_find_site_only_inside_soql() -> None:
    namespace: dict[str, Any] = {}
    assert find_site("x = 1\nprint(x)", 5, namespace) is None
    site = find_site("%%soql -c prod\nSELECT Id FROM A", 30, namespace)
    assert site is not None and site.connection == "prod" and site.soql == "SELECT Id FROM A"
    # A closed string before the cursor is not a query argument.
    namespace["sf"] = type("S", (), {"instance_url": "https://x"})()
    assert find_site("sf.query('SELECT Id FROM A').head(", 34, namespace) is None
    site = find_site("sf.query('SELECT Id FROM A", 26, namespace)
    assert site is not None and site.soql == "SELECT Id FROM A"


# -- the catalog ----------------------------------------------------------------------------

ACCOUNT = {
    "name": "Account",
    "label": "Account",
    "fields": [
        {"name": "Id", "label": "Account ID", "type": "id"},
        {"name": "Name", "label": "Account Name", "type": "string"},
        {
            "name": "OwnerId",
            "type": "reference",
            "relationshipName": "Owner",
            "referenceTo": ["User"],
        },
    ],
    "childRelationships": [],
}
GLOBAL = {"sobjects": [{"name": "Account", "label": "Account", "queryable": True}]}


class FakeOrg:
    """Describe answers with Last-Modified; a 304 when If-Modified-Since matches."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[tuple[str, str | None]] = []
        self.name = "prod"
        self.instance_url = "https://example.my.salesforce.com"
        self.http = httpx.Client(transport=httpx.MockTransport(self.answer))

    def answer(self, request: httpx.Request) -> httpx.Response:
        since = request.headers.get("If-Modified-Since")
        self.calls.append((request.url.path, since))
        time.sleep(self.delay)
        stamp = "Mon, 30 Nov 2026 10:00:00 GMT"
        if since == stamp:
            return httpx.Response(304)
        body = ACCOUNT if request.url.path.endswith("/describe") else GLOBAL
        return httpx.Response(200, json=body, headers={"Last-Modified": stamp})

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(
            method, f"{self.instance_url}/services/data/v63.0/{path}", **kwargs
        )


def test_catalog_caches_on_disk_and_revalidates_with_if_modified_since(tmp_path: Path) -> None:
    org = FakeOrg()
    first = Catalog(org, tmp_path)
    assert first.describe("Account", wait=5) is not None
    first.wait_idle()
    saved = json.loads((tmp_path / "account.json").read_text())
    assert saved["stamp"] == "Mon, 30 Nov 2026 10:00:00 GMT"
    assert "Name" in [f["name"] for f in saved["body"]["fields"]]

    org.calls.clear()
    second = Catalog(org, tmp_path)
    # Answered from disk at once, then revalidated in the background: a 304 keeps it.
    assert second.describe("Account", wait=0) is not None
    second.wait_idle()
    assert org.calls == [
        ("/services/data/v63.0/sobjects/Account/describe", "Mon, 30 Nov 2026 10:00:00 GMT")
    ]
    second.describe("Account", wait=0)
    second.wait_idle()
    assert len(org.calls) == 1  # revalidated once per kernel, not on every Tab


def test_a_slow_org_never_holds_completion_past_the_budget(tmp_path: Path) -> None:
    org = FakeOrg(delay=1.0)
    catalog = Catalog(org, tmp_path)
    site = SoqlSite("SELECT Na FROM Account", len("SELECT Na"))
    started = time.monotonic()
    fragment, candidates = complete_soql(site, catalog, {}, budget=0.1)
    assert time.monotonic() - started < 0.5
    assert fragment == "Na" and candidates == []  # nothing known yet: no names, no wait
    catalog.wait_idle()
    _, candidates = complete_soql(site, catalog, {}, budget=0.1)
    assert [c.text for c in candidates] == ["Name"]


def test_a_corrupt_cache_file_is_fetched_again(tmp_path: Path) -> None:
    (tmp_path / "account.json").write_text("{not json")
    org = FakeOrg()
    assert Catalog(org, tmp_path).describe("Account", wait=5) is not None
    assert org.calls[0][1] is None


def test_catalog_is_thread_safe_under_concurrent_tabs(tmp_path: Path) -> None:
    org = FakeOrg(delay=0.05)
    catalog = Catalog(org, tmp_path)
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(catalog.describe("Account", wait=2)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(results) == 8 and all(r is not None for r in results)
    assert [path for path, _ in org.calls].count(
        "/services/data/v63.0/sobjects/Account/describe"
    ) == 1
