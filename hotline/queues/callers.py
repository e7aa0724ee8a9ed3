"""What happens to a caller around the queues, shared by the webhooks and the IVR intents:
where a transfer goes, keep-place callbacks, and recording how a queue visit ended."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.queues import presence
from hotline.queues.runtime import QueueRuntime
from workorders.agents import active_agents
from workorders.callbacks import (
    Callback,
    CallbackError,
    CallbackPurpose,
    RequestedVia,
    schedule_callback,
)
from workorders.calls import Call
from workorders.cases import CourtCase
from workorders.queueing import (
    QueueEntry,
    QueueOutcome,
    current_entry,
    leave_queue,
    mark_answered,
    set_handle_time,
)

log = logging.getLogger(__name__)

# Twilio's QueueResult → our outcome (bridged and hangup are handled with their times).
_RESULTS = {
    "leave": QueueOutcome.CALLBACK,
    "queue-full": QueueOutcome.QUEUE_FULL,
    "error": QueueOutcome.ERROR,
    "system-error": QueueOutcome.ERROR,
    "redirected": QueueOutcome.ERROR,
}


def choose_queue(
    session: Session, runtime: QueueRuntime, *, requested: str, vars_: Mapping[str, Any]
) -> str:
    """The matched case's division decides the skill queue; else the menu's queue."""
    case = vars_.get("case") or {}
    if isinstance(case, Mapping) and case.get("id"):
        found = session.get(CourtCase, int(case["id"]))
        if found is not None and found.division:
            return runtime.config.queue_for_division(found.division)
    return requested if requested in runtime.config.names else runtime.config.default_queue


def agents_on_duty(session: Session, runtime: QueueRuntime, queue: str) -> int:
    """Agents of the queue's skill who are signed in (any status but offline)."""
    try:
        states = presence.all_presence(runtime.redis)
    except redis.RedisError as exc:
        log.warning("presence unreadable (%s): taking no agent as on duty", exc)
        return 0
    return sum(
        1
        for agent in active_agents(session)
        if queue in agent.skills
        and states.get(agent.login, presence.offline(agent.login)).status
        != presence.Presence.OFFLINE
    )


@dataclass(frozen=True)
class KeptPlace:
    callback: Callback | None
    problem: str | None = None


def keep_place(
    session: Session,
    runtime: QueueRuntime,
    *,
    call: Call,
    queue: str,
    entry: QueueEntry | None,
    now: datetime,
    language: str,
) -> KeptPlace:
    """A callback that keeps the caller's place: their place in line is when they joined the
    queue (or now, asked from the menu). One per call: asking twice changes nothing."""
    existing = session.execute(
        select(Callback).where(
            Callback.call_id == call.id, Callback.purpose == CallbackPurpose.CALLBACK
        )
    ).scalar_one_or_none()
    if existing is not None:
        return KeptPlace(existing)
    if not call.from_e164:
        return KeptPlace(None, "no_number")
    try:
        callback = schedule_callback(
            session,
            phone=call.from_e164,
            requested_via=RequestedVia.IVR,
            actor="ivr",
            now=now,
            hours=runtime.config.calling_hours,
            calendar=runtime.calendar,
            service=runtime.config.service_hours,
            window_start=now,
            window_end=now + timedelta(hours=runtime.config.ivr_window_hours),
            reason="caller asked for a callback in the IVR",
            queue=queue,
            call_id=call.id,
            keep_place=True,
            place_at=entry.enqueued_at if entry is not None else now,
            position=entry.last_position if entry is not None else None,
            max_attempts=runtime.config.max_attempts,
            bridge=runtime.config.bridge,
            language=language,
            region=runtime.settings.default_region,
        )
    except CallbackError as exc:
        log.warning("call %s: no callback possible: %s", call.call_sid, exc)
        return KeptPlace(None, exc.code)
    return KeptPlace(callback)


def record_queue_result(
    session: Session, *, call_sid: str, form: Mapping[str, str], now: datetime
) -> QueueEntry | None:
    """The `<Enqueue>` action: how the caller left the queue, recorded once."""
    result = (form.get("QueueResult") or "")[:32]
    entry = current_entry(session, call_sid, lock=True)
    if entry is None or not result:
        return None
    wait = _seconds(form.get("QueueTime"))
    if result == "bridged":
        if entry.answered_at is None:
            mark_answered(
                session,
                entry,
                agent_login=entry.offered_to or "unknown",
                agent_call_sid=None,
                now=now,
                wait_s=wait,
            )
        set_handle_time(entry, handle_s=None, now=now)
    elif result == "hangup":
        leave_queue(
            session,
            entry,
            outcome=QueueOutcome.ABANDONED,
            now=now,
            wait_s=wait,
        )
    else:
        leave_queue(session, entry, outcome=_RESULTS.get(result, QueueOutcome.ERROR), now=now,
                    wait_s=wait)  # fmt: skip
    return entry


def abandon_if_queued(session: Session, *, call_sid: str, now: datetime) -> QueueEntry | None:
    """The call ended while its queue visit is still open: the caller hung up waiting."""
    entry = current_entry(session, call_sid, lock=True)
    if entry is None or not entry.waiting:
        return None
    leave_queue(session, entry, outcome=QueueOutcome.ABANDONED, now=now)
    return entry


def _seconds(raw: str | None) -> float | None:
    try:
        return float(raw) if raw not in (None, "") else None
    except ValueError:
        return None
