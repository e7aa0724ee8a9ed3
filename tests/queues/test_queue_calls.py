"""Callers in agent queues, played by the simulator against the running app: positions
announced, the longest-waiting caller answered first by a simulated agent, a caller hanging
up while queued recorded as abandoned with position and wait, the after-hours path."""

from __future__ import annotations

import secrets
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import select

from hotline.queues.console import screen_pop
from hotline.sim.report import CallReport
from tests.helpers import wait_for
from tests.queues.conftest import SHANGHAI, WORKING_MORNING, Hotline
from workorders.callbacks import Callback
from workorders.queueing import QueueEntry


def mobile() -> str:
    return f"+86139{secrets.randbelow(10**8):08d}"


def entry_of(hotline: Hotline, call_sid: str) -> QueueEntry | None:
    with hotline.database.session() as session:
        return session.execute(
            select(QueueEntry).where(QueueEntry.call_sid == call_sid)
        ).scalar_one_or_none()


class Caller(threading.Thread):
    """A caller on their own thread, waiting in a queue while others do."""

    def __init__(
        self, hotline: Hotline, keys: str, patience: int = 400, phone: str | None = None
    ) -> None:
        super().__init__(daemon=True)
        self.hotline, self.keys, self.patience = hotline, keys, patience
        self.phone = phone or mobile()
        self.sid = f"CA{secrets.token_hex(16)}"
        self.report: CallReport | None = None
        self.lines: list[str] = []  # the transcript as it happens

    def run(self) -> None:
        self.report = self.hotline.place_call(
            from_number=self.phone,
            keys=self.keys,
            call_sid=self.sid,
            queue_patience=self.patience,
            out=self.lines.append,
        )

    def heard_so_far(self) -> str:
        return " ".join(self.lines)


def said(report: Any) -> str:
    return " ".join(text for _, text in report.said)


def test_callers_hear_their_position_and_the_longest_waiting_goes_first(
    hotline: Hotline,
) -> None:
    hotline.set_clock(WORKING_MORNING)
    agent = hotline.agent(talk_s=4, status="busy")  # signed in, on another call
    first = Caller(hotline, "2,0")  # English · operator
    first.start()
    wait_for(lambda: entry_of(hotline, first.sid), timeout=30)
    second = Caller(hotline, "2,0")
    second.start()
    wait_for(lambda: entry_of(hotline, second.sid), timeout=30)
    # The second caller's wait TwiML names their place and offers the keep-place callback.
    wait_for(lambda: "number 2 in line" in second.heard_so_far(), timeout=30)

    hotline.presence(agent, "available")
    first.join(60)
    second.join(60)
    assert first.report is not None and second.report is not None
    assert first.report.ok, first.report.transcript
    assert second.report.ok, second.report.transcript
    assert "press 1" in said(second.report)
    a, b = entry_of(hotline, first.sid), entry_of(hotline, second.sid)
    assert a is not None and b is not None
    assert (a.outcome, b.outcome) == ("answered", "answered")
    assert a.answered_at is not None and b.answered_at is not None
    assert a.answered_at < b.answered_at  # first come, first served
    assert (a.agent_login, b.agent_login) == (agent, agent)
    assert (a.position_at_entry, b.position_at_entry) == (1, 2)
    assert b.wait_s is not None and a.wait_s is not None and b.wait_s > 0
    # The agent hung up after 4 s each time: the talk time is the bridge's, both calls
    # ended cleanly, and the agent is free again.
    assert (a.handle_s, b.handle_s) == (4.0, 4.0)
    assert first.report.bridged_to and first.report.ended_by == "hangup"
    assert "Connecting you to an agent" in said(first.report)
    wait_for(lambda: hotline.agent_status(agent) == "available", timeout=30)
    with hotline.database.session() as session:
        pop = screen_pop(session, first.sid, now=WORKING_MORNING)
    assert pop is not None and pop.direction == "inbound" and pop.queue == "general"
    assert pop.waited_s == a.wait_s and pop.transcript == []


