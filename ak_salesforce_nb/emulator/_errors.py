"""REST API errors in Salesforce's shape: a JSON array of ``{message, errorCode[, fields]}``."""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "BodyError", "invalid_session", "not_found"]


class ApiError(Exception):
    """An error answer of the REST or Bulk API, raised from anywhere below a handler."""

    def __init__(
        self, status: int, error_code: str, message: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict[str, Any]]:
        error: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            error["fields"] = self.fields
        return [error]


class BodyError(ApiError):
    """A request body Salesforce cannot even read as records (bad JSON shape, an unknown
    field, a value of the wrong JSON type): it fails a whole sObject Collections request
    with 400, where a record's own problem fails only that record."""


def not_found(message: str = "The requested resource does not exist") -> ApiError:
    return ApiError(404, "NOT_FOUND", message)


def invalid_session() -> ApiError:
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
