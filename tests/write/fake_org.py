"""A fake Salesforce org at the transport (`httpx.MockTransport`) for the write units.

It answers describe, sObject Collections and Bulk API 2.0 ingest as Salesforce documents
them (shapes, status codes, CSV result files with ``sf__Id``/``sf__Created``/``sf__Error``
echoing the input's fields), keeps the records it wrote, and has switches: result files
shuffled, echoed fields blanked, rows failing by their Name, request faults, row locks,
jobs that stay in progress.
"""

from __future__ import annotations

import csv
import io
import json
import random
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx

INSTANCE = "https://fake.my.salesforce.com"
API = "/services/data/v63.0/"


def _field(name: str, type_: str, **extra: Any) -> dict[str, Any]:
    field = {
        "name": name,
        "label": name.replace("__c", "").replace("_", " "),
        "type": type_,
        "length": 255 if type_ in ("string", "picklist", "multipicklist") else 0,
        "nillable": True,
        "createable": True,
        "updateable": True,
        "defaultedOnCreate": type_ == "boolean",
        "externalId": False,
        "idLookup": False,
        "referenceTo": [],
        "relationshipName": None,
        "picklistValues": [],
        "restrictedPicklist": False,
    }
    field.update(extra)
    return field


ACCOUNT = {
    "name": "Account",
    "fields": [
        _field(
            "Id",
            "id",
            nillable=False,
            createable=False,
            updateable=False,
            idLookup=True,
            defaultedOnCreate=True,
            length=18,
        ),
        _field("Name", "string", nillable=False),
        _field(
            "Industry",
            "picklist",
            restrictedPicklist=True,
            picklistValues=[{"value": v, "active": True} for v in ("Energy", "Banking", "Retail")],
        ),
        _field(
            "Tags__c",
            "multipicklist",
            picklistValues=[{"value": v, "active": True} for v in ("a", "b", "c")],
        ),
        _field("NumberOfEmployees", "int"),
        _field("AnnualRevenue", "currency"),
        _field("Active__c", "boolean", nillable=False),
        _field("Founded__c", "date"),
        _field("Seen__c", "datetime"),
        _field("Opens__c", "time"),
        _field("External_Id__c", "string", externalId=True, idLookup=True, length=40),
        _field(
            "CreatedDate",
            "datetime",
            nillable=False,
            createable=False,
            updateable=False,
            defaultedOnCreate=True,
        ),
    ],
}
CONTACT = {
    "name": "Contact",
    "fields": [
        _field(
            "Id",
            "id",
            nillable=False,
            createable=False,
            updateable=False,
            idLookup=True,
            defaultedOnCreate=True,
            length=18,
        ),
        _field("LastName", "string", nillable=False),
        _field(
            "AccountId", "reference", referenceTo=["Account"], relationshipName="Account", length=18
        ),
    ],
}
DESCRIBES = {"account": ACCOUNT, "contact": CONTACT}
PREFIX = {"Account": "001", "Contact": "003"}


