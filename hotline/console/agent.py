"""The agent console (/console/agent): the agent's presence, the queues with their waiting
callers, the screen-pop of the call being answered, and what an agent does during a call
(mark it resolved, note on an order, schedule a callback, open an order for the caller).

The queues, the presence and the screen-pop sit in one live region (one SSE stream, channel
"queues"): it is re-fetched whenever presence or a queue changes. The forms stay outside it,
so a live update never wipes what the agent is typing; they act on the agent's *current*
call, read from their presence when posted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis
from flask import Response, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import clock
from hotline.access import AccessDenied, require_principal, require_roles
from hotline.api.intake import take_in
from hotline.api.problems import Problem
from hotline.config import Settings
from hotline.console import bp
from hotline.console.nav import add_nav
from hotline.console.sse import register_channel
from hotline.db import get_session
from hotline.live import current_id
from hotline.orders.after_move import after_commit
from hotline.orders.jobs import enqueue_routing
from hotline.orders.runtime import OrdersRuntime
from hotline.queues import console as qc
from hotline.queues.presence import LIVE_NAME, Presence
from hotline.queues.runtime import QueueRuntime
from hotline.speech.records import Recording, Transcript
from hotline.users.roles import Role
from workorders.agents import AgentProfile
from workorders.callbacks import CallbackError
from workorders.calls import Call
from workorders.organisation import Category
from workorders.phones import mask_number
from workorders.services import Intake, WorkOrderError

AGENT_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
PRESENCE_KEYS = {"available": "1", "busy": "2", "wrap-up": "3", "offline": "4"}

add_nav("Agent console", "console.agent", Role.AGENT, accesskey="a",
        description="Presence, the queues, the screen-pop of the call you answer.")  # fmt: skip
register_channel(LIVE_NAME, Role.AGENT, Role.STAFF, Role.SUPERVISOR, Role.ADMIN)


def _runtime() -> QueueRuntime:
    runtime: QueueRuntime = current_app.extensions["hotline.queues"]
    return runtime


def _login() -> str:
    login = require_principal().login
    if login is None:  # an API token, not a console user: it has no presence of its own
        raise AccessDenied("the agent console is for console users")
    return login


def transcript_lines(session: Session, call_sid: str) -> list[str]:
    """What was recognised of the call so far (its recordings' transcripts, in order)."""
    rows = session.execute(
        select(Transcript.text)
        .join(Recording, Transcript.recording_id == Recording.id)
        .join(Call, Recording.call_id == Call.id)
        .where(Call.call_sid == call_sid, Transcript.text != "")
        .order_by(Recording.created_at, Transcript.created_at, Transcript.id)
    ).scalars()
    return list(rows)


def _live_context() -> dict[str, Any]:
    session, runtime, login = get_session(), _runtime(), _login()
    now = runtime.now()
    state = qc.get_agent_presence(runtime, login)
    profile = session.get(AgentProfile, login)
    pop = qc.agent_screen_pop(session, runtime, login)
    if pop is not None:
        pop.transcript = transcript_lines(session, pop.call_sid)
    queues = qc.waiting_callers(session, now=now)
    names = sorted(runtime.config.names)
    for name in queues:  # a queue that left the configuration still shows its callers
        if name not in names:
            names.append(name)
    return {
        "state": state,
        "profile": profile,
        "pop": pop,
        "queues": [(name, queues.get(name, [])) for name in names],
        "skills": set(profile.skills) if profile else set(),
        "mask": mask_number,
        "now": now,
        "tz": runtime.calendar.tz,  # times shown in the hotline's local time
        "statuses": list(Presence),
        "presence_keys": PRESENCE_KEYS,
    }


@bp.route("/agent")
@require_roles(*AGENT_ROLES)
def agent() -> Any:
    session = get_session()
    try:  # read before the page's state: later events are replayed to it
        last_id: int | None = current_id(_runtime().redis, LIVE_NAME)
    except redis.RedisError:
        last_id = None
    categories = session.execute(
        select(Category).where(Category.active.is_(True)).order_by(Category.code)
    ).scalars()
    return render_template(
        "console/agent.html",
        live_url=url_for("console.live", channel=LIVE_NAME, last_id=last_id),
        queue_names=sorted(_runtime().config.names),
        default_queue=_runtime().config.default_queue,
        categories=list(categories),
        values=request.args,
        **_live_context(),
    )


@bp.route("/agent/live")
@require_roles(*AGENT_ROLES)
def agent_live() -> Any:
    """The live region alone: what the page fetches when a presence or queue event arrives."""
    return render_template("console/_agent_live.html", **_live_context())


def _back(**args: Any) -> Response:
    return redirect(url_for("console.agent", **args))  # type: ignore[return-value]


def _current_call_sid() -> str | None:
    return qc.get_agent_presence(_runtime(), _login()).call_sid


@bp.route("/agent/presence", methods=["POST"])
@require_roles(*AGENT_ROLES)
def agent_presence() -> Response:
    session, runtime = get_session(), _runtime()
    try:
        state = qc.set_agent_presence(
            session, runtime, login=_login(), status=request.form.get("status", "")
        )
    except CallbackError as exc:
        session.rollback()
        flash(_message(exc), "error")
        return _back()
    session.commit()
    qc.after_presence_change(runtime, state)
    flash(f"You are {state.status}.", "ok")
    return _back()


@bp.route("/agent/resolve", methods=["POST"])
@require_roles(*AGENT_ROLES)
def agent_resolve() -> Response:
    session = get_session()
    call_sid = _current_call_sid()
    if call_sid is None or call_sid != request.form.get("call_sid", call_sid):
        flash("You are not on that call any more: nothing was marked.", "error")
        return _back()
    try:
        qc.mark_resolved_in_call(session, call_sid=call_sid, actor=require_principal().actor)
    except CallbackError as exc:
        session.rollback()
        flash(_message(exc), "error")
        return _back()
    session.commit()
    flash("The call is marked as resolved during the call.", "ok")
    return _back()


@bp.route("/agent/note", methods=["POST"])
@require_roles(*AGENT_ROLES)
def agent_note() -> Response:
    session, runtime = get_session(), _runtime()
    number = request.form.get("order", "").strip()
    note = request.form.get("note", "").strip()
    if not number or not note:
        flash("A note needs an order number and some text.", "error")
        return _back(note_order=number)
    try:
        order = qc.add_call_note(
            session, runtime, work_order_number=number, note=note[:4000],
            actor=require_principal().actor,
        )  # fmt: skip
    except (CallbackError, WorkOrderError) as exc:
        session.rollback()
        flash(_message(exc), "error")
        return _back(note_order=number)
    session.commit()
    flash(f"Note added to {order.number}.", "ok")
    return _back()


def _when(raw: str, zone: ZoneInfo) -> datetime | None:
    """A datetime-local value in the hotline's time zone."""
    if not raw.strip():
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise CallbackError("bad_time", f"{raw!r} is not a date and time") from exc
    return value if value.tzinfo else value.replace(tzinfo=zone)


@bp.route("/agent/callback", methods=["POST"])
@require_roles(*AGENT_ROLES)
def agent_callback() -> Response:
    session, runtime = get_session(), _runtime()
    form = {k: request.form.get(k, "").strip() for k in
            ("phone", "start", "end", "reason", "order", "queue")}  # fmt: skip
    keep = {f"cb_{k}": v for k, v in form.items() if v}
    call_sid = _current_call_sid()
    phone = form["phone"]
    if not phone and call_sid:
        pop = qc.screen_pop(session, call_sid, now=runtime.now())
        phone = (pop.phone if pop else None) or ""
    if not phone:
        flash("Whom to call back? Enter a phone number (you are not on a call).", "error")
        return _back(**keep)
    zone = runtime.calendar.tz  # the form's times are the hotline's local times
    try:
        callback = qc.schedule_agent_callback(
            session,
            runtime,
            phone=phone,
            actor=require_principal().actor,
            window_start=_when(form["start"], zone),
            window_end=_when(form["end"], zone),
            reason=form["reason"][:500],
            queue=form["queue"] or None,
            work_order_number=form["order"] or None,
            call_sid=call_sid if call_sid and not call_sid.startswith("callback:") else None,
            agent_login=_login(),
        )
    except (CallbackError, WorkOrderError) as exc:
        session.rollback()
        flash(f"No callback scheduled: {_message(exc)}", "error")
        return _back(**keep)
    session.commit()
    qc.after_callback_scheduled(runtime, callback)
    flash(f"Callback #{callback.id} to {mask_number(callback.phone_e164)} scheduled.", "ok")
    return _back()


@bp.route("/agent/order", methods=["POST"])
@require_roles(*AGENT_ROLES)
def agent_open_order() -> Response:
    """Open a work order for the caller on the line (a phone intake). The agent sees the
    caller's open orders in the screen-pop, so a new one is what they chose."""
    session = get_session()
    settings: Settings = current_app.config["SETTINGS"]
    runtime: OrdersRuntime = current_app.extensions["hotline.orders"]
    call_sid = _current_call_sid()
    pop = qc.screen_pop(session, call_sid, now=_runtime().now()) if call_sid else None
    summary = request.form.get("summary", "").strip()
    if pop is None or not pop.phone:
        flash("Open an order during a call: you are not on one.", "error")
        return _back()
    if not summary:
        flash("An order needs a summary.", "error")
        return _back()
    item = Intake(
        channel="phone",
        category=request.form.get("category", "").strip(),
        summary=summary[:300],
        statement=request.form.get("statement", "").strip()[:20000],
        contact_phone=pop.phone,
        region=settings.default_region,
    )
    try:
        outcome = take_in(
            session, item, on_duplicate="register", actor=require_principal().actor,
            calendar=runtime.calendar, now=clock.now(settings),
        )  # fmt: skip
        session.commit()
    except (Problem, WorkOrderError) as exc:
        session.rollback()
        flash(f"No order opened: {_message(exc)}", "error")
        return _back()
    order = outcome.order
    if outcome.created:
        after_commit("queue routing", lambda: enqueue_routing(settings, order.id))
        flash(f"Opened {order.number} for the caller; it is being routed.", "ok")
    else:
        flash(f"Added as a repeat contact to {order.number}.", "ok")
    return _back()


def _message(exc: Exception) -> str:
    message = getattr(exc, "message", None) or getattr(exc, "detail", None) or str(exc)
    return str(message)
