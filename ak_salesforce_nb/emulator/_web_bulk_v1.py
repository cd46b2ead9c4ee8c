"""Bulk API 1.0 handlers under ``/services/async/vXX.X/job`` (thin: ``_bulk_v1`` holds
the logic).

Authentication is the ``X-SFDC-Session`` header (a Bearer ``Authorization`` also does);
a missing, bad or expired token is answered as Bulk API 1.0 answers it: HTTP 400 with
``InvalidSessionId`` (``{"exceptionCode", "exceptionMessage"}`` in JSON, ``<error>`` in
XML), which is what jsforce and simple-salesforce look for. An answer is JSON when the
request says ``Content-Type: application/json`` or, without a content type, when its job
is a JSON job; otherwise it is XML (batch results of a CSV job: CSV).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import tornado.web

from ._bulk_v1 import BulkV1Error, V1Batch, V1Job, V1Jobs
from ._bulk_v1_run import query_csv, query_records, run_batch, write_results_csv
from ._bulk_v1_xml import (
    XmlRequestError,
    error_xml,
    parse_job_request,
    query_xml,
    render,
    render_list,
    results_xml,
)
from ._cursors import encode_json
from ._errors import ApiError
from ._versions import served_versions
from ._web_base import BaseHandler, bearer_token

__all__ = [
    "BatchRequestV1Handler",
    "BatchResultV1Handler",
    "BatchResultsV1Handler",
    "BatchV1Handler",
    "BatchesV1Handler",
    "JobV1Handler",
    "JobsV1Handler",
    "UnknownV1Handler",
    "jobs_of",
]


def jobs_of(handler: BaseHandler) -> V1Jobs:
    """The org's Bulk API 1.0 jobs."""
    return handler.state.bulk_v1


class _V1Handler(BaseHandler):
    """Session check, usage counting, version check, and Bulk API 1.0's error shapes."""

    user_id = ""
    job: V1Job | None = None
    expected_errors = (BulkV1Error, ApiError)

    def prepare(self) -> None:
        state = self.state
        state.stats.increment("api_requests")
        token = self.request.headers.get("X-SFDC-Session") or bearer_token(self)
        access = state.oauth.access(token.strip() if token else None)
        if access is None:
            raise BulkV1Error("InvalidSessionId", "Invalid session id")
        if state.api_usage >= state.config.api_daily_limit:
            raise BulkV1Error("ExceededQuota", "TotalRequests Limit exceeded.", 403)
        state.api_usage += 1
        self.set_header(
            "Sforce-Limit-Info", f"api-usage={state.api_usage}/{state.config.api_daily_limit}"
        )
        self.user_id = state.store.user_id(access.username)
        version = self.path_args[0] if self.path_args else ""
        if version not in served_versions(state.config.latest_api_version):
            raise BulkV1Error("InvalidVersion", f"Invalid api version specified on URL: {version}")

    def wants_json(self) -> bool:
        content_type = self.request.headers.get("Content-Type", "").lower()
        if "json" in content_type:
            return True
        if "xml" in content_type:
            return False
        return self.job is not None and self.job.content_type == "JSON"

    def answer(self, value: Any, xml: str, status: int = 200) -> None:
        self.set_status(status)
        if self.wants_json():
            self.set_header("Content-Type", "application/json")
            self.finish(encode_json(value))
        else:
            self.set_header("Content-Type", "application/xml")
            self.finish(xml.encode("utf-8"))

    def load_job(self, job_id: str) -> V1Job:
        self.job = jobs_of(self).get(job_id)
        return self.job

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        if isinstance(error, BulkV1Error):
            code, message, status = error.code, error.message, error.status
        elif isinstance(error, ApiError):
            code, message, status = error.error_code, error.message, error.status
        elif isinstance(error, tornado.web.HTTPError) and status_code == 405:
            code, message, status = "InvalidUrl", "Invalid request method for this URL", 405
        else:
            code, message, status = "Unknown", "An unexpected error occurred", 500
        self.set_status(status)
        if self.wants_json():
            self.set_header("Content-Type", "application/json")
            self.finish(encode_json({"exceptionCode": code, "exceptionMessage": message}))
        else:
            self.set_header("Content-Type", "application/xml")
            self.finish(error_xml(code, message).encode("utf-8"))

    def request_fields(self) -> dict[str, Any]:
        """A JobInfo request body: JSON when the request says so, else XML."""
        body = self.request.body
        if "json" in self.request.headers.get("Content-Type", "").lower():
            try:
                value = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                raise BulkV1Error("InvalidJob", "Unable to parse the JSON job request") from None
            if not isinstance(value, dict):
                raise BulkV1Error("InvalidJob", "The job request must be a JSON object")
            return value
        try:
            return parse_job_request(body)
        except XmlRequestError as error:
            raise BulkV1Error("InvalidXML", str(error)) from None


