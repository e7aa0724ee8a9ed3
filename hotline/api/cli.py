"""`hotline api …`: API tokens — create (shown once), list, revoke."""

from __future__ import annotations

import click

from hotline.cli.common import load_settings
from hotline.db import Database


@click.group("api")
def api() -> None:
    """The JSON API (/api/v1)."""


@api.group("token")
def token() -> None:
    """API tokens (stored only as SHA-256 hashes)."""


@token.command("create")
@click.argument("name")
@click.option(
    "--role",
    "roles",
    multiple=True,
    help="A role the token acts with (repeat for several): agent, handler, staff, "
    "supervisor, admin. Default: admin (every endpoint and move); give integrations the "
    "narrowest role that does their job.",
)
@click.option(
    "--handler",
    "handler_code",
    default=None,
    help="The handler code a handler token acts for (its handler moves only on their orders).",
)
def token_create(name: str, roles: tuple[str, ...], handler_code: str | None) -> None:
    """Create a token called NAME and print it (the only time it is shown)."""
    from hotline.api.tokens import TokenError, create_token
    from hotline.users.roles import RoleError, format_roles, parse_roles

    try:
        role_names = format_roles(parse_roles(roles or ("admin",)))
    except RoleError as exc:
        raise click.ClickException(str(exc)) from None
    database = Database(load_settings())
    try:
        with database.session() as session:
            handler_id = None
            if handler_code:
                from hotline.users.service import UserError, handler_by_code

                try:
                    handler_id = handler_by_code(session, handler_code).id
                except UserError as exc:
                    raise click.ClickException(str(exc)) from None
            try:
                _, secret = create_token(
                    session, name=name, roles=role_names, handler_id=handler_id
                )
            except TokenError as exc:
                raise click.ClickException(str(exc)) from None
            session.commit()
    finally:
        database.dispose()
    click.echo(secret)
    click.echo(
        f"token {name!r} ({role_names}) created; it is shown only now, keep it safe", err=True
    )


@token.command("list")
def token_list() -> None:
    """List the tokens: name, created, last used, revoked."""
    from hotline.api.tokens import list_tokens

    database = Database(load_settings())
    try:
        with database.session() as session:
            for row in list_tokens(session):
                used = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "-"
                state = "revoked" if row.revoked else "active"
                created = row.created_at.isoformat(timespec="seconds")
                click.echo(
                    f"{row.name}\t{state}\tcreated {created}\tlast used {used}\troles {row.roles}"
                )
    finally:
        database.dispose()


@token.command("revoke")
@click.argument("name")
def token_revoke(name: str) -> None:
    """Revoke the token called NAME (at once: its next request gets 401)."""
    from hotline.api.tokens import revoke_token

    database = Database(load_settings())
    try:
        with database.session() as session:
            if not revoke_token(session, name=name):
                raise click.ClickException(f"no active token named {name!r}")
            session.commit()
    finally:
        database.dispose()
    click.echo(f"token {name!r} revoked")
