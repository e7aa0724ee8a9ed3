"""Story 4: a letter that runs late — routed, reminded, extended, completed, rated
dissatisfied and reopened, on the business calendar with a public holiday in the window."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hotline.sim.outbound import Leg
from tests.helpers import wait_for
from tests.stories.conftest import Hotline

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_letter_that_runs_late(hotline: Hotline) -> None:
    staff, handler, supervisor = (hotline.api_token(n) for n in ("staff", "handler", "supervisor"))
    # Monday 28 September 2026: the window holds a weekend and the National Day holiday
    # (1–7 October) with the make-up working day of Saturday 10 October.
    hotline.set_clock(datetime(2026, 9, 28, 10, 0, tzinfo=SHANGHAI))
    order = hotline.api(
        "POST",
        "/work-orders",
        staff,
        {
            "channel": "letter",
            "category": "other",
            "summary": "来信：判决生效后被执行人拒不履行",
            "statement": "（2024）粤03执恢88号案件，被执行人名下有房产，请求法院强制执行。",
            "contact": {"name": "张某", "phone": "+8613712345678", "address": "深圳市福田区"},
            "on_duplicate": "register",
        },
    )
    number = order["number"]
    # 5 working days: 29, 30 Sep, 8, 9, 10 Oct (make-up day) → Saturday 10 October, 18:00
    assert order["deadline"] == "2026-10-10T18:00:00+08:00"

    routed = hotline.wait_for_order(number, lambda o: o["state"] == "dispatched", staff)
    assert routed["department"] == "enforcement"  # by the keywords of the letter
    wait_for(
        lambda: any(
            m["Body"].startswith("【诉讼服务热线】您的诉求已登记")
            and number in m["Body"]
            and m["To"] == "+8613712345678"
            for m in hotline.rest.messages
        ),
        timeout=30,
    )

    hotline.move(handler, number, "accept")
    hotline.move(handler, number, "start")
    # The morning of Friday 9 October, the working day before the deadline: reminded.
    hotline.set_clock(datetime(2026, 10, 9, 9, 30, tzinfo=SHANGHAI))
    hotline.sweep()
    reminded = hotline.api("GET", f"/work-orders/{number}", staff)
    assert [e["move"] for e in reminded["events"]].count("remind") == 1
    assert "overdue" not in [e["move"] for e in reminded["events"]]

    hotline.move(handler, number, "request_extension", days=3, note="需调查被执行人财产")
    extended = hotline.move(supervisor, number, "approve_extension")
    # three working days after Saturday 10 October: 12, 13, 14 October
    assert extended["deadline"] == "2026-10-14T18:00:00+08:00"
    # the citizen is told the new date
    wait_for(
        lambda: any(
            "延期" in m["Body"] and "2026年10月14日" in m["Body"] for m in hotline.rest.messages
        ),
        timeout=30,
    )

    hotline.set_clock(datetime(2026, 10, 13, 15, 0, tzinfo=SHANGHAI))
    hotline.move(handler, number, "reply", note="已查封被执行人名下房产，正在评估拍卖。")
    completed = hotline.move(staff, number, "complete")
    assert completed["state"] == "completed"
    # The follow-up call, the next working day: "dissatisfied" (4), no comment (2).
    (survey,) = hotline.api("GET", "/callbacks?phone=%2B8613712345678", staff)
    assert survey["due_at"] == "2026-10-14T10:00:00+08:00"
    hotline.rest.script("+8613712345678", Leg("answer", keys="4,2"))
    hotline.set_clock(datetime(2026, 10, 14, 10, 5, tzinfo=SHANGHAI))
    hotline.sweep()
    redo = hotline.wait_for_order(number, lambda o: o["redo_count"] == 1, staff)
    assert redo["state"] == "in_progress" and redo["satisfaction"] == "dissatisfied"

    log = [(e["move"], e["from_state"], e["to_state"]) for e in redo["events"]]
    assert [m for m, *_ in log] == [
        "register",
        "dispatch",
        "accept",
        "start",
        "remind",
        "request_extension",
        "approve_extension",
        "reply",
        "complete",
        "follow_up",
        "reopen",
        "note",  # the supervisor is told
    ]
    assert log[-3:-1] == [
        ("follow_up", "completed", "closed"),
        ("reopen", "closed", "in_progress"),
    ]
