"""Every client path returns every child row of a subquery, as many as the org holds.

The emulator pages child subqueries as a real org does (200 inline, then a nested
``nextRecordsUrl``); parents with 0, 1, 200, 201 and 1,050 Contacts are seeded over REST,
read through `Session.query`, `query_records`, `query_pages`, `AsyncSession` and
``%%soql``, and deleted afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.emulator import RunningEmulator
from ak_salesforce_nb.kernel._child_pages import add_child_page, incomplete_children
from tests.conftest import Flow
from tests.emulator.child_seed import seed_children
from tests.emulator.helpers import VERSION, get_token, http_client

SOQL = "SELECT Id, Name, (SELECT Id, LastName FROM Contacts ORDER BY LastName) FROM Account "


@pytest.fixture
def seeded(emu: RunningEmulator) -> Iterator[tuple[str, dict[str, int]]]:
    token = get_token(emu)
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    with (
        http_client(f"{emu.url}/services/data/v{VERSION}", headers=headers) as api,
        seed_children(api) as seeded,
    ):
        yield seeded


@pytest.fixture
def shell() -> Iterator[Any]:
    from IPython.core.interactiveshell import InteractiveShell

    import ak_salesforce_nb

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "ak_salesforce_nb")
    before = set(ip.user_ns)
    yield ip
    for name in set(ip.user_ns) - before:
        ip.user_ns.pop(name, None)
    magics = ip.magics_manager.registry["SoqlMagics"]
    for session in magics.sessions.values():
        session.close()
    magics.sessions.clear()
    ak_salesforce_nb.__dict__.pop("_last_connection", None)


def _counts_of_rows(rows: Any) -> dict[str, int]:
    """{account id: number of child rows} from records or DataFrame rows."""
    found: dict[str, int] = {}
    for row in rows:
        children = row["Contacts"]
        if isinstance(children, dict):  # a raw page's nested QueryResult
            assert children["done"] is True and "nextRecordsUrl" not in children
            assert len(children["records"]) == children["totalSize"]
            children = children["records"]
        names = [c["LastName"] for c in children or ()]
        assert names == sorted(names)
        assert len({c["Id"] for c in children or ()}) == len(names)  # no page twice
        found[row["Id"]] = len(names)
    return found


@pytest.mark.parametrize("parallel", [4, 1])
async def test_session_paths_return_every_child(
    flow: Flow, seeded: tuple[str, dict[str, int]], parallel: int
) -> None:
    await flow.connect("prod")
    tag, counts = seeded
    soql = SOQL + f"WHERE Name LIKE '{tag}%' ORDER BY Name"
    with aksf.session("prod", parallel_pages=parallel) as sf:
        frame = sf.query(soql, progress=False)
        records = list(sf.query_records(soql))
        pages = list(sf.query_pages(soql))
    assert _counts_of_rows(frame.to_dict("records")) == counts
    assert _counts_of_rows(records) == counts
    assert _counts_of_rows(r for page in pages for r in page["records"]) == counts


async def test_outer_pages_and_child_pages_together(
    flow: Flow, seeded: tuple[str, dict[str, int]]
) -> None:
    """Several outer pages (batch 200) of all Accounts, the seeded ones among them."""
    await flow.connect("prod")
    _, counts = seeded
    with aksf.session("prod") as sf:
        frame = sf.query(SOQL + "ORDER BY Id", batch_size=200, progress=False)
    assert len(frame) > 300  # two outer pages at least
    found = _counts_of_rows(frame.to_dict("records"))
    assert {k: found[k] for k in counts} == counts


async def test_async_session_returns_every_child(
    flow: Flow, seeded: tuple[str, dict[str, int]]
) -> None:
    await flow.connect("prod")
    tag, counts = seeded
    soql = SOQL + f"WHERE Name LIKE '{tag}%' ORDER BY Name"
    async with aksf.async_session("prod") as sf:
        frame = await sf.query(soql)
        records = [r async for r in sf.query_records(soql)]
    assert _counts_of_rows(frame.to_dict("records")) == counts
    assert _counts_of_rows(records) == counts


async def test_soql_magic_returns_every_child(
    flow: Flow, shell: Any, seeded: tuple[str, dict[str, int]]
) -> None:
    await flow.connect("prod")
    tag, counts = seeded
    frame = shell.run_cell_magic(
        "soql", "-c prod", SOQL + f"WHERE Name LIKE '{tag}%' ORDER BY Name"
    )
    assert _counts_of_rows(frame.to_dict("records")) == counts


# -- the page scan, on the shapes jsforce's query-pagination tests recorded ------------------


def _nested(total: int, inline: int, next_url: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "totalSize": total,
        "done": next_url is None,
        "records": [{"attributes": {"type": "Contact"}, "Id": f"003{i}"} for i in range(inline)],
    }
    if next_url:
        result["nextRecordsUrl"] = next_url
    return result


def test_scan_finds_only_cut_short_children_in_any_record_shape() -> None:
    cut = _nested(250, 200, "/services/data/v53.0/query/01gxx000000NEXT001")
    tasks = _nested(250, 200, "/services/data/v53.0/query/01gxx000000NEXT002")
    records = [
        {"attributes": {}, "Id": "1", "Owner": {"Name": "x"}, "Contacts": None, "Tasks": None},
        {
            "attributes": {},
            "Id": "2",
            "Owner": None,
            "Contacts": _nested(3, 3, None),
            "Tasks": None,
        },
        {"attributes": {}, "Id": "3", "Owner": None, "Contacts": cut, "Tasks": tasks},
    ]
    assert [id(n) for n in incomplete_children(records)] == [id(cut), id(tasks)]
    assert incomplete_children([{"attributes": {}, "Id": "1", "Name": "a"}] * 3) == []
    assert incomplete_children([]) == [] and incomplete_children(None) == []
    irregular = [{"Id": "1"}, {"Id": "2", "Contacts": cut}]  # keys not shared: slow path
    assert [id(n) for n in incomplete_children(irregular)] == [id(cut)]
    deeper = _nested(1, 1, None)
    deeper["records"][0]["Cases"] = tasks  # a child of a child (API 58+)
    assert [id(n) for n in incomplete_children([{"Id": "1", "Contacts": deeper}])] == [id(tasks)]


def test_add_child_page_ends_the_chain_like_a_complete_answer() -> None:
    nested = _nested(450, 200, "/services/data/v53.0/query/01gA-200")
    following = add_child_page(nested, _nested(450, 200, "/services/data/v53.0/query/01gA-400"))
    assert following == "/services/data/v53.0/query/01gA-400"
    assert nested["done"] is False and len(nested["records"]) == 400
    assert add_child_page(nested, _nested(450, 50, None)) is None
    assert nested["done"] is True and "nextRecordsUrl" not in nested
    assert len(nested["records"]) == nested["totalSize"] == 450
