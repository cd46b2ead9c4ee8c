"""Reports and Dashboards REST API: seeded reports over the org's data, and how they run.

A report here is what Salesforce keeps as report metadata: a report type (which object
and which columns it offers), a format (``TABULAR``, ``SUMMARY``, ``MATRIX``), detail
columns, groupings down and across, aggregates, filters and a filter logic. Running one
compiles it to SOQL and lets the emulator's own query engine select the rows (so filters
behave as SOQL's do), then builds the answer Salesforce sends: ``factMap`` keyed like
``T!T``, ``0!T``, ``0_1!0``, detail rows as ``dataCells`` of ``{label, value}``, aggregates
computed over every row, and at most 2,000 detail rows (``allData: false`` past that).

The ``Report`` sObject (``SELECT Id, Name, DeveloperName, FolderName, Format FROM Report``)
is added to the org by `install`, from here, without touching the shared schema module.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import time
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ._errors import ApiError, not_found
from ._ids import IdAllocator, random_id, to15
from ._query import RecordsResult, execute
from ._schema import FieldDef, SObjectDef
from ._soql_parser import SoqlError
from ._store import Table

if TYPE_CHECKING:
    from ._state import EmulatorState
    from ._store import Store

__all__ = [
    "DETAIL_ROW_LIMIT",
    "ReportCatalog",
    "ReportDef",
    "catalog",
    "install",
    "report_sobject",
]

#: Detail rows one run answers at most (sync or async), as on Salesforce.
DETAIL_ROW_LIMIT = 2000
#: Seconds an asynchronous instance stays ``New``, then ``Running``, before ``Success``.
INSTANCE_NEW_SECONDS = 0.05
INSTANCE_RUNNING_SECONDS = 0.25

_FORMATS = ("TABULAR", "SUMMARY", "MATRIX")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_NUMERIC = frozenset({"currency", "double", "int", "percent"})
_ORDERED = _NUMERIC | frozenset({"date", "datetime"})
_TEXTUAL = frozenset({"string", "email", "phone", "url", "textarea", "picklist", "combobox"})
#: Operators Salesforce offers per column data type (``dataTypeFilterOperatorMap``).
_OPERATORS: dict[str, tuple[str, ...]] = {
    "text": (
        "equals",
        "notEqual",
        "lessThan",
        "greaterThan",
        "lessOrEqual",
        "greaterOrEqual",
        "contains",
        "notContain",
        "startsWith",
    ),
    "ordered": (
        "equals",
        "notEqual",
        "lessThan",
        "greaterThan",
        "lessOrEqual",
        "greaterOrEqual",
    ),
    "boolean": ("equals", "notEqual"),
    "id": ("equals", "notEqual", "lessThan", "greaterThan", "lessOrEqual", "greaterOrEqual"),
}
_AGGREGATE = re.compile(r"^([samxu])!(.+)$")
_LOGIC_TOKEN = re.compile(r"\s*(?:(\d+)|(AND|OR|NOT)\b|(\()|(\)))", re.IGNORECASE)
_RELATIVE_DATE = re.compile(r"^[A-Z_]+(?::\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$"
)


def bad_request(message: str) -> ApiError:
    """Salesforce's answer to report metadata it cannot run."""
    return ApiError(400, "BAD_REQUEST", message)


# -- report types -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ReportColumn:
    """A column a report type offers: its API name, the SOQL path behind it, and how the
    Reports API types it (``dataType``). ``link`` is the path of the Id a name links to
    (a name cell's ``value`` is that record's Id, its ``label`` the name)."""

    name: str
    label: str
    path: str
    data_type: str
    link: str | None = None
    category: str = "General"


@dataclasses.dataclass(frozen=True)
class ReportType:
    type: str
    label: str
    sobject: str
    columns: tuple[ReportColumn, ...]

    def column(self, name: str) -> ReportColumn | None:
        for column in self.columns:
            if column.name == name:
                return column
        return None


