"""Webhooks of the calls the workers place for callbacks and surveys (voice blueprint):
`/voice/callback/agent|customer|dialled|status` — the legs of a callback (agent first or
customer first) and the status of survey calls; each try's outcome is recorded once."""

from __future__ import annotations

import logging

from flask import Response, request
from sqlalchemy.orm import Session

from hotline.db import get_session
from hotline.queues import presence
from hotline.queues.jobs import enqueue_offer, schedule_callback_job
from hotline.queues.runtime import QueueRuntime
from hotline.voice import bp, params
from hotline.voice import queue_twiml as tw
from hotline.voice.queue_common import after_call, guarded, no_content, url, voices, xml
from hotline.voice.queue_common import runtime as current_runtime
from hotline.voice.signature import require_twilio_signature
from workorders.agents import AgentProfile
from workorders.callbacks import (
    AttemptOutcome,
    Callback,
    CallbackAttempt,
    finish_attempt,
    release_attempt,
)

log = logging.getLogger(__name__)

# DialCallStatus / CallStatus of a leg that never talked → the attempt's outcome.
_NOT_ANSWERED = {
    "busy": AttemptOutcome.BUSY,
    "no-answer": AttemptOutcome.NO_ANSWER,
    "failed": AttemptOutcome.FAILED,
    "canceled": AttemptOutcome.NO_ANSWER,
}


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
@guarded(lambda: xml(tw.hangup()))
def callback_agent() -> Response:
    """Agent first: the agent answered; now dial the citizen from the agent's call."""
    runtime = current_runtime()
    session = get_session()
    attempt = _attempt(session)
    if attempt is None or attempt.outcome is not None:
        return xml(tw.hangup())
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
    return xml(
        tw.dial_citizen(
            language=callback.language if callback.language in tw.TEXT else "zh-CN",
            voices=voices(),
            spoken_number=spoken,
            number=callback.phone_e164,
            caller_id=runtime.settings.twilio_from_number or None,
            action_url=url("voice.callback_dialled", attempt=attempt.id),
            ring_s=runtime.config.callee_ring_s,
        )
    )


@bp.post("/callback/customer")
@require_twilio_signature
@guarded(lambda: xml(tw.hangup()))
def callback_customer() -> Response:
    """Customer first: the citizen answered; greet them and ring the agent."""
    runtime = current_runtime()
    session = get_session()
    attempt = _attempt(session)
    if attempt is None or attempt.outcome is not None:
        return xml(tw.hangup())
    callback = attempt.callback
    agent = session.get(AgentProfile, attempt.agent_login or "")
    language = callback.language if callback.language in tw.TEXT else "zh-CN"
    if agent is None:
        return xml(tw.message(language, voices(), "callback_sorry", hangup=True))
    return xml(
        tw.dial_agent(
            language=language,
            voices=voices(),
            address=agent.address,
            caller_id=runtime.settings.twilio_from_number or None,
            action_url=url("voice.callback_dialled", attempt=attempt.id),
            ring_s=runtime.config.agent_ring_s,
        )
    )


@bp.post("/callback/dialled")
@require_twilio_signature
@guarded(lambda: xml(tw.hangup()))
def callback_dialled() -> Response:
    """The `<Dial>` of a callback ended: agent first, it says whether the citizen answered."""
    runtime = current_runtime()
    session = get_session()
    attempt = _attempt(session)
    if attempt is None:
        return xml(tw.hangup())
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
        return xml(tw.hangup())
    # Customer first: the citizen answered already (their leg's status says so); the agent
    # did not → sorry, and the try counts as not reached so it is retried.
    if status != "completed":
        _finish(session, runtime, attempt, AttemptOutcome.NO_ANSWER, detail="agent did not answer")
        language = callback.language if callback.language in tw.TEXT else "zh-CN"
        return xml(tw.message(language, voices(), "callback_sorry", hangup=True))
    _finish(session, runtime, attempt, AttemptOutcome.ANSWERED, duration_s=duration)
    return xml(tw.hangup())


@bp.post("/callback/status")
@require_twilio_signature
@guarded(no_content)
def callback_status() -> Response:
    """Status callbacks of a callback's legs (and of survey calls)."""
    runtime = current_runtime()
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
            return no_content()
        if attempt.agent_login and (leg == "agent" or callback.bridge == "customer_first"):
            state = presence.get_presence(runtime.redis, attempt.agent_login)
            if state.status == presence.Presence.BUSY:
                after_call(runtime, attempt.agent_login, now)
    if attempt is not None and status == "completed" and attempt.callback.purpose == "survey":
        from hotline.voice.routes import status as call_status

        answer: Response = call_status()
        return answer  # the survey call's own row is closed like any call's
    return no_content()
