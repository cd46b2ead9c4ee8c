"""The emulated org's metadata: which sObjects exist and which fields they have.

Field names are matched case-insensitively (as Salesforce does) through lower-cased
indexes; answers always use the canonical spelling.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from ._ids import base62

__all__ = [
    "ACCOUNT_TYPES",
    "INDUSTRIES",
    "LEAD_SOURCES",
    "OPPORTUNITY_TYPES",
    "RATINGS",
    "REGIONS",
    "SALUTATIONS",
    "STAGES",
    "TIERS",
    "ChildRelationship",
    "FieldDef",
    "NameFieldDef",
    "SObjectDef",
    "Schema",
    "build_schema",
    "name_sobject",
]

# Types whose values are text in JSON (and quoted string literals in SOQL).
TEXT_TYPES = frozenset(
    {
        "id",
        "string",
        "textarea",
        "picklist",
        "multipicklist",
        "combobox",
        "reference",
        "email",
        "phone",
        "url",
    }
)
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})


@dataclasses.dataclass(frozen=True)
class FieldDef:
    """One field of an sObject, with what describe says about it."""

    name: str
    type: str
    label: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist: tuple[str, ...] = ()
    external_id: bool = False
    unique: bool = False
    custom: bool = False
    precision: int = 0
    scale: int = 0
    digits: int = 0
    defaulted_on_create: bool = False
    name_field: bool = False
    calculated: bool = False
    #: For a compound field (``BillingAddress``): address key -> component field name.
    components: tuple[tuple[str, str], ...] = ()
    #: For a component of a compound field: the compound field's name.
    compound_field_name: str | None = None
    #: A restricted (multi-select) picklist: values outside ``picklist`` are refused.
    restricted: bool = False
    #: Labels of the picklist values, in ``picklist`` order (empty: each label is its value).
    #: Custom picklists often store an API name (``in_progress``) shown as ``In Progress``.
    picklist_labels: tuple[str, ...] = ()
    #: The picklist value preselected on a new record (describe's ``defaultValue: true``).
    picklist_default: str | None = None

    def label_of(self, value: Any) -> Any:
        """The label of a picklist value, as ``toLabel()`` answers (unknown values as they are).

        A multi-select picklist's ``a;b`` becomes ``A label;B label``.
        """
        if value is None or not self.picklist_labels:
            return value
        labels = self._labels
        if self.type == "multipicklist":
            return ";".join(labels.get(part, part) for part in str(value).split(";"))
        return labels.get(value, value)

    @functools.cached_property
    def _labels(self) -> dict[str, str]:
        return dict(zip(self.picklist, self.picklist_labels, strict=True))

    def picklist_entries(self) -> list[dict[str, Any]]:
        """describe's ``picklistValues``: value, label, active, defaultValue, validFor."""
        labels = self.picklist_labels or self.picklist
        return [
            {
                "active": True,
                "defaultValue": value == self.picklist_default,
                "label": label,
                "validFor": None,
                "value": value,
            }
            for value, label in zip(self.picklist, labels, strict=True)
        ]

    @property
    def polymorphic(self) -> bool:
        """A lookup to several sObject types (Task.WhatId), read through ``TYPEOF``."""
        return len(self.reference_to) > 1

    @property
    def required_on_create(self) -> bool:
        return self.createable and not self.nillable and not self.defaulted_on_create

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_TYPES

    @property
    def is_number(self) -> bool:
        return self.type in NUMBER_TYPES


@dataclasses.dataclass(frozen=True)
class ChildRelationship:
    """A parent-to-child relationship such as Account.Contacts."""

    name: str
    child_sobject: str
    field: str
    cascade_delete: bool = False


