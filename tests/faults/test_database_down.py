"""The database stops under a running app: callers hear a holding prompt, then the static
emergency flow; what they did is spooled and replayed into the database when it is back."""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import select

from hotline.config import Settings
from hotline.sim.call import simulate_call
from hotline.spool import Spool
from hotline.voice.spool_replay import replay_spool
from tests.conftest import LiveServer
from tests.faults.conftest import DatabaseOutage, make_app
from tests.helpers import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from workorders.calls import Call, CallEvent
from workorders.orders import WorkOrder


def _caller() -> str:
    return f"+86139{random.randrange(10**8):08d}"


def test_a_call_during_a_database_outage_is_kept_and_replayed(
    settings: Settings, db_outage: DatabaseOutage, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    app = make_app(settings, database_url=db_outage.url, spool_path=str(spool_dir))
    caller = _caller()
    with LiveServer(app) as server:
        db_outage.down(app)
        report = simulate_call(
            server.url,
            auth_token=TEST_AUTH_TOKEN,
            account_sid=TEST_ACCOUNT_SID,
            from_number=caller,
            keys="",
        )
        # Every document was valid TwiML (the simulator checks each against the XSD) and the
        # caller heard: hold on, the emergency prompt, then "your message is kept".
        assert report.ok, report.transcript
        heard = " ".join(text for _, text in report.said)
        assert "请稍候" in heard and "系统正在维护" in heard and "留言已保存" in heard, heard
        assert Spool(spool_dir).pending()

        db_outage.up()
        fault_settings = db_outage.settings.__class__(
            **{**db_outage.settings.__dict__, "spool_path": str(spool_dir)}
        )
        database = db_outage.database()
        try:
            first = replay_spool(fault_settings, database)
            assert first.applied >= 3 and first.skipped == 0, first
            assert len(first.orders) == 1 and first.ended_calls == [report.call_sid]
            assert not Spool(spool_dir).pending()

            with database.session() as session:
                call = session.execute(
                    select(Call).where(Call.call_sid == report.call_sid)
                ).scalar_one()
                assert call.from_e164 == caller and call.status == "completed"
                assert call.flow_context.get("message_left") is True
                kinds = session.execute(
                    select(CallEvent.kind).where(CallEvent.call_id == call.id)
                ).scalars()
                assert {"incoming", "recording", "status"} <= set(kinds)
                order = session.execute(
                    select(WorkOrder).where(WorkOrder.external_ref == f"emergency:{call.call_sid}")
                ).scalar_one()
                assert order.recording_url and order.contact_phone == caller
                assert order.call_id == call.id and order.channel == "phone"

            # The app answers normally again, on the same database.
            again = simulate_call(
                server.url,
                auth_token=TEST_AUTH_TOKEN,
                account_sid=TEST_ACCOUNT_SID,
                from_number=caller,
                keys="2",
            )
            assert again.ok and "系统正在维护" not in " ".join(t for _, t in again.said)
        finally:
            database.dispose()


def test_replaying_the_same_records_twice_changes_nothing(
    settings: Settings, db_outage: DatabaseOutage, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    app = make_app(settings, database_url=db_outage.url, spool_path=str(spool_dir))
    with LiveServer(app) as server:
        db_outage.down(app)
        report = simulate_call(
            server.url,
            auth_token=TEST_AUTH_TOKEN,
            account_sid=TEST_ACCOUNT_SID,
            from_number=_caller(),
        )
        assert report.ok, report.transcript
    # Keep a copy of the spool, replay it, then replay the copy as if a crash had left it.
    active = spool_dir / "voice.jsonl"
    saved = active.read_bytes()
    db_outage.up()
    fault_settings = db_outage.settings.__class__(
        **{**db_outage.settings.__dict__, "spool_path": str(spool_dir)}
    )
    database = db_outage.database()
    try:
        first = replay_spool(fault_settings, database)
        (spool_dir / "voice-crashed.replaying").write_bytes(saved + b'{"truncated": \n')
        second = replay_spool(fault_settings, database)
        assert first.applied == second.duplicates and second.applied == 0
        assert second.orders == [] and second.records == first.records
        assert (spool_dir / "voice-crashed.replaying.corrupt").read_bytes().startswith(b"{")
        with database.session() as session:
            orders = session.execute(
                select(WorkOrder).where(WorkOrder.external_ref == f"emergency:{report.call_sid}")
            ).all()
            assert len(orders) == 1
    finally:
        database.dispose()
