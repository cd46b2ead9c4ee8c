"""Bulk API 1.0's XML: JobInfo requests read, and JobInfo, BatchInfo, batch lists,
query result lists and errors written, in the ``asyncapi/dataload`` namespace.

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
    "render",
    "render_list",
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


def parse_job_request(body: bytes) -> dict[str, str]:
    """The fields of a ``<jobInfo>`` request (namespace or not), as texts."""
    text = body.decode("utf-8-sig", errors="replace").strip()
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise XmlRequestError("Document type declarations are not allowed")
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - no DTD (refused above)
    except ElementTree.ParseError as error:
        raise XmlRequestError(f"Unable to parse XML: {error}") from None
    if root.tag.rpartition("}")[2] != "jobInfo":
        raise XmlRequestError(f"Expected a jobInfo document, not {root.tag.rpartition('}')[2]}")
    return {child.tag.rpartition("}")[2]: (child.text or "").strip() for child in root}
