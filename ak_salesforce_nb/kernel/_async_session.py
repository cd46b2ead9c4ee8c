"""`AsyncSession`: the `await`-able twin of `Session`, for cells that use `await`.

    sf = aksf.async_session("prod")
    frame = await sf.query("SELECT Name FROM Account")

It shares the settings, URL building, error mapping, page planning and flattening with
`Session`; only the sending differs (an `httpx.AsyncClient`, pages fetched with
`asyncio.gather` instead of a thread pool). Writes (`insert`, `update`, `upsert`,
`delete(sobject, data)`, `hard_delete`) run `Session`'s write engine on a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from typing import Any
from urllib.parse import quote

import httpx

from ._child_pages import add_child_page, incomplete_children
from ._query_plan import PagePlan, plan_pages
from ._records import RecordColumns, sobject_of
from ._session_base import Engine, SessionBase, response_body
from ._types import describe_field_types

__all__ = ["AsyncSession"]

# `delete`'s "no data given": a raw REST DELETE of a path.
_NO_DATA: Any = object()


class AsyncSession(SessionBase):
    """The `await`-able session: queries, describe, limits and raw calls; the options
    of `Session`. Use ``async with aksf.async_session("prod") as sf:``."""

    def __init__(self, name: str = "default", **options: Any) -> None:
        transport: httpx.AsyncBaseTransport | None = options.pop("transport", None)
        super().__init__(name, **options)
        self._http = httpx.AsyncClient(transport=transport, **self._client_kwargs())
        self._options = dict(options)
        if transport is not None and hasattr(transport, "handle_request"):
            self._options["transport"] = transport  # one that can also send synchronously
        self._writer: Any = None  # the sync Session writes run on (made when first used)

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._writer is not None:
            self._writer.close()

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The response itself (headers, status, a body that is not JSON); raises
        `SalesforceError` like `request`."""
        return self._checked(await self._http.request(method, self.url(path), **kwargs))

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return response_body(await self.send(method, path, **kwargs))

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return await self.request("POST", path, json=json, **kwargs)

    async def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return await self.request("PATCH", path, json=json, **kwargs)

    async def delete(self, path_or_sobject: str, data: Any = _NO_DATA, /, **kwargs: Any) -> Any:
        """``await sf.delete(path)``: the raw REST DELETE; ``await sf.delete("Account",
        ids_or_df)``: delete those records (`Session.delete`), a result frame."""
        if data is _NO_DATA:
            if "/" not in path_or_sobject and path_or_sobject[:1].isupper():
                raise TypeError(
                    f"delete({path_or_sobject!r}) needs the records to delete: "
                    f"delete({path_or_sobject!r}, ids_or_df); a raw DELETE takes a path."
                )
            return await self.request("DELETE", path_or_sobject, **kwargs)
        return await self._write("delete", path_or_sobject, data, **kwargs)

    # -- writing back: `Session`'s writes, run on a worker thread ------------------------

    async def _write(self, operation: str, sobject: str, data: Any, **options: Any) -> Any:
        from ._session import Session
        from ._writes import WriteCancelled, interactive

        if self._writer is None:
            # The same tokens: no second refresh, and no store opened for a session on
            # credentials from the environment or its arguments.
            self._writer = Session(self.name, tokens=self.tokens, **self._options)
        if (
            options.get("confirm") is None
            and not options.get("dry_run")
            and interactive()
            and len(data) > self.confirm_above
        ):
            # Asked here, on the kernel's thread, where the notebook's input box works.
            reply = input(  # noqa: ASYNC250 - the notebook answers on its own channel
                f"{operation} {len(data):,} rows of {sobject} on {self.name!r}? Type yes to write: "
            )
            if reply.strip().lower() not in ("y", "yes"):
                raise WriteCancelled(f"Nothing was written: the {operation} was not confirmed.")
            options["confirm"] = False
        writer = self._writer
        result = await asyncio.to_thread(writer._write, operation, sobject, data, **options)
        self.last_write = writer.last_write
        return result

    async def insert(self, sobject: str, data: Any, **options: Any) -> Any:
        """`Session.insert`, awaited."""
        return await self._write("insert", sobject, data, **options)

    async def update(self, sobject: str, data: Any, **options: Any) -> Any:
        """`Session.update`, awaited."""
        return await self._write("update", sobject, data, **options)

    async def upsert(self, sobject: str, data: Any, *, external_id: str, **options: Any) -> Any:
        """`Session.upsert`, awaited."""
        return await self._write("upsert", sobject, data, external_id=external_id, **options)

    async def hard_delete(self, sobject: str, data: Any, **options: Any) -> Any:
        """`Session.hard_delete`, awaited."""
        return await self._write("hardDelete", sobject, data, **options)

    async def describe(self, sobject: str | None = None) -> dict[str, Any]:
        key = sobject or ""
        if key not in self._describe_cache:
            path = f"sobjects/{quote(sobject)}/describe" if sobject else "sobjects/"
            self._describe_cache[key] = await self.get(path)
        result: dict[str, Any] = self._describe_cache[key]
        return result

    async def limits(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.get("limits")
        return result

    async def query_pages(
        self, soql: str, *, include_deleted: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        """Every page, in order; child subqueries cut short (a nested ``nextRecordsUrl``)
        come complete, their chains followed side by side, `parallel_pages` at most."""
        pages = self._outer_pages(soql, include_deleted=include_deleted)
        try:
            async for page in pages:
                pending = incomplete_children(page.get("records"))
                if pending:
                    await self._complete_children(pending)
                yield page
        finally:
            await pages.aclose()

    async def _complete_children(self, pending: list[dict[str, Any]]) -> None:
        limit = asyncio.Semaphore(self.parallel_pages)

        async def follow(nested: dict[str, Any]) -> None:
            async with limit:
                next_url: str | None = str(nested["nextRecordsUrl"])
                while next_url:
                    next_url = add_child_page(nested, await self.get(next_url))

        while pending:
            await asyncio.gather(*(follow(nested) for nested in pending))
            pending = incomplete_children(
                [r for nested in pending for r in nested.get("records") or ()]
            )

    async def _outer_pages(
        self, soql: str, *, include_deleted: bool = False
    ) -> AsyncGenerator[dict[str, Any], None]:
        endpoint = "queryAll" if include_deleted else "query"
        first: dict[str, Any] = await self.get(endpoint, params={"q": soql})
        yield first
        plan = plan_pages(first) if self.parallel_pages > 1 else None
        next_url: str | None = first.get("nextRecordsUrl")
        if plan is not None:
            next_url = None
            async for page, fallback in self._parallel_pages(plan):
                yield page
                next_url = fallback
                if fallback:
                    break
        while next_url:
            page = await self.get(next_url)
            yield page
            next_url = page.get("nextRecordsUrl")

    async def _parallel_pages(
        self, plan: PagePlan
    ) -> AsyncIterator[tuple[dict[str, Any], str | None]]:
        offsets = list(plan.offsets())
        for start in range(0, len(offsets), self.parallel_pages):
            chunk = offsets[start : start + self.parallel_pages]
            pages = await asyncio.gather(*(self.get(plan.url(o)) for o in chunk))
            for offset, page in zip(chunk, pages, strict=True):
                if not plan.page_fits(offset, page):
                    yield page, page.get("nextRecordsUrl") or None
                    return
                yield page, None

    async def query_records(
        self, soql: str, *, include_deleted: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        async for page in self.query_pages(soql, include_deleted=include_deleted):
            for record in page.get("records", ()):
                yield {k: v for k, v in record.items() if k != "attributes"}

    async def query(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        engine: Engine = "pandas",
        typed: bool = True,
    ) -> Any:
        """The whole result of `soql` as a DataFrame, typed like `Session.query`'s."""
        columns = RecordColumns()
        sobject: str | None = None
        async for page in self.query_pages(soql, include_deleted=include_deleted):
            sobject = sobject or sobject_of(page)
            columns.add(page.get("records", ()))
        field_types = None
        if typed and columns.length:
            field_types = await self.field_types(sobject, columns.data)
        if engine == "polars":
            return columns.polars_frame(field_types)
        return columns.frame(field_types)

    async def field_types(self, sobject: str | None, columns: Iterable[str]) -> dict[str, str]:
        """`Session.field_types`, awaiting each describe."""
        walk = describe_field_types(sobject, columns)
        try:
            name = next(walk)
            while True:
                try:
                    describe: dict[str, Any] | None = await self.describe(name)
                except Exception:  # typing is a nicety; never fail a query over it
                    describe = None
                name = walk.send(describe)
        except StopIteration as done:
            found: dict[str, str] = done.value
            return found

    async def query_all(self, soql: str, **kwargs: Any) -> Any:
        return await self.query(soql, include_deleted=True, **kwargs)
