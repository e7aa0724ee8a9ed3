"""Webhooks of agent queues (on the voice blueprint):

- `/voice/queue-wait` — `<Enqueue waitUrl>`: position, estimated wait, the callback offer;
- `/voice/queue-key` — the caller pressed a key while waiting (1: callback, keep the place);
- `/voice/agent/answer|bridged|dial-done|status` — an agent's call taking a queued caller.

Each answers valid TwiML (or 204) whatever it is sent, and records each fact once.
"""

from __future__ import annotations

import logging

from flask import Response, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db import get_session
from hotline.queues import presence
from hotline.queues.callers import keep_place
from hotline.queues.jobs import enqueue_offer, schedule_callback_job
from hotline.voice import bp, params
from hotline.voice import queue_twiml as tw
from hotline.voice.queue_common import (
    after_call,
    guarded,
    hold,
    language_of,
    no_content,
    url,
    voices,
    xml,
)
from hotline.voice.queue_common import runtime as current_runtime
from hotline.voice.signature import require_twilio_signature
from workorders.agents import AgentProfile
from workorders.calls import Call
from workorders.phones import mask_number
from workorders.queueing import (
    QueueOutcome,
    current_entry,
    entry_for_agent_call,
    estimated_wait,
    leave_queue,
    mark_answered,
    set_handle_time,
    waiting_entries,
)

log = logging.getLogger(__name__)


# --- the waiting caller ------------------------------------------------------------------


@bp.post("/queue-wait")
@require_twilio_signature
@guarded(hold)
def queue_wait() -> Response:
    """`<Enqueue waitUrl>`: where the caller is in line and how long it may take."""
    runtime = current_runtime()
    session = get_session()
    call_sid = request.form.get("CallSid", "")
    language = language_of(session, call_sid)
    position = params.to_int(request.form.get("QueuePosition")) or 1
    queue_time = params.to_int(request.form.get("QueueTime")) or 0
    entry = current_entry(session, call_sid, lock=True) if call_sid else None
    now = runtime.now()
    if entry is not None and entry.waiting:
        entry.last_position = position
        if queue_time >= runtime.config.rule(entry.queue).max_wait_s:
            leave_queue(
                session, entry, outcome=QueueOutcome.TIMEOUT, now=now, wait_s=float(queue_time)
            )
            session.commit()
            return xml(tw.leave_queue(language, voices(), "timeout"))
        session.commit()
    queue = entry.queue if entry is not None else runtime.config.default_queue
    estimate = estimated_wait(session, queue=queue, position=position, now=now)
    key_url = url("voice.queue_key") if entry is not None else None
    return xml(
        tw.wait_announcement(
            language=language,
            voices=voices(),
            position=position,
            estimate_s=estimate.seconds,
            key_url=key_url,
        )
    )


@bp.post("/queue-key")
@require_twilio_signature
@guarded(hold)
def queue_key() -> Response:
    """A key pressed while waiting: 1 leaves the queue for a callback that keeps the place."""
    runtime = current_runtime()
    session = get_session()
    call_sid = request.form.get("CallSid", "")
    language = language_of(session, call_sid)
    if params.clean_digits(request.form.get("Digits")) != "1":
        return xml(tw.empty())  # the wait document ends: Twilio asks the wait URL again
    entry = current_entry(session, call_sid, lock=True)
    call = session.execute(select(Call).where(Call.call_sid == call_sid)).scalar_one_or_none()
    if entry is None or call is None:
        return xml(tw.empty())
    now = runtime.now()
    kept = keep_place(
        session, runtime, call=call, queue=entry.queue, entry=entry, now=now, language=language
    )
    if kept.callback is None:
        session.rollback()
        return xml(tw.message(language, voices(), "no_callback"))
    leave_queue(
        session,
        entry,
        outcome=QueueOutcome.CALLBACK,
        now=now,
        wait_s=float(params.to_int(request.form.get("QueueTime")) or 0) or None,
        position=params.to_int(request.form.get("QueuePosition")),
    )
    session.commit()
    schedule_callback_job(runtime.settings, kept.callback)
    presence.publish(runtime.redis, "queue", queue=entry.queue, call_sid=call_sid, change="out")
    log.info("call %s leaves %s for callback %s", call_sid, entry.queue, kept.callback.id)
    return xml(tw.leave_queue(language, voices(), "callback_kept"))


# --- the agent's call taking a queued caller -----------------------------------------------


def _agent(session: Session) -> AgentProfile | None:
    login = request.args.get("agent", "")
    return session.get(AgentProfile, login) if login else None


