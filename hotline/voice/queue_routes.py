"""Webhooks of queues, agents and callbacks (on the voice blueprint):

- `/voice/queue-wait` — `<Enqueue waitUrl>`: position, estimated wait, the callback offer;
- `/voice/queue-key` — the caller pressed a key while waiting (1: callback, keep the place);
- `/voice/agent/answer|bridged|dial-done|status` — an agent's call taking a queued caller;
- `/voice/callback/agent|customer|dialled|status` — the legs of a callback or survey call.

Each answers valid TwiML (or 204) whatever it is sent, and records each fact once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Response, current_app, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hotline.db import get_session
from hotline.queues import presence
from hotline.queues.callers import keep_place
from hotline.queues.jobs import (
    enqueue_offer,
    schedule_callback_job,
    schedule_wrap_up,
)
from hotline.queues.runtime import QueueRuntime
from hotline.voice import bp, params
from hotline.voice import queue_twiml as tw
from hotline.voice.signature import require_twilio_signature
from workorders.agents import AgentProfile
from workorders.callbacks import (
    AttemptOutcome,
    Callback,
    CallbackAttempt,
    finish_attempt,
    release_attempt,
)
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

# DialCallStatus / CallStatus of a leg that never talked → the attempt's outcome.
_NOT_ANSWERED = {
    "busy": AttemptOutcome.BUSY,
    "no-answer": AttemptOutcome.NO_ANSWER,
    "failed": AttemptOutcome.FAILED,
    "canceled": AttemptOutcome.NO_ANSWER,
}


def _xml(body: str) -> Response:
    return Response(body, status=200, mimetype="text/xml")


def _runtime() -> QueueRuntime:
    runtime: QueueRuntime = current_app.extensions["hotline.queues"]
    return runtime


def _voices() -> Any:
    return current_app.config["SETTINGS"].voices


def _language(session: Session, call_sid: str) -> str:
    call = session.execute(select(Call).where(Call.call_sid == call_sid)).scalar_one_or_none()
    language = str((call.language if call else None) or "")
    return language if language in tw.TEXT else "zh-CN"


def _url(endpoint: str, **values: Any) -> str:
    base: str = current_app.config["SETTINGS"].public_base_url
    if base:
        return base + str(url_for(endpoint, _external=False, **values))
    return str(url_for(endpoint, _external=True, **values))


def _guarded(fallback: Callable[[], Response]) -> Callable[[Callable[[], Response]], Any]:
    """A database failure rolls back and answers `fallback` instead of an error page."""

    def wrap(view: Callable[[], Response]) -> Callable[[], Response]:
        def inner() -> Response:
            try:
                return view()
            except SQLAlchemyError:
                get_session().rollback()
                log.exception("database error in %s", request.path)
                return fallback()

        inner.__name__ = view.__name__
        inner.__doc__ = view.__doc__
        return inner

    return wrap


def _hold() -> Response:
    return _xml(tw.message("zh-CN", _voices(), "next"))


def _no_content() -> Response:
    return Response(status=204)


# --- the waiting caller ------------------------------------------------------------------


@bp.post("/queue-wait")
@require_twilio_signature
@_guarded(_hold)
def queue_wait() -> Response:
    """`<Enqueue waitUrl>`: where the caller is in line and how long it may take."""
    runtime = _runtime()
    session = get_session()
    call_sid = request.form.get("CallSid", "")
    language = _language(session, call_sid)
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
            return _xml(tw.leave_queue(language, _voices(), "timeout"))
        session.commit()
    queue = entry.queue if entry is not None else runtime.config.default_queue
    estimate = estimated_wait(session, queue=queue, position=position, now=now)
    key_url = _url("voice.queue_key") if entry is not None else None
    return _xml(
        tw.wait_announcement(
            language=language,
            voices=_voices(),
            position=position,
            estimate_s=estimate.seconds,
            key_url=key_url,
        )
    )


@bp.post("/queue-key")
@require_twilio_signature
@_guarded(_hold)
def queue_key() -> Response:
    """A key pressed while waiting: 1 leaves the queue for a callback that keeps the place."""
    runtime = _runtime()
    session = get_session()
    call_sid = request.form.get("CallSid", "")
    language = _language(session, call_sid)
    if params.clean_digits(request.form.get("Digits")) != "1":
        return _xml(tw.empty())  # the wait document ends: Twilio asks the wait URL again
    entry = current_entry(session, call_sid, lock=True)
    call = session.execute(select(Call).where(Call.call_sid == call_sid)).scalar_one_or_none()
    if entry is None or call is None:
        return _xml(tw.empty())
    now = runtime.now()
    kept = keep_place(
        session, runtime, call=call, queue=entry.queue, entry=entry, now=now, language=language
    )
    if kept.callback is None:
        session.rollback()
        return _xml(tw.message(language, _voices(), "no_callback"))
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
    return _xml(tw.leave_queue(language, _voices(), "callback_kept"))


# --- the agent's call taking a queued caller -----------------------------------------------


def _agent(session: Session) -> AgentProfile | None:
    login = request.args.get("agent", "")
    return session.get(AgentProfile, login) if login else None


@bp.post("/agent/answer")
@require_twilio_signature
@_guarded(lambda: _xml(tw.hangup()))
def agent_answer() -> Response:
    """The agent picked up: bridge the longest-waiting caller of their skills."""
    runtime = _runtime()
    session = get_session()
    agent = _agent(session)
    if agent is None:
        return _xml(tw.hangup())
    now = runtime.now()
    waiting = waiting_entries(session, list(agent.skills))
    mine = [e for e in waiting if e.offered_to == agent.login]
    entry = (mine or waiting)[0] if (mine or waiting) else None
    if entry is None:
        presence.release(runtime.redis, agent.login, now=now, to=presence.Presence.AVAILABLE)
        enqueue_offer(runtime.settings)
        return _xml(tw.message("zh-CN", _voices(), "agent_no_caller", hangup=True))
    presence.set_presence(
        runtime.redis,
        agent.login,
        presence.Presence.BUSY,
        now=now,
        call_sid=request.form.get("CallSid"),
        reason=f"taking:{entry.queue}",
    )
    return _xml(
        tw.agent_takes_queue(
            queue=entry.queue,
            action_url=_url("voice.agent_dial_done", agent=agent.login),
            bridged_url=_url("voice.agent_bridged", agent=agent.login),
            ring_s=runtime.config.agent_ring_s,
        )
    )


@bp.post("/agent/bridged")
@require_twilio_signature
@_guarded(lambda: _xml(tw.empty()))
def agent_bridged() -> Response:
    """`<Queue url>`: requested for the dequeued caller as the bridge starts."""
    runtime = _runtime()
    session = get_session()
    agent = _agent(session)
    call_sid = request.form.get("CallSid", "")
    entry = current_entry(session, call_sid, lock=True) if call_sid else None
    language = _language(session, call_sid)
    if agent is None or entry is None:
        return _xml(tw.message(language, _voices(), "connecting"))
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
    return _xml(tw.message(language, _voices(), "connecting"))


@bp.post("/agent/dial-done")
@require_twilio_signature
@_guarded(lambda: _xml(tw.hangup()))
def agent_dial_done() -> Response:
    """The agent's `<Dial><Queue>` ended: talk time, and the agent to wrap-up."""
    runtime = _runtime()
    session = get_session()
    agent = _agent(session)
    if agent is None:
        return _xml(tw.hangup())
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
    _after_call(runtime, agent.login, now)
    return _xml(tw.hangup())


