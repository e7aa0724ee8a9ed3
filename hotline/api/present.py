"""Work orders as the API shows them: local times with offsets, anonymity, move hints."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.api.schemas import SYSTEM_MOVES
from workorders.lifecycle import OPEN_STATES, Move, allowed_moves
from workorders.orders import WorkOrder, WorkOrderEvent
from workorders.services import DuplicateCandidate

EXTENSION_DECISIONS = frozenset({Move.APPROVE_EXTENSION, Move.REFUSE_EXTENSION})


def _local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    # Stored in UTC; shown in the court's time zone, with its offset, as people read it.
    return moment.astimezone(tz) if moment is not None else None


def is_overdue(order: WorkOrder, now: datetime) -> bool:
    return order.state in OPEN_STATES and order.deadline_at < now


def move_hints(order: WorkOrder, now: datetime) -> list[str]:
    """The moves worth offering now: the lifecycle's, less the system's and those the
    services would refuse for the extension state or a passed deadline."""
    hints = []
    for move in allowed_moves(order.state):
        if move in SYSTEM_MOVES:
            continue
        if move in EXTENSION_DECISIONS and not order.extension_requested_days:
            continue
        if move is Move.REQUEST_EXTENSION and (
            order.extension_requested_days or now >= order.deadline_at
        ):
            continue
        hints.append(move.value)
    return hints


def present_order(
    session: Session,
    order: WorkOrder,
    *,
    tz: ZoneInfo,
    now: datetime,
    events: bool = False,
) -> dict[str, Any]:
    merged_into = None
    if order.merged_into_id is not None:
        merged_into = session.execute(
            select(WorkOrder.number).where(WorkOrder.id == order.merged_into_id)
        ).scalar_one_or_none()
    hidden = order.anonymous  # handlers must not see who an anonymous citizen is
    view: dict[str, Any] = {
        "number": order.number,
        "channel": order.channel,
        "external_ref": order.external_ref,
        "state": order.state,
        "category": order.category.code,
        "urgency": order.urgency,
        "summary": order.summary,
        "statement": order.statement,
        "anonymous": order.anonymous,
        "contact": {
            "name": None if hidden else order.contact_name,
            "phone": None if hidden else order.contact_phone,
            "address": None if hidden else order.contact_address,
        },
        "case_number": order.case_number,
        "case_division": order.case_division,
        "department": order.department.code if order.department else None,
        "handler": order.handler.code if order.handler else None,
        "registered_at": _local(order.registered_at, tz),
        "deadline": _local(order.deadline_at, tz),
        "original_deadline": _local(order.original_deadline_at, tz),
        "overdue": is_overdue(order, now),
        "extension_requested_days": order.extension_requested_days,
        "supervised": order.supervised,
        "supervision_note": order.supervision_note,
        "merged_into": merged_into,
        "urge_count": order.urge_count,
        "redo_count": order.redo_count,
        "contact_count": order.contact_count,
        "reply": order.reply,
        "satisfaction": order.satisfaction,
        "replied_at": _local(order.replied_at, tz),
        "completed_at": _local(order.completed_at, tz),
        "closed_at": _local(order.closed_at, tz),
        "updated_at": _local(order.updated_at, tz),
        "version": order.version,
        "allowed_moves": move_hints(order, now),
    }
    if events:
        view["events"] = [present_event(e, tz) for e in _events(session, order)]
    return view


def _events(session: Session, order: WorkOrder) -> list[WorkOrderEvent]:
    # Queried rather than read from `order.events`: that collection may have been loaded
    # before this request's moves added rows.
    return list(
        session.execute(
            select(WorkOrderEvent)
            .where(WorkOrderEvent.work_order_id == order.id)
            .order_by(WorkOrderEvent.id)
        ).scalars()
    )


def present_event(event: WorkOrderEvent, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "at": _local(event.at, tz),
        "actor": event.actor,
        "move": event.move,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "reason_code": event.reason_code,
        "note": event.note,
        "data": event.data,
    }


def present_candidate(candidate: DuplicateCandidate) -> dict[str, Any]:
    return {
        "number": candidate.order.number,
        "score": round(candidate.score, 1),
        "reasons": list(candidate.reasons),
        "state": candidate.order.state,
    }
