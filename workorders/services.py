"""Work-order services: intake from every channel and every move of the closed loop.

Services never commit: the view, job or command that calls them owns the transaction, and
enqueues follow-up jobs (routing, timers) only after its commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from workorders.base import utcnow
from workorders.calendar import BusinessCalendar
from workorders.contacts import ensure_contact
from workorders.lifecycle import (
    NO_DETAILS,
    OPEN_STATES,
    Move,
    MoveRequest,
    Satisfaction,
    State,
    check_move,
)
from workorders.notifications import NotificationKind, add_notification
from workorders.numbering import next_number
from workorders.orders import Channel, Urgency, WorkOrder, WorkOrderEvent
from workorders.organisation import Category, Department, Handler
from workorders.phones import normalize_number

# Similar enough to be the same matter (rapidfuzz token-set ratio, 0–100).
DUPLICATE_TEXT_SCORE = 60


class WorkOrderError(ValueError):
    """Bad input to a service: the message is for people, `code` for programs (API bodies)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class NotFound(WorkOrderError):
    def __init__(self, what: str) -> None:
        super().__init__("not_found", f"{what} not found")


@dataclass(frozen=True)
class Intake:
    """A new matter from any channel, before it has a number."""

    channel: str
    category: str  # a category code
    summary: str
    statement: str = ""
    urgency: str = Urgency.NORMAL
    contact_phone: str | None = None
    contact_name: str | None = None
    contact_address: str | None = None
    anonymous: bool = False
    call_id: int | None = None
    recording_url: str | None = None
    transcript: str | None = None
    case_number: str | None = None
    case_division: str | None = None
    external_ref: str | None = None
    region: str = "CN"
    language: str = "zh-CN"


@dataclass(frozen=True)
class DuplicateCandidate:
    order: WorkOrder
    score: float
    reasons: tuple[str, ...] = field(default_factory=tuple)


def check_intake(session: Session, intake: Intake) -> Category:
    """The intake's category, or WorkOrderError listing everything wrong with the intake."""
    problems = []
    if intake.channel not in Channel._value2member_map_:
        problems.append(f"channel must be one of {', '.join(Channel)}")
    if intake.urgency not in Urgency._value2member_map_:
        problems.append(f"urgency must be one of {', '.join(Urgency)}")
    if not intake.summary.strip():
        problems.append("a summary is required")
    category = session.execute(
        select(Category).where(Category.code == intake.category, Category.active.is_(True))
    ).scalar_one_or_none()
    if category is None:
        problems.append(f"unknown category {intake.category!r}")
    if problems or category is None:
        raise WorkOrderError("invalid_intake", "; ".join(problems))
    return category


def find_duplicates(session: Session, intake: Intake) -> list[DuplicateCandidate]:
    """Open orders that look like the same matter: same contact or case, and similar text."""
    phone = normalize_number(intake.contact_phone, intake.region)
    conditions = []
    if phone:
        conditions.append(WorkOrder.contact_phone == phone)
    if intake.case_number:
        conditions.append(WorkOrder.case_number == intake.case_number)
    if not conditions:
        return []
    rows = session.execute(
        select(WorkOrder)
        .where(WorkOrder.state.in_(OPEN_STATES), or_(*conditions))
        .order_by(WorkOrder.registered_at.desc())
        .limit(20)
    ).scalars()
    text = f"{intake.summary} {intake.statement}".strip()
    found = []
    for order in rows:
        reasons = []
        # An anonymous order is never matched by its contact: that would tell anyone who
        # sends the number that this person has an order.
        if phone and order.contact_phone == phone and not order.anonymous:
            reasons.append("same contact")
        if intake.case_number and order.case_number == intake.case_number:
            reasons.append(f"same case {intake.case_number}")
        score = float(fuzz.token_set_ratio(text, f"{order.summary} {order.statement}"))
        if score >= DUPLICATE_TEXT_SCORE:
            reasons.append(f"similar text ({score:.0f}%)")
        if len(reasons) >= 2:
            found.append(DuplicateCandidate(order, score, tuple(reasons)))
    return sorted(found, key=lambda c: -c.score)


