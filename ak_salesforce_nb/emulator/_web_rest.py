"""REST API handlers under ``/services/data``: versions, query, describe, records, limits."""

from __future__ import annotations

import datetime
import email.utils
import re
from typing import Any

import tornado.httputil

from . import _pubsub_capture as changes
from . import _reports as reports
from ._columns import column_metadata
from ._cursors import batch_size_from_header, encode_json, encode_page
from ._describe import describe_global, describe_sobject, global_entry
from ._errors import ApiError, not_found
from ._explain import explain, is_report_or_list_view
from ._query import CountResult, execute
from ._query_aggregate import AggregateResult
from ._short_pages import page_length
from ._soql_parser import SoqlError
from ._versions import check_version, version_list
from ._web_base import ApiHandler, JsonHandler, allowed_methods

__all__ = [
    "RESOURCE_NAMES",
    "CompositeResourcesHandler",
    "DescribeHandler",
    "ExternalIdHandler",
    "GlobalDescribeHandler",
    "LimitsHandler",
    "MetadataHandler",
    "NotFoundHandler",
    "QueryHandler",
    "QueryMoreHandler",
    "RecordHandler",
    "ResourcesHandler",
    "SObjectHandler",
    "VersionsHandler",
    "soql_failure",
]


class VersionsHandler(JsonHandler):
    """``GET /services/data``: the supported API versions (no authentication needed)."""

    def get(self) -> None:
        self.send_json(version_list(self.state.config.latest_api_version))


#: Resources a real org lists at ``/services/data/vXX.X``; the emulator lists those it
#: serves (found in its own routes), so that each one it advertises answers.
RESOURCE_NAMES = (
    "actions",
    "analytics",
    "appMenu",
    "async-queries",
    "chatter",
    "composite",
    "connect",
    "consent",
    "dedupe",
    "event",
    "jobs",
    "knowledgeManagement",
    "licensing",
    "limits",
    "metadata",
    "parameterizedSearch",
    "process",
    "query",
    "queryAll",
    "quickActions",
    "recent",
    "search",
    "sobjects",
    "support",
    "tabs",
    "theme",
    "tooling",
    "ui-api",
    "wave",
)


class ResourcesHandler(ApiHandler):
    """``/services/data/vXX.X``: the resources of the version, each one served."""

    def get(self, version: str) -> None:
        base = f"/services/data/v{version}"
        resources = {
            name: f"{base}/{name}" for name in RESOURCE_NAMES if self._served(f"{base}/{name}")
        }
        resources["identity"] = self.state.identity_url(self.username)
        self.send_json(dict(sorted(resources.items())))

    def _served(self, path: str) -> bool:
        probe = tornado.httputil.HTTPServerRequest(
            start_line=tornado.httputil.RequestStartLine("GET", path, "HTTP/1.1"),
            headers=tornado.httputil.HTTPHeaders({"Host": self.request.host}),
        )
        target = getattr(self.application.find_handler(probe), "handler_class", None)
        return (
            isinstance(target, type)
            and issubclass(target, ApiHandler)
            and not issubclass(target, NotFoundHandler)
            and "GET" in allowed_methods(target)
        )


class CompositeResourcesHandler(ApiHandler):
    """``composite``: the composite resources of the version that the emulator serves
    (sObject Tree and sObject Collections; Salesforce also lists batch and graph)."""

    def get(self, version: str) -> None:
        base = f"/services/data/v{version}/composite"
        self.send_json({"tree": f"{base}/tree", "sobjects": f"{base}/sobjects"})


_VERSION_PREFIX = re.compile(r"/services/data/v(\d+\.\d+)(?:/|$)")


def soql_failure(error: SoqlError, text: str) -> ApiError:
    return ApiError(400, error.error_code, error.message(text))


