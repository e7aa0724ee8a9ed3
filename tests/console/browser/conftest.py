"""Browser tests: Debian's Chromium driven by Playwright against the console on a live server
(the `browser` fixture is in tests/conftest.py: one Playwright per session, stories use it too).

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

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.fixture(scope="session")
def console_live_server(
    settings: Settings, database: Database, redis_conn: redis.Redis
) -> Iterator[LiveServer]:
    app: Flask = create_app(console_overrides(settings, sse_heartbeat_s=2))
    with LiveServer(app) as server:
        yield server


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