@bp.post("/agent/status")
@require_twilio_signature
@_guarded(_no_content)
def agent_status() -> Response:
    """The agent's call ended; one never answered means the agent missed the offer."""
    runtime = _runtime()
    session = get_session()
    agent = _agent(session)
    status = request.form.get("CallStatus", "")
    if agent is None or status not in ("completed", "busy", "no-answer", "failed", "canceled"):
        return _no_content()
    now = runtime.now()
    state = presence.get_presence(runtime.redis, agent.login)
    if state.call_sid != request.form.get("CallSid") and status == "completed":
        return _no_content()  # a later call of the agent's already took over the presence
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
        _after_call(runtime, agent.login, now)
    return _no_content()


def _after_call(runtime: QueueRuntime, login: str, now: datetime) -> None:
    wrap = runtime.config.wrap_up_s
    if wrap:
        state = presence.set_presence(runtime.redis, login, presence.Presence.WRAP_UP, now=now)
        schedule_wrap_up(runtime.settings, login, state.since, wrap)
    else:
        presence.release(runtime.redis, login, now=now, to=presence.Presence.AVAILABLE)
        enqueue_offer(runtime.settings)


# --- callback legs -----------------------------------------------------------------------


def _attempt(session: Session) -> CallbackAttempt | None:
    raw = params.to_int(request.args.get("attempt"))
    return session.get(CallbackAttempt, raw) if raw else None


