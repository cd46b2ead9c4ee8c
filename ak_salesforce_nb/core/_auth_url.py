"""The Salesforce CLI's "sfdx auth URL": one string that authorizes a run without a person.

``force://<client_id>:<client_secret>:<refresh_token>@<instance host[:port]>`` is what
``sf org display --verbose --json`` prints as ``sfdxAuthUrl`` and what
``sf org login sfdx-url`` reads, so CI secrets made for the CLI work here unchanged.
As in the CLI, the secret may be empty (a public client, or the CLI's own app
``PlatformCLI``), the older ``force://<refresh_token>@<host>`` form means the CLI's app,
and the host is reached over https. Only a loopback host (the local emulator) may be
written with an explicit ``http://``.

The string holds a refresh token and maybe a client secret, so nothing here ever puts
either in an error message or a repr: errors name the part that is wrong and where the
string came from (a variable's name), never its value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ._exceptions import ConfigurationError
from ._validation import normalize_login_url

__all__ = ["CLI_CLIENT_ID", "SCHEME", "AuthUrl", "format_auth_url", "parse_auth_url"]

SCHEME = "force://"
#: The client id the Salesforce CLI uses for its own app (and that a bare
#: ``force://<refresh_token>@<host>`` stands for).
CLI_CLIENT_ID = "PlatformCLI"

# What the CLI's own parser accepts in each part (letters, digits, ``._-`` and base64
# padding), plus ``!`` and ``+/`` that other Salesforce tokens carry.
_PART = re.compile(r"[A-Za-z0-9._\-!+/]*={0,2}")
_MAX_LENGTH = 4096


@dataclass(frozen=True)
class AuthUrl:
    """The parts of an auth URL. `instance_url` is ``https://host[:port]`` (or ``http://``
    for a loopback host); the secret and the refresh token never show in a repr."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    instance_url: str

    def __str__(self) -> str:
        # str() of a secret-bearing object must not print it by accident.
        return f"force://{self.client_id}:***:***@{self.instance_url.split('://', 1)[1]}"

    def text(self) -> str:
        """The auth URL itself, secret included: hand it only to a secret store."""
        return format_auth_url(
            client_id=self.client_id,
            client_secret=self.client_secret,
            refresh_token=self.refresh_token,
            instance_url=self.instance_url,
        )


def _bad(source: str, problem: str) -> ConfigurationError:
    return ConfigurationError(
        f"{source} is not a usable sfdx auth URL: {problem}. It must look like "
        "force://<client_id>:<client_secret>:<refresh_token>@<instance host>, as "
        "`sf org display --verbose --json` prints it (sfdxAuthUrl)."
    )


def parse_auth_url(text: str, *, source: str = "The auth URL") -> AuthUrl:
    """The parts of `text`; `source` names where it came from in errors (a variable).

    Raises `ConfigurationError` saying which part is wrong, never echoing the text.
    """
    if not isinstance(text, str):
        raise _bad(source, "it is not a string")
    text = text.strip()
    if not text:
        raise _bad(source, "it is empty")
    if len(text) > _MAX_LENGTH:
        raise _bad(source, "it is far too long")
    if not text.lower().startswith(SCHEME):
        raise _bad(source, "it does not start with force://")
    rest = text[len(SCHEME) :]
    credentials, at, host = rest.rpartition("@")
    if not at:
        raise _bad(source, "it has no @ before the instance host")
    parts = credentials.split(":")
    if len(parts) == 1:
        client_id, client_secret, refresh_token = CLI_CLIENT_ID, "", parts[0]
    elif len(parts) == 3:
        client_id, client_secret, refresh_token = parts
    else:
        raise _bad(
            source,
            f"it has {len(parts)} colon-separated parts before the @ where 3 are expected "
            "(client id, client secret, refresh token)",
        )
    if not client_id or not _PART.fullmatch(client_id):
        raise _bad(source, "the client id is empty or has characters a client id cannot have")
    if not _PART.fullmatch(client_secret):
        raise _bad(source, "the client secret has characters a secret cannot have")
    if not refresh_token:
        raise _bad(source, "the refresh token is empty")
    if not _PART.fullmatch(refresh_token):
        raise _bad(source, "the refresh token has characters a refresh token cannot have")
    return AuthUrl(
        client_id=client_id,
        client_secret=client_secret,
        refresh_token=refresh_token,
        instance_url=_instance_url(host, source),
    )


def _instance_url(host: str, source: str) -> str:
    host = host.rstrip("/")
    if not host:
        raise _bad(source, "the instance host after the @ is empty")
    lowered = host.lower()
    if lowered.startswith("https://"):
        raise _bad(source, "the instance host must be written without https:// (it is assumed)")
    explicit_http = lowered.startswith("http://")
    try:
        url = normalize_login_url(host if explicit_http else f"https://{host}")
    except ConfigurationError as exc:
        raise _bad(source, f"its instance host is wrong ({exc})") from None
    return url


def format_auth_url(
    *, client_id: str, client_secret: str | None, refresh_token: str, instance_url: str
) -> str:
    """The auth URL of these parts (the CLI's format; the inverse of `parse_auth_url`).

    Raises `ConfigurationError` when a part cannot be written in it (never echoing it).
    """
    secret = client_secret or ""
    for what, value in (
        ("client id", client_id),
        ("client secret", secret),
        ("refresh token", refresh_token),
    ):
        if not _PART.fullmatch(value) or (what != "client secret" and not value):
            raise ConfigurationError(
                f"The {what} cannot be written into an sfdx auth URL (it is empty or has "
                "characters the format does not allow)."
            )
    url = normalize_login_url(instance_url)
    host = url[len("https://") :] if url.startswith("https://") else url  # http: loopback only
    return f"{SCHEME}{client_id}:{secret}:{refresh_token}@{host}"
