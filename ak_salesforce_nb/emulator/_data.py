"""Deterministic sample data: the same seed (and anchor date) always gives the same org.

Values are drawn column by column from small pools (see ``_pick``) rather than record by
record, which keeps generating 500,000 records (``accounts=100000``) to a few
seconds. Dates are relative to the anchor date so that ``LAST_N_DAYS:30`` finds records.
"""

from __future__ import annotations

import datetime
import random
from typing import Any, TypeVar

from ._config import EmulatorConfig
from ._data_pools import Clock as _Clock
from ._data_pools import date_pool as _date_pool
from ._data_pools import maybe_none as _maybe_none
from ._data_pools import parents_for as _parents_for
from ._data_pools import pick as _pick
from ._data_sales import populate_sales
from ._ids import to18
from ._schema import (
    ACCOUNT_TYPES,
    INDUSTRIES,
    LEAD_SOURCES,
    OPPORTUNITY_TYPES,
    RATINGS,
    SALUTATIONS,
    STAGES,
    enable_multi_currency,
)
from ._store import Store, Table
from ._values import UTC

__all__ = ["populate"]

T = TypeVar("T")

FIRST_NAMES = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Donald",
    "Radia",
    "Tim",
    "Hedy",
    "John",
    "Katherine",
    "Edsger",
    "Sophie",
    "Guido",
    "Anita",
    "Bjarne",
    "Karen",
    "Niklaus",
    "Shafi",
    "Leslie",
    "Mary",
    "Vint",
    "Joan",
    "Brian",
    "Lynn",
    "Claude",
    "Jean",
    "Ivan",
    "Sally",
    "Marvin",
    "Adele",
    "Steve",
    "Evelyn",
    "Yukihiro",
    "Rosalind",
    "Andrew",
    "Emma",
    "Noah",
    "Olivia",
    "Liam",
    "Ava",
    "Lucas",
    "Mia",
    "Mateo",
    "Zoe",
    "Aarav",
    "Priya",
    "Wei",
    "Mei",
    "Hiro",
    "Yuki",
    "Omar",
    "Fatima",
    "Lars",
    "Ingrid",
    "Pierre",
    "Chloe",
]
LAST_NAMES = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Knuth",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "McCarthy",
    "Johnson",
    "Dijkstra",
    "Wilson",
    "Rossum",
    "Borg",
    "Stroustrup",
    "Jones",
    "Wirth",
    "Goldwasser",
    "Lamport",
    "Kenwood",
    "Cerf",
    "Clarke",
    "Kernighan",
    "Conway",
    "Shannon",
    "Sammet",
    "Sutherland",
    "Floyd",
    "Minsky",
    "Goldberg",
    "Wozniak",
    "Estrin",
    "Matsumoto",
    "Picard",
    "Tanenbaum",
    "Garcia",
    "Martinez",
    "Nguyen",
    "Kim",
    "Patel",
    "Singh",
    "Chen",
    "Wang",
    "Tanaka",
    "Suzuki",
    "Haddad",
    "Rahman",
    "Larsen",
    "Johansson",
    "Dubois",
    "Moreau",
    "O'Brien",
    "Müller",
    "Schmidt",
    "Rossi",
    "Silva",
    "Kowalski",
]
COMPANY_FIRST = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Cyberdyne",
    "Tyrell",
    "Aperture",
    "Massive",
    "Dynamic",
    "Oscorp",
    "Nakatomi",
    "Pied",
    "Piper",
    "Gringotts",
    "Monarch",
    "Prestige",
    "Blue",
    "Red",
    "Green",
    "Silver",
    "Golden",
    "North",
    "South",
    "East",
    "West",
    "Pacific",
    "Atlantic",
    "Summit",
    "Pioneer",
    "Quantum",
    "Vertex",
    "Apex",
    "Nimbus",
    "Zenith",
    "Orbit",
    "Harbor",
    "River",
    "Maple",
    "Cedar",
    "Granite",
    "Falcon",
    "Orion",
]
COMPANY_SECOND = [
    "Analytics",
    "Robotics",
    "Foods",
    "Logistics",
    "Media",
    "Energy",
    "Health",
    "Capital",
    "Software",
    "Networks",
    "Textiles",
    "Motors",
    "Pharma",
    "Foundry",
    "Studios",
    "Farms",
    "Biotech",
    "Aerospace",
    "Outfitters",
    "Ventures",
    "Systems",
    "Labs",
    "Works",
    "Dynamics",
    "Partners",
    "Brands",
    "Supply",
    "Devices",
    "Cloud",
    "Data",
]
COMPANY_SUFFIX = ("Inc.", "Corp.", "LLC", "Ltd.", "Group", "Holdings", "GmbH", "S.A.", "Co.", "")
#: Names that exercise quoting and escaping in clients (SOQL, JSON, CSV, HTML).
TRICKY_NAMES = (
    "O'Reilly & Sons",
    'Smith, Jones & "Partners"',
    "Müller Maschinenbau GmbH",
    "東京テクノロジー株式会社",
    "Café Ñandú S.A.",
    "<b>Bold</b> Ventures",
    "100% Pure Juice_Co",
    "Back\\slash Industries",
)
CITIES = (
    ("San Francisco", "CA", "USA", "415"),
    ("New York", "NY", "USA", "212"),
    ("Austin", "TX", "USA", "512"),
    ("Chicago", "IL", "USA", "312"),
    ("Seattle", "WA", "USA", "206"),
    ("Boston", "MA", "USA", "617"),
    ("Denver", "CO", "USA", "303"),
    ("Atlanta", "GA", "USA", "404"),
    ("Toronto", "ON", "Canada", "416"),
    ("Vancouver", "BC", "Canada", "604"),
    ("London", None, "United Kingdom", "20"),
    ("Paris", None, "France", "1"),
    ("Berlin", None, "Germany", "30"),
    ("Munich", "BY", "Germany", "89"),
    ("Tokyo", None, "Japan", "3"),
    ("Sydney", "NSW", "Australia", "2"),
    ("São Paulo", "SP", "Brazil", "11"),
    ("Bangalore", "KA", "India", "80"),
    ("Dublin", None, "Ireland", "1"),
    ("Singapore", None, "Singapore", "65"),
)
STREETS = ("Main St", "Market St", "Oak Ave", "1st Ave", "Broadway", "Elm St", "Harbor Blvd")
TITLES = (
    "CEO",
    "CFO",
    "CTO",
    "VP Sales",
    "VP Marketing",
    "Director of Operations",
    "Data Scientist",
    "Software Engineer",
    "Account Manager",
    "Procurement Manager",
    "Head of IT",
    "Analyst",
    None,
)
DEPARTMENTS = ("Sales", "Marketing", "Finance", "Engineering", "Operations", "IT", "Legal", None)
DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
NEXT_STEPS = ("Send proposal", "Schedule demo", "Follow up call", "Legal review", None, None)