@dataclasses.dataclass
class SObjectDef:
    """One sObject type and its fields."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: list[FieldDef]
    custom: bool = False
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    child_relationships: list[ChildRelationship] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        #: The fields a create must set (checked for every record written).
        self.required_fields = tuple(f for f in self.fields if f.required_on_create)
        self._by_lower = {f.name.lower(): f for f in self.fields}
        self._by_relationship = {
            f.relationship_name.lower(): f for f in self.fields if f.relationship_name
        }

    def field(self, name: str) -> FieldDef | None:
        return self._by_lower.get(name.lower())

    def reference_by_relationship(self, relationship: str) -> FieldDef | None:
        """The lookup field behind a parent relationship name (``Owner`` -> OwnerId)."""
        return self._by_relationship.get(relationship.lower())

    def child_relationship(self, name: str) -> ChildRelationship | None:
        lowered = name.lower()
        for relationship in self.child_relationships:
            if relationship.name.lower() == lowered:
                return relationship
        return None

    @property
    def has_is_deleted(self) -> bool:
        return "isdeleted" in self._by_lower

    @property
    def name_field(self) -> FieldDef | None:
        for f in self.fields:
            if f.name_field:
                return f
        return None


class Schema:
    """All sObjects of the org, looked up case-insensitively."""

    def __init__(self, sobjects: list[SObjectDef]) -> None:
        self.sobjects = sobjects
        self._by_lower = {s.name.lower(): s for s in sobjects}
        self._by_prefix = {s.key_prefix: s for s in sobjects}
        for parent in sobjects:
            parent.child_relationships = []
        # Child relationships are derived from the lookups, so the two never disagree.
        for child in sobjects:
            for f in child.fields:
                if f.type != "reference" or not f.relationship_name:
                    continue
                child_relationship_name = _CHILD_RELATIONSHIP_NAMES.get((child.name, f.name))
                if child_relationship_name is None:
                    continue
                for target in f.reference_to:
                    parent_def = self._by_lower.get(target.lower())
                    if parent_def is not None:
                        parent_def.child_relationships.append(
                            ChildRelationship(
                                child_relationship_name,
                                child.name,
                                f.name,
                                cascade_delete=(child.name, f.name) in _CASCADE_DELETES,
                            )
                        )

    def get(self, name: str) -> SObjectDef | None:
        return self._by_lower.get(name.lower())

    def add(self, sobject: SObjectDef) -> None:
        """Add an sObject without relationships to the others (``CurrencyType``)."""
        self.sobjects.append(sobject)
        self._by_lower[sobject.name.lower()] = sobject
        self._by_prefix[sobject.key_prefix] = sobject

    def by_prefix(self, key_prefix: str) -> SObjectDef | None:
        return self._by_prefix.get(key_prefix)


# (child object, lookup field) -> name of the parent-to-child relationship.
_CHILD_RELATIONSHIP_NAMES = {
    ("Contact", "AccountId"): "Contacts",
    ("Opportunity", "AccountId"): "Opportunities",
    ("Account", "ParentId"): "ChildAccounts",
    ("Account", "OwnerId"): "Accounts",
    ("Contact", "OwnerId"): "Contacts",
    ("Opportunity", "OwnerId"): "Opportunities",
    ("Case", "AccountId"): "Cases",
    ("Case", "ContactId"): "Cases",
    ("Case", "ParentId"): "Cases",
    ("Task", "WhatId"): "Tasks",
    ("Task", "WhoId"): "Tasks",
    ("Event", "WhatId"): "Events",
    ("Event", "WhoId"): "Events",
    ("Campaign", "ParentId"): "ChildCampaigns",
    ("Lead", "ConvertedAccountId"): "ConvertedLeads",
    ("PricebookEntry", "Product2Id"): "PricebookEntries",
    ("PricebookEntry", "Pricebook2Id"): "PricebookEntries",
    ("OpportunityLineItem", "OpportunityId"): "OpportunityLineItems",
    ("OpportunityLineItem", "PricebookEntryId"): "OpportunityLineItems",
    ("Project__c", "Account__c"): "Projects__r",
}
#: Lookups whose children go to the recycle bin with their parent (master-detail-like).
_CASCADE_DELETES = frozenset(
    {
        ("Contact", "AccountId"),
        ("Opportunity", "AccountId"),
        ("Case", "AccountId"),
        ("OpportunityLineItem", "OpportunityId"),
    }
)

ACCOUNT_TYPES = (
    "Prospect",
    "Customer - Direct",
    "Customer - Channel",
    "Channel Partner / Reseller",
    "Installation Partner",
    "Technology Partner",
    "Other",
)
INDUSTRIES = (
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
)
RATINGS = ("Hot", "Warm", "Cold")
TIERS = ("Gold", "Silver", "Bronze")
REGIONS = ("AMER", "EMEA", "APAC", "LATAM")
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
SALUTATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")
#: Opportunity stages with their default probability (percent).
STAGES = (
    ("Prospecting", 10),
    ("Qualification", 10),
    ("Needs Analysis", 20),
    ("Value Proposition", 50),
    ("Id. Decision Makers", 60),
    ("Perception Analysis", 70),
    ("Proposal/Price Quote", 75),
    ("Negotiation/Review", 90),
    ("Closed Won", 100),
    ("Closed Lost", 0),
)
OPPORTUNITY_TYPES = (
    "Existing Customer - Upgrade",
    "Existing Customer - Replacement",
    "Existing Customer - Downgrade",
    "New Customer",
)


def _id_field() -> FieldDef:
    return FieldDef(
        "Id",
        "id",
        "Record ID",
        length=18,
        nillable=False,
        createable=False,
        updateable=False,
        defaulted_on_create=True,
    )


def _system_fields(with_owner: bool = True, with_deleted: bool = True) -> list[FieldDef]:
    fields: list[FieldDef] = []
    if with_owner:
        fields.append(
            FieldDef(
                "OwnerId",
                "reference",
                "Owner ID",
                length=18,
                nillable=False,
                reference_to=("User",),
                relationship_name="Owner",
                defaulted_on_create=True,
            )
        )
    if with_deleted:
        fields.append(
            FieldDef(
                "IsDeleted",
                "boolean",
                "Deleted",
                nillable=False,
                createable=False,
                updateable=False,
                defaulted_on_create=True,
            )
        )
    read_only: dict[str, Any] = {
        "nillable": False,
        "createable": False,
        "updateable": False,
        "defaulted_on_create": True,
    }
    user_ref: dict[str, Any] = {"length": 18, "reference_to": ("User",)}
    fields += [
        FieldDef("CreatedDate", "datetime", "Created Date", **read_only),
        FieldDef(
            "CreatedById",
            "reference",
            "Created By ID",
            relationship_name="CreatedBy",
            **user_ref,
            **read_only,
        ),
        FieldDef("LastModifiedDate", "datetime", "Last Modified Date", **read_only),
        FieldDef(
            "LastModifiedById",
            "reference",
            "Last Modified By ID",
            relationship_name="LastModifiedBy",
            **user_ref,
            **read_only,
        ),
        FieldDef("SystemModstamp", "datetime", "System Modstamp", **read_only),
    ]
    return fields


def _text(name: str, label: str, length: int = 255, type_: str = "string", **kw: Any) -> FieldDef:
    return FieldDef(name, type_, label, length=length, **kw)


def _picklist(name: str, label: str, values: tuple[str, ...], **kw: Any) -> FieldDef:
    return FieldDef(name, "picklist", label, length=255, picklist=values, **kw)


def _address(prefix: str, label: str) -> list[FieldDef]:
    compound = f"{prefix}Address"
    parts = (
        ("street", "Street", "textarea", 255),
        ("city", "City", "string", 40),
        ("state", "State", "string", 80),
        ("postalCode", "PostalCode", "string", 20),
        ("country", "Country", "string", 80),
    )
    fields = [
        FieldDef(
            f"{prefix}{suffix}",
            type_,
            f"{label} {suffix if suffix != 'PostalCode' else 'Zip/Postal Code'}".strip(),
            length=length,
            compound_field_name=compound,
        )
        for _, suffix, type_, length in parts
    ]
    fields.append(
        FieldDef(
            compound,
            "address",
            f"{label} Address".strip(),
            createable=False,
            updateable=False,
            components=tuple((key, f"{prefix}{suffix}") for key, suffix, _, _ in parts),
        )
    )
    return fields


def _account() -> SObjectDef:
    fields = [
        _id_field(),
        *(_system_fields()[1:2]),  # IsDeleted first, as in Salesforce's describe
        _text("Name", "Account Name", nillable=False, name_field=True),
        _picklist("Type", "Account Type", ACCOUNT_TYPES),
        FieldDef(
            "ParentId",
            "reference",
            "Parent Account ID",
            length=18,
            reference_to=("Account",),
            relationship_name="Parent",
        ),
        *_address("Billing", "Billing"),
        _text("Phone", "Account Phone", 40, "phone"),
        _text("Website", "Website", 255, "url"),
        _picklist("Industry", "Industry", INDUSTRIES),
        _picklist("Rating", "Account Rating", RATINGS),
        FieldDef("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
        FieldDef("NumberOfEmployees", "int", "Employees", digits=8),
        _text("AccountNumber", "Account Number", 40),
        _text("Description", "Account Description", 32000, "textarea"),
        _system_fields()[0],
        *_system_fields()[2:],
        _text("External_Id__c", "External Id", 40, external_id=True, unique=True, custom=True),
        # Custom fields for writing back every type: restricted single and multi-select
        # picklists, a date, a date-time, a boolean and a double (null in generated data,
        # the boolean false, so the generated org is unchanged).
        _picklist("Tier__c", "Tier", TIERS, restricted=True, custom=True),
        FieldDef(
            "Regions__c",
            "multipicklist",
            "Regions",
            length=4099,
            picklist=REGIONS,
            restricted=True,
            custom=True,
        ),
        FieldDef("Customer_Since__c", "date", "Customer Since", custom=True),
        FieldDef("Last_Review__c", "datetime", "Last Review", custom=True),
        FieldDef(
            "Is_Partner__c",
            "boolean",
            "Partner",
            nillable=False,
            defaulted_on_create=True,
            custom=True,
        ),
        FieldDef("Score__c", "double", "Score", precision=8, scale=2, custom=True),
    ]
    return SObjectDef("Account", "Account", "Accounts", "001", fields)


def _contact() -> SObjectDef:
    fields = [
        _id_field(),
        *(_system_fields()[1:2]),
        FieldDef(
            "AccountId",
            "reference",
            "Account ID",
            length=18,
            reference_to=("Account",),
            relationship_name="Account",
        ),
        _text("LastName", "Last Name", 80, nillable=False),
        _text("FirstName", "First Name", 40),
        _picklist("Salutation", "Salutation", SALUTATIONS),
        _text(
            "Name",
            "Full Name",
            121,
            nillable=False,
            createable=False,
            updateable=False,
            name_field=True,
            defaulted_on_create=True,
        ),
        *_address("Mailing", "Mailing"),
        _text("Phone", "Business Phone", 40, "phone"),
        _text("MobilePhone", "Mobile Phone", 40, "phone"),
        _text("Email", "Email", 80, "email"),
        _text("Title", "Title", 128),
        _text("Department", "Department", 80),
        _picklist("LeadSource", "Lead Source", LEAD_SOURCES),
        FieldDef("Birthdate", "date", "Birthdate"),
        _text("Description", "Contact Description", 32000, "textarea"),
        _system_fields()[0],
        *_system_fields()[2:],
    ]
    return SObjectDef("Contact", "Contact", "Contacts", "003", fields)


def _opportunity() -> SObjectDef:
    fields = [
        _id_field(),
        *(_system_fields()[1:2]),
        FieldDef(
            "AccountId",
            "reference",
            "Account ID",
            length=18,
            reference_to=("Account",),
            relationship_name="Account",
        ),
        _text("Name", "Name", 120, nillable=False, name_field=True),
        _text("Description", "Description", 32000, "textarea"),
        _picklist("StageName", "Stage", tuple(s for s, _ in STAGES), nillable=False),
        FieldDef("Amount", "currency", "Amount", precision=18, scale=2),
        FieldDef("Probability", "percent", "Probability (%)", precision=3, scale=0),
        FieldDef("CloseDate", "date", "Close Date", nillable=False),
        _picklist("Type", "Opportunity Type", OPPORTUNITY_TYPES),
        _text("NextStep", "Next Step", 255),
        _picklist("LeadSource", "Lead Source", LEAD_SOURCES),
        FieldDef(
            "IsClosed",
            "boolean",
            "Closed",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
            calculated=True,
        ),
        FieldDef(
            "IsWon",
            "boolean",
            "Won",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
            calculated=True,
        ),
        _system_fields()[0],
        *_system_fields()[2:],
    ]
    return SObjectDef("Opportunity", "Opportunity", "Opportunities", "006", fields)


def _user() -> SObjectDef:
    fields = [
        _id_field(),
        _text("Username", "Username", 80, nillable=False, unique=True),
        _text("LastName", "Last Name", 80, nillable=False),
        _text("FirstName", "First Name", 40),
        _text(
            "Name",
            "Full Name",
            121,
            nillable=False,
            createable=False,
            updateable=False,
            name_field=True,
            defaulted_on_create=True,
        ),
        _text("CompanyName", "Company Name", 80),
        _text("Title", "Title", 80),
        _text("Email", "Email", 128, "email", nillable=False),
        _text("Alias", "Alias", 8, nillable=False),
        FieldDef("IsActive", "boolean", "Active", nillable=False, defaulted_on_create=True),
        _picklist("TimeZoneSidKey", "Time Zone", ("GMT", "America/Los_Angeles"), nillable=False),
        _picklist("LocaleSidKey", "Locale", ("en_US",), nillable=False),
        _picklist("LanguageLocaleKey", "Language", ("en_US",), nillable=False),
        _picklist(
            "UserType",
            "User Type",
            ("Standard",),
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
        ),
        *_system_fields(with_owner=False, with_deleted=False),
    ]
    return SObjectDef(
        "User", "User", "Users", "005", fields, createable=False, updateable=False, deletable=False
    )


def _organization() -> SObjectDef:
    read_only: dict[str, Any] = {"createable": False, "updateable": False}
    fields = [
        _id_field(),
        _text("Name", "Name", 80, nillable=False, name_field=True, **read_only),
        _text("Division", "Division", 80, **read_only),
        _text("InstanceName", "Instance Name", 5, **read_only),
        FieldDef("IsSandbox", "boolean", "Is Sandbox", nillable=False, **read_only),
        _picklist(
            "OrganizationType",
            "Edition",
            (
                "Team Edition",
                "Professional Edition",
                "Enterprise Edition",
                "Developer Edition",
                "Personal Edition",
                "Unlimited Edition",
                "Contact Manager Edition",
                "Base Edition",
            ),
            **read_only,
        ),
        _text("NamespacePrefix", "Namespace Prefix", 15, **read_only),
        _picklist("TimeZoneSidKey", "Default Time Zone", ("GMT",), **read_only),
        _picklist("DefaultLocaleSidKey", "Default Locale", ("en_US",), **read_only),
        _picklist("LanguageLocaleKey", "Language", ("en_US",), **read_only),
        *[_read_only(f) for f in _address("", "")],
        _text("Phone", "Phone", 40, "phone", **read_only),
        _text("Fax", "Fax", 40, "phone", **read_only),
        _text("PrimaryContact", "Primary Contact", 80, **read_only),
        _picklist(
            "DefaultCurrencyIsoCode",
            "Locale Currency",
            tuple(c[0] for c in CURRENCIES),
            **read_only,
        ),
        FieldDef("FiscalYearStartMonth", "int", "Fiscal Year Starts In", digits=9, **read_only),
        FieldDef(
            "UsesStartDateAsFiscalYearName",
            "boolean",
            "Fiscal Year Name by Start",
            nillable=False,
            **read_only,
        ),
        FieldDef("TrialExpirationDate", "datetime", "Trial Expiration Date", **read_only),
        FieldDef("IsReadOnly", "boolean", "Is Read Only", nillable=False, **read_only),
        FieldDef("ReceivesInfoEmails", "boolean", "Info Emails", nillable=False, **read_only),
        FieldDef(
            "ReceivesAdminInfoEmails",
            "boolean",
            "Info Emails Admin",
            nillable=False,
            **read_only,
        ),
        FieldDef(
            "PreferencesRequireOpportunityProducts",
            "boolean",
            "Require Opportunity Products",
            nillable=False,
            **read_only,
        ),
        _picklist(
            "DefaultAccountAccess", "Default Account Access", ("None", "Read", "Edit"), **read_only
        ),
        _picklist(
            "DefaultContactAccess",
            "Default Contact Access",
            ("None", "Read", "Edit", "ControlledByParent"),
            **read_only,
        ),
        _picklist(
            "DefaultOpportunityAccess",
            "Default Opportunity Access",
            ("None", "Read", "Edit"),
            **read_only,
        ),
        _picklist(
            "DefaultLeadAccess",
            "Default Lead Access",
            ("None", "Read", "Edit", "ReadEditTransfer"),
            **read_only,
        ),
        _picklist(
            "DefaultCaseAccess",
            "Default Case Access",
            ("None", "Read", "Edit", "ReadEditTransfer"),
            **read_only,
        ),
        FieldDef("NumKnowledgeService", "int", "Knowledge Licenses", digits=9, **read_only),
        *_system_fields(with_owner=False, with_deleted=False),
    ]
    return SObjectDef(
        "Organization",
        "Organization",
        "Organizations",
        "00D",
        fields,
        createable=False,
        updateable=False,
        deletable=False,
    )


def _custom_object(number: int) -> SObjectDef:
    name = f"Custom_{number:04d}__c"
    # Custom objects get prefixes a00..azz; extra objects beyond that use b00.. and so on.
    prefix = "a" + base62(number, 2) if number < 62 * 62 else "b" + base62(number - 3844, 2)
    fields = [
        _id_field(),
        _system_fields()[1],
        _text("Name", f"Custom {number:04d} Name", 80, nillable=False, name_field=True),
        FieldDef("Amount__c", "currency", "Amount", precision=16, scale=2, custom=True),
        _picklist("Status__c", "Status", ("New", "Working", "Done"), custom=True),
        FieldDef(
            "Account__c",
            "reference",
            "Account",
            length=18,
            reference_to=("Account",),
            relationship_name="Account__r",
            custom=True,
        ),
        _system_fields()[0],
        *_system_fields()[2:],
    ]
    return SObjectDef(
        name, f"Custom {number:04d}", f"Custom {number:04d}s", prefix, fields, custom=True
    )


LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
CASE_STATUSES = ("New", "Working", "Escalated", "Closed")
CASE_ORIGINS = ("Phone", "Email", "Web")
CASE_TYPES = ("Mechanical", "Electrical", "Electronic", "Structural", "Other")
CASE_REASONS = (
    "Installation",
    "Equipment Complexity",
    "Performance",
    "Breakdown",
    "Equipment Design",
    "Feedback",
    "Other",
)
PRIORITIES = ("High", "Medium", "Low")
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
TASK_PRIORITIES = ("High", "Normal", "Low")
TASK_SUBJECTS = ("Call", "Send Letter", "Send Quote", "Other")
TASK_SUBTYPES = ("Task", "Email", "Call")
EVENT_SHOW_AS = ("Busy", "OutOfOffice", "Free")
EVENT_SHOW_AS_LABELS = ("Busy", "Out of Office", "Free")
CAMPAIGN_TYPES = (
    "Conference",
    "Webinar",
    "Trade Show",
    "Public Relations",
    "Partners",
    "Referral Program",
    "Advertisement",
    "Banner Ads",
    "Direct Mail",
    "Email",
    "Telemarketing",
    "Other",
)
CAMPAIGN_STATUSES = ("Planned", "In Progress", "Completed", "Aborted")
PRODUCT_FAMILIES = ("Hardware", "Software", "Services")
#: A custom picklist whose stored values (API names) differ from the labels users see.
PROJECT_STATUSES = ("planned", "in_progress", "on_hold", "done")
PROJECT_STATUS_LABELS = ("Planned", "In Progress", "On Hold", "Done")
PROJECT_PHASES = ("discovery", "build", "rollout")
PROJECT_PHASE_LABELS = ("Discovery", "Build", "Roll-out")
#: Currencies of a multi-currency org: ISO code, label, rate to the corporate USD, places.
CURRENCIES = (
    ("USD", "U.S. Dollar", 1.0, 2),
    ("EUR", "Euro", 0.92, 2),
    ("GBP", "British Pound", 0.79, 2),
    ("JPY", "Japanese Yen", 151.5, 0),
)
#: Key prefix of Project__c, outside the a00.. range of the synthetic custom objects.
PROJECT_KEY_PREFIX = "m0P"
#: The sObjects that carry the WhatId of a Task or an Event (polymorphic "What").
WHAT_TYPES = ("Account", "Opportunity", "Campaign", "Case", "Project__c")
#: The sObjects a Task's or an Event's WhoId points at (polymorphic "Who").
WHO_TYPES = ("Contact", "Lead")


def _lookup(
    name: str, label: str, targets: tuple[str, ...], relationship: str, **kw: Any
) -> FieldDef:
    return FieldDef(
        name,
        "reference",
        label,
        length=18,
        reference_to=targets,
        relationship_name=relationship,
        **kw,
    )


def _read_only(field: FieldDef) -> FieldDef:
    return dataclasses.replace(
        field, createable=False, updateable=False, defaulted_on_create=field.type == "boolean"
    )


def _checkbox(name: str, label: str, **kw: Any) -> FieldDef:
    return FieldDef(name, "boolean", label, nillable=False, defaulted_on_create=True, **kw)


def _money(name: str, label: str, **kw: Any) -> FieldDef:
    return FieldDef(name, "currency", label, precision=18, scale=2, **kw)


def _standard(
    name: str,
    label: str,
    plural: str,
    prefix: str,
    fields: list[FieldDef],
    with_owner: bool = True,
) -> SObjectDef:
    """An sObject whose fields are Id, IsDeleted, ``fields``, then the owner and audit ones."""
    system = _system_fields(with_owner=with_owner)
    owner = system[:1] if with_owner else []
    audit = system[2:] if with_owner else system[1:]
    deleted = system[1:2] if with_owner else system[:1]
    all_fields = [_id_field(), *deleted, *fields, *owner, *audit]
    return SObjectDef(name, label, plural, prefix, all_fields)


def _lead() -> SObjectDef:
    return _standard(
        "Lead",
        "Lead",
        "Leads",
        "00Q",
        [
            _text("LastName", "Last Name", 80, nillable=False),
            _text("FirstName", "First Name", 40),
            _picklist("Salutation", "Salutation", SALUTATIONS),
            _read_only(_text("Name", "Full Name", 121, nillable=False, name_field=True)),
            _text("Title", "Title", 128),
            _text("Company", "Company", 255, nillable=False),
            *_address("", "Lead"),
            _text("Phone", "Phone", 40, "phone"),
            _text("MobilePhone", "Mobile Phone", 40, "phone"),
            _text("Email", "Email", 80, "email"),
            _text("Website", "Website", 255, "url"),
            _text("Description", "Description", 32000, "textarea"),
            _picklist("LeadSource", "Lead Source", LEAD_SOURCES),
            _picklist(
                "Status",
                "Status",
                LEAD_STATUSES,
                nillable=False,
                defaulted_on_create=True,
                picklist_default=LEAD_STATUSES[0],
            ),
            _picklist("Industry", "Industry", INDUSTRIES),
            _picklist("Rating", "Rating", RATINGS),
            FieldDef("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
            FieldDef("NumberOfEmployees", "int", "Employees", digits=8),
            _read_only(_checkbox("IsConverted", "Converted")),
            _read_only(FieldDef("ConvertedDate", "date", "Converted Date")),
            _read_only(
                _lookup(
                    "ConvertedAccountId", "Converted Account ID", ("Account",), "ConvertedAccount"
                )
            ),
            _read_only(
                _lookup(
                    "ConvertedContactId", "Converted Contact ID", ("Contact",), "ConvertedContact"
                )
            ),
            _read_only(
                _lookup(
                    "ConvertedOpportunityId",
                    "Converted Opportunity ID",
                    ("Opportunity",),
                    "ConvertedOpportunity",
                )
            ),
        ],
    )


def _campaign() -> SObjectDef:
    return _standard(
        "Campaign",
        "Campaign",
        "Campaigns",
        "701",
        [
            _text("Name", "Name", 80, nillable=False, name_field=True),
            _lookup("ParentId", "Parent Campaign ID", ("Campaign",), "Parent"),
            _picklist("Type", "Type", CAMPAIGN_TYPES),
            _picklist("Status", "Status", CAMPAIGN_STATUSES, picklist_default="Planned"),
            FieldDef("StartDate", "date", "Start Date"),
            FieldDef("EndDate", "date", "End Date"),
            _money("ExpectedRevenue", "Expected Revenue in Campaign"),
            _money("BudgetedCost", "Budgeted Cost in Campaign"),
            _money("ActualCost", "Actual Cost in Campaign"),
            FieldDef("ExpectedResponse", "percent", "Expected Response (%)", precision=10, scale=2),
            FieldDef("NumberSent", "double", "Num Sent in Campaign", precision=18, scale=0),
            _checkbox("IsActive", "Active"),
            _text("Description", "Description", 32000, "textarea"),
        ],
    )


def _case() -> SObjectDef:
    return _standard(
        "Case",
        "Case",
        "Cases",
        "500",
        [
            _read_only(_text("CaseNumber", "Case Number", 30, nillable=False, name_field=True)),
            _lookup("ContactId", "Contact ID", ("Contact",), "Contact"),
            _lookup("AccountId", "Account ID", ("Account",), "Account"),
            _lookup("ParentId", "Parent Case ID", ("Case",), "Parent"),
            _text("SuppliedName", "Name", 80),
            _text("SuppliedEmail", "Email Address", 80, "email"),
            _picklist("Type", "Case Type", CASE_TYPES),
            _picklist(
                "Status", "Status", CASE_STATUSES, defaulted_on_create=True, picklist_default="New"
            ),
            _picklist("Reason", "Case Reason", CASE_REASONS),
            _picklist("Origin", "Case Origin", CASE_ORIGINS),
            _text("Subject", "Subject", 255),
            _picklist(
                "Priority",
                "Priority",
                PRIORITIES,
                defaulted_on_create=True,
                picklist_default="Medium",
            ),
            _text("Description", "Description", 32000, "textarea"),
            _read_only(_checkbox("IsClosed", "Closed", calculated=True)),
            _read_only(FieldDef("ClosedDate", "datetime", "Closed Date")),
            _checkbox("IsEscalated", "Escalated"),
        ],
    )


def _activity_fields() -> list[FieldDef]:
    return [
        _lookup("WhoId", "Name ID", WHO_TYPES, "Who"),
        _lookup("WhatId", "Related To ID", WHAT_TYPES, "What"),
        FieldDef("Subject", "combobox", "Subject", length=255, picklist=TASK_SUBJECTS),
        _read_only(_lookup("AccountId", "Account ID", ("Account",), "Account")),
        _text("Description", "Description", 32000, "textarea"),
    ]


def _task() -> SObjectDef:
    return _standard(
        "Task",
        "Task",
        "Tasks",
        "00T",
        [
            *_activity_fields(),
            FieldDef("ActivityDate", "date", "Due Date Only"),
            _picklist(
                "Status",
                "Status",
                TASK_STATUSES,
                nillable=False,
                defaulted_on_create=True,
                picklist_default="Not Started",
            ),
            _picklist(
                "Priority",
                "Priority",
                TASK_PRIORITIES,
                nillable=False,
                defaulted_on_create=True,
                picklist_default="Normal",
            ),
            _read_only(_checkbox("IsClosed", "Closed", calculated=True)),
            _picklist("TaskSubtype", "Task Subtype", TASK_SUBTYPES),
            FieldDef("CallDurationInSeconds", "int", "Call Duration", digits=8),
            FieldDef("CompletedDateTime", "datetime", "Completed Date/Time"),
        ],
    )


def _event() -> SObjectDef:
    return _standard(
        "Event",
        "Event",
        "Events",
        "00U",
        [
            *_activity_fields(),
            _text("Location", "Location", 255),
            _checkbox("IsAllDayEvent", "All-Day Event"),
            FieldDef("ActivityDateTime", "datetime", "Due Date Time"),
            FieldDef("ActivityDate", "date", "Due Date Only"),
            FieldDef("DurationInMinutes", "int", "Duration", digits=8),
            FieldDef("StartDateTime", "datetime", "Start Date Time"),
            FieldDef("EndDateTime", "datetime", "End Date Time"),
            FieldDef(
                "ShowAs",
                "picklist",
                "Show Time As",
                length=40,
                picklist=EVENT_SHOW_AS,
                picklist_labels=EVENT_SHOW_AS_LABELS,
                picklist_default="Busy",
            ),
        ],
    )


def _product() -> SObjectDef:
    return _standard(
        "Product2",
        "Product",
        "Products",
        "01t",
        [
            _text("Name", "Product Name", 255, nillable=False, name_field=True),
            _text("ProductCode", "Product Code", 255),
            _text("Description", "Product Description", 4000, "textarea"),
            _checkbox("IsActive", "Active"),
            _picklist("Family", "Product Family", PRODUCT_FAMILIES),
        ],
        with_owner=False,
    )


def _pricebook() -> SObjectDef:
    return _standard(
        "Pricebook2",
        "Price Book",
        "Price Books",
        "01s",
        [
            _text("Name", "Price Book Name", 255, nillable=False, name_field=True),
            _checkbox("IsActive", "Active"),
            _read_only(_checkbox("IsStandard", "Is Standard Price Book")),
            _text("Description", "Description", 255),
        ],
        with_owner=False,
    )


def _pricebook_entry() -> SObjectDef:
    return _standard(
        "PricebookEntry",
        "Price Book Entry",
        "Price Book Entries",
        "01u",
        [
            _read_only(_text("Name", "Product Name", 255, name_field=True)),
            _lookup("Pricebook2Id", "Price Book ID", ("Pricebook2",), "Pricebook2", nillable=False),
            _lookup("Product2Id", "Product ID", ("Product2",), "Product2", nillable=False),
            _money("UnitPrice", "List Price", nillable=False),
            _checkbox("IsActive", "Active"),
            _checkbox("UseStandardPrice", "Use Standard Price"),
            _read_only(_text("ProductCode", "Product Code", 255)),
        ],
        with_owner=False,
    )


def _opportunity_line_item() -> SObjectDef:
    return _standard(
        "OpportunityLineItem",
        "Opportunity Product",
        "Opportunity Product",
        "00k",
        [
            _lookup(
                "OpportunityId", "Opportunity ID", ("Opportunity",), "Opportunity", nillable=False
            ),
            _read_only(_text("Name", "Opportunity Product Name", 376, name_field=True)),
            _lookup(
                "PricebookEntryId", "Price Book Entry ID", ("PricebookEntry",), "PricebookEntry"
            ),
            _read_only(_lookup("Product2Id", "Product ID", ("Product2",), "Product2")),
            _read_only(_text("ProductCode", "Product Code", 255)),
            FieldDef("Quantity", "double", "Quantity", precision=12, scale=2, nillable=False),
            _money("UnitPrice", "Sales Price"),
            _money("TotalPrice", "Total Price"),
            _read_only(_money("ListPrice", "List Price")),
            FieldDef("Discount", "percent", "Discount", precision=18, scale=2),
            FieldDef("ServiceDate", "date", "Date"),
            _text("Description", "Line Description", 255),
        ],
        with_owner=False,
    )


def _project() -> SObjectDef:
    """A custom object as admins build them: ``__c`` fields and an ``__r`` lookup."""
    fields = [
        _id_field(),
        _system_fields()[1],
        _text("Name", "Project Name", 80, nillable=False, name_field=True),
        _lookup("Account__c", "Account", ("Account",), "Account__r", custom=True),
        FieldDef(
            "Status__c",
            "picklist",
            "Status",
            length=255,
            picklist=PROJECT_STATUSES,
            picklist_labels=PROJECT_STATUS_LABELS,
            picklist_default="planned",
            restricted=True,
            custom=True,
        ),
        FieldDef(
            "Phases__c",
            "multipicklist",
            "Phases",
            length=4099,
            picklist=PROJECT_PHASES,
            picklist_labels=PROJECT_PHASE_LABELS,
            custom=True,
        ),
        _money("Budget__c", "Budget", custom=True),
        FieldDef("Hours__c", "double", "Hours", precision=10, scale=1, custom=True),
        FieldDef("Start_Date__c", "date", "Start Date", custom=True),
        FieldDef("End_Date__c", "date", "End Date", custom=True),
        _checkbox("Is_Billable__c", "Billable", custom=True),
        _text("Code__c", "Code", 20, external_id=True, unique=True, custom=True),
        _system_fields()[0],
        *_system_fields()[2:],
    ]
    return SObjectDef("Project__c", "Project", "Projects", PROJECT_KEY_PREFIX, fields, custom=True)


def _currency_type() -> SObjectDef:
    """The rates of a multi-currency org (only there: it is absent from single-currency orgs)."""
    read_only: dict[str, Any] = {"createable": False, "updateable": False}
    fields = [
        _id_field(),
        FieldDef(
            "IsoCode",
            "picklist",
            "Currency ISO Code",
            length=3,
            nillable=False,
            picklist=tuple(c[0] for c in CURRENCIES),
            picklist_labels=tuple(c[1] for c in CURRENCIES),
            name_field=True,
            **read_only,
        ),
        FieldDef("ConversionRate", "double", "Conversion Rate", precision=18, scale=6, **read_only),
        FieldDef("DecimalPlaces", "int", "Decimal Places", digits=9, **read_only),
        FieldDef("IsActive", "boolean", "Active", nillable=False, **read_only),
        FieldDef("IsCorporate", "boolean", "Corporate", nillable=False, **read_only),
        *_system_fields(with_owner=False, with_deleted=False),
    ]
    return SObjectDef(
        "CurrencyType",
        "Currency",
        "Currencies",
        "01L",
        fields,
        createable=False,
        updateable=False,
        deletable=False,
    )


def currency_iso_code_field() -> FieldDef:
    """``CurrencyIsoCode``, on every object of a multi-currency org that has money fields."""
    return FieldDef(
        "CurrencyIsoCode",
        "picklist",
        "Currency ISO Code",
        length=3,
        picklist=tuple(c[0] for c in CURRENCIES),
        picklist_labels=tuple(f"{c[0]} - {c[1]}" for c in CURRENCIES),
        picklist_default="USD",
        restricted=True,
        defaulted_on_create=True,
    )


def enable_multi_currency(schema: Schema) -> None:
    """Turn ``schema`` into a multi-currency org's: CurrencyIsoCode fields and CurrencyType.

    Called before any record exists (the org is generated right after), the way an admin
    enables the feature once; objects without a money field stay as they are, as the
    User and Organization objects do not get the field in this emulator.
    """
    for sobject in schema.sobjects:
        if sobject.name in ("User", "Organization") or sobject.field("CurrencyIsoCode"):
            continue
        if not any(f.type == "currency" for f in sobject.fields):
            continue
        position = 2 if sobject.has_is_deleted else 1
        sobject.fields.insert(position, currency_iso_code_field())
        sobject.__post_init__()
    schema.add(_currency_type())


@dataclasses.dataclass(frozen=True)
class NameFieldDef(FieldDef):
    """A field of the ``Name`` entity, read from the org's Name view rather than a table."""