def _report_types() -> dict[str, ReportType]:
    contact = ReportType(
        "ContactList",
        "Contacts & Accounts",
        "Contact",
        (
            ReportColumn("CONTACT_ID", "Contact ID", "Id", "id"),
            ReportColumn("FIRST_NAME", "First Name", "FirstName", "string"),
            ReportColumn("LAST_NAME", "Last Name", "LastName", "string"),
            ReportColumn("ACCOUNT.NAME", "Account Name", "Account.Name", "string", "AccountId"),
            ReportColumn("TITLE", "Title", "Title", "string"),
            ReportColumn("DEPARTMENT", "Department", "Department", "string"),
            ReportColumn("EMAIL", "Email", "Email", "email"),
            ReportColumn("PHONE1", "Phone", "Phone", "phone"),
            ReportColumn("ADDRESS2_CITY", "Mailing City", "MailingCity", "string"),
            ReportColumn("LEAD_SOURCE", "Lead Source", "LeadSource", "picklist"),
            ReportColumn("BIRTHDATE", "Birthdate", "Birthdate", "date"),
            ReportColumn("CREATED_DATE", "Created Date", "CreatedDate", "datetime"),
            ReportColumn("OWNER_FULL_NAME", "Contact Owner", "Owner.Name", "string", "OwnerId"),
        ),
    )
    opportunity = ReportType(
        "Opportunity",
        "Opportunities",
        "Opportunity",
        (
            ReportColumn("OPPORTUNITY_ID", "Opportunity ID", "Id", "id"),
            ReportColumn("OPPORTUNITY_NAME", "Opportunity Name", "Name", "string", "Id"),
            ReportColumn("ACCOUNT_NAME", "Account Name", "Account.Name", "string", "AccountId"),
            ReportColumn("AMOUNT", "Amount", "Amount", "currency"),
            ReportColumn("STAGE_NAME", "Stage", "StageName", "picklist"),
            ReportColumn("PROBABILITY", "Probability (%)", "Probability", "percent"),
            ReportColumn("CLOSE_DATE", "Close Date", "CloseDate", "date"),
            ReportColumn("TYPE", "Type", "Type", "picklist"),
            ReportColumn("LEAD_SOURCE", "Lead Source", "LeadSource", "picklist"),
            ReportColumn("CLOSED", "Closed", "IsClosed", "boolean"),
            ReportColumn("WON", "Won", "IsWon", "boolean"),
            ReportColumn("CREATED_DATE", "Created Date", "CreatedDate", "datetime"),
            ReportColumn("FULL_NAME", "Opportunity Owner", "Owner.Name", "string", "OwnerId"),
        ),
    )
    account = ReportType(
        "AccountList",
        "Accounts",
        "Account",
        (
            ReportColumn("ACCOUNT_ID", "Account ID", "Id", "id"),
            ReportColumn("ACCOUNT.NAME", "Account Name", "Name", "string", "Id"),
            ReportColumn("TYPE", "Type", "Type", "picklist"),
            ReportColumn("INDUSTRY", "Industry", "Industry", "picklist"),
            ReportColumn("RATING", "Account Rating", "Rating", "picklist"),
            ReportColumn("SALES", "Annual Revenue", "AnnualRevenue", "currency"),
            ReportColumn("EMPLOYEES", "Employees", "NumberOfEmployees", "int"),
            ReportColumn("CREATED_DATE", "Created Date", "CreatedDate", "datetime"),
            ReportColumn("USERS.NAME", "Account Owner", "Owner.Name", "string", "OwnerId"),
        ),
    )
    return {t.type: t for t in (contact, opportunity, account)}


REPORT_TYPES = _report_types()


# -- seeded reports ---------------------------------------------------------------------


@dataclasses.dataclass
class ReportDef:
    """One saved report: its identity and its ``reportMetadata``."""

    id: str
    name: str
    developer_name: str
    folder: str
    report_type: ReportType
    metadata: dict[str, Any]
    description: str | None = None

    @property
    def format(self) -> str:
        return str(self.metadata["reportFormat"])


def _grouping(name: str, granularity: str = "None", order: str = "Asc") -> dict[str, Any]:
    return {"dateGranularity": granularity, "name": name, "sortAggregate": None, "sortOrder": order}


def _filter(column: str, operator: str, value: str) -> dict[str, Any]:
    return {
        "column": column,
        "filterType": "fieldValue",
        "isRunPageEditable": True,
        "operator": operator,
        "value": value,
    }


# (name, developer name, folder, type, format, detail columns, down, across, aggregates,
#  filters, boolean filter, description)
_SEEDS: tuple[tuple[Any, ...], ...] = (
    (
        "All Contacts",
        "All_Contacts",
        "Marketing Reports",
        "ContactList",
        "TABULAR",
        ["FIRST_NAME", "LAST_NAME", "ACCOUNT.NAME", "TITLE", "EMAIL", "CREATED_DATE"],
        [],
        [],
        ["RowCount"],
        [],
        None,
        "Every contact with its account: more than 2,000 rows in the default org.",
    ),
    (
        "Contacts by Lead Source",
        "Contacts_by_Lead_Source",
        "Marketing Reports",
        "ContactList",
        "SUMMARY",
        ["FIRST_NAME", "LAST_NAME", "ACCOUNT.NAME", "EMAIL"],
        [_grouping("LEAD_SOURCE")],
        [],
        ["RowCount"],
        [],
        None,
        None,
    ),
    (
        "Open Pipeline",
        "Open_Pipeline",
        "Sales Reports",
        "Opportunity",
        "TABULAR",
        ["OPPORTUNITY_NAME", "ACCOUNT_NAME", "AMOUNT", "STAGE_NAME", "CLOSE_DATE", "PROBABILITY"],
        [],
        [],
        ["s!AMOUNT", "RowCount"],
        [_filter("CLOSED", "equals", "False"), _filter("AMOUNT", "greaterThan", "0")],
        None,
        "Open opportunities with an amount.",
    ),
    (
        "Opportunities by Stage",
        "Opportunities_by_Stage",
        "Sales Reports",
        "Opportunity",
        "SUMMARY",
        ["OPPORTUNITY_NAME", "ACCOUNT_NAME", "AMOUNT", "CLOSE_DATE"],
        [_grouping("STAGE_NAME"), _grouping("TYPE")],
        [],
        ["s!AMOUNT", "a!AMOUNT", "RowCount"],
        [],
        None,
        None,
    ),
    (
        "Pipeline by Stage and Type",
        "Pipeline_by_Stage_and_Type",
        "Sales Reports",
        "Opportunity",
        "MATRIX",
        ["OPPORTUNITY_NAME", "AMOUNT"],
        [_grouping("STAGE_NAME")],
        [_grouping("TYPE")],
        ["s!AMOUNT", "RowCount"],
        [_filter("AMOUNT", "greaterThan", "0")],
        None,
        None,
    ),
    (
        "Opportunities by Close Month",
        "Opportunities_by_Close_Month",
        "Sales Reports",
        "Opportunity",
        "MATRIX",
        ["OPPORTUNITY_NAME", "AMOUNT", "STAGE_NAME"],
        [_grouping("CLOSE_DATE", "Month")],
        [_grouping("WON")],
        ["s!AMOUNT", "x!AMOUNT", "RowCount"],
        [],
        None,
        None,
    ),
    (
        "Accounts by Industry",
        "Accounts_by_Industry",
        "Sales Reports",
        "AccountList",
        "SUMMARY",
        ["ACCOUNT.NAME", "TYPE", "RATING", "SALES", "EMPLOYEES"],
        [_grouping("INDUSTRY")],
        [],
        ["s!SALES", "u!TYPE", "RowCount"],
        [
            _filter("TYPE", "equals", "Customer - Direct,Customer - Channel"),
            _filter("RATING", "equals", "Hot"),
        ],
        "1 OR 2",
        "Customers or hot accounts, by industry.",
    ),
)


