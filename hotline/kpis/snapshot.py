"""The live KPI snapshot: every figure of reference/kpis.md for a window, from the counters.

`snapshot(client, window=…, options=…)` is what the REST API, the CLI and the dashboard
show. It reads one Redis hash per day of the window (a single round trip), so its cost does
not grow with the number of stored calls or orders.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import redis

from hotline.config import Settings
from hotline.kpis import store
from workorders.kpis import KpiOptions, Window, figures, figures_by_dimension, make_window


def options_from(settings: Settings) -> KpiOptions:
    return KpiOptions(
        answer_within_s=settings.kpi_answer_within_s,
        count_basically_satisfied=bool(settings.kpi_count_basically_satisfied),
    )


def snapshot(
    client: redis.Redis,
    *,
    window: Window,
    options: KpiOptions = KpiOptions(),  # noqa: B008
) -> dict[str, Any]:
    """{"window", "kpis": [figure…], "by": {dimension: {value: [figure…]}}, "counters", "meta"}.

    A figure is {key, label, unit, numerator, denominator, value, numerator_label,
    denominator_label, note}; `value` is None when the denominator is 0."""
    totals, by_dim = store.read_window(client, window)
    meta = store.read_meta(client)
    return {
        "window": window.as_dict(),
        "generated_at": datetime.now(UTC).isoformat(),
        "kpis": [f.as_dict() for f in figures(totals, options)],
        "by": {
            dim: {value: [f.as_dict() for f in figs] for value, figs in values.items()}
            for dim, values in figures_by_dimension(by_dim, options).items()
        },
        "counters": dict(sorted(totals.items())),
        "stale": meta.get("stale"),
        "rebuilt_at": meta.get("rebuilt_at"),
    }


def window_for(
    settings: Settings,
    kind: str | None = None,
    *,
    first: date | None = None,
    last: date | None = None,
    now: datetime | None = None,
) -> Window:
    return make_window(
        kind, now=now or datetime.now(UTC), tz=settings.timezone, first=first, last=last
    )


def hourly(client: redis.Redis, *, day: date, tz: str, metrics: list[str]) -> list[dict[str, Any]]:
    """The local day's 24 hours: [{"hour": ISO start, metric: count…}] for charts."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), zone)
    hours = [(start + timedelta(hours=h)).astimezone(UTC) for h in range(24)]
    rows = store.read_hours(client, hours, metrics)
    return [
        {"hour": at.astimezone(zone).isoformat(), **row}
        for at, row in zip(hours, rows, strict=True)
    ]
