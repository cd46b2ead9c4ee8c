"""Bulk API 1.0's XML: JobInfo requests and XML batches read; JobInfo, BatchInfo, batch
lists, query result lists, write results, query results and errors written, in the
``asyncapi/dataload`` namespace.

jsforce's ``conn.bulk`` sends job requests as XML and reads every answer of a CSV job as
XML (elements in Salesforce's order, empty ones left out); it recognises an expired
session by ``<exceptionCode>InvalidSessionId</exceptionCode>`` in a 400 answer.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape

__all__ = [
    "NAMESPACE",
    "XmlRequestError",
    "error_xml",
    "parse_job_request",
    "parse_records",
    "query_xml",
    "render",
    "render_list",
    "results_xml",
]

NAMESPACE = "http://www.force.com/2009/06/asyncapi/dataload"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


class XmlRequestError(ValueError):
    """A request body that is not a readable JobInfo document."""


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _elements(fields: dict[str, Any]) -> str:
    return "".join(f"<{k}>{_text(v)}</{k}>" for k, v in fields.items() if v is not None)


def render(root: str, fields: dict[str, Any]) -> str:
    """One document: ``<root xmlns=...>`` with one element per non-null field."""
    return f'{_DECLARATION}<{root} xmlns="{NAMESPACE}">{_elements(fields)}</{root}>'


def render_list(root: str, item: str, entries: Iterable[Any]) -> str:
    """A list document: ``<batchInfoList>`` of ``<batchInfo>``, ``<result-list>`` of
    ``<result>`` (entries are dicts of fields, or plain texts)."""
    parts = [
        f"<{item}>{_elements(e) if isinstance(e, dict) else _text(e)}</{item}>" for e in entries
    ]
    return f'{_DECLARATION}<{root} xmlns="{NAMESPACE}">{"".join(parts)}</{root}>'


def error_xml(code: str, message: str) -> str:
    return render("error", {"exceptionCode": code, "exceptionMessage": message})


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _document(body: bytes, root_name: str) -> ElementTree.Element:
    """The root element of a request body, which must be ``root_name`` (namespace or
    not); XmlRequestError for a DTD (never expanded), broken XML or another document."""
    text = body.decode("utf-8-sig", errors="replace").strip()
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise XmlRequestError("Document type declarations are not allowed")
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - no DTD (refused above)
    except ElementTree.ParseError as error:
        raise XmlRequestError(f"Unable to parse XML: {error}") from None
    if _local(root.tag) != root_name:
        raise XmlRequestError(f"Expected a {root_name} document, not {_local(root.tag)}")
    return root


def parse_job_request(body: bytes) -> dict[str, str]:
    """The fields of a ``<jobInfo>`` request (namespace or not), as texts."""
    return {_local(child.tag): (child.text or "").strip() for child in _document(body, "jobInfo")}


_XSI = "http://www.w3.org/2001/XMLSchema-instance"


def parse_records(body: bytes) -> list[dict[str, Any]]:
    """The records of an XML batch: ``<sObjects><sObject><Name>x</Name>...``, a parent
    by an idLookup field as a nested element (``<Account><External_Id__c>``), nulls as
    ``<fieldsToNull>Field</fieldsToNull>`` or ``xsi:nil="true"``; values are texts."""
    root = _document(body, "sObjects")
    records: list[dict[str, Any]] = []
    for element in root:
        record: dict[str, Any] = {}
        for child in element:
            name = _local(child.tag)
            if name == "fieldsToNull":
                record[(child.text or "").strip()] = None
            elif child.get(f"{{{_XSI}}}nil") == "true":
                record[name] = None
            elif len(child):
                record[name] = {_local(c.tag): (c.text or "") for c in child}
            else:
                record[name] = child.text or ""
        records.append(record)
    return records


def results_xml(results: list[dict[str, Any]]) -> str:
    """A write batch's results: ``<results><result><id>..</id><success>..</success>
    <created>..</created></result>...`` (a failure's ``<errors>`` first)."""
    parts: list[str] = []
    for result in results:
        errors = "".join(
            "<errors>"
            + "".join(f"<fields>{escape(name)}</fields>" for name in e["fields"])
            + f"<message>{escape(e['message'])}</message>"
            + f"<statusCode>{escape(e['statusCode'])}</statusCode></errors>"
            for e in result["errors"]
        )
        record_id = f"<id>{escape(result['id'])}</id>" if result["id"] else ""
        flags = _elements({"success": result["success"], "created": result["created"]})
        parts.append(f"<result>{errors}{record_id}{flags}</result>")
    return f'{_DECLARATION}<results xmlns="{NAMESPACE}">{"".join(parts)}</results>'


def _sobject_xml(tag: str, record: dict[str, Any]) -> str:
    attributes = record.get("attributes") or {}
    parts = [f'<{tag} xsi:type="sObject"><type>{escape(str(attributes.get("type", "")))}</type>']
    for key, value in record.items():
        if key == "attributes":
            continue
        if value is None:
            parts.append(f'<{key} xsi:nil="true"/>')
        elif isinstance(value, dict):
            parts.append(_sobject_xml(key, value))
        else:
            parts.append(f"<{key}>{_text(value)}</{key}>")
    parts.append(f"</{tag}>")
    return "".join(parts)


def query_xml(records: list[dict[str, Any]]) -> str:
    """A query batch's records: ``<queryResult><records xsi:type="sObject">...``."""
    body = "".join(_sobject_xml("records", record) for record in records)
    return f'{_DECLARATION}<queryResult xmlns="{NAMESPACE}" xmlns:xsi="{_XSI}">{body}</queryResult>'