class ReportCatalog:
    """The org's reports and their asynchronous instances."""

    def __init__(self, reports: list[ReportDef]) -> None:
        self.reports = reports
        self._by_id = {to15(r.id): r for r in reports}
        #: report id15 -> instances, newest last.
        self.instances: dict[str, list[Instance]] = {}

    def get(self, report_id: str) -> ReportDef:
        report = self._by_id.get(to15(report_id)) if len(report_id) in (15, 18) else None
        if report is None:
            raise not_found()
        return report


@dataclasses.dataclass
class Instance:
    """An asynchronous run: its answer is computed at request time and shown when done."""

    id: str
    report: ReportDef
    owner_id: str
    requested: float
    request_date: str
    result: dict[str, Any]

    def status(self, now: float) -> str:
        elapsed = now - self.requested
        if elapsed < INSTANCE_NEW_SECONDS:
            return "New"
        if elapsed < INSTANCE_RUNNING_SECONDS:
            return "Running"
        return "Success"

    def summary(self, base: str, now: float) -> dict[str, Any]:
        status = self.status(now)
        done = status == "Success"
        return {
            "completionDate": _iso(self.requested + INSTANCE_RUNNING_SECONDS) if done else None,
            "hasDetailRows": bool(self.result.get("hasDetailRows")),
            "id": self.id,
            "ownerId": self.owner_id,
            "queryable": done,
            "requestDate": self.request_date,
            "status": status,
            "url": f"{base}/analytics/reports/{self.report.id}/instances/{self.id}",
        }


def _iso(moment: float) -> str:
    stamp = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def report_sobject() -> SObjectDef:
    """The ``Report`` sObject: queryable, not writable through the API."""

    def field(name: str, kind: str, label: str, **extra: Any) -> FieldDef:
        return FieldDef(name, kind, label, createable=False, updateable=False, **extra)

    fields = [
        field("Id", "id", "Report ID", length=18, nillable=False),
        field(
            "OwnerId", "reference", "Owner ID", length=18, nillable=False, reference_to=("User",)
        ),
        field("IsDeleted", "boolean", "Deleted", nillable=False),
        field("Name", "string", "Report Name", length=40, nillable=False, name_field=True),
        field("Description", "string", "Description", length=255),
        field("DeveloperName", "string", "Report Unique Name", length=80, nillable=False),
        field("NamespacePrefix", "string", "Namespace Prefix", length=15),
        field("FolderName", "string", "Folder Name", length=40),
        field(
            "Format",
            "picklist",
            "Format",
            length=40,
            nillable=False,
            picklist=("Tabular", "Summary", "Matrix", "MultiBlock"),
        ),
        field("ReportTypeApiName", "string", "Report Type API Name", length=255),
        field("LastRunDate", "datetime", "Last Run"),
        field("LastViewedDate", "datetime", "Last Viewed Date"),
        field("LastReferencedDate", "datetime", "Last Referenced Date"),
        field("CreatedDate", "datetime", "Created Date", nillable=False),
        field("CreatedById", "reference", "Created By ID", length=18, reference_to=("User",)),
        field("LastModifiedDate", "datetime", "Last Modified Date", nillable=False),
        field(
            "LastModifiedById",
            "reference",
            "Last Modified By ID",
            length=18,
            reference_to=("User",),
        ),
        field("SystemModstamp", "datetime", "System Modstamp", nillable=False),
    ]
    return SObjectDef(
        "Report",
        "Report",
        "Reports",
        "00O",
        fields,
        createable=False,
        updateable=False,
        deletable=False,
    )


_CATALOGS: weakref.WeakKeyDictionary[Any, ReportCatalog] = weakref.WeakKeyDictionary()


