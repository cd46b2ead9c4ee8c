"""The fast paths of Bulk API ingest give exactly what the plain paths give.

- Result files are built from joined lines put in file order (``ResultRows.render``):
  compared with the line-by-line writer (``render_csv_file``) on the rows shuffled as
  before, with quotes, delimiters, line breaks and ragged rows.
- Creates given as columns (``RecordService.create_columns``, CSV columns converted by
  ``coerce_csv_column``): compared with ``create_many`` of the same bodies (itself
  checked against one-by-one creates in test_emu_create_many) on tricky values: nulls,
  left-out fields, bad numbers, dates and booleans, too-long texts, bad picklists,
  duplicates in the batch and of existing records, the validation rule, row locks.
- A whole upsert job: compared with each row written alone.
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
import time
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ak_salesforce_nb.emulator import EmulatorConfig
from ak_salesforce_nb.emulator._csv_values import coerce_csv, coerce_csv_column
from ak_salesforce_nb.emulator._errors import ApiError
from ak_salesforce_nb.emulator._ingest import IngestJob, ResultRows, render_csv_file
from ak_salesforce_nb.emulator._ingest_run import run_job as run_ingest
from ak_salesforce_nb.emulator._records import ABSENT
from ak_salesforce_nb.emulator._schema import FieldDef
from ak_salesforce_nb.emulator._state import EmulatorState

from .helpers import contents, queued_account_job, reference_upsert

#: Texts with what CSV quoting must handle: quotes, delimiters, line breaks, empty.
TEXT = st.text(alphabet=st.sampled_from('ab,"|\n\r\t ;^`é'), max_size=6)


def reference_file(
    header: list[str],
    rows: list[list[str]],
    outcomes: dict[int, tuple[str, str]],
    seed: str | None,
    delimiter: str,
    line_ending: str,
) -> str:
    """A result file as the emulator wrote it before: one list per line, the lists
    shuffled, each line written by ``render_csv_file``."""
    lines = [[*outcome, *rows[index]] for index, outcome in sorted(outcomes.items())]
    if seed is not None and len(lines) > 1:
        random.Random(seed).shuffle(lines)
    return render_csv_file(header, lines, delimiter, line_ending)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(TEXT, min_size=1, max_size=4), max_size=12),
    st.data(),
    st.sampled_from([",", "|", "\t", ";", "^", "`"]),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
def test_result_rows_render_as_the_line_by_line_writer(
    rows: list[list[str]], data: st.DataObject, delimiter: str, line_ending: str, shuffle: bool
) -> None:
    """Same text for any values, widths (ragged rows too) and order."""
    chosen = data.draw(st.sets(st.integers(0, max(len(rows) - 1, 0))) if rows else st.just(set()))
    outcomes = {index: (data.draw(TEXT), data.draw(TEXT)) for index in sorted(chosen)}
    header = ["sf__Id", "sf__Error", *data.draw(st.lists(TEXT, min_size=1, max_size=4))]
    seed = "750000000000001AAA:failedResults" if shuffle else None
    indexes = sorted(outcomes)
    snapshot = ResultRows(rows, indexes, [outcomes[i] for i in indexes], seed)
    expected = reference_file(header, rows, outcomes, seed, delimiter, line_ending)
    assert snapshot.render(header, delimiter, line_ending) == expected
    plain = ResultRows(rows, list(range(len(rows))))
    assert plain.render(header[2:], delimiter, line_ending) == render_csv_file(
        header[2:], rows, delimiter, line_ending
    )


def test_job_result_files_keep_their_shuffled_order() -> None:
    """A job's shuffled files are the lines shuffled as before, for 1,000 rows."""
    state = EmulatorState(EmulatorConfig(accounts=5, seed=3))
    table = state.store.table("Account")
    assert table is not None
    rows = [[f"K-{n}", f'Name "{n}"' if n % 97 == 0 else f"Name {n}"] for n in range(1000)]
    job = IngestJob(
        id="750000000000002AAA",
        operation="insert",
        table=table,
        external_id=None,
        created_by_id="005000000000001AAA",
        created=time.time(),
        created_date="",
        column_delimiter="COMMA",
        line_ending="CRLF",
        api_version="66.0",
        state="JobComplete",
        header=["External_Id__c", "Name"],
        rows=rows,
        successes={n: (f"001Hs{n:010d}AAA", "true") for n in range(1000) if n % 10},
        failures={n: ("", f"X:bad {n}:Name --") for n in range(0, 1000, 10)},
    )
    for kind, outcomes, first in (
        ("successfulResults", job.successes, ["sf__Id", "sf__Created"]),
        ("failedResults", job.failures, ["sf__Id", "sf__Error"]),
    ):
        for shuffle in (False, True):
            seed = f"{job.id}:{kind}" if shuffle else None
            expected = reference_file(
                [*first, "External_Id__c", "Name"], rows, outcomes, seed, ",", "\r\n"
            )
            assert job.result_file(kind, shuffle) == expected
    job.successes = {n: job.successes[n] for n in range(1, 500) if n % 10}
    job.failures = {n: job.failures[n] for n in range(0, 500, 10)}
    left = job.result_file("unprocessedrecords", False)
    assert left == render_csv_file(job.header or [], rows[500:], ",", "\r\n")


