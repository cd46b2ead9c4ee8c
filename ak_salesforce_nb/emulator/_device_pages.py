"""The device flow's pages at ``/setup/connect``: enter the code, log in, allow, done.

Same look and element ids as the code flow's pages (``#username``, ``#password``,
``#Login``, ``#oaapprove``, ``#oadeny``) so a browser test drives both alike; the code
field is ``#user_code`` and its button ``#connect``. Every request-influenced text is
escaped.
"""

from __future__ import annotations

from html import escape

from ._pages import LOGIN_ERROR, SCOPE_LABELS, _hidden, _page

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
        f"{_hidden('step', 'code')}"
        '<label for="user_code">Code</label>'
        f'<input type="text" id="user_code" name="user_code" value="{escape(user_code)}" '
        'autocapitalize="characters" spellcheck="false" required>'
        '<input class="primary" type="submit" id="connect" name="connect" value="Connect">'
        "</form>"
    )
    return _page("Connect Your Device | Salesforce", body)


def device_login_page(user_code: str, username: str = "", failed: bool = False) -> str:
    body = (
        "<h1>Log In to Salesforce (emulator)</h1>"
        f"{_error(LOGIN_ERROR if failed else None)}"
        '<form method="post" action="/setup/connect" id="login_form" autocomplete="off">'
        f"{_hidden('step', 'login')}{_hidden('user_code', user_code)}"
        '<label for="username">Username</label>'
        f'<input type="email" id="username" name="username" value="{escape(username)}" '
        'autocomplete="username" required>'
        '<label for="password">Password</label>'
        '<input type="password" id="password" name="password" autocomplete="current-password">'
        '<input class="primary" type="submit" id="Login" name="Login" value="Log In">'
        "</form>"
    )
    return _page("Login | Salesforce", body)


def device_consent_page(user_code: str, app_name: str, username: str, scopes: list[str]) -> str:
    labels: list[str] = []
    for scope in scopes:
        label = SCOPE_LABELS.get(scope, scope)
        if label not in labels:
            labels.append(label)
    items = "".join(f"<li>{escape(label)}</li>" for label in labels)
    body = (
        "<h1>Allow Access?</h1>"
        f'<p><strong id="app_name">{escape(app_name)}</strong> is asking to:</p>'
        f'<ul id="scopes">{items}</ul>'
        f'<p class="muted">You are logged in as {escape(username)}. Do you want to allow '
        "access?</p>"
        '<form method="post" action="/setup/connect" id="consent_form">'
        f"{_hidden('step', 'consent')}{_hidden('user_code', user_code)}"
        '<button class="secondary" type="submit" id="oadeny" name="decision" value="deny">'
        "Deny</button> "
        '<button class="primary" type="submit" id="oaapprove" name="decision" value="allow">'
        "Allow</button>"
        "</form>"
    )
    return _page("Allow Access? | Salesforce", body)


def device_done_page(approved: bool) -> str:
    if approved:
        title, text = "Connected", "You're connected. Return to your device to continue."
    else:
        title, text = "Access Denied", "You denied access. Your device won't be connected."
    body = f'<h1 id="result">{escape(title)}</h1><p>{escape(text)}</p>'
    return _page(f"{title} | Salesforce", body)
