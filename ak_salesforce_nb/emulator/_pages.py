"""The identity provider's HTML pages: login, consent, and the OAuth error page.

Self-contained (inline CSS, no scripts, no external assets) and every piece of text that
a request can influence goes through ``html.escape``.
"""

from __future__ import annotations

from html import escape

__all__ = [
    "LOGIN_ERROR",
    "consent_form_page",
    "consent_page",
    "error_page",
    "hidden_field",
    "landing_page",
    "login_form_page",
    "login_page",
    "page",
]

_STYLE = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;background:#f3f3f3;
margin:0;color:#16325c}
.card{max-width:380px;margin:60px auto;background:#fff;border:1px solid #d8dde6;
border-radius:4px;padding:24px 28px}
h1{font-size:20px;margin:0 0 16px}
label{display:block;font-size:13px;margin:12px 0 4px}
input[type=text],input[type=email],input[type=password]{width:100%;box-sizing:border-box;
padding:10px;border:1px solid #d8dde6;border-radius:4px;font-size:14px}
.primary{background:#0070d2;color:#fff;border:0;border-radius:4px;padding:10px 18px;
font-size:14px;cursor:pointer;margin-top:18px}
.secondary{background:#fff;color:#0070d2;border:1px solid #d8dde6;border-radius:4px;
padding:10px 18px;font-size:14px;cursor:pointer;margin-top:18px}
.error{background:#fbeaea;border:1px solid #c23934;color:#c23934;padding:10px;
border-radius:4px;font-size:13px}
.muted{font-size:12px;color:#54698d}
ul{padding-left:20px}
"""

LOGIN_ERROR = (
    "Please check your username and password. If you still can't log in, contact your "
    "Salesforce administrator."
)

SCOPE_LABELS = {
    "api": "Manage user data via APIs (api)",
    "refresh_token": "Perform requests at any time (refresh_token, offline_access)",
    "offline_access": "Perform requests at any time (refresh_token, offline_access)",
    "id": "Access the identity URL service (id, profile, email, address, phone)",
    "openid": "Access unique user identifiers (openid)",
    "profile": "Access the identity URL service (id, profile, email, address, phone)",
    "email": "Access the identity URL service (id, profile, email, address, phone)",
    "web": "Manage user data via Web browsers (web)",
    "full": "Full access (full)",
}


def page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><div class="card">{body}</div></body></html>'
    )


def hidden_field(name: str, value: str) -> str:
    return f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'


def _hidden_fields(fields: dict[str, str]) -> str:
    return "".join(hidden_field(name, value) for name, value in fields.items())


def login_form_page(
    action: str, fields: dict[str, str], username: str = "", error: str | None = None
) -> str:
    """Salesforce-like login form posting to `action` with the hidden `fields`:
    ``#username``, ``#password`` and the ``#Login`` button (the code flow's and the device
    flow's pages are this one)."""
    error_html = (
        f'<div class="error" id="error" role="alert">{escape(error)}</div>' if error else ""
    )
    body = (
        "<h1>Log In to Salesforce (emulator)</h1>"
        f"{error_html}"
        f'<form method="post" action="{escape(action)}" id="login_form" autocomplete="off">'
        f"{_hidden_fields(fields)}"
        '<label for="username">Username</label>'
        f'<input type="email" id="username" name="username" value="{escape(username)}" '
        'autocomplete="username" required>'
        '<label for="password">Password</label>'
        '<input type="password" id="password" name="password" autocomplete="current-password">'
        '<input class="primary" type="submit" id="Login" name="Login" value="Log In">'
        "</form>"
        '<p class="muted">This is a local emulator of a Salesforce org.</p>'
    )
    return page("Login | Salesforce", body)


def login_page(pending_id: str, username: str = "", error: str | None = None) -> str:
    """The code flow's login page."""
    return login_form_page("/login", {"pending": pending_id}, username, error)


def consent_form_page(
    action: str, fields: dict[str, str], app_name: str, username: str, scopes: list[str]
) -> str:
    """The approval page posting to `action`: names the app and the scopes;
    ``#oaapprove`` / ``#oadeny``."""
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
        f'<form method="post" action="{escape(action)}" id="consent_form">'
        f"{_hidden_fields(fields)}"
        '<button class="secondary" type="submit" id="oadeny" name="decision" value="deny">'
        "Deny</button> "
        '<button class="primary" type="submit" id="oaapprove" name="decision" value="allow">'
        "Allow</button>"
        "</form>"
    )
    return page("Allow Access? | Salesforce", body)


def consent_page(pending_id: str, app_name: str, username: str, scopes: list[str]) -> str:
    """The code flow's approval page."""
    return consent_form_page("/consent", {"pending": pending_id}, app_name, username, scopes)


def error_page(error: str, description: str) -> str:
    """The page Salesforce shows instead of redirecting (bad client id, bad redirect URI)."""
    body = (
        "<h1>OAuth Error</h1>"
        "<p>We can't authorize you because of an OAuth error. For more information, contact "
        "your Salesforce administrator.</p>"
        f'<p class="error" id="oauth_error">error={escape(error)}<br>'
        f"error_description={escape(description)}</p>"
    )
    return page("OAuth Error | Salesforce", body)


def landing_page(base_url: str) -> str:
    body = (
        "<h1>Salesforce emulator</h1>"
        f"<p>REST API: <code>{escape(base_url)}/services/data/</code></p>"
        f"<p>OAuth: <code>{escape(base_url)}/services/oauth2/authorize</code></p>"
    )
    return page("Salesforce emulator", body)
