"""Bulk API 2.0 query jobs: life cycle, CSV result pages, locators, errors."""

from __future__ import annotations

import csv
import gzip
import io
import time
from typing import Any

import httpx
import pytest

from ak_salesforce_nb.emulator import RunningEmulator


def create_job(api: httpx.Client, query: str, **extra: str) -> dict[str, Any]:
    answer = api.post("/jobs/query", json={"operation": "query", "query": query, **extra})
    assert answer.status_code == 200, answer.text
    job: dict[str, Any] = answer.json()
    return job


def wait_for(api: httpx.Client, job_id: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        info: dict[str, Any] = api.get(f"/jobs/query/{job_id}").json()
        if not seen or seen[-1] != info["state"]:
            seen.append(info["state"])
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            info["seen"] = seen
            return info
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} stuck in {seen}")


def read_pages(
    api: httpx.Client, job_id: str, max_records: int | None = None
) -> list[httpx.Response]:
    pages = []
    params: dict[str, Any] = {}
    if max_records:
        params["maxRecords"] = max_records
    while True:
        page = api.get(f"/jobs/query/{job_id}/results", params=params)
        assert page.status_code == 200, page.text
        pages.append(page)
        locator = page.headers["sforce-locator"]
        if locator == "null":
            return pages
        params["locator"] = locator


def test_job_life_cycle_and_csv_pages(api: httpx.Client) -> None:
    job = create_job(api, "SELECT Id, Name, Owner.Name, AnnualRevenue, Website FROM Account")
    assert job["state"] == "UploadComplete" and job["id"].startswith("750")
    assert job["operation"] == "query" and job["object"] == "Account"
    assert job["contentType"] == "CSV" and job["concurrencyMode"] == "Parallel"
    assert job["lineEnding"] == "LF" and job["columnDelimiter"] == "COMMA"
    assert job["apiVersion"] == 66.0 and job["createdById"].startswith("005")
    early = api.get(f"/jobs/query/{job['id']}/results")
    assert early.status_code == 400 and early.json()[0]["errorCode"] == "INVALIDJOBSTATE"

    info = wait_for(api, job["id"])
    assert info["seen"][-1] == "JobComplete" and "InProgress" in info["seen"]
    assert info["numberRecordsProcessed"] == 1000 and info["jobType"] == "V2Query"

    pages = read_pages(api, job["id"], max_records=300)
    assert [int(p.headers["sforce-numberofrecords"]) for p in pages] == [300, 300, 300, 100]
    assert all(p.headers["content-type"].startswith("text/csv") for p in pages)
    rows: list[dict[str, str]] = []
    for page in pages:
        reader = csv.DictReader(io.StringIO(page.text))
        assert reader.fieldnames == ["Id", "Name", "Owner.Name", "AnnualRevenue", "Website"]
        rows += list(reader)
    assert len(rows) == 1000 == len({r["Id"] for r in rows})
    names = {r["Name"] for r in rows}
    assert 'Smith, Jones & "Partners"' in names and "東京テクノロジー株式会社" in names
    assert '"Smith, Jones & ""Partners"""' in "".join(p.text for p in pages)  # RFC 4180 quoting
    assert any(r["Website"] == "" for r in rows)  # null is an empty field
    assert all(r["Owner.Name"] for r in rows)
    revenue = next(r["AnnualRevenue"] for r in rows if r["AnnualRevenue"])
    assert float(revenue) > 0

    everything = read_pages(api, job["id"])
    assert len(everything) == 1 and int(everything[0].headers["sforce-numberofrecords"]) == 1000
    # A locator can be read again, in any order.
    second = api.get(
        f"/jobs/query/{job['id']}/results",
        params={"maxRecords": 300, "locator": pages[0].headers["sforce-locator"]},
    )
    assert second.text == pages[1].text

    listing = api.get("/jobs/query").json()
    assert listing["done"] is True and job["id"] in {j["id"] for j in listing["records"]}
    assert api.delete(f"/jobs/query/{job['id']}").status_code == 204
    assert api.get(f"/jobs/query/{job['id']}").status_code == 404


