"""Checks of user input, shared by the REST API, the notebook form and the side panel.

Login URLs are checked on the text as typed, before any URL parser sees it, because
parsers and clients do not agree on non-ASCII hosts: ``urlsplit`` keeps
``login\u3002salesforce\u3002com`` (U+3002 IDEOGRAPHIC FULL STOP for the dots) as it is,
while httpx's IDNA encoding and browsers fold it into ``login.salesforce.com``; urllib
only NFKC-checks a netloc for characters that fold into ``/?#@:``. What the user was
shown must be what is stored, checked, and later redirected to, so anything that is not
plain ASCII is refused.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable

from ._constants import DEFAULT_SCOPES
from ._exceptions import ConfigurationError

__all__ = [
    "ALLOWED_HOSTS_SETTING",
    "SALESFORCE_LOGIN_HOSTS",
    "check_login_url",
    "check_text",
    "host_matches",
    "is_loopback_host",
    "login_host",
    "normalize_host_patterns",
    "normalize_login_url",
    "normalize_scopes",
    "validate_client_id",
    "validate_connection_name",
]

#: Salesforce's own login hosts, allowed without any configuration. Salesforce Help,
#: "OAuth Endpoints" (help.salesforce.com, id remoteaccess_oauth_endpoints.htm) lists the
#: host domains of its OAuth authorize and token endpoints: login.salesforce.com; a My
#: Domain (``NAME.my.salesforce.com``, which also covers the partitioned ones:
#: ``NAME--SANDBOX.sandbox.my.salesforce.com``, ``.develop.``, ``.scratch.``, ``.demo.``,
#: ``.free.``, ``.patch.``, ``.trailblaze.my.salesforce.com``); an Experience Cloud site
#: (``NAME.my.site.com``); test.salesforce.com for sandboxes; and "a custom URL", which
#: is the org's own domain: that one only the server's admin can vouch for
#: (`ALLOWED_HOSTS_SETTING`). Other clouds' domains (Government Cloud, Salesforce on
#: Alibaba Cloud, legacy ``*.force.com`` sites) are not on that page: an admin adds them.
SALESFORCE_LOGIN_HOSTS: tuple[str, ...] = (
    "login.salesforce.com",
    "test.salesforce.com",
    "*.my.salesforce.com",
    "*.my.site.com",
)

#: Where an admin allows more login hosts (the server's trait, exported to kernels).
ALLOWED_HOSTS_SETTING = "c.SalesforceOAuth.allowed_login_hosts"

# Names appear in URLs and file-like contexts: they start with a letter or digit, so
# `.`, `..`, `-x` and `_x` are not names.
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SCOPE_RE = re.compile(r"[A-Za-z0-9_:./-]{1,64}")
_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# "javascript:…", "mailto:…": a scheme without "//" (a digit after ":" is a port).
_SCHEME_ONLY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?!\d)")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# What a login URL may contain at all: scheme, host name or IP literal, port, one "/".
_URL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:/[]")
#: Longest login URL accepted (a DNS name has at most 253 characters).
MAX_LOGIN_URL_LENGTH = 300
# Unicode categories that are invisible or not text: controls (NUL, ESC, DEL, C1),
# format characters (bidi overrides such as U+202E, zero-width U+200B/U+200D, U+FEFF),
# surrogates, private use, unassigned, and the line/paragraph separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_SAY_HOSTS = (
    "Use https://login.salesforce.com, https://test.salesforce.com or your My Domain "
    "(https://NAME.my.salesforce.com)."
)


def _describe(ch: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: how to name a character the user cannot see."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}{' ' + name if name else ''}"


def _shown(text: str, limit: int = 120) -> str:
    """The user's text for an error message: quoted, escaped (repr escapes control and
    format characters), and short."""
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


def check_text(value: object, what: str) -> None:
    """Refuse a string (or a list of strings) holding control or invisible characters:
    NUL, ESC and the other controls, bidi overrides (U+202E), zero-width and other
    format characters (U+200B, U+FEFF), lone surrogates (JSON can carry them), private
    use and unassigned code points. They hide what a value really is, or break storage."""
    for item in value if isinstance(value, list | tuple) else (value,):
        if not isinstance(item, str):
            continue
        for ch in item:
            if unicodedata.category(ch) in _INVISIBLE_CATEGORIES:
                raise ConfigurationError(
                    f"{what} contains an invisible or control character ({_describe(ch)}). "
                    "Type or paste it again without it."
                )


def validate_connection_name(name: object) -> str:
    """A connection name: 1-64 letters, digits, `_`, `.` or `-`, starting with a letter
    or digit (it appears in URLs, so never `.`, `..` or anything path-like)."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ConfigurationError(
            "A connection name is 1 to 64 letters, digits, '_', '.' or '-', starting with "
            f"a letter or digit (got {_shown(str(name), 80)})."
        )
    return name


