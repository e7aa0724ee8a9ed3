"""The supervisor dashboard (/console/dashboard): the KPI tiles with their numerators and
denominators, hourly charts (today against the same day last week), the queues and agents,
work orders by state, abandoned calls, overdue and near-deadline orders, and orders
reopened after dissatisfaction. `?wall=1` is the wallboard (no navigation, large type).

Live: the page follows the `kpis` live channel (every counted change, see
`hotline.kpis.listener.announce`) and `orders` (every work-order move), and re-fetches its
server-rendered panel on each event; no figure is patched in the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request, url_for
from werkzeug.exceptions import BadRequest

from hotline import clock
from hotline.access import require_roles
from hotline.config import Settings
from hotline.console import bp
from hotline.console.charts import hour_bars
from hotline.console.dashboard_lists import (
    near_deadline_orders,
    order_state_counts,
    overdue_count,
    overdue_orders,
    reopened_after_dissatisfaction,
)
from hotline.console.nav import add_nav
from hotline.console.sse import register_channel
from hotline.db import get_session
from hotline.kpis.listener import LIVE_CHANNEL
from hotline.kpis.snapshot import hourly, options_from, snapshot, window_for
from hotline.kpis.sources import abandoned_calls
from hotline.live import ORDERS
from hotline.queues.console import agents_with_presence, waiting_callers
from hotline.redis_store import redis_client
from hotline.users.roles import Role
from workorders.kpis import WindowError

DASHBOARD_ROLES = (Role.SUPERVISOR, Role.ADMIN)
WINDOWS = ("today", "7d")
NEAR_DEADLINE = timedelta(hours=24)
LIST_LIMIT = 20

register_channel(LIVE_CHANNEL, *DASHBOARD_ROLES)
add_nav("Dashboard", "console.dashboard", *DASHBOARD_ROLES, accesskey="b",
        description="Live KPIs with numerators and denominators, queues, abandoned calls, "
        "overdue orders; ?wall=1 for a wallboard.")  # fmt: skip


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def show_value(figure: dict[str, Any]) -> str:
    """A figure as a person reads it; "—" when the denominator is 0 (never 100%)."""
    value = figure["value"]
    if value is None:
        return "—"
    if figure["unit"] == "ratio":
        return f"{value * 100:.1f} %"
    if figure["unit"] == "seconds":
        return f"{value:.0f} s"
    return f"{value:.0f}"


@dataclass(frozen=True)
class View:
    kind: str  # "today", "7d" or "range"
    first: date | None = None
    last: date | None = None
    wall: bool = False

    def args(self) -> dict[str, Any]:
        """The query string that shows this view again (the panel's refresh URL)."""
        if self.first is None or self.last is None:
            return {"window": self.kind}
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def _request_view() -> View:
    """`?window=today|7d`, or a chosen range `?from=YYYY-MM-DD&to=YYYY-MM-DD`."""
    wall = request.args.get("wall") == "1"
    raw_from, raw_to = request.args.get("from"), request.args.get("to")
    if raw_from or raw_to:
        try:
            first = date.fromisoformat(raw_from or raw_to or "")
            last = date.fromisoformat(raw_to or raw_from or "")
        except ValueError:
            raise BadRequest("from and to must be dates, YYYY-MM-DD") from None
        return View("range", first, last, wall)
    kind = request.args.get("window", "today")
    return View(kind if kind in WINDOWS else "today", wall=wall)


def dashboard_data(settings: Settings, view: View) -> dict[str, Any]:
    client = redis_client(settings)
    session = get_session()
    zone = ZoneInfo(settings.timezone)
    # Figures count real event times; order deadlines follow work-order time (hotline.clock).
    real_now = datetime.now(UTC)
    order_now = clock.now(settings)
    try:
        window = window_for(
            settings, None if view.first else view.kind, first=view.first, last=view.last,
            now=real_now,
        )  # fmt: skip
    except WindowError as exc:
        raise BadRequest(str(exc)) from None
    snap = snapshot(client, window=window, options=options_from(settings))
    tiles = [{**f, "shown": show_value(f)} for f in snap["kpis"]]
    today = real_now.astimezone(zone).date()
    metrics = ["calls.offered", "calls.answered"]
    now_h = hourly(client, day=today, tz=settings.timezone, metrics=metrics)
    then_h = hourly(client, day=today - timedelta(days=7), tz=settings.timezone, metrics=metrics)
    queues = waiting_callers(session, now=real_now)
    agents: dict[str, int] = {}
    for agent in agents_with_presence(session, client):
        agents[agent.status] = agents.get(agent.status, 0) + 1
    return {
        "window": snap["window"],
        "kind": view.kind,
        "generated_at": real_now.astimezone(zone),
        "stale": snap["stale"],
        "tiles": tiles,
        "calls_chart": hour_bars(
            [h["calls.offered"] for h in now_h], [h["calls.offered"] for h in then_h]
        ),
        "rate_chart": hour_bars([_rate(h) for h in now_h], [_rate(h) for h in then_h], ratio=True),
        "queues": sorted(
            (q, len(rows), max((w.wait_s for w in rows), default=0.0)) for q, rows in queues.items()
        ),
        "agents": sorted(agents.items()),
        "states": order_state_counts(session),
        "overdue_count": overdue_count(session, now=order_now),
        "overdue": overdue_orders(session, now=order_now, limit=LIST_LIMIT),
        "near": near_deadline_orders(
            session, now=order_now, within=NEAR_DEADLINE, limit=LIST_LIMIT
        ),
        "reopened": reopened_after_dissatisfaction(session, since=window.start, limit=LIST_LIMIT),
        "abandoned": [
            {**row, "at": datetime.fromisoformat(row["at"])}  # shown in local time
            for row in abandoned_calls(
                session, start=window.start, end=window.end, limit=LIST_LIMIT
            )
        ],
        "zone": zone,
        "order_now": order_now,
    }


def _rate(hour: dict[str, Any]) -> float | None:
    offered = int(hour["calls.offered"])
    return int(hour["calls.answered"]) / offered if offered else None


@bp.route("/dashboard")
@require_roles(*DASHBOARD_ROLES)
def dashboard() -> Any:
    view = _request_view()
    return render_template(
        "console/dashboard.html",
        d=dashboard_data(_settings(), view),
        wall=view.wall,
        view_args=view.args(),
        windows=WINDOWS,
        live_urls=" ".join(url_for("console.live", channel=c) for c in (LIVE_CHANNEL, ORDERS)),
        refresh_url=url_for("console.dashboard_panel", **view.args()),
    )


@bp.route("/dashboard/panel")
@require_roles(*DASHBOARD_ROLES)
def dashboard_panel() -> Any:
    d = dashboard_data(_settings(), _request_view())
    return render_template("console/_dashboard_panel.html", d=d)