def install(state: EmulatorState) -> ReportCatalog:
    """Add the ``Report`` sObject and the seeded reports to `state`'s org (once)."""
    existing = _CATALOGS.get(state)
    if existing is not None:
        return existing
    store = state.store
    sobject = report_sobject()
    if store.schema.get("Report") is None:
        store.schema.add(sobject)
        store.tables["report"] = Table(sobject)
    table = store.tables["report"]
    allocator = IdAllocator("00O")
    admin = store.user_id(state.config.default_username)
    created = "2024-01-02T09:00:00.000+0000"
    reports: list[ReportDef] = []
    for seed in _SEEDS:
        (
            name,
            developer,
            folder,
            type_name,
            fmt,
            details,
            down,
            across,
            aggregates,
            filters,
            logic,
            description,
        ) = seed
        report_id = allocator.allocate()
        report_type = REPORT_TYPES[type_name]
        metadata = {
            "aggregates": list(aggregates),
            "buckets": [],
            "chart": None,
            "crossFilters": [],
            "currency": None,
            "customDetailFormula": {},
            "customSummaryFormula": {},
            "description": description,
            "detailColumns": list(details),
            "developerName": developer,
            "division": None,
            "folderId": admin,
            "groupingsAcross": [dict(g) for g in across],
            "groupingsDown": [dict(g) for g in down],
            "hasDetailRows": True,
            "hasRecordCount": True,
            "historicalSnapshotDates": [],
            "id": report_id,
            "name": name,
            "presentationOptions": {"hasStackedSummaries": True},
            "reportBooleanFilter": logic,
            "reportFilters": [dict(f) for f in filters],
            "reportFormat": fmt,
            "reportType": {"label": report_type.label, "type": report_type.type},
            "scope": "organization",
            "showGrandTotal": True,
            "showSubtotals": True,
            "sortBy": [],
            "standardDateFilter": {
                "column": "CREATED_DATE",
                "durationValue": "CUSTOM",
                "endDate": None,
                "startDate": None,
            },
            "standardFilters": [],
            "supportsRoleHierarchy": False,
            "topRows": None,
            "userOrHierarchyFilterId": None,
        }
        reports.append(
            ReportDef(report_id, name, developer, folder, report_type, metadata, description)
        )
    if not len(table):
        count = len(reports)
        table.load(
            {
                "Id": [r.id for r in reports],
                "OwnerId": [admin] * count,
                "IsDeleted": [False] * count,
                "Name": [r.name for r in reports],
                "Description": [r.description for r in reports],
                "DeveloperName": [r.developer_name for r in reports],
                "NamespacePrefix": [None] * count,
                "FolderName": [r.folder for r in reports],
                "Format": [r.format.capitalize() for r in reports],
                "ReportTypeApiName": [r.report_type.type for r in reports],
                "LastRunDate": [None] * count,
                "LastViewedDate": [None] * count,
                "LastReferencedDate": [None] * count,
                "CreatedDate": [created] * count,
                "CreatedById": [admin] * count,
                "LastModifiedDate": [created] * count,
                "LastModifiedById": [admin] * count,
                "SystemModstamp": [created] * count,
            }
        )
    result = ReportCatalog(reports)
    _CATALOGS[state] = result
    return result


def catalog(state: EmulatorState) -> ReportCatalog:
    """The reports of `state`'s org (installing them on first use)."""
    return install(state)


def note_run(state: EmulatorState, report: ReportDef) -> None:
    """Stamp ``LastRunDate`` and ``LastViewedDate`` as a run does."""
    table = state.store.tables["report"]
    row = table.row_of(report.id)
    if row is not None:
        stamp = _iso(time.time()).replace("Z", "+0000")
        table.update(row, {"LastRunDate": stamp, "LastViewedDate": stamp})


# -- describe ---------------------------------------------------------------------------


def _operator_kind(data_type: str) -> str:
    if data_type == "boolean":
        return "boolean"
    if data_type == "id":
        return "id"
    if data_type in _ORDERED:
        return "ordered"
    return "text"


def extended_metadata(report_type: ReportType, metadata: dict[str, Any]) -> dict[str, Any]:
    """``reportExtendedMetadata``: labels and data types of the columns in use."""
    detail_info = {}
    for name in metadata["detailColumns"]:
        column = _column(report_type, name, "detail column")
        detail_info[name] = {
            "dataType": column.data_type,
            "entityColumnName": column.path,
            "filterable": True,
            "fullyQualifiedName": f"{report_type.sobject}.{column.path}",
            "inactiveFilterValues": [],
            "isLookup": column.link is not None and column.link != "Id",
            "label": column.label,
            "uniqueCountable": True,
        }
    grouping_info = {}
    for level, grouping in enumerate(metadata["groupingsDown"] + metadata["groupingsAcross"]):
        column = _column(report_type, grouping["name"], "grouping")
        grouping_info[grouping["name"]] = {
            "dataType": column.data_type,
            "groupingLevel": level
            if level < len(metadata["groupingsDown"])
            else level - len(metadata["groupingsDown"]),
            "label": column.label,
        }
    aggregate_info = {name: _aggregate_info(report_type, name) for name in metadata["aggregates"]}
    return {
        "aggregateColumnInfo": aggregate_info,
        "detailColumnInfo": detail_info,
        "groupingColumnInfo": grouping_info,
    }


def _aggregate_info(report_type: ReportType, name: str) -> dict[str, Any]:
    if name == "RowCount":
        return {
            "acrossGroupingContext": None,
            "dataType": "int",
            "downGroupingContext": None,
            "label": "Record Count",
        }
    match = _AGGREGATE.match(name)
    if match is None:
        raise bad_request(f"The aggregate {name} is invalid.")
    kind, column_name = match.groups()
    column = _column(report_type, column_name, "aggregate")
    if kind != "u" and column.data_type not in _NUMERIC:
        raise bad_request(f"The aggregate {name} is invalid: {column.label} isn't a number.")
    words = {"s": "Sum of", "a": "Average of", "m": "Min of", "x": "Max of", "u": "Unique"}
    data_type = column.data_type
    if kind == "u":
        data_type = "int"
    elif kind == "a" and data_type == "int":
        data_type = "double"
    return {
        "acrossGroupingContext": None,
        "dataType": data_type,
        "downGroupingContext": None,
        "label": f"{words[kind]} {column.label}",
    }


