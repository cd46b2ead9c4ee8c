"""The REST API versions the emulated org serves, retired, or has never heard of.

Salesforce releases three versions a year (Spring, Summer, Winter; 31.0 was Summer '14)
and retires old ones: 7.0-20.0 in Summer '22 and 21.0-30.0 in Summer '25. A request for a
retired version answers ``410 Gone``; a version that never existed, or one newer than the
org's release, answers ``404 NOT_FOUND`` like any other unknown resource.
``GET /services/data`` lists 31.0 up to the org's release, ``LATEST_VERSION`` unless
``EmulatorConfig.latest_api_version`` names another (``--latest-api-version``).
"""

from __future__ import annotations

from ._errors import ApiError, not_found

__all__ = [
    "API_VERSIONS",
    "FIRST_VERSION",
    "LATEST_VERSION",
    "check_version",
    "parse_latest",
    "release_label",
    "served_versions",
    "version_list",
]

#: Oldest version still served (21.0-30.0 were retired in Summer '25).
FIRST_VERSION = 31
#: The org's release: Winter '27, the current one (Spring '26 was 66.0, Summer '26 67.0).
LATEST_VERSION = 68
#: Retired versions (Summer '22: 7.0-20.0; Summer '25: 21.0-30.0).
FIRST_RETIRED = 7

API_VERSIONS = [f"{major}.0" for major in range(FIRST_VERSION, LATEST_VERSION + 1)]
_RETIRED = frozenset(f"{major}.0" for major in range(FIRST_RETIRED, FIRST_VERSION))


def release_label(version: str) -> str:
    """``31.0`` -> ``Summer '14``: three releases a year, Summer '14 being 31.0."""
    index = int(float(version)) - 31
    season = ("Summer", "Winter", "Spring")[index % 3]
    return f"{season} '{14 + (index + 2) // 3:02d}"


def parse_latest(latest: str | None) -> int:
    """The major number of the org's newest version (``"68.0"`` -> 68); ValueError for a
    value that is not ``NN.0`` from 31.0 on."""
    if latest is None:
        return LATEST_VERSION
    major, dot, minor = latest.partition(".")
    if not major.isdigit() or (dot and minor != "0") or int(major) < FIRST_VERSION:
        raise ValueError(f"latest_api_version must be like 66.0, from 31.0 on: {latest!r}")
    return int(major)


def served_versions(latest: str | None = None) -> list[str]:
    """The versions the org serves, oldest first."""
    return [f"{major}.0" for major in range(FIRST_VERSION, parse_latest(latest) + 1)]


def version_list(latest: str | None = None) -> list[dict[str, str]]:
    """The body of ``GET /services/data``: oldest first, as Salesforce lists them."""
    return [
        {"label": release_label(v), "url": f"/services/data/v{v}", "version": v}
        for v in served_versions(latest)
    ]


def check_version(version: str, latest: str | None = None) -> None:
    """Raise the answer Salesforce gives for a version it does not serve."""
    if version in served_versions(latest):
        return
    if version in _RETIRED:
        # Salesforce documents the status (410) and restforce users report errorCode GONE.
        raise ApiError(
            410,
            "GONE",
            f"API version {version} has been retired and is no longer available. "
            f"Use version {API_VERSIONS[0]} or later.",
        )
    raise not_found()
