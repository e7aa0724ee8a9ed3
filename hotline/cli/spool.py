"""`hotline spool`: what callers did while the database was down, and putting it back."""

from __future__ import annotations

import sys

import click

from hotline.cli.common import load_settings


@click.group()
def spool() -> None:
    """The voice spool (calls taken while the database was down)."""


@spool.command("status")
def spool_status() -> None:
    """Show whether anything waits to be replayed."""
    from hotline.spool import CLAIMED_SUFFIX, Spool

    settings = load_settings()
    box = Spool(settings.spool_folder)
    files = [box.path] if box.path.exists() else []
    files += sorted(settings.spool_folder.glob(f"*{CLAIMED_SUFFIX}"))
    if not files:
        click.echo(f"spool {settings.spool_folder}: empty")
        return
    for path in files:
        lines = sum(1 for _ in path.open("rb"))
        click.echo(f"{path}: {lines} record(s)")


@spool.command("replay")
def spool_replay() -> None:
    """Replay spooled calls into the database (safe to run twice; the clock runs it too)."""
    from sqlalchemy.exc import SQLAlchemyError

    from hotline.db import Database
    from hotline.voice.spool_replay import replay_spool

    settings = load_settings()
    database = Database(settings)
    try:
        report = replay_spool(settings, database)
    except SQLAlchemyError as exc:
        click.echo(f"the database is still unavailable, nothing lost: {exc}", err=True)
        sys.exit(1)
    finally:
        database.dispose()
    click.echo(
        f"{report.files} file(s), {report.records} record(s): {report.applied} new, "
        f"{report.duplicates} already known, {report.skipped} unusable; "
        f"{len(report.orders)} work order(s) opened for messages"
    )
