"""Routing a registered order to a department and, within it, to the least-loaded handler."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from workorders.calendar import BusinessCalendar
from workorders.lifecycle import Move, MoveRequest, State
from workorders.orders import WorkOrder
from workorders.routing import (
    HandlerLoad,
    RouteDecision,
    RoutingInput,
    RoutingRules,
    choose_handler,
)
from workorders.services import department_by_code, get_order, handler_loads, move_work_order

log = logging.getLogger(__name__)


def routing_input(order: WorkOrder) -> RoutingInput:
    text = " ".join(filter(None, (order.summary, order.statement, order.transcript)))
    return RoutingInput(
        category=order.category.code,
        channel=order.channel,
        urgency=order.urgency,
        text=text,
        case_division=order.case_division,
    )


def returned_by(order: WorkOrder) -> set[str]:
    """Departments that sent this order back (their codes, from the return events)."""
    return {
        str(e.data.get("department"))
        for e in order.events
        if e.move == Move.RETURN and e.data.get("department")
    }


def route_order(
    session: Session,
    *,
    order_id: int,
    rules: RoutingRules,
    calendar: BusinessCalendar,
    now: datetime | None = None,
) -> RouteDecision | None:
    """Dispatch a registered order by the rules; None when it was no longer registered
    (already routed, or taken by a dispatcher), so running the job twice changes nothing."""
    order = get_order(session, order_id, lock=True)
    if order.state != State.REGISTERED:
        return None
    decision = rules.route(routing_input(order))
    refused = returned_by(order)
    if decision.department in refused:
        # Never back to a department that returned it (no ping-pong): the default department
        # (the hotline's own staff) takes it, or a dispatcher does.
        if rules.default_department in refused:
            log.warning(
                "%s: returned by every candidate department; left for the dispatcher", order.number
            )
            return None
        decision = RouteDecision(
            rules.default_department, None, (f"returned by {', '.join(sorted(refused))}",)
        )
    department = department_by_code(session, decision.department)
    handlers = handler_loads(session, department.id)
    chosen = choose_handler(
        [HandlerLoad(h.id, n, h.on_duty, h.last_assigned_at) for h, n in handlers]
    )
    handler = next((h for h, _ in handlers if h.id == chosen), None)
    if handler is None:
        log.warning(
            "%s: nobody on duty in %s; left for the dispatcher", order.number, department.code
        )
    why = "; ".join(decision.reasons) or "default department"
    move_work_order(
        session,
        order_id=order.id,
        move=Move.DISPATCH,
        actor="system:router",
        calendar=calendar,
        now=now,
        request=MoveRequest(
            department=department.code,
            handler=handler.code if handler else None,
            note=f"rule: {decision.rule or 'default'} ({why})",
        ),
    )
    return decision
