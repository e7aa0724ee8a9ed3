"""Citizen notifications: the outbox written with the move, sent by a job through Twilio's
REST API (the loopback stand-in), with retries for Twilio's failures and none for refusals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from hotline import jobs
from hotline.config import Settings
from hotline.db import Database
from hotline.notify import TemporaryFailure, send_notification
from hotline.sim.rest import RestSim
from tests.conftest import worker_env
from workorders.calendar import load_calendar
from workorders.notifications import OUTBOX_KEY, Notification
from workorders.services import Intake, register_work_order


@pytest.fixture
def as_worker(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run job functions in this process with the worker's environment."""
    for key, value in worker_env(settings).items():
        if key.startswith("HOTLINE_"):
            monkeypatch.setenv(key, value)
    jobs.worker_settings.cache_clear()
    jobs.worker_database.cache_clear()
    yield
    jobs.worker_settings.cache_clear()
    jobs.worker_database.cache_clear()


def new_letter(database: Database, phone: str = "+8613755556666") -> int:
    with database.session() as session:
        order, _ = register_work_order(
            session,
            intake=Intake(
                channel="letter", category="other", summary="来信反映立案问题", contact_phone=phone
            ),
            actor="staff",
            calendar=load_calendar(),
        )
        # This test runs the send job itself: keep the session's worker from racing it.
        session.info.pop(OUTBOX_KEY)
        session.commit()
        return session.execute(
            select(Notification.id).where(Notification.work_order_id == order.id)
        ).scalar_one()


def row(database: Database, notification_id: int) -> Notification:
    with database.session() as session:
        return session.get(Notification, notification_id)  # type: ignore[return-value]


def test_sent_once_through_the_rest_api(
    as_worker: None, database: Database, rest_sim: RestSim
) -> None:
    nid = new_letter(database)
    before = len(rest_sim.messages)
    assert send_notification(nid) == "sent"
    assert send_notification(nid) == "sent"  # again: nothing more is sent
    sent = rest_sim.messages[before:]
    assert len([m for m in sent if m["To"] == "+8613755556666"]) == 1
    note = row(database, nid)
    assert note.provider_id and note.provider_id.startswith("SM") and note.attempts == 1


def test_twilio_failures_are_retried_refusals_are_not(
    as_worker: None, database: Database, rest_sim: RestSim
) -> None:
    nid = new_letter(database)
    rest_sim.fail_next(500, to="+8613755556666")
    with pytest.raises(TemporaryFailure, match="500"):
        send_notification(nid)
    assert (row(database, nid).status, row(database, nid).attempts) == ("pending", 1)
    assert send_notification(nid) == "sent"  # the retry
    refused = new_letter(database, phone="+8613755557777")
    rest_sim.fail_next(400, to="+8613755557777")
    assert send_notification(refused) == "failed"
    assert "400" in (row(database, refused).last_error or "")


def test_unreachable_twilio_is_a_temporary_failure(
    as_worker: None, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    nid = new_letter(database)
    monkeypatch.setenv("HOTLINE_TWILIO_API_BASE_URL", "http://127.0.0.1:9")  # nothing listens
    jobs.worker_settings.cache_clear()
    with pytest.raises(TemporaryFailure, match="ConnectionError"):
        send_notification(nid)
    assert row(database, nid).status == "pending"


def test_without_a_sender_number_nothing_is_sent(
    as_worker: None, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    nid = new_letter(database)
    monkeypatch.delenv("HOTLINE_TWILIO_FROM_NUMBER")
    jobs.worker_settings.cache_clear()
    assert send_notification(nid) == "skipped"
    assert "TWILIO_FROM_NUMBER" in (row(database, nid).last_error or "")


def test_a_rolled_back_move_queues_no_message(settings: Settings, database: Database) -> None:
    from hotline.jobs import get_queue

    with database.session() as session:
        order, _ = register_work_order(
            session,
            intake=Intake(
                channel="web", category="other", summary="网上留言", contact_phone="+8613755558888"
            ),
            actor="web",
            calendar=load_calendar(),
        )
        nid = session.execute(
            select(Notification.id).where(Notification.work_order_id == order.id)
        ).scalar_one()
        session.rollback()
    assert get_queue(settings).fetch_job(f"notify-{nid}-0") is None
