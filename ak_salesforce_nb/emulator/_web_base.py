"""Request-handler plumbing shared by the OAuth, REST and Bulk handlers."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable
from types import TracebackType
from typing import Any

import tornado.httputil
import tornado.web

from ._cursors import encode_json
from ._errors import ApiError, invalid_session
from ._state import EmulatorState
from ._versions import API_VERSIONS, check_version

__all__ = [
    "API_VERSIONS",
    "ApiHandler",
    "BaseHandler",
    "JsonHandler",
    "RepeatedSlashHandler",
    "allowed_methods",
    "bearer_token",
]

#: Salesforce's order in ``Allow`` and in the METHOD_NOT_ALLOWED message.
_METHOD_ORDER = ("HEAD", "GET", "POST", "PUT", "PATCH", "DELETE")
_SLASHES = re.compile(r"/{2,}")


def allowed_methods(handler_class: type[tornado.web.RequestHandler]) -> list[str]:
    """The methods a handler implements, HEAD included wherever GET is."""
    base = tornado.web.RequestHandler
    implemented = {
        m
        for m in _METHOD_ORDER
        if m != "HEAD" and getattr(handler_class, m.lower()) is not getattr(base, m.lower())
    }
    if "GET" in implemented:
        implemented.add("HEAD")
    return [m for m in _METHOD_ORDER if m in implemented]


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
    #: Exceptions that are Salesforce's expected error answers, not server faults: they
    #: are answered by ``write_error`` and not logged with a traceback.
    expected_errors: tuple[type[BaseException], ...] = (ApiError,)

    def initialize(self, state: EmulatorState) -> None:
        self.state = state

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(value, self.expected_errors):
            return
        super().log_exception(typ, value, tb)

    def data_received(self, chunk: bytes) -> None:  # pragma: no cover - not streaming
        del chunk


@tornado.web.stream_request_body
class RepeatedSlashHandler(BaseHandler):
    """A path with repeated slashes, e.g. ``//services/data/v66.0/query`` (what a client
    builds from an instance URL ending in ``/``): Salesforce serves it as the path with
    single slashes, so this hands the request, body and all, to the handler of that path.

    It streams so that the body is parsed once, by the handler that answers.
    """

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")

    def prepare(self) -> None:
        request = self.request
        request.path = _SLASHES.sub("/", request.path)
        self._target = self.application.find_handler(request)
        start = tornado.httputil.RequestStartLine(
            request.method or "GET", request.uri or request.path, request.version
        )
        self._target.headers_received(start, request.headers)

    def data_received(self, chunk: bytes) -> None:
        # The targets do not stream: they only collect the chunks.
        self._target.data_received(chunk)

    def _forward(self, *args: str, **kwargs: str) -> None:
        del args, kwargs
        self._finished = True  # the target handler answers on the same connection
        self._target.finish()

    get = head = post = delete = patch = put = options = _forward


class JsonHandler(BaseHandler):
    """Answers errors as Salesforce's JSON error list, HEAD as GET without a body, and
    a method the resource does not take as 405 with ``Allow``."""

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json;charset=UTF-8")

    def head(self, *args: str, **kwargs: str) -> Awaitable[None] | None:
        # Tornado sends the headers (Content-Length included) and drops the body of HEAD.
        if "GET" not in allowed_methods(type(self)):
            raise tornado.web.HTTPError(405)
        return self.get(*args, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        if isinstance(error, ApiError):
            self.set_status(error.status)
            self.finish(encode_json(error.body()))
            return
        if isinstance(error, tornado.web.HTTPError) and status_code == 405:
            allowed = ",".join(allowed_methods(type(self)))
            self.set_header("Allow", allowed)
            self.finish(
                encode_json(
                    [
                        {
                            "errorCode": "METHOD_NOT_ALLOWED",
                            "message": f"HTTP Method '{self.request.method}' not allowed. "
                            f"Allowed are {allowed}",
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

    def send_json(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(encode_json(value))


class ApiHandler(JsonHandler):
    """Base of every ``/services/data/vXX.X`` handler: bearer auth, usage counting, the
    version check, JSON errors."""

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
        if version is not None:
            check_version(version, state.config.latest_api_version)

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
