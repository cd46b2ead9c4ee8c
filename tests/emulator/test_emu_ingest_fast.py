"""The fast paths of Bulk API ingest give exactly what the plain paths give.

Result files are built from joined lines put in file order (``ResultRows.render``);
these tests compare them with the line-by-line writer (``render_csv_file``) on the
rows shuffled as before, with quotes, delimiters, line breaks and ragged rows.
"""

from __future__ import annotations

import random
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from ak_salesforce_nb.emulator import EmulatorConfig
from ak_salesforce_nb.emulator._ingest import IngestJob, ResultRows, render_csv_file
from ak_salesforce_nb.emulator._state import EmulatorState

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


@settings(max_examples=200, deadline=None)
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
    order = None
    if seed is not None and len(indexes) > 1:
        order = list(range(len(indexes)))
        random.Random(seed).shuffle(order)
    snapshot = ResultRows(rows, indexes, [outcomes[i] for i in indexes], order)
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
