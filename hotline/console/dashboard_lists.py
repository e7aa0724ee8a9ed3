"""The dashboard's work-order lists and counts, as plain queries (bounded by `limit`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from workorders.lifecycle import OPEN_STATES, Move
from workorders.orders import WorkOrder, WorkOrderEvent


def order_state_counts(session: Session) -> list[tuple[str, int]]:
    rows = session.execute(
        select(WorkOrder.state, func.count()).group_by(WorkOrder.state).order_by(WorkOrder.state)
    ).all()
    return [(str(state), int(n)) for state, n in rows]


def _open_by_deadline() -> Select[Any]:
    return (
        select(WorkOrder)
        .options(selectinload(WorkOrder.department), selectinload(WorkOrder.handler))
        .where(WorkOrder.state.in_(OPEN_STATES))
        .order_by(WorkOrder.deadline_at, WorkOrder.id)
    )


def overdue_count(session: Session, *, now: datetime) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(WorkOrder)
            .where(WorkOrder.state.in_(OPEN_STATES), WorkOrder.deadline_at < now)
        ).scalar_one()
    )


def overdue_orders(session: Session, *, now: datetime, limit: int) -> list[WorkOrder]:
    """Open and past the deadline, longest overdue first (as the API's `overdue` filter)."""
    query = _open_by_deadline().where(WorkOrder.deadline_at < now).limit(limit)
    return list(session.execute(query).scalars())


def near_deadline_orders(
    session: Session, *, now: datetime, within: timedelta, limit: int
) -> list[WorkOrder]:
    """Open, not yet overdue, due within `within`: the ones still worth a reminder."""
    query = (
        _open_by_deadline()
        .where(WorkOrder.deadline_at >= now, WorkOrder.deadline_at < now + within)
        .limit(limit)
    )
    return list(session.execute(query).scalars())


def reopened_after_dissatisfaction(
    session: Session, *, since: datetime, limit: int
) -> list[tuple[WorkOrder, WorkOrderEvent]]:
    """Orders reopened (重办) since `since` by the system after a dissatisfied rating,
    newest first. A reopen by a person (the matter recurred) is not a dissatisfaction."""
    rows = session.execute(
        select(WorkOrder, WorkOrderEvent)
        .join(WorkOrderEvent, WorkOrderEvent.work_order_id == WorkOrder.id)
        .where(
            WorkOrderEvent.move == str(Move.REOPEN),
            WorkOrderEvent.actor == "system",
            WorkOrderEvent.at >= since,
        )
        .order_by(WorkOrderEvent.at.desc(), WorkOrderEvent.id.desc())
        .limit(limit)
    ).all()
    return [(order, ev) for order, ev in rows]