def _finish(
    session: Session, runtime: QueueRuntime, attempt: CallbackAttempt, outcome: AttemptOutcome,
    *, detail: str | None = None, duration_s: int | None = None,
) -> None:  # fmt: skip
    callback: Callback = attempt.callback
    changed = finish_attempt(
        session,
        attempt,
        outcome=outcome,
        now=runtime.now(),
        hours=runtime.config.calling_hours,
        calendar=runtime.calendar,
        service=runtime.config.service_hours if callback.queue else None,
        backoff_s=runtime.config.retry_backoff_s,
        detail=detail,
        duration_s=duration_s,
    )
    session.commit()
    if changed:
        log.info(
            "callback %s attempt %s: %s → %s", callback.id, attempt.number, outcome, callback.status
        )
        schedule_callback_job(runtime.settings, callback)


@bp.post("/callback/agent")
@require_twilio_signature
@_guarded(lambda: _xml(tw.hangup()))
def callback_agent() -> Response:
    """Agent first: the agent answered; now dial the citizen from the agent's call."""
    runtime = _runtime()
    session = get_session()
    attempt = _attempt(session)
    if attempt is None or attempt.outcome is not None:
        return _xml(tw.hangup())
    callback = attempt.callback
    now = runtime.now()
    if attempt.agent_login:
        presence.set_presence(
            runtime.redis,
            attempt.agent_login,
            presence.Presence.BUSY,
            now=now,
            call_sid=request.form.get("CallSid"),
            reason=f"callback:{callback.id}",
        )
    spoken = " ".join(callback.phone_e164[-4:])
    return _xml(
        tw.dial_citizen(
            language=callback.language if callback.language in tw.TEXT else "zh-CN",
            voices=_voices(),
            spoken_number=spoken,
            number=callback.phone_e164,
            caller_id=runtime.settings.twilio_from_number or None,
            action_url=_url("voice.callback_dialled", attempt=attempt.id),
            ring_s=runtime.config.callee_ring_s,
        )
    )


@bp.post("/callback/customer")
@require_twilio_signature
@_guarded(lambda: _xml(tw.hangup()))
def callback_customer() -> Response:
    """Customer first: the citizen answered; greet them and ring the agent."""
    runtime = _runtime()
    session = get_session()
    attempt = _attempt(session)
    if attempt is None or attempt.outcome is not None:
        return _xml(tw.hangup())
    callback = attempt.callback
    agent = session.get(AgentProfile, attempt.agent_login or "")
    language = callback.language if callback.language in tw.TEXT else "zh-CN"
    if agent is None:
        return _xml(tw.message(language, _voices(), "callback_sorry", hangup=True))
    return _xml(
        tw.dial_agent(
            language=language,
            voices=_voices(),
            address=agent.address,
            caller_id=runtime.settings.twilio_from_number or None,
            action_url=_url("voice.callback_dialled", attempt=attempt.id),
            ring_s=runtime.config.agent_ring_s,
        )
    )


