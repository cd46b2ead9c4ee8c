"""Jupyter authentication and XSRF on every handler of the extension.

The handlers are found by walking the running server's routing table, not from a list
kept by hand: a handler added later without `@tornado.web.authenticated` fails here.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import tornado.web
from tornado.routing import PathMatches, Rule

from ak_salesforce_nb.server._handlers import CallbackHandler
from tests.conftest import Flow, connection_body
from tests.trust.helpers import store_rows

#: The code object of the wrapper `tornado.web.authenticated` puts around a method.
_AUTHENTICATED_CODE = tornado.web.authenticated(lambda self: None).__code__
_METHODS = [m.lower() for m in tornado.web.RequestHandler.SUPPORTED_METHODS]


def extension_routes(app: tornado.web.Application) -> list[Rule]:
    """Every URL rule of the running app whose handler comes from `ak_salesforce_nb`."""
    found: list[Rule] = []

    def walk(router: Any) -> None:
        for rule in getattr(router, "rules", []):
            assert isinstance(rule, Rule)
            target = rule.target
            if isinstance(target, type) and issubclass(target, tornado.web.RequestHandler):
                if target.__module__.split(".")[0] == "ak_salesforce_nb":
                    assert isinstance(rule.matcher, PathMatches)
                    found.append(rule)
            else:
                walk(target)

    walk(app.wildcard_router)
    walk(app.default_router)
    return found


def _defined_by(handler: type[tornado.web.RequestHandler], method: str) -> type:
    return next(c for c in handler.__mro__ if method in vars(c))


def defined_methods(handler: type[tornado.web.RequestHandler]) -> list[str]:
    """The HTTP methods the handler answers (not tornado's 405 defaults)."""
    return [m for m in _METHODS if _defined_by(handler, m) is not tornado.web.RequestHandler]


def own_methods(handler: type[tornado.web.RequestHandler]) -> list[str]:
    """The HTTP methods written in this package (not inherited from jupyter_server)."""
    return [
        m
        for m in defined_methods(handler)
        if _defined_by(handler, m).__module__.split(".")[0] == "ak_salesforce_nb"
    ]


def concrete_path(rule: Rule) -> str:
    matcher = rule.matcher
    assert isinstance(matcher, PathMatches)
    # Not `matcher.reverse`: it %-formats, and the base URL here is /a%40b/.
    path = re.sub(r"\([^)]*\)", "prod", matcher.regex.pattern.removesuffix("$"))
    assert matcher.regex.match(path), path
    return path


def test_every_handler_method_requires_authentication(jp_serverapp: Any) -> None:
    """Each method of each extension handler in the live routing table is wrapped by
    `tornado.web.authenticated`, except `CallbackHandler.get`, which is explicitly marked
    `@allow_unauthenticated` and is the only method so marked. The only inherited method
    is jupyter_server's CORS preflight `APIHandler.options` (no data, tested below)."""
    routes = extension_routes(jp_serverapp.web_app)
    names = {spec.target.__name__ for spec in routes}
    assert {
        "StartHandler",
        "CallbackHandler",
        "ConnectionsHandler",
        "ConnectionHandler",
        "AuthorizeHandler",
    } <= names
    checked = 0
    for spec in routes:
        handler = spec.target
        methods = own_methods(handler)
        assert methods, handler
        inherited = {
            (m, f"{_defined_by(handler, m).__module__}.{_defined_by(handler, m).__name__}")
            for m in set(defined_methods(handler)) - set(methods)
        }
        assert inherited <= {("options", "jupyter_server.base.handlers.APIHandler")}, inherited
        for method in methods:
            fn = inspect.getattr_static(handler, method)
            unauthenticated = getattr(fn, "__allow_unauthenticated", False)
            if handler is CallbackHandler and method == "get":
                assert unauthenticated
                assert fn.__code__ is not _AUTHENTICATED_CODE
            else:
                assert fn.__code__ is _AUTHENTICATED_CODE, f"{handler.__name__}.{method}"
                assert not unauthenticated, f"{handler.__name__}.{method}"
            checked += 1
    assert checked >= 7


async def test_every_route_refuses_requests_without_login(
    jp_serverapp: Any, http_server_client: Any, flow: Flow, store_path: Path
) -> None:
    """Without Jupyter credentials, every method of every route (found in the routing
    table) is refused (403, or 302 to Jupyter's login page for page GETs), and nothing is
    written; the callback answers its own 400 page."""
    await flow.connect("prod")
    await flow.begin("prod")
    before = store_rows(store_path)
    tried = 0
    for spec in extension_routes(jp_serverapp.web_app):
        path = concrete_path(spec)
        for method in defined_methods(spec.target):
            body = "{}" if method in ("put", "post", "patch") else None
            response = await http_server_client.fetch(
                path + "?state=x&code=y",
                method=method.upper(),
                body=body,
                follow_redirects=False,
                raise_error=False,
                allow_nonstandard_methods=True,
            )
            if spec.target is CallbackHandler:
                assert response.code == 400
            elif method == "options":  # jupyter_server's CORS preflight: headers only
                assert response.code in (200, 204, 403) and response.body == b""
            elif response.code == 302:
                assert method == "get"
                assert "/login?" in response.headers["Location"]
            else:
                assert response.code == 403, (method, path, response.code)
            assert b"Traceback" not in response.body
            tried += 1
    assert tried >= 7
    assert store_rows(store_path) == before


async def _login_cookies(base: str, token: str) -> dict[str, str]:
    """The browser's cookies after a token login: the login cookie and `_xsrf`."""
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{base}login")  # the login form sets `_xsrf`
        assert response.status_code == 200
        response = await client.get(f"{base}api/status", params={"token": token})
        assert response.status_code == 200
        cookies = {name: value for name, value in client.cookies.items()}
    assert any(name.startswith("username-") for name in cookies), cookies
    assert "_xsrf" in cookies, cookies
    return cookies


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


async def test_cookie_sessions_need_the_xsrf_token(
    jp_serverapp: Any, jp_base_url: str, flow: Flow, store_path: Path
) -> None:
    """A browser session (login cookie, no token) may change nothing without Jupyter's
    XSRF token: PUT, POST and DELETE without `X-XSRFToken`, with a wrong one, or from a
    foreign Origin are refused and write nothing; with the right one they work (so the
    refusals are the XSRF check, not a broken test client)."""
    await flow.connect("prod")
    base = f"http://127.0.0.1:{jp_serverapp.port}{jp_base_url}"
    cookies = await _login_cookies(base, jp_serverapp.identity_provider.token)
    api = f"{base}ak-salesforce/api/connections/"
    requests = [
        ("PUT", "new", connection_body(flow.emu)),
        ("POST", "prod/authorize", ""),
        ("DELETE", "prod", None),
    ]
    bad_headers: list[dict[str, str]] = [
        {},
        {"X-XSRFToken": "wrong"},
        {"X-XSRFToken": cookies["_xsrf"][:-2] + "xx"},
        {"X-XSRFToken": cookies["_xsrf"], "Origin": "https://evil.example"},
    ]
    before = store_rows(store_path)
    async with httpx.AsyncClient() as client:
        for method, path, body in requests:
            for extra in bad_headers:
                headers = {"Cookie": _cookie_header(cookies), **extra}
                response = await client.request(method, api + path, content=body, headers=headers)
                assert response.status_code in (403, 404), (method, path, extra)
                assert "Traceback" not in response.text
            # Reads with the cookie work: the session itself is valid.
            response = await client.get(api + "prod", headers={"Cookie": _cookie_header(cookies)})
            assert response.status_code == 200
        assert store_rows(store_path) == before
        good = {"Cookie": _cookie_header(cookies), "X-XSRFToken": cookies["_xsrf"]}
        response = await client.put(api + "new", content=connection_body(flow.emu), headers=good)
        assert response.status_code == 200, response.text
        response = await client.post(api + "new/authorize", content=b"", headers=good)
        assert response.status_code == 200
        response = await client.delete(api + "new", headers=good)
        assert response.status_code == 204


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "token wrong"},
        {"Authorization": "Bearer x"},
        {"Cookie": "username-127-0-0-1=forged; _xsrf=a"},
        {"X-XSRFToken": "a", "Cookie": "_xsrf=a"},
    ],
)
async def test_forged_credentials_are_refused(
    jp_serverapp: Any, jp_base_url: str, flow: Flow, store_path: Path, headers: dict[str, str]
) -> None:
    """Wrong tokens and forged cookies get nothing: no data, no change, no start."""
    await flow.connect("prod")
    state = await flow.begin("prod")
    before = store_rows(store_path)
    base = f"http://127.0.0.1:{jp_serverapp.port}{jp_base_url}"
    async with httpx.AsyncClient() as client:
        for method, path in [
            ("GET", "ak-salesforce/api/connections"),
            ("GET", "ak-salesforce/api/connections/prod"),
            ("PUT", "ak-salesforce/api/connections/prod"),
            ("DELETE", "ak-salesforce/api/connections/prod"),
            ("POST", "ak-salesforce/api/connections/prod/authorize"),
            ("GET", f"oauth/start/salesforce?state={state}"),
        ]:
            response = await client.request(
                method, base + path, headers=headers, content=b"{}" if method != "GET" else None
            )
            assert response.status_code in (302, 403), (method, path, response.status_code)
            if response.status_code == 302:
                assert re.match(rf"^{re.escape(jp_base_url)}login\?", response.headers["location"])
            assert "client_id" not in response.text and "demo-client" not in response.text
            assert '"connections"' not in response.text
    assert store_rows(store_path) == before
