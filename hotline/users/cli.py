"""`hotline users …`: create, list, disable / enable, set-role, set-password.

Passwords come from a hidden prompt (asked twice) or, for scripts, one line on standard
input with --password-stdin; they are never command-line arguments (those end up in shell
history and `ps`).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from hotline.cli.common import load_settings
from hotline.db import Database
from hotline.users.roles import RoleError, parse_roles


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli"


@contextmanager
def _session() -> Iterator[Session]:
    from hotline.users.service import UserError

    database = Database(load_settings())
    try:
        with database.session() as session:
            try:
                yield session
            except (UserError, RoleError) as exc:
                raise click.ClickException(str(exc)) from None
            session.commit()
    finally:
        database.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise click.ClickException("no password on standard input")
        return password
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@click.group("users")
def users() -> None:
    """Console users and their roles (agent, handler, staff, supervisor, admin)."""


@users.command("create")
@click.argument("login")
@click.option("--role", "roles", multiple=True, required=True,
              help="A role (repeat, or comma-separate, for several).")  # fmt: skip
@click.option("--name", "display_name", default="", help="Display name (default: the login).")
@click.option("--handler", "handler_code", default=None,
              help="The handler code a handler user works as (organisation.yaml).")  # fmt: skip
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create(
    login: str, roles: tuple[str, ...], display_name: str, handler_code: str | None,
    password_stdin: bool,
) -> None:  # fmt: skip
    """Create user LOGIN with a password."""
    from hotline.users.service import create_user

    try:
        role_set = parse_roles(roles)
    except RoleError as exc:
        raise click.ClickException(str(exc)) from None
    password = _read_password(password_stdin)
    with _session() as session:
        user = create_user(
            session,
            login=login,
            display_name=display_name,
            roles=role_set,
            password=password,
            actor=_actor(),
            handler_code=handler_code,
        )
    click.echo(f"user {user.login!r} created with roles {user.roles}")


@users.command("list")
def list_() -> None:
    """List users: login, roles, handler, state, last login."""
    from hotline.users.service import list_users

    with _session() as session:
        for u in list_users(session):
            state = "active" if u.active else "disabled"
            last = u.last_login_at.isoformat(timespec="seconds") if u.last_login_at else "-"
            handler = u.handler.code if u.handler else "-"
            click.echo(f"{u.login}\t{u.roles}\t{handler}\t{state}\tlast login {last}")


@users.command("disable")
@click.argument("login")
def disable(login: str) -> None:
    """Disable LOGIN (its sessions end at their next request)."""
    from hotline.users.service import get_user, set_active

    with _session() as session:
        changed = set_active(session, get_user(session, login), False, actor=_actor())
    click.echo(f"user {login!r} disabled" if changed else f"user {login!r} was disabled already")


@users.command("enable")
@click.argument("login")
def enable(login: str) -> None:
    """Enable LOGIN again."""
    from hotline.users.service import get_user, set_active

    with _session() as session:
        changed = set_active(session, get_user(session, login), True, actor=_actor())
    click.echo(f"user {login!r} enabled" if changed else f"user {login!r} was enabled already")


@users.command("set-role")
@click.argument("login")
@click.argument("roles", nargs=-1, required=True)
@click.option("--handler", "handler_code", default=None, help="Link to this handler code.")
def set_role(login: str, roles: tuple[str, ...], handler_code: str | None) -> None:
    """Replace LOGIN's roles with ROLES (e.g. `set-role wang handler staff`)."""
    from hotline.users.service import get_user, handler_by_code, set_roles

    try:
        role_set = parse_roles(roles)
    except RoleError as exc:
        raise click.ClickException(str(exc)) from None
    with _session() as session:
        user = get_user(session, login)
        if handler_code:
            user.handler_id = handler_by_code(session, handler_code).id
        changed = set_roles(session, user, role_set, actor=_actor())
        now = user.roles
    click.echo(f"user {login!r}: roles {now}" + ("" if changed else " (unchanged)"))


@users.command("set-password")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def set_password_(login: str, password_stdin: bool) -> None:
    """Set LOGIN's password (signs out its sessions and lifts a lockout)."""
    from hotline.users.service import get_user, set_password

    password = _read_password(password_stdin)
    with _session() as session:
        set_password(session, get_user(session, login), password, actor=_actor())
    click.echo(f"password of {login!r} set")
