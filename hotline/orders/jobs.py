"""Work-order jobs on RQ (routing, deadline timers, the sweep) and how they are scheduled.

Jobs take ids, open their own session, tolerate their row being gone and are idempotent;
scheduling happens after the caller's commit, with natural job ids so repeats add nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import redis
from rq import get_current_job
from sqlalchemy.orm import Session

from hotline import clock
from hotline.config import Settings
from hotline.jobs import enqueue_call_outcome, get_queue, worker_database, worker_settings
from hotline.notify import resend_pending
from hotline.orders.runtime import OrdersRuntime, cached_runtime
from hotline.redis_store import redis_client
from hotline.retention import purge_expired
from hotline.speech.queueing import requeue_lost_transcriptions
from workorders.call_log import calls_without_outcome
from workorders.dispatching import route_order
from workorders.orders import WorkOrder
from workorders.services import unrouted_orders
from workorders.timers import fire_due_timers, fire_timer, order_timers

log = logging.getLogger(__name__)

# A job not done this long after its row says it should have been is taken as lost.
LOST_JOB_AFTER = timedelta(minutes=2)


def _job_id() -> str:
    job = get_current_job()
    return job.id if job else "-"


# --- job entry points (run in workers) --------------------------------------------------


def route_work_order(order_id: int) -> str | None:
    """Dispatch a registered order by the routing rules, then schedule its timers."""
    settings = worker_settings()
    runtime = cached_runtime(settings)
    with worker_database().session() as session:
        decision = route_order(
            session,
            order_id=order_id,
            rules=runtime.rules,
            calendar=runtime.calendar,
            now=clock.now(settings),
        )
        session.commit()
        order = session.get(WorkOrder, order_id)
        if decision is None or order is None:
            log.info("job %s: order %s needs no routing", _job_id(), order_id)
            return None
        log.info(
            "job %s: %s routed to %s (%s)",
            _job_id(),
            order.number,
            decision.department,
            decision.rule or "default",
        )
        schedule_timers(settings, order, runtime)
        return decision.department


def fire_work_order_timer(order_id: int, kind: str, deadline_iso: str) -> bool:
    now = clock.now(worker_settings())
    with worker_database().session() as session:
        fired = fire_timer(
            session, order_id=order_id, kind=kind, deadline_iso=deadline_iso, now=now
        )
        session.commit()
    log.info(
        "job %s: %s timer for order %s %s",
        _job_id(),
        kind,
        order_id,
        "fired" if fired else "not due or already done",
    )
    return fired


def sweep_due() -> int:
    """Fire every due timer whose event is missing, found from SQL alone (Redis may have
    lost the scheduled jobs)."""
    settings = worker_settings()
    runtime = cached_runtime(settings)
    now = clock.now(settings)
    with worker_database().session() as session:
        fired = fire_due_timers(
            session,
            calendar=runtime.calendar,
            now=now,
            remind_before_days=runtime.remind_before_days,
            escalate_after_days=runtime.escalate_after_days,
        )
        session.commit()
        resent = resend_pending(settings, session)
        stale = datetime.now(UTC) - LOST_JOB_AFTER
        rerouted = [
            i
            for i in unrouted_orders(session, registered_before=stale)
            if enqueue_routing(settings, i)
        ]
        outcomes = [
            sid
            for sid in calls_without_outcome(session, ended_before=stale)
            if enqueue_call_outcome(settings, sid)
        ]
        transcriptions = requeue_lost_transcriptions(settings, session, received_before=stale)
        purged = purge_expired(settings, session)
        session.commit()
        _rebuild_kpis_if_needed(settings, session)
    from hotline.queues.jobs import sweep_callbacks  # callbacks and queue visits too

    sweep_callbacks()
    log.info(
        "job %s: sweep fired %d timer(s), re-queued %d message(s), %d routing(s), %d outcome(s), "
        "%d transcription(s); purged %d recording(s), %d transcript(s)",
        _job_id(),
        fired,
        resent,
        len(rerouted),
        len(outcomes),
        transcriptions,
        purged.recordings,
        purged.transcripts,
    )
    return fired


def _rebuild_kpis_if_needed(settings: Settings, session: Session) -> None:
    from hotline.kpis.maintenance import rebuild_if_needed

    try:
        rebuild_if_needed(settings, session, redis_client(settings))
    except redis.RedisError as exc:
        log.warning("KPI counters not checked: %s", exc)


# --- scheduling (called after a commit) -------------------------------------------------


def enqueue_routing(settings: Settings, order_id: int) -> bool:
    try:
        get_queue(settings).enqueue(
            route_work_order,
            order_id,
            job_id=f"route-{order_id}",
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
        )
    except redis.RedisError as exc:
        log.warning(
            "could not queue routing of order %s (%s); a dispatcher or the sweep must pick it up",
            order_id,
            exc,
        )
        return False
    return True


def schedule_timers(settings: Settings, order: WorkOrder, runtime: OrdersRuntime) -> int:
    """Schedule the order's reminder, overdue and escalation jobs for its current deadline."""
    queue = get_queue(settings)
    shift = clock.offset(settings)  # timers are due in work-order time; RQ runs on real time
    scheduled = 0
    for timer in order_timers(
        order,
        runtime.calendar,
        remind_before_days=runtime.remind_before_days,
        escalate_after_days=runtime.escalate_after_days,
    ):
        deadline_iso = timer.deadline.isoformat()
        job_id = f"wo-timer-{timer.kind}-{order.id}-{int(timer.deadline.timestamp())}"
        try:
            if timer.due_at - shift <= datetime.now(UTC):
                queue.enqueue(
                    fire_work_order_timer, order.id, timer.kind, deadline_iso, job_id=job_id
                )
            else:
                queue.enqueue_at(
                    timer.due_at - shift,
                    fire_work_order_timer,
                    order.id,
                    timer.kind,
                    deadline_iso,
                    job_id=job_id,
                )
            scheduled += 1
        except redis.RedisError as exc:
            log.warning(
                "could not schedule %s for %s (%s); the sweep will fire it",
                timer.kind,
                order.number,
                exc,
            )
    return scheduled