class QueryHandler(ApiHandler):
    """``query`` / ``queryAll``: run the query and answer its first page; with
    ``columns=true`` its column metadata instead; ``explain=`` answers its query plans."""

    def get(self, version: str, resource: str) -> None:
        state = self.state
        plan_of = self.get_query_argument("explain", None)
        if plan_of is not None:
            self._explain(plan_of.strip())
            return
        text = self.get_query_argument("q", None)
        if text is None:
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        include_deleted = resource == "queryAll"
        try:
            if self.get_query_argument("columns", "").lower() == "true":
                self.send_json(column_metadata(state.store, text, include_deleted, state.today()))
                return
            _, result = execute(state.store, text, include_deleted, state.today())
        except SoqlError as error:
            raise soql_failure(error, text) from None
        if isinstance(result, CountResult):
            self.send_json({"totalSize": result.total, "done": True, "records": []})
            return
        if isinstance(result, AggregateResult):
            self.send_json(
                {"totalSize": len(result.records), "done": True, "records": result.records}
            )
            return
        batch = batch_size_from_header(self.request.headers.get("Sforce-Query-Options"))
        size = page_length(result, 0, batch, state.config.short_pages)
        locator = None
        if len(result.rows) > size:
            locator = state.cursors.open(self.username, result, batch).locator
        pager = state.cursors.child_pager(self.username, version)
        self.finish(encode_page(result, 0, size, version, locator, pager))

    def _explain(self, subject: str) -> None:
        state = self.state
        text = subject
        if is_report_or_list_view(subject) and subject.startswith("00O"):
            report = reports.catalog(state).get(subject)  # NOT_FOUND for an unknown report
            where = reports.where_clause(report.report_type, report.metadata)
            text = f"SELECT Id FROM {report.report_type.sobject}"  # noqa: S608 - SOQL of a report
            text += f" WHERE {where}" if where else ""
        try:
            self.send_json(explain(state.store, text, state.today(), source=subject))
        except SoqlError as error:
            raise soql_failure(error, text) from None


class QueryMoreHandler(ApiHandler):
    """``query/01g...-OFFSET``: any page of an open cursor, in any order."""

    def get(self, version: str, resource: str, locator: str) -> None:
        cursor_id, _, offset_text = locator.rpartition("-")
        if not cursor_id:
            cursor_id, offset_text = locator, "0"
        cursor = self.state.cursors.get(cursor_id)
        invalid = ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        if cursor is None or cursor.owner != self.username or not offset_text.isdigit():
            raise invalid
        offset = int(offset_text)
        if offset > len(cursor.result.rows):
            raise invalid
        header = self.request.headers.get("Sforce-Query-Options")
        batch = batch_size_from_header(header) if header else cursor.batch_size
        size = page_length(cursor.result, offset, batch, self.state.config.short_pages)
        pager = self.state.cursors.child_pager(self.username, version)
        self.finish(encode_page(cursor.result, offset, size, version, cursor_id, pager))


class MetadataHandler(ApiHandler):
    """Describe resources: ``Last-Modified`` is when the org's metadata last changed (the
    emulator's schema is fixed at start), and ``If-Modified-Since`` no earlier than that
    answers 304 Not Modified without a body, as Salesforce does."""

    def not_modified(self) -> bool:
        changed = datetime.datetime.fromtimestamp(int(self.state.started), datetime.timezone.utc)
        self.set_header("Last-Modified", email.utils.format_datetime(changed, usegmt=True))
        since_text = self.request.headers.get("If-Modified-Since")
        if not since_text:
            return False
        try:
            since = email.utils.parsedate_to_datetime(since_text)
        except (TypeError, ValueError):
            return False  # an unreadable date is ignored, as HTTP says
        if since.tzinfo is None:
            since = since.replace(tzinfo=datetime.timezone.utc)
        if changed > since:
            return False
        self.clear_header("Content-Type")
        self.set_status(304)
        self.finish()
        return True


class GlobalDescribeHandler(MetadataHandler):
    def get(self, version: str) -> None:
        if self.not_modified():
            return
        cache = self.state.describe_cache
        body = cache.get(version)
        if body is None:
            body = encode_json(describe_global(self.state.schema.sobjects, version))
            cache[version] = body
        self.finish(body)


class SObjectHandler(MetadataHandler):
    """``sobjects/X``: basic information (GET) and record creation (POST)."""

    def get(self, version: str, sobject: str) -> None:
        table = self.state.records.table(sobject)
        if self.not_modified():
            return
        self.send_json(
            {
                "objectDescribe": global_entry(table.sobject, version),
                "recentItems": self.state.records.recent_items(table, version),
            }
        )

    def post(self, version: str, sobject: str) -> None:
        records = self.state.records
        table = records.table(sobject)
        record_id = records.create(table, self.json_body(), self.user_id)
        changes.created(self.state, table, record_id, self.user_id, changes.origin_of(version))
        self.send_json({"id": record_id, "success": True, "errors": []}, status=201)


class DescribeHandler(MetadataHandler):
    def get(self, version: str, sobject: str) -> None:
        table = self.state.records.table(sobject)
        if self.not_modified():
            return
        self.send_json(describe_sobject(table.sobject, version, self.state.base_url))


