"""The agent console in a real browser, with a simulated caller: the caller waits in a queue
(the simulator's switchboard) and appears on the agent's page without a reload; the agent
presses "available" (Alt+1), the worker offers them the caller, the REST stand-in's agent
answers, and the screen-pop of the bridged call appears."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hotline.queues.presence import Presence, set_presence
from hotline.redis_store import redis_client
from hotline.users.roles import Role
from tests.console.browser.conftest import shot
from tests.console.browser.test_console_browser import log_in
from tests.console.conftest import ConsoleUser
from tests.helpers import wait_for
from tests.queues.conftest import WORKING_MORNING, Hotline
from tests.queues.test_queue_calls import Caller, entry_of
from tests.stories.conftest import hotline  # noqa: F401  (the fixture)
from workorders.agents import save_agent
from workorders.phones import mask_number


def test_an_agent_sees_the_caller_waiting_then_the_screen_pop(
    page: Any,
    hotline: Hotline,  # noqa: F811  (the fixture imported above)
    make_user: Callable[..., ConsoleUser],
) -> None:
    hotline.set_clock(WORKING_MORNING)
    user = make_user(Role.AGENT)
    with hotline.database.session() as session:  # a console user who is also an agent
        save_agent(
            session, login=user.login, skills=["general"], client_identity=user.login,
            known_queues=frozenset({"civil", "criminal", "enforcement", "general"}),
        )  # fmt: skip
        session.commit()
    hotline.rest.agent(f"client:{user.login}", talk_s=15, answers=True)
    hotline.agents.append(user.login)  # signed out after the test
    hotline.presence(user.login, "busy")  # on another call: the caller has to wait

    log_in(page, user.login)
    page.goto("/console/agent")
    live = page.locator("#agent-live")
    live.and_(page.locator("[data-live-open='1']")).wait_for()  # the stream is open
    assert page.get_by_test_id("no-call").is_visible()

    caller = Caller(hotline, "2,0")  # English · operator
    caller.start()
    try:
        wait_for(lambda: entry_of(hotline, caller.sid), timeout=30)
        row = page.locator(f'tr[data-call="{caller.sid}"]')
        row.wait_for()  # brought by the queue event: no reload
        assert mask_number(caller.phone) in row.inner_text()
        assert caller.phone not in page.content()
        assert page.url.endswith("/console/agent")
        shot(page, "agent-console-caller-waiting")

        # The agent is bridged to the caller: what the bridge webhook writes (the simulator's
        # agents talk in simulated time, too briefly for a page to watch).
        set_presence(
            redis_client(hotline.settings), user.login, Presence.BUSY,
            now=datetime.now(UTC), call_sid=caller.sid,
        )  # fmt: skip
        page.get_by_test_id("pop-call").filter(has_text=caller.sid).wait_for()
        assert page.get_by_test_id("pop-caller").inner_text() == mask_number(caller.phone)
        assert page.get_by_test_id("presence").inner_text() == "busy"
        assert page.url.endswith("/console/agent")  # no reload: two live updates
        assert int(live.get_attribute("data-updates") or 0) >= 2
        shot(page, "agent-console-screen-pop")

        # Then "available" by keyboard: the worker offers the caller to this agent for real.
        with page.expect_navigation():
            page.locator('button[value="available"]').press("Enter")
        caller.join(90)
        entry = entry_of(hotline, caller.sid)
        assert entry is not None and entry.outcome == "answered"
        assert entry.agent_login == user.login
    finally:
        caller.join(90)
    assert caller.report is not None and caller.report.bridged_to, caller.report