def test_a_caller_who_hangs_up_in_the_queue_is_abandoned_with_position_and_wait(
    hotline: Hotline,
) -> None:
    hotline.set_clock(WORKING_MORNING)
    agent = hotline.agent(status="busy", talk_s=2)
    ahead = Caller(hotline, "2,0", patience=400)
    ahead.start()
    wait_for(lambda: entry_of(hotline, ahead.sid), timeout=30)
    quitter = hotline.place_call(from_number=mobile(), keys="2,0", queue_patience=2)
    assert quitter.ok, quitter.transcript
    assert quitter.ended_by == "caller"
    entry = entry_of(hotline, quitter.call_sid)
    assert entry is not None and entry.outcome == "abandoned"
    assert entry.last_position == 2 and entry.position_at_entry == 2
    assert entry.wait_s is not None and entry.wait_s > 0 and entry.left_at is not None
    assert "number 2 in line" in said(quitter)
    hotline.presence(agent, "available")  # the caller ahead is answered in the end
    ahead.join(60)
    assert ahead.report is not None and ahead.report.bridged_to, ahead.report


def test_after_hours_the_caller_is_offered_a_callback_that_keeps_a_place(
    hotline: Hotline,
) -> None:
    hotline.set_clock(datetime(2026, 10, 11, 15, 0, tzinfo=SHANGHAI))  # Sunday afternoon
    hotline.agent(status="available")
    phone = mobile()
    report = hotline.call(from_number=phone, keys="2,0,1")  # English · operator · callback
    text = said(report)
    assert "working days from 9 am to 6 pm" in text, report.transcript
    assert "We will call you back during our opening hours" in text
    entry = entry_of(hotline, report.call_sid)
    assert entry is not None and entry.outcome == "after_hours" and entry.wait_s == 0
    with hotline.database.session() as session:
        callback = session.execute(
            select(Callback).where(Callback.phone_e164 == phone)
        ).scalar_one()
    assert callback.keep_place and callback.queue == "general"
    assert callback.requested_via == "ivr" and callback.status == "scheduled"
    # Monday 09:00, when the agents are back.
    assert callback.due_at == datetime(2026, 10, 12, 9, 0, tzinfo=SHANGHAI)


def test_with_nobody_signed_in_the_caller_leaves_a_message(hotline: Hotline) -> None:
    hotline.set_clock(WORKING_MORNING)
    report = hotline.call(from_number=mobile(), keys="2,0,2")  # operator · leave a message
    text = said(report)
    assert "no agent can take your call" in text, report.transcript
    assert "leave a message after the tone" in text
    assert report.recorded


def test_an_agent_who_misses_the_offer_goes_offline_and_the_next_agent_answers(
    hotline: Hotline,
) -> None:
    hotline.set_clock(WORKING_MORNING)
    absent = hotline.agent(status="busy", answers=False)
    present = hotline.agent(status="busy", talk_s=3)
    caller = Caller(hotline, "2,0")
    caller.start()
    wait_for(lambda: entry_of(hotline, caller.sid), timeout=30)
    hotline.presence(absent, "available")  # free longest: offered first
    hotline.presence(present, "available")
    caller.join(60)
    assert caller.report is not None and caller.report.ok, caller.report
    entry = entry_of(hotline, caller.sid)
    assert entry is not None and entry.outcome == "answered" and entry.agent_login == present
    assert hotline.agent_status(absent) == "offline"


def test_the_matched_case_decides_the_skill_queue(hotline: Hotline) -> None:
    from tests.hotline.test_cases_end_to_end import new_case

    hotline.set_clock(WORKING_MORNING)
    civil = hotline.agent(skills=("civil",), status="busy", talk_s=2)
    phone = mobile()
    case = new_case(hotline.database, phone=phone, serial=60000 + secrets.randbelow(9999))
    assert case.division == "civil_appeal"  # 民终: the civil appeals division
    # English · "is it about this case?" yes · something else · operator
    caller = Caller(hotline, "2,1,0,0", phone=phone)
    caller.start()
    wait_for(lambda: entry_of(hotline, caller.sid), timeout=30)
    entry = entry_of(hotline, caller.sid)
    assert entry is not None and entry.queue == "civil", caller.heard_so_far()
    hotline.presence(civil, "available")
    caller.join(60)
    answered = entry_of(hotline, caller.sid)
    assert answered is not None and answered.agent_login == civil
    assert answered.outcome == "answered"
