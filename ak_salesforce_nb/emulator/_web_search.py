"""``search`` (SOSL) and ``parameterizedSearch`` (GET parameters or a POST JSON body)."""

from __future__ import annotations

from typing import Any

from ._errors import ApiError
from ._sosl import parameterized_to_sosl, run_search
from ._sosl_parser import SoslError
from ._web_base import ApiHandler

__all__ = ["ParameterizedSearchHandler", "SearchHandler"]


def _failure(error: SoslError, text: str) -> ApiError:
    return ApiError(400, error.error_code, error.message(text))


class SearchHandler(ApiHandler):
    """``GET search/?q=FIND {...} ...``: a SOSL search."""

    def get(self, version: str) -> None:
        text = self.get_query_argument("q", None)
        if text is None or not text.strip():
            raise ApiError(
                400,
                "MALFORMED_SEARCH",
                "No search term found. The search term must be enclosed in braces.",
            )
        self._answer(text, version)

    def _answer(self, text: str, version: str) -> None:
        state = self.state
        try:
            body = run_search(state.store, text, state.today(), version)
        except SoslError as error:
            raise _failure(error, text) from None
        self.finish(body)


class ParameterizedSearchHandler(SearchHandler):
    """``parameterizedSearch``: the same search described by parameters, without SOSL.

    GET takes ``q``, ``in``, ``fields``, ``sobject`` (repeatable) with ``<sobject>.fields``,
    ``<sobject>.where``, ``<sobject>.orderBy``, ``<sobject>.limit``, ``defaultLimit`` and
    ``overallLimit``; POST takes the same as a JSON body with an ``sobjects`` list.
    """

    def get(self, version: str) -> None:
        arguments: dict[str, Any] = {
            "q": self.get_query_argument("q", None),
            "in": self.get_query_argument("in", None),
            "defaultLimit": self.get_query_argument("defaultLimit", None),
            "overallLimit": self.get_query_argument("overallLimit", None),
            "fields": _split(self.get_query_argument("fields", None)),
        }
        sobjects = []
        for name in self.get_query_arguments("sobject"):
            sobjects.append(
                {
                    "name": name,
                    "fields": _split(self.get_query_argument(f"{name}.fields", None)),
                    "where": self.get_query_argument(f"{name}.where", None),
                    "orderBy": self.get_query_argument(f"{name}.orderBy", None),
                    "limit": self.get_query_argument(f"{name}.limit", None),
                }
            )
        arguments["sobjects"] = sobjects
        self._parameterized(arguments, version)

    def post(self, version: str) -> None:
        body = self.json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        self._parameterized(body, version)

    def _parameterized(self, arguments: dict[str, Any], version: str) -> None:
        try:
            for key in ("defaultLimit", "overallLimit"):
                if arguments.get(key) is not None:
                    arguments[key] = int(arguments[key])
            text = parameterized_to_sosl(arguments, self.state.schema)
        except ValueError:
            raise ApiError(400, "INVALID_SEARCH_PARAMETER", "Limits must be integers") from None
        except SoslError as error:
            raise ApiError(400, error.error_code, error.detail) from None
        self._answer(text, version)


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()] if value else []
