"""Bulk API 2.0 ingest handlers under ``/services/data/vXX.X/jobs/ingest``."""

from __future__ import annotations

import asyncio

from ._errors import ApiError, not_found
from ._ingest import IngestJob, invalid_state
from ._ingest_run import run_job
from ._schema import FieldDef
from ._store import Table
from ._web_base import ApiHandler

__all__ = [
    "IngestBatchesHandler",
    "IngestJobHandler",
    "IngestJobsHandler",
    "IngestResultsHandler",
]

#: Bulk API 2.0 ingest exists from API version 41.0 on.
FIRST_VERSION = 41.0


class _IngestBase(ApiHandler):
    def job(self, version: str, job_id: str) -> IngestJob:
        self.check_version(version)
        return self.state.ingest.get(job_id)

    def check_version(self, version: str) -> None:
        if float(version) < FIRST_VERSION:
            raise not_found()


class IngestJobsHandler(_IngestBase):
    """``POST jobs/ingest`` creates a job (state Open); ``GET jobs/ingest`` lists them."""

    def post(self, version: str) -> None:
        self.check_version(version)
        job = self.state.ingest.create(
            self.json_body(), version, self.user_id, self._table_of, self._external_field
        )
        self.send_json(job.brief())

    def _external_field(self, table: Table, name: str) -> FieldDef:
        f = table.sobject.field(name)
        if f is None or not (f.external_id or f.type == "id"):
            raise ApiError(
                400,
                "INVALIDJOB",
                f"The field {name} is not an External ID or indexed field for {table.sobject.name}",
            )
        return f

    def _table_of(self, name: str) -> Table:
        table = self.state.store.table(name)
        if table is None:
            raise ApiError(
                400, "INVALIDENTITY", f"Entity '{name}' is not supported by the Bulk API."
            )
        return table

    def get(self, version: str) -> None:
        self.check_version(version)
        self.send_json(self.state.ingest.listing())


class IngestJobHandler(_IngestBase):
    """``jobs/ingest/ID``: job info (GET), UploadComplete or Aborted (PATCH), DELETE."""

    def get(self, version: str, job_id: str) -> None:
        self.send_json(self.job(version, job_id).info())

    async def patch(self, version: str, job_id: str) -> None:
        job = self.job(version, job_id)
        body = self.json_body()
        wanted = body.get("state") if isinstance(body, dict) else None
        ingest = self.state.ingest
        if wanted == "UploadComplete":
            ingest.close(job.id)
            job.task = asyncio.get_running_loop().create_task(run_job(self.state, job))
        elif wanted == "Aborted":
            async with job.chunk_lock:  # the chunk being written completes first
                ingest.abort(job.id)
        else:
            raise invalid_state(f"Invalid state: {wanted}; use UploadComplete or Aborted")
        self.send_json(job.brief())

    def delete(self, version: str, job_id: str) -> None:
        self.check_version(version)
        self.state.ingest.delete(job_id)
        self.set_status(204)
        self.finish()


class IngestBatchesHandler(_IngestBase):
    """``PUT jobs/ingest/ID/batches``: the job's CSV data, once."""

    def put(self, version: str, job_id: str) -> None:
        job = self.job(version, job_id)
        self.state.ingest.upload(job.id, self.request.body)
        self.set_status(201)
        self.clear_header("Content-Type")
        self.finish()


class IngestResultsHandler(_IngestBase):
    """``successfulResults``, ``failedResults`` and ``unprocessedrecords`` as CSV."""

    async def get(self, version: str, job_id: str, kind: str) -> None:
        job = self.job(version, job_id)
        if job.state == "Open":
            raise invalid_state("Results are available once the job's upload is complete")
        canonical = {
            "successfulresults": "successfulResults",
            "failedresults": "failedResults",
            "unprocessedrecords": "unprocessedrecords",
        }[kind.lower()]
        header, rows = job.result_rows(canonical, self.state.config.shuffle_results)
        # Rendering 100,000 rows takes a while: off the loop, which keeps serving polls.
        loop = asyncio.get_running_loop()
        text = await loop.run_in_executor(None, job.render_result, header, rows)
        self.set_header("Content-Type", "text/csv")
        self.finish(text.encode("utf-8"))
