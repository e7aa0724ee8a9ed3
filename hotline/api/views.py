"""The API's endpoints (`bp`, under /api/v1): work orders, their moves, the organisation.

Each view owns its transaction: the services write, the view commits, and only then are
routing and deadline timers enqueued (commit, then enqueue).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import current_app, url_for
from flask.views import MethodView
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hotline import clock
from hotline.access import AccessDenied, require_principal, require_roles
from hotline.api.auth import authenticate, current_actor, require_json
from hotline.api.intake import IntakeOutcome, replay, take_in
from hotline.api.listing import newest_first, order_query
from hotline.api.openapi import Blueprint
from hotline.api.present import present_candidate, present_order
from hotline.api.problems import (
    PROBLEM_JSON,
    Problem,
    register_blueprint_error_handlers,
)
from hotline.api.schemas import (
    CategorySchema,
    DepartmentSchema,
    IntakeResultSchema,
    IntakeSchema,
    MoveSchema,
    OrderFilterSchema,
    ProblemSchema,
    WorkOrderDetailSchema,
    WorkOrderSchema,
)
from hotline.config import Settings
from hotline.db import get_session
from hotline.orders.after_move import after_commit, after_move
from hotline.orders.jobs import enqueue_routing
from hotline.orders.runtime import OrdersRuntime
from hotline.users.roles import ALL_ROLES, Role, may_move, owns_enough
from workorders.lifecycle import Move, MoveRequest
from workorders.orders import WorkOrder
from workorders.organisation import Category, Department, Handler
from workorders.phones import normalize_number
from workorders.services import (
    Intake,
    NotFound,
    WorkOrderError,
    find_by_number,
    move_work_order,
)
from workorders.surveys import record_survey_answer

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("api", __name__, description="Work orders from every channel, and their moves.")
bp.before_request(authenticate)
bp.before_request(require_json)
register_blueprint_error_handlers(bp)

NUMBER = re.compile(r"[A-Z]{1,10}-\d{4}-\d{6,10}")
# Who may read orders, and who registers them (moves are checked move by move: MOVE_ROLES).
# `@require_roles` goes above the other decorators: roles are checked before a body is parsed.
READERS = tuple(ALL_ROLES)
INTAKE_ROLES = (Role.AGENT, Role.STAFF, Role.SUPERVISOR, Role.ADMIN)


def _problem_doc(status: int, description: str) -> Callable[[F], F]:
    return bp.alt_response(
        status, schema=ProblemSchema, content_type=PROBLEM_JSON, description=description
    )


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _now() -> datetime:
    """Work-order time: real time, or the shifted clock of tests and demos."""
    return clock.now(_settings())


def _runtime() -> OrdersRuntime:
    runtime: OrdersRuntime = current_app.extensions["hotline.orders"]
    return runtime


def _order(number: str) -> WorkOrder:
    order = find_by_number(get_session(), number) if NUMBER.fullmatch(number) else None
    if order is None:
        raise NotFound(f"work order {number}")
    return order


def _show(order: WorkOrder) -> dict[str, Any]:
    return present_order(get_session(), order, tz=_runtime().calendar.tz, now=_now(), events=True)


@bp.route("/work-orders")
class WorkOrders(MethodView):
    @require_roles(*READERS)
    @bp.arguments(OrderFilterSchema, location="query")
    @bp.response(
        200,
        WorkOrderSchema(many=True),
        description="Newest first; totals in the X-Pagination header.",
    )
    @bp.paginate(page_size=20, max_page_size=100)
    def get(self, filters: dict[str, Any], pagination_parameters: Any) -> list[dict[str, Any]]:
        """List work orders"""
        session = get_session()
        now = _now()
        phone = None
        if "contact_phone" in filters:
            phone = _phone(filters["contact_phone"], "contact_phone")
        query = order_query(filters, now=now, phone=phone)
        pagination_parameters.item_count = session.execute(
            select(func.count()).select_from(query.subquery())
        ).scalar_one()
        if pagination_parameters.first_item >= pagination_parameters.item_count:
            return []  # past the last page (any page number, however large): nothing to read
        rows = session.execute(
            newest_first(query)
            .offset(pagination_parameters.first_item)
            .limit(pagination_parameters.page_size)
        ).scalars()
        tz = _runtime().calendar.tz
        return [present_order(session, order, tz=tz, now=now) for order in rows]

    @require_roles(*INTAKE_ROLES)
    @bp.arguments(IntakeSchema)
    @bp.response(201, IntakeResultSchema, description="Registered; Location names the order.")
    @bp.alt_response(
        200,
        schema=IntakeResultSchema,
        success=True,
        description="Nothing new: the external_ref was seen before (`replayed`), "
        "or the contact was attached to an open order (`attached`).",
    )
    @_problem_doc(409, "`possible_duplicate` (with `candidates`; nothing written) or `conflict`.")
    @_problem_doc(400, "`invalid_intake` (e.g. an unknown category).")
    @_problem_doc(403, "`forbidden`: the token's roles may not register orders.")
    def post(self, body: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Register a matter from any channel"""
        settings = _settings()
        contact = body["contact"] or {}
        phone = None
        if contact.get("phone"):
            phone = _phone(contact["phone"], "contact.phone")
        intake = Intake(
            channel=body["channel"],
            category=body["category"],
            summary=body["summary"],
            statement=body["statement"] or "",
            urgency=body["urgency"],
            contact_phone=phone,
            contact_name=contact.get("name"),
            contact_address=contact.get("address"),
            anonymous=body["anonymous"],
            case_number=body.get("case_number"),
            case_division=body.get("case_division"),
            external_ref=body.get("external_ref"),
            region=settings.default_region,
            language=body["language"],
        )
        session = get_session()
        outcome: IntakeOutcome | None
        try:
            outcome = take_in(
                session,
                intake,
                on_duplicate=body["on_duplicate"],
                actor=current_actor(),
                calendar=_runtime().calendar,
                now=_now(),
            )
            session.commit()
        except IntegrityError:
            # The same reference arrived twice at once: the other request registered it.
            session.rollback()
            outcome = replay(session, intake)
            if outcome is None:
                raise
        order = outcome.order
        if outcome.created:
            after_commit("queue routing", lambda: enqueue_routing(settings, order.id))
        view = _show(order)
        view.update(
            attached=outcome.attached,
            replayed=outcome.replayed,
            possible_duplicates=[present_candidate(c) for c in outcome.candidates],
        )
        if outcome.created:
            location = url_for("api.WorkOrderResource", number=order.number)
            return view, 201, {"Location": location}
        return view, 200, {}


