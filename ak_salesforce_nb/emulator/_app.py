"""The tornado application (routes) and the HTTP server around one EmulatorState."""

from __future__ import annotations

import socket
import ssl

import tornado.httpserver
import tornado.netutil
import tornado.web
from tornado.log import access_log

from ._state import EmulatorState
from ._web_bulk import JobHandler, JobResultsHandler, JobsHandler
from ._web_oauth import (
    AuthorizeHandler,
    ConsentHandler,
    IdentityHandler,
    IntrospectHandler,
    LandingHandler,
    LoginHandler,
    LogoutHandler,
    RevokeHandler,
    TokenHandler,
    UserInfoHandler,
    WellKnownHandler,
)
from ._web_rest import (
    DescribeHandler,
    ExternalIdHandler,
    GlobalDescribeHandler,
    LimitsHandler,
    NotFoundHandler,
    QueryHandler,
    QueryMoreHandler,
    RecordHandler,
    ResourcesHandler,
    SObjectHandler,
    VersionsHandler,
)

_V = r"/services/data/v(\d+\.\d+)"


def make_app(state: EmulatorState) -> tornado.web.Application:
    handlers: list[tuple[str, type[tornado.web.RequestHandler]]] = [
        (r"/", LandingHandler),
        (r"/services/oauth2/authorize/?", AuthorizeHandler),
        (r"/login/?", LoginHandler),
        (r"/consent/?", ConsentHandler),
        (r"/secur/logout\.jsp", LogoutHandler),
        (r"/services/oauth2/token/?", TokenHandler),
        (r"/services/oauth2/userinfo/?", UserInfoHandler),
        (r"/services/oauth2/revoke/?", RevokeHandler),
        (r"/services/oauth2/introspect/?", IntrospectHandler),
        (r"/\.well-known/openid-configuration/?", WellKnownHandler),
        (r"/id/(00D\w+)/(005\w+)/?", IdentityHandler),
        (r"/services/data/?", VersionsHandler),
        (_V + r"/?", ResourcesHandler),
        (_V + r"/(query|queryAll)/?", QueryHandler),
        (_V + r"/(query|queryAll)/([^/]+)/?", QueryMoreHandler),
        (_V + r"/sobjects/?", GlobalDescribeHandler),
        (_V + r"/sobjects/(\w+)/?", SObjectHandler),
        (_V + r"/sobjects/(\w+)/describe/?", DescribeHandler),
        (_V + r"/sobjects/(\w+)/([^/]+)/?", RecordHandler),
        (_V + r"/sobjects/(\w+)/(\w+)/([^/]+)/?", ExternalIdHandler),
        (_V + r"/limits/?", LimitsHandler),
        (_V + r"/jobs/query/?", JobsHandler),
        (_V + r"/jobs/query/(\w+)/?", JobHandler),
        (_V + r"/jobs/query/(\w+)/results/?", JobResultsHandler),
        (r"/services/data/.*", NotFoundHandler),
    ]
    return tornado.web.Application(
        [(pattern, handler, {"state": state}) for pattern, handler in handlers],
        compress_response=False,
        log_function=_log_request,
    )


def _log_request(handler: tornado.web.RequestHandler) -> None:
    # Error answers are the emulator doing its job, so the access log stays at DEBUG.
    request = handler.request
    access_log.debug(
        "%d %s %s %.2fms",
        handler.get_status(),
        request.method,
        request.uri,
        1000.0 * request.request_time(),
    )


def ssl_context(state: EmulatorState) -> ssl.SSLContext | None:
    config = state.config
    if config.tls_certfile is None or config.tls_keyfile is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.tls_certfile, config.tls_keyfile)
    return context


def bind(state: EmulatorState) -> list[socket.socket]:
    """Listening sockets for the configured host and port (port 0: a free one)."""
    return tornado.netutil.bind_sockets(state.config.port, state.config.host)


def start_server(
    state: EmulatorState, sockets: list[socket.socket]
) -> tornado.httpserver.HTTPServer:
    """Serve ``state`` on ``sockets``; must run on the event loop that will serve it.

    Also fixes ``state.base_url``, which is both the login host and the instance URL.
    """
    context = ssl_context(state)
    server = tornado.httpserver.HTTPServer(make_app(state), ssl_options=context)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    host = state.config.host
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding it
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if context is not None else "http"
    state.base_url = f"{scheme}://{host}:{port}"
    return server