def register_work_order(
    session: Session,
    *,
    intake: Intake,
    actor: str,
    calendar: BusinessCalendar,
    now: datetime | None = None,
) -> tuple[WorkOrder, bool]:
    """Register a new order (or return the one already registered for the same external
    reference): (order, created). The deadline counts from `now` on the business calendar."""
    if intake.external_ref:
        existing = session.execute(
            select(WorkOrder).where(
                WorkOrder.channel == intake.channel, WorkOrder.external_ref == intake.external_ref
            )
        ).scalar_one_or_none()
        if existing is not None:
            return existing, False
    category = check_intake(session, intake)
    now = now or utcnow()
    phone = normalize_number(intake.contact_phone, intake.region)
    contact_id = ensure_contact(session, phone_e164=phone).id if phone else None
    deadline = calendar.deadline(now, category.limit_for(intake.urgency))
    order = WorkOrder(
        number=next_number(session, year=now.astimezone(calendar.tz).year),
        channel=intake.channel,
        external_ref=intake.external_ref,
        contact_id=contact_id,
        contact_name=intake.contact_name,
        contact_phone=phone,
        contact_address=intake.contact_address,
        anonymous=intake.anonymous,
        language=intake.language if intake.language in ("zh-CN", "en-US") else "zh-CN",
        category=category,
        urgency=intake.urgency,
        summary=intake.summary.strip()[:300],
        statement=intake.statement,
        call_id=intake.call_id,
        recording_url=intake.recording_url,
        transcript=intake.transcript,
        case_number=intake.case_number,
        case_division=intake.case_division,
        state=State.REGISTERED,
        registered_at=now,
        deadline_at=deadline,
        original_deadline_at=deadline,
    )
    session.add(order)
    session.flush()
    if intake.channel != Channel.PHONE:  # a caller heard the number and the date already
        add_notification(session, order, NotificationKind.REGISTERED, calendar)
    log_event(
        session,
        order,
        actor=actor,
        move=Move.REGISTER,
        before=None,
        at=now,
        data={"channel": intake.channel, "deadline": deadline.isoformat()},
    )
    return order, True


def get_order(session: Session, order_id: int, *, lock: bool = False) -> WorkOrder:
    query = select(WorkOrder).where(WorkOrder.id == order_id)
    if lock:
        # populate_existing: an order this session read before must be refreshed by the locked
        # read, or its stale version would make the update fail as a false conflict.
        query = query.with_for_update().execution_options(populate_existing=True)
    order = session.execute(query).scalar_one_or_none()
    if order is None:
        raise NotFound(f"work order {order_id}")
    return order


def find_by_number(session: Session, number: str) -> WorkOrder | None:
    return session.execute(select(WorkOrder).where(WorkOrder.number == number)).scalar_one_or_none()


def move_work_order(
    session: Session,
    *,
    order_id: int,
    move: Move | str,
    actor: str,
    calendar: BusinessCalendar,
    request: MoveRequest = NO_DETAILS,
    now: datetime | None = None,
    expected_version: int | None = None,
    data: dict[str, Any] | None = None,
    dedup_key: str | None = None,
) -> WorkOrder:
    """Apply one move, with the row locked; IllegalMove / WorkOrderError on bad moves.

    `data` is kept on the event; `dedup_key` gives it a natural id, so a move sent twice
    (e.g. the same contact attached by a retried request) is written once."""
    now = now or utcnow()
    order = get_order(session, order_id, lock=True)
    if expected_version is not None and order.version != expected_version:
        raise WorkOrderError(
            "conflict", f"{order.number} changed meanwhile (version {order.version}); reload it"
        )
    before = State(order.state)
    after = check_move(before, move, request)
    move = Move(move)
    data = dict(data or {})
    _apply(session, order, move, request, calendar, now, data)
    order.state = after
    log_event(
        session,
        order,
        actor=actor,
        move=move,
        before=before,
        at=now,
        reason=request.reason,
        note=request.note,
        data=data,
        dedup_key=dedup_key,
    )
    return order


def _apply(
    session: Session,
    order: WorkOrder,
    move: Move,
    request: MoveRequest,
    calendar: BusinessCalendar,
    now: datetime,
    data: dict[str, Any],
) -> None:
    """What a move changes besides the state (guards that need the clock or the database)."""
    if move in (Move.DISPATCH, Move.TRANSFER):
        department = department_by_code(session, request.department or "")
        order.department = department
        order.handler = _handler(session, request.handler, department) if request.handler else None
        if order.handler is not None:
            order.handler.last_assigned_at = now
        data.update(department=department.code, handler=request.handler)
    elif move is Move.RETURN:
        data.update(department=order.department.code if order.department else None)
        order.department, order.handler = None, None
    elif move is Move.REQUEST_EXTENSION:
        if now >= order.deadline_at:
            raise WorkOrderError(
                "deadline_passed",
                f"{order.number}: an extension must be asked "
                f"for before the deadline ({order.deadline_at.isoformat()})",
            )
        if order.extension_requested_days:
            raise WorkOrderError(
                "extension_pending",
                f"{order.number}: an extension is already waiting for a decision",
            )
        order.extension_requested_days = request.days
        data.update(days=request.days)
    elif move in (Move.APPROVE_EXTENSION, Move.REFUSE_EXTENSION):
        if not order.extension_requested_days:
            raise WorkOrderError("no_extension", f"{order.number}: no extension was asked for")
        if move is Move.APPROVE_EXTENSION:
            old = order.deadline_at
            order.deadline_at = calendar.extend(old, order.extension_requested_days)
            add_notification(session, order, NotificationKind.EXTENDED, calendar)
            data.update(
                days=order.extension_requested_days,
                old_deadline=old.isoformat(),
                new_deadline=order.deadline_at.isoformat(),
            )
        order.extension_requested_days = None
    elif move is Move.REPLY:
        order.reply, order.replied_at = request.note, now
        add_notification(session, order, NotificationKind.REPLIED, calendar)
    elif move is Move.COMPLETE:
        order.completed_at = now
        data.update(on_time=now <= order.deadline_at)
    elif move is Move.FOLLOW_UP:
        order.satisfaction, order.closed_at = request.satisfaction, now
        data.update(satisfaction=request.satisfaction)
    elif move is Move.CLOSE:
        order.closed_at = now
    elif move is Move.REOPEN:
        order.redo_count += 1
        order.completed_at = order.closed_at = None
        order.deadline_at = calendar.deadline(now, order.category.limit_for(order.urgency))
        data.update(redo=order.redo_count, new_deadline=order.deadline_at.isoformat())
    elif move is Move.MERGE:
        parent = get_order(session, request.parent_id or 0, lock=True)
        if parent.id == order.id or parent.state not in OPEN_STATES:
            raise WorkOrderError(
                "bad_parent", f"{parent.number} is not an open order to merge into"
            )
        order.merged_into_id = parent.id
        parent.contact_count += order.contact_count
        log_event(
            session,
            parent,
            actor="system",
            move=Move.ATTACH_CONTACT,
            before=State(parent.state),
            at=now,
            note=f"{order.number} merged into this order",
            data={"merged": order.number},
        )
        data.update(parent=parent.number)
    elif move is Move.URGE:
        order.urge_count += 1
    elif move is Move.SUPERVISE:
        order.supervised, order.supervision_note = True, request.note
    elif move is Move.ATTACH_CONTACT:
        order.contact_count += 1