@bp.route("/work-orders/<number>")
class WorkOrderResource(MethodView):
    @require_roles(*READERS)
    @bp.response(200, WorkOrderDetailSchema)
    @_problem_doc(404, "`not_found`")
    def get(self, number: str) -> dict[str, Any]:
        """A work order with its event log"""
        return _show(_order(number))


@bp.route("/work-orders/<number>/moves")
class WorkOrderMoves(MethodView):
    @require_roles(*READERS)
    @bp.arguments(MoveSchema)
    @bp.response(200, WorkOrderDetailSchema, description="The order after the move.")
    @_problem_doc(
        409,
        "`illegal_move` (not allowed now, or something it needs is missing) "
        "or `conflict` (stale `version`).",
    )
    @_problem_doc(400, "e.g. `deadline_passed`, `unknown_department`, `bad_parent`.")
    @_problem_doc(404, "`not_found`")
    @_problem_doc(403, "`forbidden`: the token's roles may not make this move.")
    def post(self, body: dict[str, Any], number: str) -> dict[str, Any]:
        """Make a move (dispatch, accept, start, reply, complete, follow_up…)"""
        session = get_session()
        runtime = _runtime()
        move = Move(body["move"])
        principal = require_principal()
        if not may_move(principal.roles, move):
            raise AccessDenied(f"the token's roles may not make the move {move}")
        order = _order(number)
        if not owns_enough(principal.roles, move, handler_id=principal.handler_id,
                           order_handler_id=order.handler_id):  # fmt: skip
            raise AccessDenied(f"only the handler {number} is dispatched to may {move} it")
        version = body.get("version")
        parent_id = None
        if move is Move.MERGE and body.get("parent"):
            parent = find_by_number(session, body["parent"])
            if parent is None:
                raise WorkOrderError("bad_parent", f"work order {body['parent']} not found")
            parent_id = parent.id
        if move is Move.FOLLOW_UP:
            # record_follow_up takes no expected version: checked here, and the version
            # column stops a write that raced past this check.
            if version is not None and version != order.version:
                raise WorkOrderError(
                    "conflict",
                    f"{order.number} changed meanwhile (version {order.version}); reload it",
                )
            # Through the survey service, so answers recorded by staff are counted too.
            order_id = order.id
            record_survey_answer(
                session,
                order_id=order_id,
                answer=body.get("satisfaction") or "",
                channel="staff",
                actor=current_actor(),
                calendar=runtime.calendar,
                note=body.get("note"),
                now=_now(),
            )
            order = _order(number)
        else:
            request = MoveRequest(
                reason=body.get("reason"),
                note=body.get("note"),
                department=body.get("department"),
                parent_id=parent_id,
                satisfaction=body.get("satisfaction"),
                handler=body.get("handler"),
                days=body.get("days"),
            )
            order = move_work_order(
                session,
                order_id=order.id,
                move=move,
                actor=current_actor(),
                calendar=runtime.calendar,
                request=request,
                expected_version=version,
                now=_now(),
            )
        session.commit()
        after_move(_settings(), runtime, order, move)
        return _show(order)


@bp.route("/departments")
class Departments(MethodView):
    @require_roles(*READERS)
    @bp.response(200, DepartmentSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Departments and their handlers (codes for dispatch and transfer)"""
        session = get_session()
        handlers: dict[int, list[dict[str, Any]]] = {}
        for h in session.execute(
            select(Handler).where(Handler.active.is_(True)).order_by(Handler.code)
        ).scalars():
            handlers.setdefault(h.department_id, []).append(
                {"code": h.code, "name": h.name, "on_duty": h.on_duty}
            )
        return [
            {
                "code": d.code,
                "name": d.name,
                "name_en": d.name_en,
                "handlers": handlers.get(d.id, []),
            }
            for d in session.execute(
                select(Department).where(Department.active.is_(True)).order_by(Department.code)
            ).scalars()
        ]


@bp.route("/categories")
class Categories(MethodView):
    @require_roles(*READERS)
    @bp.response(200, CategorySchema(many=True))
    def get(self) -> list[Category]:
        """Categories and their time limits in working days"""
        return list(
            get_session()
            .execute(select(Category).where(Category.active.is_(True)).order_by(Category.code))
            .scalars()
        )


def _phone(raw: str, field: str) -> str:
    phone = normalize_number(raw, _settings().default_region)
    if phone is None:
        raise Problem(
            422,
            "validation_error",
            f"{field}: not a phone number",
            errors={field: ["Not a phone number."]},
        )
    return phone
