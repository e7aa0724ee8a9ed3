"""The live KPI snapshot at 10 k and 1 M historical calls (100 k in quick mode), beside the SQL
aggregate of the same window, interleaved.

What is measured (in this process: the latency of one function call, so there is no load to
put in a separate process): `hotline.kpis.snapshot.snapshot(client, window=…)` — every KPI of
reference/kpis.md with numerator and denominator — for the window `today` and `7d`, against
the embedded Redis server (a real redis-server on a unix socket) filled by a rebuild.

Baseline: the same figures computed from SQL for the same window (`hotline.kpis.rebuild.
compute(session, since=first day)`, what a dashboard without counters would have to run: the
calls of the window, the orders whose registration, deadline or completion falls in it, the
follow-ups), in the same process, interleaved with the snapshot per round (A B A B).

Data per size: a fresh temporary instance folder, SQLite, migrated; calls spread over the past
365 days (seeded), one work order per 10 calls (a third completed, a tenth followed up), all
inserted in bulk (no listener), then `hotline kpis rebuild` fills the counters (timed, reported
as `rebuild_s`, not part of any measurement).

Read: `sizes.N.snapshot_today_ms` / `snapshot_7d_ms` (p50/p99) and `ratios.snapshot_growth`
(1 M ÷ 10 k p50: ≈ 1 means the snapshot does not grow with history; DESIGN.md's target is
≤ 10 ms), and `sizes.N.baseline_*` with the ratio baseline ÷ snapshot.

Standalone: `python -m benchmarks.kpis [--quick]`.
"""

from __future__ import annotations

import argparse
import gc
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from benchmarks.common import machine_info, median, stats, write_result
from hotline.config import Settings
from hotline.db import Database
from hotline.kpis import store
from hotline.kpis.rebuild import compute, rebuild
from hotline.kpis.snapshot import snapshot, window_for
from hotline.migrate import upgrade
from hotline.redis_store import redis_client, stop_embedded_redis
from workorders.calls import Call
from workorders.orders import WorkOrder, WorkOrderEvent
from workorders.organisation import Category, load_organisation

NAME = "kpis"
SEED = 12368
TZ = ZoneInfo("Asia/Shanghai")
MODES = {
    "quick": {"sizes": (10_000, 100_000), "rounds": 3, "snapshots": 100, "baselines": 3},
    "full": {"sizes": (10_000, 1_000_000), "rounds": 5, "snapshots": 300, "baselines": 5},
}
OUTCOMES = ["resolved_in_ivr", "message_left", "no_request", "abandoned", "completed", "failed"]
LEVELS = ["very_satisfied", "satisfied", "basically_satisfied", "dissatisfied"]
BATCH = 20_000


def _load(database: Database, calls: int, now: datetime) -> dict[str, Any]:
    rng = random.Random(SEED)
    started = time.perf_counter()
    with database.session() as session:
        load_organisation(session)
        session.commit()
        category = session.execute(select(Category.id)).scalars().first()
    rows: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    span = 365 * 24 * 3600
    with database.engine.begin() as conn:
        for i in range(calls):
            at = now - timedelta(seconds=rng.randrange(span))
            outcome = rng.choice(OUTCOMES)
            rows.append(
                {
                    "call_sid": f"CA{i:032x}",
                    "direction": "inbound",
                    "from_e164": f"+86138{rng.randrange(10**6):06d}00",
                    "status": "completed",
                    "started_at": at,
                    "ended_at": at + timedelta(minutes=2),
                    "step_seq": 0 if outcome == "failed" else 3,
                    "outcome": outcome,
                    "flow_context": {},
                    "resolved_in_call": outcome == "resolved_in_ivr",
                    "updated_at": at,
                }
            )
            if i % 10 == 0:
                done = rng.random() < 0.33
                orders.append(
                    {
                        "number": f"WO-B-{i:09d}",
                        "channel": rng.choice(["phone", "phone", "letter", "visit"]),
                        "category_id": category,
                        "summary": "bench",
                        "statement": "",
                        "state": "closed" if done else "dispatched",
                        "registered_at": at,
                        "deadline_at": at + timedelta(days=7),
                        "original_deadline_at": at + timedelta(days=7),
                        "completed_at": at + timedelta(days=rng.randrange(1, 10)) if done else None,
                        "satisfaction": rng.choice(LEVELS) if done else None,
                        "updated_at": at,
                    }
                )
            if len(rows) >= BATCH:
                conn.execute(insert(Call), rows)
                rows.clear()
        if rows:
            conn.execute(insert(Call), rows)
        for j in range(0, len(orders), BATCH):
            conn.execute(insert(WorkOrder), orders[j : j + BATCH])
        followed = conn.execute(
            select(WorkOrder.id, WorkOrder.completed_at, WorkOrder.satisfaction).where(
                WorkOrder.satisfaction.is_not(None)
            )
        ).all()
        events = [
            {"work_order_id": oid, "at": at, "actor": "bench", "move": "follow_up",
             "from_state": "completed", "to_state": "closed", "data": {"satisfaction": level}}
            for oid, at, level in followed[:: 3]
        ]  # fmt: skip
        for j in range(0, len(events), BATCH):
            conn.execute(insert(WorkOrderEvent), events[j : j + BATCH])
    return {
        "calls": calls,
        "orders": len(orders),
        "follow_ups": len(events),
        "load_s": round(time.perf_counter() - started, 1),
    }


