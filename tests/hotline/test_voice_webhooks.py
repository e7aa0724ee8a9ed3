"""The voice webhooks through the Flask test client, every request signed like Twilio's."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree
from sqlalchemy import func, select

from hotline.db import Database
from hotline.sim.validate import validate_twiml
from tests.helpers import call_params, new_call_sid, sign
from workorders.calls import Call, CallEvent


def twiml_of(response: Any) -> etree._Element:
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/xml"
    problems = validate_twiml(response.data)
    assert problems == [], problems
    return etree.fromstring(response.data)


def gather_target(doc: etree._Element) -> tuple[str, dict[str, str]]:
    """(path?query, query values) of the document's Gather action."""
    action = doc.find("Gather").get("action")
    parts = urlsplit(action)
    return f"{parts.path}?{parts.query}", {k: v[0] for k, v in parse_qs(parts.query).items()}


def said(doc: etree._Element) -> str:
    return " ".join(el.text or "" for el in doc.iter("Say"))


def call_row(database: Database, sid: str) -> Call:
    with database.session() as session:
        return session.execute(select(Call).where(Call.call_sid == sid)).scalar_one()


def start_call(twilio_post: Any, sid: str, **extra: str) -> etree._Element:
    return twiml_of(twilio_post("/voice/incoming", call_params(sid, CallStatus="ringing", **extra)))


def test_incoming_call_is_answered_with_the_language_menu(
    twilio_post: Any, database: Database
) -> None:
    sid = new_call_sid()
    doc = start_call(twilio_post, sid, FromCity="SHENZHEN", CallToken="opaque-new-param")
    gather = doc.find("Gather")
    assert gather is not None and gather.get("input") == "dtmf"
    assert gather.get("actionOnEmptyResult") == "true"
    _, query = gather_target(doc)
    assert query == {"node": "language", "seq": "1"}
    assert "English" in said(doc)
    call = call_row(database, sid)
    assert call.from_e164 == "+8613800138000"
    assert call.contact_id is not None
    assert call.current_node == "language"


def test_keys_walk_the_flow_and_switch_language(twilio_post: Any, database: Database) -> None:
    sid = new_call_sid()
    doc = start_call(twilio_post, sid)
    target, _ = gather_target(doc)
    doc = twiml_of(twilio_post(target, call_params(sid, Digits="2")))
    target, query = gather_target(doc)
    assert query["node"] == "main_menu"
    assert all(say.get("language") == "en-US" for say in doc.iter("Say"))
    assert call_row(database, sid).language == "en-US"


def test_unsigned_and_forged_requests_are_refused(
    client: Any, twilio_post: Any, database: Database
) -> None:
    sid = new_call_sid()
    params = call_params(sid)
    assert client.post("/voice/incoming", data=params).status_code == 403
    assert twilio_post("/voice/incoming", params, signature="Zm9yZ2Vk").status_code == 403
    other_url = sign("http://localhost/voice/status", params)
    assert twilio_post("/voice/incoming", params, signature=other_url).status_code == 403
    tampered = sign("http://localhost/voice/incoming", params)
    response = client.post(
        "/voice/incoming",
        data=params | {"Digits": "9"},
        headers={"X-Twilio-Signature": tampered},
    )
    assert response.status_code == 403
    with database.session() as session:
        assert session.execute(select(Call).where(Call.call_sid == sid)).first() is None


def test_a_replayed_request_gets_the_same_answer_and_changes_nothing(
    twilio_post: Any, database: Database
) -> None:
    sid = new_call_sid()
    target, _ = gather_target(start_call(twilio_post, sid))
    first = twilio_post(target, call_params(sid, Digits="1"))
    before = call_row(database, sid)
    second = twilio_post(target, call_params(sid, Digits="1"))
    after = call_row(database, sid)
    assert second.data == first.data
    assert (after.step_seq, after.current_node) == (before.step_seq, before.current_node)
    with database.session() as session:
        events = session.scalar(
            select(func.count()).select_from(CallEvent).where(CallEvent.call_id == after.id)
        )
    assert events == 2


def test_silence_reprompts_then_takes_the_default_route(twilio_post: Any) -> None:
    sid = new_call_sid()
    doc = start_call(twilio_post, sid)
    nodes = []
    for _ in range(6):
        target, query = gather_target(doc)
        nodes.append(query["node"])
        doc = twiml_of(twilio_post(target, call_params(sid, Digits="")))
        if doc.find("Gather") is None:
            break
    # three tries at the language menu, then the operator route takes over
    assert nodes[:3] == ["language"] * 3
    assert doc.find("Gather") is None or gather_target(doc)[1]["node"] != "language"