# -- creates given as columns: the outcomes and rows of body-by-body creates

#: Tricky values per Account field (a column's value may also be ABSENT or None).
VALUES: dict[str, list[str]] = {
    "Name": ["Acme", "REJECT me", "x" * 256, "", " spaced ", "Ünï"],
    "External_Id__c": ["K-1", "k-1", "K-2", "EXISTING", "x" * 41, "", "#N/A"],
    "NumberOfEmployees": ["12", "+5", "-3", " 7", "7 ", "٣", "1e3", "many", "", "12\n", "²"],
    "AnnualRevenue": ["1.5", "1e3", " 2", "nan", "inf", "abc", "1_000", "-0", ""],
    "Score__c": ["0.25", "-1", "1,5", "", "Infinity"],
    "Tier__c": ["Gold", "Tin", "gold", ""],
    "Regions__c": ["EMEA;AMER", "EMEA;Mars", "EMEA", ";", ""],
    "Industry": ["Banking", "Whatever", ""],
    "Customer_Since__c": ["2024-01-05", "2024-02-30", "2024-1-5", " 2024-01-05", "x", ""],
    "Last_Review__c": [
        "2024-01-05T10:00:00Z",
        "2024-01-05T10:00:00.123+02:00",
        "2024-01-05",
        "2024-01-05T10:00:00+0200 ",
        "bad",
    ],
    "Is_Partner__c": ["true", "TRUE", "1", "no", "maybe", ""],
    "OwnerId": ["USER", "ACCOUNT", "bad", "005000000000000AAA", ""],
    "BillingCity": ["Paris", "y" * 41],
    "ParentId": ["ACCOUNT", "bad"],  # a lookup of the object itself: created body by body
    "CreatedDate": ["2024-01-01T00:00:00Z"],  # read-only: created body by body
}
ABSENT_OR_NULL = [ABSENT, None]
ACCOUNT = EmulatorState(EmulatorConfig(accounts=0)).store.tables["account"].sobject


def account_org() -> EmulatorState:
    state = EmulatorState(EmulatorConfig(accounts=30, seed=7))
    state.config.validation_rule_prefix = "REJECT"
    return state


def resolve(state: EmulatorState, value: Any) -> Any:
    """Placeholders for values that depend on the org (an existing key, real ids)."""
    table = state.store.tables["account"]
    return (
        {
            "EXISTING": table.columns["External_Id__c"][0],
            "USER": state.store.users.columns["Id"][0],
            "ACCOUNT": table.columns["Id"][1],
        }.get(value, value)
        if isinstance(value, str)
        else value
    )


