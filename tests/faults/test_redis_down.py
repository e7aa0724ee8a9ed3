"""Redis stops under a running app: callers are still greeted and can leave a message; the
work order is in the database, and the sweep routes it once Redis is back."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from hotline.config import Settings
from hotline.db import Database
from hotline.jobs import get_queue
from hotline.orders.jobs import sweep_due
from hotline.sim.call import simulate_call
from tests.conftest import LiveServer
from tests.faults.conftest import make_app
from tests.faults.proxy import FaultProxy
from tests.helpers import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, wait_for
from workorders.calls import Call
from workorders.orders import WorkOrder


def test_a_caller_leaves_a_message_while_redis_is_down(
    settings: Settings,
    database: Database,
    worker: Any,
    redis_proxy: tuple[FaultProxy, str],
) -> None:
    proxy, url = redis_proxy
    app = make_app(settings, redis_url=url)
    caller = f"+86137{random.randrange(10**8):08d}"
    with LiveServer(app) as server:
        proxy.down()
        health = app.test_client().get("/healthz").get_json()
        assert health["status"] == "degraded" and not health["checks"]["redis"]["ok"]
        assert app.test_client().get("/healthz?strict=1").status_code == 503

        report = simulate_call(
            server.url,
            auth_token=TEST_AUTH_TOKEN,
            account_sid=TEST_ACCOUNT_SID,
            from_number=caller,
            keys="1,2,2",  # Mandarin, report a problem, (statement recorded), done
        )
        assert report.ok, report.transcript
        heard = " ".join(text for _, text in report.said)
        assert "工单号" in heard, heard  # the caller heard their order number

    with database.session() as session:
        call = session.execute(select(Call).where(Call.call_sid == report.call_sid)).scalar_one()
        order = session.execute(select(WorkOrder).where(WorkOrder.call_id == call.id)).scalar_one()
        # Routing and the outcome job could not be queued: both wait in SQL for the sweep.
        assert order.state == "registered" and call.status == "completed"
        assert call.outcome is None
        # As if the outage lasted longer than the sweep's grace period.
        long_ago = datetime.now(UTC) - timedelta(minutes=10)
        stale = update(WorkOrder).where(WorkOrder.id == order.id).values(updated_at=long_ago)
        session.execute(stale)
        session.execute(update(Call).where(Call.id == call.id).values(ended_at=long_ago))
        session.commit()

    proxy.restore()
    get_queue(settings).enqueue(sweep_due)

    def recovered() -> bool:
        with database.session() as session:
            o = session.get(WorkOrder, order.id)
            c = session.get(Call, call.id)
            return bool(o and c and o.state == "dispatched" and c.outcome == "message_left")

    wait_for(recovered, timeout=30)
