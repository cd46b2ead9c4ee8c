"""The emulated org's metadata: which sObjects exist and which fields they have.

Field names are matched case-insensitively (as Salesforce does) through lower-cased
indexes; answers always use the canonical spelling.
"""

from __future__ import annotations

import dataclasses
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
    "SObjectDef",
    "Schema",
    "build_schema",
]

# Types whose values are text in JSON (and quoted string literals in SOQL).
TEXT_TYPES = frozenset(
    {"id", "string", "textarea", "picklist", "multipicklist", "reference", "email", "phone", "url"}
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
                                cascade_delete=target == "Account" and f.name == "AccountId",
                            )
                        )

    def get(self, name: str) -> SObjectDef | None:
        return self._by_lower.get(name.lower())

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
}

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
            f"{label} {suffix if suffix != 'PostalCode' else 'Zip/Postal Code'}",
            length=length,
            compound_field_name=compound,
        )
        for _, suffix, type_, length in parts
    ]
    fields.append(
        FieldDef(
            compound,
            "address",
            f"{label} Address",
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
        _picklist("OrganizationType", "Edition", ("Developer Edition",), **read_only),
        _text("NamespacePrefix", "Namespace Prefix", 15, **read_only),
        _picklist("TimeZoneSidKey", "Default Time Zone", ("GMT",), **read_only),
        _picklist("DefaultLocaleSidKey", "Default Locale", ("en_US",), **read_only),
        _picklist("LanguageLocaleKey", "Language", ("en_US",), **read_only),
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


def build_schema(extra_objects: int = 0) -> Schema:
    """The org's sObjects: the standard ones the product touches plus synthetic customs."""
    sobjects = [_account(), _contact(), _opportunity(), _user(), _organization()]
    sobjects += [_custom_object(number) for number in range(1, extra_objects + 1)]
    return Schema(sobjects)
