"""Bulk API 2.0 query handlers under ``/services/data/vXX.X/jobs/query``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
from typing import Any

from ._bulk import RESULT_PAGES_VERSION, QueryJob
from ._errors import ApiError, not_found
from ._query import CountResult, RecordsResult, execute
from ._query_aggregate import AggregateResult
from ._soql_parser import SoqlError
from ._web_base import ApiHandler
from ._web_rest import soql_failure

__all__ = [
    "JobHandler",
    "JobResultPagesHandler",
    "JobResultsHandler",
    "JobsHandler",
    "accepts_gzip",
]


class JobsHandler(ApiHandler):
    """``POST jobs/query`` creates a job; ``GET jobs/query`` lists them."""

    def post(self, version: str) -> None:
        state = self.state
        body = self.json_body()

        def run_query(text: str, include_deleted: bool) -> tuple[str, Any, str | None]:
            try:
                query, result = execute(state.store, text, include_deleted, state.today())
            except SoqlError as error:
                raise soql_failure(error, text) from None
            if isinstance(result, (CountResult, AggregateResult)):
                return query.sobject, None, "Aggregate queries are not supported in Bulk API 2.0"
            assert isinstance(result, RecordsResult)
            return result.table.sobject.name, result, result.bulk_problem

        job = state.bulk.create(
            body,
            version,
            self.user_id,
            state.config.bulk_job_delay,
            run_query,
            state.config.bulk_result_page_size,
        )
        state.bulk_jobs_created += 1
        self.send_json(job.info(time.time(), brief=True))

    def get(self, version: str) -> None:
        del version
        self.send_json(self.state.bulk.listing(time.time()))


class JobHandler(ApiHandler):
    """``jobs/query/ID``: job info (GET), abort (PATCH), delete (DELETE)."""

    def get(self, version: str, job_id: str) -> None:
        del version
        self.send_json(self.state.bulk.get(job_id).info(time.time()))

    def patch(self, version: str, job_id: str) -> None:
        del version
        job = self.state.bulk.abort(job_id, self.json_body())
        self.send_json(job.info(time.time()))

    def delete(self, version: str, job_id: str) -> None:
        del version
        self.state.bulk.delete(job_id)
        self.set_status(204)
        self.finish()


def _same_version(job: QueryJob, version: str) -> None:
    if job.api_version != version:
        raise ApiError(
            409,
            "INVALIDJOB",
            "Results must be retrieved with the same API version the job was created with",
        )


async def _rendered(job: QueryJob, start: int, size: int, use_gzip: bool) -> None:
    """Wait for the parts of the job's CSV a page holds, and for the page's compression
    when it is compressed ahead, without holding up the loop (a client faster than the
    renderer)."""
    tasks: list[concurrent.futures.Future[Any]] = []
    tasks += job.parts_of(start, min(start + size, job.total))
    packing = job.packing.get((start, size))
    if use_gzip and packing is not None:
        tasks.append(packing)
    for task in tasks:
        if not task.done():
            with contextlib.suppress(concurrent.futures.CancelledError):
                await asyncio.wrap_future(task)


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` header allows gzip (``gzip;q=0`` refuses it)."""
    for item in (header or "").split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            quality = params.strip().lower()
            return not quality.startswith("q=") or quality[2:].strip() not in ("0", "0.0", "0.00")
    return False


class JobResultsHandler(ApiHandler):
    """``jobs/query/ID/results``: one CSV page with ``Sforce-Locator`` for the next;
    gzip-compressed when the client accepts it, as Salesforce does."""

    async def get(self, version: str, job_id: str) -> None:
        job = self.state.bulk.get(job_id)
        _same_version(job, version)
        job, start, size = self.state.bulk.locate(
            job_id,
            self.get_query_argument("locator", None),
            self.get_query_argument("maxRecords", None),
            self.state.config.bulk_result_page_size,
        )
        use_gzip = accepts_gzip(self.request.headers.get("Accept-Encoding"))
        await _rendered(job, start, size, use_gzip)
        # Joining (and compressing a page not compressed ahead) takes a while: off the loop.
        page = await asyncio.get_running_loop().run_in_executor(
            None, job.page, start, size, use_gzip
        )
        self.set_header("Content-Type", "text/csv")
        if page.compressed:
            self.set_header("Content-Encoding", "gzip")
        self.set_header("Sforce-Locator", page.locator)
        self.set_header("Sforce-NumberOfRecords", str(page.records))
        self.finish(page.body)


class JobResultPagesHandler(ApiHandler):
    """``jobs/query/ID/resultPages`` (API 58.0+): links to the result pages, five at a
    time, for clients that download them in parallel."""

    async def get(self, version: str, job_id: str) -> None:
        if float(version) < RESULT_PAGES_VERSION:
            raise not_found()
        job = self.state.bulk.get(job_id)
        _same_version(job, version)
        self.send_json(
            self.state.bulk.result_pages(
                job_id,
                self.get_query_argument("locator", None),
                self.state.config.bulk_result_page_size,
            )
        )
