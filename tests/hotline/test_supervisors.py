"""The supervisors' side end to end: KPIs counted live from real webhooks, the REST snapshot,
streamed CSV exports, the weekly supervision list, the CLI, and /metrics parsed by
prometheus_client's own parser."""

from __future__ import annotations

import csv
import io
import itertools
import secrets
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from hotline import create_app
from hotline.api.tokens import create_token
from hotline.cli.main import main
from hotline.config import Settings
from hotline.db import Database
from hotline.kpis import listener, store
from tests.conftest import worker_env
from tests.helpers import call_params, new_call_sid
from workorders.calendar import load_calendar
from workorders.call_log import CallInfo, final_outcome, upsert_call
from workorders.calls import Call
from workorders.lifecycle import Move, MoveRequest
from workorders.services import Intake, move_work_order, record_follow_up, register_work_order

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _live_counting() -> None:
    """A Redis outage staged by an earlier test leaves this process backing off for a few
    seconds; these tests count live from their first commit."""
    listener.health.reset()


API = "/api/v1"
_serial = itertools.count(1)
_run = secrets.randbelow(10**4)


def phone() -> str:
    return f"+86137{_run:04d}{next(_serial):04d}"


_USED_DAYS: set[date] = set()


def odd_day() -> date:
    """A Monday of 2040–2058 that no other test of this session writes to (a day shared by
    two tests would add their calls together; other KPI tests use days from 2070 on)."""
    while True:
        day = date(2040, 1, 2) + timedelta(days=7 * secrets.randbelow(980))
        if day not in _USED_DAYS:
            _USED_DAYS.add(day)
            return day


@pytest.fixture(scope="module")
def token(database: Database) -> str:
    with database.session() as session:
        _, value = create_token(session, name=f"supervisor-{secrets.token_hex(4)}")
        session.commit()
    return value


def get(client: FlaskClient, path: str, token: str, **kw: Any) -> Any:
    return client.get(API + path, headers={"Authorization": f"Bearer {token}"}, **kw)


def day_counts(client: redis.Redis, day: date) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in client.hgetall(store.day_key(day)).items()}


def today(settings: Settings) -> date:
    return datetime.now(TZ).date()


# --- live counting from real webhooks ---------------------------------------------------------


def test_a_call_counts_at_once_and_callbacks_out_of_order_count_once(
    twilio_post: Any, database: Database, redis_conn: redis.Redis, settings: Settings
) -> None:
    sid, caller = new_call_sid(), phone()
    before = day_counts(redis_conn, today(settings))
    r = twilio_post("/voice/incoming", call_params(sid, From=caller))
    assert r.status_code == 200
    after = day_counts(redis_conn, today(settings))
    assert after.get("calls.offered", 0) - before.get("calls.offered", 0) == 1
    assert after.get("calls.answered", 0) - before.get("calls.answered", 0) == 1
    # Twilio's callbacks out of order: completed first, then the earlier ones, then a replay.
    for status, seq in (("completed", "3"), ("ringing", "1"), ("in-progress", "2")):
        params = call_params(sid, From=caller, CallStatus=status, SequenceNumber=seq)
        assert twilio_post("/voice/status", params).status_code == 204
    twilio_post("/voice/status", call_params(sid, From=caller, CallStatus="completed",
                                             SequenceNumber="3"))  # fmt: skip
    again = day_counts(redis_conn, today(settings))
    assert again.get("calls.offered", 0) - before.get("calls.offered", 0) == 1
    assert again.get("calls.answered", 0) - before.get("calls.answered", 0) == 1
    # The outcome job's write, then the row moved to a day of its own: every cell follows.
    day = odd_day()
    with database.session() as session:
        call = session.execute(select(Call).where(Call.call_sid == sid)).scalar_one()
        call.outcome = final_outcome(call)
        session.commit()
        call.started_at = datetime(day.year, day.month, day.day, 10, tzinfo=TZ)
        session.commit()
    moved = day_counts(redis_conn, day)
    assert moved["calls.offered"] == moved["calls.answered"] == moved["calls.ended"] == 1
    assert moved[f"calls.outcome|outcome={call.outcome}"] == 1


