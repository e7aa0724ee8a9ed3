"""The KPIs of a date range as CSV: one row per KPI and day, then the range's totals."""

from __future__ import annotations

from collections.abc import Iterator

import redis

from hotline.kpis import store
from workorders.exports import csv_lines
from workorders.kpis import KpiOptions, Window, figures

KPI_COLUMNS = (
    "day", "kpi", "label", "unit", "numerator", "denominator", "value",
    "numerator_label", "denominator_label",
)  # fmt: skip


def kpis_csv(client: redis.Redis, *, window: Window, options: KpiOptions) -> Iterator[str]:
    """Day by day (one Redis read each), so a long range streams like the others."""

    def rows() -> Iterator[list[object]]:
        for day in window.days():
            one = Window(day.isoformat(), day, day, window.tz)
            totals, _ = store.read_window(client, one)
            yield from _rows(day.isoformat(), figures(totals, options))
        totals, _ = store.read_window(client, window)
        yield from _rows("total", figures(totals, options))

    return csv_lines(KPI_COLUMNS, rows())


def _rows(day: str, figs: list) -> Iterator[list[object]]:  # type: ignore[type-arg]
    for f in figs:
        value = "" if f.value is None else round(f.value, 6)
        den = "" if f.denominator is None else f.denominator
        yield [day, f.key, f.label, f.unit, f.numerator, den, value,
               f.numerator_label, f.denominator_label]  # fmt: skip
