"""Rebuilding the KPI counters from SQL: the same cell functions, summed over stored rows.

`compute` streams every row that can contribute to a day on or after `since` (server-side
cursors via `yield_per`) and keeps only the running sums, so memory grows with the number of
counters, not of rows. `rebuild` then replaces the Redis hashes of those days and hours.
Live updates committed while a rebuild runs may be counted twice or not at all: run it when
traffic is low, or run it again.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import redis
from sqlalchemy.orm import Session

from hotline.kpis import store
from hotline.kpis.sources import sources
from workorders.kpi_cells import Cell

Buckets = dict[str, dict[str, int]]  # redis key → field → count


def since_instant(since: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(since, time(0), tz).astimezone(UTC)


def compute(session: Session, *, since: date, tz: ZoneInfo) -> Buckets:
    """Counters of every day from `since` (local) on, and of the UTC hours from its start."""
    start = since_instant(since, tz)
    first_hour = store.hour_key(start)
    first_day = store.day_key(since)
    buckets: Buckets = defaultdict(lambda: defaultdict(int))
    for source in sources():
        for cells in source.rebuild(session, start):
            for cell in cells.values():
                if cell is None or cell.at < start:
                    continue
                _add(buckets, cell, tz, first_day, first_hour)
    return {k: {f: n for f, n in v.items() if n} for k, v in buckets.items()}


def _add(buckets: Buckets, cell: Cell, tz: ZoneInfo, first_day: str, first_hour: str) -> None:
    for key in (store.day_key(cell.at.astimezone(tz).date()), store.hour_key(cell.at)):
        if key < (first_day if ":d:" in key else first_hour):
            continue
        for name in store.fields(cell):
            buckets[key][name] += cell.amount


def existing_keys(client: redis.Redis, *, since: date, tz: ZoneInfo) -> list[str]:
    first_day = store.day_key(since)
    first_hour = store.hour_key(since_instant(since, tz))
    found = []
    for pattern, first in ((f"{store.PREFIX}d:*", first_day), (f"{store.PREFIX}h:*", first_hour)):
        for raw in client.scan_iter(pattern, count=1000):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            if key >= first:
                found.append(key)
    return found


def write(client: redis.Redis, buckets: Buckets, *, since: date, tz: ZoneInfo) -> int:
    """Replace the counters from `since` on with `buckets`; the number of keys written."""
    stale = existing_keys(client, since=since, tz=tz)
    pipe = client.pipeline(transaction=True)
    for i in range(0, len(stale), 500):
        pipe.delete(*stale[i : i + 500])
    for key, values in buckets.items():
        if values:
            pipe.hset(key, mapping=values)  # type: ignore[arg-type]
    pipe.hdel(store.META, "stale", "stale_at")
    pipe.hset(
        store.META,
        mapping={"rebuilt_at": datetime.now(UTC).isoformat(), "rebuilt_since": since.isoformat()},
    )
    pipe.execute()
    client.publish(store.CHANNEL, '{"kind": "kpis", "rebuilt": true}')
    from hotline.kpis.listener import announce

    announce(client, '{"kind": "kpis", "rebuilt": true}')  # open dashboards re-read
    return len(buckets)


def rebuild(session: Session, client: redis.Redis, *, since: date, tz: str) -> int:
    from hotline.kpis.listener import health

    health.reset()  # Redis answers again: live updates resume now, not after the back-off
    zone = ZoneInfo(tz)
    return write(client, compute(session, since=since, tz=zone), since=since, tz=zone)
