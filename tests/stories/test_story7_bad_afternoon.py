"""Story 7 — a bad afternoon.

Redis stops: callers are still greeted and can leave a message; nothing they keyed or said is
lost. The database stops: callers hear the emergency flow and their calls are spooled. Both
come back: spooled calls are in the database and queued jobs are recovered by the sweep.

The story runs its own app, worker and Redis database (so the session's worker cannot take
its jobs), with PostgreSQL and Redis cut by a TCP proxy and SQLite made unopenable.
"""

from __future__ import annotations

import dataclasses
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from sqlalchemy import select, update

from hotline.config import Settings
from hotline.db import Database
from hotline.jobs import get_queue
from hotline.orders.jobs import sweep_due
from hotline.sim.call import simulate_call
from hotline.sim.report import CallReport
from hotline.worker import tick_spool
from tests.conftest import LiveServer, worker_env
from tests.faults.conftest import DatabaseOutage, make_app
from tests.faults.proxy import FaultProxy
from tests.helpers import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, wait_for
from workorders.calls import Call
from workorders.orders import WorkOrder


@dataclasses.dataclass
class Afternoon:
    server: LiveServer
    settings: Settings  # what the story's app, worker and clock run with (direct connections)
    db: DatabaseOutage
    redis_proxy: FaultProxy
    app_flask: object

    def call(self, keys: str) -> CallReport:
        report = simulate_call(
            self.server.url,
            auth_token=TEST_AUTH_TOKEN,
            account_sid=TEST_ACCOUNT_SID,
            from_number=f"+86135{random.randrange(10**8):08d}",
            keys=keys,
        )
        assert report.ok, report.transcript
        return report


def _story_redis(settings: Settings) -> tuple[str, FaultProxy, str]:
    """(direct URL, proxy, URL through the proxy) for a Redis database of the story's own."""
    if settings.embedded_redis:
        direct = f"unix://{settings.redis_socket}?db=1"
        proxy = FaultProxy(str(settings.redis_socket))
        return direct, proxy, f"redis://127.0.0.1:{proxy.port}/1"
    parts = urlsplit(settings.redis_url)
    db = (int(parts.path.strip("/") or 0) + 1) % 16
    direct = urlunsplit(parts._replace(path=f"/{db}"))
    proxy = FaultProxy((parts.hostname or "127.0.0.1", parts.port or 6379))
    return (
        direct,
        proxy,
        urlunsplit(parts._replace(netloc=f"127.0.0.1:{proxy.port}", path=f"/{db}")),
    )


@pytest.fixture
def afternoon(
    settings: Settings, database: Database, redis_conn: redis.Redis, tmp_path: Path
) -> Iterator[Afternoon]:
    redis_conn.ping()  # the embedded server starts on first use: before the proxy needs it
    outage = DatabaseOutage(settings, tmp_path)
    direct_redis, proxy, proxied_redis = _story_redis(settings)
    spool = str(tmp_path / "spool")
    direct_db = settings.database_url if outage.proxy is not None else outage.url
    story = dataclasses.replace(
        settings, database_url=direct_db, redis_url=direct_redis, spool_path=spool
    )
    app = make_app(settings, database_url=outage.url, redis_url=proxied_redis, spool_path=spool)
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "hotline"), "worker", "default"],
        env=worker_env(story),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        with LiveServer(app) as server:
            yield Afternoon(server, story, outage, proxy, app)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
        log.close()
        proxy.close()
        outage.close()


def test_story7_a_bad_afternoon(afternoon: Afternoon) -> None:
    story = afternoon
    # 1. Redis stops. A caller is greeted, reports a problem and hears the order number.
    story.redis_proxy.down()
    during_redis = story.call("1,2,2")
    assert "工单号" in " ".join(t for _, t in during_redis.said)

    # 2. The database stops too. The next caller hears the emergency flow; the call is spooled.
    story.db.down(story.app_flask)  # type: ignore[arg-type]
    during_db = story.call("")
    heard = " ".join(t for _, t in during_db.said)
    assert "系统正在维护" in heard and "留言已保存" in heard, heard

    # 3. Both come back. The clock replays the spool; the sweep recovers the lost jobs.
    story.db.up()
    story.redis_proxy.restore()
    database = Database(story.settings)
    try:
        tick_spool(story.settings, database)
        with database.session() as session:
            calls = {
                c.call_sid: c
                for c in session.execute(
                    select(Call).where(
                        Call.call_sid.in_([during_redis.call_sid, during_db.call_sid])
                    )
                ).scalars()
            }
            assert set(calls) == {during_redis.call_sid, during_db.call_sid}  # nothing lost
            orders = (
                session.execute(
                    select(WorkOrder).where(WorkOrder.call_id.in_([c.id for c in calls.values()]))
                )
                .scalars()
                .all()
            )
            assert len(orders) == 2 and all(o.state == "registered" for o in orders)
            # The outage outlasted the sweep's grace period.
            stale = datetime.now(UTC) - timedelta(minutes=10)
            session.execute(
                update(WorkOrder)
                .where(WorkOrder.id.in_([o.id for o in orders]))
                .values(updated_at=stale)
            )
            session.execute(
                update(Call)
                .where(Call.id.in_([c.id for c in calls.values()]))
                .values(ended_at=stale)
            )
            session.commit()
        get_queue(story.settings).enqueue(sweep_due)

        def recovered() -> bool:
            with database.session() as session:
                states = (
                    session.execute(
                        select(WorkOrder.state).where(WorkOrder.id.in_([o.id for o in orders]))
                    )
                    .scalars()
                    .all()
                )
                outcomes = (
                    session.execute(
                        select(Call.outcome).where(Call.id.in_([c.id for c in calls.values()]))
                    )
                    .scalars()
                    .all()
                )
            return set(states) == {"dispatched"} and set(outcomes) == {"message_left"}

        wait_for(recovered, timeout=30)
    finally:
        database.dispose()
