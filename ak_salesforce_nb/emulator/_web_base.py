"""Request-handler plumbing shared by the OAuth, REST and Bulk handlers."""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any

import tornado.web

from ._cursors import encode_json
from ._errors import ApiError, invalid_session, not_found
from ._state import EmulatorState

__all__ = ["API_VERSIONS", "ApiHandler", "BaseHandler", "bearer_token"]

FIRST_VERSION = 31
LAST_VERSION = 66
API_VERSIONS = [f"{major}.0" for major in range(FIRST_VERSION, LAST_VERSION + 1)]


def bearer_token(handler: tornado.web.RequestHandler) -> str | None:
    """The token of ``Authorization: Bearer``/``OAuth`` (both are accepted by Salesforce)."""
    header = handler.request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


class BaseHandler(tornado.web.RequestHandler):
    """Holds the shared state; no XSRF, no templates."""

    state: EmulatorState

    def initialize(self, state: EmulatorState) -> None:
        self.state = state

    def data_received(self, chunk: bytes) -> None:  # pragma: no cover - not streaming
        del chunk


class ApiHandler(BaseHandler):
    """Base of every ``/services/data`` handler: bearer auth, usage counting, JSON errors."""

    username = ""
    user_id = ""
    #: Set when an injected ``reset`` fault dropped the connection in ``prepare``.
    dropped = False

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json;charset=UTF-8")
        self._set_usage_header()

    def _set_usage_header(self) -> None:
        # set_default_headers also runs from RequestHandler.__init__, before initialize().
        state: EmulatorState | None = getattr(self, "state", None)
        if state is None:
            return
        self.set_header(
            "Sforce-Limit-Info", f"api-usage={state.api_usage}/{state.config.api_daily_limit}"
        )

    def prepare(self) -> None:
        state = self.state
        state.stats.increment("api_requests")
        access = state.oauth.access(bearer_token(self))
        if access is None:
            raise invalid_session()
        fault = state.faults.take_request_fault(self.request.path)
        if fault is not None:
            if fault.kind == "reset":  # the connection drops without an answer
                self.dropped = True
                self.detach().close()
                return
            raise fault.error()
        if state.api_usage >= state.config.api_daily_limit:
            raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        state.api_usage += 1
        self._set_usage_header()
        self.username = access.username
        self.user_id = state.store.user_id(access.username)
        version = self.path_kwargs.get("version") or (self.path_args[0] if self.path_args else None)
        if version is not None and version not in API_VERSIONS:
            raise not_found()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        if isinstance(error, ApiError):
            self.set_status(error.status)
            self.finish(encode_json(error.body()))
            return
        if isinstance(error, tornado.web.HTTPError) and status_code == 405:
            self.finish(
                encode_json(
                    [
                        {
                            "errorCode": "METHOD_NOT_ALLOWED",
                            "message": f"HTTP Method '{self.request.method}' not allowed. "
                            "Allowed are GET,HEAD",
                        }
                    ]
                )
            )
            return
        self.finish(
            encode_json(
                [
                    {
                        "errorCode": "UNKNOWN_EXCEPTION",
                        "message": "An unexpected error occurred. Please include this ErrorId "
                        "if you contact support: 0000000000-00000 (0000000000)",
                    }
                ]
            )
        )

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(value, ApiError):
            return  # an expected Salesforce error answer, not a server fault
        super().log_exception(typ, value, tb)

    def json_body(self) -> Any:
        body = self.request.body
        if not body.strip():
            raise ApiError(
                400,
                "JSON_PARSER_ERROR",
                "No content to map due to end-of-input at [line:1, column:0]",
            )
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            line = getattr(error, "lineno", 1)
            column = getattr(error, "colno", 1)
            raise ApiError(
                400,
                "JSON_PARSER_ERROR",
                f"Unexpected character in the request body at [line:{line}, column:{column}]",
            ) from None

    def send_json(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(encode_json(value))
