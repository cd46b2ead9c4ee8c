"""Turn Salesforce's error answers into exceptions of the package's tree."""

from __future__ import annotations

from typing import Any

import httpx

from ..core._exceptions import (
    InvalidField,
    InvalidType,
    MalformedQuery,
    RecordNotFound,
    RequestLimitExceeded,
    SalesforceError,
    SessionExpired,
)

__all__ = ["raise_for_salesforce_error"]

_BY_CODE: dict[str, type[SalesforceError]] = {
    "INVALID_SESSION_ID": SessionExpired,
    "MALFORMED_QUERY": MalformedQuery,
    "INVALID_FIELD": InvalidField,
    "INVALID_TYPE": InvalidType,
    "NOT_FOUND": RecordNotFound,
    "REQUEST_LIMIT_EXCEEDED": RequestLimitExceeded,
}


def _errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip()[:500]
        return [{"message": text or response.reason_phrase, "errorCode": ""}]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        return [{"message": str(data)[:500], "errorCode": ""}]
    errors: list[dict[str, Any]] = []
    for item in data:
        if isinstance(item, dict):
            errors.append(
                {
                    "message": str(item.get("message", item.get("error_description", ""))),
                    "errorCode": str(item.get("errorCode", item.get("error", ""))),
                    "fields": [str(f) for f in item.get("fields") or []],
                }
            )
    return errors or [{"message": response.reason_phrase, "errorCode": ""}]


def raise_for_salesforce_error(response: httpx.Response) -> None:
    """Raise the matching `SalesforceError` if `response` is an error."""
    if response.status_code < 400:
        return
    errors = _errors_of(response)
    first = errors[0]
    code = first.get("errorCode", "")
    cls = _BY_CODE.get(code)
    if cls is None:
        cls = RecordNotFound if response.status_code == 404 else SalesforceError
    message = first.get("message", "") or f"HTTP {response.status_code}"
    if len(errors) > 1:
        message += "".join(f"\n{e.get('errorCode')}: {e.get('message')}" for e in errors[1:])
    request = response.request
    raise cls(
        message,
        error_code=code,
        status_code=response.status_code,
        fields=first.get("fields", []),
        method=request.method,
        url=str(request.url.copy_with(query=None)),
        errors=errors,
    )
