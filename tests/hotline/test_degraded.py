"""Callers are answered when a dependency is down: Redis (the call row carries the state),
the database (a spoken apology instead of Twilio's error tone)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from lxml import etree
from sqlalchemy import select

from hotline import create_app
from hotline.config import Settings
from hotline.db import Database
from hotline.sim.validate import validate_twiml
from tests.helpers import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, call_params, new_call_sid, sign
from workorders.calls import Call

NOBODY = "127.0.0.1:9"  # the discard port: nothing listens there


def app_with(settings: Settings, tmp_path: Path, **overrides: Any) -> Flask:
    values = {
        "env": "test",
        # The session's instance: with no REDIS_URL its embedded Redis is the one used, and
        # no test leaves a Redis server of its own running.
        "instance_path": settings.instance_path,
        "database_url": settings.database_url,
        "redis_url": settings.redis_url,
        "twilio_account_sid": TEST_ACCOUNT_SID,
        "twilio_auth_token": TEST_AUTH_TOKEN,
        "secret_key": "test-secret",
    }
    values.update(overrides)
    return create_app(values)


def post(app: Flask, path: str, params: dict[str, str]) -> Any:
    return app.test_client().post(
        path, data=params, headers={"X-Twilio-Signature": sign("http://localhost" + path, params)}
    )


def test_redis_down_calls_go_on_from_the_call_row(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    app = app_with(settings, tmp_path, redis_url=f"redis://{NOBODY}/0")
    sid = new_call_sid()
    first = post(app, "/voice/incoming", call_params(sid, CallStatus="ringing"))
    assert first.status_code == 200 and validate_twiml(first.data) == []
    action = etree.fromstring(first.data).find("Gather").get("action")
    step = post(app, action.replace("http://localhost", ""), call_params(sid, Digits="2"))
    assert step.status_code == 200 and validate_twiml(step.data) == []
    assert b'language="en-US"' in step.data  # the language came back from the call row
    done = post(app, "/voice/status", call_params(sid, CallStatus="completed", SequenceNumber="0"))
    assert done.status_code == 204  # the outcome job could not be queued: logged, not failed
    with database.session() as session:
        call = session.execute(select(Call).where(Call.call_sid == sid)).scalar_one()
        assert (call.status, call.language) == ("completed", "en-US")
    health = app.test_client().get("/healthz?strict=1")
    assert health.status_code == 503 and not health.get_json()["checks"]["redis"]["ok"]


def test_database_down_hold_then_retry_then_the_emergency_flow(
    settings: Settings, tmp_path: Path
) -> None:
    app = app_with(
        settings,
        tmp_path,
        database_url=f"postgresql+psycopg://nobody@{NOBODY}/none",
        spool_path=str(tmp_path / "spool"),
    )
    sid = new_call_sid()
    response = post(app, "/voice/step?node=main_menu&seq=3", call_params(sid, Digits="2"))
    assert response.status_code == 200 and validate_twiml(response.data) == []
    doc = etree.fromstring(response.data)
    assert doc.find("Say").text and doc.find("Redirect") is not None
    retry = doc.find("Redirect").text.replace("http://localhost", "")
    assert "retry=1" in retry and "Digits=2" in retry and "node=main_menu" in retry
    # Twilio's redirect posts the call details only; the keyed digit rides in the URL.
    second = post(app, retry, call_params(sid))
    assert second.status_code == 200 and validate_twiml(second.data) == []
    emergency = etree.fromstring(second.data)
    record = emergency.find("Record")
    assert record is not None and record.get("action").endswith("/voice/emergency/recorded")
    lines = (tmp_path / "spool" / "voice.jsonl").read_text().splitlines()
    assert len(lines) == 1 and '"Digits":"2"' in lines[0] and '"node":"main_menu"' in lines[0]
    assert app.test_client().get("/healthz").get_json()["checks"]["database"]["ok"] is False


def test_a_password_never_rides_in_a_retry_url_nor_the_spool(
    settings: Settings, tmp_path: Path
) -> None:
    app = app_with(
        settings,
        tmp_path,
        database_url=f"postgresql+psycopg://nobody@{NOBODY}/none",
        spool_path=str(tmp_path / "spool"),
    )
    sid = new_call_sid()
    path = "/voice/step?node=case_password&seq=5"
    first = post(app, path, call_params(sid, Digits="246810"))
    retry = etree.fromstring(first.data).find("Redirect").text
    assert "246810" not in retry
    post(app, retry.replace("http://localhost", ""), call_params(sid, Digits="246810"))
    spooled = (tmp_path / "spool" / "voice.jsonl").read_text()
    assert "246810" not in spooled and '"Digits":"***"' in spooled
