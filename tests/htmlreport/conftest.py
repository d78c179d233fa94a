"""Fixtures of the HTML tests: the plugin registry and a real headless Chromium.

Chromium is Debian's ``chromium`` package (``make chromium`` installs it when missing;
``make test`` depends on that target), driven through Playwright's protocol client
with ``executable_path``: Playwright's own browser download is never used. A machine
without it fails these tests, naming the fix, rather than skipping them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from arlequin_core.plugins import PluginHost
from arlequin_core.registry import ComponentRegistry


@pytest.fixture(scope="session")
def registry() -> ComponentRegistry:
    host = PluginHost().load()
    assert not host.failures, host.failures
    return host.registry


def chromium_path() -> str | None:
    """``$ARLEQUIN_CHROMIUM``, else ``chromium`` (Debian) or ``chromium-browser`` on PATH."""
    return os.environ.get("ARLEQUIN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        pytest.fail("no chromium on PATH: run `make chromium` (installs Debian's chromium package)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh tab at a laptop's size (1280 x 800), offline: a report must need no network."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, offline=True)
    try:
        yield context.new_page()
    finally:
        context.close()
