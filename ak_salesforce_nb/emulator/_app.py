"""The tornado application (routes) and the HTTP server around one EmulatorState."""

from __future__ import annotations

import errno
import os
import socket
import ssl

import tornado.httpserver
import tornado.web
from tornado.log import access_log

from ._reports import install as install_reports
from ._state import EmulatorState
from ._web_base import RepeatedSlashHandler
from ._web_bulk import JobHandler, JobResultPagesHandler, JobResultsHandler, JobsHandler
from ._web_bulk_v1 import (
    BatchesV1Handler,
    BatchRequestV1Handler,
    BatchResultsV1Handler,
    BatchResultV1Handler,
    BatchV1Handler,
    JobsV1Handler,
    JobV1Handler,
    UnknownV1Handler,
)
from ._web_changes import DeletedHandler, UpdatedHandler
from ._web_collections import (
    CollectionsHandler,
    CollectionsRetrieveHandler,
    CollectionsUpsertHandler,
    TreeHandler,
)
from ._web_device import DeviceVerificationHandler
from ._web_ingest import (
    IngestBatchesHandler,
    IngestJobHandler,
    IngestJobsHandler,
    IngestResultsHandler,
)
from ._web_oauth import (
    AuthorizeHandler,
    ConsentHandler,
    IdentityHandler,
    IntrospectHandler,
    JwksHandler,
    LandingHandler,
    LoginHandler,
    LogoutHandler,
    RevokeHandler,
    TokenHandler,
    UserInfoHandler,
    WellKnownHandler,
)
from ._web_reports import (
    AnalyticsHandler,
    ReportDescribeHandler,
    ReportHandler,
    ReportInstanceHandler,
    ReportInstancesHandler,
    ReportListHandler,
)
from ._web_rest import (
    CompositeResourcesHandler,
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
from ._web_search import ParameterizedSearchHandler, SearchHandler
from ._web_soap import SoapHandler

__all__ = ["bind", "start_server"]

_V = r"/services/data/v(\d+\.\d+)"
_ASYNC = r"/services/async/(\d+\.\d+)"  # Bulk API 1.0: no "v" before the version
MAX_BODY_SIZE = 150 * 1024 * 1024


def make_app(state: EmulatorState) -> tornado.web.Application:
    install_reports(state)  # the Report sObject and the seeded reports, once
    handlers: list[tuple[str, type[tornado.web.RequestHandler]]] = [
        (r".*//.*", RepeatedSlashHandler),  # first: served as the path with single slashes
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
        (r"/id/keys/?", JwksHandler),
        (r"/setup/connect/?", DeviceVerificationHandler),
        (r"/services/data/?", VersionsHandler),
        (_V + r"/?", ResourcesHandler),
        (_V + r"/(query|queryAll)/?", QueryHandler),
        (_V + r"/(query|queryAll)/([^/]+)/?", QueryMoreHandler),
        (_V + r"/sobjects/?", GlobalDescribeHandler),
        (_V + r"/sobjects/(\w+)/?", SObjectHandler),
        (_V + r"/sobjects/(\w+)/describe/?", DescribeHandler),
        (_V + r"/sobjects/(\w+)/updated/?", UpdatedHandler),
        (_V + r"/sobjects/(\w+)/deleted/?", DeletedHandler),
        (_V + r"/sobjects/(\w+)/([^/]+)/?", RecordHandler),
        (_V + r"/sobjects/(\w+)/(\w+)/([^/]+)/?", ExternalIdHandler),
        (_V + r"/limits/?", LimitsHandler),
        (_V + r"/search/?", SearchHandler),
        (_V + r"/parameterizedSearch/?", ParameterizedSearchHandler),
        (_V + r"/jobs/query/?", JobsHandler),
        (_V + r"/jobs/query/(\w+)/?", JobHandler),
        (_V + r"/jobs/query/(\w+)/results/?", JobResultsHandler),
        (_V + r"/jobs/query/(\w+)/resultPages/?", JobResultPagesHandler),
        (_V + r"/jobs/ingest/?", IngestJobsHandler),
        (_V + r"/jobs/ingest/(\w+)/?", IngestJobHandler),
        (_V + r"/jobs/ingest/(\w+)/batches/?", IngestBatchesHandler),
        (
            _V + r"/jobs/ingest/(\w+)/((?i:successfulResults|failedResults|unprocessedRecords))/?",
            IngestResultsHandler,
        ),
        (_V + r"/composite/?", CompositeResourcesHandler),
        (_V + r"/composite/sobjects/?", CollectionsHandler),
        (_V + r"/composite/sobjects/(\w+)/?", CollectionsRetrieveHandler),
        (_V + r"/composite/sobjects/(\w+)/(\w+)/?", CollectionsUpsertHandler),
        (_V + r"/composite/tree/(\w+)/?", TreeHandler),
        (_V + r"/analytics/?", AnalyticsHandler),
        (_V + r"/analytics/reports/?", ReportListHandler),
        (_V + r"/analytics/reports/(\w+)/?", ReportHandler),
        (_V + r"/analytics/reports/(\w+)/describe/?", ReportDescribeHandler),
        (_V + r"/analytics/reports/(\w+)/instances/?", ReportInstancesHandler),
        (_V + r"/analytics/reports/(\w+)/instances/(\w+)/?", ReportInstanceHandler),
        (_ASYNC + r"/job/?", JobsV1Handler),
        (_ASYNC + r"/job/(\w+)/?", JobV1Handler),
        (_ASYNC + r"/job/(\w+)/batch/?", BatchesV1Handler),
        (_ASYNC + r"/job/(\w+)/batch/(\w+)/?", BatchV1Handler),
        (_ASYNC + r"/job/(\w+)/batch/(\w+)/request/?", BatchRequestV1Handler),
        (_ASYNC + r"/job/(\w+)/batch/(\w+)/result/?", BatchResultsV1Handler),
        (_ASYNC + r"/job/(\w+)/batch/(\w+)/result/(\w+)/?", BatchResultV1Handler),
        (r"/services/async/([^/]*).*", UnknownV1Handler),
        (r"/services/data/.*", NotFoundHandler),
        (r"/services/Soap/.*", SoapHandler),
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
    """Listening sockets for the configured host and port (port 0: a free one).

    Like ``tornado.netutil.bind_sockets``, but a socket that fails to bind (port taken)
    is closed rather than left to the garbage collector and a ResourceWarning.
    """
    host = state.config.host or None
    port = state.config.port
    infos = socket.getaddrinfo(
        host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            if port == 0 and sockets:  # every family on the same, first-picked port
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock = socket.socket(family, kind, proto)
            try:
                if os.name != "nt":
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
                sock.setblocking(False)
                sock.listen(128)
            except OSError as error:
                sock.close()
                # "localhost" may name an IPv6 address the machine cannot bind: skip it.
                if error.errno == errno.EADDRNOTAVAIL and family == socket.AF_INET6 and infos[1:]:
                    continue
                raise
            sockets.append(sock)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    if not sockets:
        raise OSError(f"cannot listen on {host}:{port}")
    return sockets


def start_server(
    state: EmulatorState, sockets: list[socket.socket]
) -> tornado.httpserver.HTTPServer:
    """Serve ``state`` on ``sockets``; must run on the event loop that will serve it.

    Also fixes ``state.base_url``, which is both the login host and the instance URL.
    """
    context = ssl_context(state)
    server = tornado.httpserver.HTTPServer(
        make_app(state),
        ssl_options=context,
        # Bulk API 2.0 takes uploads up to 150 MB, and gzip-compressed request bodies.
        max_body_size=MAX_BODY_SIZE,
        decompress_request=True,
    )
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
