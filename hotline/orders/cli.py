"""`hotline workorders …`: organisation setup, rules and calendar checks, the sweep, listing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import select

from hotline.cli.common import load_settings
from hotline.db import Database
from workorders.calendar import BusinessCalendar


@click.group("workorders")
def workorders() -> None:
    """Work orders: organisation, routing rules, calendar, timers."""


@workorders.command("setup")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def setup(file: Path | None) -> None:
    """Load departments, categories and handlers from FILE (default: the configured one)."""
    from hotline.orders.runtime import organisation_file
    from workorders.organisation import OrganisationError, load_organisation

    settings = load_settings()
    database = Database(settings)
    with database.session() as session:
        try:
            result = load_organisation(session, file or organisation_file(settings))
        except OrganisationError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
    click.echo(
        f"{result.departments} departments, {result.categories} categories, "
        f"{result.handlers} handlers loaded"
    )


@workorders.group("rules")
def rules() -> None:
    """Routing rules."""


@rules.command("check")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def rules_check(file: Path | None) -> None:
    """Validate the routing rules against the organisation file; exit 1 listing every problem."""
    import yaml

    from hotline.orders.runtime import organisation_file
    from workorders.routing import check_rules

    settings = load_settings()
    org = yaml.safe_load(organisation_file(settings).read_text(encoding="utf-8")) or {}
    path = file or (Path(settings.routing_rules_path) if settings.routing_rules_path else None)
    problems = check_rules(
        path,
        departments=[d["code"] for d in org.get("departments", [])],
        categories=[c["code"] for c in org.get("categories", [])],
    )
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in the routing rules")
    click.echo("routing rules ok")


@workorders.command("calendar")
@click.option("--year", type=int, default=None, help="Year to show (default: this year).")
def calendar(year: int | None) -> None:
    """Show the business calendar's coverage and the rest days of a year."""
    from hotline.orders.runtime import load_runtime

    cal = load_runtime(load_settings()).calendar
    year = year or datetime.now(cal.tz).year
    click.echo(f"time zone {cal.tz.key}; holiday files for {sorted(cal.years) or 'no year'}")
    if not cal.covers(year):
        click.echo(f"WARNING: no holiday file for {year}: only weekends are rest days", err=True)
    for name, days in _holidays(cal, year):
        click.echo(f"  {name}: {days}")


def _holidays(cal: BusinessCalendar, year: int) -> list[tuple[str, str]]:
    from datetime import date, timedelta

    found: dict[str, list[date]] = {}
    d = date(year, 1, 1)
    while d.year == year:
        name = cal.holiday_name(d)
        if name:
            found.setdefault(name, []).append(d)
        d += timedelta(days=1)
    return [(name, f"{days[0]} … {days[-1]}") for name, days in found.items()]


@workorders.command("sweep")
def sweep() -> None:
    """Fire every due reminder / overdue / escalation now (what the periodic sweep does)."""
    from hotline import clock
    from hotline.orders.runtime import load_runtime
    from workorders.timers import fire_due_timers

    settings = load_settings()
    runtime = load_runtime(settings)
    database = Database(settings)
    with database.session() as session:
        fired = fire_due_timers(
            session,
            calendar=runtime.calendar,
            now=clock.now(settings),
            remind_before_days=runtime.remind_before_days,
            escalate_after_days=runtime.escalate_after_days,
        )
        session.commit()
    click.echo(f"{fired} timer(s) fired")


@workorders.command("list")
@click.option("--state", multiple=True, help="Only these states.")
@click.option("--overdue", is_flag=True, help="Only open orders past their deadline.")
@click.option("--limit", default=50, show_default=True)
def list_orders(state: tuple[str, ...], overdue: bool, limit: int) -> None:
    """List work orders, newest first."""
    from workorders.lifecycle import OPEN_STATES
    from workorders.orders import WorkOrder

    database = Database(load_settings())
    query = select(WorkOrder).order_by(WorkOrder.id.desc()).limit(limit)
    if state:
        query = query.where(WorkOrder.state.in_(state))
    if overdue:
        query = query.where(
            WorkOrder.state.in_(OPEN_STATES), WorkOrder.deadline_at < datetime.now(UTC)
        )
    with database.session() as session:
        for o in session.execute(query).scalars():
            dept = o.department.code if o.department else "-"
            click.echo(
                f"{o.number}  {o.channel:8} {o.state:12} {dept:18} "
                f"due {o.deadline_at:%Y-%m-%d %H:%M}  {o.summary[:40]}"
            )
