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
import os
from collections.abc import Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeGuard
from urllib.parse import quote

import httpx

from ..core import _environment as environment
from ..core._constants import DEFAULT_HTTP_TIMEOUT
from ..core._store import ConnectionRecord, ConnectionStore
from . import _json
from ._api_errors import raise_for_salesforce_error
from ._auth import SalesforceAuth
from ._progress import make_progress
from ._query_plan import PagePlan, plan_pages
from ._records import RecordColumns
from ._tokens import TokenProvider

if TYPE_CHECKING:
    import pandas as pd

    from ..pubsub import ReplayStart, Subscription

__all__ = ["SObject", "Session"]

QueryMethod = Literal["rest", "bulk", "auto"]
Engine = Literal["pandas", "polars"]
DEFAULT_BULK_THRESHOLD = 50_000


def _open_store(
    store: ConnectionStore | None, store_path: str | os.PathLike[str] | None
) -> ConnectionStore:
    if store is not None:
        return store
    return ConnectionStore(os.fspath(store_path) if store_path is not None else None)


class _SessionBase:
    """What the sync and async sessions share: settings, URLs, describe cache, reprs."""

    def __init__(
        self,
        name: str = "default",
        *,
        api_version: str | None = None,
        store: ConnectionStore | None = None,
        store_path: str | os.PathLike[str] | None = None,
        timeout: float = 120.0,
        http_timeout: float = DEFAULT_HTTP_TIMEOUT,
        parallel_pages: int = 4,
        bulk_threshold: int = DEFAULT_BULK_THRESHOLD,
        progress: bool | None = None,
    ) -> None:
        self.name = name
        self.store = _open_store(store, store_path)
        self.connection: ConnectionRecord = self.store.get_connection(name)
        self.api_version = (api_version or environment.api_version()).lstrip("v")
        self.timeout = timeout
        self.parallel_pages = max(1, parallel_pages)
        self.bulk_threshold = bulk_threshold
        self.progress = progress
        self.tokens = TokenProvider(self.store, name, http_timeout=http_timeout)
        self.tokens.current()  # fail early, clearly, if not connected
        self._describe_cache: dict[str, Any] = {}
        self.last_limit_info: str = ""

    @property
    def instance_url(self) -> str:
        return self.tokens.current().instance_url

    @property
    def base_path(self) -> str:
        return f"/services/data/v{self.api_version}/"

    def _url(self, path: str) -> str:
        """`path` relative to ``/services/data/vNN.N/``, or absolute from the host."""
        if path.startswith(("http://", "https://")):
            return path
        if path.startswith("/"):
            return self.instance_url + path
        return self.instance_url + self.base_path + path.lstrip("/")

    def _decode(self, response: httpx.Response) -> Any:
        info = response.headers.get("Sforce-Limit-Info")
        if info:
            self.last_limit_info = info
        raise_for_salesforce_error(response)
        if response.status_code == 204 or not response.content:
            return None
        if "json" in response.headers.get("Content-Type", "json"):
            return _json.loads(response.content)
        return response.text

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "auth": SalesforceAuth(self.tokens),
            "timeout": self.timeout,
            "headers": {"Accept": "application/json", "User-Agent": "ak_salesforce_nb"},
            "limits": httpx.Limits(max_connections=max(8, self.parallel_pages * 2)),
        }

    # -- reprs: never a token -------------------------------------------------------

    def __repr__(self) -> str:
        c = self.store.find_connection(self.name) or self.connection
        return (
            f"<{type(self).__name__} {self.name!r} {c.state} user={c.username!r} "
            f"org={c.organization_id!r} instance={c.instance_url!r} api=v{self.api_version}>"
        )

    def _repr_html_(self) -> str:
        from ._cards import connection_card

        record = self.store.find_connection(self.name) or self.connection
        return connection_card(record, api_usage=self.last_limit_info, kind=type(self).__name__)


