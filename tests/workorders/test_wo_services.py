"""Work-order services against a real database: intake, the whole loop, routing, timers."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workorders.calendar import BusinessCalendar
from workorders.dispatching import route_order
from workorders.lifecycle import IllegalMove, Move, MoveRequest
from workorders.orders import WorkOrder, WorkOrderEvent
from workorders.routing import RoutingRules
from workorders.services import (
    Intake,
    WorkOrderError,
    find_duplicates,
    move_work_order,
    record_follow_up,
    register_work_order,
)
from workorders.timers import due_timers, fire_timer

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


def intake(**kw: object) -> Intake:
    values: dict[str, object] = {
        "channel": "letter",
        "category": "enforcement",
        "summary": "判决生效半年仍未执行",
        "statement": "被执行人有房产，请求法院强制执行",
        "contact_phone": "+8613700137000",
        "contact_name": "李某",
    }
    values.update(kw)
    return Intake(**values)  # type: ignore[arg-type]


def make_moves(
    session: Session,
    calendar: BusinessCalendar,
    order: WorkOrder,
    steps: list[tuple[Move, dict[str, str]]],
) -> None:
    """Walk an order through moves at MONDAY, each with its request's fields."""
    for move, fields in steps:
        move_work_order(
            session,
            order_id=order.id,
            move=move,
            actor="t",
            calendar=calendar,
            request=MoveRequest(**fields),
            now=MONDAY,
        )


def moves(session: Session, order: WorkOrder) -> list[str]:
    return list(
        session.execute(
            select(WorkOrderEvent.move)
            .where(WorkOrderEvent.work_order_id == order.id)
            .order_by(WorkOrderEvent.id)
        ).scalars()
    )


def test_every_channel_enters_one_numbered_registry(
    session: Session, calendar: BusinessCalendar
) -> None:
    numbers = []
    for channel in ("phone", "letter", "visit", "transfer", "web"):
        order, created = register_work_order(
            session, intake=intake(channel=channel), actor="test", calendar=calendar, now=MONDAY
        )
        assert created
        numbers.append(order.number)
    serials = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert all(n.startswith("WO-2026-") for n in numbers)
    assert serials == sorted(serials) and len(set(serials)) == 5
    order = session.execute(select(WorkOrder).where(WorkOrder.number == numbers[0])).scalar_one()
    # enforcement: 5 working days from Monday 2026-11-23 → Monday 2026-11-30 18:00
    assert order.deadline_at == datetime(2026, 11, 30, 18, 0, tzinfo=SHANGHAI)
    assert order.contact_phone == "+8613700137000" and order.contact_id is not None
    assert moves(session, order) == ["register"]


def test_external_reference_registers_once(session: Session, calendar: BusinessCalendar) -> None:
    first, created = register_work_order(
        session,
        intake=intake(channel="transfer", external_ref="粤高法转2026-77"),
        actor="api:high-court",
        calendar=calendar,
    )
    again, created_again = register_work_order(
        session,
        intake=intake(channel="transfer", external_ref="粤高法转2026-77"),
        actor="api:high-court",
        calendar=calendar,
    )
    assert created and not created_again and again.id == first.id


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"category": "nope"}, "unknown category 'nope'"),
        ({"channel": "fax"}, "channel must be one of"),
        ({"summary": "  "}, "a summary is required"),
        ({"urgency": "whenever"}, "urgency must be one of"),
    ],
)
def test_bad_intake_is_refused_and_writes_nothing(
    session: Session, calendar: BusinessCalendar, bad: dict[str, str], message: str
) -> None:
    before = session.scalar(select(func.count()).select_from(WorkOrder))
    with pytest.raises(WorkOrderError, match=message):
        register_work_order(session, intake=intake(**bad), actor="test", calendar=calendar)
    assert session.scalar(select(func.count()).select_from(WorkOrder)) == before


