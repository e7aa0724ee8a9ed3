"""Callbacks end to end with controlled time: scheduled through the API, placed by the real
worker when the RQ scheduler says they are due, retried, bridged to a simulated agent;
refused windows; a REST API that times out; a wrong number."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from hotline.sim.outbound import Leg
from tests.helpers import wait_for
from tests.queues.conftest import WORKING_MORNING, Hotline
from workorders.callbacks import Callback


def mobile() -> str:
    return f"+86137{secrets.randbelow(10**8):08d}"


def test_refused_windows_say_why(hotline: Hotline) -> None:
    hotline.set_clock(WORKING_MORNING)
    staff = hotline.api_token("staff")
    past = hotline.api(
        "POST",
        "/callbacks",
        staff,
        {
            "phone": mobile(),
            "window_start": (WORKING_MORNING - timedelta(hours=3)).isoformat(),
            "window_end": (WORKING_MORNING - timedelta(hours=2)).isoformat(),
        },
        expect=400,
    )
    assert past["code"] == "in_past"
    night = hotline.api(
        "POST",
        "/callbacks",
        staff,
        {
            "phone": mobile(),
            "window_start": WORKING_MORNING.replace(hour=22).isoformat(),
            "window_end": WORKING_MORNING.replace(hour=23).isoformat(),
        },
        expect=400,
    )
    assert night["code"] == "outside_allowed_hours"
    assert "2026-10-13T09:00:00+08:00" in night["detail"]
    bad = hotline.api("POST", "/callbacks", staff, {"phone": "abc"}, expect=400)
    assert bad["code"] == "bad_number"
    unknown = hotline.api(
        "PUT", "/agents/nobody-here/presence", staff, {"status": "available"}, expect=404
    )
    assert unknown["code"] == "not_found"


def test_a_scheduled_callback_is_placed_retried_and_bridged(hotline: Hotline) -> None:
    hotline.set_clock(WORKING_MORNING)
    agent = hotline.agent(status="available", talk_s=60)
    citizen = mobile()
    hotline.rest.script(citizen, "no-answer", Leg("answer", talk_s=45))
    staff = hotline.api_token("staff")
    soon = WORKING_MORNING + timedelta(seconds=3)
    created = hotline.api(
        "POST",
        "/callbacks",
        staff,
        {
            "phone": citizen,
            "window_start": soon.isoformat(),
            "reason": "asked about the hearing date",
            "requested_via": "agent",
        },
        expect=201,
    )
    assert created["status"] == "scheduled" and created["callee_tz"] == "Asia/Shanghai"
    number = created["id"]
    # The RQ scheduler fires the job at the due time: the agent is rung, dials the citizen.
    first = wait_for(
        lambda: (
            (cb := _callback(hotline, staff, number))["attempts_made"] == 1
            and cb["status"] == "scheduled"
            and cb
        ),
        timeout=40,
    )
    assert first["attempts"][0]["outcome"] == "no-answer"
    assert first["attempts"][0]["agent"] == agent
    assert first["last_outcome"] == "no-answer"
    wait_for(lambda: hotline.agent_status(agent) == "available", timeout=30)
    # Two minutes later (the first backoff step) the sweep finds it due and tries again.
    hotline.set_clock(WORKING_MORNING + timedelta(minutes=3))
    hotline.sweep()
    done = wait_for(
        lambda: (cb := _callback(hotline, staff, number))["status"] == "completed" and cb,
        timeout=40,
    )
    assert [a["outcome"] for a in done["attempts"]] == ["no-answer", "answered"]
    assert (f"client:{agent}", "completed") not in hotline.rest.outbound.dialled  # type: ignore[union-attr]
    assert (citizen, "completed") in hotline.rest.outbound.dialled  # type: ignore[union-attr]
    listed = hotline.api("GET", f"/callbacks?phone={citizen}", staff)
    assert [c["id"] for c in listed] == [number]


def _callback(hotline: Hotline, token: str, number: int) -> dict[str, Any]:
    return hotline.api("GET", f"/callbacks/{number}", token)


def test_a_rest_api_timeout_counts_as_a_failed_try_and_is_retried(hotline: Hotline) -> None:
    hotline.set_clock(WORKING_MORNING)
    agent = hotline.agent(status="busy")
    citizen = mobile()
    staff = hotline.api_token("staff")
    # Customer first: the citizen's leg is the REST call that hangs (the client gives up).
    hotline.rest.stall_next(12, to=citizen)
    created = hotline.api(
        "POST",
        "/callbacks",
        staff,
        {"phone": citizen, "bridge": "customer_first", "agent": agent},
        expect=201,
    )
    hotline.presence(agent, "available")
    failed = wait_for(
        lambda: (
            (cb := _callback(hotline, staff, created["id"]))["attempts_made"] == 1
            and cb["attempts"][0]["outcome"]
            and cb
        ),
        timeout=60,
    )
    attempt = failed["attempts"][0]
    assert attempt["outcome"] == "failed" and "Timeout" in (attempt["detail"] or "")
    assert failed["status"] == "scheduled"  # retried later, nothing lost
    wait_for(lambda: hotline.agent_status(agent) == "available", timeout=30)


def test_a_wrong_number_is_not_called_again(hotline: Hotline) -> None:
    hotline.set_clock(WORKING_MORNING)
    agent = hotline.agent(status="busy")
    citizen = mobile()
    staff = hotline.api_token("staff")
    hotline.rest.fail_next(400, to=citizen)  # Twilio: 21211 invalid 'To' number
    created = hotline.api(
        "POST", "/callbacks", staff, {"phone": citizen, "bridge": "customer_first"}, expect=201
    )
    hotline.presence(agent, "available")
    failed = wait_for(
        lambda: (cb := _callback(hotline, staff, created["id"]))["status"] == "failed" and cb,
        timeout=40,
    )
    assert [a["outcome"] for a in failed["attempts"]] == ["wrong-number"]
    with hotline.database.session() as session:
        row = session.execute(select(Callback).where(Callback.id == created["id"])).scalar_one()
        assert row.attempts_made == 1


def test_customer_first_rings_the_citizen_then_the_agent(hotline: Hotline) -> None:
    hotline.set_clock(WORKING_MORNING)
    agent = hotline.agent(status="available", talk_s=50)
    citizen = mobile()
    hotline.rest.script(citizen, Leg("answer", talk_s=40))
    staff = hotline.api_token("staff")
    created = hotline.api(
        "POST", "/callbacks", staff, {"phone": citizen, "bridge": "customer_first"}, expect=201
    )
    done = wait_for(
        lambda: (cb := _callback(hotline, staff, created["id"]))["status"] == "completed" and cb,
        timeout=40,
    )
    assert [(a["outcome"], a["agent"]) for a in done["attempts"]] == [("answered", agent)]
    assert (f"client:{agent}", "completed") in hotline.rest.outbound.dialled  # type: ignore[union-attr]
    hotline.rest.wait_idle()
    played = [p for p in hotline.rest.outbound.played if p.to == citizen]  # type: ignore[union-attr]
    assert played and "为您回电" in " ".join(t for _, t in played[0].report.said)  # type: ignore[union-attr]
    wait_for(lambda: hotline.agent_status(agent) == "available", timeout=30)


def test_an_agent_who_misses_a_callback_gives_the_try_back(hotline: Hotline) -> None:
    hotline.set_clock(WORKING_MORNING)
    absent = hotline.agent(status="available", answers=False)
    staff = hotline.api_token("staff")
    created = hotline.api("POST", "/callbacks", staff, {"phone": mobile()}, expect=201)
    wait_for(lambda: hotline.agent_status(absent) == "offline", timeout=40)
    kept = _callback(hotline, staff, created["id"])
    # The citizen was never rung: no attempt is spent and the callback keeps its place.
    assert kept["status"] == "scheduled" and kept["attempts_made"] == 0 and kept["attempts"] == []


def test_a_callback_id_beyond_the_integer_key_is_not_found(hotline: Hotline) -> None:
    # Found by schemathesis on PostgreSQL: the id reached the database and overflowed (500).
    token = hotline.api_token("console")
    for path in ("/callbacks/2147483648", "/callbacks/99999999999999999999"):
        hotline.api("GET", path, token, expect=404)
    hotline.api("POST", "/callbacks/2147483648/cancel", token, {}, expect=404)
