"""`hotline` — the console script's root group and the small commands."""

from __future__ import annotations

import sys

import click

from hotline.cli.common import load_settings
from hotline.config import Settings


@click.group()
@click.version_option(package_name="hotline")
def main() -> None:
    """hotline: a public court / city hotline on Twilio."""


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the latest)."""
    from hotline.migrate import upgrade

    settings = load_settings()
    upgrade(settings, revision)
    click.echo(f"database at {revision}: {_safe_url(settings.database_url)}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION (e.g. base)."""
    from hotline.migrate import downgrade

    downgrade(load_settings(), revision)


@main.command()
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--no-scheduler", is_flag=True, help="Do not run the RQ scheduler in this worker.")
@click.option("--fork", is_flag=True, help="Fork a fresh process per job (RQ's default Worker).")
def worker(queues: tuple[str, ...], burst: bool, no_scheduler: bool, fork: bool) -> None:
    """Run an RQ worker on QUEUES (default: default)."""
    from hotline.worker import run_worker

    ok = run_worker(
        load_settings(),
        queues or ("default",),
        burst=burst,
        scheduler=not no_scheduler,
        fork=fork,
    )
    sys.exit(0 if ok else 1)


@main.command()
def clock() -> None:
    """Queue the periodic work-order sweep every HOTLINE_SWEEP_INTERVAL_S seconds."""
    from hotline.worker import run_clock

    run_clock(load_settings())


@main.group()
def flows() -> None:
    """IVR flow files."""


@flows.command("check")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
def flows_check(files: tuple[str, ...]) -> None:
    """Validate FILES (default: the configured flows); exit 1 naming every problem."""
    from pathlib import Path

    from hotline.flows import flow_files
    from ivr_flows import check_flow_file

    paths = [Path(f) for f in files] or flow_files(Settings.from_env())
    bad = 0
    for path in paths:
        problems = check_flow_file(path)
        if problems:
            bad += 1
            for problem in problems:
                click.echo(str(problem), err=True)
        else:
            click.echo(f"ok   {path}")
    if bad:
        raise click.ClickException(f"{bad} of {len(paths)} flow file(s) have problems")


@main.group()
def redis() -> None:
    """The embedded Redis server (used when REDIS_URL is unset)."""


@redis.command("start")
def redis_start() -> None:
    from hotline.redis_store import ensure_embedded_redis

    click.echo(f"embedded Redis on {ensure_embedded_redis(load_settings().instance_path)}")


@redis.command("stop")
def redis_stop() -> None:
    from hotline.redis_store import stop_embedded_redis

    stopped = stop_embedded_redis(load_settings().instance_path)
    click.echo("stopped" if stopped else "not running")


@main.command("config")
def config_show() -> None:
    """Show the effective settings (secrets hidden) and check them."""
    settings = load_settings()
    click.echo(repr(settings).replace(", ", ",\n  "))
    click.echo("configuration ok")


@main.group()
def demo() -> None:
    """Demo data."""


@demo.command("load")
def demo_load() -> None:
    """Load the demo data (idempotent)."""
    from hotline.db import Database
    from hotline.demo import load_demo_data

    settings = load_settings()
    database = Database(settings)
    with database.session() as session:
        added = load_demo_data(session, pepper=settings.secret_key)
        session.commit()
    click.echo(f"demo data loaded ({added} new rows)")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _register_subcommands() -> None:
    from hotline.api.cli import api
    from hotline.cases_cli import cases
    from hotline.cli.run import run
    from hotline.cli.spool import spool
    from hotline.kpis.cli import export, kpis, supervision
    from hotline.orders.cli import workorders
    from hotline.queues.cli import agents, callbacks
    from hotline.sim.cli import sim
    from hotline.speech.cli import models, speech, stream
    from hotline.users.cli import users

    main.add_command(run)
    main.add_command(models)
    main.add_command(speech)
    main.add_command(stream)
    main.add_command(sim)
    main.add_command(workorders)
    main.add_command(api)
    main.add_command(cases)
    main.add_command(spool)
    main.add_command(users)
    main.add_command(agents)
    main.add_command(callbacks)
    main.add_command(kpis)
    main.add_command(supervision)
    main.add_command(export)


_register_subcommands()