def test_the_whole_loop_with_an_extension(session: Session, calendar: BusinessCalendar) -> None:
    order, _ = register_work_order(
        session, intake=intake(), actor="staff:1", calendar=calendar, now=MONDAY
    )

    def move(m: Move, at: datetime, **kw: object) -> WorkOrder:
        return move_work_order(
            session,
            order_id=order.id,
            move=m,
            actor="t",
            calendar=calendar,
            now=at,
            request=MoveRequest(**kw),
        )  # type: ignore[arg-type]

    move(Move.DISPATCH, MONDAY, department="enforcement", handler="en-01")
    move(Move.ACCEPT, MONDAY + timedelta(hours=1))
    move(Move.START, MONDAY + timedelta(hours=2))
    old = order.deadline_at
    move(Move.REQUEST_EXTENSION, MONDAY + timedelta(days=1), note="需要调查财产", days=3)
    move(Move.APPROVE_EXTENSION, MONDAY + timedelta(days=2))
    assert (
        order.deadline_at == datetime(2026, 12, 3, 18, 0, tzinfo=SHANGHAI)
        and order.deadline_at > old
    )
    move(Move.REPLY, MONDAY + timedelta(days=3), note="已查封被执行人房产")
    move(Move.COMPLETE, MONDAY + timedelta(days=3, hours=1))
    record_follow_up(
        session,
        order_id=order.id,
        satisfaction="satisfied",
        actor="ivr",
        calendar=calendar,
        now=MONDAY + timedelta(days=4),
    )
    assert order.state == "closed" and order.satisfaction == "satisfied"
    assert moves(session, order) == [
        "register",
        "dispatch",
        "accept",
        "start",
        "request_extension",
        "approve_extension",
        "reply",
        "complete",
        "follow_up",
    ]
    assert order.handler is not None and order.handler.code == "en-01"


def test_extension_only_before_the_deadline(session: Session, calendar: BusinessCalendar) -> None:
    order, _ = register_work_order(
        session, intake=intake(), actor="t", calendar=calendar, now=MONDAY
    )
    make_moves(
        session,
        calendar,
        order,
        [(Move.DISPATCH, {"department": "enforcement"}), (Move.ACCEPT, {})],
    )
    with pytest.raises(WorkOrderError, match="before the deadline") as err:
        move_work_order(
            session,
            order_id=order.id,
            move=Move.REQUEST_EXTENSION,
            actor="t",
            calendar=calendar,
            request=MoveRequest(note="late", days=2),
            now=order.deadline_at + timedelta(minutes=1),
        )
    assert err.value.code == "deadline_passed"


def test_dissatisfied_follow_up_reopens_as_a_redo(
    session: Session, calendar: BusinessCalendar
) -> None:
    order, _ = register_work_order(
        session, intake=intake(), actor="t", calendar=calendar, now=MONDAY
    )
    make_moves(
        session,
        calendar,
        order,
        [
            (Move.DISPATCH, {"department": "enforcement"}),
            (Move.ACCEPT, {}),
            (Move.REPLY, {"note": "done"}),
            (Move.COMPLETE, {}),
        ],
    )
    later = MONDAY + timedelta(days=2)
    record_follow_up(
        session,
        order_id=order.id,
        satisfaction="dissatisfied",
        actor="ivr",
        calendar=calendar,
        now=later,
    )
    assert order.state == "in_progress" and order.redo_count == 1
    assert order.deadline_at == calendar.deadline(later, 5)
    assert moves(session, order)[-2:] == ["follow_up", "reopen"]


def test_illegal_moves_and_stale_versions(session: Session, calendar: BusinessCalendar) -> None:
    order, _ = register_work_order(session, intake=intake(), actor="t", calendar=calendar)
    with pytest.raises(IllegalMove, match="cannot accept"):
        move_work_order(session, order_id=order.id, move="accept", actor="t", calendar=calendar)
    with pytest.raises(WorkOrderError, match="unknown department"):
        move_work_order(
            session,
            order_id=order.id,
            move="dispatch",
            actor="t",
            calendar=calendar,
            request=MoveRequest(department="astrology"),
        )
    with pytest.raises(WorkOrderError, match="is not in"):
        move_work_order(
            session,
            order_id=order.id,
            move="dispatch",
            actor="t",
            calendar=calendar,
            request=MoveRequest(department="criminal", handler="en-01"),
        )
    with pytest.raises(WorkOrderError, match="changed meanwhile"):
        move_work_order(
            session,
            order_id=order.id,
            move="urge",
            actor="t",
            calendar=calendar,
            expected_version=order.version - 1,
        )


def test_duplicates_are_found_and_merged(session: Session, calendar: BusinessCalendar) -> None:
    parent, _ = register_work_order(
        session, intake=intake(case_number="（2024）粤03执恢88号"), actor="t", calendar=calendar
    )
    again = intake(
        channel="transfer",
        case_number="（2024）粤03执恢88号",
        summary="当事人反映判决未执行",
        statement="请求强制执行被执行人房产",
    )
    candidates = find_duplicates(session, again)
    assert [c.order.id for c in candidates] == [parent.id]
    assert "same contact" in candidates[0].reasons
    child, _ = register_work_order(session, intake=again, actor="api:high-court", calendar=calendar)
    move_work_order(
        session,
        order_id=child.id,
        move="merge",
        actor="dispatcher",
        calendar=calendar,
        request=MoveRequest(parent_id=parent.id),
    )
    assert child.state == "merged" and child.merged_into_id == parent.id
    assert parent.contact_count == 2
    assert moves(session, parent)[-1] == "attach_contact"


