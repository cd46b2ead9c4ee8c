"""The small page the OAuth callback answers: escaped text, no external assets.

The page is `templates/callback.html`, rendered by Jinja2 with autoescaping on, so every
value from the outcome (which may carry an org's own data or an attacker's error
description) lands as text. Its one inline script runs under a fresh CSP nonce and gets
the outcome as a JSON literal escaped for a `<script>` element.

The script tells the notebook page the result on a same-origin BroadcastChannel (which
survives an identity provider's Cross-Origin-Opener-Policy cutting `window.opener`),
then with `postMessage` to the opener for our own origin only, then closes the window on
success.
"""

from __future__ import annotations

import functools
import json
import secrets

import jinja2
from markupsafe import Markup

from ..core._constants import BROADCAST_CHANNEL, MESSAGE_TYPE
from ._authorization import CallbackOutcome

__all__ = ["TEMPLATE", "render_callback_page"]

#: The page's template, in this package's `templates` folder.
TEMPLATE = "callback.html"


def _script_json(value: object) -> Markup:
    """JSON for inside `<script>`: escape what could end the element or start markup (and
    the two line separators older JavaScript engines refuse in string literals). Marked
    safe because HTML escaping would corrupt it: a script element's text is not decoded."""
    return Markup(  # noqa: S704 - every character that could leave the literal is escaped
        json.dumps(value)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


@functools.cache
def _environment() -> jinja2.Environment:
    # PackageLoader reads through importlib.resources: the template is found wherever the
    # package is installed (a wheel, an editable install, a zip).
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__ or "ak_salesforce_nb.server", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["script_json"] = _script_json
    return env


def render_callback_page(outcome: CallbackOutcome) -> tuple[str, str]:
    """The page's HTML and the nonce its one inline script runs under."""
    nonce = secrets.token_urlsafe(16)
    state = "connected" if outcome.ok else "error"
    if outcome.ok:
        next_step = "You can close this window and go back to your notebook."
    else:
        next_step = "Go back to your notebook; the connection form shows what to do next."
    page = (
        _environment()
        .get_template(TEMPLATE)
        .render(
            title=outcome.title,
            message=outcome.message,
            next_step=next_step,
            outcome=state,
            color="#2e844a" if outcome.ok else "#ba0517",
            icon="✓" if outcome.ok else "!",
            nonce=nonce,
            channel=BROADCAST_CHANNEL,
            script_message={
                "type": MESSAGE_TYPE,
                "name": outcome.name,
                "state": state,
                "message": outcome.message,
            },
        )
    )
    return page, nonce