def describe(report: ReportDef) -> dict[str, Any]:
    """``GET analytics/reports/{id}/describe``."""
    report_type = report.report_type
    columns = {
        c.name: {
            "dataType": c.data_type,
            "filterValues": [],
            "filterable": True,
            "isLookup": c.link is not None and c.link != "Id",
            "label": c.label,
        }
        for c in report_type.columns
    }
    operators = {
        kind: [{"label": name, "name": name} for name in names]
        for kind, names in _OPERATORS.items()
    }
    return {
        "reportExtendedMetadata": extended_metadata(report_type, report.metadata),
        "reportMetadata": report.metadata,
        "reportTypeMetadata": {
            "categories": [{"columns": columns, "label": report_type.label}],
            "dataTypeFilterOperatorMap": operators,
            "divisionInfo": None,
            "scopeInfo": {
                "defaultValue": "organization",
                "values": [{"allowsDivision": False, "label": "All", "value": "organization"}],
            },
            "standardDateFilterDurationGroups": [],
            "standardFilterInfos": {},
        },
    }


def _column(report_type: ReportType, name: Any, role: str) -> ReportColumn:
    column = report_type.column(name) if isinstance(name, str) else None
    if column is None:
        raise bad_request(
            f"The {role} column {name} is invalid for the report type {report_type.type}."
        )
    return column


# -- metadata of a run ------------------------------------------------------------------

_CHANGEABLE = (
    "aggregates",
    "detailColumns",
    "groupingsAcross",
    "groupingsDown",
    "hasDetailRows",
    "reportBooleanFilter",
    "reportFilters",
    "reportFormat",
    "sortBy",
    "topRows",
)


def effective_metadata(report: ReportDef, override: Any) -> dict[str, Any]:
    """The saved metadata with the request's ``reportMetadata`` laid over it."""
    metadata = dict(report.metadata)
    if override is None:
        return metadata
    if not isinstance(override, dict):
        raise bad_request("reportMetadata must be a JSON object.")
    for key in _CHANGEABLE:
        if key in override:
            metadata[key] = override[key]
    fmt = metadata.get("reportFormat")
    if fmt not in _FORMATS:
        raise bad_request(f"The report format {fmt} is invalid.")
    for key in (
        "aggregates",
        "detailColumns",
        "groupingsAcross",
        "groupingsDown",
        "reportFilters",
        "sortBy",
    ):
        if metadata.get(key) is None:
            metadata[key] = []
        if not isinstance(metadata[key], list):
            raise bad_request(f"{key} must be a list.")
    if fmt == "TABULAR" and (metadata["groupingsDown"] or metadata["groupingsAcross"]):
        raise bad_request("A tabular report can't have groupings.")
    if fmt == "SUMMARY" and metadata["groupingsAcross"]:
        raise bad_request("A summary report can't have groupings across.")
    for grouping in metadata["groupingsDown"] + metadata["groupingsAcross"]:
        if not isinstance(grouping, dict) or "name" not in grouping:
            raise bad_request("Each grouping needs a name.")
    if "RowCount" not in metadata["aggregates"]:
        metadata["aggregates"] = [*metadata["aggregates"], "RowCount"]
    return metadata


# -- filters to SOQL --------------------------------------------------------------------


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    return escaped.replace("%", "\\%").replace("_", "\\_")


def _literal(column: ReportColumn, value: str) -> str:
    """`value` (the filter's text) as a SOQL literal for `column`; 400 if it is not one."""
    kind = column.data_type
    if kind in _NUMERIC:
        try:
            number = float(value.replace(",", "")) if isinstance(value, str) else float(value)
        except ValueError:
            raise bad_request(
                f"The filter value {value} isn't a valid number for {column.label}."
            ) from None
        return repr(number) if number != int(number) else str(int(number))
    if kind == "boolean":
        lowered = value.strip().lower()
        if lowered not in ("true", "false", "1", "0"):
            raise bad_request(f"The filter value {value} isn't valid for {column.label}.")
        return "true" if lowered in ("true", "1") else "false"
    if kind == "date":
        if _DATE.match(value) or _RELATIVE_DATE.match(value.upper()):
            return value.upper() if not _DATE.match(value) else value
        match = _DATETIME.match(value)
        if match:
            return match.group(1)
        raise bad_request(f"The filter value {value} isn't a valid date for {column.label}.")
    if kind == "datetime":
        if _RELATIVE_DATE.match(value.upper()) and not _DATE.match(value):
            return value.upper()
        if _DATE.match(value):
            return f"{value}T00:00:00Z"
        match = _DATETIME.match(value)
        if match is None:
            raise bad_request(
                f"The filter value {value} isn't a valid date and time for {column.label}."
            )
        day, clock, zone = match.groups()
        if len(clock) == 5:
            clock += ":00"
        zone = zone or "Z"
        if zone not in ("Z",) and ":" not in zone:
            zone = zone[:3] + ":" + zone[3:]
        return f"{day}T{clock}{zone}"
    return _quote(value)


def _values(value: Any) -> list[str]:
    if value is None:
        return [""]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, int | float):
        return [str(value)]
    if not isinstance(value, str):
        raise bad_request(f"The filter value {value!r} must be text.")
    return [part.strip() for part in value.split(",")] if value else [""]


