"""Server-rendered bar charts (inline SVG geometry; no script, no inline style, so the
console's Content-Security-Policy holds)."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, BAR = 480, 120, 8  # viewBox units; 24 hours × (2 bars + gap) = 480


@dataclass(frozen=True)
class Bar:
    x: int
    y: float
    height: float
    label: str  # the tooltip (<title>): hour and value
    series: str  # "now" or "then": the CSS class


def _show(value: float | None, ratio: bool) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.0f} %" if ratio else f"{value:.0f}"


def hour_bars(
    today: list[float | None], last_week: list[float | None], *, ratio: bool = False
) -> dict[str, object]:
    """Paired bars per hour (today, same day last week); an hour with no value has no bar
    (a rate with no calls is "—", not 0 % or 100 %)."""
    top = 1.0 if ratio else max([v for v in (*today, *last_week) if v is not None] + [1.0])
    bars: list[Bar] = []
    for hour, (now, then) in enumerate(zip(today, last_week, strict=True)):
        for offset, value, series in ((0, then, "then"), (BAR, now, "now")):
            if value is None or value <= 0:
                continue
            height = round(HEIGHT * value / top, 1)
            label = f"{hour:02d}:00 {'today' if series == 'now' else 'last week'}: "
            bars.append(Bar(hour * 20 + offset, HEIGHT - height, height,
                            label + _show(value, ratio), series))  # fmt: skip
    return {
        "bars": bars,
        "width": WIDTH,
        "height": HEIGHT,
        "top": _show(top, ratio),
        "today": [_show(v, ratio) for v in today],
        "last_week": [_show(v, ratio) for v in last_week],
    }