DEFAULT_USER_NAMES = {"ada@example.com": ("Ada", "Lovelace")}
EXTRA_USERS = (
    ("Grace", "Hopper"),
    ("Alan", "Turing"),
    ("Margaret", "Hamilton"),
    ("Linus", "Torvalds"),
    ("Katherine", "Johnson"),
    ("Dennis", "Ritchie"),
    ("Barbara", "Liskov"),
    ("Edsger", "Dijkstra"),
)


def populate(store: Store, config: EmulatorConfig) -> None:
    """Fill ``store`` with the org, its users, and the generated business records."""
    rng = random.Random(config.seed)
    anchor = config.anchor_date or datetime.datetime.now(UTC).date()
    clock = _Clock(rng, anchor)
    if config.multi_currency:
        enable_multi_currency(store.schema)
        store.reshape()
    user_ids = _populate_users(store, config, clock)
    _populate_org(store, clock, user_ids[0])
    accounts = store.tables["account"]
    account_ids = _populate_accounts(accounts, rng, clock, config.accounts, user_ids)
    _populate_contacts(store.tables["contact"], rng, clock, account_ids, user_ids, anchor)
    _populate_opportunities(store.tables["opportunity"], rng, clock, account_ids, user_ids, anchor)
    # The sales and service objects draw from their own generator, so adding them left the
    # accounts, contacts and opportunities above exactly as they were.
    populate_sales(store, random.Random(f"{config.seed}:sales"), clock, anchor, user_ids)


