"""Story 6: the supervisor's wall. With the dashboard open in a real browser (Debian's
Chromium, headless), a simulated call comes in and is answered, and the connection-rate tile
changes by itself (over SSE) showing its numerator and denominator; then a caller who hangs
up while queued appears in the abandoned-calls list with position and wait."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from hotline.users.roles import Role
from tests.console.browser.conftest import shot
from tests.console.browser.test_console_browser import log_in
from tests.console.conftest import ConsoleUser, make_user  # noqa: F401 (a fixture)
from tests.helpers import wait_for
from tests.queues.test_queue_calls import Caller, entry_of, mobile
from tests.stories.conftest import Hotline

SHANGHAI_TUESDAY = datetime.fromisoformat("2026-10-13T09:00:00+08:00")
LIVE_S = 5_000  # ms Playwright waits for a live change: the story asks for 2 s; slack for CI


@pytest.fixture
def wall(browser: Any, hotline: Hotline) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1920, "height": 1080}, base_url=hotline.server.url
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def tile_fraction(page: Any, key: str) -> tuple[int, int]:
    tile = page.get_by_test_id(f"kpi-{key}")
    return (
        int(tile.get_by_test_id("numerator").inner_text()),
        int(tile.get_by_test_id("denominator").inner_text()),
    )


def open_wall(page: Any, path: str) -> None:
    page.goto(path)
    # Both streams (kpis, orders) open: from here on no event is missed.
    page.wait_for_selector("#panel[data-live-open='1']", state="attached")


def test_the_supervisor_sees_a_call_change_the_connection_rate(
    wall: Any,
    hotline: Hotline,
    make_user: Any,  # noqa: F811
) -> None:
    supervisor: ConsoleUser = make_user(Role.SUPERVISOR)
    log_in(wall, supervisor.login)
    open_wall(wall, "/console/dashboard?wall=1")
    rate = wall.get_by_test_id("kpi-connection_rate")
    num, den = tile_fraction(wall, "connection_rate")
    shot(wall, "story6-wall-before-call")

    report = hotline.call(from_number="+14155550199", keys="2,4,1,2")  # answered by the IVR
    assert report.ok

    # No reload: the panel is re-rendered from the live event.
    from playwright.sync_api import expect

    expect(rate.get_by_test_id("denominator")).not_to_have_text(str(den), timeout=LIVE_S)
    expect(rate.get_by_test_id("numerator")).not_to_have_text(str(num), timeout=LIVE_S)
    new_num, new_den = tile_fraction(wall, "connection_rate")
    assert new_num >= num + 1 and new_den >= den + 1
    value = rate.get_by_test_id("value").inner_text()
    assert value == f"{100 * new_num / new_den:.1f} %"
    assert int(wall.locator("#panel").get_attribute("data-updates") or 0) >= 1
    shot(wall, "story6-wall-after-call")


def test_a_caller_who_hangs_up_in_the_queue_appears_as_abandoned(
    wall: Any,
    hotline: Hotline,
    make_user: Any,  # noqa: F811
) -> None:
    # Queue times follow work time: a Tuesday morning, a minute of its own for this run.
    hotline.set_clock(SHANGHAI_TUESDAY + timedelta(minutes=secrets.randbelow(300)))
    day = SHANGHAI_TUESDAY.date().isoformat()
    agent = hotline.agent(status="busy", talk_s=2)
    supervisor: ConsoleUser = make_user(Role.SUPERVISOR)
    log_in(wall, supervisor.login)
    open_wall(wall, f"/console/dashboard?from={day}&to={day}")

    ahead = Caller(hotline, "2,0", patience=400)
    ahead.start()
    wait_for(lambda: entry_of(hotline, ahead.sid), timeout=30)
    phone = mobile()
    quitter = hotline.place_call(from_number=phone, keys="2,0", queue_patience=2)
    assert quitter.ok and quitter.ended_by == "caller", quitter.transcript
    entry = entry_of(hotline, quitter.call_sid)
    assert entry is not None and entry.outcome == "abandoned" and entry.wait_s

    from playwright.sync_api import expect

    row = wall.locator(f"[data-testid=abandoned] tr[data-call='{quitter.call_sid}']")
    expect(row).to_be_visible(timeout=LIVE_S)
    expect(row.get_by_test_id("position")).to_have_text("2")
    expect(row.get_by_test_id("wait")).to_have_text(f"{round(entry.wait_s)} s")
    left = entry.left_at or entry.enqueued_at  # the list shows when the caller hung up
    local = left.astimezone(SHANGHAI_TUESDAY.tzinfo).strftime("%H:%M")
    expect(row).to_contain_text(local)  # when, in the court's time
    assert phone not in row.inner_text() and phone[-4:] in row.inner_text()  # masked
    shot(wall, "story6-abandoned-call")

    hotline.presence(agent, "available")  # the caller ahead is answered in the end
    ahead.join(60)
    assert ahead.report is not None and ahead.report.bridged_to, ahead.report
