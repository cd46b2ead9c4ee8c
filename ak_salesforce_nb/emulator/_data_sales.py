"""Deterministic sales and service records: leads, campaigns, cases, activities, products,
opportunity line items and the custom ``Project__c`` object.

They are drawn after (and from another generator than) the accounts, contacts and
opportunities, whose values therefore do not depend on this module. Counts follow the
number of accounts (``N``): N/2 leads, N/2 cases, N/2 tasks, N/4 events, N/4 projects, and
line items on every other opportunity, so a default org (N=2,000) stays quick to start.
"""

from __future__ import annotations

import datetime
import random
from typing import Any

from ._data_pools import Clock, date_pool, maybe_none, parents_for, pick
from ._schema import (
    CAMPAIGN_STATUSES,
    CAMPAIGN_TYPES,
    CASE_ORIGINS,
    CASE_REASONS,
    CASE_STATUSES,
    CASE_TYPES,
    CURRENCIES,
    EVENT_SHOW_AS,
    INDUSTRIES,
    LEAD_SOURCES,
    LEAD_STATUSES,
    PRIORITIES,
    PROJECT_PHASES,
    PROJECT_STATUSES,
    RATINGS,
    SALUTATIONS,
    TASK_PRIORITIES,
    TASK_STATUSES,
    TASK_SUBJECTS,
)
from ._store import Store, Table

__all__ = ["populate_sales"]

LEAD_FIRST_NAMES = (
    "Amelia",
    "Bruno",
    "Carmen",
    "Dmitri",
    "Elena",
    "Farah",
    "Gustavo",
    "Hannah",
    "Ismail",
    "Jana",
    "Kofi",
    "Leila",
    "Marta",
    "Nikolai",
    "Oksana",
    "Paulo",
    "Quinn",
    "Rania",
    "Sven",
    "Tomás",
)
LEAD_LAST_NAMES = (
    "Abbott",
    "Becker",
    "Castillo",
    "Dvořák",
    "Eriksen",
    "Fischer",
    "Gómez",
    "Horvat",
    "Ivanova",
    "Jensen",
    "Kuznetsov",
    "Lindqvist",
    "Mensah",
    "Novak",
    "Okafor",
    "Petrov",
    "Quist",
    "Reyes",
    "Sato",
    "Van Dijk",
)
LEAD_COMPANIES = (
    "Brightline Analytics",
    "Copperleaf Foods",
    "Driftwood Logistics",
    "Evergreen Clinics",
    "Foxglove Media",
    "Ironbark Mining",
    "Juniper Retail",
    "Kestrel Airways",
    "Lighthouse Insurance",
    "Moonstone Labs",
    "Northwind Traders",
    "Obsidian Security",
)
LEAD_CITIES = (
    ("Portland", "OR", "United States"),
    ("Madrid", None, "Spain"),
    ("Lagos", None, "Nigeria"),
    ("Oslo", None, "Norway"),
    ("Melbourne", "VIC", "Australia"),
    ("Montreal", "QC", "Canada"),
)
CASE_SUBJECTS = (
    "Cannot log in to the portal",
    "Invoice shows the wrong amount",
    "Device overheats after update",
    "Request for an on-site visit",
    "Shipment arrived damaged",
    "Question about the renewal terms",
    "Integration returns error 500",
    "Password reset email not received",
)
EVENT_SUBJECTS = ("Discovery call", "Product demo", "Quarterly review", "Lunch", "Workshop")
EVENT_LOCATIONS = ("Zoom", "Customer office", "Head office", "Café", None)
PRODUCTS = (
    ("GenWatt Diesel 10kW", "GC1020", "Hardware", 5000.0),
    ("GenWatt Diesel 200kW", "GC1040", "Hardware", 25000.0),
    ("GenWatt Propane 100kW", "GC5040", "Hardware", 50000.0),
    ("Installation: Industrial - High", "IN7080", "Services", 85000.0),
    ("Installation: Portable", "IN7020", "Services", 1000.0),
    ("SLA: Gold", "SL9040", "Services", 20000.0),
    ("SLA: Silver", "SL9030", "Services", 10000.0),
    ("SLA: Bronze", "SL9020", "Services", 5000.0),
    ("Analytics Cloud Seat", "SW1010", "Software", 1200.0),
    ("Data Connector", "SW1020", "Software", 3000.0),
    ("Monitoring Add-on", "SW1030", "Software", 600.0),
    ("Training Day", "TR1000", "Services", 1500.0),
)
CAMPAIGNS = (
    "Spring Webinar Series",
    "Dreamforce Booth",
    "Partner Summit",
    "Year-End Promotion",
    "Customer Advisory Board",
    "EMEA Roadshow",
    "Product Launch: Analytics",
    "Holiday Direct Mail",
)
PROJECT_KINDS = ("Rollout", "Migration", "Integration", "Audit", "Training", "Pilot")