def filter_clause(report_type: ReportType, item: Any) -> str:
    """One report filter as a SOQL condition."""
    if not isinstance(item, dict):
        raise bad_request("Each report filter must be an object with column, operator, value.")
    name = item.get("column")
    column = report_type.column(name) if isinstance(name, str) else None
    if column is None:
        raise bad_request(
            f"The filter column {item.get('column')} is invalid for the report "
            f"type {report_type.type}."
        )
    operator = item.get("operator")
    allowed = _OPERATORS[_operator_kind(column.data_type)]
    if operator not in allowed:
        raise bad_request(
            f"The filter operator {operator} is invalid for the column {column.name}: use one of "
            + ", ".join(allowed)
            + "."
        )
    path = column.path
    values = _values(item.get("value"))
    if operator in ("equals", "notEqual"):
        positive = operator == "equals"
        literals = ["null" if v == "" else _literal(column, v) for v in values]
        if len(literals) == 1:
            return f"{path} {'=' if positive else '!='} {literals[0]}"
        has_null = "null" in literals
        rest = [lit for lit in literals if lit != "null"]
        inner = f"{path} {'IN' if positive else 'NOT IN'} ({', '.join(rest)})"
        if has_null:
            joiner = " OR " if positive else " AND "
            return f"({inner}{joiner}{path} {'=' if positive else '!='} null)"
        return inner
    if operator in ("lessThan", "greaterThan", "lessOrEqual", "greaterOrEqual"):
        if len(values) != 1 or values[0] == "":
            raise bad_request(f"The filter operator {operator} takes one value for {column.name}.")
        symbol = {"lessThan": "<", "greaterThan": ">", "lessOrEqual": "<=", "greaterOrEqual": ">="}
        return f"{path} {symbol[operator]} {_literal(column, values[0])}"
    patterns = {
        "contains": "'%{}%'",
        "notContain": "'%{}%'",
        "startsWith": "'{}%'",
    }[operator]
    parts = [f"{path} LIKE {patterns.format(_like(v))}" for v in values]
    joined = parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    return f"(NOT {joined})" if operator == "notContain" else joined


def where_clause(report_type: ReportType, metadata: dict[str, Any]) -> str:
    """The report's filters and filter logic as one SOQL condition ('' for none)."""
    filters = metadata.get("reportFilters") or []
    clauses = [filter_clause(report_type, item) for item in filters]
    logic = metadata.get("reportBooleanFilter")
    if not clauses:
        if logic:
            raise bad_request("The report filter logic references filters that don't exist.")
        return ""
    if not logic:
        return " AND ".join(f"({c})" for c in clauses)
    if not isinstance(logic, str):
        raise bad_request("reportBooleanFilter must be text such as '1 AND (2 OR 3)'.")
    out: list[str] = []
    position = 0
    used: set[int] = set()
    text = logic.strip()
    while position < len(text):
        match = _LOGIC_TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise bad_request(f"The report filter logic {logic} is invalid.")
        number, word, opening, closing = match.groups()
        if number is not None:
            index = int(number)
            if not 1 <= index <= len(clauses):
                raise bad_request(
                    f"The report filter logic {logic} references filter {index}, "
                    "which doesn't exist."
                )
            used.add(index)
            out.append(f"({clauses[index - 1]})")
        elif word is not None:
            out.append(word.upper())
        else:
            out.append(opening or closing)
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    if len(used) != len(clauses):
        missing = sorted(set(range(1, len(clauses) + 1)) - used)
        raise bad_request(
            f"The report filter logic {logic} doesn't reference every filter: "
            + ", ".join(map(str, missing))
            + "."
        )
    return " ".join(out).replace("( ", "(").replace(" )", ")")


# -- running ----------------------------------------------------------------------------


@dataclasses.dataclass
class _Selected:
    """The SOQL paths a run selects, and each one's position in a fetched row."""

    paths: list[str] = dataclasses.field(default_factory=list)

    def add(self, path: str) -> int:
        lowered = [p.lower() for p in self.paths]
        if path.lower() in lowered:
            return lowered.index(path.lower())
        self.paths.append(path)
        return len(self.paths) - 1


def _fetch(
    store: Store, report_type: ReportType, metadata: dict[str, Any], today: datetime.date
) -> tuple[list[ReportColumn], list[tuple[Any, ...]], dict[str, int]]:
    """Select the report's rows with SOQL: the columns used, the rows, path positions."""
    selected = _Selected()
    selected.add("Id")
    used: dict[str, ReportColumn] = {}
    names = list(metadata["detailColumns"])
    names += [g["name"] for g in metadata["groupingsDown"] + metadata["groupingsAcross"]]
    for aggregate in metadata["aggregates"]:
        match = _AGGREGATE.match(aggregate)
        if match:
            names.append(match.group(2))
    sort_by = metadata.get("sortBy") or []
    for sort in sort_by:
        if not isinstance(sort, dict) or "sortColumn" not in sort:
            raise bad_request("Each sortBy entry needs a sortColumn.")
        names.append(sort["sortColumn"])
    for name in names:
        column = _column(report_type, name, "report")
        used[name] = column
        selected.add(column.path)
        if column.link:
            selected.add(column.link)
    where = where_clause(report_type, metadata)
    order = []
    for sort in sort_by:
        direction = "DESC" if str(sort.get("sortOrder", "Asc")).lower() == "desc" else "ASC"
        nulls = "NULLS LAST" if direction == "ASC" else "NULLS FIRST"
        order.append(f"{used[sort['sortColumn']].path} {direction} {nulls}")
    order.append("Id ASC")
    soql = f"SELECT {', '.join(selected.paths)} FROM {report_type.sobject}"  # noqa: S608
    if where:
        soql += f" WHERE {where}"
    soql += " ORDER BY " + ", ".join(order)
    try:
        _, result = execute(store, soql, False, today)
    except SoqlError as error:
        raise bad_request(f"The report filters can't be applied: {error.message(soql)}") from None
    assert isinstance(result, RecordsResult)
    getters = [getter for _, getter in result.columns]
    rows = [tuple(getter(row) for getter in getters) for row in result.rows]
    positions = {path.lower(): index for index, path in enumerate(selected.paths)}
    return list(used.values()), rows, positions