class FakeOrg:
    """The fake org; call it with a request (it is the MockTransport handler)."""

    def __init__(self, *, seed: int = 7) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self.shuffle = False
        self.blank_echo: set[str] = set()  # columns echoed blank in result files
        self.fail_prefix = "FAIL"
        self.faults: list[tuple[str, str]] = []  # (kind, path part): 503, limit, reset, connect
        self.locked_rows = 0
        self.polls_in_progress = 0  # polls that still say InProgress
        self.on_poll: Callable[[str], None] | None = None
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._serial = threading.RLock()
        self._counter = 0

    # -- helpers -------------------------------------------------------------------

    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] != "GET"]

    def new_id(self, sobject: str) -> str:
        with self._lock:
            self._counter += 1
            return f"{PREFIX[sobject]}{self._counter:012d}AAA"

    def _error(self, status: int, code: str, message: str) -> httpx.Response:
        return httpx.Response(status, json=[{"errorCode": code, "message": message}])

    def _check_row(
        self, sobject: str, values: dict[str, Any], creating: bool
    ) -> dict[str, Any] | None:
        """The error of one record, or None."""
        if self.locked_rows > 0:
            self.locked_rows -= 1
            return {
                "statusCode": "UNABLE_TO_LOCK_ROW",
                "message": "unable to obtain exclusive access to this record",
                "fields": [],
            }
        required = "Name" if sobject == "Account" else "LastName"
        if creating and not values.get(required):
            return {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": f"Required fields are missing: [{required}]",
                "fields": [required],
            }
        name = str(values.get(required) or "")
        if name.startswith(self.fail_prefix):
            return {
                "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                "message": "Names may not start with FAIL",
                "fields": [],
            }
        return None

    def _find_external(self, sobject: str, field: str, value: Any) -> str | None:
        for record_id, record in self.records.items():
            if record["_type"] == sobject and record.get(field) == value:
                return record_id
        return None

    def _resolve_parent(self, values: dict[str, Any]) -> None:
        parent = values.pop("Account", None)
        if isinstance(parent, dict):
            key = next(k for k in parent if k != "attributes")
            values["AccountId"] = self._find_external("Account", key, parent[key])

    # -- one record ----------------------------------------------------------------

    def save(
        self, sobject: str, operation: str, values: dict[str, Any], key: str | None = None
    ) -> dict[str, Any]:
        values = {k: v for k, v in values.items() if k != "attributes"}
        self._resolve_parent(values)
        if operation == "insert":
            error = self._check_row(sobject, values, True)
            if error:
                return {"success": False, "errors": [error]}
            record_id = self.new_id(sobject)
            self.records[record_id] = {"_type": sobject, **values, "Id": record_id}
            return {"id": record_id, "success": True, "errors": [], "created": True}
        if operation in ("update", "delete", "hardDelete"):
            record_id = str(values.get("Id") or values.get("id") or "")
            found = next((r for r in self.records if r[:15] == record_id[:15]), None)
            if found is None:
                return {
                    "id": record_id or None,
                    "success": False,
                    "errors": [
                        {
                            "statusCode": "ENTITY_IS_DELETED"
                            if operation != "update"
                            else "INVALID_CROSS_REFERENCE_KEY",
                            "message": "entity is deleted"
                            if operation != "update"
                            else "invalid cross reference id",
                            "fields": [],
                        }
                    ],
                }
            error = self._check_row(sobject, {**self.records[found], **values}, False)
            if error:
                return {"id": found, "success": False, "errors": [error]}
            if operation == "update":
                self.records[found].update(
                    {k: v for k, v in values.items() if k not in ("Id", "id")}
                )
            else:
                del self.records[found]
            return {"id": found, "success": True, "errors": [], "created": False}
        assert key is not None
        existing = self._find_external(sobject, key, values.get(key))
        error = self._check_row(sobject, values, existing is None)
        if error:
            return {"id": existing, "success": False, "errors": [error]}
        if existing is None:
            existing = self.new_id(sobject)
            self.records[existing] = {"_type": sobject, **values, "Id": existing}
            return {"id": existing, "success": True, "errors": [], "created": True}
        self.records[existing].update(values)
        return {"id": existing, "success": True, "errors": [], "created": False}

    # -- the transport -------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._serial:  # one request at a time, like one database
            return self._answer(request)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append((request.method, path))
        for number, (kind, part) in enumerate(self.faults):
            if part in path:
                del self.faults[number]
                if kind == "503":
                    return self._error(
                        503,
                        "SERVER_UNAVAILABLE",
                        "The server is temporarily unable to service your request.",
                    )
                if kind == "limit":
                    return self._error(
                        403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."
                    )
                if kind == "daily":
                    return self._error(
                        403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."
                    )
                if kind == "reset":
                    raise httpx.ReadError("connection reset by peer", request=request)
                raise httpx.ConnectError("connection refused", request=request)
        assert path.startswith(API), path
        rest = path[len(API) :].rstrip("/")
        if rest.startswith("sobjects/") and rest.endswith("/describe"):
            describe = DESCRIBES.get(rest.split("/")[1].lower())
            if describe is None:
                return self._error(404, "NOT_FOUND", "The requested resource does not exist")
            return httpx.Response(200, json=describe)
        if rest.startswith("composite/sobjects"):
            return self._collections(request, rest)
        if rest.startswith("jobs/ingest"):
            return self._ingest(request, rest)
        if request.method == "DELETE" and rest.startswith("sobjects/"):
            return httpx.Response(204)
        return self._error(404, "NOT_FOUND", f"no route {rest}")

    def _collections(self, request: httpx.Request, rest: str) -> httpx.Response:
        if request.method == "DELETE":
            query = parse_qs(request.url.query.decode())
            ids = query["ids"][0].split(",")
            results = [self.save("Account", "delete", {"Id": i}) for i in ids]
            return httpx.Response(200, json=results)
        body = json.loads(request.content)
        records = body["records"]
        operation = "insert" if request.method == "POST" else "update"
        key = None
        parts = rest.split("/")
        if len(parts) == 4:
            operation, key = "upsert", parts[3]
        snapshot = dict((k, dict(v)) for k, v in self.records.items())
        results = [self.save(r["attributes"]["type"], operation, r, key) for r in records]
        if body.get("allOrNone") and not all(r["success"] for r in results):
            self.records = snapshot
            results = [
                r
                if not r["success"]
                else {
                    "id": None,
                    "success": False,
                    "errors": [
                        {
                            "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                            "message": "Record rolled back because not all records were "
                            "valid and the request was using AllOrNone header",
                            "fields": [],
                        }
                    ],
                }
                for r in results
            ]
        if operation != "upsert":
            for r in results:
                r.pop("created", None)
        return httpx.Response(200, json=results)

    # -- Bulk API 2.0 ingest ---------------------------------------------------------

    def _ingest(self, request: httpx.Request, rest: str) -> httpx.Response:
        parts = rest.split("/")
        if request.method == "POST" and len(parts) == 2:
            spec = json.loads(request.content)
            job_id = f"750{len(self.jobs) + 1:012d}AAA"
            self.jobs[job_id] = {
                **spec,
                "id": job_id,
                "state": "Open",
                "data": b"",
                "polls": 0,
                "contentUrl": f"services/data/v63.0/jobs/ingest/{job_id}/batches",
            }
            return httpx.Response(
                200, json={k: v for k, v in self.jobs[job_id].items() if k not in ("data", "polls")}
            )
        job = self.jobs[parts[2]]
        tail = parts[3] if len(parts) > 3 else ""
        if tail == "batches" and request.method == "PUT":
            job["data"] += request.content
            return httpx.Response(201)
        if not tail and request.method == "PATCH":
            state = json.loads(request.content)["state"]
            if state == "UploadComplete":
                job["state"] = "UploadComplete"
            elif state == "Aborted":
                if job["state"] in ("JobComplete", "Failed"):
                    return self._error(
                        400, "INVALIDJOBSTATE", "Aborting already Completed Job not allowed"
                    )
                job["state"] = "Aborted"
            return httpx.Response(200, json={"id": job["id"], "state": job["state"]})
        if not tail and request.method == "GET":
            if job["state"] == "UploadComplete":
                job["polls"] += 1
                if self.on_poll is not None:
                    self.on_poll(job["id"])
                if job["polls"] > self.polls_in_progress and job["state"] == "UploadComplete":
                    self._process(job)
            info = {k: v for k, v in job.items() if k not in ("data", "polls", "results")}
            info["state"] = "InProgress" if job["state"] == "UploadComplete" else job["state"]
            return httpx.Response(200, json=info)
        if tail in ("successfulResults", "failedResults", "unprocessedrecords"):
            return self._result_file(job, tail)
        return self._error(404, "NOT_FOUND", rest)

    def _process(self, job: dict[str, Any]) -> None:
        reader = csv.reader(io.StringIO(job["data"].decode()))
        header = next(reader)
        ok, failed = [], []
        for line in reader:
            values: dict[str, Any] = {}
            for name, text in zip(header, line, strict=False):
                if text == "":
                    continue
                value: Any = None if text == "#N/A" else text
                if "." in name:
                    rel, field = name.split(".", 1)
                    values[rel] = {field: value}
                else:
                    values[name] = value
            result = self.save(
                job["object"], job["operation"], values, job.get("externalIdFieldName")
            )
            if result["success"]:
                ok.append([result["id"], "true" if result.get("created") else "false", *line])
            else:
                error = result["errors"][0]
                text = f"{error['statusCode']}:{error['message']}:{','.join(error['fields'])} --"
                failed.append([result.get("id") or "", text, *line])
        job["results"] = {"header": header, "ok": ok, "failed": failed}
        job["state"] = "JobComplete"
        job["numberRecordsProcessed"] = len(ok) + len(failed)
        job["numberRecordsFailed"] = len(failed)

    def _result_file(self, job: dict[str, Any], tail: str) -> httpx.Response:
        results = job.get("results")
        header = next(csv.reader(io.StringIO(job["data"].decode()))) if job["data"] else []
        if tail == "unprocessedrecords":
            lines = [] if results else list(csv.reader(io.StringIO(job["data"].decode())))[1:]
            head = header
        elif results is None:
            lines, head = (
                [],
                ["sf__Id", "sf__Created" if tail == "successfulResults" else "sf__Error", *header],
            )
        else:
            lines = results["ok"] if tail == "successfulResults" else results["failed"]
            head = [
                "sf__Id",
                "sf__Created" if tail == "successfulResults" else "sf__Error",
                *header,
            ]
        lines = [list(line) for line in lines]
        if self.shuffle:
            self._random.shuffle(lines)
        for column in self.blank_echo:
            if column in head:
                at = head.index(column)
                for line in lines:
                    line[at] = ""
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(head)
        writer.writerows(lines)
        return httpx.Response(
            200, content=buffer.getvalue().encode(), headers={"Content-Type": "text/csv"}
        )
