"""``analytics/reports``: the Reports and Dashboards REST API's report resources.

- ``GET analytics``: the analytics resources served here (``reports``), which puts
  ``analytics`` in the version's resource list;
- ``GET analytics/reports``: the reports the user viewed recently (here: all of them);
- ``GET analytics/reports/{id}/describe``: metadata, extended metadata, report type;
- ``GET analytics/reports/{id}[?includeDetails=true]``: run now with the saved metadata;
- ``POST analytics/reports/{id}[?includeDetails=true]`` with ``{"reportMetadata": …}``:
  run now with runtime filters, filter logic, groupings, columns or sort order;
- ``POST analytics/reports/{id}/instances`` (same body, optional): run asynchronously;
  ``GET …/instances`` lists the runs, ``GET …/instances/{iid}`` answers the result once
  its status is ``Success``, ``DELETE …/instances/{iid}`` forgets it.
"""

from __future__ import annotations

import time
from typing import Any

from ._errors import ApiError
from ._reports import (
    ReportDef,
    catalog,
    describe,
    find_instance,
    new_instance,
    note_run,
    run_report,
)
from ._web_base import ApiHandler

__all__ = [
    "AnalyticsHandler",
    "ReportDescribeHandler",
    "ReportHandler",
    "ReportInstanceHandler",
    "ReportInstancesHandler",
    "ReportListHandler",
]


class _ReportsBase(ApiHandler):
    def base(self, version: str) -> str:
        return f"/services/data/v{version}"

    def report(self, report_id: str) -> ReportDef:
        return catalog(self.state).get(report_id)

    def include_details(self) -> bool:
        return self.get_query_argument("includeDetails", "false").strip().lower() == "true"

    def override(self) -> Any:
        """The request's ``reportMetadata`` (None when the body is empty)."""
        if not self.request.body.strip():
            return None
        body = self.json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "BAD_REQUEST", "The request body must be a JSON object.")
        return body.get("reportMetadata")


class AnalyticsHandler(_ReportsBase):
    def get(self, version: str) -> None:
        self.send_json({"reports": f"{self.base(version)}/analytics/reports"})


class ReportListHandler(_ReportsBase):
    def get(self, version: str) -> None:
        base = self.base(version)
        answer = [
            {
                "describeUrl": f"{base}/analytics/reports/{r.id}/describe",
                "id": r.id,
                "instancesUrl": f"{base}/analytics/reports/{r.id}/instances",
                "name": r.name,
                "url": f"{base}/analytics/reports/{r.id}",
            }
            for r in catalog(self.state).reports
        ]
        self.send_json(answer)


class ReportDescribeHandler(_ReportsBase):
    def get(self, version: str, report_id: str) -> None:
        self.send_json(describe(self.report(report_id)))


class ReportHandler(_ReportsBase):
    def get(self, version: str, report_id: str) -> None:
        self._run(version, report_id, None)

    def post(self, version: str, report_id: str) -> None:
        override = self.override()
        if override is None:
            raise ApiError(400, "BAD_REQUEST", "Specify reportMetadata in the request body.")
        self._run(version, report_id, override)

    def _run(self, version: str, report_id: str, override: Any) -> None:
        report = self.report(report_id)
        state = self.state
        answer = run_report(
            state.store, report, override, self.include_details(), state.today(), self.base(version)
        )
        note_run(state, report)
        self.send_json(answer)


class ReportInstancesHandler(_ReportsBase):
    def get(self, version: str, report_id: str) -> None:
        report = self.report(report_id)
        now = time.time()
        instances = catalog(self.state).instances.get(report.id[:15], [])
        self.send_json([i.summary(self.base(version), now) for i in reversed(instances)])

    def post(self, version: str, report_id: str) -> None:
        report = self.report(report_id)
        instance = new_instance(
            self.state,
            report,
            self.override(),
            self.include_details(),
            self.base(version),
            self.user_id,
        )
        note_run(self.state, report)
        self.send_json(instance.summary(self.base(version), time.time()))


class ReportInstanceHandler(_ReportsBase):
    def get(self, version: str, report_id: str, instance_id: str) -> None:
        report = self.report(report_id)
        instance = find_instance(self.state, report, instance_id)
        now = time.time()
        status = instance.status(now)
        summary = instance.summary(self.base(version), now)
        attributes = {
            "completionDate": summary["completionDate"],
            "id": instance.id,
            "ownerId": instance.owner_id,
            "reportId": report.id,
            "reportName": report.name,
            "requestDate": instance.request_date,
            "status": status,
            "type": "ReportInstance",
        }
        if status != "Success":
            self.send_json(
                {
                    "attributes": attributes,
                    "allData": False,
                    "factMap": {},
                    "groupingsAcross": {"groupings": []},
                    "groupingsDown": {"groupings": []},
                    "hasDetailRows": instance.result["hasDetailRows"],
                    "reportExtendedMetadata": instance.result["reportExtendedMetadata"],
                    "reportMetadata": instance.result["reportMetadata"],
                }
            )
            return
        self.send_json({**instance.result, "attributes": attributes})

    def delete(self, version: str, report_id: str, instance_id: str) -> None:
        report = self.report(report_id)
        instance = find_instance(self.state, report, instance_id)
        catalog(self.state).instances[report.id[:15]].remove(instance)
        self.set_status(204)
        self.finish()
