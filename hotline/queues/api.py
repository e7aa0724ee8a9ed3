"""The REST API's queue, agent and callback endpoints (under /api/v1, bearer tokens, problem
documents): what needs no console — presence, waiting callers, scheduling callbacks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, current_app
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from hotline.access import require_principal, require_roles
from hotline.api.auth import authenticate, current_actor, require_json
from hotline.api.openapi import Blueprint
from hotline.api.problems import Problem, register_blueprint_error_handlers
from hotline.db import get_session
from hotline.queues import console
from hotline.queues.presence import Presence
from hotline.queues.runtime import QueueRuntime
from hotline.users.roles import Role
from workorders.callbacks import Bridge, Callback, CallbackStatus, RequestedVia, cancel_callback

bp = Blueprint("queues_api", __name__, description="Agent queues, agents' presence and callbacks.")
bp.before_request(authenticate)
bp.before_request(require_json)
register_blueprint_error_handlers(bp)


def init_app(app: Flask) -> None:
    api = app.extensions["hotline.api"]
    api.register_blueprint(bp, url_prefix=app.config["HOTLINE_API_PREFIX"])


def _runtime() -> QueueRuntime:
    runtime: QueueRuntime = current_app.extensions["hotline.queues"]
    return runtime


def _tz(value: datetime) -> str:
    return value.astimezone(_runtime().calendar.tz).isoformat()


# --- schemas ------------------------------------------------------------------------------


class PresenceSchema(Schema):
    login = fields.String(dump_only=True)
    status = fields.String(required=True, validate=validate.OneOf([p.value for p in Presence]))
    since = fields.String(dump_only=True)
    call_sid = fields.String(dump_only=True, allow_none=True)


class AgentSchema(Schema):
    login = fields.String(required=True)
    name = fields.String(required=True)
    skills = fields.List(fields.String(), required=True)
    address = fields.String(required=True)
    status = fields.String(required=True)
    since = fields.String(required=True)
    call_sid = fields.String(allow_none=True)


class WaitingSchema(Schema):
    call_sid = fields.String(required=True)
    queue = fields.String(required=True)
    position = fields.Integer(required=True)
    phone = fields.String(allow_none=True)
    enqueued_at = fields.String(required=True)
    wait_s = fields.Float(required=True)
    offered_to = fields.String(allow_none=True)
    kind = fields.String(required=True, metadata={"description": "caller or callback"})


class QueueSchema(Schema):
    queue = fields.String(required=True)
    waiting = fields.List(fields.Nested(WaitingSchema), required=True)


class CallbackInSchema(Schema):
    phone = fields.String(required=True, validate=validate.Length(min=3, max=40))
    window_start = fields.AwareDateTime(
        load_default=None, metadata={"description": "Default: now. ISO 8601 with an offset."}
    )
    window_end = fields.AwareDateTime(load_default=None, metadata={"description": "Default: +4 h"})
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    queue = fields.String(load_default=None, allow_none=True)
    work_order = fields.String(load_default=None, allow_none=True)
    call_sid = fields.String(load_default=None, allow_none=True)
    requested_via = fields.String(
        load_default=RequestedVia.STAFF,
        validate=validate.OneOf([RequestedVia.STAFF.value, RequestedVia.AGENT.value]),
    )
    bridge = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf([b.value for b in Bridge])
    )
    agent = fields.String(load_default=None, allow_none=True)


class AttemptSchema(Schema):
    number = fields.Integer(required=True)
    started_at = fields.String(required=True)
    ended_at = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    call_sid = fields.String(allow_none=True)
    agent = fields.String(allow_none=True)
    detail = fields.String(allow_none=True)


class CallbackSchema(Schema):
    id = fields.Integer(required=True)
    purpose = fields.String(required=True)
    status = fields.String(required=True)
    phone = fields.String(required=True)
    callee_tz = fields.String(required=True)
    queue = fields.String(allow_none=True)
    window_start = fields.String(required=True)
    window_end = fields.String(required=True)
    due_at = fields.String(required=True)
    reason = fields.String(required=True)
    requested_via = fields.String(required=True)
    requested_by = fields.String(required=True)
    keep_place = fields.Boolean(required=True)
    position = fields.Integer(allow_none=True)
    bridge = fields.String(required=True)
    attempts_made = fields.Integer(required=True)
    max_attempts = fields.Integer(required=True)
    last_outcome = fields.String(allow_none=True)
    attempts = fields.List(fields.Nested(AttemptSchema), required=True)


class CallbackFilterSchema(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in CallbackStatus]))
    phone = fields.String()


def present_callback(cb: Callback) -> dict[str, Any]:
    return {
        "id": cb.id, "purpose": cb.purpose, "status": cb.status, "phone": cb.phone_e164,
        "callee_tz": cb.callee_tz, "queue": cb.queue, "window_start": _tz(cb.window_start),
        "window_end": _tz(cb.window_end), "due_at": _tz(cb.due_at), "reason": cb.reason,
        "requested_via": cb.requested_via, "requested_by": cb.requested_by,
        "keep_place": cb.keep_place, "position": cb.position, "bridge": cb.bridge,
        "attempts_made": cb.attempts_made, "max_attempts": cb.max_attempts,
        "last_outcome": cb.last_outcome,
        "attempts": [
            {"number": a.number, "started_at": _tz(a.started_at),
             "ended_at": _tz(a.ended_at) if a.ended_at else None, "outcome": a.outcome,
             "call_sid": a.twilio_call_sid, "agent": a.agent_login, "detail": a.detail}
            for a in cb.attempts
        ],
    }  # fmt: skip


# --- endpoints ----------------------------------------------------------------------------
# Roles go above the other decorators: checked before a body is parsed. Agents, staff and
# supervisors work the queues and callbacks; an agent may set only their own presence.
QUEUE_ROLES = (Role.AGENT, Role.STAFF, Role.SUPERVISOR, Role.ADMIN)
PRESENCE_MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMIN})


@bp.route("/queues")
class Queues(MethodView):
    @require_roles(*QUEUE_ROLES)
    @bp.response(200, QueueSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Waiting callers and keep-place callbacks per queue, in answer order"""
        runtime = _runtime()
        waiting = console.waiting_callers(get_session(), now=runtime.now())
        return [
            {
                "queue": name,
                "waiting": [
                    {**w.__dict__, "enqueued_at": _tz(w.enqueued_at)} for w in waiting.get(name, [])
                ],
            }
            for name in sorted(runtime.config.names)
        ]


