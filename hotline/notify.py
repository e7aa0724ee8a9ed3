"""Sending the citizen notifications of the outbox, as text messages through Twilio.

Commit, then enqueue: a session that committed new notifications queues their send jobs
(`install_outbox`); the sweep re-queues any still pending, so a lost job delays a message
but never loses it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import redis
import requests
from rq import Retry
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from hotline.config import Settings
from hotline.jobs import get_queue, worker_database, worker_settings
from workorders.base import utcnow
from workorders.notifications import (
    MAX_ATTEMPTS,
    OUTBOX_KEY,
    Notification,
    NotificationStatus,
    pending_notifications,
)
from workorders.phones import mask_number

log = logging.getLogger(__name__)

RETRY = Retry(max=MAX_ATTEMPTS - 1, interval=[10, 60, 300, 900])
RESEND_AFTER = timedelta(minutes=30)


class TemporaryFailure(RuntimeError):
    """Twilio could not be reached or failed on its side: RQ retries the job."""


def install_outbox(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Queue the send jobs of a transaction's new notifications once it has committed."""

    @event.listens_for(sessions, "after_commit")
    def _after_commit(session: Session) -> None:
        for notification_id in session.info.pop(OUTBOX_KEY, []):
            enqueue_notification(settings, notification_id)

    @event.listens_for(sessions, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop(OUTBOX_KEY, None)


def enqueue_notification(settings: Settings, notification_id: int, attempt: int = 0) -> bool:
    try:
        get_queue(settings).enqueue(
            send_notification,
            notification_id,
            job_id=f"notify-{notification_id}-{attempt}",
            retry=RETRY,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
        )
    except redis.RedisError as exc:
        log.warning("could not queue notification %s (%s); the sweep will", notification_id, exc)
        return False
    return True


def send_notification(notification_id: int) -> str:
    """Send one text; idempotent (a sent one is not sent again)."""
    from hotline.twilio_client import TwilioRestException, rest_client

    settings = worker_settings()
    with worker_database().session() as session:
        note = session.execute(
            select(Notification).where(Notification.id == notification_id).with_for_update()
        ).scalar_one_or_none()
        if note is None or note.status != NotificationStatus.PENDING:
            return note.status if note else "gone"
        if not settings.twilio_from_number:
            note.status = NotificationStatus.SKIPPED
            note.last_error = "no sender: set TWILIO_FROM_NUMBER to send texts"
            session.commit()
            log.info("notification %s skipped: no TWILIO_FROM_NUMBER", notification_id)
            return note.status
        note.attempts += 1
        try:
            message: Any = rest_client(settings).messages.create(
                to=note.to_phone, from_=settings.twilio_from_number, body=note.body
            )
        except TwilioRestException as exc:
            note.last_error = f"{exc.status} {exc.code}: {exc.msg}"[:500]
            if exc.status < 500 and exc.status != 429:
                note.status = NotificationStatus.FAILED  # refused for good: do not retry
                session.commit()
                return note.status
            session.commit()
            raise TemporaryFailure(note.last_error) from exc
        except requests.RequestException as exc:
            note.last_error = f"{type(exc).__name__}: {exc}"[:500]
            session.commit()
            raise TemporaryFailure(note.last_error) from exc
        note.status, note.sent_at = NotificationStatus.SENT, utcnow()
        note.provider_id = str(getattr(message, "sid", "") or "")[:64]
        note.last_error = None
        session.commit()
        log.info("notification %s (%s) sent to %s", note.id, note.kind, mask_number(note.to_phone))
        return note.status


def resend_pending(settings: Settings, session: Session) -> int:
    """Queue again what is still pending long after it was written (its job was lost)."""
    ids = pending_notifications(session, older_than=utcnow() - RESEND_AFTER)
    bucket = int(utcnow().timestamp() // RESEND_AFTER.total_seconds())
    return sum(enqueue_notification(settings, i, attempt=bucket) for i in ids)