def _batch_answer(handler: _V1Handler, batch: V1Batch, status: int = 200) -> None:
    info = batch.info()
    handler.answer(info, render("batchInfo", info), status)


class JobsV1Handler(_V1Handler):
    """``POST job``: create a job (201, state Open)."""

    def post(self, version: str) -> None:
        job = jobs_of(self).create(self.request_fields(), version, self.user_id, self.state.store)
        self.job = job
        info = job.info()
        self.answer(info, render("jobInfo", info), 201)


class JobV1Handler(_V1Handler):
    """``job/ID``: job info (GET); close or abort (POST ``{"state": ...}``)."""

    def get(self, version: str, job_id: str) -> None:
        del version
        info = self.load_job(job_id).info()
        self.answer(info, render("jobInfo", info))

    def post(self, version: str, job_id: str) -> None:
        del version
        job = self.load_job(job_id)
        wanted = str(self.request_fields().get("state") or "")
        info = V1Jobs.change_state(job, wanted).info()
        self.answer(info, render("jobInfo", info))


class BatchesV1Handler(_V1Handler):
    """``job/ID/batch``: add a batch (POST, 201 Queued); list the batches (GET)."""

    def post(self, version: str, job_id: str) -> None:
        del version
        job = self.load_job(job_id)
        batch = V1Jobs.add_batch(job, self.request.body, self.state.bulk_batches_used)
        self.state.bulk_batches_used += 1  # counted when added, as Salesforce counts
        batch.task = asyncio.get_running_loop().create_task(run_batch(self.state, job, batch))
        _batch_answer(self, batch, 201)

    def get(self, version: str, job_id: str) -> None:
        del version
        job = self.load_job(job_id)
        infos = [batch.info() for batch in job.batches.values()]
        self.answer({"batchInfo": infos}, render_list("batchInfoList", "batchInfo", infos))


class BatchV1Handler(_V1Handler):
    """``job/ID/batch/ID``: batch info."""

    def get(self, version: str, job_id: str, batch_id: str) -> None:
        del version
        _batch_answer(self, self.load_job(job_id).batch(batch_id))


class BatchRequestV1Handler(_V1Handler):
    """``job/ID/batch/ID/request``: the batch's data as it was sent."""

    def get(self, version: str, job_id: str, batch_id: str) -> None:
        del version
        job = self.load_job(job_id)
        batch = job.batch(batch_id)
        types = {"JSON": "application/json", "CSV": "text/csv", "XML": "application/xml"}
        self.set_header("Content-Type", types[job.content_type])
        self.finish(batch.data)


def _completed(batch: V1Batch) -> None:
    """Results exist once a batch is Completed; a Failed batch processed no record."""
    if batch.state == "Failed":
        raise BulkV1Error("InvalidBatch", "Records not processed")
    if batch.state != "Completed":
        raise BulkV1Error("InvalidBatch", f"Batch not completed: it is {batch.state}")


class BatchResultsV1Handler(_V1Handler):
    """``job/ID/batch/ID/result``: one result per record (writes), or the ids of the
    result files (queries)."""

    def get(self, version: str, job_id: str, batch_id: str) -> None:
        del version
        job = self.load_job(job_id)
        batch = job.batch(batch_id)
        _completed(batch)
        if job.is_query:
            ids = batch.result_ids
            self.answer(ids, render_list("result-list", "result", ids))
            return
        if job.content_type == "CSV" and not self.wants_json():
            self.set_header("Content-Type", "text/csv")
            self.finish(write_results_csv(batch).encode("utf-8"))
            return
        self.answer(batch.results, results_xml(batch.results))


class BatchResultV1Handler(_V1Handler):
    """``job/ID/batch/ID/result/ID``: a query batch's records (JSON, or CSV)."""

    def get(self, version: str, job_id: str, batch_id: str, result_id: str) -> None:
        del version
        job = self.load_job(job_id)
        batch = job.batch(batch_id)
        _completed(batch)
        if not job.is_query or result_id not in batch.result_ids:
            raise BulkV1Error("InvalidBatch", f"Invalid result id: {result_id}")
        if job.content_type == "JSON":
            self.set_header("Content-Type", "application/json")
            self.finish(encode_json(query_records(self.state.schema, job, batch, epoch=True)))
            return
        if job.content_type == "XML":
            self.set_header("Content-Type", "application/xml")
            records = query_records(self.state.schema, job, batch, epoch=False)
            self.finish(query_xml(records).encode("utf-8"))
            return
        self.set_header("Content-Type", "text/csv")
        self.finish(query_csv(batch).encode("utf-8"))


class UnknownV1Handler(_V1Handler):
    """Any other path under ``/services/async/``: Bulk API 1.0's own error (a wrong
    version is ``InvalidVersion``, any other path ``InvalidUrl``), never an HTML page."""

    def prepare(self) -> None:
        super().prepare()
        raise BulkV1Error("InvalidUrl", f"Unknown URL: {self.request.path}", 404)