@bp.route("/agents")
class Agents(MethodView):
    @require_roles(*QUEUE_ROLES)
    @bp.response(200, AgentSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Agents, their skills and presence"""
        runtime = _runtime()
        return [
            {**a.__dict__, "since": _tz(a.since)}
            for a in console.agents_with_presence(get_session(), runtime.redis)
        ]


@bp.route("/agents/<login>/presence")
class AgentPresence(MethodView):
    @require_roles(*QUEUE_ROLES)
    @bp.response(200, PresenceSchema)
    def get(self, login: str) -> dict[str, Any]:
        """An agent's presence"""
        state = console.get_agent_presence(_runtime(), login)
        return {"login": login, "status": state.status, "since": _tz(state.since),
                "call_sid": state.call_sid}  # fmt: skip

    @require_roles(*QUEUE_ROLES)
    @bp.arguments(PresenceSchema)
    @bp.response(200, PresenceSchema)
    def put(self, body: dict[str, Any], login: str) -> dict[str, Any]:
        """Set an agent's presence (available, busy, wrap-up, offline)"""
        principal = require_principal()
        if login != principal.login and not principal.has(*PRESENCE_MANAGERS):
            raise Problem(403, "forbidden", "an agent may set only their own presence")
        runtime = _runtime()
        session = get_session()
        try:
            state = console.set_agent_presence(session, runtime, login=login, status=body["status"])
        except console.PresenceError as exc:
            raise Problem(404 if exc.code == "not_found" else 400, exc.code, str(exc)) from exc
        console.after_presence_change(runtime, state)
        return {"login": login, "status": state.status, "since": _tz(state.since),
                "call_sid": state.call_sid}  # fmt: skip


@bp.route("/callbacks")
class Callbacks(MethodView):
    @require_roles(*QUEUE_ROLES)
    @bp.arguments(CallbackFilterSchema, location="query")
    @bp.response(200, CallbackSchema(many=True))
    def get(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        """Callbacks (newest first, at most 200)"""
        query = select(Callback).order_by(Callback.id.desc()).limit(200)
        if filters.get("status"):
            query = query.where(Callback.status == filters["status"])
        if filters.get("phone"):
            from workorders.phones import normalize_number

            phone = normalize_number(filters["phone"], _runtime().settings.default_region)
            query = query.where(Callback.phone_e164 == (phone or ""))
        return [present_callback(c) for c in get_session().execute(query).scalars()]

    @require_roles(*QUEUE_ROLES)
    @bp.arguments(CallbackInSchema)
    @bp.response(201, CallbackSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Schedule a callback (staff or agent)"""
        runtime = _runtime()
        session = get_session()
        callback = console.schedule_agent_callback(
            session,
            runtime,
            phone=body["phone"],
            actor=current_actor(),
            window_start=body["window_start"],
            window_end=body["window_end"],
            reason=body["reason"],
            queue=body["queue"],
            work_order_number=body["work_order"],
            call_sid=body["call_sid"],
            requested_via=body["requested_via"],
            bridge=body["bridge"],
            agent_login=body["agent"],
        )
        session.commit()
        console.after_callback_scheduled(runtime, callback)
        return present_callback(callback)


@bp.route("/callbacks/<int:callback_id>")
class CallbackResource(MethodView):
    @require_roles(*QUEUE_ROLES)
    @bp.response(200, CallbackSchema)
    def get(self, callback_id: int) -> dict[str, Any]:
        """A callback with its attempts"""
        # Ids beyond a PostgreSQL integer are no row (not a database error: a 500).
        callback = get_session().get(Callback, callback_id) if callback_id < 2**31 else None
        if callback is None:
            raise Problem(404, "not_found", f"callback {callback_id} not found")
        return present_callback(callback)


@bp.route("/callbacks/<int:callback_id>/cancel")
class CallbackCancel(MethodView):
    @require_roles(*QUEUE_ROLES)
    @bp.response(200, CallbackSchema)
    def post(self, callback_id: int) -> dict[str, Any]:
        """Cancel a scheduled callback"""
        session = get_session()
        callback = session.get(Callback, callback_id) if callback_id < 2**31 else None
        if callback is None:
            raise Problem(404, "not_found", f"callback {callback_id} not found")
        cancel_callback(session, callback, actor=current_actor())
        session.commit()
        return present_callback(callback)