def _populate_users(store: Store, config: EmulatorConfig, clock: _Clock) -> list[str]:
    users = store.users
    people: list[tuple[str, str, str]] = []  # (username, first, last)
    used_names = set()
    for position, username in enumerate(config.users):
        if username.lower() in DEFAULT_USER_NAMES:
            first, last = DEFAULT_USER_NAMES[username.lower()]
        else:
            local = username.split("@")[0].replace(".", " ").replace("_", " ").strip()
            parts = [p.capitalize() for p in local.split()] or ["User"]
            first = parts[0]
            last = " ".join(parts[1:]) or LAST_NAMES[(position * 7 + 3) % len(LAST_NAMES)]
        people.append((username, first, last))
        used_names.add((first, last))
    for first, last in EXTRA_USERS:
        if (first, last) not in used_names:
            people.append((f"{first}.{last}@example.com".lower(), first, last))
    count = len(people)
    ids = users.allocator.allocate_many(count)
    created = [clock.pool[0]] * count
    columns: dict[str, list[Any]] = {
        "Id": ids,
        "Username": [p[0] for p in people],
        "FirstName": [p[1] for p in people],
        "LastName": [p[2] for p in people],
        "Name": [f"{p[1]} {p[2]}" for p in people],
        "Email": [p[0] if "@" in p[0] else f"{p[0]}@example.com" for p in people],
        "Alias": [(p[1][:1] + p[2][:4]).lower() for p in people],
        "CompanyName": ["Acme"] * count,
        "Title": ["Data Analyst" if i == 0 else "Account Executive" for i in range(count)],
        "IsActive": [True] * count,
        "TimeZoneSidKey": ["GMT"] * count,
        "LocaleSidKey": ["en_US"] * count,
        "LanguageLocaleKey": ["en_US"] * count,
        "UserType": ["Standard"] * count,
        "CreatedDate": created,
        "CreatedById": [ids[0]] * count,
        "LastModifiedDate": created,
        "LastModifiedById": [ids[0]] * count,
        "SystemModstamp": created,
    }
    users.load(columns)
    for row, username in enumerate(config.users):
        store.login_users[username.lower()] = row
    return ids


def _populate_org(store: Store, clock: _Clock, admin_id: str) -> None:
    org = store.tables["organization"]
    org_id = to18("00D" + "Hs" + "0000000EmU")
    org.load(
        {
            "Id": [org_id],
            "Name": ["Acme"],
            "Division": [None],
            "InstanceName": ["EMU1"],
            "IsSandbox": [False],
            "OrganizationType": ["Developer Edition"],
            "NamespacePrefix": [None],
            "TimeZoneSidKey": ["GMT"],
            "DefaultLocaleSidKey": ["en_US"],
            "LanguageLocaleKey": ["en_US"],
            "Street": ["1 Market St"],
            "City": ["San Francisco"],
            "State": ["CA"],
            "PostalCode": ["94105"],
            "Country": ["United States"],
            "Phone": ["+1 415 555-0100"],
            "Fax": [None],
            "PrimaryContact": ["Ada Lovelace"],
            "DefaultCurrencyIsoCode": ["USD"],
            "FiscalYearStartMonth": [1],
            "UsesStartDateAsFiscalYearName": [False],
            # A Developer Edition org never expires; trial orgs carry a date here.
            "TrialExpirationDate": [None],
            "IsReadOnly": [False],
            "ReceivesInfoEmails": [False],
            "ReceivesAdminInfoEmails": [False],
            "PreferencesRequireOpportunityProducts": [False],
            "DefaultAccountAccess": ["Edit"],
            "DefaultContactAccess": ["ControlledByParent"],
            "DefaultOpportunityAccess": ["None"],
            "DefaultLeadAccess": ["ReadEditTransfer"],
            "DefaultCaseAccess": ["ReadEditTransfer"],
            "NumKnowledgeService": [0],
            "CreatedDate": [clock.pool[0]],
            "CreatedById": [admin_id],
            "LastModifiedDate": [clock.pool[0]],
            "LastModifiedById": [admin_id],
            "SystemModstamp": [clock.pool[0]],
        }
    )
    store.org_id = org_id
    store.org_name = "Acme"


