"""A database too slow to answer (a lock held elsewhere): the webhook gives up well inside
Twilio's 15 s, the caller hears a holding prompt and Twilio is redirected; once the database
answers again, the call goes on normally."""

from __future__ import annotations

from lxml import etree
from sqlalchemy import text

from hotline.config import Settings
from hotline.db import Database
from hotline.sim.validate import validate_twiml
from tests.faults.conftest import make_app
from tests.helpers import call_params, new_call_sid, sign


def test_a_stuck_database_gets_a_holding_prompt_and_a_retry(
    settings: Settings, database: Database
) -> None:
    app = make_app(settings, db_statement_timeout_ms=1000)
    client = app.test_client()

    def post(path: str, params: dict[str, str]) -> etree._Element:
        signature = sign("http://localhost" + path, params)
        r = client.post(path, data=params, headers={"X-Twilio-Signature": signature})
        assert r.status_code == 200 and validate_twiml(r.data) == [], r.data
        return etree.fromstring(r.data)

    sid = new_call_sid()
    with database.engine.connect() as blocker:
        # Another session holds the write lock (SQLite) / an exclusive lock on the calls table
        # (PostgreSQL): the webhook's first statement waits until its own timeout.
        if blocker.dialect.name == "postgresql":
            blocker.execute(text("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE"))
        else:
            blocker.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock
        held = post("/voice/incoming", call_params(sid, CallStatus="ringing"))
        blocker.rollback()
    redirect = held.find("Redirect")
    assert held.find("Say") is not None and redirect is not None, etree.tostring(held)
    resumed = post(redirect.text.replace("http://localhost", ""), call_params(sid))
    assert resumed.find("Gather") is not None  # the normal greeting and language menu