def test_options_query_all_and_abort(api: httpx.Client) -> None:
    job = create_job(
        api,
        "SELECT Name, Account.Name FROM Contact WHERE Account.Name LIKE 'O\\'%'",
        columnDelimiter="PIPE",
        lineEnding="CRLF",
        operation="queryAll",
    )
    assert job["operation"] == "queryAll" and job["object"] == "Contact"
    wait_for(api, job["id"])
    text = api.get(f"/jobs/query/{job['id']}/results").text
    assert text.startswith('"Name"|"Account.Name"\r\n')
    assert all(line.endswith('"O\'Reilly & Sons"') for line in text.split("\r\n")[1:-1])

    slow = create_job(api, "SELECT Id FROM Account")
    aborted = api.patch(f"/jobs/query/{slow['id']}", json={"state": "Aborted"})
    assert aborted.status_code == 200 and aborted.json()["state"] == "Aborted"
    assert api.get(f"/jobs/query/{slow['id']}/results").status_code == 400
    again = api.patch(f"/jobs/query/{slow['id']}", json={"state": "Aborted"})
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "INVALIDJOBSTATE"


def test_bad_and_unsupported_queries(api: httpx.Client) -> None:
    bad = api.post("/jobs/query", json={"operation": "query", "query": "SELECT Nope FROM Account"})
    assert bad.status_code == 400
    assert bad.json()[0]["errorCode"] == "INVALID_FIELD"
    assert "ERROR at Row:1:Column:8" in bad.json()[0]["message"]
    unsupported = create_job(api, "SELECT Name, (SELECT LastName FROM Contacts) FROM Account")
    info = wait_for(api, unsupported["id"])
    assert info["state"] == "Failed"
    assert "not supported" in info["errorMessage"]
    aggregate = wait_for(api, create_job(api, "SELECT COUNT(Id) FROM Account")["id"])
    assert aggregate["state"] == "Failed"
    for body in (
        {"operation": "insert", "query": "SELECT Id FROM Account"},
        {"operation": "query"},
    ):
        answer = api.post("/jobs/query", json=body)
        assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALIDJOB"
    assert api.get("/jobs/query/750Hs0000000001AAA").status_code == 404


def test_every_field_quoted_as_salesforce_sends_it(api: httpx.Client) -> None:
    """Header and values all quoted, a null an empty quoted field, quotes doubled."""
    job = create_job(api, "SELECT Id, Name, Website, NumberOfEmployees FROM Account")
    wait_for(api, job["id"])
    text = api.get(f"/jobs/query/{job['id']}/results").text
    lines = text.split("\n")
    assert lines[0] == '"Id","Name","Website","NumberOfEmployees"' and lines[-1] == ""
    assert all(line.startswith('"') and line.endswith('"') for line in lines[1:-1])
    assert all(line.count('","') >= 3 for line in lines[1:-1])
    assert any(line.split('","')[2] == "" for line in lines[1:-1])  # a null Website: ""
    assert '"Smith, Jones & ""Partners"""' in text
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1001 and all(len(row) == 4 for row in rows)


