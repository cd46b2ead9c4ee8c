"""The Bulk API upload's CSV: built column by column, read back exactly by any CSV reader."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from ak_salesforce_nb.kernel._write_bulk import csv_body

_TEXT = st.text(alphabet=st.sampled_from(list('ab ,"\n\r;#é')), max_size=6)
_NAME = st.text(alphabet=st.sampled_from(list('ab_,"')), min_size=1, max_size=6)


def _read(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


@given(
    st.integers(1, 4).flatmap(
        lambda width: st.tuples(
            st.lists(_NAME, min_size=width, max_size=width),
            st.lists(st.lists(_TEXT, min_size=width, max_size=width), max_size=8),
        )
    )
)
def test_csv_body_reads_back_as_the_fields_it_was_given(
    case: tuple[list[str], list[list[str]]],
) -> None:
    names, rows = case
    columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in names]
    assert _read(csv_body(names, columns)) == [names, *rows]


def test_csv_body_matches_csv_writer_for_plain_and_special_fields() -> None:
    names = ["Name", "Description"]
    rows = [["Acme", "plain"], ["Globex, Inc.", 'says "hi"'], ["Line", "one\ntwo"], ["", "#N/A"]]
    expected = io.StringIO()
    csv.writer(expected, lineterminator="\n").writerows([names, *rows])
    columns = [list(column) for column in zip(*rows, strict=True)]
    assert csv_body(names, columns) == expected.getvalue().encode("utf-8")


def test_a_single_empty_field_is_not_a_blank_line() -> None:
    assert _read(csv_body(["Id"], [["001000000000001AAA", ""]])) == [
        ["Id"],
        ["001000000000001AAA"],
        [""],
    ]
