"""The work-order list: the API's filters as one SQL query (newest first)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from workorders.lifecycle import OPEN_STATES
from workorders.orders import WorkOrder
from workorders.organisation import Department


def order_query(
    filters: Mapping[str, Any], *, now: datetime, phone: str | None = None
) -> Select[Any]:
    """Orders matching `filters` (as loaded by OrderFilterSchema; `phone` normalised).

    Typed `Select[Any]`: SQLAlchemy 2.0 and 2.1 spell the row type differently."""
    query = select(WorkOrder)
    if filters.get("state"):
        query = query.where(WorkOrder.state.in_(filters["state"]))
    if "department" in filters:
        query = query.where(
            WorkOrder.department_id.in_(
                select(Department.id).where(Department.code == filters["department"])
            )
        )
    if "channel" in filters:
        query = query.where(WorkOrder.channel == filters["channel"])
    if filters.get("overdue") is True:
        query = query.where(WorkOrder.state.in_(OPEN_STATES), WorkOrder.deadline_at < now)
    elif filters.get("overdue") is False:
        query = query.where(or_(WorkOrder.state.not_in(OPEN_STATES), WorkOrder.deadline_at >= now))
    if "supervised" in filters:
        query = query.where(WorkOrder.supervised.is_(filters["supervised"]))
    if phone is not None:
        # Searching by number must not reveal who filed an anonymous order.
        query = query.where(WorkOrder.contact_phone == phone, WorkOrder.anonymous.is_(False))
    if "registered_from" in filters:
        query = query.where(WorkOrder.registered_at >= filters["registered_from"])
    if "registered_to" in filters:
        query = query.where(WorkOrder.registered_at < filters["registered_to"])
    return query


def newest_first(query: Select[Any]) -> Select[Any]:
    return query.options(
        selectinload(WorkOrder.category),
        selectinload(WorkOrder.department),
        selectinload(WorkOrder.handler),
    ).order_by(WorkOrder.registered_at.desc(), WorkOrder.id.desc())
