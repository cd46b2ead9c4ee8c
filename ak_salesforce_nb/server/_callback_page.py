"""The small page the OAuth callback answers: escaped text, no external assets.

It tells the notebook page the result on a same-origin BroadcastChannel (which survives
an identity provider's Cross-Origin-Opener-Policy cutting `window.opener`), then with
`postMessage` to the opener for our own origin only, then closes itself on success.
"""

from __future__ import annotations

import html
import json
import secrets

from ..core._constants import BROADCAST_CHANNEL, MESSAGE_TYPE
from ._authorization import CallbackOutcome

__all__ = ["render_callback_page"]


def _script_json(value: object) -> str:
    # JSON inside <script>: escape what could end the element or start markup.
    return (
        json.dumps(value)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def render_callback_page(outcome: CallbackOutcome) -> tuple[str, str]:
    """The page's HTML and the nonce its one inline script runs under."""
    nonce = secrets.token_urlsafe(16)
    message: dict[str, object] = {
        "type": MESSAGE_TYPE,
        "name": outcome.name,
        "state": "connected" if outcome.ok else "error",
        "message": outcome.message,
    }
    if outcome.ok:
        next_step = "You can close this window and go back to your notebook."
    else:
        next_step = "Go back to your notebook; the connection form shows what to do next."
    color = "#2e844a" if outcome.ok else "#ba0517"
    icon = "✓" if outcome.ok else "!"
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{html.escape(outcome.title)} · Salesforce for Jupyter</title>
<style>
  body {{ font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
         background: #f3f3f3; color: #181818; }}
  main {{ max-width: 34rem; margin: 12vh auto; background: #fff; border-radius: 8px;
         padding: 2rem 2.25rem; box-shadow: 0 2px 8px rgba(0,0,0,.12); }}
  .icon {{ display: inline-block; width: 2rem; height: 2rem; border-radius: 50%;
          background: {color}; color: #fff; text-align: center; line-height: 2rem;
          font-weight: 700; margin-right: .5rem; }}
  h1 {{ font-size: 1.3rem; display: flex; align-items: center; margin: 0 0 1rem; }}
  p {{ margin: .5rem 0; overflow-wrap: anywhere; }}
  .next {{ color: #5c5c5c; }}
</style>
</head>
<body>
<main data-outcome="{"connected" if outcome.ok else "error"}">
  <h1><span class="icon" aria-hidden="true">{icon}</span>{html.escape(outcome.title)}</h1>
  <p id="message">{html.escape(outcome.message)}</p>
  <p class="next">{html.escape(next_step)}</p>
</main>
<script nonce="{nonce}">
(function () {{
  var message = {_script_json(message)};
  try {{ var channel = new BroadcastChannel({_script_json(BROADCAST_CHANNEL)});
        channel.postMessage(message); channel.close(); }} catch (e) {{}}
  try {{ if (window.opener) {{ window.opener.postMessage(message, window.location.origin); }} }}
  catch (e) {{}}
  if (message.state === "connected") {{ setTimeout(function () {{ window.close(); }}, 1500); }}
}})();
</script>
</body>
</html>
"""
    return page, nonce