@st.composite
def column_batches(draw: st.DrawFn) -> tuple[list[str], list[list[Any]], int, int]:
    names = draw(st.lists(st.sampled_from(sorted(VALUES)), unique=True, max_size=7))
    count = draw(st.integers(0, 14))
    columns = [
        draw(st.lists(st.sampled_from(VALUES[n] + ABSENT_OR_NULL), min_size=count, max_size=count))
        for n in names
    ]
    return names, columns, count, draw(st.integers(0, 3))


def outcome(result: str | ApiError) -> Any:
    if isinstance(result, str):
        return result
    return (type(result).__name__, result.status, result.error_code, result.message, result.fields)


@settings(max_examples=150, deadline=None)
@given(column_batches(), st.booleans())
def test_create_columns_matches_create_many(
    batch: tuple[list[str], list[list[Any]], int, int], by_column: bool
) -> None:
    """Any mix of columns, tricky values, nulls, left-out fields and row locks: the same
    outcome per row and the same table as ``create_many`` of the bodies."""
    names, columns, count, locks = batch
    single, columnar = account_org(), account_org()
    tables = [s.store.tables["account"] for s in (single, columnar)]
    fields = [tables[1].sobject.field(n) for n in names]
    assert all(f is not None for f in fields)
    columns = [[resolve(single, v) for v in column] for column in columns]
    bodies = [
        {n: column[i] for n, column in zip(names, columns, strict=True) if column[i] is not ABSENT}
        for i in range(count)
    ]
    user = single.store.users.columns["Id"][0]
    single.faults.lock_rows(locks)
    columnar.faults.lock_rows(locks)
    expected = single.records.create_many(tables[0], bodies, user, coerce_csv)
    got = columnar.records.create_columns(
        tables[1],
        fields,  # type: ignore[arg-type]
        columns,
        count,
        user,
        coerce_csv,
        coerce_csv_column if by_column else None,
    )
    assert [outcome(o) for o in got] == [outcome(o) for o in expected]
    assert contents(tables[1]) == contents(tables[0])
    assert single.faults.pending() == columnar.faults.pending()


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(sorted(set(VALUES) - {"ParentId", "CreatedDate", "OwnerId"})),
    st.lists(st.sampled_from([v for vs in VALUES.values() for v in vs]), max_size=12),
)
def test_coerce_csv_column_is_coerce_csv_of_each_value(name: str, texts: list[str]) -> None:
    f = ACCOUNT.field(name)
    assert f is not None
    values, errors = coerce_csv_column(f, texts)
    got = [outcome(errors[p]) if p in errors else (type(v), v) for p, v in enumerate(values)]
    assert got == [one_value(f, text) for text in texts]
    assert all(values[p] is None for p in errors)


def one_value(f: FieldDef, text: str) -> Any:
    """What ``coerce_csv`` makes of one text: (type, value) or the error's outcome."""
    try:
        value = coerce_csv(f, text)
    except ApiError as error:
        return outcome(error)
    return (type(value), value)


def test_objects_with_derived_fields_are_created_body_by_body() -> None:
    """Contact (Name from FirstName/LastName), through the fallback: same as create_many."""
    single, columnar = account_org(), account_org()
    tables = [s.store.tables["contact"] for s in (single, columnar)]
    names = ["FirstName", "LastName", "Email"]
    columns = [["Ada", ABSENT, "Bo"], ["Lovelace", "REJECT", None], ["a@b.co", "bad", ABSENT]]
    fields = [tables[1].sobject.field(n) for n in names]
    bodies = [
        {n: c[i] for n, c in zip(names, columns, strict=True) if c[i] is not ABSENT}
        for i in range(3)
    ]
    user = single.store.users.columns["Id"][0]
    expected = single.records.create_many(tables[0], bodies, user, coerce_csv)
    got = columnar.records.create_columns(
        tables[1],
        fields,
        columns,
        3,
        user,
        coerce_csv,
        coerce_csv_column,  # type: ignore[arg-type]
    )
    assert [outcome(o) for o in got] == [outcome(o) for o in expected]
    assert [o.error_code for o in got if isinstance(o, ApiError)] == [
        "INVALID_EMAIL_ADDRESS",
        "REQUIRED_FIELD_MISSING",
    ]
    assert contents(tables[1]) == contents(tables[0])


