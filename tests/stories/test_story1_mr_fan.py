"""Story 1: Mr. Fan calls twice a day — matched to his case, checked, told its status; then a
statement becomes an order routed to the civil appeals division; his third call lands on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from hotline.sim.outbound import Leg
from tests.stories.conftest import Hotline
from workorders.case_registry import CaseRecord, PartyRecord, upsert_case
from workorders.cases import PartyRole
from workorders.orders import WorkOrder

FAN = "+8613912345487"
CASE = "（2022）粤03民终5487号"
PASSWORD = "548754"


def heard(report: object) -> str:
    return "".join(text for _, text in report.said).replace(" ", "")  # type: ignore[attr-defined]


def test_mr_fan_calls_twice_a_day(hotline: Hotline) -> None:
    with hotline.database.session() as session:
        upsert_case(
            session,
            CaseRecord(
                case_number=CASE,
                cause="医疗损害责任纠纷",
                stage="mediation",
                status_text={"zh-CN": "二审调解阶段", "en-US": "second instance, mediation"},
                next_hearing_at=datetime.now(UTC) + timedelta(days=9),
                next_hearing_place="第三法庭",
                clerk_name="孙书记员",
                clerk_phone="+8675583000001",
                query_password=PASSWORD,
                parties=[
                    PartyRecord(name="范某", role=PartyRole.APPELLANT, phones=[FAN]),
                    PartyRecord(name="深圳市某医院", role=PartyRole.APPELLEE),
                ],
            ),
            pepper=hotline.settings.secret_key,
        )
        session.commit()

    # 1. Mandarin · "is it about 粤03民终5487?" yes · its progress · password · end
    first = hotline.call(from_number=FAN, keys=f"1,1,1,{PASSWORD}#,2")
    text = heard(first)
    assert "您是否来电咨询" in text and "五四八七" in text, first.transcript
    assert "二审调解阶段" in text and "第三法庭" in text
    assert hotline.wait_for_outcome(first.call_sid) == "resolved_in_ivr"

    # 2. The same afternoon: the IVR remembers the case; he reports a problem about it.
    second = hotline.call(from_number=FAN, keys="1,1,2,2")
    text = heard(second)
    assert "您之前来电咨询过" in text, second.transcript
    assert "您的诉求已登记" in text and "5个工作日内" in text
    token = hotline.api_token("handler")
    with hotline.database.session() as session:
        order = session.execute(
            select(WorkOrder).where(WorkOrder.contact_phone == FAN)
        ).scalar_one()
    number = order.number
    assert order.case_number == CASE and order.channel == "phone"
    routed = hotline.wait_for_order(number, lambda o: o["state"] == "dispatched", token)
    assert routed["department"] == "civil_appeal"  # the case's division

    # 3. That evening: he hears where the order stands; no second order is opened.
    third = hotline.call(from_number=FAN, keys="1,5,2")
    text = heard(third)
    assert "您已反映过此事" in text and "已派发承办部门" in text, third.transcript
    with hotline.database.session() as session:
        orders = session.scalar(
            select(func.count()).select_from(WorkOrder).where(WorkOrder.contact_phone == FAN)
        )
    assert orders == 1
    after_calls = hotline.api("GET", f"/work-orders/{number}", token)
    assert after_calls["contact_count"] == 2
    assert [e["move"] for e in after_calls["events"]].count("attach_contact") == 1

    # 4. The supervisor flags it; it heads this week's supervision list, with the reason.
    supervisor = hotline.api_token("supervisor")
    flagged = hotline.move(supervisor, number, "supervise", note="重复来电，3次/1天")
    assert flagged["supervised"]
    week = hotline.api("GET", "/supervision", supervisor)
    item = next(i for i in week["items"] if i["number"] == number)
    reasons = [r["text"] for r in item["reasons"]]
    assert any(r.startswith("repeat caller, 3 calls in 1 day") for r in reasons), reasons
    assert any(r["code"] == "flagged" for r in item["reasons"])

    # 5. The handler accepts and replies; it is completed before the deadline.
    hotline.move(token, number, "accept")
    hotline.move(token, number, "reply", note="已联系双方，安排本周内再次调解。")
    done = hotline.move(token, number, "complete")
    assert done["state"] == "completed"
    complete = next(e for e in done["events"] if e["move"] == "complete")
    assert complete["data"]["on_time"] is True

    # 6. The next working day the follow-up call asks him to rate the handling; he keys
    # "satisfied" (2), leaves no comment (2), and the order closes.
    (survey,) = hotline.api("GET", f"/callbacks?phone={FAN}", token)
    assert survey["purpose"] == "survey" and survey["status"] == "scheduled"
    due = datetime.fromisoformat(survey["due_at"])
    assert due.date() > datetime.now(due.tzinfo).date() and due.hour == 10
    hotline.rest.script(FAN, Leg("answer", keys="2,2"))
    hotline.set_clock(due + timedelta(minutes=5))
    hotline.sweep()
    closed = hotline.wait_for_order(number, lambda o: o["state"] == "closed", token)
    assert closed["satisfaction"] == "satisfied"
    follow_up = next(e for e in closed["events"] if e["move"] == "follow_up")
    assert follow_up["actor"] == "ivr:survey"
