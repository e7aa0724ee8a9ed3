"""Story 5: a matter transferred by the superior court joins the citizen's open order."""

from __future__ import annotations

import secrets

from tests.stories.conftest import Hotline


def test_a_transfer_from_the_superior_court(hotline: Hotline) -> None:
    staff, high_court, dispatcher = (
        hotline.api_token(n) for n in ("staff", "high-court", "dispatcher")
    )
    phone = f"+86137{secrets.randbelow(10**8):08d}"
    case = f"（2025）粤03民终{secrets.randbelow(9000) + 1000}号"
    parent = hotline.api(
        "POST",
        "/work-orders",
        staff,
        {
            "channel": "visit",
            "category": "case_progress",
            "summary": "二审案件久拖未判，当事人来访反映",
            "statement": f"{case} 上诉已一年，至今没有开庭通知。",
            "contact": {"name": "陈某", "phone": phone},
            "case_number": case,
            "on_duplicate": "register",
        },
    )
    ref = f"粤高法转〔2026〕{secrets.randbelow(10**6)}号"
    transfer = {
        "channel": "transfer",
        "category": "case_progress",
        "external_ref": ref,
        "summary": "省高院转办：当事人反映二审案件久拖未判",
        "statement": f"{case} 当事人陈某来信反映上诉一年未开庭，请核查办理。",
        "contact": {"name": "陈某", "phone": phone},
        "case_number": case,
    }
    # Intake proposes attaching it to the open order instead of registering a second one.
    proposal = hotline.api("POST", "/work-orders", high_court, transfer, expect=409)
    assert proposal["code"] == "possible_duplicate"
    assert proposal["candidates"][0]["number"] == parent["number"]
    # The court's system registers it anyway (it is an official transfer)...
    child = hotline.api("POST", "/work-orders", high_court, dict(transfer, on_duplicate="register"))
    assert child["possible_duplicates"][0]["number"] == parent["number"]
    # ...sending it twice changes nothing...
    again = hotline.api("POST", "/work-orders", high_court, dict(transfer, on_duplicate="register"))
    assert again["number"] == child["number"] and again["replayed"]
    # ...and the dispatcher merges it into the parent.
    merged = hotline.move(dispatcher, child["number"], "merge", parent=parent["number"])
    assert merged["state"] == "merged"
    # Later contacts land on the parent order.
    later = hotline.api(
        "POST",
        "/work-orders",
        staff,
        {
            "channel": "web",
            "category": "case_progress",
            "summary": "网上留言：二审案件久拖未判",
            "statement": f"{case} 仍未开庭。",
            "contact": {"phone": phone},
            "case_number": case,
            "on_duplicate": "attach",
        },
    )
    assert later["attached"] and later["number"] == parent["number"]
    final = hotline.api("GET", f"/work-orders/{parent['number']}", staff)
    assert final["contact_count"] == 3
    assert [e["move"] for e in final["events"]].count("attach_contact") == 2
