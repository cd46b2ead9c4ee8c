"""URL paths of the server's routes, as both processes build them.

The kernel needs the same joins as the server (the start link, the callback URL) without
importing jupyter_server, so the join lives here; it behaves as
`jupyter_server.utils.url_path_join` does.
"""

from __future__ import annotations

from ._constants import CALLBACK_PATH, START_PATH

__all__ = ["callback_url_under", "start_path", "url_path_join"]


def url_path_join(*pieces: str) -> str:
    """Join URL path pieces with exactly one ``/`` between them, keeping a leading and a
    trailing ``/`` of the first and last piece (as jupyter_server's `url_path_join`)."""
    initial = pieces[0].startswith("/")
    final = pieces[-1].endswith("/")
    result = "/".join(piece.strip("/") for piece in pieces if piece.strip("/"))
    if initial:
        result = "/" + result
    if final:
        result += "/"
    return "/" if result == "//" else result


def callback_url_under(server_url: str) -> str:
    """The callback URL of a server whose public URL (with its base URL) is `server_url`."""
    return url_path_join(server_url.rstrip("/") + "/", CALLBACK_PATH)


def start_path(base_url: str, state: str) -> str:
    """The start route that sends the browser on to Salesforce for the sign-in `state`."""
    return f"{url_path_join(base_url, START_PATH)}?state={state}"