class RecordHandler(ApiHandler):
    """``sobjects/X/ID``: read (optionally ``?fields=``), update, delete one record."""

    def get(self, version: str, sobject: str, record_id: str) -> None:
        records = self.state.records
        table = records.table(sobject)
        row = records.locate(table, record_id, allow_deleted=True)
        if table.is_deleted(row):
            raise not_found()
        self.send_json(records.record(table, row, version, self.get_query_argument("fields", None)))

    def patch(self, version: str, sobject: str, record_id: str) -> None:
        records = self.state.records
        table = records.table(sobject)
        row = records.locate(table, record_id)
        before = changes.snapshot(self.state, table, row)
        records.update(table, row, self.json_body(), self.user_id)
        changes.updated(self.state, table, row, before, self.user_id, changes.origin_of(version))
        self.set_status(204)
        self.finish()

    def delete(self, version: str, sobject: str, record_id: str) -> None:
        records = self.state.records
        table = records.table(sobject)
        row = records.locate(table, record_id)
        records.delete(table, row)
        changes.deleted(self.state, table, row, self.user_id, changes.origin_of(version))
        self.set_status(204)
        self.finish()


class ExternalIdHandler(ApiHandler):
    """``sobjects/X/FIELD/VALUE``: read, upsert or delete by an external id."""

    def _find(self, sobject: str, field_name: str, value: str) -> tuple[Any, Any, int]:
        records = self.state.records
        table = records.table(sobject)
        f = records.external_field(table, field_name)
        row = records.find_external(table, f, value)
        if row is None:
            raise not_found()
        return table, f, row

    def get(self, version: str, sobject: str, field_name: str, value: str) -> None:
        table, _, row = self._find(sobject, field_name, value)
        records = self.state.records
        self.send_json(records.record(table, row, version, self.get_query_argument("fields", None)))

    def patch(self, version: str, sobject: str, field_name: str, value: str) -> None:
        records = self.state.records
        table = records.table(sobject)
        f = records.external_field(table, field_name)
        existing = records.find_external(table, f, value)
        before = None if existing is None else changes.snapshot(self.state, table, existing)
        created, record_id = records.upsert(table, f, value, self.json_body(), self.user_id)
        origin = changes.origin_of(version)
        if created:
            changes.created(self.state, table, record_id, self.user_id, origin)
        elif existing is not None:
            changes.updated(self.state, table, existing, before, self.user_id, origin)
        with_created = float(version) >= 46.0
        answer: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
        if with_created:
            answer["created"] = created
        if created:
            self.send_json(answer, status=201)
        elif with_created:
            self.send_json(answer, status=200)
        else:
            self.set_status(204)
            self.finish()

    def delete(self, version: str, sobject: str, field_name: str, value: str) -> None:
        table, _, row = self._find(sobject, field_name, value)
        self.state.records.delete(table, row)
        changes.deleted(self.state, table, row, self.user_id, changes.origin_of(version))
        self.set_status(204)
        self.finish()


class LimitsHandler(ApiHandler):
    def get(self, version: str) -> None:
        del version
        state = self.state
        limit = state.config.api_daily_limit
        records = sum(len(t) for t in state.store.all_tables())
        storage_max = 10240
        used_mb = records * 2 // 1024  # Salesforce counts about 2 KB per record

        def pair(maximum: int, remaining: int) -> dict[str, int]:
            return {"Max": maximum, "Remaining": max(0, remaining)}

        self.send_json(
            {
                "ActiveScratchOrgs": pair(3, 3),
                "ConcurrentAsyncGetReportInstances": pair(200, 200),
                "DailyApiRequests": pair(limit, limit - state.api_usage),
                "DailyAsyncApexExecutions": pair(250000, 250000),
                "DailyBulkApiBatches": pair(15000, 15000 - state.bulk_batches_used),
                "DailyBulkV2QueryFileStorageMB": pair(976562, 976562),
                "DailyBulkV2QueryJobs": pair(10000, 10000 - state.bulk_jobs_created),
                "DataStorageMB": pair(storage_max, storage_max - used_mb),
                "FileStorageMB": pair(20480, 20480),
                "HourlyODataCallout": pair(10000, 10000),
                "MassEmail": pair(5000, 5000),
                "SingleEmail": pair(5000, 5000),
            }
        )


class NotFoundHandler(ApiHandler):
    """Any other ``/services/data`` path: Salesforce's NOT_FOUND array (after auth), or
    410 under a retired version, where every resource is gone."""

    def prepare(self) -> None:
        super().prepare()
        if self.dropped:
            return
        match = _VERSION_PREFIX.match(self.request.path)
        if match:
            check_version(match[1], self.state.config.latest_api_version)
        raise not_found()
