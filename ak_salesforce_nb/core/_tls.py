"""One TLS context per process for the short-lived HTTP clients (callback, refresh, revoke).

Building a context loads the CA bundle: ~50 ms of CPU and a few MB each time, which a
server handling callbacks or kernels refreshing tokens should not pay per request. The
context honours SSL_CERT_FILE / SSL_CERT_DIR as they are when it is first built.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx

__all__ = ["shared_ssl_context", "verify_for"]


@functools.lru_cache(maxsize=1)
def shared_ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def verify_for(transport: Any) -> ssl.SSLContext | bool:
    """httpx's `verify=` for a client: the shared context, unless a test's transport (which
    does no TLS) stands in for the network."""
    return shared_ssl_context() if transport is None else True
