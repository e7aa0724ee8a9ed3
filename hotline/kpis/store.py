"""The live KPI counters in Redis: one hash per local day and per UTC hour, read per window.

Layout (every key under `hotline:kpis:`):
- `d:<YYYY-MM-DD>` — the business time zone's day; fields `<metric>` (the total) and
  `<metric>|<dimension>=<value>` (e.g. `orders.opened|channel=letter`);
- `h:<YYYYMMDDHH>` — the same per UTC hour, for hourly charts;
- `meta` — when and from which date the counters were last rebuilt, and `stale` when a
  live update could not be written (the sweep then rebuilds).

A snapshot reads one hash per day of its window (one round trip), whatever the history.
Every change is announced on the pub/sub channel `hotline:kpis` (see `publish`).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis

from workorders.kpi_cells import Cell
from workorders.kpis import Window

log = logging.getLogger(__name__)

PREFIX = "hotline:kpis:"
CHANNEL = "hotline:kpis"
META = PREFIX + "meta"
# All-time call and queue counters for /metrics (Prometheus counters only grow; never
# rebuilt: a lost Redis restarts them at 0, which Prometheus reads as a counter reset).
TOTALS = "hotline:metrics:totals"
_TOTALLED = ("calls.", "queue.")


def day_key(day: date) -> str:
    return f"{PREFIX}d:{day.isoformat()}"


def hour_key(at: datetime) -> str:
    return f"{PREFIX}h:{at.astimezone(UTC):%Y%m%d%H}"


def fields(cell: Cell) -> list[str]:
    return [cell.metric, *(f"{cell.metric}|{k}={v}" for k, v in cell.dims)]


Change = tuple[Cell, int]


def increments(changes: Iterable[Change], tz: ZoneInfo) -> dict[tuple[str, str], int]:
    """(key, field) → net increment; changes that cancel out vanish."""
    net: dict[tuple[str, str], int] = defaultdict(int)
    for cell, delta in changes:
        keys = [day_key(cell.at.astimezone(tz).date()), hour_key(cell.at)]
        if cell.metric.startswith(_TOTALLED):
            keys.append(TOTALS)
        for key in keys:
            for name in fields(cell):
                net[key, name] += delta
    return {k: v for k, v in net.items() if v}


def apply_changes(client: redis.Redis, changes: list[Change], tz: ZoneInfo) -> bool:
    """Add the changes atomically (MULTI/EXEC) and announce them; False if nothing changed."""
    net = increments(changes, tz)
    if not net:
        return False
    pipe = client.pipeline(transaction=True)  # one round trip, counters and message together
    for (key, name), delta in net.items():
        pipe.hincrby(key, name, delta)
    pipe.publish(CHANNEL, message(changes, tz))
    pipe.execute()
    return True


def message(changes: list[Change], tz: ZoneInfo) -> str:
    """`{"kind": "kpis", "metrics": [...], "days": [...], "at": ISO}`, published on
    `hotline:kpis` after every change (a rebuild sends `{"kind": "kpis", "rebuilt": true}`).

    Small on purpose: a dashboard re-reads the snapshot it shows (one round trip) rather
    than patching figures from messages, so a lost message costs nothing but a delay."""
    return json.dumps(
        {
            "kind": "kpis",
            "metrics": sorted({cell.metric for cell, _ in changes}),
            "days": sorted({cell.at.astimezone(tz).date().isoformat() for cell, _ in changes}),
            "at": datetime.now(UTC).isoformat(),
        }
    )


Counts = dict[str, int]
ByDimension = dict[str, dict[str, Counts]]


def split_fields(raw: dict[str, int]) -> tuple[Counts, ByDimension]:
    totals: Counts = defaultdict(int)
    by_dim: ByDimension = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for name, value in raw.items():
        metric, sep, dim = name.partition("|")
        if not sep:
            totals[metric] += value
            continue
        dimension, _, dim_value = dim.partition("=")
        by_dim[dimension][dim_value][metric] += value
    return dict(totals), {d: {v: dict(c) for v, c in vals.items()} for d, vals in by_dim.items()}


def read_window(client: redis.Redis, window: Window) -> tuple[Counts, ByDimension]:
    """The counters summed over the window's days: one HGETALL per day, one round trip."""
    pipe = client.pipeline(transaction=False)
    for day in window.days():
        pipe.hgetall(day_key(day))
    raw: dict[str, int] = defaultdict(int)
    for hashed in pipe.execute():
        for name, value in hashed.items():
            raw[_text(name)] += int(value)
    return split_fields(raw)


def read_hours(client: redis.Redis, hours: list[datetime], metrics: list[str]) -> list[Counts]:
    """Per-hour totals of `metrics` (for the dashboard's hourly charts)."""
    pipe = client.pipeline(transaction=False)
    for at in hours:
        pipe.hmget(hour_key(at), metrics)
    return [
        {m: int(v) if v is not None else 0 for m, v in zip(metrics, values, strict=True)}
        for values in pipe.execute()
    ]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_meta(client: redis.Redis) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in client.hgetall(META).items()}


def mark_stale(client: redis.Redis, why: str) -> None:
    client.hset(META, mapping={"stale": why[:200], "stale_at": datetime.now(UTC).isoformat()})