def _money(value: float) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _date_label(text: str) -> str:
    year, month, day = (int(part) for part in text[:10].split("-"))
    return f"{month}/{day}/{year}"


def _datetime_value(text: str) -> str:
    return text[:19] + "Z"


def _datetime_label(text: str) -> str:
    hour, minute = int(text[11:13]), int(text[14:16])
    suffix = "AM" if hour < 12 else "PM"
    return f"{_date_label(text)} {hour % 12 or 12}:{minute:02d} {suffix}"


def _number_label(value: float, data_type: str) -> str:
    if data_type == "currency":
        return _money(value)
    if data_type == "percent":
        return f"{value:,.0f}%" if value == int(value) else f"{value:,.2f}%"
    if data_type == "int" or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _cell(column: ReportColumn, value: Any, link: Any) -> dict[str, Any]:
    """One ``dataCell``: what Salesforce shows (label) and the raw value."""
    if value is None:
        return {"label": "-", "value": None}
    kind = column.data_type
    if kind == "currency":
        return {"label": _money(float(value)), "value": {"amount": float(value), "currency": "USD"}}
    if kind in _NUMERIC:
        return {"label": _number_label(float(value), kind), "value": value}
    if kind == "date":
        return {"label": _date_label(value), "value": value}
    if kind == "datetime":
        return {"label": _datetime_label(value), "value": _datetime_value(value)}
    if kind == "boolean":
        return {"label": "true" if value else "false", "value": bool(value)}
    if link is not None:
        return {"label": str(value), "value": link}
    return {"label": str(value), "value": value}


@dataclasses.dataclass
class _GroupValue:
    key: Any  # sort key
    value: Any
    label: str


def _group_value(
    column: ReportColumn, raw: Any, granularity: str, picklist: Sequence[str]
) -> _GroupValue:
    if raw is None:
        return _GroupValue((0, ""), None, "-")
    kind = column.data_type
    if kind in ("date", "datetime"):
        day = raw[:10]
        year, month, _ = day.split("-")
        if granularity == "Month":
            return _GroupValue(
                (1, f"{year}-{month}"), f"{year}-{month}-01", f"{_MONTHS[int(month) - 1]} {year}"
            )
        if granularity == "Quarter":
            quarter = (int(month) - 1) // 3 + 1
            first = f"{year}-{(quarter - 1) * 3 + 1:02d}-01"
            return _GroupValue((1, first), first, f"Q{quarter}-{year}")
        if granularity == "Year":
            return _GroupValue((1, year), f"{year}-01-01", year)
        return _GroupValue((1, day), day, _date_label(day))
    if kind == "picklist" and raw in picklist:
        return _GroupValue((1, picklist.index(raw)), raw, str(raw))
    if kind == "boolean":
        return _GroupValue((1, bool(raw)), bool(raw), "true" if raw else "false")
    if kind in _NUMERIC:
        return _GroupValue((1, float(raw)), raw, _number_label(float(raw), kind))
    return _GroupValue((1, str(raw).lower()), raw, str(raw))


@dataclasses.dataclass
class _Node:
    """One grouping value at one level, with its sub-groupings and its rows."""

    key: str
    value: _GroupValue
    rows: list[int]
    children: list[_Node]

    def to_json(self) -> dict[str, Any]:
        return {
            "groupings": [child.to_json() for child in self.children],
            "key": self.key,
            "label": self.value.label,
            "value": self.value.value,
        }


def _build_tree(
    rows: list[int],
    levels: list[tuple[Callable[[int], _GroupValue], bool]],
    prefix: str = "",
) -> list[_Node]:
    if not levels:
        return []
    value_of, descending = levels[0]
    buckets: dict[Any, tuple[_GroupValue, list[int]]] = {}
    for row in rows:
        group = value_of(row)
        bucket = buckets.get(group.key)
        if bucket is None:
            buckets[group.key] = (group, [row])
        else:
            bucket[1].append(row)
    ordered = sorted(buckets.values(), key=lambda item: item[0].key, reverse=descending)
    nodes = []
    for index, (group, members) in enumerate(ordered):
        key = f"{prefix}_{index}" if prefix else str(index)
        nodes.append(_Node(key, group, members, _build_tree(members, levels[1:], key)))
    return nodes


def _walk(nodes: list[_Node]) -> list[_Node]:
    """Every node, depth first (parents before their children)."""
    out: list[_Node] = []
    for node in nodes:
        out.append(node)
        out.extend(_walk(node.children))
    return out


