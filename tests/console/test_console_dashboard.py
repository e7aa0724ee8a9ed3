"""The supervisor dashboard: who sees it, tiles with numerator and denominator ("—" for an
empty denominator, never 100 %), the wallboard, bad windows, and the KPI changes reaching
the dashboard's live channel."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest
import redis
from flask import Flask

from hotline.console.charts import hour_bars
from hotline.console.dashboard import show_value
from hotline.kpis import store
from hotline.live import _keys
from hotline.users.roles import Role
from tests.console.conftest import ConsoleUser, logged_in

TILE = re.compile(
    r'data-kpi="(?P<key>[a-z0-9_]+)".*?data-testid="value">(?P<value>[^<]*)<'
    r'(?:.*?data-testid="numerator">(?P<num>\d+)<.*?data-testid="denominator">(?P<den>\d+)<)?',
    re.S,
)


def tiles(html: str) -> dict[str, tuple[str, str | None, str | None]]:
    found = {}
    for chunk in html.split('<li class="tile"')[1:]:
        m = TILE.search('<li class="tile"' + chunk)
        assert m, chunk[:300]
        found[m["key"]] = (m["value"], m["num"], m["den"])
    return found


@pytest.fixture
def past_day(redis_conn: redis.Redis) -> Iterator[date]:
    """A day of its own, long ago (no other test counts there); its counters removed after."""
    day = date(1990, 1, 1) + timedelta(days=secrets.randbelow(3000))
    yield day
    redis_conn.delete(store.day_key(day))


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_supervisors_and_admins_see_the_dashboard(
    console_app: Flask, make_user: Callable[..., ConsoleUser], role: Role
) -> None:
    client = logged_in(console_app, make_user(role))
    page = client.get("/console/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-kpi="connection_rate"' in html
    assert "/console/live/kpis /console/live/orders" in html  # follows both channels
    assert "Abandoned calls" in html and "Reopened after dissatisfaction" in html
    home = client.get("/console/").get_data(as_text=True)
    assert "/console/dashboard" in home


@pytest.mark.parametrize("role", [Role.AGENT, Role.HANDLER, Role.STAFF])
def test_other_roles_are_refused_the_dashboard_and_its_channel(
    console_app: Flask, make_user: Callable[..., ConsoleUser], role: Role
) -> None:
    client = logged_in(console_app, make_user(role))
    assert client.get("/console/dashboard").status_code == 403
    assert client.get("/console/dashboard/panel").status_code == 403
    assert client.get("/console/live/kpis").status_code == 403


def test_an_empty_denominator_shows_a_dash_never_100_percent(
    console_app: Flask, make_user: Callable[..., ConsoleUser], past_day: date
) -> None:
    client = logged_in(console_app, make_user(Role.SUPERVISOR))
    r = client.get(f"/console/dashboard/panel?from={past_day}&to={past_day}")
    assert r.status_code == 200
    found = tiles(r.get_data(as_text=True))
    assert found["connection_rate"] == ("—", "0", "0")
    ratios = {k: v for k, v in found.items() if v[2] is not None}
    assert len(ratios) >= 5
    assert all(value == "—" and den == "0" for value, _, den in ratios.values()), ratios
    assert "100" not in "".join(v[0] for v in found.values())


def test_a_tile_shows_its_numerator_and_denominator(
    console_app: Flask,
    make_user: Callable[..., ConsoleUser],
    redis_conn: redis.Redis,
    past_day: date,
) -> None:
    # The counters as the live listener writes them: 3 of 4 calls answered that day.
    redis_conn.hset(store.day_key(past_day), mapping={"calls.offered": 4, "calls.answered": 3})
    client = logged_in(console_app, make_user(Role.SUPERVISOR))
    r = client.get(f"/console/dashboard?from={past_day}&to={past_day}")
    found = tiles(r.get_data(as_text=True))
    assert found["connection_rate"] == ("75.0 %", "3", "4")
    assert found["calls_offered"][0] == "4"
    assert f"from={past_day}" in r.get_data(as_text=True)  # the live refresh keeps the range


def test_wallboard_has_no_navigation_and_large_type(
    console_app: Flask, make_user: Callable[..., ConsoleUser]
) -> None:
    client = logged_in(console_app, make_user(Role.SUPERVISOR))
    html = client.get("/console/dashboard?wall=1&window=7d").get_data(as_text=True)
    assert 'class="wallboard"' in html
    assert 'class="bar"' not in html and "Log out" not in html
    assert 'aria-current="page">Last 7 days' in html
    normal = client.get("/console/dashboard").get_data(as_text=True)
    assert 'class="bar"' in normal and 'class="wallboard"' not in normal


def test_a_bad_range_is_a_clear_error(
    console_app: Flask, make_user: Callable[..., ConsoleUser]
) -> None:
    client = logged_in(console_app, make_user(Role.SUPERVISOR))
    r = client.get("/console/dashboard?from=yesterday")
    assert r.status_code == 400 and "YYYY-MM-DD" in r.get_data(as_text=True)
    r = client.get("/console/dashboard?from=2026-02-01&to=2026-01-01")
    assert r.status_code == 400 and "before it starts" in r.get_data(as_text=True)


def test_a_counted_change_is_published_on_the_dashboards_live_channel(
    new_order: Callable[..., str], redis_conn: redis.Redis
) -> None:
    seq_key = _keys("kpis")[1]
    before = int(redis_conn.get(seq_key) or 0)
    new_order()  # a registered order counts in orders.opened
    recent = [json.loads(m) for m in redis_conn.lrange(_keys("kpis")[2], 0, 20)]
    mine = [m for m in recent if m["id"] > before]
    assert mine and mine[0]["event"] == "kpis"
    assert any("orders.opened" in m["data"]["metrics"] for m in mine)


def test_values_and_charts_render_empty_figures_as_gaps() -> None:
    ratio = {"value": None, "unit": "ratio"}
    assert show_value(ratio) == "—"
    assert show_value({"value": 1.0, "unit": "ratio"}) == "100.0 %"
    assert show_value({"value": 12.4, "unit": "seconds"}) == "12 s"
    chart = hour_bars([None] * 23 + [0.5], [None] * 24, ratio=True)
    assert len(chart["bars"]) == 1  # type: ignore[arg-type]
    assert chart["today"][0] == "—" and chart["today"][23] == "50 %"  # type: ignore[index]