def _audit(
    rng: random.Random, clock: Clock, count: int, user_ids: list[str], owned: bool = True
) -> dict[str, list[Any]]:
    """Owner and audit columns for ``count`` new rows (ids rise with creation time)."""
    created, modified = clock.created_and_modified(rng, count)
    owners = pick(rng, user_ids, count)
    columns: dict[str, list[Any]] = {
        "IsDeleted": [False] * count,
        "CreatedDate": created,
        "CreatedById": owners,
        "LastModifiedDate": modified,
        "LastModifiedById": owners,
        "SystemModstamp": modified,
    }
    if owned:
        columns["OwnerId"] = owners
    return columns


def populate_sales(
    store: Store,
    rng: random.Random,
    clock: Clock,
    anchor: datetime.date,
    user_ids: list[str],
) -> None:
    """Generate the sales and service records of the org (see the module docstring)."""
    tables = store.tables
    accounts = tables["account"].columns["Id"]
    account_count = len(accounts)
    campaign_ids = _campaigns(tables["campaign"], rng, clock, anchor, user_ids)
    entries = _products(store, rng, clock, user_ids)
    lead_ids = _leads(tables["lead"], rng, clock, account_count // 2, user_ids, tables)
    case_ids = _cases(tables["case"], rng, clock, account_count // 2, user_ids, tables)
    project_ids = _projects(tables["project__c"], rng, clock, anchor, accounts, user_ids)
    _line_items(tables["opportunitylineitem"], rng, clock, user_ids, tables, entries)
    whats = [
        *accounts[::3],
        *tables["opportunity"].columns["Id"][::5],
        *case_ids[::4],
        *campaign_ids,
        *project_ids[::2],
    ]
    whos = [*tables["contact"].columns["Id"][::2], *lead_ids[::3]]
    _tasks(tables["task"], rng, clock, anchor, account_count // 2, user_ids, whats, whos, store)
    _events(tables["event"], rng, clock, anchor, account_count // 4, user_ids, whats, whos, store)
    if store.multi_currency:
        _currencies(store, clock, user_ids[0])


def _campaigns(
    table: Table, rng: random.Random, clock: Clock, anchor: datetime.date, user_ids: list[str]
) -> list[str]:
    count = 3 * len(CAMPAIGNS)
    ids = table.allocator.allocate_many(count)
    starts = [anchor - datetime.timedelta(days=540 - 45 * i) for i in range(count)]
    budgets = [float(rng.randrange(5, 200) * 1000) for _ in range(count)]
    columns: dict[str, list[Any]] = {
        "Id": ids,
        "Name": [f"{CAMPAIGNS[i % len(CAMPAIGNS)]} {starts[i].year}" for i in range(count)],
        # Every campaign of a year's series reports to the year's first one.
        "ParentId": [None if i < len(CAMPAIGNS) else ids[i % len(CAMPAIGNS)] for i in range(count)],
        "Type": pick(rng, CAMPAIGN_TYPES, count),
        "Status": [
            CAMPAIGN_STATUSES[0 if s > anchor else (2 if s.year < anchor.year else 1)]
            for s in starts
        ],
        "StartDate": [s.isoformat() for s in starts],
        "EndDate": [(s + datetime.timedelta(days=30)).isoformat() for s in starts],
        "BudgetedCost": budgets,
        "ActualCost": [round(b * rng.uniform(0.6, 1.2), 2) for b in budgets],
        "ExpectedRevenue": [b * 8 for b in budgets],
        "ExpectedResponse": [float(rng.randrange(1, 20)) for _ in range(count)],
        "NumberSent": [float(rng.randrange(100, 20000)) for _ in range(count)],
        "IsActive": [s <= anchor for s in starts],
        "Description": [None] * count,
        **_audit(rng, clock, count, user_ids),
    }
    table.load(columns)
    return ids


def _products(
    store: Store, rng: random.Random, clock: Clock, user_ids: list[str]
) -> list[tuple[str, str, str, str, float]]:
    """Products, the standard and a partner price book, and an entry per product in each.

    Returns (entry id, product id, name, code, unit price) of every entry.
    """
    products = store.tables["product2"]
    count = len(PRODUCTS)
    product_ids = products.allocator.allocate_many(count)
    audit = _audit(rng, clock, count, user_ids, owned=False)
    products.load(
        {
            "Id": product_ids,
            "Name": [p[0] for p in PRODUCTS],
            "ProductCode": [p[1] for p in PRODUCTS],
            "Family": [p[2] for p in PRODUCTS],
            "IsActive": [True] * (count - 1) + [False],
            "Description": [None] * count,
            **audit,
        }
    )
    books = store.tables["pricebook2"]
    book_ids = books.allocator.allocate_many(2)
    books.load(
        {
            "Id": book_ids,
            "Name": ["Standard Price Book", "Partner Price Book"],
            "IsActive": [True, True],
            "IsStandard": [True, False],
            "Description": [None, "Prices for channel partners (15% off)"],
            **_audit(rng, clock, 2, user_ids, owned=False),
        }
    )
    entries_table = store.tables["pricebookentry"]
    entry_ids = entries_table.allocator.allocate_many(2 * count)
    prices = [p[3] for p in PRODUCTS] + [round(p[3] * 0.85, 2) for p in PRODUCTS]
    entries_table.load(
        {
            "Id": entry_ids,
            "Name": [p[0] for p in PRODUCTS] * 2,
            "Pricebook2Id": [book_ids[0]] * count + [book_ids[1]] * count,
            "Product2Id": product_ids * 2,
            "ProductCode": [p[1] for p in PRODUCTS] * 2,
            "UnitPrice": prices,
            "IsActive": [True] * (2 * count),
            "UseStandardPrice": [False] * (2 * count),
            **_audit(rng, clock, 2 * count, user_ids, owned=False),
        }
    )
    return [
        (entry_ids[i], product_ids[i % count], PRODUCTS[i % count][0], PRODUCTS[i % count][1], p)
        for i, p in enumerate(prices)
    ]


def _leads(
    table: Table,
    rng: random.Random,
    clock: Clock,
    count: int,
    user_ids: list[str],
    tables: dict[str, Table],
) -> list[str]:
    ids = table.allocator.allocate_many(count)
    firsts = pick(rng, LEAD_FIRST_NAMES, count)
    lasts = pick(rng, LEAD_LAST_NAMES, count)
    places = pick(rng, LEAD_CITIES, count)
    statuses = pick(rng, LEAD_STATUSES, count)
    audit = _audit(rng, clock, count, user_ids)
    converted = [s == "Closed - Converted" for s in statuses]
    contacts = tables["contact"].columns
    opportunities = tables["opportunity"].columns
    contact_count = len(contacts["Id"])
    opportunity_count = len(opportunities["Id"])
    converted_contacts = [
        contacts["Id"][i * 7 % contact_count] if c and contact_count else None
        for i, c in enumerate(converted)
    ]
    columns: dict[str, list[Any]] = {
        "Id": ids,
        "FirstName": firsts,
        "LastName": lasts,
        "Name": [f"{f} {ln}" for f, ln in zip(firsts, lasts, strict=True)],
        "Salutation": maybe_none(rng, pick(rng, SALUTATIONS, count), 0.5),
        "Title": pick(rng, ("CEO", "Buyer", "IT Manager", "Analyst", None), count),
        "Company": pick(rng, LEAD_COMPANIES, count),
        "City": [p[0] for p in places],
        "State": [p[1] for p in places],
        "Country": [p[2] for p in places],
        "Phone": [f"+1 555-{n:04d}" for n in pick(rng, range(10000), count)],
        "Email": [
            f"{f}.{ln}.{i}@leads.example.com".lower().replace(" ", "")
            for i, (f, ln) in enumerate(zip(firsts, lasts, strict=True))
        ],
        "LeadSource": maybe_none(rng, pick(rng, LEAD_SOURCES, count), 0.1),
        "Status": statuses,
        "Industry": maybe_none(rng, pick(rng, INDUSTRIES, count), 0.2),
        "Rating": maybe_none(rng, pick(rng, RATINGS, count), 0.4),
        "AnnualRevenue": maybe_none(
            rng, [float(n * 100_000) for n in pick(rng, range(1, 500), count)], 0.3
        ),
        "NumberOfEmployees": maybe_none(rng, pick(rng, (10, 50, 200, 1000, 5000), count), 0.2),
        "IsConverted": converted,
        "ConvertedDate": [
            m[:10] if c else None for m, c in zip(audit["LastModifiedDate"], converted, strict=True)
        ],
        "ConvertedContactId": converted_contacts,
        "ConvertedAccountId": [
            None if c is None else contacts["AccountId"][tables["contact"].index[c[:15]]]
            for c in converted_contacts
        ],
        "ConvertedOpportunityId": [
            opportunities["Id"][i * 5 % opportunity_count] if c and opportunity_count else None
            for i, c in enumerate(converted)
        ],
        **audit,
    }
    table.load(columns)
    return ids


def _cases(
    table: Table,
    rng: random.Random,
    clock: Clock,
    count: int,
    user_ids: list[str],
    tables: dict[str, Table],
) -> list[str]:
    ids = table.allocator.allocate_many(count)
    contacts = tables["contact"].columns
    contact_ids = parents_for(rng, contacts["Id"], count, 0.05)
    contact_rows = tables["contact"].index
    statuses = pick(rng, CASE_STATUSES, count)
    audit = _audit(rng, clock, count, user_ids)
    closed = [s == "Closed" for s in statuses]
    columns: dict[str, list[Any]] = {
        "Id": ids,
        "CaseNumber": [f"{i + 1:08d}" for i in range(count)],
        "ContactId": contact_ids,
        "AccountId": [
            None if c is None else contacts["AccountId"][contact_rows[c[:15]]] for c in contact_ids
        ],
        "Type": maybe_none(rng, pick(rng, CASE_TYPES, count), 0.2),
        "Status": statuses,
        "Reason": maybe_none(rng, pick(rng, CASE_REASONS, count), 0.3),
        "Origin": pick(rng, CASE_ORIGINS, count),
        "Subject": pick(rng, CASE_SUBJECTS, count),
        "Priority": pick(rng, PRIORITIES, count),
        "IsClosed": closed,
        "ClosedDate": [
            m if c else None for m, c in zip(audit["LastModifiedDate"], closed, strict=True)
        ],
        "IsEscalated": [s == "Escalated" for s in statuses],
        **audit,
    }
    table.load(columns)
    return ids


def _projects(
    table: Table,
    rng: random.Random,
    clock: Clock,
    anchor: datetime.date,
    account_ids: list[str],
    user_ids: list[str],
) -> list[str]:
    count = len(account_ids) // 4
    ids = table.allocator.allocate_many(count)
    starts = pick(rng, date_pool(rng, anchor - datetime.timedelta(days=700), 800), count)
    lengths = pick(rng, (30, 60, 90, 180, 365), count)
    phases = [
        ";".join(PROJECT_PHASES[: 1 + n % len(PROJECT_PHASES)]) for n in pick(rng, range(6), count)
    ]
    columns: dict[str, list[Any]] = {
        "Id": ids,
        "Name": [f"{kind} {i + 1}" for i, kind in enumerate(pick(rng, PROJECT_KINDS, count))],
        "Account__c": parents_for(rng, account_ids, count, 0.05),
        "Status__c": pick(rng, PROJECT_STATUSES, count),
        "Phases__c": maybe_none(rng, phases, 0.2),
        "Budget__c": maybe_none(
            rng, [float(n * 500) for n in pick(rng, range(10, 2000), count)], 0.1
        ),
        "Hours__c": [float(n) / 2 for n in pick(rng, range(8, 4000), count)],
        "Start_Date__c": starts,
        "End_Date__c": [
            (datetime.date.fromisoformat(s) + datetime.timedelta(days=d)).isoformat()
            for s, d in zip(starts, lengths, strict=True)
        ],
        "Is_Billable__c": [b < 180 for b in rng.randbytes(count)],
        "Code__c": [f"PRJ-{i + 1:05d}" for i in range(count)],
        **_audit(rng, clock, count, user_ids),
    }
    table.load(columns)
    return ids


def _line_items(
    table: Table,
    rng: random.Random,
    clock: Clock,
    user_ids: list[str],
    tables: dict[str, Table],
    entries: list[tuple[str, str, str, str, float]],
) -> None:
    """One to three products on every other opportunity (standard price book prices)."""
    opportunities = tables["opportunity"].columns
    standard = entries[: len(PRODUCTS)]
    rows: list[tuple[str, tuple[str, str, str, str, float], float, float]] = []
    for position in range(0, len(opportunities["Id"]), 2):
        opportunity_id = opportunities["Id"][position]
        for item in range(1 + position // 2 % 3):
            entry = standard[(position + 5 * item) % len(standard)]
            quantity = float(1 + (position + item) % 10)
            discount = (0.0, 0.0, 5.0, 10.0)[(position + item) % 4]
            rows.append((opportunity_id, entry, quantity, discount))
    count = len(rows)
    ids = table.allocator.allocate_many(count)
    service_dates = [
        opportunities["CloseDate"][tables["opportunity"].index[r[0][:15]]] for r in rows
    ]
    sales_prices = [r[1][4] for r in rows]
    columns: dict[str, list[Any]] = {
        "Id": ids,
        "OpportunityId": [r[0] for r in rows],
        "Name": [r[1][2] for r in rows],
        "PricebookEntryId": [r[1][0] for r in rows],
        "Product2Id": [r[1][1] for r in rows],
        "ProductCode": [r[1][3] for r in rows],
        "Quantity": [r[2] for r in rows],
        "UnitPrice": sales_prices,
        "ListPrice": sales_prices,
        "Discount": [r[3] or None for r in rows],
        "TotalPrice": [
            round(r[2] * p * (1 - r[3] / 100), 2) for r, p in zip(rows, sales_prices, strict=True)
        ],
        "ServiceDate": service_dates,
        **_audit(rng, clock, count, user_ids, owned=False),
    }
    table.load(columns)


def _account_of(store: Store, record_id: str | None) -> str | None:
    """The account an activity rolls up to: the What (or Who) record's account."""
    if record_id is None:
        return None
    table = store.table_for_id(record_id)
    if table is None:
        return None
    if table.sobject.name == "Account":
        return record_id
    for name in ("AccountId", "Account__c"):
        column = table.columns.get(name)
        if column is not None:
            row = table.index[record_id[:15]]
            value: str | None = column[row]
            return value
    return None


def _activity_columns(
    rng: random.Random,
    count: int,
    whats: list[str],
    whos: list[str],
    store: Store,
) -> dict[str, list[Any]]:
    what_ids = maybe_none(rng, pick(rng, whats, count), 0.1) if whats else [None] * count
    who_ids = maybe_none(rng, pick(rng, whos, count), 0.2) if whos else [None] * count
    return {
        "WhatId": what_ids,
        "WhoId": who_ids,
        "AccountId": [
            _account_of(store, what) or _account_of(store, who)
            for what, who in zip(what_ids, who_ids, strict=True)
        ],
    }


def _tasks(
    table: Table,
    rng: random.Random,
    clock: Clock,
    anchor: datetime.date,
    count: int,
    user_ids: list[str],
    whats: list[str],
    whos: list[str],
    store: Store,
) -> None:
    ids = table.allocator.allocate_many(count)
    statuses = pick(rng, TASK_STATUSES, count)
    subjects = pick(rng, (*TASK_SUBJECTS, "Email: Follow-up", "Call: Intro"), count)
    audit = _audit(rng, clock, count, user_ids)
    columns: dict[str, list[Any]] = {
        "Id": ids,
        **_activity_columns(rng, count, whats, whos, store),
        "Subject": subjects,
        "ActivityDate": pick(
            rng, date_pool(rng, anchor - datetime.timedelta(days=365), 400), count
        ),
        "Status": statuses,
        "Priority": pick(rng, TASK_PRIORITIES, count),
        "IsClosed": [s == "Completed" for s in statuses],
        "TaskSubtype": [
            "Email" if s.startswith("Email") else ("Call" if s.startswith("Call") else "Task")
            for s in subjects
        ],
        "CallDurationInSeconds": [
            n if s.startswith("Call") else None
            for s, n in zip(subjects, pick(rng, range(30, 3600), count), strict=True)
        ],
        "CompletedDateTime": [
            m if s == "Completed" else None
            for m, s in zip(audit["LastModifiedDate"], statuses, strict=True)
        ],
        "Description": [None] * count,
        **audit,
    }
    table.load(columns)


def _events(
    table: Table,
    rng: random.Random,
    clock: Clock,
    anchor: datetime.date,
    count: int,
    user_ids: list[str],
    whats: list[str],
    whos: list[str],
    store: Store,
) -> None:
    ids = table.allocator.allocate_many(count)
    days = [anchor + datetime.timedelta(days=d) for d in pick(rng, range(-300, 60), count)]
    hours = pick(rng, range(8, 18), count)
    durations = pick(rng, (30, 30, 60, 60, 90, 120), count)
    # Whole hours in GMT, so the text is written directly (format_datetime is slower).
    starts = [f"{d.isoformat()}T{h:02d}:00:00.000+0000" for d, h in zip(days, hours, strict=True)]
    ends = [
        f"{d.isoformat()}T{h + m // 60:02d}:{m % 60:02d}:00.000+0000"
        for d, h, m in zip(days, hours, durations, strict=True)
    ]
    columns: dict[str, list[Any]] = {
        "Id": ids,
        **_activity_columns(rng, count, whats, whos, store),
        "Subject": pick(rng, EVENT_SUBJECTS, count),
        "Location": pick(rng, EVENT_LOCATIONS, count),
        "IsAllDayEvent": [False] * count,
        "ActivityDateTime": starts,
        "ActivityDate": [d.isoformat() for d in days],
        "DurationInMinutes": durations,
        "StartDateTime": starts,
        "EndDateTime": ends,
        "ShowAs": pick(rng, EVENT_SHOW_AS, count),
        "Description": [None] * count,
        **_audit(rng, clock, count, user_ids),
    }
    table.load(columns)


def _currencies(store: Store, clock: Clock, admin_id: str) -> None:
    """CurrencyType rates, and a currency on every record (mostly USD, some EUR/GBP/JPY)."""
    count = len(CURRENCIES)
    table = store.tables["currencytype"]
    table.load(
        {
            "Id": table.allocator.allocate_many(count),
            "IsoCode": [c[0] for c in CURRENCIES],
            "ConversionRate": [c[2] for c in CURRENCIES],
            "DecimalPlaces": [c[3] for c in CURRENCIES],
            "IsActive": [True] * count,
            "IsCorporate": [c[0] == "USD" for c in CURRENCIES],
            "CreatedDate": [clock.pool[0]] * count,
            "CreatedById": [admin_id] * count,
            "LastModifiedDate": [clock.pool[0]] * count,
            "LastModifiedById": [admin_id] * count,
            "SystemModstamp": [clock.pool[0]] * count,
        }
    )
    codes = ("USD", "USD", "USD", "EUR", "USD", "GBP", "USD", "JPY")
    for other in store.all_tables():
        column = other.columns.get("CurrencyIsoCode")
        if column is not None:
            column[:] = [codes[row % len(codes)] for row in range(len(column))]
            other.version += 1