def run_report(
    store: Store,
    report: ReportDef,
    override: Any,
    include_details: bool,
    today: datetime.date,
    base: str,
) -> dict[str, Any]:
    """The answer of a sync run (and of a finished async instance)."""
    report_type = report.report_type
    metadata = effective_metadata(report, override)
    extended = extended_metadata(report_type, metadata)
    columns, rows, positions = _fetch(store, report_type, metadata, today)
    by_name = {c.name: c for c in columns}
    sobject = store.schema.get(report_type.sobject)
    assert sobject is not None

    def picklist_of(column: ReportColumn) -> Sequence[str]:
        field = sobject.field(column.path) if "." not in column.path else None
        return field.picklist if field is not None else ()

    def level(grouping: dict[str, Any]) -> tuple[Callable[[int], _GroupValue], bool]:
        column = by_name[grouping["name"]]
        position = positions[column.path.lower()]
        granularity = str(grouping.get("dateGranularity") or "None")
        picklist = picklist_of(column)
        descending = str(grouping.get("sortOrder", "Asc")).lower() == "desc"
        return (
            lambda row: _group_value(column, rows[row][position], granularity, picklist)
        ), descending

    all_rows = list(range(len(rows)))
    down = _build_tree(all_rows, [level(g) for g in metadata["groupingsDown"]])
    across = _build_tree(all_rows, [level(g) for g in metadata["groupingsAcross"]])
    down_depth = len(metadata["groupingsDown"])
    across_depth = len(metadata["groupingsAcross"])

    detail_columns = [by_name[name] for name in metadata["detailColumns"]]
    cell_positions = [
        (c, positions[c.path.lower()], positions[c.link.lower()] if c.link else None)
        for c in detail_columns
    ]
    aggregates = list(metadata["aggregates"])
    details = include_details and bool(metadata.get("hasDetailRows", True))
    budget = [DETAIL_ROW_LIMIT]
    all_data = [True]

    def aggregate_values(members: list[int]) -> list[dict[str, Any]]:
        out = []
        for name in aggregates:
            info = extended["aggregateColumnInfo"][name]
            if name == "RowCount":
                count = len(members)
                out.append({"label": f"{count:,}", "value": count})
                continue
            match = _AGGREGATE.match(name)
            assert match is not None
            kind, column_name = match.groups()
            column = by_name[column_name]
            position = positions[column.path.lower()]
            values = [rows[r][position] for r in members if rows[r][position] is not None]
            result: float | int | None
            if kind == "u":
                result = len(set(values))
            elif not values:
                result = None if kind != "s" else 0
            elif kind == "s":
                result = sum(values)
            elif kind == "a":
                result = sum(values) / len(values)
            elif kind == "m":
                result = min(values)
            else:
                result = max(values)
            if result is None:
                out.append({"label": "-", "value": None})
            else:
                out.append(
                    {"label": _number_label(float(result), info["dataType"]), "value": result}
                )
        return out

    def detail_rows(members: list[int]) -> list[dict[str, Any]]:
        out = []
        for row in members:
            if budget[0] <= 0:
                all_data[0] = False
                break
            budget[0] -= 1
            values = rows[row]
            out.append(
                {
                    "dataCells": [
                        _cell(column, values[p], values[link] if link is not None else None)
                        for column, p, link in cell_positions
                    ]
                }
            )
        return out

    def fact(members: list[int], with_rows: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {"aggregates": aggregate_values(members)}
        if details:
            entry["rows"] = detail_rows(members) if with_rows else []
        return entry

    fact_map: dict[str, Any] = {}
    down_nodes = _walk(down)
    across_nodes = _walk(across)
    depth = {node.key: node.key.count("_") + 1 for node in down_nodes + across_nodes}
    if metadata["reportFormat"] == "TABULAR" or (not down_depth and not across_depth):
        fact_map["T!T"] = fact(all_rows, True)
    elif metadata["reportFormat"] == "SUMMARY":
        for node in down_nodes:
            fact_map[f"{node.key}!T"] = fact(node.rows, depth[node.key] == down_depth)
        fact_map["T!T"] = fact(all_rows, False)
    else:
        across_sets = {node.key: set(node.rows) for node in across_nodes}
        for node in down_nodes:
            leaf_down = depth[node.key] == down_depth
            for column_node in across_nodes:
                members = [r for r in node.rows if r in across_sets[column_node.key]]
                leaf = leaf_down and depth[column_node.key] == across_depth
                fact_map[f"{node.key}!{column_node.key}"] = fact(members, leaf)
            fact_map[f"{node.key}!T"] = fact(node.rows, False)
        for column_node in across_nodes:
            fact_map[f"T!{column_node.key}"] = fact(column_node.rows, False)
        fact_map["T!T"] = fact(all_rows, False)
    return {
        "allData": all_data[0],
        "attributes": {
            "describeUrl": f"{base}/analytics/reports/{report.id}/describe",
            "instancesUrl": f"{base}/analytics/reports/{report.id}/instances",
            "reportId": report.id,
            "reportName": report.name,
            "type": "Report",
        },
        "factMap": fact_map,
        "groupingsAcross": {"groupings": [node.to_json() for node in across]},
        "groupingsDown": {"groupings": [node.to_json() for node in down]},
        "hasDetailRows": details,
        "picklistColors": {},
        "reportExtendedMetadata": extended,
        "reportMetadata": metadata,
    }


def new_instance(
    state: EmulatorState,
    report: ReportDef,
    override: Any,
    include_details: bool,
    base: str,
    owner_id: str,
) -> Instance:
    """Start an asynchronous run (its answer is computed now, shown once it is done)."""
    result = run_report(state.store, report, override, include_details, state.today(), base)
    now = time.time()
    instance = Instance(random_id("0LG"), report, owner_id, now, _iso(now), result)
    catalog(state).instances.setdefault(to15(report.id) or "", []).append(instance)
    return instance


def find_instance(state: EmulatorState, report: ReportDef, instance_id: str) -> Instance:
    for instance in catalog(state).instances.get(to15(report.id) or "", []):
        if instance.id == instance_id or to15(instance.id) == to15(instance_id):
            return instance
    raise not_found()
