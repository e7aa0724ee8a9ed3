"""Work orders through the running app and a real RQ worker: the IVR opens and reads back
orders, routing and deadline timers run in the worker, the sweep recovers lost jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import redis
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from hotline.config import Settings
from hotline.db import Database
from hotline.jobs import get_queue
from hotline.orders.jobs import fire_work_order_timer, sweep_due
from hotline.sim.call import simulate_call
from tests.conftest import LiveServer
from tests.helpers import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, wait_for
from workorders.calendar import load_calendar
from workorders.orders import WorkOrder, WorkOrderEvent
from workorders.services import Intake, register_work_order

SHANGHAI = ZoneInfo("Asia/Shanghai")


def call(server: LiveServer, keys: str, from_number: str) -> Any:
    report = simulate_call(
        server.url,
        auth_token=TEST_AUTH_TOKEN,
        account_sid=TEST_ACCOUNT_SID,
        from_number=from_number,
        keys=keys,
    )
    assert report.ok, report.transcript
    return report


def order_of_call(database: Database, call_sid: str) -> WorkOrder | None:
    from workorders.calls import Call

    with database.session() as session:
        return session.execute(
            select(WorkOrder)
            .join(Call, WorkOrder.call_id == Call.id)
            .where(Call.call_sid == call_sid)
        ).scalar_one_or_none()


def events(database: Database, order_id: int) -> list[str]:
    with database.session() as session:
        return list(
            session.execute(
                select(WorkOrderEvent.move)
                .where(WorkOrderEvent.work_order_id == order_id)
                .order_by(WorkOrderEvent.id)
            ).scalars()
        )


def test_ivr_statement_opens_a_routed_order_and_reads_it_back(
    live_server: LiveServer,
    worker: Any,
    database: Database,
    settings: Settings,
    redis_conn: redis.Redis,
) -> None:
    caller = "+8613611112222"
    report = call(live_server, "1,2,2", caller)  # Mandarin, report a problem, (record), end
    order = order_of_call(database, report.call_sid)
    assert order is not None
    spoken_serial = " ".join(order.number.rsplit("-", 1)[1])
    heard = " ".join(text for _, text in report.said)
    assert spoken_serial in heard and "个工作日内" in heard, report.transcript
    assert order.recording_url and order.contact_phone == caller and order.channel == "phone"

    def routed() -> WorkOrder | None:
        with database.session() as session:
            o = session.get(WorkOrder, order.id)
            return o if o is not None and o.state == "dispatched" else None

    dispatched = wait_for(routed, timeout=30)
    assert dispatched.handler_id is not None
    assert events(database, order.id) == ["register", "dispatch"]
    # its reminder, overdue and escalation jobs wait in the scheduler for the deadline
    scheduled = ScheduledJobRegistry(queue=get_queue(settings)).get_job_ids()
    assert {
        f"wo-timer-{k}-{order.id}-{int(dispatched.deadline_at.timestamp())}"
        for k in ("remind", "overdue", "escalate")
    } <= set(scheduled)

    again = call(live_server, "1,5,2", caller)  # Mandarin, "my work order", end
    heard = " ".join(text for _, text in again.said)
    assert spoken_serial in heard and "已派发承办部门" in heard, again.transcript
    assert order_of_call(database, again.call_sid) is None  # reading back opens nothing


def test_order_lookup_by_keyed_number(live_server: LiveServer, database: Database) -> None:
    calendar = load_calendar()
    with database.session() as session:
        order, _ = register_work_order(
            session,
            intake=Intake(
                channel="letter",
                category="complaint",
                summary="Letter about a hearing date",
                contact_phone="+8613533334444",
            ),
            actor="staff",
            calendar=calendar,
        )
        session.commit()
    year, serial = order.number.split("-")[1:]
    # an unknown number (English, "my work order", no orders for this phone → key the number)
    found = call(live_server, f"2,5,{year}{int(serial)}#,2", "+14155550999")
    assert "is registered" in " ".join(t for _, t in found.said), found.transcript
    missing = call(live_server, "2,5,2026999999#,2", "+14155550998")
    assert "could not find work order" in " ".join(t for _, t in missing.said)


def test_deadline_timers_fire_in_the_worker_and_the_sweep_recovers_lost_jobs(
    worker: Any, database: Database, settings: Settings, redis_conn: redis.Redis
) -> None:
    calendar = load_calendar()
    with database.session() as session:
        late, _ = register_work_order(
            session,
            intake=Intake(
                channel="visit", category="case_progress", summary="Visit: hearing postponed twice"
            ),
            actor="staff",
            calendar=calendar,
            now=datetime(2026, 9, 1, 10, tzinfo=SHANGHAI),
        )
        session.commit()
    # The scheduled jobs were lost (Redis flushed): only the sweep, reading SQL, can find them.
    get_queue(settings).enqueue(sweep_due)
    wait_for(
        lambda: {"remind", "overdue", "escalate"} <= set(events(database, late.id)), timeout=30
    )
    # A timer job scheduled a moment ahead is moved by the worker's scheduler and runs once;
    # the event exists already, so it changes nothing.
    get_queue(settings).enqueue_at(
        datetime.now(UTC) + timedelta(seconds=1),
        fire_work_order_timer,
        late.id,
        "remind",
        late.deadline_at.isoformat(),
        job_id=f"again-{late.id}",
    )
    job = wait_for(
        lambda: (j := get_queue(settings).fetch_job(f"again-{late.id}")) and j.is_finished and j,
        timeout=30,
    )
    assert job.return_value() is False
    assert events(database, late.id).count("remind") == 1


def test_the_sweep_requeues_lost_routing_and_call_outcomes(
    worker: Any, database: Database, settings: Settings
) -> None:
    from workorders.calls import Call

    calendar = load_calendar()
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    with database.session() as session:
        order, _ = register_work_order(
            session,
            intake=Intake(channel="web", category="enforcement", summary="网上留言：判决未执行"),
            actor="web",
            calendar=calendar,
        )
        order.updated_at = long_ago  # registered, and its routing job never ran
        call = Call(
            call_sid=f"CA{'e' * 24}{order.id:08d}",
            status="completed",
            started_at=long_ago,
            ended_at=long_ago,
            step_seq=2,
            flow_context={},
        )
        session.add(call)
        session.commit()
    get_queue(settings).enqueue(sweep_due)

    def routed() -> bool:
        with database.session() as session:
            return session.get(WorkOrder, order.id).state == "dispatched"  # type: ignore[union-attr]

    wait_for(routed, timeout=30)
    wait_for(lambda: _outcome(database, call.call_sid), timeout=30)


def _outcome(database: Database, sid: str) -> str | None:
    from workorders.calls import Call

    with database.session() as session:
        return session.execute(select(Call.outcome).where(Call.call_sid == sid)).scalar_one()
