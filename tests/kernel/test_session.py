"""The session against a connection authorized through the real server and emulator."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pandas as pd
import pytest

import ak_salesforce_nb as aksf
from ak_salesforce_nb.core._store import ConnectionStore
from tests.conftest import Flow


async def test_query_to_dataframe(flow: Flow, store_path: Path) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        frame = sf.query(
            "SELECT Id, Name, AnnualRevenue, CreatedDate, Owner.Name FROM Account "
            "ORDER BY Name LIMIT 50"
        )
    assert len(frame) == 50
    assert list(frame.columns) == ["Id", "Name", "AnnualRevenue", "CreatedDate", "Owner.Name"]
    assert "attributes" not in frame.columns
    assert str(frame["AnnualRevenue"].dtype) == "Float64"
    assert "datetime64" in str(frame["CreatedDate"].dtype)
    assert frame["Name"].is_monotonic_increasing
    assert frame["Owner.Name"].notna().all()


async def test_all_pages_in_order_parallel_and_sequential(flow: Flow) -> None:
    await flow.connect("prod")
    soql = "SELECT Id, LastName FROM Contact ORDER BY Id"
    with (
        aksf.session("prod", parallel_pages=4) as fast,
        aksf.session("prod", parallel_pages=1) as slow,
    ):
        a = fast.query(soql, batch_size=200, progress=False)
        b = slow.query(soql, batch_size=200, progress=False)
        total = fast.count("SELECT COUNT() FROM Contact")
    assert len(a) == total > 600
    assert a["Id"].tolist() == b["Id"].tolist()
    assert a["Id"].is_unique


async def test_query_records_streams_dicts(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        records = list(sf.query_records("SELECT Id, Account.Name FROM Contact LIMIT 5"))
    assert len(records) == 5
    assert "attributes" not in records[0]
    assert "Name" in records[0]["Account"]


async def test_refresh_on_401_and_retry(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        sf.limits()
        before = flow.emu.stats["refresh_grants"]
        flow.emu.expire_access_tokens()
        assert sf.limits()["DailyApiRequests"]["Max"] > 0
        assert flow.emu.stats["refresh_grants"] == before + 1


async def test_concurrent_refresh_from_eight_threads_refreshes_once(flow: Flow) -> None:
    await flow.connect("prod")
    flow.emu.config.rotate_refresh_tokens = True
    sessions = [aksf.session("prod") for _ in range(8)]
    for s in sessions:
        s.limits()
    flow.emu.expire_access_tokens()
    before = flow.emu.stats["refresh_grants"]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def call(s: aksf.Session) -> None:
        barrier.wait()
        try:
            s.limits()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert flow.emu.stats["refresh_grants"] == before + 1
    # Nobody ends with a dead token: after rotation, the stored refresh token works.
    flow.emu.expire_access_tokens()
    sessions[0].tokens.forget()
    sessions[0].limits()
    for s in sessions:
        s.close()


_CHILD = textwrap.dedent(
    """
    import sys, time
    import ak_salesforce_nb as aksf
    sf = aksf.session("prod")
    start_at = float(sys.argv[1])
    time.sleep(max(0.0, start_at - time.time()))
    sf.limits()
    print("ok", sf.tokens.refresh_count)
    """
)


async def test_concurrent_refresh_from_three_processes_refreshes_once(flow: Flow) -> None:
    import time

    await flow.connect("prod")
    flow.emu.config.rotate_refresh_tokens = True
    flow.emu.expire_access_tokens()
    before = flow.emu.stats["refresh_grants"]
    start_at = time.time() + 2.5  # after every child has imported and opened its session
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [c.communicate(timeout=60) for c in children]
    for child, (out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
        assert out.startswith("ok")
    assert sum(int(out.split()[1]) for out, _ in outputs) == 1
    assert flow.emu.stats["refresh_grants"] == before + 1


async def test_revoked_refresh_token_requires_reauthorization(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        sf.limits()
        flow.emu.revoke_refresh_tokens()
        with pytest.raises(aksf.ReauthorizationRequired) as info:
            sf.limits()
    assert "'prod'" in str(info.value) and "aksf.connect('prod')" in str(info.value)
    assert (await flow.get("prod"))["state"] == "reauthorization_required"
    with pytest.raises(aksf.ReauthorizationRequired):
        aksf.session("prod")


async def test_errors_carry_salesforce_context(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        with pytest.raises(aksf.MalformedQuery) as malformed:
            sf.query("SELEKT Id FROM Account")
        assert malformed.value.status_code == 400
        assert malformed.value.error_code == "MALFORMED_QUERY"
        with pytest.raises(aksf.InvalidField) as invalid:
            sf.query("SELECT Nope__c FROM Account")
        assert "Nope__c" in str(invalid.value)
        with pytest.raises(aksf.InvalidType):
            sf.query("SELECT Id FROM Nope__c")
        with pytest.raises(aksf.RecordNotFound):
            sf.sobject("Account").get("001000000000000AAA")


async def test_record_crud(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        accounts = sf.sobject("Account")
        new_id = accounts.create({"Name": "Notebook Test Co", "Industry": "Energy"})
        assert new_id.startswith("001")
        accounts.update(new_id, {"Industry": "Retail"})
        assert accounts.get(new_id)["Industry"] == "Retail"
        accounts.delete(new_id)
        with pytest.raises(aksf.RecordNotFound):
            accounts.get(new_id)
        deleted = sf.query_all(f"SELECT Id, IsDeleted FROM Account WHERE Id = '{new_id}'")
        assert bool(deleted["IsDeleted"].iloc[0]) is True
        result = sf.Account.upsert("External_Id__c", "EXT-NB-1", {"Name": "Upserted"})
        assert result["created"] is True
        again = sf.Account.upsert("External_Id__c", "EXT-NB-1", {"Name": "Upserted 2"})
        assert again["created"] is False
        accounts.delete(result["id"])  # the org is shared by the session's tests


async def test_describe_is_cached_and_limits(flow: Flow) -> None:
    await flow.connect("prod")
    with aksf.session("prod") as sf:
        names = {o["name"] for o in sf.describe()["sobjects"]}
        assert {"Account", "Contact", "Opportunity", "User"} <= names
        calls = flow.emu.stats["api_requests"]
        sf.describe("Account")
        sf.describe("Account")
        assert flow.emu.stats["api_requests"] == calls + 1
        assert sf.last_limit_info.startswith("api-usage=")


async def test_repr_never_shows_tokens(flow: Flow, store_path: Path) -> None:
    await flow.connect("prod")
    store = ConnectionStore(store_path)
    tokens = store.get_tokens("prod")
    assert tokens is not None
    with aksf.session("prod") as sf:
        texts = [
            repr(sf),
            sf._repr_html_(),
            repr(sf.tokens),
            repr(tokens),
            repr(store),
            repr(sf._http.auth),
        ]
    for text in texts:
        assert tokens.access_token not in text
        assert str(tokens.refresh_token) not in text
    assert "ada@example.com" in texts[0]


async def test_async_session(flow: Flow) -> None:
    await flow.connect("prod")
    soql = "SELECT Id, Birthdate, Account.AnnualRevenue, Account.Owner.Name FROM Contact"
    async with aksf.async_session("prod") as sf:
        frame = await sf.query(soql)
        flow.emu.expire_access_tokens()
        limits = await sf.limits()
        text = await sf.query(soql, typed=False)
    with aksf.session("prod") as sync:
        pd.testing.assert_frame_equal(frame, sync.query(soql))  # the twins agree
    assert len(frame) > 600
    assert frame["Id"].is_unique
    assert "datetime64" in str(frame["Birthdate"].dtype)  # typed through describe,
    assert str(frame["Account.AnnualRevenue"].dtype) == "Float64"  # parents included
    assert frame["Birthdate"].dtype != text["Birthdate"].dtype
    assert "DailyApiRequests" in limits


def test_session_without_connection(store_path: Path) -> None:
    with pytest.raises(aksf.ConnectionNotFound) as info:
        aksf.session("nothing")
    assert "aksf.connect('nothing')" in str(info.value)


def test_import_stays_light() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import ak_salesforce_nb; "
        "print(time.perf_counter() - t); "
        "print(any(m in sys.modules for m in ('pandas', 'ipywidgets', 'httpx')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, heavy = out.stdout.split()
    assert heavy == "False"
    assert float(seconds) < 0.5