@pytest.mark.parametrize(
    "digits", ["abc", "12345678901234567890123456789012345678901234567890", "9", "1; DROP"]
)
def test_garbage_digits_get_the_invalid_prompt(twilio_post: Any, digits: str) -> None:
    sid = new_call_sid()
    target, _ = gather_target(start_call(twilio_post, sid))
    doc = twiml_of(twilio_post(target, call_params(sid, Digits=digits)))
    _, query = gather_target(doc)
    assert query["node"] == "language"


@pytest.mark.parametrize("node", ["no_such_node", "bad%20node%27", ""])
def test_unknown_node_resumes_at_the_main_menu(twilio_post: Any, node: str) -> None:
    sid = new_call_sid()
    start_call(twilio_post, sid)
    doc = twiml_of(twilio_post(f"/voice/step?node={node}&seq=2", call_params(sid, Digits="1")))
    _, query = gather_target(doc)
    assert query["node"] == "main_menu"


def test_step_for_an_unknown_call_creates_it(twilio_post: Any, database: Database) -> None:
    sid = new_call_sid()
    doc = twiml_of(twilio_post("/voice/step?node=main_menu&seq=7", call_params(sid, Digits="4")))
    _, query = gather_target(doc)
    assert query["node"] == "faq"
    assert call_row(database, sid).current_node == "faq"


def test_request_without_call_sid_still_speaks_to_the_caller(twilio_post: Any) -> None:
    params = call_params("")
    del params["CallSid"]
    doc = twiml_of(twilio_post("/voice/incoming", params))
    assert said(doc)
    assert doc.find("Hangup") is not None


@pytest.mark.parametrize("number", ["anonymous", "+266696687", "", "client:alice", "12"])
def test_withheld_or_invalid_numbers_are_stored_as_unknown(
    twilio_post: Any, database: Database, number: str
) -> None:
    sid = new_call_sid()
    start_call(twilio_post, sid, From=number, Caller=number)
    call = call_row(database, sid)
    assert call.from_e164 is None and call.contact_id is None


def test_missing_from_is_an_unknown_caller(twilio_post: Any, database: Database) -> None:
    sid = new_call_sid()
    params = call_params(sid)
    del params["From"]
    twiml_of(twilio_post("/voice/incoming", params))
    assert call_row(database, sid).from_e164 is None


def test_status_callbacks_apply_in_sequence_order_whatever_the_arrival(
    twilio_post: Any, database: Database
) -> None:
    sid = new_call_sid()
    start_call(twilio_post, sid)
    stamps = {
        "ringing": "Sat, 28 Nov 2026 02:00:00 +0000",
        "in-progress": "Sat, 28 Nov 2026 02:00:03 +0000",
        "completed": "Sat, 28 Nov 2026 02:01:03 +0000",
    }
    callbacks = [("completed", 2), ("ringing", 0), ("in-progress", 1)]
    for status, seq in callbacks + callbacks:  # each delivered twice
        extra = {"CallDuration": "60"} if status == "completed" else {}
        response = twilio_post(
            "/voice/status",
            call_params(
                sid, CallStatus=status, SequenceNumber=str(seq), Timestamp=stamps[status], **extra
            ),
        )
        assert response.status_code in (200, 204)
    call = call_row(database, sid)
    assert call.status == "completed"
    assert call.status_sequence == 2
    assert call.duration_s == 60
    assert (
        call.answered_at is not None
        and call.answered_at.minute == 0
        and call.answered_at.second == 3
    )
    with database.session() as session:
        statuses = session.scalar(
            select(func.count())
            .select_from(CallEvent)
            .where(CallEvent.call_id == call.id, CallEvent.kind == "status")
        )
    assert statuses == 3


def test_status_callback_for_an_unknown_call_is_kept(twilio_post: Any, database: Database) -> None:
    sid = new_call_sid()
    response = twilio_post(
        "/voice/status", call_params(sid, CallStatus="no-answer", SequenceNumber="0")
    )
    assert response.status_code == 204
    assert call_row(database, sid).status == "no-answer"


def test_lost_redis_state_is_rebuilt_from_the_call_row(
    twilio_post: Any, redis_conn: Any, database: Database
) -> None:
    sid = new_call_sid()
    target, _ = gather_target(start_call(twilio_post, sid))
    doc = twiml_of(twilio_post(target, call_params(sid, Digits="2")))  # English
    redis_conn.delete(f"hotline:call:{sid}")
    target, _ = gather_target(doc)
    doc = twiml_of(twilio_post(target, call_params(sid, Digits="4")))
    assert all(say.get("language") == "en-US" for say in doc.iter("Say"))
    assert redis_conn.hget(f"hotline:call:{sid}", "node") == b"faq"


def test_healthz_reports_each_dependency(client: Any) -> None:
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert "dtmf-only" in body["checks"]["speech"]["detail"]