def _populate_accounts(
    table: Table, rng: random.Random, clock: _Clock, count: int, user_ids: list[str]
) -> list[str]:
    ids = table.allocator.allocate_many(count)
    firsts = _pick(rng, COMPANY_FIRST, count)
    seconds = _pick(rng, COMPANY_SECOND, count)
    suffixes = _pick(rng, COMPANY_SUFFIX, count)
    names = [f"{a} {b} {c}".rstrip() for a, b, c in zip(firsts, seconds, suffixes, strict=True)]
    for i in range(13, count, 97):
        names[i] = TRICKY_NAMES[(i // 97) % len(TRICKY_NAMES)]
    places = _pick(rng, CITIES, count)
    street_numbers = _pick(rng, range(1, 2000), count)
    streets = _pick(rng, STREETS, count)
    phone_tail = _pick(rng, range(10000), count)
    revenue_pool = [float(rng.randrange(50, 500_000) * 1000) for _ in range(1024)]
    employees_pool = [rng.choice((5, 12, 50, 120, 250, 800, 2500, 10000, 75000)) for _ in range(64)]
    created, modified = clock.created_and_modified(rng, count)
    slug = {w: "".join(c for c in w.lower() if c.isalnum()) for w in COMPANY_FIRST + COMPANY_SECOND}
    websites = [
        f"https://www.{slug[a]}{slug[b]}.example.com" for a, b in zip(firsts, seconds, strict=True)
    ]
    descriptions: list[Any] = [None] * count
    for i in range(7, count, 211):
        descriptions[i] = f'Key account.\nRenewal due; contact "{names[i]}" before Q4.'
    owners = _pick(rng, user_ids, count)
    columns: dict[str, list[Any]] = {
        "Id": ids,
        "IsDeleted": [False] * count,
        "Name": names,
        "Type": _maybe_none(rng, _pick(rng, ACCOUNT_TYPES, count), 0.1),
        "ParentId": [None] * count,
        "BillingStreet": [f"{n} {s}" for n, s in zip(street_numbers, streets, strict=True)],
        "BillingCity": [p[0] for p in places],
        "BillingState": [p[1] for p in places],
        "BillingPostalCode": [f"{(n * 37) % 90000 + 10000}" for n in street_numbers],
        "BillingCountry": [p[2] for p in places],
        "Phone": [f"+{p[3]} 555-{t:04d}" for p, t in zip(places, phone_tail, strict=True)],
        "Website": _maybe_none(rng, websites, 0.2),
        "Industry": _maybe_none(rng, _pick(rng, INDUSTRIES, count), 0.05),
        "Rating": _maybe_none(rng, _pick(rng, RATINGS, count), 0.3),
        "AnnualRevenue": _maybe_none(rng, _pick(rng, revenue_pool, count), 0.15),
        "NumberOfEmployees": _maybe_none(rng, _pick(rng, employees_pool, count), 0.1),
        "AccountNumber": [f"AC{100000 + i}" for i in range(count)],
        "Description": descriptions,
        "OwnerId": owners,
        "CreatedDate": created,
        "CreatedById": owners,
        "LastModifiedDate": modified,
        "LastModifiedById": owners,
        "SystemModstamp": modified,
        "External_Id__c": [f"EXT-{i + 1:06d}" for i in range(count)],
        # Added with write-back; never drawn from `rng`, so older columns keep their values.
        "Is_Partner__c": [False] * count,
    }
    # A few account hierarchies: every 50th account reports to the one before.
    for i in range(50, count, 50):
        columns["ParentId"][i] = ids[i - 1]
    table.load(columns)
    return ids


def _populate_contacts(
    table: Table,
    rng: random.Random,
    clock: _Clock,
    account_ids: list[str],
    user_ids: list[str],
    anchor: datetime.date,
) -> None:
    count = len(account_ids) * 5 // 2
    ids = table.allocator.allocate_many(count)
    firsts = _pick(rng, FIRST_NAMES, count)
    lasts = _pick(rng, LAST_NAMES, count)
    domains = _pick(rng, DOMAINS, count)
    places = _pick(rng, CITIES, count)
    phone_tail = _pick(rng, range(10000), count)
    mobile_tail = _pick(rng, range(10000), count)
    birthdates = _date_pool(rng, anchor.replace(year=anchor.year - 70), 365 * 50)
    created, modified = clock.created_and_modified(rng, count)
    owners = _pick(rng, user_ids, count)
    emails = [
        f"{f}.{ln}{i}@{d}".lower().replace("'", "").replace(" ", "")
        for i, (f, ln, d) in enumerate(zip(firsts, lasts, domains, strict=True))
    ]
    columns: dict[str, list[Any]] = {
        "Id": ids,
        "IsDeleted": [False] * count,
        "AccountId": _parents_for(rng, account_ids, count, 0.03),
        "LastName": lasts,
        "FirstName": firsts,
        "Salutation": _maybe_none(rng, _pick(rng, SALUTATIONS, count), 0.4),
        "Name": [f"{f} {ln}" for f, ln in zip(firsts, lasts, strict=True)],
        "MailingCity": [p[0] for p in places],
        "MailingState": [p[1] for p in places],
        "MailingCountry": [p[2] for p in places],
        "Phone": [f"+{p[3]} 555-{t:04d}" for p, t in zip(places, phone_tail, strict=True)],
        "MobilePhone": _maybe_none(rng, [f"+1 555-{t:04d}" for t in mobile_tail], 0.5),
        "Email": _maybe_none(rng, emails, 0.05),
        "Title": _pick(rng, TITLES, count),
        "Department": _pick(rng, DEPARTMENTS, count),
        "LeadSource": _maybe_none(rng, _pick(rng, LEAD_SOURCES, count), 0.2),
        "Birthdate": _maybe_none(rng, _pick(rng, birthdates, count), 0.3),
        "OwnerId": owners,
        "CreatedDate": created,
        "CreatedById": owners,
        "LastModifiedDate": modified,
        "LastModifiedById": owners,
        "SystemModstamp": modified,
    }
    table.load(columns)


def _populate_opportunities(
    table: Table,
    rng: random.Random,
    clock: _Clock,
    account_ids: list[str],
    user_ids: list[str],
    anchor: datetime.date,
) -> None:
    count = len(account_ids) * 3 // 2
    ids = table.allocator.allocate_many(count)
    close_dates = _pick(rng, _date_pool(rng, anchor - datetime.timedelta(days=540), 720), count)
    today = anchor.isoformat()
    open_stages = STAGES[:8]
    closed_stages = STAGES[8:]
    open_picks = _pick(rng, open_stages, count)
    closed_picks = [closed_stages[0 if b < 141 else 1] for b in rng.randbytes(count)]
    stages = [
        c if d < today else o for d, o, c in zip(close_dates, open_picks, closed_picks, strict=True)
    ]
    amount_pool = [float(rng.randrange(5, 5000) * 100) for _ in range(1024)]
    subjects = _pick(rng, COMPANY_SECOND, count)
    kinds = _pick(rng, ("Expansion", "Renewal", "New Business", "Pilot", "Upsell"), count)
    created, modified = clock.created_and_modified(rng, count)
    owners = _pick(rng, user_ids, count)
    columns: dict[str, list[Any]] = {
        "Id": ids,
        "IsDeleted": [False] * count,
        "AccountId": _parents_for(rng, account_ids, count, 0.02),
        "Name": [f"{s} {k} {i + 1}" for i, (s, k) in enumerate(zip(subjects, kinds, strict=True))],
        "Description": [None] * count,
        "StageName": [s[0] for s in stages],
        "Amount": _maybe_none(rng, _pick(rng, amount_pool, count), 0.1),
        "Probability": [float(s[1]) for s in stages],
        "CloseDate": close_dates,
        "Type": _maybe_none(rng, _pick(rng, OPPORTUNITY_TYPES, count), 0.15),
        "NextStep": _pick(rng, NEXT_STEPS, count),
        "LeadSource": _maybe_none(rng, _pick(rng, LEAD_SOURCES, count), 0.2),
        "IsClosed": [s[0].startswith("Closed") for s in stages],
        "IsWon": [s[0] == "Closed Won" for s in stages],
        "OwnerId": owners,
        "CreatedDate": created,
        "CreatedById": owners,
        "LastModifiedDate": modified,
        "LastModifiedById": owners,
        "SystemModstamp": modified,
    }
    table.load(columns)
