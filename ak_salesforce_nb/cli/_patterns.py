"""What a secret looks like in a notebook, and what `--redact` hides besides.

Shapes, not values: the scrubber never knows anybody's token, so it recognises the forms
Salesforce and OAuth give them. Each `Pattern` names its kind (that name is all a report
ever says about a match: never the text) and, where a key introduces the secret
(``client_secret=…``), replaces only the value so the line still reads.

- Salesforce access tokens and session ids: ``00D…!AQ…`` (the 15-character org id, ``!``,
  the session part).
- Refresh tokens: ``5Aep…``.
- sfdx auth URLs: ``force://<client_id>:<client_secret>:<refresh_token>@<host>``.
- ``Bearer …`` in an Authorization header or a log line.
- A value next to a secret's key (``client_secret``, ``consumer_secret``,
  ``access_token``, ``refresh_token``, ``password``, ``private_key``, …) in ``k=v``,
  ``k: v`` or JSON form: hex or base64 consumer secrets, tokens of any shape. Only a value
  with a letter and a digit and at least 16 characters counts, so that
  ``client_secret=os.environ["X"]`` in a cell is not taken for a secret.
- JWTs: ``eyJ….eyJ….…`` (an id token, a JWT bearer assertion).
- PEM private keys.

`--redact` adds e-mail addresses (Salesforce usernames look like them) and instance hosts
(``*.my.salesforce.com``, ``*.salesforce.com``, ``*.force.com``), keeping the generic
login hosts (``login``/``test.salesforce.com``), which say nothing about anybody.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "REDACT_PATTERNS",
    "SECRET_PATTERNS",
    "Match",
    "Pattern",
    "find",
    "replace",
]

#: What a removed secret becomes (its kind in the brackets).
PLACEHOLDER = "[REDACTED {kind}]"


@dataclass(frozen=True)
class Pattern:
    """One shape: its `kind` (as reports say it), and a regex whose group ``secret``
    (else the whole match) is what gets replaced."""

    kind: str
    regex: re.Pattern[str]

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """The (start, end) of every secret part in `text`."""
        for match in self.regex.finditer(text):
            group = "secret" if "secret" in self.regex.groupindex else 0
            start, end = match.span(group)
            if start < end and not _already_redacted(text, start):
                yield start, end


def _already_redacted(text: str, start: int) -> bool:
    return text.startswith("[REDACTED", start)


_KEYS = (
    r"client[_\-]?secret|consumer[_\-]?secret|access[_\-]?token|refresh[_\-]?token"
    r"|session[_\-]?id|id[_\-]?token|password|passwd|private[_\-]?key|api[_\-]?key"
    r"|secret[_\-]?key|sfdx[_\-]?auth[_\-]?url|auth[_\-]?url"
)
# A literal secret: no spaces or quotes, 16+ characters, a letter and a digit among them.
_VALUE = r"(?=[^\s\"'&,;<>]*[0-9])(?=[^\s\"'&,;<>]*[A-Za-z])[^\s\"'&,;<>]{16,}"

SECRET_PATTERNS: tuple[Pattern, ...] = (
    Pattern("sfdx auth URL", re.compile(r"force://[^\s\"'<>@]+@[^\s\"'<>]+")),
    Pattern(
        "private key",
        re.compile(
            r"-----BEGIN (?:[A-Z ]+ )?PRIVATE KEY-----.*?-----END (?:[A-Z ]+ )?PRIVATE KEY-----",
            re.DOTALL,
        ),
    ),
    Pattern(
        "Salesforce access token",
        re.compile(r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]{20,}"),
    ),
    Pattern("Salesforce refresh token", re.compile(r"\b5Aep[A-Za-z0-9._\-]{30,}")),
    Pattern(
        "JWT",
        re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"),
    ),
    Pattern(
        "bearer token",
        re.compile(r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/=!\-]{16,})"),
    ),
    Pattern(
        "secret next to its key",
        re.compile(
            rf"(?i)(?<![A-Za-z0-9])(?:{_KEYS})(?![A-Za-z0-9])(?:\\?[\"'])?"
            rf"\s*(?:=|:|=>)\s*(?:\\?[\"'])?(?P<secret>{_VALUE})"
        ),
    ),
)

REDACT_PATTERNS: tuple[Pattern, ...] = (
    Pattern(
        "e-mail address",
        re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b"),
    ),
    Pattern(
        "instance host",
        re.compile(
            r"\b(?!(?:login|test)\.salesforce\.com\b)"
            r"[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.(?:salesforce|force)\.com\b"
        ),
    ),
)


@dataclass(frozen=True)
class Match:
    """A secret found: its kind (never its text)."""

    kind: str
    start: int
    end: int


def find(text: str, patterns: tuple[Pattern, ...]) -> list[Match]:
    """Every match of `patterns` in `text`, earliest first, overlaps dropped (the first
    pattern in order wins at the same start, so an auth URL is not also a token)."""
    found = sorted(
        (Match(p.kind, start, end) for p in patterns for start, end in p.spans(text)),
        key=lambda m: (m.start, -(m.end - m.start)),
    )
    kept: list[Match] = []
    for match in found:
        if kept and match.start < kept[-1].end:
            continue
        kept.append(match)
    return kept


def replace(text: str, patterns: tuple[Pattern, ...]) -> tuple[str, list[str]]:
    """`text` with every match replaced by its placeholder, and the kinds replaced."""
    matches = find(text, patterns)
    if not matches:
        return text, []
    parts: list[str] = []
    position = 0
    for match in matches:
        parts += [text[position : match.start], PLACEHOLDER.format(kind=match.kind)]
        position = match.end
    parts.append(text[position:])
    return "".join(parts), [m.kind for m in matches]
