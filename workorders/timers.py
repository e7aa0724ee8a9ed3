"""Deadline timers: reminder before, overdue notice after, escalation later — and the sweep.

Each timer is a scheduled job keyed by the order and its current deadline; when the deadline
moves (extension, redo) the old job finds a different deadline and does nothing. The timer
event's natural key makes a job that runs twice write one event, and the sweep finds from
SQL alone whatever a lost job (Redis flushed) did not do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from workorders.base import utcnow
from workorders.calendar import BusinessCalendar
from workorders.lifecycle import TIMED_STATES, Move, State
from workorders.orders import WorkOrder, WorkOrderEvent
from workorders.services import NotFound, get_order, log_event

TIMER_MOVES = {"remind": Move.REMIND, "overdue": Move.OVERDUE, "escalate": Move.ESCALATE}
# The sweep looks at open orders whose deadline is at most this far ahead (the earliest
# timer, the reminder, comes a working day or so before the deadline).
SWEEP_HORIZON = timedelta(days=15)


@dataclass(frozen=True)
class DueTimer:
    order_id: int
    kind: str  # remind | overdue | escalate
    due_at: datetime
    deadline: datetime


def timer_key(order_id: int, kind: str, deadline: datetime) -> str:
    # In UTC: the same instant must give the same key whatever zone the value came in.
    return f"{kind}:{order_id}:{deadline.astimezone(UTC).isoformat(timespec='minutes')}"


def order_timers(
    order: WorkOrder,
    calendar: BusinessCalendar,
    *,
    remind_before_days: int = 1,
    escalate_after_days: int = 2,
) -> list[DueTimer]:
    t = calendar.timers(
        order.deadline_at,
        remind_before_days=remind_before_days,
        escalate_after_days=escalate_after_days,
    )
    return [
        DueTimer(order.id, "remind", t.reminder_at, order.deadline_at),
        DueTimer(order.id, "overdue", t.overdue_at, order.deadline_at),
        DueTimer(order.id, "escalate", t.escalate_at, order.deadline_at),
    ]


def fire_timer(
    session: Session, *, order_id: int, kind: str, deadline_iso: str, now: datetime | None = None
) -> bool:
    """Write the timer's event if it is still due for the order's current deadline.

    Returns False (nothing written) when the order is gone or closed, its deadline moved, or
    the event exists already. When it is due is the caller's to know: the scheduled job runs
    at the timer's time, the sweep picks only due timers."""
    now = now or utcnow()
    try:
        order = get_order(session, order_id, lock=True)
    except NotFound:
        return False  # a job tolerates its row being gone
    if order.state not in TIMED_STATES:
        return False
    if abs(order.deadline_at - datetime.fromisoformat(deadline_iso)) >= timedelta(minutes=1):
        return False  # the deadline moved (extension, redo): this timer is for the old one
    key = timer_key(order.id, kind, order.deadline_at)
    exists = session.execute(
        select(WorkOrderEvent.id).where(WorkOrderEvent.dedup_key == key)
    ).first()
    if exists:
        return False
    if kind == "escalate":
        order.supervised = True  # escalation raises it to leadership's list
    log_event(
        session,
        order,
        actor="system:timer",
        move=TIMER_MOVES[kind],
        before=State(order.state),
        at=now,
        dedup_key=key,
        data={"deadline": order.deadline_at.isoformat()},
    )
    return True


def due_timers(
    session: Session,
    *,
    calendar: BusinessCalendar,
    now: datetime | None = None,
    remind_before_days: int = 1,
    escalate_after_days: int = 2,
) -> list[DueTimer]:
    """Timers due by `now` whose event is missing — what the sweep must still fire."""
    now = now or utcnow()
    orders = session.execute(
        select(WorkOrder).where(
            WorkOrder.state.in_(TIMED_STATES), WorkOrder.deadline_at <= now + SWEEP_HORIZON
        )
    ).scalars()
    due = [
        t
        for order in orders
        for t in order_timers(
            order,
            calendar,
            remind_before_days=remind_before_days,
            escalate_after_days=escalate_after_days,
        )
        if t.due_at <= now
    ]
    if not due:
        return []
    keys = {timer_key(t.order_id, t.kind, t.deadline): t for t in due}
    done = set(
        session.execute(
            select(WorkOrderEvent.dedup_key).where(WorkOrderEvent.dedup_key.in_(list(keys)))
        ).scalars()
    )
    return [t for key, t in keys.items() if key not in done]


def fire_due_timers(
    session: Session,
    *,
    calendar: BusinessCalendar,
    now: datetime | None = None,
    remind_before_days: int = 1,
    escalate_after_days: int = 2,
) -> int:
    """The sweep: fire every due timer whose event is missing; the caller commits."""
    now = now or utcnow()
    timers = due_timers(
        session,
        calendar=calendar,
        now=now,
        remind_before_days=remind_before_days,
        escalate_after_days=escalate_after_days,
    )
    return sum(
        fire_timer(
            session, order_id=t.order_id, kind=t.kind, deadline_iso=t.deadline.isoformat(), now=now
        )
        for t in timers
    )
