"""POST /work-orders/<number>/moves: the closed loop through the API, and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
from flask import Flask

from hotline.db import Database
from tests.hotline.test_api_support import (
    ApiClient,
    api_app_fixture,  # noqa: F401
    api_fixture,  # noqa: F401
    api_redis_fixture,  # noqa: F401
    api_token_fixture,  # noqa: F401
    assert_problem,
    job_queued,
    order_id,
    row_counts,
    timer_jobs,
    unique,
    unique_phone,
)
from workorders.services import Intake, register_work_order


def _at(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    assert moment.utcoffset() is not None, value
    return moment


def test_the_whole_loop(api: ApiClient, api_redis: redis.Redis, database: Database) -> None:
    order = api.intake(category="enforcement", contact={"phone": unique_phone()})
    number = order["number"]
    pk = order_id(database, number)
    assert timer_jobs(api_redis, pk) == []

    o = api.move(number, "dispatch", department="enforcement", handler="en-01")
    assert (o["state"], o["department"], o["handler"]) == ("dispatched", "enforcement", "en-01")
    first_timers = timer_jobs(api_redis, pk)
    assert {j.split("-")[2] for j in first_timers} == {"remind", "overdue", "escalate"}

    api.move(number, "accept")
    o = api.move(number, "start")
    assert o["state"] == "in_progress" and "request_extension" in o["allowed_moves"]
    assert "approve_extension" not in o["allowed_moves"]
    old_deadline = _at(o["deadline"])

    o = api.move(number, "request_extension", days=3, note="waiting for the bailiff's report")
    assert o["extension_requested_days"] == 3
    assert "approve_extension" in o["allowed_moves"]
    assert "request_extension" not in o["allowed_moves"]
    o = api.move(number, "approve_extension", version=o["version"])
    new_deadline = _at(o["deadline"])
    assert new_deadline > old_deadline
    assert _at(o["original_deadline"]) == old_deadline
    assert o["extension_requested_days"] is None
    # New timers for the new deadline, next to the old ones (which will find it moved).
    assert len(timer_jobs(api_redis, pk)) == 6

    o = api.move(number, "reply", note="The property was seized on 3 December.")
    assert o["state"] == "replied" and o["reply"].startswith("The property")
    o = api.move(number, "complete")
    assert o["state"] == "completed" and o["completed_at"]
    o = api.move(number, "follow_up", satisfaction="satisfied")
    assert o["state"] == "closed" and o["satisfaction"] == "satisfied"
    assert o["redo_count"] == 0 and o["closed_at"]

    shown = api.get(f"/work-orders/{number}").json
    assert [(e["move"], e["from_state"], e["to_state"]) for e in shown["events"]] == [
        ("register", None, "registered"),
        ("dispatch", "registered", "dispatched"),
        ("accept", "dispatched", "accepted"),
        ("start", "accepted", "in_progress"),
        ("request_extension", "in_progress", "in_progress"),
        ("approve_extension", "in_progress", "in_progress"),
        ("reply", "in_progress", "replied"),
        ("complete", "replied", "completed"),
        ("follow_up", "completed", "closed"),
    ]
    times = [_at(e["at"]) for e in shown["events"]]
    assert times == sorted(times)
    approve = shown["events"][5]["data"]
    assert _at(approve["new_deadline"]) == new_deadline and approve["days"] == 3
    assert shown["events"][1]["data"] == {"department": "enforcement", "handler": "en-01"}
    assert shown["events"][4]["note"] == "waiting for the bailiff's report"
    assert set(shown["allowed_moves"]) == {"reopen", "attach_contact", "note"}


def _completed(api: ApiClient) -> str:
    number = str(api.intake()["number"])
    api.move(number, "dispatch", department="litigation_service")
    for move in ("accept", "start"):
        api.move(number, move)
    api.move(number, "reply", note="answered by phone")
    api.move(number, "complete")
    return number


def test_a_dissatisfied_follow_up_reopens_as_a_redo(
    api: ApiClient, api_redis: redis.Redis, database: Database
) -> None:
    number = _completed(api)
    before = len(timer_jobs(api_redis, order_id(database, number)))
    o = api.move(number, "follow_up", satisfaction="dissatisfied", note="nobody called me")
    assert o["state"] == "in_progress" and o["redo_count"] == 1
    assert o["satisfaction"] == "dissatisfied"
    last = o["events"][-3:]
    assert [(e["move"], e["to_state"]) for e in last] == [
        ("follow_up", "closed"),
        ("reopen", "in_progress"),
        ("note", "in_progress"),  # the supervisor is told about the redo
    ]
    assert last[0]["note"] == "nobody called me" and last[1]["actor"] == "system"
    assert last[2]["data"]["notify"] == "supervisor"
    assert not o["overdue"] and _at(o["deadline"]) > datetime.now(UTC)
    assert len(timer_jobs(api_redis, order_id(database, number))) >= before


@pytest.mark.parametrize(
    ("move", "fields", "why"),
    [
        ("accept", {}, "allowed only when the order is dispatched"),
        ("complete", {}, "allowed only when"),
        ("follow_up", {"satisfaction": "satisfied"}, "allowed only when"),
        ("supervise", {}, "a note saying why is required"),
        ("dispatch", {}, "a department is required"),
        ("merge", {}, "the order to merge into is required"),
    ],
)
def test_illegal_moves_are_409(
    api: ApiClient, database: Database, move: str, fields: dict[str, str], why: str
) -> None:
    number = api.intake()["number"]
    before = row_counts(database)
    problem = api.move(number, move, 409, **fields)
    assert problem["code"] == "illegal_move" and why in problem["detail"]
    assert (problem["move"], problem["state"]) == (move, "registered")
    assert row_counts(database) == before


def test_an_extension_after_the_deadline_is_400(
    api_app: Flask, api: ApiClient, database: Database
) -> None:
    past = datetime.now(UTC) - timedelta(days=30)
    phone = unique_phone()
    with database.session() as session:
        order, _ = register_work_order(
            session,
            intake=Intake(
                channel="letter",
                category="complaint",
                summary=unique("old letter"),
                contact_phone=phone,
            ),
            actor="test",
            calendar=api_app.extensions["hotline.orders"].calendar,
            now=past,
        )
        session.commit()
        number = order.number
    api.move(number, "dispatch", department="petitions", handler="pe-01")
    api.move(number, "accept")
    o = api.move(number, "start")
    assert o["overdue"] is True and "request_extension" not in o["allowed_moves"]
    listed = api.get("/work-orders", query_string={"overdue": "true", "contact_phone": phone})
    assert [o["number"] for o in listed.json] == [number]
    problem = api.move(number, "request_extension", 400, days=5, note="too late")
    assert problem["code"] == "deadline_passed"
    assert api.get(f"/work-orders/{number}").json["extension_requested_days"] is None


def test_merge_into_a_parent(api: ApiClient) -> None:
    phone = unique_phone()
    parent = api.intake(contact={"phone": phone}, summary="法院门口停车难")
    child = api.intake(contact={"phone": phone}, summary="停车问题再次反映")
    o = api.move(child["number"], "merge", parent=parent["number"])
    assert o["state"] == "merged" and o["merged_into"] == parent["number"]
    assert o["allowed_moves"] == []
    p = api.get(f"/work-orders/{parent['number']}").json
    assert p["contact_count"] == 2 and p["state"] == "registered"
    assert p["events"][-1]["move"] == "attach_contact"
    assert child["number"] in p["events"][-1]["note"]

    other = api.intake()["number"]
    for bad_parent in ("WO-1999-000001", other, child["number"]):  # unknown, itself, merged
        assert api.move(other, "merge", 400, parent=bad_parent)["code"] == "bad_parent"


def test_a_stale_version_is_a_conflict_and_writes_nothing(
    api: ApiClient, database: Database
) -> None:
    order = api.intake()
    number, seen = order["number"], order["version"]
    api.move(number, "urge", version=seen)
    before = row_counts(database)
    problem = api.move(number, "urge", 409, version=seen)
    assert problem["code"] == "conflict"
    assert row_counts(database) == before
    assert api.get(f"/work-orders/{number}").json["urge_count"] == 1
    # follow_up goes through record_follow_up, which has its own check here.
    done = _completed(api)
    current = api.get(f"/work-orders/{done}").json["version"]
    problem = api.move(done, "follow_up", 409, satisfaction="satisfied", version=current - 1)
    assert problem["code"] == "conflict"


def test_a_returned_order_is_routed_again(
    api: ApiClient, api_redis: redis.Redis, database: Database
) -> None:
    number = api.intake()["number"]
    job = f"route-{order_id(database, number)}"
    api_redis.delete(f"rq:job:{job}")
    api.move(number, "dispatch", department="criminal")
    assert not job_queued(api_redis, job)
    o = api.move(number, "return", reason="not_ours", note="a civil matter")
    assert o["state"] == "registered" and o["department"] is None
    assert o["events"][-1]["reason_code"] == "not_ours"
    assert job_queued(api_redis, job)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"move": "teleport"}, "move"),
        ({"move": "register"}, "move"),
        ({"move": "remind"}, "move"),
        ({}, "move"),
        ({"move": "request_extension", "days": "5"}, "days"),
        ({"move": "return", "reason": "lazy"}, "reason"),
        ({"move": "follow_up", "satisfaction": "meh"}, "satisfaction"),
        ({"move": "urge", "version": 1.5}, "version"),
    ],
)
def test_malformed_moves_are_422(
    api: ApiClient, database: Database, body: dict[str, object], field: str
) -> None:
    number = api.intake()["number"]
    before = row_counts(database)
    problem = assert_problem(
        api.post(f"/work-orders/{number}/moves", body), 422, "validation_error"
    )
    assert field in problem["errors"]
    assert row_counts(database) == before


@pytest.mark.parametrize("number", ["WO-2026-999999", "nonsense", "WO-2026-00%00"])
def test_unknown_orders_are_404(api: ApiClient, number: str) -> None:
    assert_problem(api.get(f"/work-orders/{number}"), 404, "not_found")
    assert_problem(api.post(f"/work-orders/{number}/moves", {"move": "urge"}), 404, "not_found")


def test_unknown_department_and_handler_are_400(api: ApiClient) -> None:
    number = api.intake()["number"]
    assert api.move(number, "dispatch", 400, department="astrology")["code"] == (
        "unknown_department"
    )
    assert api.move(number, "dispatch", 400, department="filing", handler="en-01")["code"] == (
        "wrong_department"
    )
    assert api.get(f"/work-orders/{number}").json["state"] == "registered"


def test_an_unexpected_failure_is_a_500_problem_and_writes_nothing(
    api_app: Flask, api: ApiClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault after the services wrote, before the commit: all of it is rolled back."""
    import hotline.api.views

    real = hotline.api.views.move_work_order

    def move_then_fail(*args: object, **kwargs: object) -> None:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("the disk caught fire")

    number = api.intake()["number"]
    before = row_counts(database)
    monkeypatch.setattr(hotline.api.views, "move_work_order", move_then_fail)
    monkeypatch.setitem(api_app.config, "PROPAGATE_EXCEPTIONS", False)
    r = api.post(f"/work-orders/{number}/moves", {"move": "dispatch", "department": "filing"})
    problem = assert_problem(r, 500, "internal_error")
    assert "fire" not in problem["detail"]
    assert row_counts(database) == before
    monkeypatch.undo()
    assert api.get(f"/work-orders/{number}").json["state"] == "registered"
