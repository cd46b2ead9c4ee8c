"""Bulk API 2.0 query handlers under ``/services/data/vXX.X/jobs/query``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
from typing import Any

from ._errors import ApiError
from ._query import CountResult, RecordsResult, execute
from ._query_aggregate import AggregateResult
from ._soql_parser import SoqlError
from ._web_base import ApiHandler
from ._web_rest import soql_failure

__all__ = ["JobHandler", "JobResultsHandler", "JobsHandler"]


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

        job = state.bulk.create(body, version, self.user_id, state.config.bulk_job_delay, run_query)
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


class JobResultsHandler(ApiHandler):
    """``jobs/query/ID/results``: one CSV page with ``Sforce-Locator`` for the next."""

    async def get(self, version: str, job_id: str) -> None:
        job = self.state.bulk.get(job_id)
        if job.api_version != version:
            raise ApiError(
                409,
                "INVALIDJOB",
                "Results must be retrieved with the same API version the job was created with",
            )
        rendering = job.rendering
        if (
            rendering is not None
            and not rendering.done()
            and job.state(time.time()) == "JobComplete"
        ):
            # A client faster than the renderer waits for it without holding up the loop.
            with contextlib.suppress(concurrent.futures.CancelledError):
                await asyncio.wrap_future(rendering)
        text, count, locator = self.state.bulk.results(
            job_id,
            self.get_query_argument("locator", None),
            self.get_query_argument("maxRecords", None),
        )
        self.set_header("Content-Type", "text/csv")
        self.set_header("Sforce-Locator", locator)
        self.set_header("Sforce-NumberOfRecords", str(count))
        self.finish(text.encode("utf-8"))
