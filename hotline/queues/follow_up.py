"""The satisfaction follow-up call is promised in the same transaction as the completion:
a session hook sees every new `complete` event — whichever view, job or command made the
move — and schedules the survey call; after the commit its job is queued."""

from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from hotline.config import Settings
from workorders.callbacks import Callback, CallbackError
from workorders.lifecycle import Move
from workorders.orders import WorkOrderEvent
from workorders.surveys import schedule_follow_up

log = logging.getLogger(__name__)

PENDING_KEY = "hotline.follow_ups"


def install_follow_ups(sessions: sessionmaker[Session], settings: Settings) -> None:
    @event.listens_for(sessions, "before_flush")
    def _before_flush(session: Session, _context: object, _instances: object) -> None:
        completions = [
            obj
            for obj in session.new
            if isinstance(obj, WorkOrderEvent) and obj.move == Move.COMPLETE
        ]
        if not completions:
            return
        from hotline.queues.runtime import QueueRuntime

        runtime = QueueRuntime.for_settings(settings)
        for completed in completions:
            try:
                callback = schedule_follow_up(
                    session,
                    completed.work_order,
                    now=completed.at,
                    calendar=runtime.calendar,
                    hours=runtime.config.calling_hours,
                    window=runtime.config.survey_window,
                    delay_days=runtime.config.survey_delay_days,
                    max_attempts=runtime.config.survey_max_attempts,
                    region=settings.default_region,
                    flush=False,
                )
            except CallbackError as exc:
                # The completion stands; staff follow up by hand (the order stays completed).
                log.warning("no survey call for %s: %s", completed.work_order.number, exc)
                continue
            if callback is not None:
                session.info.setdefault(PENDING_KEY, []).append(callback)

    @event.listens_for(sessions, "after_commit")
    def _after_commit(session: Session) -> None:
        pending: list[Callback] = session.info.pop(PENDING_KEY, [])
        if not pending:
            return
        from hotline.queues.jobs import schedule_callback_job

        for callback in pending:
            schedule_callback_job(settings, callback)

    @event.listens_for(sessions, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop(PENDING_KEY, None)