@bp.post("/agent/answer")
@require_twilio_signature
@guarded(lambda: xml(tw.hangup()))
def agent_answer() -> Response:
    """The agent picked up: bridge the longest-waiting caller of their skills."""
    runtime = current_runtime()
    session = get_session()
    agent = _agent(session)
    if agent is None:
        return xml(tw.hangup())
    now = runtime.now()
    waiting = waiting_entries(session, list(agent.skills))
    mine = [e for e in waiting if e.offered_to == agent.login]
    entry = (mine or waiting)[0] if (mine or waiting) else None
    if entry is None:
        presence.release(runtime.redis, agent.login, now=now, to=presence.Presence.AVAILABLE)
        enqueue_offer(runtime.settings)
        return xml(tw.message("zh-CN", voices(), "agent_no_caller", hangup=True))
    presence.set_presence(
        runtime.redis,
        agent.login,
        presence.Presence.BUSY,
        now=now,
        call_sid=request.form.get("CallSid"),
        reason=f"taking:{entry.queue}",
    )
    return xml(
        tw.agent_takes_queue(
            queue=entry.queue,
            action_url=url("voice.agent_dial_done", agent=agent.login),
            bridged_url=url("voice.agent_bridged", agent=agent.login),
            ring_s=runtime.config.agent_ring_s,
        )
    )


@bp.post("/agent/bridged")
@require_twilio_signature
@guarded(lambda: xml(tw.empty()))
def agent_bridged() -> Response:
    """`<Queue url>`: requested for the dequeued caller as the bridge starts."""
    runtime = current_runtime()
    session = get_session()
    agent = _agent(session)
    call_sid = request.form.get("CallSid", "")
    entry = current_entry(session, call_sid, lock=True) if call_sid else None
    language = language_of(session, call_sid)
    if agent is None or entry is None:
        return xml(tw.message(language, voices(), "connecting"))
    now = runtime.now()
    queue_time = params.to_int(request.form.get("QueueTime"))
    mark_answered(
        session,
        entry,
        agent_login=agent.login,
        agent_call_sid=request.form.get("DequeingCallSid") or None,
        now=now,
        wait_s=float(queue_time) if queue_time is not None else None,
    )
    session.commit()
    presence.set_presence(
        runtime.redis,
        agent.login,
        presence.Presence.BUSY,
        now=now,
        call_sid=call_sid,
        reason=f"caller:{entry.queue}",
    )
    log.info("agent %s took %s from %s", agent.login, mask_number(entry.from_e164), entry.queue)
    return xml(tw.message(language, voices(), "connecting"))


@bp.post("/agent/dial-done")
@require_twilio_signature
@guarded(lambda: xml(tw.hangup()))
def agent_dial_done() -> Response:
    """The agent's `<Dial><Queue>` ended: talk time, and the agent to wrap-up."""
    runtime = current_runtime()
    session = get_session()
    agent = _agent(session)
    if agent is None:
        return xml(tw.hangup())
    now = runtime.now()
    entry = entry_for_agent_call(session, request.form.get("CallSid", ""))
    if entry is not None:
        duration = params.to_int(request.form.get("DialCallDuration"))
        set_handle_time(
            entry,
            handle_s=float(duration) if duration is not None else None,
            now=now,
            authoritative=True,
        )
        session.commit()
    after_call(runtime, agent.login, now)
    return xml(tw.hangup())


@bp.post("/agent/status")
@require_twilio_signature
@guarded(no_content)
def agent_status() -> Response:
    """The agent's call ended; one never answered means the agent missed the offer."""
    runtime = current_runtime()
    session = get_session()
    agent = _agent(session)
    status = request.form.get("CallStatus", "")
    if agent is None or status not in ("completed", "busy", "no-answer", "failed", "canceled"):
        return no_content()
    now = runtime.now()
    state = presence.get_presence(runtime.redis, agent.login)
    if state.call_sid != request.form.get("CallSid") and status == "completed":
        return no_content()  # a later call of the agent's already took over the presence
    if status != "completed":
        for entry in waiting_entries(session, list(agent.skills)):
            if entry.offered_to == agent.login:
                entry.offered_to = None
        session.commit()
        presence.set_presence(
            runtime.redis,
            agent.login,
            presence.Presence.OFFLINE,
            now=now,
            reason=f"missed: {status}",
        )
        log.info("agent %s missed an offer (%s): set offline", agent.login, status)
        enqueue_offer(runtime.settings)
    elif state.status == presence.Presence.BUSY:
        after_call(runtime, agent.login, now)
    return no_content()
