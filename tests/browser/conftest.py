"""A real Chromium driven by Playwright against pytest-django's live server.

Playwright's own browser download is not used: CI and developers install Debian's ``chromium``
(``scripts/install-browser``). Without Chromium or the ``playwright`` package the tests skip.

Playwright's sync API keeps an asyncio loop running in the test's thread while the browser is
open, so Django's ORM there raises ``SynchronousOnlyOperation``. The browser is therefore opened
by calling ``open_browser()`` in the test body, after every database fixture has run, and the test
asserts only on what the browser shows. Nothing sets ``DJANGO_ALLOW_ASYNC_UNSAFE``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # The machine's network is closed: no update, sync or field-trial requests at start-up.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000

_reports = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report: pytest.TestReport = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


def _artifact_path(request: pytest.FixtureRequest) -> str:
    directory = request.config.rootpath / "test-artifacts"
    directory.mkdir(exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    return str(directory / f"{name}.png")


@pytest.fixture
def open_browser(
    request: pytest.FixtureRequest, live_server: LiveServer, tmp_path
) -> Iterator[Callable[[], Page]]:
    """Return a function opening a fresh Chromium page on the live server.

    When the test fails, the page is saved as ``test-artifacts/<test name>.png``.
    """
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (scripts/install-browser)"
    )
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Chromium is not installed (scripts/install-browser)")

    pages: list[Page] = []
    playwright = None

    def open_() -> Page:
        nonlocal playwright
        playwright = sync_api.sync_playwright().start()
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "chromium-profile",
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            base_url=live_server.url,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(TIMEOUT_MS)
        sync_api.expect.set_options(timeout=TIMEOUT_MS)
        page = context.pages[0] if context.pages else context.new_page()
        pages.append(page)
        return page

    yield open_

    try:
        call = request.node.stash.get(_reports, {}).get("call")
        if pages and call is not None and call.failed:
            path = _artifact_path(request)
            try:
                pages[0].screenshot(path=path, full_page=True)
            except sync_api.Error as error:  # a crashed page must not hide the real failure
                print(f"no screenshot: {error}")
            else:
                print(f"screenshot: {path}")
    finally:
        if playwright is not None:
            for page in pages:
                page.context.close()
            playwright.stop()
