"""`Session`: an authorized Salesforce REST client for notebook cells.

    sf = aksf.session("prod")
    sf.query("SELECT Name, Owner.Name FROM Account")       # a DataFrame, every page
    sf.sobject("Account").create({"Name": "Acme"})
    sf.describe("Account")["fields"]

Tokens come from the connection store and refresh by themselves on 401.
"""

from __future__ import annotations

import collections
import concurrent.futures
import re
from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from ..core._exceptions import SalesforceError
from ._child_pages import add_child_page, incomplete_children
from ._explain import QueryPlan
from ._progress import make_progress
from ._query_plan import PagePlan, plan_pages
from ._records import RecordColumns, sobject_of
from ._session_base import Engine, QueryMethod, SessionBase, response_body
from ._types import describe_field_types
from ._write_fields import Operation

if TYPE_CHECKING:
    import pandas as pd

    from ..pubsub import ReplayStart, Subscription

__all__ = ["SObject", "Session"]

# `delete`'s "no data given": a raw REST DELETE of a path.
_NO_DATA: Any = object()
#: Keyword arguments that only a write-back takes (a raw `delete(path)` refuses them).
_WRITE_OPTIONS = frozenset(
    {
        "method",
        "all_or_none",
        "dry_run",
        "raise_on_error",
        "progress",
        "confirm",
        "threshold",
        "parallel",
        "retry",
        "timeout",
        "external_id",
    }
)


# `LIMIT n` closing the outer query (optionally followed by OFFSET and FOR/UPDATE clauses).
_TOP_LEVEL_LIMIT = re.compile(
    r"\bLIMIT\s+(\d+)(?:\s+OFFSET\s+\d+)?(?:\s+(?:FOR|UPDATE)\s+\w+)*\s*$", re.IGNORECASE
)


