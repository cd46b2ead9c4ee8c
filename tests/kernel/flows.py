"""Helpers for the kernel-side sign-in tests: a "browser" that approves by opening the
emulator's verification page or authorize link (the emulator auto-approves)."""

from __future__ import annotations

import httpx


def open_verification_page(verification_uri: str, user_code: str) -> None:
    """What a person's browser does with the link (the emulator auto-approves)."""
    page = httpx.get(verification_uri, params={"user_code": user_code})
    assert page.status_code == 200, page.text


def approve_link(link: str) -> str:
    """The address the browser lands on after the authorize page approves (auto-approve)."""
    response = httpx.get(link, follow_redirects=False)
    assert response.status_code == 302, response.text
    return str(response.headers["location"])
