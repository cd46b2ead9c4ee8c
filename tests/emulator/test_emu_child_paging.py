"""Child subqueries page as on a real org: at most 200 children inline per parent, the
rest behind a nested ``nextRecordsUrl`` served by queryMore (jsforce's recorded shapes:
``done: false``, ``totalSize`` = all children, ``/services/data/vNN.0/query/<locator>``).

Checked with raw httpx, as a client that knows nothing of this package would, and with
simple-salesforce used unchanged.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator

from .child_seed import seed_children
from .helpers import VERSION, get_token, http_client

SOQL = "SELECT Id, Name, (SELECT Id, LastName FROM Contacts ORDER BY LastName) FROM Account "


@pytest.fixture(scope="module")
def org() -> Iterator[tuple[RunningEmulator, dict[str, Any]]]:
    with start_emulator(EmulatorConfig(accounts=20, seed=11)) as emu:
        yield emu, get_token(emu)


@pytest.fixture(scope="module")
def api(org: tuple[RunningEmulator, dict[str, Any]]) -> Iterator[httpx.Client]:
    emu, token = org
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    with http_client(f"{emu.url}/services/data/v{VERSION}", headers=headers) as client:
        yield client


@pytest.fixture(scope="module")
def seeded(api: httpx.Client) -> Iterator[tuple[str, dict[str, int]]]:
    with seed_children(api) as seeded:
        yield seeded


def _follow(api: httpx.Client, nested: dict[str, Any]) -> list[dict[str, Any]]:
    """All of one parent's children, following nested locators with plain GETs."""
    records = list(nested["records"])
    page = nested
    while not page["done"]:
        url = page["nextRecordsUrl"]
        assert re.fullmatch(rf"/services/data/v{VERSION}/query/01g\w+-\d+", url), url
        answer = api.get(url.split(f"/v{VERSION}", 1)[1])
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert set(page) <= {"totalSize", "done", "nextRecordsUrl", "records"}
        assert page["totalSize"] == nested["totalSize"]
        assert len(page["records"]) <= 200
        records += page["records"]
    return records


def test_children_beyond_200_come_in_pages_behind_a_nested_url(
    api: httpx.Client, seeded: tuple[str, dict[str, int]]
) -> None:
    tag, counts = seeded
    answer = api.get("/query", params={"q": SOQL + f"WHERE Name LIKE '{tag}%' ORDER BY Name"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["done"] is True and body["totalSize"] == len(counts)
    for account in body["records"]:
        expected = counts[account["Id"]]
        nested = account["Contacts"]
        if expected == 0:
            assert nested is None
            continue
        assert nested["totalSize"] == expected
        assert len(nested["records"]) == min(expected, 200)
        assert nested["done"] is (expected <= 200)
        assert ("nextRecordsUrl" in nested) is (expected > 200)
        children = _follow(api, nested)
        names = [c["LastName"] for c in children]
        assert len(names) == expected
        assert names == sorted(names) and len(set(names)) == expected
        assert all(c["attributes"]["type"] == "Contact" for c in children)


def test_nested_locator_pages_can_be_fetched_in_any_order(
    api: httpx.Client, seeded: tuple[str, dict[str, int]]
) -> None:
    _, counts = seeded
    big = max(counts, key=lambda k: counts[k])
    nested = api.get("/query", params={"q": SOQL + f"WHERE Id = '{big}'"}).json()["records"][0][
        "Contacts"
    ]
    locator = nested["nextRecordsUrl"].rsplit("/", 1)[1].rsplit("-", 1)[0]
    last = api.get(f"/query/{locator}-1000").json()
    assert last["done"] is True and len(last["records"]) == counts[big] - 1000
    assert "nextRecordsUrl" not in last
    middle = api.get(f"/query/{locator}-400").json()
    assert middle["done"] is False and len(middle["records"]) == 200
    assert middle["nextRecordsUrl"].endswith(f"/query/{locator}-600")


def test_an_unknown_nested_locator_fails_like_any_other(
    api: httpx.Client, seeded: tuple[str, dict[str, int]]
) -> None:
    _, counts = seeded
    big = max(counts, key=lambda k: counts[k])
    nested = api.get("/query", params={"q": SOQL + f"WHERE Id = '{big}'"}).json()["records"][0][
        "Contacts"
    ]
    locator = nested["nextRecordsUrl"].rsplit("/", 1)[1].rsplit("-", 1)[0]
    for bad in (f"{locator}-99999", locator[:-3] + "zzz-200"):
        answer = api.get(f"/query/{bad}")
        assert answer.status_code == 400, answer.text
        assert answer.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_more_than_ten_nested_locators_stay_open_together(
    api: httpx.Client, seeded: tuple[str, dict[str, int]]
) -> None:
    """Nested locators do not count against the 10 query cursors a user keeps."""
    _, counts = seeded
    big = max(counts, key=lambda k: counts[k])
    q = SOQL + f"WHERE Id = '{big}'"
    opened = [api.get("/query", params={"q": q}).json() for _ in range(12)]
    for body in opened:
        assert len(_follow(api, body["records"][0]["Contacts"])) == counts[big]


def test_simple_salesforce_still_reads_child_queries(
    sf: Any, tls_emulator: RunningEmulator, tls_files: tuple[Path, Path, Path]
) -> None:
    """Its ``query_all`` follows only the outer locator (its own behaviour); the nested
    URL it hands back works through its ``query_more``."""
    headers = {"Authorization": f"Bearer {sf.session_id}"}
    base = f"{tls_emulator.url}/services/data/v{VERSION}"
    context = ssl.create_default_context(cafile=str(tls_files[0]))
    with (
        httpx.Client(base_url=base, headers=headers, verify=context, timeout=30) as api,
        seed_children(api, (0, 1, 201)) as (tag, counts),
    ):
        result = sf.query_all(SOQL + f"WHERE Name LIKE '{tag}%' ORDER BY Name")
        assert result["totalSize"] == len(counts)
        for account in result["records"]:
            nested = account["Contacts"]
            expected = counts[account["Id"]]
            if expected == 0:
                assert nested is None
                continue
            got = len(nested["records"])
            while not nested["done"]:
                nested = sf.query_more(nested["nextRecordsUrl"], identifier_is_url=True)
                got += len(nested["records"])
            assert got == expected
