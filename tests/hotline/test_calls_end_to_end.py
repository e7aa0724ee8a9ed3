"""Whole calls through a real HTTP server with the simulator, and a real RQ worker behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hotline.config import Settings
from hotline.db import Database
from hotline.sim.call import simulate_call
from hotline.sim.load import run_load
from tests.conftest import LiveServer
from tests.helpers import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, wait_for
from workorders.calls import Call, CallEvent


def place(server: LiveServer, keys: str, **kwargs: Any) -> Any:
    report = simulate_call(
        server.url,
        auth_token=TEST_AUTH_TOKEN,
        account_sid=TEST_ACCOUNT_SID,
        from_number=kwargs.pop("from_number", "+8613800138000"),
        keys=keys,
        **kwargs,
    )
    assert report.ok, report.transcript
    return report


def outcome(database: Database, sid: str) -> str:
    def read() -> str | None:
        with database.session() as session:
            return session.execute(select(Call.outcome).where(Call.call_sid == sid)).scalar_one()

    return str(wait_for(read, timeout=30))


def test_silent_caller_reaches_the_end_of_the_flow(
    live_server: LiveServer, worker: Any, database: Database
) -> None:
    report = place(live_server, "1")  # Mandarin, then never another key
    assert report.ended_by == "hangup"
    assert any(lang == "cmn-CN" for lang, _ in report.said)  # Twilio's <Say> language
    assert outcome(database, report.call_sid) in ("no_request", "completed", "message_left")


def test_statement_is_recorded_and_kept(
    live_server: LiveServer, worker: Any, database: Database
) -> None:
    # Mandarin, report a problem, speak (the simulator's recording), then end the call.
    report = place(live_server, "1,2,2")
    assert report.recorded, report.transcript
    assert outcome(database, report.call_sid) == "message_left"
    with database.session() as session:
        call = session.execute(select(Call).where(Call.call_sid == report.call_sid)).scalar_one()
        kinds = [
            e.kind
            for e in session.execute(
                select(CallEvent).where(CallEvent.call_id == call.id).order_by(CallEvent.id)
            ).scalars()
        ]
        statement = call.flow_context["vars"]["statement"]
    assert "recording" in kinds
    assert statement["url"].startswith("http://127.0.0.1:")
    assert statement["duration_s"] > 0


def test_status_callbacks_in_reverse_order_end_the_call_once(
    live_server: LiveServer, worker: Any, database: Database
) -> None:
    report = place(live_server, "2,4,2,2", status_order="reversed")
    assert outcome(database, report.call_sid) == "resolved_in_ivr"
    with database.session() as session:
        call = session.execute(select(Call).where(Call.call_sid == report.call_sid)).scalar_one()
    assert call.status == "completed" and call.answered_at is not None


def test_sim_load_completes_every_call(live_server: LiveServer) -> None:
    report = run_load(
        live_server.url,
        calls=20,
        concurrency=5,
        keys="2,4,1,2",
        auth_token=TEST_AUTH_TOKEN,
        account_sid=TEST_ACCOUNT_SID,
    )
    assert report.failed == 0, report.failures
    assert report.calls == 20


def test_the_cli_places_a_call(live_server: LiveServer, settings: Settings) -> None:
    env = dict(
        os.environ,
        HOTLINE_TWILIO_AUTH_TOKEN=TEST_AUTH_TOKEN,
        HOTLINE_TWILIO_ACCOUNT_SID=TEST_ACCOUNT_SID,
    )
    hotline = Path(sys.executable).parent / "hotline"
    ok = subprocess.run(
        [
            str(hotline),
            "sim",
            "call",
            "--url",
            live_server.url,
            "--from",
            "+8613800138000",
            "--digits",
            "2,4,2,2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "call ended" in ok.stdout
    forged = subprocess.run(
        [
            str(hotline),
            "sim",
            "call",
            "--url",
            live_server.url,
            "--from",
            "+8613800138000",
            "--digits",
            "1",
            "--auth-token",
            "wrong-token",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert forged.returncode == 1
    assert "403" in forged.stdout + forged.stderr