def _time_ms(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def _measure_size(calls: int, cfg: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-kpis-") as folder:
        settings = Settings.from_env(
            environ={}, overrides={"env": "test", "instance_path": Path(folder)}
        ).validate()
        upgrade(settings)
        database = Database(settings)
        client = redis_client(settings)
        try:
            now = datetime.now(UTC)
            data = _load(database, calls, now)
            first = (now - timedelta(days=366)).astimezone(TZ).date()
            t0 = time.perf_counter()
            with database.session() as session:
                buckets = rebuild(session, client, since=first, tz=settings.timezone)
            data["rebuild_s"] = round(time.perf_counter() - t0, 1)
            data["buckets"] = buckets
            today = window_for(settings, "today", now=now)
            week = window_for(settings, "7d", now=now)
            # What a snapshot reads: the same handful of hashes at any history length.
            data["fields_read_today"] = sum(client.hlen(store.day_key(d)) for d in today.days())
            data["fields_read_7d"] = sum(client.hlen(store.day_key(d)) for d in week.days())
            data["redis_keys"] = client.dbsize()
            # The load left a large heap behind: collect it and keep it out of the collector's
            # way, so that the bigger history does not show up as garbage-collection pauses.
            gc.collect()
            gc.freeze()

            def baseline(since: date) -> None:
                with database.session() as session:
                    compute(session, since=since, tz=TZ)

            samples: dict[str, list[float]] = {
                k: [] for k in ("snap_today", "snap_7d", "base_today", "base_7d")
            }
            round_ratio: list[float] = []
            for _ in range(5):  # warm-up
                snapshot(client, window=today)
                snapshot(client, window=week)
            baseline(today.first)
            for rnd in range(cfg["rounds"]):
                order = ("snap", "base") if rnd % 2 == 0 else ("base", "snap")
                block: dict[str, list[float]] = {"snap": [], "base": []}
                for part in order:
                    if part == "snap":
                        for _ in range(cfg["snapshots"]):
                            block["snap"].append(_time_ms(lambda: snapshot(client, window=today)))
                            samples["snap_7d"].append(
                                _time_ms(lambda: snapshot(client, window=week))
                            )
                    else:
                        for _ in range(cfg["baselines"]):
                            block["base"].append(_time_ms(lambda: baseline(today.first)))
                            samples["base_7d"].append(_time_ms(lambda: baseline(week.first)))
                samples["snap_today"] += block["snap"]
                samples["base_today"] += block["base"]
                round_ratio.append(median(block["base"]) / median(block["snap"]))
            check = snapshot(client, window=week)
            with database.session() as session:
                sql_week = compute(session, since=week.first, tz=TZ)
            offered = sum(v.get("calls.offered", 0) for k, v in sql_week.items() if ":d:" in k)
            return {
                "data": data,
                "snapshot_today_ms": stats(samples["snap_today"]),
                "snapshot_7d_ms": stats(samples["snap_7d"]),
                "baseline_today_ms": stats(samples["base_today"]),
                "baseline_7d_ms": stats(samples["base_7d"]),
                "ratio_baseline_over_snapshot_today": {
                    "per_round": [round(r, 1) for r in round_ratio],
                    "median": round(median(round_ratio), 1),
                },
                "check": {
                    "snapshot_7d_calls_offered": check["counters"].get("calls.offered", 0),
                    "sql_7d_calls_offered_incl_future": offered,
                },
            }
        finally:
            gc.unfreeze()
            database.dispose()
            stop_embedded_redis(settings.instance_path)


def run(quick: bool) -> dict[str, Any]:
    mode = "quick" if quick else "full"
    cfg = MODES[mode]
    sizes = {str(n): _measure_size(n, cfg) for n in cfg["sizes"]}
    small, large = (sizes[str(n)] for n in cfg["sizes"])
    growth = large["snapshot_today_ms"]["median"] / small["snapshot_today_ms"]["median"]
    growth_7d = large["snapshot_7d_ms"]["median"] / small["snapshot_7d_ms"]["median"]
    return {
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
        "sizes": sizes,
        "ratios": {
            "snapshot_growth_today": round(growth, 2),
            "snapshot_growth_7d": round(growth_7d, 2),
        },
        "targets": {
            "snapshot_p99_le_10ms": all(s["snapshot_7d_ms"]["p99"] <= 10 for s in sizes.values()),
        },
    }


def table(result: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for n, s in result["sizes"].items():
        st, bt = s["snapshot_today_ms"], s["baseline_today_ms"]
        s7, b7 = s["snapshot_7d_ms"], s["baseline_7d_ms"]
        rows.append(
            (
                f"{int(n):,} calls: today / 7d snapshot p50/p99 ms",
                f"{st['median']:.2f}/{st['p99']:.2f}  {s7['median']:.2f}/{s7['p99']:.2f}",
                f"SQL {bt['median']:.0f}/{bt['p99']:.0f}  {b7['median']:.0f}/{b7['p99']:.0f}",
                f"{s['ratio_baseline_over_snapshot_today']['median']}x",
                "≤ 10 ms",
            )
        )
    r = result["ratios"]
    rows.append(
        (
            "snapshot growth large ÷ small (today, 7d)",
            f"{r['snapshot_growth_today']}",
            f"{r['snapshot_growth_7d']}",
            "",
            "≈ 1: no growth",
        )
    )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    result = {"benchmark": NAME, "mode": "quick" if args.quick else "full"}
    result |= {"machine": machine_info()} | run(args.quick)
    print(write_result(NAME, result))
    for row in table(result):
        print(" | ".join(row))
