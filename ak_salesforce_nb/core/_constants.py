"""Names and defaults shared by the server extension and the kernel side.

Environment variables are not here: `_environment` holds every one of them.
"""

from __future__ import annotations

__all__ = [
    "API_PATH",
    "BROADCAST_CHANNEL",
    "CALLBACK_PATH",
    "DEFAULT_API_VERSION",
    "DEFAULT_HTTP_TIMEOUT",
    "DEFAULT_LOGIN_URL",
    "DEFAULT_SCOPES",
    "HUB_CALLBACK_PATH",
    "MESSAGE_TYPE",
    "PRODUCTION_LOGIN_URL",
    "SANDBOX_LOGIN_URL",
    "START_PATH",
    "STATE_TTL_SECONDS",
]

#: The REST API version used unless configured otherwise (`c.SalesforceOAuth.api_version`
#: on the server, `api_version=` on a session).
DEFAULT_API_VERSION = "63.0"

PRODUCTION_LOGIN_URL = "https://login.salesforce.com"
SANDBOX_LOGIN_URL = "https://test.salesforce.com"
DEFAULT_LOGIN_URL = PRODUCTION_LOGIN_URL
DEFAULT_SCOPES = "api refresh_token"
DEFAULT_HTTP_TIMEOUT = 30.0
STATE_TTL_SECONDS = 600.0

# Routes, relative to the Jupyter server's base URL.
START_PATH = "oauth/start/salesforce"
CALLBACK_PATH = "oauth/redirect/salesforce"
API_PATH = "ak-salesforce/api/connections"
# Relative to the JupyterHub base URL: one callback URL for every user of a hub.
HUB_CALLBACK_PATH = "hub/user-redirect/oauth/redirect/salesforce"

# What the callback page announces to the notebook page.
MESSAGE_TYPE = "ak-salesforce-nb:oauth"
BROADCAST_CHANNEL = "ak-salesforce-nb"
