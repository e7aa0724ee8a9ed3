"""The satisfaction follow-up: completing an order schedules a survey call for the next
working day; the survey flow records the answer, and "dissatisfied" reopens the order as a
redo and tells the supervisor."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from hotline.sim.outbound import Leg
from tests.helpers import wait_for
from tests.queues.conftest import SHANGHAI, WORKING_MORNING, Hotline
from workorders.surveys import SurveyAnswer


def test_a_dissatisfied_survey_answer_reopens_the_order(hotline: Hotline) -> None:
    hotline.set_clock(WORKING_MORNING)
    phone = f"+86136{secrets.randbelow(10**8):08d}"
    staff, handler = hotline.api_token("staff"), hotline.api_token("handler")
    order = hotline.api(
        "POST",
        "/work-orders",
        staff,
        {"channel": "visit", "category": "complaint", "summary": f"窗口态度 {phone}",
         "contact": {"phone": phone}, "on_duplicate": "register"},
    )  # fmt: skip
    number = order["number"]
    hotline.wait_for_order(number, lambda o: o["state"] == "dispatched", staff)  # routed
    for move in ("accept", "start"):
        hotline.move(handler, number, move)
    hotline.move(handler, number, "reply", note="已批评教育窗口人员。")
    hotline.move(staff, number, "complete")
    (survey,) = hotline.api("GET", f"/callbacks?phone={phone}", staff)
    assert survey["purpose"] == "survey" and survey["status"] == "scheduled"
    # One working day later, from 10:00 in the court's time zone.
    assert survey["due_at"] == "2026-10-13T10:00:00+08:00"

    hotline.rest.script(phone, Leg("answer", keys="4,1"))  # dissatisfied · leave a comment
    hotline.set_clock(datetime(2026, 10, 13, 10, 5, tzinfo=SHANGHAI))
    hotline.sweep()
    done = wait_for(
        lambda: (
            (cb := hotline.api("GET", f"/callbacks/{survey['id']}", staff))["status"] == "completed"
            and cb
        ),
        timeout=40,
    )
    assert [a["outcome"] for a in done["attempts"]] == ["answered"]
    reopened = hotline.api("GET", f"/work-orders/{number}", staff)
    assert reopened["state"] == "in_progress" and reopened["redo_count"] == 1
    moves = [e["move"] for e in reopened["events"]]
    assert moves[-3:] == ["follow_up", "reopen", "note"]
    note = reopened["events"][-1]
    assert note["data"]["notify"] == "supervisor" and note["data"]["satisfaction"] == "dissatisfied"
    with hotline.database.session() as session:
        answer = session.execute(
            select(SurveyAnswer).where(SurveyAnswer.callback_id == survey["id"])
        ).scalar_one()
    assert answer.answer == "dissatisfied" and answer.channel == "ivr" and answer.reopened
    assert answer.comment_recording_url  # the optional recorded comment
    # The reopened order got a new deadline on the business calendar.
    assert datetime.fromisoformat(reopened["deadline"]) > WORKING_MORNING + timedelta(days=1)
