"""The parallel page planner gets every row exactly once when pages come back short.

Salesforce may answer a query page with fewer records than the batch size ("based on the
size and complexity of records queried"). The client plans the remaining pages from the
first one and fetches several at once; a page that does not match the plan must make it
fall back to following ``nextRecordsUrl``. The emulator's ``short_pages`` switch keeps
the first page full and cuts the later ones, which is exactly the case that breaks a
planner trusting the first page; its relationship-query rule cuts every page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.emulator import EmulatorConfig, RunningEmulator, start_emulator
from ak_salesforce_nb.kernel._query_plan import plan_pages

CONTACTS = "SELECT Id, LastName FROM Contact ORDER BY Id"
BATCH = 200


@pytest.fixture(scope="module")
def org() -> Iterator[RunningEmulator]:
    """An org of its own with Contacts (about 5,000) for three default pages."""
    with start_emulator(EmulatorConfig(accounts=2000, seed=5)) as emu:
        yield emu


@pytest.fixture
def short_pages(org: RunningEmulator) -> Iterator[RunningEmulator]:
    org.config.short_pages = True
    try:
        yield org
    finally:
        org.config.short_pages = False


def _options(emu: RunningEmulator, **extra: Any) -> dict[str, Any]:
    return {
        "flow": "client_credentials",
        "client_id": emu.config.client_id,
        "client_secret": emu.config.client_secret,
        "login_url": emu.url,
        **extra,
    }


def _reference_ids(sf: Any, soql: str) -> list[str]:
    """The ids in answer order, fetched one page after another (no planner)."""
    ids: list[str] = []
    page: dict[str, Any] = sf.get("query", params={"q": soql})
    total = page["totalSize"]
    while True:
        ids += [r["Id"] for r in page["records"]]
        if page["done"]:
            break
        page = sf.get(page["nextRecordsUrl"])
    assert len(ids) == total
    return ids


def _sizes(pages: list[dict[str, Any]]) -> list[int]:
    return [len(p["records"]) for p in pages]


@pytest.mark.parametrize("parallel", [4, 1])
def test_forced_short_pages_every_row_once(
    store_path: Path, short_pages: RunningEmulator, parallel: int
) -> None:
    with aksf.session("big", **_options(short_pages, parallel_pages=parallel)) as sf:
        expected = _reference_ids(sf, CONTACTS)
        pages = list(sf.query_pages(CONTACTS, batch_size=BATCH))
        frame = sf.query(CONTACTS, batch_size=BATCH, progress=False)
        records = list(sf.query_records(CONTACTS, batch_size=BATCH))
    sizes = _sizes(pages)
    # The first page is full (a plan is made from it), later ones are not.
    assert sizes[0] == BATCH and min(sizes[:-1]) < BATCH, sizes
    assert len(expected) > 2000
    assert [r["Id"] for p in pages for r in p["records"]] == expected
    assert list(frame["Id"]) == expected
    assert [r["Id"] for r in records] == expected


async def test_async_session_every_row_once_with_short_pages(
    store_path: Path, short_pages: RunningEmulator
) -> None:
    with aksf.session("big", **_options(short_pages)) as sf:
        expected = _reference_ids(sf, CONTACTS)
    async with aksf.async_session("big", **_options(short_pages, parallel_pages=4)) as sf:
        pages = [p async for p in sf.query_pages(CONTACTS)]
        frame = await sf.query(CONTACTS)
    sizes = _sizes(pages)
    assert sizes[0] == 2000 and min(sizes[:-1]) < 2000, sizes
    assert [r["Id"] for p in pages for r in p["records"]] == expected
    assert list(frame["Id"]) == expected


def test_relationship_pages_count_children_toward_the_batch(
    store_path: Path, org: RunningEmulator
) -> None:
    """Without the switch: a parent and its inline children count toward the batch, so
    the pages of a relationship query hold fewer parents than asked for, and not the same
    number each time."""
    soql = "SELECT Id, (SELECT Id FROM Contacts) FROM Account ORDER BY Id"
    with aksf.session("big", **_options(org, parallel_pages=4)) as sf:
        expected = _reference_ids(sf, soql)
        pages = list(sf.query_pages(soql, batch_size=BATCH))
        frame = sf.query(soql, batch_size=BATCH, progress=False)
    for page in pages[:-1]:
        inline = sum(len((r["Contacts"] or {}).get("records", ())) for r in page["records"])
        assert len(page["records"]) < BATCH <= len(page["records"]) + inline
    assert len(set(_sizes(pages[:-1]))) > 1
    assert [r["Id"] for p in pages for r in p["records"]] == expected
    assert list(frame["Id"]) == expected


# -- the plan itself -------------------------------------------------------------------


def _page(total: int, records: int, next_offset: int | None, resource: str = "query") -> Any:
    page: dict[str, Any] = {
        "totalSize": total,
        "done": next_offset is None,
        "records": [{"Id": str(i)} for i in range(records)],
    }
    if next_offset is not None:
        page["nextRecordsUrl"] = f"/services/data/v66.0/{resource}/01gXX0000000001AAA-{next_offset}"
    return page


def test_plan_follows_a_short_first_page_and_rejects_short_later_pages() -> None:
    plan = plan_pages(_page(2500, 869, 869))
    assert plan is not None and plan.batch == 869
    assert list(plan.offsets()) == [869, 1738]
    assert plan.page_fits(869, _page(2500, 869, 1738))
    assert not plan.page_fits(869, _page(2500, 500, 1369))  # shorter than planned
    assert plan.page_fits(1738, _page(2500, 762, None))  # the last page
    assert not plan.page_fits(1738, _page(2500, 700, 2438))


def test_plan_accepts_both_locator_forms_and_declines_odd_first_pages() -> None:
    for resource in ("query", "queryAll"):
        plan = plan_pages(_page(5000, 2000, 2000, resource))
        assert plan is not None and plan.url(4000).endswith(f"/{resource}/01gXX0000000001AAA-4000")
    assert plan_pages(_page(100, 100, None)) is None  # done
    assert plan_pages(_page(5000, 2000, 1999)) is None  # locator offset is not the page size
    assert plan_pages(_page(5000, 0, 0)) is None
