"""A worker killed with SIGKILL in the middle of a routing job: after recovery the order is
routed exactly once (natural job ids, row locks, the sweep and an idempotent route step)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rq.job import Job
from sqlalchemy import func, select, text, update

from hotline.config import Settings
from hotline.db import Database
from hotline.jobs import get_queue
from hotline.orders.jobs import route_work_order, sweep_due
from hotline.redis_store import redis_client
from tests.conftest import worker_env
from tests.helpers import wait_for
from workorders.calendar import load_calendar
from workorders.orders import WorkOrder, WorkOrderEvent
from workorders.services import Intake, register_work_order

DOOMED_QUEUE = "faults-doomed"


@contextmanager
def order_row_locked(database: Database, order_id: int) -> Iterator[None]:
    """Hold the order's row (PostgreSQL) or the write lock (SQLite) so the job blocks inside."""
    with database.engine.connect() as conn:
        # The connection begins on first use: BEGIN IMMEDIATE on SQLite (hotline.db) takes the
        # write lock; on PostgreSQL the row lock is enough.
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT id FROM work_orders WHERE id = :id FOR UPDATE"), {"id": order_id}
            )
        else:
            conn.execute(text("SELECT 1"))
        try:
            yield
        finally:
            conn.rollback()


def test_a_routing_job_killed_midway_routes_the_order_once(
    settings: Settings, database: Database, worker: Any, tmp_path: Path
) -> None:
    with database.session() as session:
        order, _ = register_work_order(
            session,
            intake=Intake(channel="letter", category="enforcement", summary="来信：执行款未到账"),
            actor="staff",
            calendar=load_calendar(),
        )
        session.commit()
    job_id = f"route-{order.id}"
    hotline_bin = Path(sys.executable).parent / "hotline"
    with order_row_locked(database, order.id):
        doomed = subprocess.Popen(
            [str(hotline_bin), "worker", DOOMED_QUEUE, "--no-scheduler"],
            env=worker_env(settings),
            stdout=(tmp_path / "doomed.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        try:
            get_queue(settings, DOOMED_QUEUE).enqueue(route_work_order, order.id, job_id=job_id)
            connection = redis_client(settings)
            wait_for(
                lambda: Job.fetch(job_id, connection=connection).get_status() == "started",
                timeout=90,  # a worker's start-up on a loaded machine
            )
        finally:
            os.kill(doomed.pid, signal.SIGKILL)  # mid-job: it waits on the lock we hold
            doomed.wait(timeout=10)
    with database.session() as session:
        assert session.get(WorkOrder, order.id).state == "registered"  # type: ignore[union-attr]
        # Time passes beyond the sweep's grace period; the sweep finds the order unrouted.
        stale = datetime.now(UTC) - timedelta(minutes=10)
        session.execute(update(WorkOrder).where(WorkOrder.id == order.id).values(updated_at=stale))
        session.commit()
    get_queue(settings).enqueue(sweep_due)

    def dispatches() -> int:
        with database.session() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(WorkOrderEvent)
                    .where(WorkOrderEvent.work_order_id == order.id)
                    .where(WorkOrderEvent.move == "dispatch")
                )
                or 0
            )

    wait_for(lambda: dispatches() == 1, timeout=30)
    # The routing job run again (a retry, a second sweep) changes nothing.
    get_queue(settings).enqueue(route_work_order, order.id, job_id=f"{job_id}-again")
    wait_for(
        lambda: (
            Job.fetch(f"{job_id}-again", connection=redis_client(settings)).get_status()
            == "finished"
        ),
        timeout=30,
    )
    assert dispatches() == 1