# --- the REST snapshot ------------------------------------------------------------------------


def test_the_kpi_snapshot_over_rest(client: FlaskClient, token: str) -> None:
    r = get(client, "/kpis?window=7d", token)
    assert r.status_code == 200, r.json
    body = r.json
    assert body["window"]["label"] == "7d" and body["window"]["timezone"] == "Asia/Shanghai"
    figures = {f["key"]: f for f in body["kpis"]}
    rate = figures["connection_rate"]
    assert {"numerator", "denominator", "value", "numerator_label"} <= set(rate)
    if rate["denominator"] == 0:
        assert rate["value"] is None
    empty = get(client, "/kpis?from=2099-12-01&to=2099-12-01", token).json
    assert all(f["value"] is None for f in empty["kpis"] if f["unit"] != "count")
    assert get(client, "/kpis?from=2026-02-02&to=2026-01-01", token).status_code == 422
    assert get(client, "/kpis?window=forever", token).status_code == 422
    assert client.get(API + "/kpis").status_code == 401


# --- exports ----------------------------------------------------------------------------------


def _orders_on(database: Database, day: date, caller: str, n: int) -> list[str]:
    calendar = load_calendar()
    numbers = []
    for i in range(n):
        with database.session() as session:
            order, _ = register_work_order(
                session,
                intake=Intake(
                    channel="letter",
                    category="enforcement",
                    summary=f"判决未执行 {i}",
                    contact_phone=caller,
                    contact_name="李某某",
                ),
                actor="t",
                calendar=calendar,
                now=datetime(day.year, day.month, day.day, 9 + i, tzinfo=TZ),
            )
            session.commit()
            numbers.append(order.number)
    return numbers


def _calls_on(database: Database, day: date, caller: str, n: int) -> list[str]:
    sids = []
    for i in range(n):
        sid = new_call_sid()
        with database.session() as session:
            call, _ = upsert_call(session, info=CallInfo(sid, from_raw=caller))
            call.started_at = datetime(day.year, day.month, day.day, 9 + i, tzinfo=TZ)
            call.step_seq = 1
            session.commit()
        sids.append(sid)
    return sids


