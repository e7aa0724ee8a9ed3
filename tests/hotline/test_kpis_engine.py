"""The live KPI counters against SQL: a random stream of call and work-order events, committed
through real sessions (the listener counting live in real Redis), must leave exactly the
counters a rebuild from SQL computes; a lost Redis is rebuilt to the same figures."""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.config import Settings
from hotline.db import Database
from hotline.kpis import listener, rebuild, store
from hotline.kpis.snapshot import hourly, snapshot
from tests.helpers import new_call_sid, wait_for
from workorders.calendar import BusinessCalendar, load_calendar
from workorders.call_log import CallInfo, apply_status, final_outcome, upsert_call
from workorders.kpis import make_window
from workorders.lifecycle import IllegalMove, Move, MoveRequest
from workorders.services import (
    Intake,
    WorkOrderError,
    move_work_order,
    record_follow_up,
    register_work_order,
)

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _live_counting() -> None:
    """A Redis outage staged by an earlier test leaves this process backing off for a few
    seconds; these tests count live from their first commit."""
    listener.health.reset()


_days = itertools.count()
_run = secrets.randbelow(50)


def fresh_day() -> date:
    """A day in the 2030s no other test writes to (each example gets its own)."""
    # Three days apart: an example's calls and deadlines run into the next days.
    return date(2031 + _run, 1, 1) + timedelta(days=3 * next(_days))


Buckets = dict[str, dict[str, int]]


def counters_from(client: redis.Redis, since: date) -> Buckets:
    keys = rebuild.existing_keys(client, since=since, tz=TZ)
    out = {}
    for key in keys:
        values = {k.decode(): int(v) for k, v in client.hgetall(key).items()}
        values = {k: v for k, v in values.items() if v}
        if values:
            out[key] = values
    return out


def minus(after: Buckets, before: Buckets) -> Buckets:
    out = {}
    for key in after.keys() | before.keys():
        a, b = after.get(key, {}), before.get(key, {})
        diff = {f: a.get(f, 0) - b.get(f, 0) for f in a.keys() | b.keys()}
        diff = {f: n for f, n in diff.items() if n}
        if diff:
            out[key] = diff
    return out


def computed(database: Database, since: date) -> dict[str, dict[str, int]]:
    with database.session() as session:
        return {k: v for k, v in rebuild.compute(session, since=since, tz=TZ).items() if v}


STATUSES = ["ringing", "in-progress", "completed", "no-answer", "busy"]
CALL_OPS = st.lists(
    st.tuples(
        st.sampled_from(["step", "status", "outcome", "replay"]),
        st.integers(0, 20),  # which call
        st.sampled_from(STATUSES),
        st.integers(1, 5),  # sequence number
    ),
    max_size=25,
)
ORDER_MOVES = [
    (Move.DISPATCH, {"department": "civil_appeal"}),
    (Move.ACCEPT, {}),
    (Move.START, {}),
    (Move.URGE, {}),
    (Move.REQUEST_EXTENSION, {"note": "more time", "days": 3}),
    (Move.APPROVE_EXTENSION, {}),
    (Move.REPLY, {"note": "done"}),
    (Move.COMPLETE, {}),
    (Move.FOLLOW_UP, {}),
    (Move.CLOSE, {"note": "unreachable"}),
    (Move.TRANSFER, {"department": "enforcement", "note": "theirs"}),
    (Move.MERGE, {}),
]
ORDER_OPS = st.lists(
    st.tuples(
        st.integers(0, 5),  # which order
        st.sampled_from(range(len(ORDER_MOVES))),
        st.sampled_from(["very_satisfied", "satisfied", "basically_satisfied", "dissatisfied"]),
        st.integers(0, 9),  # days after registration
    ),
    max_size=30,
)


def run_calls(database: Database, day: date, phones: list[str], n: int, ops: list) -> None:
    base = datetime(day.year, day.month, day.day, 9, tzinfo=TZ)
    sids = []
    for i in range(n):
        sid = new_call_sid()
        sids.append(sid)
        with database.session() as session:
            call, _ = upsert_call(session, info=CallInfo(sid, from_raw=phones[i % len(phones)]))
            call.started_at = base + timedelta(hours=i * 5)  # repeats within 24 h and 48 h
            if i % 3:
                call.step_seq = 1  # our TwiML answered it
            session.commit()
    for op, which, status, seq in ops:
        sid = sids[which % n]
        with database.session() as session:
            call, _ = upsert_call(session, info=CallInfo(sid))
            if op == "step":
                call.step_seq += 1
                call.flow_context = {**call.flow_context, "made_request": True}
            elif op == "status":
                apply_status(session, call=call, status=status, sequence_number=seq)
            elif op == "outcome" and call.ended_at is not None:
                call.outcome = final_outcome(call)
            else:  # a replayed webhook: nothing written
                session.rollback()
                continue
            session.commit()


