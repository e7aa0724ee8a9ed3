"""Story 3: a caller asks for an operator; all agents are busy, so they hear their position,
press 1 and leave the queue keeping their place. When an agent is free the callback is
placed: the first try is not answered, the retry is, and the caller is bridged to the agent,
whose screen-pop shows the caller's history.

The caller *speaks* the language and "operator" (Korean: the language of the model a package
registry carries) over the live speech path; everything after is keyed, as on a real phone.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hotline.queues.console import screen_pop, waiting_callers
from hotline.sim.outbound import Leg
from tests.helpers import wait_for
from tests.stories.conftest import Hotline
from workorders.callbacks import Callback
from workorders.queueing import QueueEntry

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 10, 12, 10, 0, tzinfo=SHANGHAI)


def heard(report: object) -> str:
    return "".join(text for _, text in report.said).replace(" ", "")  # type: ignore[attr-defined]


def test_operator_then_callback_keeping_the_place(speaking_hotline: Hotline) -> None:
    hotline = speaking_hotline
    hotline.set_clock(MONDAY)
    agent = hotline.agent(status="busy", talk_s=120)  # on another call
    caller = f"+86135{secrets.randbelow(10**8):08d}"

    # Says "Korean" · says "operator" · (all agents busy: position announced) · keys 1 = call
    # me back instead
    report = hotline.call(
        from_number=caller, keys="say,say,1", say=["한국어", "상담원"], queue_patience=5
    )
    text = heard(report)
    assert "상담원에게연결해드리겠습니다" in text, report.transcript  # understood: "operator"
    assert "1번째입니다" in text and "1번을누르세요" in text, report.transcript
    assert "대기순서대로다시전화드리겠습니다" in text
    with hotline.database.session() as session:
        entry = session.execute(
            select(QueueEntry).where(QueueEntry.call_sid == report.call_sid)
        ).scalar_one()
        callback = session.execute(
            select(Callback).where(Callback.phone_e164 == caller)
        ).scalar_one()
        assert entry.outcome == "callback" and entry.last_position == 1
        assert callback.keep_place and callback.place_at == entry.enqueued_at
        assert callback.requested_via == "ivr" and callback.position == 1
        # The console lists the callback in the caller's place in the queue.
        line = waiting_callers(session, now=MONDAY)["general"]
        assert [(w.kind, w.phone) for w in line] == [("callback", caller)]

    # The agent becomes free: the callback is placed; the citizen does not pick up.
    hotline.rest.script(caller, "no-answer", Leg("answer", talk_s=90))
    hotline.presence(agent, "available")
    token = hotline.api_token("agent")
    wait_for(
        lambda: (
            hotline.api("GET", f"/callbacks/{callback.id}", token)["attempts_made"] == 1
            and hotline.agent_status(agent) == "available"
        ),
        timeout=40,
    )
    first = hotline.api("GET", f"/callbacks/{callback.id}", token)
    assert first["status"] == "scheduled" and first["attempts"][0]["outcome"] == "no-answer"

    # After the backoff the sweep retries it: answered and bridged to the agent.
    hotline.set_clock(MONDAY + timedelta(minutes=3))
    hotline.sweep()
    done = wait_for(
        lambda: (
            (cb := hotline.api("GET", f"/callbacks/{callback.id}", token))["status"] == "completed"
            and cb
        ),
        timeout=40,
    )
    assert [a["outcome"] for a in done["attempts"]] == ["no-answer", "answered"]
    assert all(a["agent"] == agent for a in done["attempts"])
    assert (caller, "completed") in hotline.rest.outbound.dialled  # type: ignore[union-attr]

    # The agent's screen-pop for the callback call: the caller's history.
    with hotline.database.session() as session:
        row = session.get(Callback, callback.id)
        assert row is not None
        agent_leg = row.attempts[-1].agent_call_sid
        assert agent_leg
        pop = screen_pop(session, agent_leg, now=MONDAY + timedelta(minutes=3))
    assert pop is not None and pop.phone == caller and pop.direction == "callback"
    assert [h["call_sid"] for h in pop.history] == [report.call_sid]
    assert pop.callbacks[0]["id"] == callback.id
