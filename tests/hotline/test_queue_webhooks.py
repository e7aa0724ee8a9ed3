"""The queue webhooks one request at a time: a wait past the queue's limit leaves the queue
(timeout) for a keep-place callback; replayed Enqueue results change nothing; garbage gets
valid TwiML."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

import redis
from lxml import etree
from sqlalchemy import func, select

from hotline.db import Database
from hotline.queues.presence import LIVE_CHANNEL, Presence, get_presence, set_presence
from hotline.sim.validate import validate_twiml
from tests.helpers import call_params, new_call_sid
from workorders.call_log import CallInfo, upsert_call
from workorders.callbacks import Callback
from workorders.queueing import QueueEntry, enter_queue


def _queued(database: Database, sid: str, phone: str) -> None:
    with database.session() as session:
        call, _ = upsert_call(
            session,
            info=CallInfo(sid, None, phone, "+862012368", "inbound", "in-progress"),
        )
        call.language = "en-US"
        enter_queue(
            session, call_sid=sid, call_id=call.id, queue="general", from_e164=call.from_e164,
            now=datetime.now(UTC),
        )  # fmt: skip
        session.commit()


def _entry(database: Database, sid: str) -> QueueEntry:
    with database.session() as session:
        return session.execute(select(QueueEntry).where(QueueEntry.call_sid == sid)).scalar_one()


def _doc(response: Any) -> etree._Element:
    assert response.status_code == 200 and response.mimetype == "text/xml"
    assert validate_twiml(response.data) == []
    return etree.fromstring(response.data)


def test_a_wait_past_the_limit_leaves_for_a_callback_that_keeps_the_place(
    twilio_post: Any, database: Database
) -> None:
    sid, phone = new_call_sid(), f"+86138{secrets.randbelow(10**8):08d}"
    _queued(database, sid, phone)
    wait = call_params(sid, From=phone, QueuePosition="3", QueueTime="20")
    waiting = _doc(twilio_post("/voice/queue-wait", wait))
    assert "number 3 in line" in "".join(waiting.itertext())
    assert waiting.find("Gather") is not None
    late = call_params(sid, From=phone, QueuePosition="2", QueueTime="901")
    timed_out = _doc(twilio_post("/voice/queue-wait", late))
    assert timed_out.find("Leave") is not None
    entry = _entry(database, sid)
    assert entry.outcome == "timeout" and entry.wait_s == 901 and entry.last_position == 2
    # Twilio then posts the Enqueue action: the flow books the callback, keeping the place.
    action = call_params(sid, From=phone, QueueResult="leave", QueueTime="901")
    first = twilio_post("/voice/step?node=operator&seq=4", action)
    after = _doc(first)
    assert "给您回电" in "".join(after.itertext())  # the flow speaks its default language here
    again = twilio_post("/voice/step?node=operator&seq=4", action)  # a replay
    assert again.data == first.data
    with database.session() as session:
        callbacks = session.execute(select(Callback).where(Callback.phone_e164 == phone)).scalars()
        (callback,) = list(callbacks)
        assert callback.keep_place and callback.place_at == entry.enqueued_at
        assert callback.position == 2
    assert _entry(database, sid).outcome == "timeout"  # not overwritten by the leave


def test_a_hang_up_in_the_queue_is_recorded_once(twilio_post: Any, database: Database) -> None:
    sid, phone = new_call_sid(), f"+86138{secrets.randbelow(10**8):08d}"
    _queued(database, sid, phone)
    twilio_post("/voice/queue-wait", call_params(sid, QueuePosition="4", QueueTime="30"))
    for _ in range(2):
        twilio_post(
            "/voice/step?node=operator&seq=5",
            call_params(sid, QueueResult="hangup", QueueTime="75"),
        )
    entry = _entry(database, sid)
    assert (entry.outcome, entry.wait_s, entry.last_position) == ("abandoned", 75.0, 4)
    with database.session() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(QueueEntry).where(QueueEntry.call_sid == sid)
            )
            == 1
        )


def test_keys_other_than_1_keep_the_caller_waiting(twilio_post: Any, database: Database) -> None:
    sid = new_call_sid()
    _queued(database, sid, "+8613800138000")
    doc = _doc(twilio_post("/voice/queue-key", call_params(sid, Digits="7")))
    assert doc.find("Leave") is None
    assert _entry(database, sid).waiting
    unknown = _doc(twilio_post("/voice/queue-key", call_params(new_call_sid(), Digits="1")))
    assert unknown.find("Leave") is None


def test_presence_changes_are_published_for_live_pages(redis_conn: redis.Redis) -> None:
    channel = redis_conn.pubsub(ignore_subscribe_messages=True)
    channel.subscribe(LIVE_CHANNEL)
    try:
        channel.get_message(timeout=1)
        set_presence(redis_conn, "live-test", Presence.WRAP_UP, now=datetime.now(UTC))
        message = None
        for _ in range(20):
            message = channel.get_message(timeout=0.5)
            if message:
                break
        assert message is not None
        published = json.loads(message["data"])
        assert published["event"] == "presence"
        assert published["data"] == {
            "kind": "presence", "login": "live-test", "status": "wrap-up",
        }  # fmt: skip
        assert get_presence(redis_conn, "live-test").status == "wrap-up"
    finally:
        channel.close()


def test_a_call_that_ends_while_queued_is_abandoned_without_the_action(
    twilio_post: Any, database: Database
) -> None:
    sid = new_call_sid()
    _queued(database, sid, "+8613800138000")
    twilio_post("/voice/queue-wait", call_params(sid, QueuePosition="2", QueueTime="12"))
    ended = call_params(sid, CallStatus="completed", SequenceNumber="3", CallDuration="40")
    assert twilio_post("/voice/status", ended).status_code == 204
    entry = _entry(database, sid)
    assert entry.outcome == "abandoned" and entry.last_position == 2
    assert entry.wait_s is not None and entry.left_at is not None
    # The late Enqueue action changes nothing.
    twilio_post("/voice/step?node=operator&seq=4", call_params(sid, QueueResult="hangup"))
    assert _entry(database, sid).left_at == entry.left_at