@bp.post("/callback/dialled")
@require_twilio_signature
@_guarded(lambda: _xml(tw.hangup()))
def callback_dialled() -> Response:
    """The `<Dial>` of a callback ended: agent first, it says whether the citizen answered."""
    runtime = _runtime()
    session = get_session()
    attempt = _attempt(session)
    if attempt is None:
        return _xml(tw.hangup())
    status = request.form.get("DialCallStatus", "")
    duration = params.to_int(request.form.get("DialCallDuration"))
    callback = attempt.callback
    if callback.bridge == "agent_first":
        if attempt.twilio_call_sid is None and request.form.get("DialCallSid"):
            attempt.twilio_call_sid = request.form["DialCallSid"][:64]
        outcome = (
            AttemptOutcome.ANSWERED
            if status == "completed"
            else _NOT_ANSWERED.get(status, AttemptOutcome.FAILED)
        )
        _finish(session, runtime, attempt, outcome, detail=f"DialCallStatus {status}",
                duration_s=duration)  # fmt: skip
        return _xml(tw.hangup())
    # Customer first: the citizen answered already (their leg's status says so); the agent
    # did not → sorry, and the try counts as not reached so it is retried.
    if status != "completed":
        _finish(session, runtime, attempt, AttemptOutcome.NO_ANSWER, detail="agent did not answer")
        language = callback.language if callback.language in tw.TEXT else "zh-CN"
        return _xml(tw.message(language, _voices(), "callback_sorry", hangup=True))
    _finish(session, runtime, attempt, AttemptOutcome.ANSWERED, duration_s=duration)
    return _xml(tw.hangup())


@bp.post("/callback/status")
@require_twilio_signature
@_guarded(_no_content)
def callback_status() -> Response:
    """Status callbacks of a callback's legs (and of survey calls)."""
    runtime = _runtime()
    session = get_session()
    attempt = _attempt(session)
    status = request.form.get("CallStatus", "")
    leg = request.args.get("leg", "customer")
    final = status in ("completed", "busy", "no-answer", "failed", "canceled")
    if attempt is not None and final:
        callback = attempt.callback
        now = runtime.now()
        if leg == "customer" and attempt.twilio_call_sid in (None, request.form.get("CallSid")):
            if status == "completed":
                # Survey calls end here; a customer-first bridge ended in /callback/dialled.
                _finish(session, runtime, attempt, AttemptOutcome.ANSWERED,
                        duration_s=params.to_int(request.form.get("CallDuration")))  # fmt: skip
            else:
                _finish(session, runtime, attempt, _NOT_ANSWERED.get(status, AttemptOutcome.FAILED),
                        detail=f"CallStatus {status}")  # fmt: skip
        elif leg == "agent" and status != "completed" and attempt.outcome is None:
            # The agent never took the callback: not the citizen's failure; the try is
            # given back (the citizen was never rung) and the place is kept.
            release_attempt(callback, now=now)
            callback.attempts_made -= 1
            agent_login = attempt.agent_login
            session.delete(attempt)
            session.commit()
            if agent_login:
                presence.set_presence(
                    runtime.redis, agent_login, presence.Presence.OFFLINE, now=now,
                    reason=f"missed: {status}",
                )  # fmt: skip
            enqueue_offer(runtime.settings)
            return _no_content()
        if attempt.agent_login and (leg == "agent" or callback.bridge == "customer_first"):
            state = presence.get_presence(runtime.redis, attempt.agent_login)
            if state.status == presence.Presence.BUSY:
                _after_call(runtime, attempt.agent_login, now)
    if attempt is not None and status == "completed" and attempt.callback.purpose == "survey":
        from hotline.voice.routes import status as call_status

        answer: Response = call_status()
        return answer  # the survey call's own row is closed like any call's
    return _no_content()
