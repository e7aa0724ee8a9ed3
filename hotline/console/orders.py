"""Work orders in the console: the handler's own list (live), the order page with the moves
the user may make, and the moves themselves (through the same services as the API)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import or_, select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from hotline import clock
from hotline.access import AccessDenied, Principal, require_principal, require_roles
from hotline.config import Settings
from hotline.console import bp
from hotline.console.nav import add_nav
from hotline.db import get_session
from hotline.live import ORDERS, handler_channel
from hotline.orders.after_move import after_move
from hotline.orders.runtime import OrdersRuntime
from hotline.users.roles import ALL_ROLES, MOVE_ROLES, Role, may_move, owns_enough
from workorders.lifecycle import (
    OPEN_STATES,
    IllegalMove,
    Move,
    MoveRequest,
    ReturnReason,
    Satisfaction,
    allowed_moves,
)
from workorders.orders import WorkOrder
from workorders.organisation import Department, Handler
from workorders.services import WorkOrderError, find_by_number, move_work_order, record_follow_up

LIST_LIMIT = 100
ORDER_READERS = (Role.AGENT, Role.STAFF, Role.SUPERVISOR, Role.ADMIN)

add_nav("My work orders", "console.my_orders", Role.HANDLER, accesskey="m",
        description="Orders dispatched to you; the list updates by itself.")  # fmt: skip
add_nav("Work orders", "console.order_list", *ORDER_READERS, accesskey="o",
        description="Find an order by number or phone; flag it for supervision.")  # fmt: skip


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _runtime() -> OrdersRuntime:
    runtime: OrdersRuntime = current_app.extensions["hotline.orders"]
    return runtime


def _my_orders(principal: Principal) -> list[WorkOrder]:
    if principal.handler_id is None:
        return []
    return list(
        get_session()
        .execute(
            select(WorkOrder)
            .where(WorkOrder.handler_id == principal.handler_id, WorkOrder.state.in_(OPEN_STATES))
            .order_by(WorkOrder.deadline_at)
            .limit(LIST_LIMIT)
        )
        .scalars()
    )


@bp.route("/orders/mine")
@require_roles(Role.HANDLER)
def my_orders() -> Any:
    principal = require_principal()
    live = None
    if principal.handler_id is not None:
        live = url_for("console.live", channel=handler_channel(principal.handler_id))
    return render_template(
        "console/my_orders.html", orders=_my_orders(principal), live_url=live, now=_now()
    )


@bp.route("/orders/mine/rows")
@require_roles(Role.HANDLER)
def my_order_rows() -> Any:
    """The list's rows alone: what the page fetches when a live event arrives."""
    return render_template(
        "console/_order_rows.html", orders=_my_orders(require_principal()), now=_now()
    )


@bp.route("/orders")
@require_roles(*ORDER_READERS)
def order_list() -> Any:
    q = request.args.get("q", "").strip()[:40]
    state = request.args.get("state", "")
    query = select(WorkOrder).order_by(WorkOrder.registered_at.desc()).limit(LIST_LIMIT)
    if q:
        query = query.where(or_(WorkOrder.number == q.upper(), WorkOrder.contact_phone.contains(q)))
    if state in {str(s) for s in OPEN_STATES} | {"completed", "closed", "merged"}:
        query = query.where(WorkOrder.state == state)
    supervised = request.args.get("supervised") == "1"
    if supervised:
        query = query.where(WorkOrder.supervised.is_(True))
    orders = list(get_session().execute(query).scalars())
    return render_template(
        "console/order_list.html",
        orders=orders,
        q=q,
        state=state,
        supervised=supervised,
        now=_now(),
        live_url=url_for("console.live", channel=ORDERS),
    )


def _visible(principal: Principal, order: WorkOrder) -> bool:
    if principal.roles & set(ORDER_READERS):
        return True
    # A handler sees the orders of their department (to take over a colleague's), not others.
    if principal.handler_id is None:
        return False
    if order.handler_id == principal.handler_id:
        return True
    own = get_session().get(Handler, principal.handler_id)
    return own is not None and order.department_id == own.department_id


def _load(number: str) -> WorkOrder:
    order = find_by_number(get_session(), number.upper()[:40])
    if order is None:
        abort(404)
    if not _visible(require_principal(), order):
        raise AccessDenied("this order is not one of your department's")
    return order


def moves_for(principal: Principal, order: WorkOrder) -> list[Move]:
    """The moves the order allows now that this user may make."""
    return [
        m
        for m in allowed_moves(order.state)
        if m in MOVE_ROLES and may_move(principal.roles, m) and _own_enough(principal, order, m)
    ]


def _own_enough(principal: Principal, order: WorkOrder, move: Move) -> bool:
    return owns_enough(
        principal.roles, move, handler_id=principal.handler_id, order_handler_id=order.handler_id
    )


@bp.route("/orders/<number>")
@require_roles(*ALL_ROLES)
def order_page(number: str) -> Any:
    order = _load(number)
    principal = require_principal()
    session = get_session()
    departments = list(
        session.execute(select(Department).where(Department.active.is_(True))).scalars()
    )
    return render_template(
        "console/order.html",
        order=order,
        moves=moves_for(principal, order),
        events=sorted(order.events, key=lambda e: e.id),
        reasons=list(ReturnReason),
        satisfactions=list(Satisfaction),
        departments=departments,
        now=_now(),
    )


@bp.route("/orders/<number>/move", methods=["POST"])
@require_roles(*ALL_ROLES)
def order_move(number: str) -> Response:
    principal = require_principal()
    order = _load(number)
    try:
        move = Move(request.form.get("move", ""))
    except ValueError:
        abort(400)
    if move not in MOVE_ROLES or not may_move(principal.roles, move):
        raise AccessDenied(f"your roles may not make the move {move}")
    if not _own_enough(principal, order, move):
        raise AccessDenied("only the handler the order is dispatched to may do this")
    form = request.form
    days = form.get("days", "").strip()
    request_ = MoveRequest(
        reason=form.get("reason") or None,
        note=(form.get("note") or "").strip() or None,
        department=form.get("department") or None,
        handler=form.get("handler") or None,
        satisfaction=form.get("satisfaction") or None,
        days=int(days) if days.isdigit() else None,
    )
    version = form.get("version", "")
    session = get_session()
    runtime = _runtime()
    try:
        if move is Move.FOLLOW_UP:
            if version.isdigit() and int(version) != order.version:
                raise WorkOrderError("conflict", f"{order.number} changed meanwhile; reload it")
            order = record_follow_up(
                session,
                order_id=order.id,
                satisfaction=request_.satisfaction or "",
                actor=principal.actor,
                calendar=runtime.calendar,
                note=request_.note,
                now=_now(),
            )
        else:
            order = move_work_order(
                session,
                order_id=order.id,
                move=move,
                actor=principal.actor,
                calendar=runtime.calendar,
                request=request_,
                expected_version=int(version) if version.isdigit() else None,
                now=_now(),
            )
        session.commit()
    except (IllegalMove, WorkOrderError, StaleDataError) as exc:
        session.rollback()
        flash(f"Not done: {exc}", "error")
        return redirect(url_for("console.order_page", number=number))
    after_move(_settings(), runtime, order, move)
    flash(f"{order.number}: {move.replace('_', ' ')} done.", "ok")
    if move in (Move.RETURN, Move.TRANSFER) and Role.HANDLER in principal.roles:
        return redirect(url_for("console.my_orders"))
    return redirect(url_for("console.order_page", number=order.number))


def _now() -> Any:
    return clock.now(_settings())