def test_results_gzip_when_accepted(api: httpx.Client) -> None:
    """`Accept-Encoding: gzip` gets a gzip body with `Content-Encoding: gzip` and the same
    CSV; without it, plain CSV."""
    job = create_job(api, "SELECT Id, Name FROM Account")
    wait_for(api, job["id"])
    path = f"/jobs/query/{job['id']}/results"
    plain = api.get(path, params={"maxRecords": 400}, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    for accept in ("gzip", "deflate, gzip;q=0.8", "gzip, deflate, br"):
        with api.stream(
            "GET", path, params={"maxRecords": 400}, headers={"Accept-Encoding": accept}
        ) as answer:
            raw = b"".join(answer.iter_raw())
            assert answer.headers["content-encoding"] == "gzip"
            assert answer.headers["sforce-numberofrecords"] == "400"
            assert answer.headers["sforce-locator"] == plain.headers["sforce-locator"]
        assert raw[:2] == b"\x1f\x8b" and gzip.decompress(raw) == plain.content
    refused = api.get(path, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers and refused.text.startswith('"Id"')
    decoded = api.get(path, params={"maxRecords": 400})  # httpx asks for gzip by default
    assert decoded.headers["content-encoding"] == "gzip" and decoded.text == plain.text


def test_result_pages_link_every_page(api: httpx.Client, emu: RunningEmulator) -> None:
    """`GET resultPages` (API 58.0+): up to five result links an answer, `nextRecordsUrl`
    for the next five, `done` at the end; the links read together are the whole result,
    the same pages as the locator chain."""
    emu.config.bulk_result_page_size = 70
    job = create_job(api, "SELECT Id, Name FROM Account")
    early = api.get(f"/jobs/query/{job['id']}/resultPages")
    assert early.status_code == 400 and early.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    wait_for(api, job["id"])
    origin = str(api.base_url).split("/services/data/")[0]
    links: list[str] = []
    answers = [api.get(f"/jobs/query/{job['id']}/resultPages").json()]
    while not answers[-1]["done"]:
        assert set(answers[-1]) == {"resultPages", "nextRecordsUrl", "done"}
        answers.append(api.get(origin + answers[-1]["nextRecordsUrl"]).json())
    assert answers[-1]["nextRecordsUrl"] is None
    for answer in answers:
        assert 1 <= len(answer["resultPages"]) <= 5
        links += [page["resultLink"] for page in answer["resultPages"]]
    assert len(answers) == 3 and len(links) == 15  # 1000 rows, 70 a page
    assert all(
        link.startswith(f"/services/data/v66.0/jobs/query/{job['id']}/results?locator=")
        for link in links
    )
    pages = [api.get(origin + link) for link in reversed(links)][::-1]  # any order
    counts = [int(page.headers["sforce-numberofrecords"]) for page in pages]
    assert counts == [70] * 14 + [20]
    ids = [row[0] for page in pages for row in list(csv.reader(io.StringIO(page.text)))[1:]]
    assert len(ids) == 1000 == len(set(ids))
    chained = read_pages(api, job["id"])
    assert [p.text for p in chained] == [p.text for p in pages]
    old = httpx.Client(
        base_url=str(api.base_url).replace("v66.0", "v57.0"), headers=dict(api.headers)
    )
    with old:
        assert old.get(f"/jobs/query/{job['id']}/resultPages").status_code == 404


def test_result_pages_of_an_empty_result(api: httpx.Client) -> None:
    job = create_job(api, "SELECT Id FROM Account WHERE Name = 'no such account'")
    wait_for(api, job["id"])
    answer = api.get(f"/jobs/query/{job['id']}/resultPages").json()
    assert answer["done"] is True and len(answer["resultPages"]) == 1
    origin = str(api.base_url).split("/services/data/")[0]
    page = api.get(origin + answer["resultPages"][0]["resultLink"])
    assert page.text == '"Id"\n' and page.headers["sforce-numberofrecords"] == "0"


@pytest.mark.parametrize("locator", ["not-base64!", "OTk5OTk5"])
def test_bad_locator(api: httpx.Client, locator: str) -> None:
    job = create_job(api, "SELECT Id FROM Account LIMIT 5")
    wait_for(api, job["id"])
    answer = api.get(f"/jobs/query/{job['id']}/results", params={"locator": locator})
    assert answer.status_code == 400


@pytest.mark.parametrize(("delimiter", "line_ending"), [(",", "\n"), ("|", "\r\n"), ("\t", "\n")])
def test_rendered_csv_reads_back_exactly(delimiter: str, line_ending: str) -> None:
    """Every value reads back exactly, quotes, delimiters and line breaks included (the
    `csv` module's own writer loses a lone CR under LF line endings; this one does not)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from ak_salesforce_nb.emulator._bulk import render_csv

    values = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**12), 10**12),
        st.floats(allow_nan=False, allow_infinity=False, width=32),
        st.text(alphabet=st.sampled_from(list("ab ,|\t\"\n\r'é☃")), max_size=8),
    )
    tables = st.integers(1, 4).flatmap(
        lambda n: st.lists(st.lists(values, min_size=n, max_size=n), max_size=6)
    )

    @settings(max_examples=150, deadline=None)
    @given(tables)
    def check(table: list[list[Any]]) -> None:
        width = len(table[0]) if table else 2
        result = _FakeResult(
            rows=list(range(len(table))),
            columns=[(f"C{i}", lambda row, i=i: table[row][i]) for i in range(width)],
        )
        rendered = render_csv(result, delimiter, line_ending)  # type: ignore[arg-type]
        assert all(line.endswith(line_ending) for line in rendered.lines)
        text = rendered.header + "".join(rendered.lines)
        read_back = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        assert read_back[0] == [f"C{i}" for i in range(width)]
        assert read_back[1:] == [[_csv_text(v) for v in row] for row in table]

    check()


class _FakeResult:
    def __init__(self, rows: list[int], columns: list[tuple[str, Any]]) -> None:
        self.rows = rows
        self.columns = columns


def _csv_text(value: Any) -> str:
    from ak_salesforce_nb.emulator._values import csv_text

    return csv_text(value)


def test_pages_cut_across_render_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A job's CSV is rendered in parts; any page (start, size) is the same slice of the
    whole rendering, whichever parts it spans, gzip or not."""
    from ak_salesforce_nb.emulator import _bulk

    monkeypatch.setattr(_bulk, "RENDER_PART", 7)
    table = [
        [f"n{i}", i, i * 1.5 if i % 3 else None, 'q"' if i % 5 == 0 else ""] for i in range(40)
    ]
    result = _FakeResult(
        rows=list(range(40)),
        columns=[(f"C{c}", lambda row, c=c: table[row][c]) for c in range(4)],
    )
    jobs = _bulk.BulkJobs()
    job = jobs.create(
        {"operation": "query", "query": "SELECT x FROM Account"},
        "66.0",
        "005000000000001AAA",
        0.0,
        lambda text, deleted: ("Account", result, None),
    )
    assert len(job.parts) == 6
    whole = _bulk.render_csv(result, ",", "\n")  # type: ignore[arg-type]
    for start, size in [(0, 40), (0, 7), (3, 9), (6, 1), (7, 7), (13, 50), (39, 5), (40, 3)]:
        page = job.page(start, size, use_gzip=False)
        expected = whole.header + "".join(whole.lines[start : start + size])
        assert page.body.decode() == expected and page.records == len(whole.lines[start:][:size])
        assert page.locator == (
            "null" if start + size >= 40 else _bulk.encode_locator(start + size)
        )
        packed = job.page(start, size, use_gzip=True)
        assert gzip.decompress(packed.body) == page.body and packed.compressed


def test_pages_are_compressed_while_the_job_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages of the org's page size are compressed ahead, as Salesforce writes its
    result files while the job runs: serving one then compresses nothing. A page of
    another size is compressed when asked, once."""
    from ak_salesforce_nb.emulator import _bulk

    monkeypatch.setattr(_bulk, "RENDER_PART", 7)
    table = [[f"n{i}", i] for i in range(40)]
    result = _FakeResult(
        rows=list(range(40)),
        columns=[(f"C{c}", lambda row, c=c: table[row][c]) for c in range(2)],
    )
    job = _bulk.BulkJobs().create(
        {"operation": "query", "query": "SELECT x FROM Account"},
        "66.0",
        "005000000000001AAA",
        0.0,
        lambda text, deleted: ("Account", result, None),
        page_size=15,
    )
    assert sorted(job.packing) == [(0, 15), (15, 15), (30, 15)]
    for task in job.packing.values():
        task.result(timeout=30)
    assert sorted(job.compressed) == [(0, 15), (15, 15), (30, 15)]
    calls: list[int] = []
    real = gzip.compress

    def counted(data: bytes, *args: Any, **kwargs: Any) -> bytes:
        calls.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(_bulk.gzip, "compress", counted)
    for start in (0, 15, 30):
        packed = job.page(start, 15, use_gzip=True)
        plain = job.page(start, 15, use_gzip=False)
        assert packed.compressed and gzip.decompress(packed.body) == plain.body
        assert packed.records == plain.records == min(15, 40 - start)
    assert calls == []
    other = job.page(0, 10, use_gzip=True)
    assert gzip.decompress(other.body) == job.page(0, 10, use_gzip=False).body
    assert job.page(0, 10, use_gzip=True).body == other.body and len(calls) == 1
    assert other.body[:2] == b"\x1f\x8b"
