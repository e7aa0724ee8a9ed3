"""The source interface the queues issue wires its QueueEntry into, exercised with a stand-in
model of the same shape: live counting, rebuild equality, the waiting and abandoned lists."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
from sqlalchemy import MetaData, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hotline.db import Database
from hotline.kpis import listener, rebuild, sources, store
from hotline.kpis.snapshot import snapshot
from tests.helpers import new_call_sid
from workorders.base import NAMING_CONVENTION, UtcDateTime
from workorders.call_log import CallInfo, upsert_call
from workorders.kpis import Window

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _live_counting() -> None:
    """A Redis outage staged by an earlier test leaves this process backing off for a few
    seconds; these tests count live from their first commit."""
    listener.health.reset()


class StandIn(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime()}  # noqa: RUF012


class QueueEntry(StandIn):
    """The columns the queues issue announced for `workorders.queueing.QueueEntry`."""

    __tablename__ = "kpi_test_queue_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[int]  # a foreign key to calls in the real model
    queue: Mapped[str] = mapped_column(String(40))
    enqueued_at: Mapped[datetime]
    position_at_entry: Mapped[int | None]
    left_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))
    wait_s: Mapped[int | None]
    agent_login: Mapped[str | None] = mapped_column(String(40))
    answered_at: Mapped[datetime | None]
    handle_s: Mapped[int | None]


@pytest.fixture
def wired(database: Database) -> Iterator[None]:
    StandIn.metadata.create_all(database.engine, tables=[QueueEntry.__table__])  # type: ignore[list-item]
    # The app's own lists (the real queue entries): put back after, later tests read them.
    abandoned, waiting = list(sources._abandoned), list(sources._waiting)
    sources.register_source(sources.queue_entry_source(QueueEntry))
    sources.set_abandoned_source(sources.queue_entry_abandoned(QueueEntry))
    sources.set_waiting_source(
        lambda s: {
            q: n
            for q, n in s.execute(
                select(QueueEntry.queue, func.count())
                .where(QueueEntry.left_at.is_(None))
                .group_by(QueueEntry.queue)
            )
        }
    )
    yield
    sources.unregister_source(QueueEntry)
    sources._abandoned[:] = abandoned
    sources._waiting[:] = waiting
    StandIn.metadata.drop_all(database.engine, tables=[QueueEntry.__table__])  # type: ignore[list-item]


def test_queue_entries_count_live_and_rebuild_the_same(
    wired: None, database: Database, redis_conn: redis.Redis
) -> None:
    day = date(2070, 1, 1) + timedelta(days=secrets.randbelow(3000))
    at = datetime(day.year, day.month, day.day, 10, tzinfo=TZ)
    ids = []
    with database.session() as session:
        for i in range(4):
            call, _ = upsert_call(
                session, info=CallInfo(new_call_sid(), from_raw=f"+861390000{i:04d}")
            )
            call.started_at = at
            entry = QueueEntry(call_sid=call.call_sid, call_id=call.id, queue="civil",
                               enqueued_at=at, position_at_entry=i + 1)  # fmt: skip
            session.add(entry)
            session.flush()
            ids.append(entry.id)
        session.commit()
    with database.session() as session:
        assert sources.waiting_callers(session) == {"civil": 4}
    ends = [("answered", 8, "agent7", 120), ("answered", 30, "agent7", None),
            ("abandoned", 40, None, None), ("callback", 12, None, None)]  # fmt: skip
    for entry_id, (outcome, wait, agent, handle) in zip(ids, ends, strict=True):
        with database.session() as session:
            entry = session.get(QueueEntry, entry_id)
            assert entry is not None
            entry.outcome, entry.wait_s, entry.agent_login, entry.handle_s = (
                outcome,
                wait,
                agent,
                handle,
            )
            entry.left_at = at + timedelta(seconds=wait)
            session.commit()
    snap = snapshot(redis_conn, window=Window("day", day, day, "Asia/Shanghai"))
    kpis = {f["key"]: f for f in snap["kpis"]}
    assert (
        kpis["agent_connection_rate"]["numerator"],
        kpis["agent_connection_rate"]["denominator"],
    ) == (2, 3)
    assert kpis["answered_within_15s"]["numerator"] == 1
    assert kpis["callbacks_requested"]["numerator"] == 1
    assert kpis["average_handle_time"]["value"] == 120.0
    agent = {f["key"]: f for f in snap["by"]["agent"]["agent7"]}
    assert agent["average_speed_of_answer"]["value"] == 19.0
    key = store.day_key(day)
    live = {f.decode(): int(n) for f, n in redis_conn.hgetall(key).items()}
    with database.session() as session:
        assert rebuild.compute(session, since=day, tz=TZ)[key] == live
    with database.session() as session:
        abandoned = sources.abandoned_calls(session, start=at, end=at + timedelta(days=1))
        assert [(a["position"], a["wait_s"], a["queue"]) for a in abandoned] == [(3, 40, "civil")]
        assert "****" in abandoned[0]["caller"]
        assert sources.waiting_callers(session) == {}
