"""The browser fixtures of tests/browser (Debian's chromium through Playwright), here too."""

from __future__ import annotations

from tests.browser.conftest import (
    browser,
    jp_asyncio_loop,
    jp_server_cleanup,
    pytest_runtest_makereport,
)

__all__ = ["browser", "jp_asyncio_loop", "jp_server_cleanup", "pytest_runtest_makereport"]