# -- a whole upsert job: the outcomes row-by-row writes give

UPSERT_VALUES: dict[str, list[str]] = {
    "Name": ["Acme", "REJECT me", "x" * 256, "", "#N/A", 'Quote "q", comma'],
    "NumberOfEmployees": ["12", "+5", " 7", "many", "", "#N/A"],
    "AnnualRevenue": ["1.5", "nan", "", "#N/A"],
    "Tier__c": ["Gold", "Tin", "", "#N/A"],
    "Is_Partner__c": ["true", "maybe", ""],
    "Customer_Since__c": ["2024-01-05", "2024-02-30", ""],
}
KEYS = ["K1", "k1", "K2", "K3", "K4", "EXISTING", "EXISTING2", "", "#N/A"]


@st.composite
def upsert_jobs(draw: st.DrawFn) -> tuple[list[str], list[list[str]], int]:
    others = draw(st.lists(st.sampled_from(sorted(UPSERT_VALUES)), unique=True, max_size=4))
    header = ["External_Id__c", *others]
    rows = draw(
        st.lists(
            st.tuples(st.sampled_from(KEYS), *[st.sampled_from(UPSERT_VALUES[n]) for n in others]),
            max_size=20,
        )
    )
    lines = [list(row) for row in rows]
    if lines and draw(st.booleans()):
        lines[draw(st.integers(0, len(lines) - 1))].append("extra")  # a ragged row
    return header, lines, draw(st.integers(0, 2))


@settings(max_examples=80, deadline=None)
@given(upsert_jobs())
def test_upsert_job_gives_the_outcomes_of_row_by_row_writes(
    job_data: tuple[list[str], list[list[str]], int],
) -> None:
    header, rows, locks = job_data
    single, batch = account_org(), account_org()
    existing = single.store.tables["account"].columns["External_Id__c"][:2]
    placeholders = {"EXISTING": existing[0], "EXISTING2": existing[1]}
    rows = [[placeholders.get(t, t) if i == 0 else t for i, t in enumerate(r)] for r in rows]
    rows = [r for r in rows if any(r)]  # a line of nothing but empty fields is no row
    single.faults.lock_rows(locks)
    batch.faults.lock_rows(locks)
    expected = reference_upsert(single, header, rows)
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, *rows])
    job = queued_account_job(
        batch,
        text.getvalue().encode(),
        operation="upsert",
        external_id="External_Id__c",
        job_id="750000000000003AAA",
    )
    batch.config.bulk_job_delay = 0.0
    asyncio.run(run_ingest(batch, job))
    assert job.state == "JobComplete", job.error_message
    assert {**job.successes, **job.failures} == expected
    assert contents(job.table) == contents(single.store.tables["account"])


def test_columns_created_in_a_transaction_roll_back() -> None:
    """Rows appended as columns are journaled as inserts: a rollback removes them."""
    state = account_org()
    table = state.store.tables["account"]
    before = contents(table)
    fields = [table.sobject.field("Name"), table.sobject.field("External_Id__c")]
    user = state.store.users.columns["Id"][0]
    transaction = state.store.transaction()
    ids = state.records.create_columns(
        table,
        fields,  # type: ignore[arg-type]
        [["Gone 1", "Gone 2"], ["GONE-1", ABSENT]],
        2,
        user,
        coerce_csv,
        coerce_csv_column,
    )
    assert all(isinstance(i, str) and table.row_of(i) is not None for i in ids)
    assert table.find_unique("External_Id__c", "gone-1") is not None
    transaction.rollback()
    after = contents(table)
    assert after["columns"] == before["columns"] and after["index"] == before["index"]
    assert after["unique"] == before["unique"]
    assert table.find_unique("External_Id__c", "GONE-1") is None