def name_sobject() -> SObjectDef:
    """The ``Name`` entity behind polymorphic relationships (``What.Name``, ``Who.Type``).

    Not an sObject one can query or describe: records reached through What/Who answer
    with ``attributes.type`` ``Name`` and the url of the record's real type, as Salesforce.
    """
    read_only: dict[str, Any] = {"createable": False, "updateable": False}
    fields: list[FieldDef] = [
        NameFieldDef("Id", "id", "Record ID", length=18, nillable=False, **read_only),
        NameFieldDef("Name", "string", "Name", length=255, name_field=True, **read_only),
        NameFieldDef("Type", "picklist", "Object Type", length=40, **read_only),
        NameFieldDef("FirstName", "string", "First Name", length=40, **read_only),
        NameFieldDef("LastName", "string", "Last Name", length=80, **read_only),
        NameFieldDef("Email", "email", "Email", length=80, **read_only),
        NameFieldDef("Phone", "phone", "Phone", length=40, **read_only),
        NameFieldDef("Title", "string", "Title", length=128, **read_only),
    ]
    return SObjectDef("Name", "Name", "Names", "000", fields, createable=False)


def build_schema(extra_objects: int = 0) -> Schema:
    """The org's sObjects: the standard ones the product touches plus synthetic customs."""
    sobjects = [_account(), _contact(), _opportunity(), _user(), _organization()]
    sobjects += [
        _lead(),
        _campaign(),
        _case(),
        _task(),
        _event(),
        _product(),
        _pricebook(),
        _pricebook_entry(),
        _opportunity_line_item(),
        _project(),
    ]
    sobjects += [_custom_object(number) for number in range(1, extra_objects + 1)]
    return Schema(sobjects)
