"""Queue, agent and callback jobs on RQ, and how they are queued after a commit.

Every job works from SQL and Redis state, so running one twice or late changes nothing;
callbacks are scheduled with RQ's scheduler at their due time, and the periodic sweep
(`sweep_callbacks`, run by `sweep_due`) fires whatever a lost job did not.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import redis
from rq import get_current_job

from hotline import clock
from hotline.config import Settings
from hotline.jobs import get_queue, worker_database, worker_settings
from hotline.queues import presence
from hotline.queues.dispatch import offer_work
from hotline.queues.runtime import NoPublicUrl, QueueRuntime
from hotline.twilio_client import CallNotPlaced, place_call
from workorders.callbacks import (
    AttemptOutcome,
    Callback,
    CallbackPurpose,
    CallbackStatus,
    begin_attempt,
    due_callbacks,
    finish_attempt,
    get_callback,
    stuck_attempts,
)
from workorders.queueing import QueueOutcome, leave_queue, stale_waiting

log = logging.getLogger(__name__)

DISPATCH_LOCK = "hotline:agents:dispatch-lock"
# A try without any report this long after it started lost its call or its job.
ATTEMPT_LOST_AFTER = timedelta(minutes=10)
# Nobody waits in a Twilio queue this long without a wait request: the caller is gone.
ENTRY_LOST_AFTER = timedelta(hours=2)
SCHEDULER_SLACK = timedelta(seconds=1.5)


def _job_id() -> str:
    job = get_current_job()
    return job.id if job else "-"


def offer_queued_work() -> int:
    """Ring free agents for the oldest waiting callers and due callbacks."""
    runtime = QueueRuntime.for_settings(worker_settings())
    lock = runtime.redis.lock(DISPATCH_LOCK, timeout=60, blocking_timeout=30)
    if not lock.acquire():
        log.warning("job %s: another dispatch holds the lock; skipped", _job_id())
        return 0
    try:
        with worker_database().session() as session:
            try:
                offers = offer_work(session, runtime)
            except NoPublicUrl as exc:
                log.error("job %s: agents cannot be rung: %s", _job_id(), exc)
                return 0
    finally:
        lock.release()
    log.info("job %s: %d offer(s) made", _job_id(), len(offers))
    return len(offers)


def place_survey_call(callback_id: int) -> str:
    """One try of a satisfaction follow-up call (the survey flow answers it)."""
    runtime = QueueRuntime.for_settings(worker_settings())
    now = runtime.now()
    with worker_database().session() as session:
        callback = get_callback(session, callback_id, lock=True)
        if callback is None or callback.status != CallbackStatus.SCHEDULED:
            return callback.status if callback else "gone"
        if callback.due_at > now:
            return "not due"
        attempt = begin_attempt(session, callback, now=now)
        session.commit()
        try:
            sid = place_call(
                runtime.settings,
                to=callback.phone_e164,
                url=runtime.url("/voice/incoming", flow="survey", callback=callback.id),
                status_callback=runtime.url(
                    "/voice/callback/status", attempt=attempt.id, leg="customer"
                ),
                ring_s=runtime.config.callee_ring_s,
            )
        except (CallNotPlaced, NoPublicUrl) as exc:
            wrong = isinstance(exc, CallNotPlaced) and exc.wrong_number
            finish_attempt(
                session,
                attempt,
                outcome=AttemptOutcome.WRONG_NUMBER if wrong else AttemptOutcome.FAILED,
                now=now,
                hours=runtime.config.calling_hours,
                calendar=runtime.calendar,
                backoff_s=runtime.config.retry_backoff_s,
                detail=str(exc),
            )
            session.commit()
            log.warning("job %s: survey call %s not placed: %s", _job_id(), callback_id, exc)
            schedule_callback_job(runtime.settings, callback)
            return callback.status
        attempt.twilio_call_sid = sid
        session.commit()
        log.info("job %s: survey call %s placed (%s)", _job_id(), callback_id, sid)
        return "placed"


def end_wrap_up(login: str, since_iso: str) -> bool:
    """After-call work is over: available again, unless the agent changed status meanwhile."""
    settings = worker_settings()
    client = QueueRuntime.for_settings(settings).redis
    state = presence.get_presence(client, login)
    if state.status != presence.Presence.WRAP_UP or state.since.isoformat() != since_iso:
        return False
    presence.set_presence(client, login, presence.Presence.AVAILABLE, now=clock.now(settings))
    enqueue_offer(settings)
    return True


def sweep_callbacks() -> dict[str, int]:
    """From SQL alone: fire due callbacks whose job was lost, give up tries that never
    reported back, close queue visits whose caller must be long gone."""
    settings = worker_settings()
    runtime = QueueRuntime.for_settings(settings)
    now = runtime.now()
    counts = {"surveys": 0, "callbacks": 0, "lost_attempts": 0, "lost_entries": 0}
    with worker_database().session() as session:
        for attempt in stuck_attempts(session, started_before=now - ATTEMPT_LOST_AFTER):
            finish_attempt(
                session,
                attempt,
                outcome=AttemptOutcome.FAILED,
                now=now,
                hours=runtime.config.calling_hours,
                calendar=runtime.calendar,
                backoff_s=runtime.config.retry_backoff_s,
                detail="no report from the call: taken as lost",
            )
            counts["lost_attempts"] += 1
        for entry in stale_waiting(session, before=now - ENTRY_LOST_AFTER):
            leave_queue(session, entry, outcome=QueueOutcome.ERROR, now=now)
            counts["lost_entries"] += 1
        session.commit()
        due = due_callbacks(session, now=now)
        survey_ids = [c.id for c in due if c.purpose == CallbackPurpose.SURVEY]
        counts["callbacks"] = len(due) - len(survey_ids)
    for callback_id in survey_ids:
        if enqueue_survey_call(settings, callback_id, now):
            counts["surveys"] += 1
    enqueue_offer(settings)  # due callbacks, or free agents with callers waiting: cheap
    log.info("job %s: callback sweep %s", _job_id(), counts)
    return counts


# --- queueing jobs (after a commit) -----------------------------------------------------


def enqueue_offer(settings: Settings) -> bool:
    try:
        get_queue(settings).enqueue(offer_queued_work, result_ttl=60, failure_ttl=24 * 3600)
    except redis.RedisError as exc:
        log.warning("could not queue agent dispatch (%s); the sweep will", exc)
        return False
    return True


def enqueue_survey_call(settings: Settings, callback_id: int, now: datetime) -> bool:
    bucket = int(now.timestamp() // 60)
    try:
        get_queue(settings).enqueue(
            place_survey_call,
            callback_id,
            job_id=f"survey-{callback_id}-{bucket}",
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
        )
    except redis.RedisError as exc:
        log.warning("could not queue survey call %s (%s); the sweep will", callback_id, exc)
        return False
    return True


def schedule_callback_job(settings: Settings, callback: Callback) -> bool:
    """At the callback's due time: place the survey call, or offer the callback to agents.
    Due times are in work-order time; RQ's scheduler runs on real time."""
    if callback.status != CallbackStatus.SCHEDULED:
        return False
    # RQ's scheduler keeps whole seconds and may fire up to a second early: a job that found
    # its callback not yet due would leave it for the sweep, so aim just after the due time.
    real_due = callback.due_at - clock.offset(settings) + SCHEDULER_SLACK
    queue = get_queue(settings)
    stamp = int(callback.due_at.timestamp())
    try:
        if callback.purpose == CallbackPurpose.SURVEY:
            job_id = f"survey-{callback.id}-at-{stamp}"
            if real_due <= datetime.now(UTC):
                queue.enqueue(place_survey_call, callback.id, job_id=job_id)
            else:
                queue.enqueue_at(real_due, place_survey_call, callback.id, job_id=job_id)
        elif real_due <= datetime.now(UTC):
            queue.enqueue(offer_queued_work, result_ttl=60)
        else:
            queue.enqueue_at(
                real_due, offer_queued_work, job_id=f"callback-{callback.id}-at-{stamp}"
            )
    except redis.RedisError as exc:
        log.warning("could not schedule callback %s (%s); the sweep will", callback.id, exc)
        return False
    return True


def schedule_wrap_up(settings: Settings, login: str, since: datetime, seconds: int) -> bool:
    try:
        get_queue(settings).enqueue_in(
            timedelta(seconds=seconds), end_wrap_up, login, since.isoformat()
        )
    except redis.RedisError as exc:
        log.warning("could not schedule the end of %s's wrap-up (%s)", login, exc)
        return False
    return True
