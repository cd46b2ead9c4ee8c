"""The device flow's pages at ``/setup/connect``: enter the code, log in, allow, done.

Same look and element ids as the code flow's pages (``#username``, ``#password``,
``#Login``, ``#oaapprove``, ``#oadeny``) so a browser test drives both alike; the code
field is ``#user_code`` and its button ``#connect``. Every request-influenced text is
escaped.
"""

from __future__ import annotations

from html import escape

from ._pages import LOGIN_ERROR, consent_form_page, hidden_field, login_form_page, page

__all__ = [
    "device_code_page",
    "device_consent_page",
    "device_done_page",
    "device_login_page",
]

INVALID_CODE = "The code you entered is invalid or has expired. Check it and try again."


def _error(text: str | None) -> str:
    return f'<div class="error" id="error" role="alert">{escape(text)}</div>' if text else ""


def device_code_page(user_code: str = "", error: str | None = None) -> str:
    body = (
        "<h1>Connect Your Device</h1>"
        f"{_error(error)}"
        "<p>Enter the code shown on your device or application.</p>"
        '<form method="post" action="/setup/connect" id="device_form" autocomplete="off">'
        f"{hidden_field('step', 'code')}"
        '<label for="user_code">Code</label>'
        f'<input type="text" id="user_code" name="user_code" value="{escape(user_code)}" '
        'autocapitalize="characters" spellcheck="false" required>'
        '<input class="primary" type="submit" id="connect" name="connect" value="Connect">'
        "</form>"
    )
    return page("Connect Your Device | Salesforce", body)


def device_login_page(user_code: str, username: str = "", failed: bool = False) -> str:
    return login_form_page(
        "/setup/connect",
        {"step": "login", "user_code": user_code},
        username,
        LOGIN_ERROR if failed else None,
    )


def device_consent_page(user_code: str, app_name: str, username: str, scopes: list[str]) -> str:
    return consent_form_page(
        "/setup/connect",
        {"step": "consent", "user_code": user_code},
        app_name,
        username,
        scopes,
    )


def device_done_page(approved: bool) -> str:
    if approved:
        title, text = "Connected", "You're connected. Return to your device to continue."
    else:
        title, text = "Access Denied", "You denied access. Your device won't be connected."
    body = f'<h1 id="result">{escape(title)}</h1><p>{escape(text)}</p>'
    return page(f"{title} | Salesforce", body)