def test_routing_by_rules_to_the_least_loaded_handler(
    session: Session, calendar: BusinessCalendar, rules: RoutingRules
) -> None:
    order, _ = register_work_order(
        session, intake=intake(category="other", channel="phone"), actor="ivr", calendar=calendar
    )
    decision = route_order(session, order_id=order.id, rules=rules, calendar=calendar)
    assert decision is not None and decision.department == "enforcement"
    assert order.state == "dispatched" and order.handler is not None
    assert order.handler.code in ("en-01", "en-02")
    second, _ = register_work_order(
        session, intake=intake(category="other"), actor="ivr", calendar=calendar
    )
    route_order(session, order_id=second.id, rules=rules, calendar=calendar)
    assert second.handler is not None and {order.handler.code, second.handler.code} == {
        "en-01",
        "en-02",
    }
    assert (
        route_order(session, order_id=order.id, rules=rules, calendar=calendar) is None
    )  # twice: no-op


def test_timers_fire_once_and_follow_the_deadline(
    session: Session, calendar: BusinessCalendar
) -> None:
    long_ago = datetime(2026, 9, 28, 10, 0, tzinfo=SHANGHAI)  # before the National Day holiday
    order, _ = register_work_order(
        session, intake=intake(), actor="t", calendar=calendar, now=long_ago
    )
    now = datetime(2026, 11, 28, 12, 0, tzinfo=SHANGHAI)
    due = [t for t in due_timers(session, calendar=calendar, now=now) if t.order_id == order.id]
    assert sorted(t.kind for t in due) == ["escalate", "overdue", "remind"]
    for t in due:
        assert fire_timer(
            session, order_id=order.id, kind=t.kind, deadline_iso=t.deadline.isoformat(), now=now
        )
        assert not fire_timer(
            session, order_id=order.id, kind=t.kind, deadline_iso=t.deadline.isoformat(), now=now
        )
    assert [
        t for t in due_timers(session, calendar=calendar, now=now) if t.order_id == order.id
    ] == []
    assert order.supervised  # escalation puts it on leadership's list
    stale = (order.deadline_at - timedelta(days=1)).isoformat()
    assert not fire_timer(session, order_id=order.id, kind="remind", deadline_iso=stale, now=now)
    assert not fire_timer(session, order_id=10**9, kind="remind", deadline_iso=stale, now=now)


def test_a_returned_order_is_never_routed_back_to_who_returned_it(
    session: Session, calendar: BusinessCalendar, rules: RoutingRules
) -> None:
    order, _ = register_work_order(
        session, intake=intake(category="other", channel="phone"), actor="ivr", calendar=calendar
    )
    route_order(session, order_id=order.id, rules=rules, calendar=calendar)
    assert order.department is not None and order.department.code == "enforcement"
    move_work_order(
        session,
        order_id=order.id,
        move=Move.RETURN,
        actor="handler:en-01",
        calendar=calendar,
        request=MoveRequest(reason="not_ours", note="民事纠纷"),
    )
    session.flush()
    again = route_order(session, order_id=order.id, rules=rules, calendar=calendar)
    assert again is not None and again.department == "litigation_service"
    assert "returned by enforcement" in again.reasons
    move_work_order(
        session,
        order_id=order.id,
        move=Move.RETURN,
        actor="handler:ls-01",
        calendar=calendar,
        request=MoveRequest(reason="other", note="请人工分派"),
    )
    session.flush()
    assert route_order(session, order_id=order.id, rules=rules, calendar=calendar) is None
    assert order.state == "registered"  # left for a dispatcher


def test_the_event_log_is_append_only(session: Session, calendar: BusinessCalendar) -> None:
    from workorders.orders import AuditTrailError

    order, _ = register_work_order(session, intake=intake(), actor="t", calendar=calendar)
    session.flush()
    event = session.scalars(
        select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id)
    ).one()
    savepoint = session.begin_nested()
    event.note = "rewritten history"
    with pytest.raises(AuditTrailError):
        session.flush()
    savepoint.rollback()
    savepoint = session.begin_nested()
    session.delete(event)
    with pytest.raises(AuditTrailError):
        session.flush()
    savepoint.rollback()
