"""`httpx.Auth` that sends the Bearer token and refreshes once on 401 INVALID_SESSION_ID."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

import httpx

from ..core._store import StoredTokens
from ._tokens import TokenProvider

__all__ = ["SalesforceAuth"]


def _is_invalid_session(response: httpx.Response) -> bool:
    # Salesforce answers [{"errorCode": "INVALID_SESSION_ID", …}]; any 401 means the same.
    return response.status_code == 401


def _apply(request: httpx.Request, tokens: StoredTokens) -> None:
    request.headers["Authorization"] = f"Bearer {tokens.access_token}"
    instance = httpx.URL(tokens.instance_url)
    if instance.host and request.url.host != instance.host:
        # The org moved (instance_url changed on refresh): follow it.
        request.url = request.url.copy_with(
            scheme=instance.scheme, host=instance.host, port=instance.port
        )


class SalesforceAuth(httpx.Auth):
    requires_response_body = True

    def __init__(self, provider: TokenProvider) -> None:
        self.provider = provider

    def __repr__(self) -> str:
        return f"SalesforceAuth(connection={self.provider.name!r})"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        tokens = self.provider.current()
        _apply(request, tokens)
        response = yield request
        if _is_invalid_session(response):
            _apply(request, self.provider.refresh(tokens))
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        import asyncio  # here: a script's synchronous session need not load it

        tokens = await asyncio.to_thread(self.provider.current)
        _apply(request, tokens)
        response = yield request
        if _is_invalid_session(response):
            _apply(request, await asyncio.to_thread(self.provider.refresh, tokens))
            yield request