def run_orders(
    database: Database, calendar: BusinessCalendar, day: date, count: int, ops: list
) -> None:
    base = datetime(day.year, day.month, day.day, 10, tzinfo=TZ)
    ids = []
    for i in range(count):
        with database.session() as session:
            order, _ = register_work_order(
                session,
                intake=Intake(
                    channel=["phone", "letter", "visit"][i % 3],
                    category="enforcement",
                    summary=f"matter {i}",
                ),
                actor="t",
                calendar=calendar,
                now=base + timedelta(hours=i),
            )
            session.commit()
            ids.append(order.id)
    for which, move_index, level, days in ops:
        move, fields = ORDER_MOVES[move_index]
        order_id = ids[which % count]
        now = base + timedelta(days=days, hours=which)
        with database.session() as session:
            try:
                if move is Move.FOLLOW_UP:
                    record_follow_up(
                        session,
                        order_id=order_id,
                        satisfaction=level,
                        actor="t",
                        calendar=calendar,
                        now=now,
                    )
                else:
                    request = MoveRequest(**fields)  # type: ignore[arg-type]
                    if move is Move.MERGE:
                        request = MoveRequest(parent_id=ids[(which + 1) % count])
                    move_work_order(
                        session,
                        order_id=order_id,
                        move=move,
                        actor="t",
                        calendar=calendar,
                        request=request,
                        now=now,
                    )
                session.commit()
            except (IllegalMove, WorkOrderError):
                session.rollback()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    n_calls=st.integers(1, 8),
    call_ops=CALL_OPS,
    n_orders=st.integers(1, 5),
    order_ops=ORDER_OPS,
)
def test_rebuild_from_sql_equals_the_live_counters(
    database: Database,
    redis_conn: redis.Redis,
    n_calls: int,
    call_ops: list,
    n_orders: int,
    order_ops: list,
) -> None:
    day = fresh_day()
    phones = [f"+86139{secrets.randbelow(10**8):08d}" for _ in range(2)]
    # Differences, so that whatever other tests left in these days cannot matter.
    live_before, sql_before = counters_from(redis_conn, day), computed(database, day)
    run_calls(database, day, phones, n_calls, call_ops)
    run_orders(database, load_calendar(), day, n_orders, order_ops)
    live = minus(counters_from(redis_conn, day), live_before)
    assert live == minus(computed(database, day), sql_before), store.read_meta(redis_conn)
    assert live[store.day_key(day)]["calls.offered"] == min(n_calls, 3)  # 09:00, 14:00, 19:00


def test_lost_counters_are_rebuilt_to_the_same_snapshot(
    database: Database, redis_conn: redis.Redis, settings: Settings
) -> None:
    day = date(2090, 1, 1) + timedelta(days=secrets.randbelow(3000))  # nobody else's days
    run_calls(database, day, ["+8613911112222"], 3, [("outcome", 0, "", 0)])
    run_orders(database, load_calendar(), day, 2, [(0, 0, "satisfied", 0)])
    window = make_window(None, now=datetime.now(UTC), tz=settings.timezone, first=day, last=day)
    before = snapshot(redis_conn, window=window)
    for key in rebuild.existing_keys(redis_conn, since=day, tz=TZ):  # Redis lost them
        redis_conn.delete(key)
    assert snapshot(redis_conn, window=window)["counters"] == {}
    with database.session() as session:
        rebuild.rebuild(session, redis_conn, since=day, tz=settings.timezone)
    after = snapshot(redis_conn, window=window)
    assert after["kpis"] == before["kpis"] and after["counters"] == before["counters"]
    assert after["counters"]["calls.offered"] == 3 and after["rebuilt_at"]


def test_a_rolled_back_transaction_counts_nothing(
    database: Database, redis_conn: redis.Redis
) -> None:
    day = date(2099, 1, 1) + timedelta(days=secrets.randbelow(300))  # far from the others
    with database.session() as session:
        call, _ = upsert_call(session, info=CallInfo(new_call_sid(), from_raw="+8613900001111"))
        call.started_at = datetime(day.year, day.month, day.day, 9, tzinfo=TZ)
        session.flush()
        session.rollback()
    assert redis_conn.hgetall(store.day_key(day)) == {}


@pytest.fixture
def pubsub(redis_conn: redis.Redis):  # type: ignore[no-untyped-def]
    sub = redis_conn.pubsub()
    sub.subscribe(store.CHANNEL)
    assert wait_for(lambda: sub.get_message(timeout=1))["type"] == "subscribe"
    yield sub
    sub.close()


def test_changes_are_announced_on_the_channel(database: Database, pubsub) -> None:  # type: ignore[no-untyped-def]
    import json

    day = fresh_day()
    run_calls(database, day, ["+8613922223333"], 1, [])
    body = wait_for(
        lambda: (
            (m := pubsub.get_message(timeout=1))
            and m["type"] == "message"
            and json.loads(m["data"])
        )
    )
    assert body["kind"] == "kpis" and "calls.offered" in body["metrics"]
    assert day.isoformat() in body["days"]


def test_hourly_figures_for_the_charts(database: Database, redis_conn: redis.Redis) -> None:
    day = fresh_day()
    run_calls(database, day, ["+8613933334444"], 3, [])  # 09:00, 14:00, 19:00 local
    hours = hourly(redis_conn, day=day, tz="Asia/Shanghai", metrics=["calls.offered"])
    assert len(hours) == 24 and hours[9]["hour"].startswith(f"{day.isoformat()}T09:00")
    assert [h["hour"][11:13] for h in hours if h["calls.offered"]] == ["09", "14", "19"]
