"""`hotline kpis rebuild|show`: recompute the counters from SQL, print the snapshot."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime

import click

from hotline.cli.common import load_settings


@click.group("kpis")
def kpis() -> None:
    """Live KPIs: rebuild the counters from SQL, show the figures."""


@kpis.command("rebuild")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    help="First local day to recompute (default: HOTLINE_KPI_REBUILD_DAYS ago).",
)
def rebuild_command(since: datetime | None) -> None:
    """Recompute the counters from the calls, work orders and their events."""
    from hotline.db import Database
    from hotline.kpis.maintenance import default_since
    from hotline.kpis.rebuild import rebuild
    from hotline.redis_store import redis_client

    settings = load_settings()
    first = since.date() if since else default_since(settings)
    with Database(settings).session() as session:
        keys = rebuild(session, redis_client(settings), since=first, tz=settings.timezone)
    click.echo(f"KPI counters rebuilt from {first.isoformat()}: {keys} bucket(s)")


@kpis.command("show")
@click.option(
    "--window",
    "kind",
    type=click.Choice(["today", "yesterday", "7d", "30d"]),
    default=None,
    help="Default: today.",
)
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), help="First day of a range.")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="Last day (inclusive).")
@click.option("--json", "as_json", is_flag=True, help="The snapshot as JSON (as the API sends).")
def show(kind: str | None, first: datetime | None, last: datetime | None, as_json: bool) -> None:
    """Every KPI with its numerator and denominator ("—" when the denominator is 0)."""
    from hotline.kpis.snapshot import options_from, snapshot, window_for
    from hotline.redis_store import redis_client
    from workorders.kpis import WindowError

    settings = load_settings()
    try:
        window = window_for(settings, kind, first=_day(first), last=_day(last))
    except WindowError as exc:
        raise click.BadParameter(str(exc)) from None
    snap = snapshot(redis_client(settings), window=window, options=options_from(settings))
    if as_json:
        click.echo(json.dumps(snap, ensure_ascii=False, indent=2))
        return
    w = snap["window"]
    click.echo(f"KPIs {w['label']} ({w['from']} … {w['to']}, {w['timezone']})")
    if snap["stale"]:
        click.echo(f"warning: counters stale ({snap['stale']}); run `hotline kpis rebuild`")
    for fig in snap["kpis"]:
        click.echo(f"  {fig['label']:<42} {format_figure(fig)}")


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def format_figure(fig: dict[str, object]) -> str:
    value, unit = fig["value"], fig["unit"]
    num, den = fig["numerator"], fig["denominator"]
    if unit == "count":
        return f"{num}"
    shown = (
        "—"
        if value is None
        else (
            f"{float(value) * 100:.2f}%" if unit == "ratio" else f"{float(value):.1f} s"  # type: ignore[arg-type]
        )
    )
    return f"{shown:>8}  ({num} / {den})"


@click.group("supervision")
def supervision() -> None:
    """The weekly supervision list (督办)."""


@supervision.command("list")
@click.option("--week", help="ISO week (2026-W48) or a date in it; default: this week.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV for the meeting instead of text.")
@click.option("--full-numbers", is_flag=True, help="Do not mask callers' numbers.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE.")
def supervision_list_command(
    week: str | None, as_csv: bool, full_numbers: bool, output: str | None
) -> None:
    """Proposed matters for the week, each with its reasons; flagged orders always included."""
    from hotline import clock
    from hotline.db import Database
    from hotline.supervision import as_csv as csv_rows
    from hotline.supervision import present
    from workorders.supervision import Week, supervision_list

    settings = load_settings()
    now = clock.now(settings)
    try:
        chosen = Week.parse(week, today=now.date(), tz=settings.timezone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None
    with Database(settings).session() as session:
        items = supervision_list(session, week=chosen, now=now)
        rows = present(session, items, tz=settings.timezone, mask=not full_numbers)
    if as_csv:
        _write(csv_rows(rows), output)
        return
    lines = [f"supervision list {chosen.label} (week of {chosen.monday.isoformat()})"]
    for r in rows:
        who = r["number"] or f"caller {r['caller']}"
        lines.append(f"{r['rank']:>3}. {who}  {r['state'] or ''}  {r['summary']}")
        lines.extend(f"       - {reason['text']}" for reason in r["reasons"])
    if not rows:
        lines.append("  (nothing proposed)")
    _write((line + "\n" for line in lines), output)


@click.command("export")
@click.argument("kind", type=click.Choice(["calls", "orders", "kpis"]))
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--mask", is_flag=True, help="Mask phone numbers (and contact names).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Default: stdout.")
def export(kind: str, first: datetime, last: datetime, mask: bool, output: str | None) -> None:
    """CSV of calls, work orders (registered in the range) or daily KPIs, streamed."""
    from hotline.db import Database
    from hotline.kpis.export import kpis_csv
    from hotline.kpis.snapshot import options_from, window_for
    from hotline.redis_store import redis_client
    from workorders.exports import calls_csv, orders_csv
    from workorders.kpis import WindowError

    settings = load_settings()
    try:
        window = window_for(settings, first=first.date(), last=last.date())
    except WindowError as exc:
        raise click.BadParameter(str(exc)) from None
    if kind == "kpis":
        client = redis_client(settings)
        _write(kpis_csv(client, window=window, options=options_from(settings)), output)
        return
    rows = calls_csv if kind == "calls" else orders_csv
    with Database(settings).session() as session:
        _write(
            rows(session, start=window.start, end=window.end, tz=settings.timezone, mask=mask),
            output,
        )


def _write(lines: Iterator[str], output: str | None) -> None:
    if output is None:
        for line in lines:
            click.echo(line, nl=False)
        return
    with open(output, "w", encoding="utf-8", newline="") as fh:
        for line in lines:
            fh.write(line)
    click.echo(f"written {output}", err=True)