class Session(SessionBase):
    """An authorized REST session on one connection (see the module docstring).

    Options (keyword arguments of `aksf.session` and `aksf.async_session`):

    - ``api_version``: REST API version, e.g. ``"62.0"`` (default: the server's
      ``c.SalesforceOAuth.api_version``, else 63.0);
    - ``timeout``: seconds for one API call (default 120);
    - ``http_timeout``: seconds for a token refresh (default 30);
    - ``parallel_pages``: query pages fetched at once (default 4; 1 fetches one by one);
    - ``bulk_threshold``: rows past which ``query(method="auto")`` uses Bulk API 2.0
      (default 50,000);
    - ``progress``: show progress bars (default: in a notebook, for long results);
    - ``store`` / ``store_path``: another connection store than the server's.
    """

    def __init__(self, name: str = "default", **options: Any) -> None:
        transport: httpx.BaseTransport | None = options.pop("transport", None)
        super().__init__(name, **options)
        self._http = httpx.Client(transport=transport, **self._client_kwargs())
        #: False once the org refused the Query Plan tool: ``method="auto"`` stops asking.
        self._explain_works = True

    def close(self) -> None:
        """Close the HTTP connections (``with aksf.session(...) as sf:`` does it)."""
        self._http.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- raw calls ----------------------------------------------------------------------

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; the response itself (for its headers, status or a body that is
        not JSON). Raises `SalesforceError` like `request`."""
        return self._checked(self._http.request(method, self.url(path), **kwargs))

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request; the decoded JSON (None for 204); raises `SalesforceError`."""
        return response_body(self.send(method, path, **kwargs))

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET `path` (relative to ``/services/data/vNN.N/``, or from ``/``)."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """POST `json` to `path`."""
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """PATCH `path` with `json`."""
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path_or_sobject: str, data: Any = _NO_DATA, /, **kwargs: Any) -> Any:
        """Two calls in one name:

        - ``sf.delete(path)``: the raw REST call, DELETE `path` (``params=``, ``headers=``
          as for `request`); the decoded answer;
        - ``sf.delete("Account", ids_or_df)``: delete those records (a list of ids, a
          Series, or a frame with an Id column) like `insert` writes: the result frame.
          Options: those of `insert`.
        """
        if data is _NO_DATA:
            if "/" not in path_or_sobject and path_or_sobject[:1].isupper():
                raise TypeError(
                    f"sf.delete({path_or_sobject!r}) needs the records to delete: "
                    f"sf.delete({path_or_sobject!r}, ids_or_df). For a raw REST DELETE pass "
                    "a path, e.g. sf.delete('sobjects/Account/001…')."
                )
            unknown = set(kwargs) & _WRITE_OPTIONS
            if unknown:
                raise TypeError(
                    f"{', '.join(sorted(unknown))}: write options, but sf.delete(path) is the "
                    "raw REST call. To delete records: sf.delete('Account', ids_or_df, ...)."
                )
            return self.request("DELETE", path_or_sobject, **kwargs)
        if "/" in path_or_sobject:
            raise TypeError(
                f"sf.delete({path_or_sobject!r}, ...) : a path takes no data. To delete "
                "records name the object: sf.delete('Account', ids_or_df)."
            )
        return self._write("delete", path_or_sobject, data, **kwargs)

    # -- metadata -----------------------------------------------------------------------

    def describe(self, sobject: str | None = None, *, refresh: bool = False) -> dict[str, Any]:
        """The global describe, or one object's; cached for the session's life."""
        key = sobject or ""
        if refresh or key not in self._describe_cache:
            path = f"sobjects/{quote(sobject)}/describe" if sobject else "sobjects/"
            self._describe_cache[key] = self.get(path)
        result: dict[str, Any] = self._describe_cache[key]
        return result

    def limits(self) -> dict[str, Any]:
        """The org's limits now (``DailyApiRequests`` and the rest); asked each call."""
        result: dict[str, Any] = self.get("limits")
        return result

    def versions(self) -> list[dict[str, Any]]:
        """The REST API versions the org offers."""
        result: list[dict[str, Any]] = self.get("/services/data/")
        return result

    def sobject(self, name: str) -> SObject:
        """Record operations on one object: ``sf.sobject("Account").create({...})``;
        ``sf.Account`` is the same."""
        return SObject(self, name)

    def __getattr__(self, name: str) -> SObject:
        # sf.Account.get(...) like simple-salesforce; only for names that look like objects.
        if name[:1].isupper():
            return SObject(self, name)
        raise AttributeError(name)

    # -- queries ------------------------------------------------------------------------

    def query_pages(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> Generator[dict[str, Any], None, None]:
        """Every page of a query result, in order, fetching ahead in parallel; child
        subqueries that Salesforce cut short (a nested ``nextRecordsUrl``) come complete."""
        pages = self._outer_pages(soql, include_deleted=include_deleted, batch_size=batch_size)
        try:
            for page in pages:
                pending = incomplete_children(page.get("records"))
                if pending:
                    self._complete_children(pending)
                yield page
        finally:
            pages.close()

    def _complete_children(self, pending: list[dict[str, Any]]) -> None:
        """Follow each nested chain to its end; chains run side by side, at most
        `parallel_pages` at once (the pages of one chain come one after another)."""

        def follow(nested: dict[str, Any]) -> None:
            next_url: str | None = str(nested["nextRecordsUrl"])
            while next_url:
                next_url = add_child_page(nested, self.get(next_url))

        while pending:
            if self.parallel_pages > 1 and len(pending) > 1:
                with concurrent.futures.ThreadPoolExecutor(
                    min(self.parallel_pages, len(pending)), thread_name_prefix="aksf-child"
                ) as pool:
                    for future in [pool.submit(follow, nested) for nested in pending]:
                        future.result()
            else:
                for nested in pending:
                    follow(nested)
            # Children of children (API 58+) may be cut short too, in what just arrived.
            pending = incomplete_children(
                [r for nested in pending for r in nested.get("records") or ()]
            )

    def _outer_pages(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> Generator[dict[str, Any], None, None]:
        endpoint = "queryAll" if include_deleted else "query"
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else {}
        first: dict[str, Any] = self.get(endpoint, params={"q": soql}, headers=headers)
        yield first
        plan = plan_pages(first) if self.parallel_pages > 1 else None
        next_url: str | None = first.get("nextRecordsUrl")
        if plan is not None:
            next_url = yield from self._parallel_pages(plan, headers)
        while next_url:
            page: dict[str, Any] = self.get(next_url, headers=headers)
            yield page
            next_url = page.get("nextRecordsUrl")

    def _parallel_pages(
        self, plan: PagePlan, headers: dict[str, str]
    ) -> Generator[dict[str, Any], None, str | None]:
        offsets = iter(plan.offsets())
        with concurrent.futures.ThreadPoolExecutor(
            self.parallel_pages, thread_name_prefix="aksf-page"
        ) as pool:
            window: collections.deque[tuple[int, concurrent.futures.Future[Any]]] = (
                collections.deque()
            )

            def submit() -> None:
                offset = next(offsets, None)
                if offset is not None:
                    window.append(
                        (offset, pool.submit(self.get, plan.url(offset), headers=headers))
                    )

            for _ in range(self.parallel_pages):
                submit()
            try:
                while window:
                    offset, future = window.popleft()
                    page = future.result()
                    if not plan.page_fits(offset, page):
                        # Not what the plan said: follow Salesforce's own links from here.
                        yield page
                        fallback: str | None = page.get("nextRecordsUrl")
                        return fallback
                    yield page
                    submit()
            finally:
                for _, pending in window:
                    pending.cancel()
        return None

    def query_records(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """The records one by one (without `attributes`); only the pages being fetched
        (`parallel_pages`) are in memory."""
        for page in self.query_pages(soql, include_deleted=include_deleted, batch_size=batch_size):
            for record in page.get("records", ()):
                yield {k: v for k, v in record.items() if k != "attributes"}

    def query_all_records(self, soql: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """`query_records` including deleted and archived rows (``queryAll``)."""
        return self.query_records(soql, include_deleted=True, **kwargs)

    def count(self, soql: str) -> int:
        """`totalSize` of a query, e.g. ``SELECT COUNT() FROM Account``."""
        return int(self.get("query", params={"q": soql})["totalSize"])

    def query(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        method: QueryMethod = "rest",
        engine: Engine = "pandas",
        typed: bool = True,
        progress: bool | None = None,
        batch_size: int | None = None,
    ) -> Any:
        """The whole result of `soql` as a DataFrame (pandas, or polars with engine=)."""
        if method == "bulk":
            return self.bulk_query(
                soql, include_deleted=include_deleted, engine=engine, progress=progress, typed=typed
            )
        if method == "auto" and self._planned_rows(soql) > self.bulk_threshold:
            from ._bulk import bulk_capable

            if bulk_capable(soql):
                return self.bulk_query(
                    soql,
                    include_deleted=include_deleted,
                    engine=engine,
                    progress=progress,
                    typed=typed,
                )
        pages = self.query_pages(soql, include_deleted=include_deleted, batch_size=batch_size)
        first = next(pages)
        total = int(first.get("totalSize", 0))
        # The plan is an estimate; the first page's totalSize is the count.
        if method == "auto" and total > self.bulk_threshold:
            from ._bulk import bulk_capable

            if bulk_capable(soql):
                pages.close()
                return self.bulk_query(
                    soql,
                    include_deleted=include_deleted,
                    engine=engine,
                    progress=progress,
                    typed=typed,
                )
        columns = RecordColumns()
        columns.add(first.get("records", ()))
        sobject = sobject_of(first)
        show = progress if progress is not None else self.progress
        bar = make_progress(total, enabled=show if not first.get("done", True) else False)
        try:
            bar.advance(columns.length)
            for page in pages:
                records = page.get("records", ())
                columns.add(records)
                bar.advance(len(records))
        finally:
            bar.close()
        field_types = self.field_types(sobject, columns.data) if typed and columns.length else None
        if engine == "polars":
            return columns.polars_frame(field_types)
        return columns.frame(field_types)

    def explain(self, soql: str) -> QueryPlan:
        """The query plan of `soql` (``GET query?explain=``): cheapest plan first, its
        leading operation, expected rows and relative cost, with a plain warning on a
        table scan. ``plan.frame()`` is the table as a DataFrame."""
        return QueryPlan.from_answer(soql, self.get("query", params={"explain": soql}))

    def _planned_rows(self, soql: str) -> int:
        """The plan's row estimate for ``method="auto"``; 0 where there is no plan (an
        org or query the Query Plan tool refuses: the first page's count decides)."""
        # The plan counts the rows the filters select; a LIMIT caps what comes back, and
        # a LIMIT at or under the threshold answers without asking (one call fewer for
        # the usual notebook query).
        found = _TOP_LEVEL_LIMIT.search(soql)
        limit = int(found[1]) if found else None
        if limit is not None and limit <= self.bulk_threshold:
            return limit
        if not self._explain_works:
            return 0
        try:
            estimate = self.explain(soql).cardinality or 0
        except SalesforceError as error:
            if error.status_code in (404, 405, 501) or error.error_code == "API_DISABLED_FOR_ORG":
                self._explain_works = False
            return 0
        return estimate if limit is None else min(estimate, limit)

    def query_all(self, soql: str, **kwargs: Any) -> pd.DataFrame:
        """`query` including deleted and archived rows (``queryAll``)."""
        frame: pd.DataFrame = self.query(soql, include_deleted=True, **kwargs)
        return frame

    def field_types(self, sobject: str | None, columns: Iterable[str]) -> dict[str, str]:
        """The Salesforce field type of each (dotted) column of a result of `sobject`,
        as far as describe tells (columns it says nothing about are left out)."""
        walk = describe_field_types(sobject, columns)
        try:
            name = next(walk)
            while True:
                try:
                    describe: dict[str, Any] | None = self.describe(name)
                except Exception:  # typing is a nicety; never fail a query over it
                    describe = None
                name = walk.send(describe)
        except StopIteration as done:
            found: dict[str, str] = done.value
            return found

    # -- Bulk API 2.0 -----------------------------------------------------------------

    def bulk_query(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        engine: Engine = "pandas",
        max_records: int | None = None,
        poll_interval: float = 0.05,
        progress: bool | None = None,
        timeout: float = 3600.0,
        typed: bool = True,
    ) -> Any:
        """Run `soql` as a Bulk API 2.0 query job; a DataFrame of the whole result.

        Typed like `query` (from describe). `max_records`: rows per result page;
        `poll_interval`: the shortest wait between polls (each wait is 15% of the time
        waited so far, at most 5 s);
        `timeout`: seconds to wait for the job before aborting it. Ctrl-C aborts the job
        at Salesforce. A Failed job raises `BulkJobFailed` with Salesforce's reason.
        """
        from ._bulk import run_bulk_query

        return run_bulk_query(
            self,
            soql,
            include_deleted=include_deleted,
            engine=engine,
            max_records=max_records,
            poll_interval=poll_interval,
            progress=progress,
            timeout=timeout,
            typed=typed,
        )

    # -- writing back -------------------------------------------------------------------

    def _write(self, operation: Operation, sobject: str, data: Any, **options: Any) -> Any:
        from ._writes import write

        return write(self, operation, sobject, data, **options)

    def insert(self, sobject: str, data: Any, **options: Any) -> Any:
        """Create a record per row of `data` (a pandas or polars DataFrame, or a list of
        dicts); a result frame with the input's index and order: ``success``, ``id``,
        ``created``, ``error_code``, ``error_message``, ``error_fields``.

        Options: ``method`` (``"auto"``: sObject Collections up to `write_threshold`
        rows, else Bulk API 2.0; ``"collections"``, ``"bulk"``), ``all_or_none``
        (Collections: roll a request back when one of its rows fails), ``dry_run``
        (check against describe, write nothing), ``raise_on_error`` (raise `WriteFailed`
        when a row failed, instead of only returning the result), ``progress``,
        ``confirm`` (ask before writing; by default only in a notebook past
        `confirm_above` rows), ``parallel`` (requests or jobs at once), ``job_rows``
        (Bulk: rows per job, 10,000 by default; rows naming the same record always share
        one), ``timeout`` (seconds for a Bulk job). A failed row never raises by itself: look at
        ``result[~result.success]``. Ctrl-C aborts Bulk jobs at Salesforce and raises
        `WriteInterrupted` with the result so far (also in ``sf.last_write``).
        """
        return self._write("insert", sobject, data, **options)

    def update(self, sobject: str, data: Any, **options: Any) -> Any:
        """Update the record named by each row's ``Id`` with the row's other columns
        (null sets the field to null; leave a column out to leave the field alone).
        The result frame and options of `insert`."""
        return self._write("update", sobject, data, **options)

    def upsert(self, sobject: str, data: Any, *, external_id: str, **options: Any) -> Any:
        """Create or update by `external_id` (an External ID field, or ``"Id"``);
        ``created`` says which. A column ``Account.Ext_Id__c`` sets a lookup by the
        parent's external id. The result frame and options of `insert`."""
        return self._write("upsert", sobject, data, external_id=external_id, **options)

    def hard_delete(self, sobject: str, data: Any, **options: Any) -> Any:
        """Delete for good, past the recycle bin (Bulk API 2.0 only; the user needs the
        "Bulk API Hard Delete" permission). The result frame and options of `insert`."""
        return self._write("hardDelete", sobject, data, **options)

    # -- reports and search (kernel/_reports, kernel/_search) ---------------------------

    def report(self, report: str, filters: Any = None, **options: Any) -> pd.DataFrame:
        """A report's rows (Id, name or developer name) as a DataFrame, past 2,000 rows;
        ``aggregates=True`` for its summary. Options: see `_reports.run_report`."""
        from ._reports import run_report

        return run_report(self, report, filters, **options)

    def reports(self, search: str | None = None, *, recent: bool = False) -> Any:
        """The org's reports (``SELECT … FROM Report``), `search` matching their names."""
        from ._reports import list_reports

        return list_reports(self, search, recent=recent)

    def search(self, sosl: str, **options: Any) -> Any:
        """A SOSL search (``FIND {…} RETURNING …``): a dict of DataFrames per object."""
        from ._search import search

        return search(self, sosl, **options)

    # -- bridges ----------------------------------------------------------------------

    def to_simple_salesforce(self) -> Any:
        """A `simple_salesforce.Salesforce` on the same instance and token."""
        try:
            from simple_salesforce.api import Salesforce
        except ImportError:
            raise ImportError(
                "simple-salesforce is not installed: "
                "pip install 'ak_salesforce_nb[simple-salesforce]'"
            ) from None
        tokens = self.tokens.current()
        return Salesforce(
            session_id=tokens.access_token,
            instance_url=tokens.instance_url,
            version=self.api_version,
        )

    # -- Pub/Sub API ------------------------------------------------------------------

    def subscribe(
        self,
        topic: str,
        *,
        replay: ReplayStart = "latest",
        batch: int = 100,
        **options: Any,
    ) -> Subscription:
        """Live events of `topic` (``/data/AccountChangeEvent``, ``/data/ChangeEvents``,
        ``/event/Custom__e``) over the Pub/Sub API: a running `Subscription` to
        display, ``async for`` over, or turn into a DataFrame.

        `replay`: ``"latest"``, ``"earliest"`` or a replay id to start after; a stored
        position for this connection and topic is resumed first. `batch`: events asked
        for at a time. Other options: see `ak_salesforce_nb.pubsub.subscribe`.
        """
        try:
            from ..pubsub import subscribe
        except ImportError as error:
            raise ImportError(
                f"The Pub/Sub API needs grpcio, protobuf and fastavro ({error}): "
                "pip install 'ak_salesforce_nb[pubsub]'"
            ) from error
        return subscribe(self, topic, replay=replay, batch=batch, **options)


class SObject:
    """Record operations on one sObject type: ``sf.sobject("Account").get(id)``."""

    def __init__(self, session: Session, name: str) -> None:
        self.session = session
        self.name = name

    def __repr__(self) -> str:
        return f"<SObject {self.name} of {self.session.name!r}>"

    def _path(self, *parts: str) -> str:
        return "/".join(["sobjects", quote(self.name), *(quote(p, safe="") for p in parts)])

    def describe(self) -> dict[str, Any]:
        """This object's describe (cached by the session)."""
        return self.session.describe(self.name)

    def get(self, record_id: str, *, fields: list[str] | None = None) -> dict[str, Any]:
        """One record by id, with every field or only `fields`."""
        params = {"fields": ",".join(fields)} if fields else None
        result: dict[str, Any] = self.session.get(self._path(record_id), params=params)
        return result

    def create(self, data: Mapping[str, Any]) -> str:
        """Create a record; its id."""
        return str(self.session.post(self._path() + "/", json=dict(data))["id"])

    def update(
        self, record_id_or_data: Any, data: Mapping[str, Any] | None = None, **options: Any
    ) -> Any:
        """``update(record_id, {...})``: set the fields in the dict on one record.
        ``update(df)``: `Session.update` of this object (a result frame)."""
        if not isinstance(record_id_or_data, str):
            return self.session.update(self.name, record_id_or_data, **options)
        if data is None:
            raise TypeError(f"update({record_id_or_data!r}) needs the fields to set: a dict.")
        self.session.patch(self._path(record_id_or_data), json=dict(data))
        return None

    def insert(self, data: Any, **options: Any) -> Any:
        """`Session.insert` of this object: a record per row, a result frame."""
        return self.session.insert(self.name, data, **options)

    def hard_delete(self, data: Any, **options: Any) -> Any:
        """`Session.hard_delete` of this object."""
        return self.session.hard_delete(self.name, data, **options)

    def upsert(
        self,
        external_id_field_or_data: Any,
        value: str | None = None,
        data: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Any:
        """``upsert("Ext__c", "42", {...})``: create or update one record by an external
        id; ``{"id", "created"}``. ``upsert(df, external_id="Ext__c")``: `Session.upsert`
        of this object (a result frame)."""
        if not isinstance(external_id_field_or_data, str):
            return self.session.upsert(self.name, external_id_field_or_data, **options)
        if value is None or data is None:
            raise TypeError(
                "upsert(field, value, data) for one record, or upsert(df, external_id=...) "
                "for a frame."
            )
        external_id_field = external_id_field_or_data
        response = self.session.send("PATCH", self._path(external_id_field, value), json=dict(data))
        body = response_body(response)
        if isinstance(body, dict):
            return {
                "id": body.get("id"),
                "created": bool(body.get("created", response.status_code == 201)),
            }
        return {"id": None, "created": response.status_code == 201}

    def delete(self, record_id_or_data: Any, **options: Any) -> Any:
        """``delete(record_id)``: delete one record (it goes to the recycle bin, as in
        Salesforce). ``delete(ids_or_df)``: `Session.delete` of these records (a result
        frame)."""
        if isinstance(record_id_or_data, str):
            self.session.delete(self._path(record_id_or_data))
            return None
        return self.session.delete(self.name, record_id_or_data, **options)
