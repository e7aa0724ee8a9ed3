"""The agent console's queries and actions, as plain functions over a session (and Redis for
presence): what the console pages, the REST API and the CLI call. Queries return plain
dataclasses; actions never commit (the caller commits, then calls `after_commit`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.queues import presence
from hotline.queues.runtime import QueueRuntime
from workorders.agents import AgentProfile, active_agents
from workorders.callbacks import (
    Bridge,
    Callback,
    CallbackError,
    RequestedVia,
    attempt_by_call,
    callbacks_for_phone,
    schedule_callback,
)
from workorders.calls import Call
from workorders.lifecycle import Move, MoveRequest
from workorders.matching import match_caller
from workorders.orders import WorkOrder
from workorders.queueing import QueueEntry, waiting_entries
from workorders.services import move_work_order, open_orders_for_contact

# --- queues and presence ------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingCaller:
    call_sid: str
    queue: str
    position: int  # 1 = next to be answered
    phone: str | None
    enqueued_at: datetime
    wait_s: float
    offered_to: str | None
    kind: str = "caller"  # "caller" (on the line) or "callback" (keeping their place)


def waiting_callers(
    session: Session, *, now: datetime, queues: list[str] | None = None
) -> dict[str, list[WaitingCaller]]:
    """Per queue, in answer order: callers on hold and callbacks keeping a place."""
    from workorders.callbacks import CallbackPurpose, CallbackStatus

    items: dict[str, list[tuple[datetime, WaitingCaller]]] = {}
    for entry in waiting_entries(session, queues):
        items.setdefault(entry.queue, []).append(
            (
                entry.enqueued_at,
                WaitingCaller(
                    entry.call_sid, entry.queue, 0, entry.from_e164, entry.enqueued_at,
                    round((now - entry.enqueued_at).total_seconds(), 1), entry.offered_to,
                ),
            )
        )  # fmt: skip
    kept = select(Callback).where(
        Callback.purpose == CallbackPurpose.CALLBACK,
        Callback.status.in_((CallbackStatus.SCHEDULED, CallbackStatus.CALLING)),
        Callback.keep_place.is_(True),
    )
    for cb in session.execute(kept).scalars():
        if cb.queue is None or (queues is not None and cb.queue not in queues):
            continue
        items.setdefault(cb.queue, []).append(
            (
                cb.place_at,
                WaitingCaller(
                    f"callback:{cb.id}", cb.queue, 0, cb.phone_e164, cb.place_at,
                    round((now - cb.place_at).total_seconds(), 1), cb.agent_login, "callback",
                ),
            )
        )  # fmt: skip
    result: dict[str, list[WaitingCaller]] = {}
    for queue, rows in items.items():
        rows.sort(key=lambda r: r[0])
        result[queue] = [
            WaitingCaller(**{**w.__dict__, "position": i}) for i, (_, w) in enumerate(rows, 1)
        ]
    return result


@dataclass(frozen=True)
class AgentView:
    login: str
    name: str
    skills: list[str]
    address: str
    status: str
    since: datetime
    call_sid: str | None


def agents_with_presence(session: Session, client: redis.Redis) -> list[AgentView]:
    states = presence.all_presence(client)
    return [
        AgentView(
            a.login, a.name, list(a.skills), a.address,
            (s := states.get(a.login, presence.offline(a.login))).status, s.since, s.call_sid,
        )
        for a in active_agents(session)
    ]  # fmt: skip


class PresenceError(CallbackError):
    pass


def set_agent_presence(
    session: Session, runtime: QueueRuntime, *, login: str, status: str
) -> presence.AgentState:
    """An agent sets available / busy / wrap-up / offline (the console's buttons, the API, the
    CLI). After it, call `after_presence_change` so a free agent is offered waiting work."""
    if session.get(AgentProfile, login) is None:
        raise PresenceError("not_found", f"agent {login!r} not found")
    if status not in presence.Presence._value2member_map_:
        raise PresenceError("bad_status", f"status must be one of {', '.join(presence.Presence)}")
    return presence.set_presence(runtime.redis, login, status, now=runtime.now(), reason="set")


def get_agent_presence(runtime: QueueRuntime, login: str) -> presence.AgentState:
    return presence.get_presence(runtime.redis, login)


def after_presence_change(runtime: QueueRuntime, state: presence.AgentState) -> None:
    if state.status == presence.Presence.AVAILABLE:
        from hotline.queues.jobs import enqueue_offer

        enqueue_offer(runtime.settings)


# --- the screen-pop -------------------------------------------------------------------------


@dataclass
class ScreenPop:
    call_sid: str
    phone: str | None
    direction: str  # inbound (a queued caller) or callback
    queue: str | None
    waited_s: float | None
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier calls, newest first
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)  # matched, best first
    open_orders: list[dict[str, Any]] = field(default_factory=list)
    # The speech issue fills this from the call's live transcript (Redis / recordings).
    transcript: list[str] = field(default_factory=list)


def screen_pop(session: Session, call_sid: str, *, now: datetime) -> ScreenPop | None:
    """Everything known about the person on `call_sid` (a queued caller's CallSid, or either
    leg of a callback): their calls, callbacks, matched cases and open work orders."""
    call = session.execute(select(Call).where(Call.call_sid == call_sid)).scalar_one_or_none()
    entry = session.execute(
        select(QueueEntry).where(QueueEntry.call_sid == call_sid).order_by(QueueEntry.visit.desc())
    ).scalars().first()  # fmt: skip
    phone: str | None
    if call is not None and call.direction == "inbound":
        phone, direction = call.from_e164, "inbound"
    else:
        attempt = attempt_by_call(session, call_sid)
        if attempt is None:
            return None
        phone, direction = attempt.callback.phone_e164, "callback"
    pop = ScreenPop(
        call_sid=call_sid,
        phone=phone,
        direction=direction,
        queue=entry.queue if entry else None,
        waited_s=entry.wait_s if entry else None,
    )
    if not phone:
        return pop
    calls = session.execute(
        select(Call).where(Call.from_e164 == phone).order_by(Call.started_at.desc()).limit(10)
    ).scalars()
    pop.history = [
        {"call_sid": c.call_sid, "started_at": c.started_at.isoformat(), "outcome": c.outcome,
         "node": c.current_node, "resolved_in_call": c.resolved_in_call}
        for c in calls
        if c.call_sid != call_sid
    ]  # fmt: skip
    pop.callbacks = [
        {"id": c.id, "status": c.status, "reason": c.reason, "created_at": c.created_at.isoformat(),
         "attempts": c.attempts_made, "last_outcome": c.last_outcome}
        for c in callbacks_for_phone(session, phone)
    ]  # fmt: skip
    match = match_caller(
        session, phone_e164=phone, now=now, exclude_call_id=call.id if call else None
    )
    pop.cases = [
        {"case_number": c.case.case_number if c.case else None,
         "stage": c.case.stage if c.case else None,
         "division": c.case.division if c.case else None,
         "order": c.order.number if c.order else None,
         "score": round(c.score, 1), "reasons": list(c.reasons)}
        for c in match.candidates[:5]
    ]  # fmt: skip
    pop.open_orders = [
        {"number": o.number, "state": o.state, "summary": o.summary,
         "deadline": o.deadline_at.isoformat()}
        for o in open_orders_for_contact(session, phone_e164=phone)
    ]  # fmt: skip
    return pop


def agent_screen_pop(session: Session, runtime: QueueRuntime, login: str) -> ScreenPop | None:
    """The screen-pop of the call the agent is on now (from their presence)."""
    state = presence.get_presence(runtime.redis, login)
    if not state.call_sid:
        return None
    return screen_pop(session, state.call_sid, now=runtime.now())


# --- actions during a call -----------------------------------------------------------------


def schedule_agent_callback(
    session: Session,
    runtime: QueueRuntime,
    *,
    phone: str,
    actor: str,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    reason: str = "",
    queue: str | None = None,
    work_order_number: str | None = None,
    call_sid: str | None = None,
    requested_via: str = RequestedVia.AGENT,
    bridge: str | None = None,
    agent_login: str | None = None,
) -> Callback:
    """Staff or an agent promise a callback (validated: CallbackError with a code). After the
    commit, call `after_callback_scheduled`."""
    queue = queue or runtime.config.default_queue
    if queue not in runtime.config.names:
        raise CallbackError("bad_queue", f"unknown queue {queue!r}")
    order_id = None
    if work_order_number:
        order = session.execute(
            select(WorkOrder).where(WorkOrder.number == work_order_number)
        ).scalar_one_or_none()
        if order is None:
            raise CallbackError("not_found", f"work order {work_order_number} not found")
        order_id = order.id
    call_id = None
    if call_sid:
        call = session.execute(select(Call).where(Call.call_sid == call_sid)).scalar_one_or_none()
        if call is None:
            raise CallbackError("not_found", f"call {call_sid} not found")
        call_id = call.id
    return schedule_callback(
        session,
        phone=phone,
        requested_via=requested_via,
        actor=actor,
        now=runtime.now(),
        hours=runtime.config.calling_hours,
        calendar=runtime.calendar,
        service=runtime.config.service_hours,
        window_start=window_start,
        window_end=window_end,
        reason=reason,
        queue=queue,
        work_order_id=order_id,
        call_id=call_id,
        max_attempts=runtime.config.max_attempts,
        bridge=bridge or runtime.config.bridge or Bridge.AGENT_FIRST,
        region=runtime.settings.default_region,
        agent_login=agent_login,
    )


def after_callback_scheduled(runtime: QueueRuntime, callback: Callback) -> None:
    from hotline.queues.jobs import schedule_callback_job

    schedule_callback_job(runtime.settings, callback)


def add_call_note(
    session: Session, runtime: QueueRuntime, *, work_order_number: str, note: str, actor: str
) -> WorkOrder:
    """A note on a work order during the call (the order's event log keeps it)."""
    order = _order(session, work_order_number)
    return move_work_order(
        session, order_id=order.id, move=Move.NOTE, actor=actor, calendar=runtime.calendar,
        request=MoveRequest(note=note), now=runtime.now(),
    )  # fmt: skip


def mark_resolved_in_call(session: Session, *, call_sid: str, actor: str) -> Call:
    """The agent settled the matter during the call: it counts as immediately resolved."""
    call = session.execute(select(Call).where(Call.call_sid == call_sid)).scalar_one_or_none()
    if call is None:
        raise CallbackError("not_found", f"call {call_sid} not found")
    call.resolved_in_call = True
    context = dict(call.flow_context or {})
    context["made_request"] = True
    context["resolved_by"] = actor
    call.flow_context = context
    return call


def _order(session: Session, number: str) -> WorkOrder:
    order = session.execute(
        select(WorkOrder).where(WorkOrder.number == number)
    ).scalar_one_or_none()
    if order is None:
        raise CallbackError("not_found", f"work order {number} not found")
    return order
