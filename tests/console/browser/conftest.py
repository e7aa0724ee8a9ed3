"""Browser tests: Debian's Chromium driven by Playwright against the console on a live server.

Playwright's own browser downloads are never used (`playwright install` is not run): the
browser is /usr/bin/chromium from `make system-deps`. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask

from hotline import create_app
from hotline.config import Settings
from hotline.db import Database
from tests.conftest import LiveServer
from tests.console.conftest import console_overrides

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.fixture(scope="session")
def console_live_server(
    settings: Settings, database: Database, redis_conn: redis.Redis
) -> Iterator[LiveServer]:
    app: Flask = create_app(console_overrides(settings, sse_heartbeat_s=2))
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps`")
    with sync_playwright() as pw:
        # --no-sandbox: the tests run as root in CI, where Chromium's sandbox refuses to start.
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, console_live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser context (own cookies) on a 1366×768 screen."""
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, base_url=console_live_server.url
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
