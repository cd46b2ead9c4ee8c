"""Query records to DataFrames: the column-wise builder gives what row-by-row flattening
gives, for regular pages and for any odd page a test can think of."""

from __future__ import annotations

from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ak_salesforce_nb.kernel._records import RecordColumns, flatten_record, records_to_frame

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3))


def attributes(kind: str) -> dict[str, str]:
    return {"type": kind, "url": f"/services/data/v63.0/sobjects/{kind}/x"}


@st.composite
def records(draw: Any) -> list[dict[str, Any]]:
    """Records of one query: same fields; parents null or not; maybe a child subquery;
    sometimes an odd record (a missing field, a scalar where a parent was)."""
    count = draw(st.integers(0, 6))
    has_children = draw(st.booleans())
    out = []
    for _ in range(count):
        record: dict[str, Any] = {"attributes": attributes("Account"), "Id": draw(scalars)}
        record["Name"] = draw(scalars)
        owner = draw(st.one_of(st.none(), st.fixed_dictionaries({"Name": scalars})))
        if owner is not None:
            manager = draw(st.one_of(st.none(), st.fixed_dictionaries({"Email": scalars})))
            owner = {"attributes": attributes("User"), **owner, "Manager": manager}
        record["Owner"] = owner
        if has_children:
            children = draw(st.lists(st.fixed_dictionaries({"LastName": scalars}), max_size=2))
            record["Contacts"] = (
                None
                if not children
                else {
                    "totalSize": len(children),
                    "done": True,
                    "records": [{"attributes": attributes("Contact"), **c} for c in children],
                }
            )
        out.append(record)
    if out and draw(st.integers(0, 4)) == 0:  # an odd record
        odd = dict(out[-1])
        if draw(st.booleans()):
            odd.pop("Name")
        else:
            odd["Owner"] = "not a parent"
        out[-1] = odd
    return out


def same_frames(left: pd.DataFrame, right: pd.DataFrame) -> None:
    assert sorted(left.columns) == sorted(right.columns)
    assert len(left) == len(right)
    for column in left.columns:
        if left[column].isna().all() and right[column].isna().all():
            continue  # all missing: None (object) or NaN (float64) are the same to a reader
        a, b = left[column], right[column]
        if a.dtype == object and b.dtype == object:  # a missing value: None or NaN, alike
            a, b = a.where(a.notna(), None), b.where(b.notna(), None)
        pd.testing.assert_series_equal(a, b)


@settings(max_examples=200, deadline=None)
@given(st.lists(records(), max_size=4))
def test_columns_match_row_by_row_flattening(pages: list[list[dict[str, Any]]]) -> None:
    built = RecordColumns()
    for page in pages:
        built.add(page)
    rows = [flatten_record(r) for page in pages for r in page]
    assert built.length == len(rows)
    assert all(len(column) == len(rows) for column in built.data.values())
    same_frames(built.frame(), records_to_frame(rows))


def test_a_parent_null_on_some_rows_leaves_only_dotted_columns() -> None:
    pages = [
        [{"attributes": attributes("Account"), "Id": "1", "Owner": None}],
        [
            {
                "attributes": attributes("Account"),
                "Id": "2",
                "Owner": {"attributes": attributes("User"), "Name": "Ada"},
            }
        ],
    ]
    built = RecordColumns()
    for page in pages:
        built.add(page)
    frame = built.frame({"Id": "id"})
    assert list(frame.columns) == ["Id", "Owner.Name"]
    assert frame["Owner.Name"].isna().tolist() == [True, False]
    assert frame["Owner.Name"].iloc[1] == "Ada"


def test_column_order_does_not_depend_on_where_pages_break() -> None:
    """SOQL order, whether a parent's null rows share a page with the others or not."""

    def record(n: int, owner: str | None) -> dict[str, Any]:
        parent = None if owner is None else {"attributes": attributes("User"), "Name": owner}
        return {"attributes": attributes("Account"), "Id": str(n), "Owner": parent, "Name": "A"}

    rows = [record(0, None), record(1, None), record(2, "Ada"), record(3, "Bob")]
    frames = []
    for pages in ([rows], [rows[:2], rows[2:]], [rows[:1], rows[1:3], rows[3:]]):
        built = RecordColumns()
        for page in pages:
            built.add(page)
        frames.append(built.frame())
    for frame in frames:
        assert list(frame.columns) == ["Id", "Owner.Name", "Name"]
        pd.testing.assert_frame_equal(frame, frames[0])


def test_a_column_of_child_results_and_parents_is_read_row_by_row() -> None:
    child = {"totalSize": 0, "done": True, "records": []}
    built = RecordColumns()
    built.add([{"Id": child}, {"Id": {}}])  # odd, never from Salesforce: still no crash
    assert built.length == 2