def validate_client_id(client_id: object) -> str:
    if not isinstance(client_id, str) or not client_id.strip():
        raise ConfigurationError(
            "Client ID is required: copy the Consumer Key of your external client app "
            "(or connected app) from Salesforce Setup."
        )
    check_text(client_id, "Client ID")
    client_id = client_id.strip()
    if len(client_id) > 512 or any(ch.isspace() for ch in client_id):
        raise ConfigurationError("Client ID looks wrong: it has spaces or is too long.")
    return client_id


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback IP literal (brackets allowed): where the emulator runs.

    Not ``*.localhost``: Python resolves those through DNS, which may answer anything.
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_host(host: str, url: str) -> str:
    """A host name of letter/digit/hyphen labels, or an IP literal, lowercased;
    IPv6 literals keep their brackets."""
    if host.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            raise ConfigurationError(
                f"Login URL {_shown(url)} has an invalid IPv6 address."
            ) from None
    if not host:
        raise ConfigurationError(f"Login URL {_shown(url)} has no host. {_SAY_HOSTS}")
    host = host.lower()
    labels = host.split(".")
    if "" in labels:
        raise ConfigurationError(
            f"Login URL {_shown(url)} is not a valid host name: it has an empty part (a dot "
            "at the start or end, or two dots in a row)."
        )
    if labels[-1].isdigit():  # all-numeric top label: only a dotted IPv4 address
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise ConfigurationError(
                f"Login URL {_shown(url)} is neither a host name nor a valid IPv4 address."
            ) from None
    for label in labels:
        if not _LABEL_RE.fullmatch(label):
            raise ConfigurationError(
                f"Login URL {_shown(url)} is not a valid host name: {label[:70]!r} must be "
                "1 to 63 letters, digits or hyphens, not starting or ending with a hyphen."
            )
    if len(host) > 253:
        raise ConfigurationError(f"Login URL {_shown(url)} is too long for a host name.")
    return host


def _check_port(port: str, url: str) -> int:
    if not port.isdigit() or len(port) > 5 or not 0 < int(port) < 65536:
        raise ConfigurationError(f"Login URL {_shown(url)} has a bad port.")
    return int(port)


def normalize_login_url(url: object) -> str:
    """The login host as ``scheme://host[:port]``, refusing anything that is not safe.

    Only the syntax is checked here (which hosts are allowed is `check_login_url`'s
    job). The raw text must be an ASCII host name (letter/digit/hyphen labels) or an IP
    literal, with an optional scheme, port and trailing ``/``: no user, path, query,
    fragment, percent-encoding, backslash, space or look-alike character. Salesforce's
    login hosts are https; plain http is allowed only for loopback hosts, which is where
    the local emulator runs. Default ports are dropped, the host is lowercased.
    """
    if url is not None and not isinstance(url, str):
        raise ConfigurationError("Login URL must be a string, e.g. https://login.salesforce.com.")
    if not url or not url.strip():
        raise ConfigurationError("Login URL is required, e.g. https://login.salesforce.com.")
    text = url.strip(" ")
    if len(text) > MAX_LOGIN_URL_LENGTH:
        raise ConfigurationError(
            f"Login URL {_shown(text, 80)} is too long; it is just a host name."
        )
    check_text(text, "Login URL")
    for ch in text:
        if not ch.isascii():
            raise ConfigurationError(
                f"Login URL {_shown(text)} contains {ch!r} ({_describe(ch)}), which is not a "
                "plain ASCII letter, digit or punctuation: a look-alike character can lead "
                "to another site. Type the host name in plain ASCII."
            )
    if "://" in text:
        scheme, rest = text.split("://", 1)
    elif _SCHEME_ONLY_RE.match(text):  # javascript:, mailto:, …
        raise ConfigurationError(f"Login URL {_shown(text)} is not a web address. {_SAY_HOSTS}")
    else:
        scheme, rest = "https", text
    scheme = scheme.lower()
    if not _SCHEME_RE.fullmatch(scheme) or scheme not in ("https", "http"):
        raise ConfigurationError(f"Login URL {_shown(text)} is not a web address. {_SAY_HOSTS}")
    for ch in rest:
        if ch in _URL_CHARS:
            continue
        if ch == "@":
            problem = "must be just the host, without a user name or password"
        elif ch in "?#":
            problem = "must be just the host, without a query or fragment"
        elif ch == "%":
            problem = "must not be percent-encoded"
        elif ch == "\\":
            problem = "must not contain a backslash"
        elif ch == " ":
            problem = "must not contain spaces"
        else:
            problem = f"contains {ch!r}, which a host name cannot have"
        raise ConfigurationError(
            f"Login URL {_shown(text)} {problem}, e.g. https://acme.my.salesforce.com."
        )
    host_port, slash, path = rest.partition("/")
    if slash and path:
        raise ConfigurationError(
            f"Login URL {_shown(text)} must be just the host (no path), "
            "e.g. https://acme.my.salesforce.com."
        )
    if host_port.startswith("["):
        end = host_port.find("]")
        if end < 0:
            raise ConfigurationError(f"Login URL {_shown(text)} has an unclosed '['.")
        host, after = host_port[: end + 1], host_port[end + 1 :]
        if after and not after.startswith(":"):
            raise ConfigurationError(f"Login URL {_shown(text)} is not a valid address.")
        port_text = after[1:] if after else None
    else:
        if "[" in host_port or "]" in host_port:
            raise ConfigurationError(f"Login URL {_shown(text)} is not a valid address.")
        host, colon, port_text_or_empty = host_port.partition(":")
        port_text = port_text_or_empty if colon else None
    host = _check_host(host, text)
    port = _check_port(port_text, text) if port_text is not None else None
    if scheme == "http" and not is_loopback_host(host):
        raise ConfigurationError(
            f"Login URL {_shown(text)} must use https; plain http is only accepted for a "
            "local emulator on localhost or 127.0.0.1."
        )
    if port == {"https": 443, "http": 80}[scheme]:
        port = None
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def login_host(login_url: str) -> str:
    """The host of a normalized login URL, without port (IPv6 without brackets)."""
    netloc = login_url.split("://", 1)[-1]
    if netloc.startswith("["):
        return netloc[1 : netloc.index("]")]
    return netloc.split(":", 1)[0]


