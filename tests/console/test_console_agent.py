"""The agent console: the page shows the queues and the screen-pop of the agent's call, and its
actions (presence, resolved in call, note, callback, open an order) change the database.
Who may use it is in the role matrix (tests/console/test_console_matrix.py)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hotline.db import Database
from hotline.queues.presence import Presence, get_presence, set_presence
from hotline.redis_store import redis_client
from hotline.speech.records import Recording, Transcript
from hotline.users.roles import Role
from tests.console.conftest import ConsoleUser, logged_in, post_form
from tests.helpers import new_call_sid
from workorders.agents import save_agent
from workorders.call_log import CallInfo, upsert_call
from workorders.callbacks import Callback, cancel_callback
from workorders.calls import Call
from workorders.orders import WorkOrder, WorkOrderEvent
from workorders.phones import mask_number
from workorders.queueing import enter_queue
from workorders.services import Intake, register_work_order

PAGE = "/console/agent"


def unique_phone() -> str:
    return f"+86137{secrets.randbelow(10**8):08d}"


@dataclass
class OnCall:
    agent: ConsoleUser
    client: FlaskClient
    call_sid: str
    phone: str
    order: str


def make_agent(database: Database, user: ConsoleUser) -> None:
    with database.session() as session:
        save_agent(
            session, login=user.login, skills=["civil"],
            known_queues=frozenset({"civil", "general"}), phone=unique_phone(),
        )  # fmt: skip
        session.commit()


def queued_call(database: Database, phone: str, *, queue: str = "civil") -> str:
    """A caller on hold in `queue` (what the Enqueue webhook writes)."""
    sid = new_call_sid()
    with database.session() as session:
        call, _ = upsert_call(
            session, info=CallInfo(sid, None, phone, "+862012368", "inbound", "in-progress")
        )
        enter_queue(
            session, call_sid=sid, call_id=call.id, queue=queue, from_e164=phone,
            now=datetime.now(UTC),
        )  # fmt: skip
        session.commit()
    return sid


def answered(console_app: Flask, database: Database, user: ConsoleUser, sid: str) -> None:
    """The agent is bridged to the caller: busy on their call (what dispatch writes)."""
    set_presence(
        redis_client(console_app.config["SETTINGS"]), user.login, Presence.BUSY,
        now=datetime.now(UTC), call_sid=sid,
    )  # fmt: skip


def on_call(
    console_app: Flask, database: Database, make_user: Callable[..., ConsoleUser]
) -> OnCall:
    user = make_user(Role.AGENT)
    make_agent(database, user)
    phone = unique_phone()
    runtime = console_app.extensions["hotline.orders"]
    with database.session() as session:
        order, _ = register_work_order(
            session,
            intake=Intake(channel="phone", category="enforcement", summary="判决未执行",
                          contact_phone=phone),
            actor="tests", calendar=runtime.calendar,
        )  # fmt: skip
        session.commit()
        number = order.number
    sid = queued_call(database, phone)
    with database.session() as session:
        call_id = session.execute(select(Call.id).where(Call.call_sid == sid)).scalar_one()
        recording = Recording(recording_sid=f"RE{secrets.token_hex(16)}", url="https://x/r",
                              call_id=call_id)  # fmt: skip
        said = Transcript(
            text="我的判决一直没有执行", words=[], model="m", language="zh-CN", audio_s=2, rtf=0.1
        )
        recording.transcripts.append(said)
        session.add(recording)
        session.commit()
    answered(console_app, database, user, sid)
    return OnCall(user, logged_in(console_app, user), sid, phone, number)


def test_the_page_shows_queues_and_the_screen_pop(
    console_app: Flask, database: Database, make_user: Callable[..., ConsoleUser]
) -> None:
    c = on_call(console_app, database, make_user)
    waiting_phone = unique_phone()
    waiting = queued_call(database, waiting_phone)
    html = c.client.get(PAGE).get_data(as_text=True)
    assert 'data-testid="presence">busy<' in html
    assert f'data-call="{waiting}"' in html and mask_number(waiting_phone) in html
    assert waiting_phone not in html  # masked only
    assert f'data-testid="pop-call">{c.call_sid}<' in html
    assert mask_number(c.phone) in html and c.phone not in html
    assert f'href="/console/orders/{c.order}"' in html
    assert "我的判决一直没有执行" in html  # the transcript so far
    assert 'data-live="/console/live/queues?last_id=' in html
    # The live region alone, as the page re-fetches it.
    part = c.client.get(PAGE + "/live").get_data(as_text=True)
    assert "<html" not in part and f'data-call="{waiting}"' in part
    # The agent's nav link.
    assert 'href="/console/agent"' in c.client.get("/console/").get_data(as_text=True)


def test_presence_buttons_set_the_presence(
    console_app: Flask, database: Database, make_user: Callable[..., ConsoleUser]
) -> None:
    user = make_user(Role.AGENT)
    make_agent(database, user)
    client = logged_in(console_app, user)
    client_redis = redis_client(console_app.config["SETTINGS"])
    r = post_form(client, PAGE + "/presence", {"status": "wrap-up"}, PAGE)
    assert r.status_code == 302
    assert get_presence(client_redis, user.login).status == "wrap-up"
    r = post_form(client, PAGE + "/presence", {"status": "napping"}, PAGE)
    assert get_presence(client_redis, user.login).status == "wrap-up"
    assert "status must be one of" in client.get(PAGE).get_data(as_text=True)
    # Without the CSRF token: refused, nothing changes.
    r = client.post(PAGE + "/presence", data={"status": "offline"})
    assert r.status_code == 400
    assert get_presence(client_redis, user.login).status == "wrap-up"


def test_a_user_without_agent_profile_is_told(
    console_app: Flask, make_user: Callable[..., ConsoleUser]
) -> None:
    client = logged_in(console_app, make_user(Role.SUPERVISOR))
    html = client.get(PAGE).get_data(as_text=True)
    assert "No agent profile" in html and 'data-testid="no-call"' in html
    r = post_form(client, PAGE + "/presence", {"status": "busy"}, PAGE)
    assert r.status_code == 302 and "not found" in client.get(PAGE).get_data(as_text=True)


def test_mark_resolved_and_note(
    console_app: Flask, database: Database, make_user: Callable[..., ConsoleUser]
) -> None:
    c = on_call(console_app, database, make_user)
    r = post_form(c.client, PAGE + "/resolve", {}, PAGE)
    assert r.status_code == 302
    r = post_form(c.client, PAGE + "/note", {"order": c.order, "note": "来电催办"}, PAGE)
    assert r.status_code == 302
    assert f"Note added to {c.order}" in c.client.get(PAGE).get_data(as_text=True)
    r = post_form(c.client, PAGE + "/note", {"order": "WO-1999-000000", "note": "x"}, PAGE)
    assert "not found" in c.client.get(PAGE).get_data(as_text=True)
    with database.session() as session:
        call = session.execute(select(Call).where(Call.call_sid == c.call_sid)).scalar_one()
        assert call.resolved_in_call and call.flow_context["resolved_by"] == f"user:{c.agent.login}"
        notes = session.execute(
            select(WorkOrderEvent.note)
            .join(WorkOrder, WorkOrderEvent.work_order_id == WorkOrder.id)
            .where(WorkOrder.number == c.order)
        ).scalars()
        assert "来电催办" in list(notes)


def test_resolve_without_a_call_is_refused(
    console_app: Flask, database: Database, make_user: Callable[..., ConsoleUser]
) -> None:
    user = make_user(Role.AGENT)
    make_agent(database, user)
    client = logged_in(console_app, user)
    post_form(client, PAGE + "/resolve", {}, PAGE)
    assert "not on that call" in client.get(PAGE).get_data(as_text=True)


def test_schedule_a_callback_and_bad_windows(
    console_app: Flask, database: Database, make_user: Callable[..., ConsoleUser]
) -> None:
    c = on_call(console_app, database, make_user)
    past = {"start": "2020-01-06T10:00", "end": "2020-01-06T11:00", "reason": "past"}
    post_form(c.client, PAGE + "/callback", past, PAGE)
    html = c.client.get(PAGE + "?cb_reason=past").get_data(as_text=True)
    assert "No callback scheduled" in html and "is in the past" in html
    bad = {"start": "tomorrow at ten"}
    post_form(c.client, PAGE + "/callback", bad, PAGE)
    assert "is not a date and time" in c.client.get(PAGE).get_data(as_text=True)
    backwards = {"start": "2030-01-07T11:00", "end": "2030-01-07T10:00"}
    post_form(c.client, PAGE + "/callback", backwards, PAGE)
    assert "must be after" in c.client.get(PAGE).get_data(as_text=True)
    night = {"start": "2030-01-07T01:00", "end": "2030-01-07T02:00"}
    post_form(c.client, PAGE + "/callback", night, PAGE)
    assert "allowed calling hours" in c.client.get(PAGE).get_data(as_text=True)
    with database.session() as session:
        assert session.execute(
            select(Callback).where(Callback.phone_e164 == c.phone)
        ).first() is None  # fmt: skip
    # Blank window: as soon as allowed; the caller's number, linked to the order and call.
    ok = {"reason": "送达文书后回电", "order": c.order, "queue": "civil"}
    r = post_form(c.client, PAGE + "/callback", ok, PAGE)
    assert r.status_code == 302
    assert "scheduled" in c.client.get(PAGE).get_data(as_text=True)
    with database.session() as session:
        callback = session.execute(
            select(Callback).where(Callback.phone_e164 == c.phone)
        ).scalar_one()
        assert callback.reason == "送达文书后回电" and callback.agent_login == c.agent.login
        assert callback.work_order_id is not None and callback.call_id is not None
        # Not placed by this test's worker later on: the other tests' agents stay undisturbed.
        cancel_callback(session, callback, actor="tests")
        session.commit()


def test_open_an_order_for_the_caller(
    console_app: Flask, database: Database, make_user: Callable[..., ConsoleUser]
) -> None:
    c = on_call(console_app, database, make_user)
    form = {"category": "complaint", "summary": "窗口工作人员态度差", "statement": "上周五"}
    r = post_form(c.client, PAGE + "/order", form, PAGE)
    assert r.status_code == 302
    with database.session() as session:
        orders = session.execute(
            select(WorkOrder).where(WorkOrder.summary == "窗口工作人员态度差")
        ).scalars()
        assert any(o.channel == "phone" for o in orders)
    post_form(c.client, PAGE + "/order", {"category": "complaint", "summary": ""}, PAGE)
    assert "needs a summary" in c.client.get(PAGE).get_data(as_text=True)