def record_follow_up(
    session: Session,
    *,
    order_id: int,
    satisfaction: str,
    actor: str,
    calendar: BusinessCalendar,
    now: datetime | None = None,
    note: str | None = None,
) -> WorkOrder:
    """The citizen's rating closes the order; a dissatisfied one reopens it as a redo (重办)."""
    order = move_work_order(
        session,
        order_id=order_id,
        move=Move.FOLLOW_UP,
        actor=actor,
        calendar=calendar,
        now=now,
        request=MoveRequest(satisfaction=satisfaction, note=note),
    )
    if satisfaction in (Satisfaction.DISSATISFIED, Satisfaction.VERY_DISSATISFIED):
        session.flush()
        order = move_work_order(
            session,
            order_id=order_id,
            move=Move.REOPEN,
            actor="system",
            calendar=calendar,
            now=now,
            request=MoveRequest(note=f"citizen {satisfaction}: redo"),
        )
    return order


def open_orders_for_contact(session: Session, *, phone_e164: str) -> list[WorkOrder]:
    return list(
        session.execute(
            select(WorkOrder)
            .where(WorkOrder.contact_phone == phone_e164, WorkOrder.state.in_(OPEN_STATES))
            .order_by(WorkOrder.registered_at.desc())
        ).scalars()
    )


def unrouted_orders(session: Session, *, registered_before: datetime) -> list[int]:
    """Orders still waiting for routing since before the given time: their routing job was
    lost (Redis flushed, worker killed) or a return sent them back; the sweep re-queues them."""
    return list(
        session.execute(
            select(WorkOrder.id)
            .where(WorkOrder.state == State.REGISTERED, WorkOrder.updated_at < registered_before)
            .order_by(WorkOrder.id)
            .limit(1000)
        ).scalars()
    )


def handler_loads(session: Session, department_id: int) -> list[tuple[Handler, int]]:
    """Active handlers of a department with their number of open orders."""
    open_count = (
        select(func.count(WorkOrder.id))
        .where(WorkOrder.handler_id == Handler.id, WorkOrder.state.in_(OPEN_STATES))
        .scalar_subquery()
    )
    rows = session.execute(
        select(Handler, open_count)
        .where(Handler.department_id == department_id, Handler.active.is_(True))
        .order_by(Handler.id)
    ).all()
    return [(handler, int(count)) for handler, count in rows]


def department_by_code(session: Session, code: str) -> Department:
    department = session.execute(
        select(Department).where(Department.code == code, Department.active.is_(True))
    ).scalar_one_or_none()
    if department is None:
        raise WorkOrderError("unknown_department", f"unknown department {code!r}")
    return department


def _handler(session: Session, code: str, department: Department) -> Handler:
    handler = session.execute(
        select(Handler).where(Handler.code == code, Handler.active.is_(True))
    ).scalar_one_or_none()
    if handler is None:
        raise WorkOrderError("unknown_handler", f"unknown handler {code!r}")
    if handler.department_id != department.id:
        raise WorkOrderError("wrong_department", f"handler {code!r} is not in {department.code!r}")
    return handler


def log_event(
    session: Session,
    order: WorkOrder,
    *,
    actor: str,
    move: Move,
    before: State | None,
    at: datetime,
    reason: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    dedup_key: str | None = None,
) -> WorkOrderEvent:
    event = WorkOrderEvent(
        work_order=order,
        at=at,
        actor=actor[:80],
        move=move,
        from_state=before,
        to_state=order.state,
        reason_code=reason,
        note=note,
        data=data or {},
        dedup_key=dedup_key,
    )
    session.add(event)
    return event
