"""`hotline agents …` (profiles, presence, waiting callers) and `hotline callbacks …`
(schedule, list, show, cancel): the agent actions that need no console."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.cli.common import load_settings
from hotline.db import Database
from hotline.queues.runtime import QueueRuntime
from workorders.services import WorkOrderError


@contextmanager
def _session() -> Iterator[tuple[Session, QueueRuntime]]:
    settings = load_settings()
    database = Database(settings)
    try:
        with database.session() as session:
            yield session, QueueRuntime.for_settings(settings)
    except WorkOrderError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from None
    finally:
        database.dispose()


@click.group("agents")
def agents() -> None:
    """Agents: profiles (how to reach them, skills), presence, waiting callers."""


@agents.command("add")
@click.argument("login")
@click.option("--skills", required=True, help="Queues, comma-separated (e.g. civil,general).")
@click.option("--phone", default=None, help="The agent's phone number.")
@click.option("--client", "client_identity", default=None, help="Twilio Client identity.")
@click.option("--name", default="", help="Display name.")
def agents_add(
    login: str, skills: str, phone: str | None, client_identity: str | None, name: str
) -> None:
    """Create or update the agent LOGIN (the user's login)."""
    from workorders.agents import save_agent

    with _session() as (session, runtime):
        agent = save_agent(
            session,
            login=login,
            skills=[s.strip() for s in skills.split(",") if s.strip()],
            known_queues=runtime.config.names,
            phone=phone,
            client_identity=client_identity,
            name=name,
            region=runtime.settings.default_region,
        )
        session.commit()
        click.echo(f"agent {agent.login}: {agent.address}, skills {', '.join(agent.skills)}")


@agents.command("list")
def agents_list() -> None:
    """Agents with their skills and presence."""
    from hotline.queues.console import agents_with_presence

    with _session() as (session, runtime):
        for a in agents_with_presence(session, runtime.redis):
            since = a.since.isoformat(timespec="seconds")
            click.echo(f"{a.login}\t{a.status}\t{since}\t{','.join(a.skills)}\t{a.address}")


@agents.command("presence")
@click.argument("login")
@click.argument(
    "status", required=False, type=click.Choice(["available", "busy", "wrap-up", "offline"])
)
def agents_presence(login: str, status: str | None) -> None:
    """Show LOGIN's presence, or set it to STATUS."""
    from hotline.queues import console

    with _session() as (session, runtime):
        if status is None:
            state = console.get_agent_presence(runtime, login)
        else:
            state = console.set_agent_presence(session, runtime, login=login, status=status)
            console.after_presence_change(runtime, state)
        click.echo(f"{login}\t{state.status}\tsince {state.since.isoformat(timespec='seconds')}")


@agents.command("queues")
def agents_queues() -> None:
    """Waiting callers and keep-place callbacks per queue, in answer order."""
    from hotline.queues.console import waiting_callers

    with _session() as (session, runtime):
        waiting = waiting_callers(session, now=runtime.now())
        for name in sorted(runtime.config.names):
            rows = waiting.get(name, [])
            click.echo(f"{name}: {len(rows)} waiting")
            for w in rows:
                click.echo(f"  {w.position}. {w.kind} {w.phone or '-'} waiting {w.wait_s:.0f} s")


@click.group("callbacks")
def callbacks() -> None:
    """Callbacks: schedule, list, show, cancel."""


@callbacks.command("schedule")
@click.argument("phone")
@click.option("--start", "window_start", default=None, help="ISO 8601 with offset; default now.")
@click.option("--end", "window_end", default=None, help="ISO 8601 with offset; default +4 h.")
@click.option("--reason", default="", help="Why the citizen is called back.")
@click.option("--queue", default=None, help="Whose agents call back (default queue if unset).")
@click.option("--work-order", default=None, help="A work order number to link.")
@click.option("--by", "actor", default="cli", help="Who asks (kept on the callback).")
def callbacks_schedule(
    phone: str,
    window_start: str | None,
    window_end: str | None,
    reason: str,
    queue: str | None,
    work_order: str | None,
    actor: str,
) -> None:
    """Schedule a callback to PHONE; refused (exit 1) when the window cannot be used."""
    from hotline.queues.console import after_callback_scheduled, schedule_agent_callback

    def when(raw: str | None, label: str) -> datetime | None:
        if raw is None:
            return None
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            raise click.BadParameter(f"not an ISO 8601 time: {raw!r}", param_hint=label) from None

    with _session() as (session, runtime):
        callback = schedule_agent_callback(
            session,
            runtime,
            phone=phone,
            actor=actor,
            window_start=when(window_start, "--start"),
            window_end=when(window_end, "--end"),
            reason=reason,
            queue=queue,
            work_order_number=work_order,
            requested_via="staff",
        )
        session.commit()
        after_callback_scheduled(runtime, callback)
        due = callback.due_at.astimezone(runtime.calendar.tz).isoformat(timespec="minutes")
        click.echo(f"callback {callback.id} to {callback.phone_e164}: first try at {due}")


@callbacks.command("list")
@click.option("--status", default=None)
def callbacks_list(status: str | None) -> None:
    """Callbacks, newest first."""
    from workorders.callbacks import Callback

    with _session() as (session, runtime):
        query = select(Callback).order_by(Callback.id.desc()).limit(100)
        if status:
            query = query.where(Callback.status == status)
        for cb in session.execute(query).scalars():
            due = cb.due_at.astimezone(runtime.calendar.tz).isoformat(timespec="minutes")
            click.echo(
                f"{cb.id}\t{cb.purpose}\t{cb.status}\t{cb.phone_e164}\tdue {due}\t"
                f"{cb.attempts_made}/{cb.max_attempts}\t{cb.last_outcome or '-'}"
            )


@callbacks.command("show")
@click.argument("callback_id", type=int)
def callbacks_show(callback_id: int) -> None:
    """A callback and its attempts."""
    from workorders.callbacks import Callback

    with _session() as (session, _runtime):
        cb = session.get(Callback, callback_id)
        if cb is None:
            raise click.ClickException(f"callback {callback_id} not found")
        click.echo(f"callback {cb.id} ({cb.purpose}) to {cb.phone_e164}: {cb.status}")
        click.echo(f"  reason: {cb.reason or '-'}; queue {cb.queue or '-'}; bridge {cb.bridge}")
        for a in cb.attempts:
            click.echo(
                f"  try {a.number} at {a.started_at.isoformat(timespec='seconds')}: "
                f"{a.outcome or 'in progress'} {a.detail or ''}"
            )


@callbacks.command("cancel")
@click.argument("callback_id", type=int)
def callbacks_cancel(callback_id: int) -> None:
    """Cancel a scheduled callback."""
    from workorders.callbacks import Callback, cancel_callback

    with _session() as (session, _runtime):
        cb = session.get(Callback, callback_id)
        if cb is None:
            raise click.ClickException(f"callback {callback_id} not found")
        cancel_callback(session, cb, actor="cli")
        session.commit()
        click.echo(f"callback {callback_id} cancelled")
