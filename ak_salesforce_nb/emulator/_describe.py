"""Describe answers (``sobjects``, ``sobjects/X``, ``sobjects/X/describe``) built from the schema.

The shapes follow Salesforce's DescribeGlobalResult / DescribeSObjectResult / Field; keys
a client is unlikely to read are still present so that strict parsers find them.
"""

from __future__ import annotations

from typing import Any

from ._records import is_id_lookup
from ._schema import FieldDef, SObjectDef

__all__ = ["describe_global", "describe_sobject", "global_entry"]

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "address": "urn:address",
}


def sobject_urls(sobject: SObjectDef, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{sobject.name}"
    return {
        "compactLayouts": f"{base}/describe/compactLayouts",
        "rowTemplate": f"{base}/{{ID}}",
        "approvalLayouts": f"{base}/describe/approvalLayouts",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
        "listviews": f"{base}/listviews",
        "describe": f"{base}/describe",
        "quickActions": f"{base}/quickActions",
        "layouts": f"{base}/describe/layouts",
        "sobject": base,
    }


def global_entry(sobject: SObjectDef, version: str) -> dict[str, Any]:
    """One element of the global describe's ``sobjects`` list."""
    return {
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": sobject.createable,
        "custom": sobject.custom,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": sobject.deletable,
        "deprecatedAndHidden": False,
        "feedEnabled": not sobject.custom,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": sobject.key_prefix,
        "label": sobject.label,
        "labelPlural": sobject.label_plural,
        "layoutable": True,
        "mergeable": sobject.name in ("Account", "Contact"),
        "mruEnabled": True,
        "name": sobject.name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": True,
        "triggerable": True,
        "undeletable": sobject.deletable,
        "updateable": sobject.updateable,
        "urls": sobject_urls(sobject, version),
    }


def describe_global(sobjects: list[SObjectDef], version: str) -> dict[str, Any]:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [global_entry(s, version) for s in sobjects],
    }


def describe_field(f: FieldDef) -> dict[str, Any]:
    text = f.is_text
    byte_length = f.length * 3 if text and f.type not in ("id", "reference") else 0
    if f.type in ("id", "reference"):
        byte_length = 18
    sortable = f.type not in ("textarea", "address", "multipicklist")
    return {
        "aggregatable": sortable,
        "aiPredictionField": False,
        "autoNumber": False,
        "byteLength": byte_length,
        "calculated": f.calculated,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": False,
        "compoundFieldName": f.compound_field_name,
        "controllerName": None,
        "createable": f.createable,
        "custom": f.custom,
        "defaultValue": False if f.type == "boolean" else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": f.defaulted_on_create or f.type == "boolean",
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": f.digits,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": f.external_id,
        "extraTypeInfo": None,
        "filterable": sortable,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": f.type
        not in ("double", "currency", "percent", "textarea", "address", "datetime"),
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": is_id_lookup(f),
        "inlineHelpText": None,
        "label": f.label,
        "length": f.length if text else 0,
        "mask": None,
        "maskType": None,
        "name": f.name,
        "nameField": f.name_field,
        "namePointing": False,
        "nillable": f.nillable,
        "permissionable": f.nillable and f.type != "id" and f.createable,
        "picklistValues": f.picklist_entries(),
        "polymorphicForeignKey": f.polymorphic,
        "precision": f.precision,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": f.restricted,
        "scale": f.scale,
        "searchPrefilterable": f.type == "reference",
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "sortable": sortable,
        "type": f.type,
        "unique": f.unique,
        "updateable": f.updateable,
        "writeRequiresMasterRead": False,
    }


def describe_sobject(sobject: SObjectDef, version: str, instance_url: str = "") -> dict[str, Any]:
    result = global_entry(sobject, version)
    if instance_url:
        # The full describe's urls also carry the record pages' templates, absolute.
        result["urls"] = {
            **result["urls"],
            "uiDetailTemplate": f"{instance_url}/{{ID}}",
            "uiEditTemplate": f"{instance_url}/{{ID}}/e",
            "uiNewRecord": f"{instance_url}/{sobject.key_prefix}/e",
        }
    result.update(
        {
            "actionOverrides": [],
            "childRelationships": [
                {
                    "cascadeDelete": r.cascade_delete,
                    "childSObject": r.child_sobject,
                    "deprecatedAndHidden": False,
                    "field": r.field,
                    "junctionIdListNames": [],
                    "junctionReferenceTo": [],
                    "relationshipName": r.name,
                    "restrictedDelete": False,
                }
                for r in sobject.child_relationships
            ],
            "compactLayoutable": True,
            "defaultImplementation": None,
            "extendedBy": None,
            "extendsInterfaces": None,
            "fields": [describe_field(f) for f in sobject.fields],
            "implementedBy": None,
            "implementsInterfaces": None,
            "listviewable": None,
            "lookupLayoutable": None,
            "namedLayoutInfos": [],
            "networkScopeFieldName": None,
            "recordTypeInfos": [],
            "searchLayoutable": True,
            "sobjectDescribeOption": "FULL",
            "supportedScopes": [
                {"label": "All accounts", "name": "everything"},
                {"label": "My accounts", "name": "mine"},
            ],
        }
    )
    return dict(sorted(result.items()))