def rows(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_exports_stream_calls_orders_and_kpis(
    client: FlaskClient, token: str, database: Database
) -> None:
    day, caller = odd_day(), phone()
    sids = _calls_on(database, day, caller, 2)
    numbers = _orders_on(database, day, caller, 2)
    span = f"from={day.isoformat()}&to={day.isoformat()}"

    r = get(client, f"/exports/calls?{span}", token)
    assert r.status_code == 200 and r.mimetype == "text/csv" and r.is_streamed
    assert "attachment" in r.headers["Content-Disposition"]
    got = rows(r)
    assert [c["call_sid"] for c in got] == sids
    assert {c["from"] for c in got} == {caller}
    assert got[0]["started_at"].startswith(f"{day.isoformat()}T09:00:00+08:00")
    masked = rows(get(client, f"/exports/calls?{span}&mask=true", token))
    assert all(c["from"] != caller and c["from"].endswith(caller[-4:]) for c in masked)

    orders = rows(get(client, f"/exports/orders?{span}", token))
    assert [o["number"] for o in orders] == numbers
    assert orders[0]["contact_phone"] == caller and orders[0]["category"] == "enforcement"
    assert orders[0]["contact_name"] == "李某某" and orders[0]["on_time"] == ""
    hidden = rows(get(client, f"/exports/orders?{span}&mask=1", token))[0]
    assert hidden["contact_name"] == "李**" and caller not in hidden["contact_phone"]

    kpis = rows(get(client, f"/exports/kpis?{span}", token))
    by_key = {(k["day"], k["kpi"]): k for k in kpis}
    assert by_key[day.isoformat(), "calls_offered"]["numerator"] == "2"
    assert by_key["total", "orders_opened"]["numerator"] == "2"
    assert by_key["total", "satisfaction_rate"]["value"] == ""  # 0 answers: no rate
    assert get(client, "/exports/calls?from=2060-01-01", token).status_code == 422
    assert get(client, f"/exports/everything?{span}", token).status_code == 404


# --- the weekly supervision list --------------------------------------------------------------


def test_the_weekly_supervision_list_proposes_matters_with_reasons(
    client: FlaskClient, token: str, database: Database
) -> None:
    monday = odd_day()  # a Monday: 2060-01-05 is one, and weeks apart from it
    assert monday.weekday() == 0
    calendar = load_calendar()
    repeat, other = phone(), phone()
    _calls_on(database, monday + timedelta(days=1), repeat, 3)
    [repeat_order] = _orders_on(database, monday + timedelta(days=1), repeat, 1)
    similar = _orders_on(database, monday + timedelta(days=2), other, 3)  # alike statements
    at = datetime(monday.year, monday.month, monday.day, 15, tzinfo=TZ) + timedelta(days=3)
    with database.session() as session:
        order, _ = register_work_order(
            session,
            intake=Intake(channel="visit", category="complaint", summary="法官态度问题"),
            actor="t",
            calendar=calendar,
            now=at - timedelta(days=2),
        )
        session.flush()
        for move, req in (
            (Move.SUPERVISE, MoveRequest(note="院长督办")),
            (Move.DISPATCH, MoveRequest(department="petitions")),
            (Move.ACCEPT, MoveRequest()),
            (Move.REPLY, MoveRequest(note="已答复")),
            (Move.COMPLETE, MoveRequest()),
        ):
            move_work_order(session, order_id=order.id, move=move, actor="t", calendar=calendar,
                            request=req, now=at)  # fmt: skip
        record_follow_up(session, order_id=order.id, satisfaction="dissatisfied", actor="t",
                         calendar=calendar, now=at)  # fmt: skip
        flagged = order.number
        session.commit()

    week = f"{monday.isocalendar()[0]}-W{monday.isocalendar()[1]:02d}"
    r = get(client, f"/supervision?week={week}", token)
    assert r.status_code == 200, r.json
    items = {i["number"]: i for i in r.json["items"]}
    # Flagged orders come first (open ones flagged by other tests are there too, every week).
    order = [any(c["code"] == "flagged" for c in i["reasons"]) for i in r.json["items"]]
    assert order == sorted(order, reverse=True) and flagged in items
    codes = {c["code"] for c in items[flagged]["reasons"]}
    assert {"flagged", "dissatisfied"} <= codes
    texts = [c["text"] for c in items[repeat_order]["reasons"]]
    assert any(t.startswith("repeat caller, 3 calls in 1 day") for t in texts)
    assert items[repeat_order]["caller"] != repeat  # masked unless asked
    alike = [c["text"] for i in items.values() for c in i["reasons"] if c["code"] == "similar"]
    assert len(alike) == 1 and "4 similar statements" in alike[0] and similar[2] in alike[0]

    sheet = get(client, f"/supervision?week={week}&format=csv&mask=false", token)
    assert sheet.mimetype == "text/csv"
    lines = rows(sheet)
    assert "院长督办" in next(x for x in lines if x["number"] == flagged)["reasons"]
    repeat_row = next(x for x in lines if x["number"] == repeat_order)
    assert repeat_row["caller"] == repeat
    assert get(client, "/supervision?week=2026-W99", token).status_code == 422


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for key, value in worker_env(settings).items():
        if key.startswith("HOTLINE_"):
            monkeypatch.setenv(key, value)
    return CliRunner()


def test_the_command_line_shows_rebuilds_exports_and_lists(
    cli: CliRunner, database: Database, tmp_path: Any
) -> None:
    day, caller = odd_day(), phone()
    _calls_on(database, day, caller, 3)
    span = ["--from", day.isoformat(), "--to", day.isoformat()]
    shown = cli.invoke(main, ["kpis", "show", *span])
    assert shown.exit_code == 0, shown.output
    assert "connection rate" in shown.output and "(3 / 3)" in shown.output
    assert "—  (0 / 0)" in shown.output  # no orders that day: a dash, not 100%
    rebuilt = cli.invoke(main, ["kpis", "rebuild", "--since", day.isoformat()])
    assert rebuilt.exit_code == 0 and "rebuilt" in rebuilt.output
    as_json = cli.invoke(main, ["kpis", "show", "--json", *span])
    assert '"calls.offered": 3' in as_json.output
    out = tmp_path / "calls.csv"
    exported = cli.invoke(main, ["export", "calls", *span, "--mask", "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    got = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(got) == 3 and caller not in out.read_text()
    week = cli.invoke(main, ["supervision", "list", "--week", day.isoformat(), "--csv"])
    assert week.exit_code == 0, week.output
    assert "repeat caller, 3 calls in 1 day" in week.output
    bad = cli.invoke(main, ["supervision", "list", "--week", "soon"])
    assert bad.exit_code == 2 and "not a week" in bad.output


# --- /metrics ---------------------------------------------------------------------------------


def families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_need_the_token_and_parse_as_prometheus_text(
    client: FlaskClient, twilio_post: Any, settings: Settings
) -> None:
    twilio_post("/voice/incoming", call_params(new_call_sid(), From=phone()))
    assert client.get("/metrics").status_code == 401
    bad = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    r = client.get("/metrics", headers={"Authorization": f"Bearer {settings.metrics_token}"})
    assert r.status_code == 200 and r.mimetype == "text/plain"
    found = families(r.get_data(as_text=True))
    calls = {s.labels["event"]: s.value for s in found["hotline_calls"].samples
             if s.name == "hotline_calls_total"}  # fmt: skip
    assert calls["offered"] >= 1 and calls["answered"] >= 1
    latency = found["hotline_webhook_latency_seconds"]
    assert latency.type == "histogram"
    count = next(
        s.value
        for s in latency.samples
        if s.name.endswith("_count") and s.labels["route"] == "incoming"
    )
    assert count >= 1
    up = {s.labels["source"]: s.value for s in found["hotline_source_up"].samples}
    assert up == {"redis": 1.0, "database": 1.0}
    for name in (
        "hotline_rq_queue_jobs",
        "hotline_rq_workers",
        "hotline_rq_failed_jobs",
        "hotline_work_orders",
        "hotline_kpi_today",
        "hotline_queue_waiting_callers",
    ):
        assert name in found, name  # fmt: skip


@pytest.fixture(scope="module")
def network_app(settings: Settings, database: Database, redis_conn: redis.Redis) -> Flask:
    overrides = {
        f: getattr(settings, f)
        for f in ("env", "instance_path", "database_url", "redis_url", "twilio_account_sid",
                  "twilio_auth_token", "secret_key")
    }  # fmt: skip
    overrides.update(metrics_allow_networks="10.0.0.0/8, 127.0.0.1/32", metrics_token="t-1")
    return create_app(overrides)


def test_metrics_from_an_allowed_network_need_no_token(network_app: Flask) -> None:
    client = network_app.test_client()
    inside = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert inside.status_code == 200
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert outside.status_code == 401
    token = client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"},
                       headers={"Authorization": "Bearer t-1"})  # fmt: skip
    assert token.status_code == 200


def test_requests_carry_an_id(client: FlaskClient) -> None:
    r = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert r.headers["X-Request-Id"] == "abc-123"
    fresh = client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert len(fresh.headers["X-Request-Id"]) == 32