def normalize_host_patterns(patterns: Iterable[object]) -> tuple[str, ...]:
    """An admin's allowed login hosts, checked: exact host names or IP addresses, or
    ``*.example.com`` (its subdomains, not example.com itself; at least two labels after
    the ``*.``, so never ``*.com``); lowercased, IPv6 compressed and without brackets.
    For the server's configuration, which should fail loudly on a typo."""
    result: list[str] = []
    for pattern in patterns:
        text = pattern.strip().lower() if isinstance(pattern, str) else ""
        wildcard = text.startswith("*.")
        name = text[2:] if wildcard else text
        try:
            host = ipaddress.ip_address(name.strip("[]")).compressed
            is_ip = True
        except ValueError:
            is_ip = False
            try:
                host = _check_host(name, name)
            except ConfigurationError:
                host = ""
        if not host or (wildcard and (is_ip or "." not in host)):
            raise ConfigurationError(
                f"{ALLOWED_HOSTS_SETTING}: {_shown(str(pattern), 80)} is not a host name, an "
                "IP address or a '*.example.com' pattern (write no scheme, port or path)."
            )
        entry = ("*." if wildcard else "") + host
        if entry not in result:
            result.append(entry)
    return tuple(result)


def host_matches(host: str, pattern: str) -> bool:
    """`host` is `pattern`, or `pattern` is ``*.suffix`` and `host` a subdomain of it."""
    host, pattern = host.lower(), pattern.strip().lower()
    if pattern.startswith("*."):
        suffix = pattern[1:]  # ".example.com": a whole label before it, never "*.com"
        return suffix.count(".") >= 2 and host.endswith(suffix) and len(host) > len(suffix)
    return bool(pattern) and host == pattern.strip("[]")


def check_login_url(url: object, allowed_hosts: Iterable[str] = ()) -> str:
    """`normalize_login_url`, then the policy: Salesforce's own login hosts
    (`SALESFORCE_LOGIN_HOSTS`), loopback (the emulator), and whatever the admin allowed
    (`allowed_hosts`, from ``c.SalesforceOAuth.allowed_login_hosts``). Anything else could
    be a look-alike that collects the user's password and the app's secret."""
    login_url = normalize_login_url(url)
    host = login_host(login_url)
    if is_loopback_host(host):
        return login_url
    for pattern in (*SALESFORCE_LOGIN_HOSTS, *allowed_hosts):
        if host_matches(host, pattern):
            return login_url
    raise ConfigurationError(
        f"{host} is not a Salesforce login host. Use https://login.salesforce.com, "
        "https://test.salesforce.com, your My Domain (https://NAME.my.salesforce.com) or "
        f"your Experience Cloud site (https://NAME.my.site.com). If {host} really is where "
        "your organization signs in to Salesforce, ask the Jupyter server's administrator "
        f"to add it to {ALLOWED_HOSTS_SETTING}."
    )


def normalize_scopes(scopes: object) -> str:
    """Scopes as one space-separated string; accepts a string or a list of strings."""
    if scopes is None or scopes == "" or scopes == []:
        return DEFAULT_SCOPES
    items: Iterable[object]
    if isinstance(scopes, str):
        items = scopes.replace(",", " ").split()
    elif isinstance(scopes, list | tuple):
        items = scopes
    else:
        raise ConfigurationError("Scopes must be a space-separated string or a list of strings.")
    result: list[str] = []
    for item in items:
        if not isinstance(item, str) or not _SCOPE_RE.fullmatch(item):
            raise ConfigurationError(f"{_shown(str(item), 80)} is not a valid OAuth scope.")
        if item not in result:
            result.append(item)
    if not result:
        return DEFAULT_SCOPES
    return " ".join(result)