class Session(_SessionBase):
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

    def close(self) -> None:
        """Close the HTTP connections (``with aksf.session(...) as sf:`` does it)."""
        self._http.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- raw calls ----------------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request; the decoded JSON (None for 204); raises `SalesforceError`."""
        return self._decode(self._http.request(method, self._url(path), **kwargs))

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET `path` (relative to ``/services/data/vNN.N/``, or from ``/``)."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """POST `json` to `path`."""
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """PATCH `path` with `json`."""
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        """DELETE `path`."""
        return self.request("DELETE", path, **kwargs)

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
        """Every page of a query result, in order, fetching ahead in parallel."""
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
        pages = self.query_pages(soql, include_deleted=include_deleted, batch_size=batch_size)
        first = next(pages)
        total = int(first.get("totalSize", 0))
        if method == "auto" and total > self.bulk_threshold and _bulk_capable(soql):
            pages.close()
            return self.bulk_query(
                soql, include_deleted=include_deleted, engine=engine, progress=progress, typed=typed
            )
        columns = RecordColumns()
        columns.add(first.get("records", ()))
        sobject = _sobject_of(first)
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
        field_types = (
            self._field_types(sobject, columns.data.keys()) if typed and columns.length else None
        )
        if engine == "polars":
            return _polars_frame(columns, field_types)
        return columns.frame(field_types)

    def query_all(self, soql: str, **kwargs: Any) -> pd.DataFrame:
        """`query` including deleted and archived rows (``queryAll``)."""
        frame: pd.DataFrame = self.query(soql, include_deleted=True, **kwargs)
        return frame

    def _field_types(self, sobject: str | None, columns: Any) -> dict[str, str]:
        """Salesforce field type of each (dotted) column, as far as describe tells."""
        if not typable(sobject):
            return {}
        found = {c: self._field_type(sobject, str(c).split(".")) for c in columns}
        return {c: t for c, t in found.items() if t}

    def _field_type(self, sobject: str, path: list[str]) -> str | None:
        while True:
            try:
                describe = self.describe(sobject)
            except Exception:  # typing is a nicety; never fail a query over it
                return None
            sf_type, parent = field_step(describe, path)
            if parent is None:
                return sf_type
            sobject, path = parent, path[1:]

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
        `poll_interval`: the first wait between polls (it grows 1.5x, to 5 s);
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

    def update(self, record_id: str, data: Mapping[str, Any]) -> None:
        """Set the fields in `data` on one record."""
        self.session.patch(self._path(record_id), json=dict(data))

    def upsert(self, external_id_field: str, value: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Create or update by an external id; ``{"id", "created"}``."""
        response = self.session._http.patch(
            self.session._url(self._path(external_id_field, value)), json=dict(data)
        )
        body = self.session._decode(response)
        if isinstance(body, dict):
            return {
                "id": body.get("id"),
                "created": bool(body.get("created", response.status_code == 201)),
            }
        return {"id": None, "created": response.status_code == 201}

    def delete(self, record_id: str) -> None:
        """Delete one record (it goes to the recycle bin, as in Salesforce)."""
        self.session.delete(self._path(record_id))


def typable(sobject: str | None) -> TypeGuard[str]:
    """Whether a result of `sobject` has fields to type (aggregates have none)."""
    return bool(sobject) and sobject != "AggregateResult"


def field_step(describe: Mapping[str, Any], path: list[str]) -> tuple[str | None, str | None]:
    """One hop of a dotted column through an object's describe: ``(type, None)`` for a
    field, ``(None, parent object)`` for a relationship to follow, ``(None, None)``."""
    fields = describe.get("fields", [])
    if len(path) == 1:
        for field in fields:
            if field["name"].lower() == path[0].lower():
                return str(field["type"]), None
        return None, None
    for field in fields:
        relationship = field.get("relationshipName") or ""
        if relationship.lower() == path[0].lower() and field.get("referenceTo"):
            return None, str(field["referenceTo"][0])
    return None, None


def _sobject_of(page: Mapping[str, Any]) -> str | None:
    records = page.get("records") or []
    if records:
        return str(records[0].get("attributes", {}).get("type") or "") or None
    return None


def _bulk_capable(soql: str) -> bool:
    """Bulk API 2.0 refuses subqueries and aggregates; those stay on REST."""
    text = "".join(soql.upper().split())
    return "(SELECT" not in text and not any(
        word in text for word in ("GROUPBY", "COUNT(", "SUM(", "AVG(", "MIN(", "MAX(")
    )


def _polars_frame(columns: RecordColumns, field_types: Mapping[str, str] | None = None) -> Any:
    try:
        import polars as pl
    except ImportError:
        raise ImportError(
            "polars is not installed: pip install 'ak_salesforce_nb[polars]'"
        ) from None
    if not columns.length:
        return pl.DataFrame()
    # Not strict: a column may mix ints and floats (JSON numbers), or hold child rows.
    frame = pl.DataFrame(columns.ordered(), strict=False)
    # A parent that is null on some rows shows as a bare all-null column next to its
    # dotted ones (as in records_to_frame): drop it.
    bare = [
        c
        for c in frame.columns
        if frame.schema[c] == pl.Null and any(o.startswith(f"{c}.") for o in frame.columns)
    ]
    frame = frame.drop(bare)
    # JSON has no dates: type date and datetime text like the Bulk API results are.
    casts = []
    for column, sf_type in (field_types or {}).items():
        if column not in frame.columns or frame.schema[column] != pl.String:
            continue
        if sf_type == "date":
            casts.append(pl.col(column).str.to_date("%Y-%m-%d", strict=False))
        elif sf_type == "datetime":
            casts.append(
                pl.col(column)
                .str.replace(r"Z$", "+0000")
                .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False)
                .dt.convert_time_zone("UTC")
            )
    return frame.with_columns(casts) if casts else frame
